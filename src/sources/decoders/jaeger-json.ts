// Jaeger JSON traces → Span. Three shapes, one trace model (jaeger's model/json, as the query
// service writes it):
// - the query API's answer (`/api/traces`, `/api/traces/{id}`), also what the UI's "Download
//   Results" saves: `{"data":[TRACE…],"total":0,"limit":0,"offset":0,"errors":null}`; an error
//   answer (`"data":null,"errors":[{"code":404,"msg":"trace not found"}]`) is rejected with its message,
//   a partial one (traces and errors) keeps its traces and notes its errors;
// - an array of traces;
// - one trace (the UI's trace JSON and its test fixtures):
//
//   {"traceID":"365a12035b3313b1","spans":[{"traceID":"365a12035b3313b1","spanID":"3e386f81a4524427",
//     "operationName":"HTTP GET /customer","references":[{"refType":"CHILD_OF","traceID":"365a12035b3313b1",
//     "spanID":"6065a57f239aee5f"}],"startTime":1638339993336574,"duration":422459,
//     "tags":[{"key":"span.kind","type":"string","value":"server"}],"processID":"p1"}],
//    "processes":{"p1":{"serviceName":"customer","tags":[{"key":"ip","type":"string","value":"172.18.0.3"}]}}}
//
// - Ids: hex of 1–16 digits (32 for a 128-bit trace id), zero-padded as Jaeger writes them.
// - Parent: the first CHILD_OF reference within the span's own trace, else the first FOLLOWS_FROM,
//   else the deprecated `parentSpanID`; a reference into another trace is no parent here.
// - Kind: the `span.kind` tag (client, server, producer, consumer, internal), taken out of the
//   attributes as OpenTelemetry's Jaeger translator does. Status: `otel.status_code`, else the
//   `error` tag.
// - Resource: the process's `serviceName` as `service.name`, plus its tags; `local` from the
//   process's `ip` tag, `remote` from `peer.service`, `peer.ipv4` (a string or the int32 of
//   OpenTracing), `peer.ipv6`, `peer.port`.
// - Times are microseconds; the end is start + duration.
// Not read: the Kafka exporter's `jaeger_json` (one jsonpb span, base64 ids, RFC 3339 times).

import type { Location } from '../../errors.js';
import { excerpt } from '../../text.js';
import { ok, reject, skip, type Decoded } from './result.js';
import type { AttributeValue, Span, SpanEndpoint, SpanKind } from './span.js';
import {
  batchDecoded,
  collect,
  emptyBatch,
  idField,
  ipOf,
  isObj,
  kindOf,
  microsEnd,
  microsToMillis,
  parentField,
  quoted,
  shortHexId,
  Rejection,
  startField,
  type Obj,
  type SpanReader,
  type TraceBatch,
} from './trace-fields.js';

const KINDS: Readonly<Record<string, SpanKind>> = { client: 'client', server: 'server', producer: 'producer', consumer: 'consumer', internal: 'internal' };

const isTrace = (v: unknown): boolean => isObj(v) && Array.isArray(v['spans']) && (isObj(v['processes']) || Object.hasOwn(v, 'traceID'));

/** Whether `doc` looks like Jaeger JSON: an API answer, an array of traces or one trace. */
export function isJaegerJson(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && isTrace(doc[0]);
  if (!isObj(doc)) return false;
  if (Object.hasOwn(doc, 'data') && Object.hasOwn(doc, 'errors')) return true;
  return isTrace(doc);
}

