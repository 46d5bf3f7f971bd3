// Zipkin v2 JSON → Span: a list of spans, as `/api/v2/spans` takes them and `/api/v2/trace/{id}`
// answers (zipkin-api's zipkin2-api.yaml):
//
//   [{"traceId":"1e223ff1f80f1c69","parentId":"bf396325699c84bf","id":"74280ae0c10d8062","kind":"SERVER",
//     "name":"post","timestamp":1470150004008761,"duration":93577,"shared":true,
//     "localEndpoint":{"serviceName":"serviceb","ipv4":"192.0.2.10"},"remoteEndpoint":{"ipv6":"::1","port":53367},
//     "tags":{"http.path":"/api"}}]
//
// - Ids: hex, a trace id of up to 32 digits and a span id of up to 16, zero-padded and
//   lowercased as Zipkin's normalizeTraceId does. All zeros is invalid.
// - `kind`: CLIENT, SERVER, PRODUCER, CONSUMER; absent is a local span (`unspecified`).
// - `shared`: a SERVER span that reuses its CLIENT's id (the Zipkin model): kept as `shared`.
// - `localEndpoint.serviceName` is the resource's `service.name`; both endpoints become
//   `local`/`remote` (ipv4, else ipv6; port). Tags are the attributes (strings in the spec;
//   numbers and booleans kept as they are). Status: the `otel.status_code` tag, else `error`.
// - `timestamp` (µs) is required here: a span without one (Zipkin allows it for a late half of
//   a span) cannot be placed in time, and is rejected `missing-field`.

import type { Location } from '../../errors.js';
import { ok, reject, skip, type Decoded } from './result.js';
import type { AttributeValue, Span, SpanKind } from './span.js';
import {
  batchDecoded,
  collect,
  emptyBatch,
  idField,
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

const KINDS: Readonly<Record<string, SpanKind>> = { CLIENT: 'client', SERVER: 'server', PRODUCER: 'producer', CONSUMER: 'consumer' };

/** Tags that are resource attributes in OpenTelemetry's semantic conventions. */
const RESOURCE_TAG = /^(?:service\.(?:namespace|instance\.id|version)|k8s\.|container\.|host\.|cloud\.)/;

/** Whether `doc` looks like Zipkin v2 JSON: a list whose first span has `traceId` and `id`. */
export function isZipkinJson(doc: unknown): boolean {
  if (!Array.isArray(doc) || doc.length === 0) return false;
  const first: unknown = doc[0];
  return isObj(first) && typeof first['traceId'] === 'string' && Object.hasOwn(first, 'id');
}

export function decodeZipkinJson(doc: unknown, location: Location): Decoded<TraceBatch> {
  if (!Array.isArray(doc)) return reject('not-zipkin-json', `expected a list of spans, got ${kindOf(doc)}: ${quoted(doc)}`);
  if (doc.length === 0) return skip('no-spans');
  const batch = emptyBatch();
  doc.forEach((s: unknown, i) => collect(batch, `[${i}]`, (r) => span(s, r, location)));
  return batchDecoded(batch);
}

function span(s: unknown, r: SpanReader, location: Location): Span | Rejection {
  if (!isObj(s)) return new Rejection('bad-field-type', `the span is ${kindOf(s)}`);
  const traceId = idField(s['traceId'], 'traceId', 'invalid-trace-id', (v) => shortHexId(v, 32));
  if (traceId instanceof Rejection) return traceId;
  const spanId = idField(s['id'], 'id', 'invalid-span-id', (v) => shortHexId(v, 16));
  if (spanId instanceof Rejection) return spanId;
  const parentSpanId = parentField(s['parentId'], 'parentId', (v) => shortHexId(v, 16));
  if (parentSpanId instanceof Rejection) return parentSpanId;
  const start = startField(s['timestamp'], 'timestamp', microsToMillis);
  if (start instanceof Rejection) return start;
  const duration = s['duration'];
  let end: number | undefined;
  if (duration !== undefined && duration !== null) {
    if (typeof duration === 'number' && Number.isFinite(duration) && duration < 0) r.note('end-before-start', `duration ${quoted(duration)} is negative`);
    else {
      end = r.end(start, microsEnd(s['timestamp'], duration), duration, 'duration');
    }
  }
  const name = s['name'];
  if (name !== undefined && name !== null && typeof name !== 'string') return new Rejection('bad-field-type', `name is ${kindOf(name)}: ${quoted(name)}`);
  const k = s['kind'];
  let kind: SpanKind = 'unspecified';
  if (k !== undefined && k !== null) {
    if (typeof k !== 'string' || !Object.hasOwn(KINDS, k)) return new Rejection('invalid-kind', `kind ${quoted(k)} is not CLIENT, SERVER, PRODUCER or CONSUMER`);
    kind = KINDS[k] ?? 'unspecified';
  }
  const localRaw = endpointObj(s['localEndpoint'], 'localEndpoint', r);
  const resource: Record<string, AttributeValue> = {};
  if (typeof localRaw['serviceName'] === 'string' && localRaw['serviceName'] !== '') r.put(resource, 'service.name', localRaw['serviceName'], 'localEndpoint');
  const attributes = tags(s['tags'], r);
  // Zipkin has no resource: OpenTelemetry's Zipkin exporter writes the resource's attributes as
  // tags, so those named as resource attributes are the span's resource too.
  for (const [k, v] of Object.entries(attributes)) if (RESOURCE_TAG.test(k) && !Object.hasOwn(resource, k)) resource[k] = v;
  const out: Span = { traceId, spanId, name: r.text(typeof name === 'string' ? name : '', 'name'), kind, start, resource, attributes, status: statusOf(attributes), location };
  if (parentSpanId !== undefined) out.parentSpanId = parentSpanId;
  if (end !== undefined) out.end = end;
  if (s['shared'] === true) out.shared = true;
  const local = r.endpoint(localRaw['serviceName'], localRaw['ipv4'] ?? localRaw['ipv6'], localRaw['port'], 'localEndpoint');
  if (local !== undefined) out.local = local;
  const remoteRaw = endpointObj(s['remoteEndpoint'], 'remoteEndpoint', r);
  const remote = r.endpoint(remoteRaw['serviceName'], remoteRaw['ipv4'] ?? remoteRaw['ipv6'], remoteRaw['port'], 'remoteEndpoint');
  if (remote !== undefined) out.remote = remote;
  return out;
}

function endpointObj(v: unknown, field: string, r: SpanReader): Obj {
  if (v === undefined || v === null) return {};
  if (isObj(v)) return v;
  r.note('endpoint-dropped', `${field} is ${kindOf(v)}: ${quoted(v)}`);
  return {};
}

function tags(v: unknown, r: SpanReader): Record<string, AttributeValue> {
  const attrs: Record<string, AttributeValue> = {};
  if (v === undefined || v === null) return attrs;
  if (!isObj(v)) {
    r.note('attribute-dropped', `tags is ${kindOf(v)}, not an object`);
    return attrs;
  }
  for (const [key, value] of Object.entries(v)) {
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) r.put(attrs, key, value, 'tags');
    else r.note('attribute-dropped', `tags ${quoted(key)} is ${kindOf(value)}`);
  }
  return attrs;
}

function statusOf(attrs: Record<string, AttributeValue>): Span['status'] {
  const code = attrs['otel.status_code'];
  if (code === 'ERROR') return 'error';
  if (code === 'OK') return 'ok';
  return Object.hasOwn(attrs, 'error') ? 'error' : 'unset';
}