export function decodeJaegerJson(doc: unknown, location: Location): Decoded<TraceBatch> {
  let traces: unknown[];
  let field: string;
  // A partial answer (some traces, some errors) keeps its traces; its errors become a note.
  let apiError: string | undefined;
  if (Array.isArray(doc)) [traces, field] = [doc, ''];
  else if (isObj(doc) && Object.hasOwn(doc, 'data')) {
    const data = doc['data'];
    const errors = doc['errors'];
    if (Array.isArray(errors) && errors.length > 0) {
      const first: unknown = errors[0];
      const msg = isObj(first) ? `${typeof first['code'] === 'number' ? first['code'] : '?'} ${typeof first['msg'] === 'string' ? first['msg'] : ''}` : quoted(first);
      apiError = `the answer holds ${errors.length} error(s), first: ${excerpt(msg)}`;
      if (!Array.isArray(data) || data.length === 0) return reject('jaeger-api-error', apiError);
    }
    if (data === null || (Array.isArray(data) && data.length === 0)) return skip('no-spans');
    if (!Array.isArray(data)) return reject('bad-field-type', `data is ${kindOf(data)}: ${quoted(data)}`);
    [traces, field] = [data, 'data'];
  } else if (isObj(doc) && Array.isArray(doc['spans'])) [traces, field] = [[doc], ''];
  else return reject('not-jaeger-json', `expected {data:[…]}, an array of traces or a trace, got ${kindOf(doc)}: ${quoted(doc)}`);

  const batch = emptyBatch();
  if (apiError !== undefined) batch.notes.push({ reason: 'jaeger-api-error', detail: apiError, at: 'errors' });
  traces.forEach((t: unknown, i) => {
    const at = field === '' && !Array.isArray(doc) ? '' : `${field}[${i}]`;
    if (!isObj(t) || !Array.isArray(t['spans'])) return batch.rejected.push({ reason: 'bad-field-type', detail: `trace ${at} is ${kindOf(t)} without a spans list`, at });
    const processes = isObj(t['processes']) ? t['processes'] : {};
    t['spans'].forEach((s: unknown, k) => collect(batch, `${at === '' ? '' : at + '.'}spans[${k}]`, (r) => span(s, processes, r, location)));
  });
  return batchDecoded(batch);
}

function span(s: unknown, processes: Obj, r: SpanReader, location: Location): Span | Rejection {
  if (!isObj(s)) return new Rejection('bad-field-type', `the span is ${kindOf(s)}`);
  const traceId = idField(s['traceID'], 'traceID', 'invalid-trace-id', (v) => shortHexId(v, 32));
  if (traceId instanceof Rejection) return traceId;
  const spanId = idField(s['spanID'], 'spanID', 'invalid-span-id', (v) => shortHexId(v, 16));
  if (spanId instanceof Rejection) return spanId;
  const parentSpanId = parentOf(s, traceId);
  if (parentSpanId instanceof Rejection) return parentSpanId;
  const start = startField(s['startTime'], 'startTime', microsToMillis);
  if (start instanceof Rejection) return start;
  const duration = s['duration'];
  let end: number | undefined;
  if (duration !== undefined && duration !== null) {
    if (typeof duration === 'number' && Number.isFinite(duration) && duration < 0) r.note('end-before-start', `duration ${quoted(duration)} is negative`);
    else {
      end = r.end(start, microsEnd(s['startTime'], duration), duration, 'duration');
    }
  }
  const name = s['operationName'];
  if (name !== undefined && typeof name !== 'string') return new Rejection('bad-field-type', `operationName is ${kindOf(name)}: ${quoted(name)}`);

  const process = processOf(s, processes);
  if (process instanceof Rejection) return process;
  const resource: Record<string, AttributeValue> = {};
  if (typeof process['serviceName'] === 'string' && process['serviceName'] !== '') r.put(resource, 'service.name', process['serviceName'], 'process');
  const processTags = tags(process['tags'], r, 'process.tags');
  for (const [k, v] of Object.entries(processTags)) r.put(resource, k, v, 'process.tags');

  const attributes = tags(s['tags'], r, 'tags');
  let kind: SpanKind = 'unspecified';
  if (Object.hasOwn(attributes, 'span.kind')) {
    const k = attributes['span.kind'];
    const known = typeof k === 'string' ? KINDS[k] : undefined;
    if (known === undefined || !Object.hasOwn(KINDS, k as string)) return new Rejection('invalid-kind', `tag span.kind ${quoted(k)} is not client, server, producer, consumer or internal`);
    kind = known;
    delete attributes['span.kind'];
  }
  const out: Span = { traceId, spanId, name: r.text(name ?? '', 'operationName'), kind, start, resource, attributes, status: statusOf(attributes), location };
  if (parentSpanId !== undefined) out.parentSpanId = parentSpanId;
  if (end !== undefined) out.end = end;
  const local = r.endpoint(process['serviceName'], ipOf(processTags['ip']), undefined, 'process');
  if (local !== undefined) out.local = local;
  const remote = peerOf(attributes, r);
  if (remote !== undefined) out.remote = remote;
  return out;
}

function parentOf(s: Obj, traceId: string): string | undefined | Rejection {
  const refs = s['references'];
  if (refs !== undefined && refs !== null && !Array.isArray(refs)) return new Rejection('bad-field-type', `references is ${kindOf(refs)}: ${quoted(refs)}`);
  const ofType = (type: string): Obj | undefined =>
    (refs ?? []).find((ref: unknown): ref is Obj => {
      if (!isObj(ref) || ref['refType'] !== type) return false;
      const t = typeof ref['traceID'] === 'string' ? shortHexId(ref['traceID'], 32) : undefined;
      return t === undefined || t === traceId;
    });
  const ref = ofType('CHILD_OF') ?? ofType('FOLLOWS_FROM');
  if (ref !== undefined) return idField(ref['spanID'], 'references[].spanID', 'invalid-parent-span-id', (v) => shortHexId(v, 16));
  return parentField(s['parentSpanID'], 'parentSpanID', (v) => shortHexId(v, 16));
}

/** The span's process: by `processID` in the trace's map, or inline (`process`) as older answers wrote it. */
function processOf(s: Obj, processes: Obj): Obj | Rejection {
  const id = s['processID'];
  if (typeof id === 'string' && Object.hasOwn(processes, id)) {
    const p = processes[id];
    if (isObj(p)) return p;
  }
  if (isObj(s['process'])) return s['process'];
  return new Rejection('unknown-process', id === undefined ? 'the span has neither processID nor process' : `processID ${quoted(id)} is not in the trace's processes`);
}

function tags(list: unknown, r: SpanReader, field: string): Record<string, AttributeValue> {
  const attrs: Record<string, AttributeValue> = {};
  if (list === undefined || list === null) return attrs;
  if (!Array.isArray(list)) {
    r.note('attribute-dropped', `${field} is ${kindOf(list)}, not a list`);
    return attrs;
  }
  for (const kv of list) {
    if (!isObj(kv) || typeof kv['key'] !== 'string') {
      r.note('attribute-dropped', `${field} entry ${quoted(kv)} has no string key`);
      continue;
    }
    const v = tagValue(kv['type'], kv['value']);
    if (v === undefined) r.note('attribute-dropped', `${field} ${quoted(kv['key'])} of type ${quoted(kv['type'])} has no readable value: ${quoted(kv['value'])}`);
    else r.put(attrs, kv['key'], v, field);
  }
  return attrs;
}

/** A tag's value by its declared type (string, bool, int64, float64, binary: base64 text). */
function tagValue(type: unknown, v: unknown): AttributeValue | undefined {
  switch (type) {
    case 'bool':
      return typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined;
    case 'int64':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'string' && /^-?[0-9]{1,25}$/.test(v)) return Number.isSafeInteger(Number(v)) ? Number(v) : v;
      return undefined;
    case 'float64':
      return typeof v === 'number' ? v : undefined;
    case 'string':
    case 'binary':
    case undefined:
      return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
    default:
      return undefined;
  }
}

function statusOf(attrs: Record<string, AttributeValue>): Span['status'] {
  const code = attrs['otel.status_code'];
  if (code === 'ERROR') return 'error';
  if (code === 'OK') return 'ok';
  return attrs['error'] === true || attrs['error'] === 'true' ? 'error' : 'unset';
}

/** OpenTracing's peer tags; `peer.ipv4` may be the address as a signed or unsigned 32-bit integer. */
function peerOf(attrs: Record<string, AttributeValue>, r: SpanReader): SpanEndpoint | undefined {
  return r.endpoint(attrs['peer.service'], ipOf(attrs['peer.ipv4'] ?? attrs['peer.ipv6']), attrs['peer.port'], 'peer');
}
