// OTLP/JSON traces → Span: one ExportTraceServiceRequest (`{"resourceSpans":[…]}`), a whole file
// or one line of the Collector's file exporter (one request per line). Field names and encodings
// are opentelemetry-proto's JSON mapping (docs/specification.md, "JSON Protobuf Encoding"):
//
//   {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},
//     "scopeSpans":[{"scope":{"name":"io.opentelemetry.http"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
//       "spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"GET /cart","kind":2,
//       "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
//       "attributes":[{"key":"http.route","value":{"stringValue":"/cart/{id}"}}],"status":{"code":1}}]}]}]}
//
// - Ids are hex (any case, lowercased here); base64 of 16/8 bytes, protobuf's default JSON
//   mapping that some exporters write, is detected and converted. All zeros is invalid.
// - `kind` is the enum's number or its name (`SPAN_KIND_SERVER`); the same for `status.code`.
// - Times are int64: a decimal string read exactly, or a number (exact only below 2^53 ns).
// - AnyValue: string, bool, int (a string: a number when safe, else kept as the string),
//   double (a number; "NaN"/"Infinity" kept as strings), bytes (the base64 text); arrays and
//   kvlists as their JSON text, so no attribute is lost (span.ts holds scalars only).
// - The older `instrumentationLibrarySpans` (before OTLP 0.15) is read like `scopeSpans`.
// Scope attributes are not kept: they describe the instrumentation library, not the workload.

import type { Location } from '../../errors.js';
import { ok, reject, skip, type Decoded } from './result.js';
import type { AttributeValue, Span, SpanKind } from './span.js';
import {
  batchDecoded,
  collect,
  emptyBatch,
  idField,
  isObj,
  jsonText,
  kindOf,
  nanosToMillis,
  otlpId,
  parentField,
  quoted,
  Rejection,
  startField,
  type Obj,
  type SpanReader,
  type TraceBatch,
} from './trace-fields.js';

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES = ['unset', 'ok', 'error'] as const;

/** Whether `doc` looks like an OTLP/JSON trace request (recognition only; decoding checks the rest). */
export function isOtlpJson(doc: unknown): boolean {
  return isObj(doc) && Array.isArray(doc['resourceSpans']);
}

export function decodeOtlpJson(doc: unknown, location: Location): Decoded<TraceBatch> {
  if (!isObj(doc) || !Object.hasOwn(doc, 'resourceSpans')) return reject('not-otlp-json', `expected an object with resourceSpans, got ${kindOf(doc)}: ${quoted(doc)}`);
  const resourceSpans = doc['resourceSpans'];
  if (!Array.isArray(resourceSpans)) return reject('bad-field-type', `resourceSpans is ${kindOf(resourceSpans)}: ${quoted(resourceSpans)}`);
  const batch = emptyBatch();
  resourceSpans.forEach((rs: unknown, i) => {
    const at = `resourceSpans[${i}]`;
    if (!isObj(rs)) return batch.rejected.push({ reason: 'bad-field-type', detail: `${at} is ${kindOf(rs)}`, at });
    const scopes = rs['scopeSpans'] ?? rs['instrumentationLibrarySpans'];
    const scopesField = Object.hasOwn(rs, 'scopeSpans') ? 'scopeSpans' : 'instrumentationLibrarySpans';
    if (scopes === undefined) return;
    if (!Array.isArray(scopes)) return batch.rejected.push({ reason: 'bad-field-type', detail: `${at}.${scopesField} is ${kindOf(scopes)}`, at });
    scopes.forEach((ss: unknown, j) => {
      const sat = `${at}.${scopesField}[${j}]`;
      if (!isObj(ss)) return batch.rejected.push({ reason: 'bad-field-type', detail: `${sat} is ${kindOf(ss)}`, at: sat });
      const spans = ss['spans'];
      if (spans === undefined) return;
      if (!Array.isArray(spans)) return batch.rejected.push({ reason: 'bad-field-type', detail: `${sat}.spans is ${kindOf(spans)}`, at: sat });
      spans.forEach((s: unknown, k) => collect(batch, `${sat}.spans[${k}]`, (r) => span(s, rs, r, location)));
    });
  });
  return batchDecoded(batch);
}

// The resource is read again for each span so that its notes (a value cut) name the span that
// carries it; a request holds few resources and their attributes are small.
function span(s: unknown, rs: Obj, r: SpanReader, location: Location): Span | Rejection {
  if (!isObj(s)) return new Rejection('bad-field-type', `the span is ${kindOf(s)}`);
  const traceId = idField(s['traceId'], 'traceId', 'invalid-trace-id', (v) => otlpId(v, 16));
  if (traceId instanceof Rejection) return traceId;
  const spanId = idField(s['spanId'], 'spanId', 'invalid-span-id', (v) => otlpId(v, 8));
  if (spanId instanceof Rejection) return spanId;
  const parentSpanId = parentField(s['parentSpanId'], 'parentSpanId', (v) => otlpId(v, 8));
  if (parentSpanId instanceof Rejection) return parentSpanId;
  const start = startField(s['startTimeUnixNano'], 'startTimeUnixNano', nanosToMillis);
  if (start instanceof Rejection) return start;
  const rawEnd = s['endTimeUnixNano'];
  const end = rawEnd === undefined || rawEnd === '0' || rawEnd === 0 ? undefined : r.end(start, nanosToMillis(rawEnd), rawEnd, 'endTimeUnixNano');
  const name = s['name'];
  if (name !== undefined && typeof name !== 'string') return new Rejection('bad-field-type', `name is ${kindOf(name)}: ${quoted(name)}`);
  const kind = enumOf(s['kind'], KINDS, 'SPAN_KIND_', 'kind', 'invalid-kind') ?? 'unspecified';
  if (kind instanceof Rejection) return kind;
  const status = isObj(s['status']) ? (enumOf(s['status']['code'], STATUSES, 'STATUS_CODE_', 'status.code', 'invalid-status') ?? 'unset') : 'unset';
  if (status instanceof Rejection) return status;
  const resource = isObj(rs['resource']) ? attributes(rs['resource']['attributes'], r, 'resource.attributes') : {};
  const out: Span = {
    traceId,
    spanId,
    name: r.text(name ?? '', 'name'),
    kind,
    start,
    resource,
    attributes: attributes(s['attributes'], r, 'attributes'),
    status,
    location,
  };
  if (parentSpanId !== undefined) out.parentSpanId = parentSpanId;
  if (end !== undefined) out.end = end;
  return out;
}

/** A proto enum written as its number or its name (`SPAN_KIND_CLIENT`); undefined when absent. */
function enumOf<T extends string>(v: unknown, names: readonly T[], prefix: string, field: string, reason: string): T | undefined | Rejection {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length) return names[v];
  if (typeof v === 'string' && v.startsWith(prefix)) {
    const i = names.indexOf(v.slice(prefix.length).toLowerCase() as T);
    if (i >= 0) return names[i];
  }
  return new Rejection(reason, `${field} ${quoted(v)} is not a known value`);
}

function attributes(list: unknown, r: SpanReader, field: string): Record<string, AttributeValue> {
  const attrs: Record<string, AttributeValue> = {};
  if (list === undefined) return attrs;
  if (!Array.isArray(list)) {
    r.note('attribute-dropped', `${field} is ${kindOf(list)}, not a list`);
    return attrs;
  }
  for (const kv of list) {
    if (!isObj(kv) || typeof kv['key'] !== 'string') {
      r.note('attribute-dropped', `${field} entry ${quoted(kv)} has no string key`);
      continue;
    }
    const value = anyValue(kv['value']);
    if (value === undefined) r.note('attribute-dropped', `${field} ${quoted(kv['key'])} has no readable value: ${quoted(kv['value'])}`);
    else r.put(attrs, kv['key'], value, field);
  }
  return attrs;
}

/** An AnyValue as a scalar; undefined when it holds none of AnyValue's fields with the right type. */
function anyValue(v: unknown): AttributeValue | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v['stringValue'] === 'string') return v['stringValue'];
  if (typeof v['boolValue'] === 'boolean') return v['boolValue'];
  const i = v['intValue'];
  if (typeof i === 'string' && /^-?[0-9]{1,25}$/.test(i)) {
    const n = Number(i);
    return Number.isSafeInteger(n) ? n : i;
  }
  if (typeof i === 'number' && Number.isInteger(i)) return i;
  const d = v['doubleValue'];
  if (typeof d === 'number') return d;
  if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return d;
  if (typeof v['bytesValue'] === 'string') return v['bytesValue'];
  if (isObj(v['arrayValue']) || isObj(v['kvlistValue'])) return jsonText(plain(v, 0));
  return undefined;
}

/** An array or kvlist AnyValue as plain JSON (`["a",1]`, `{"k":"v"}`), nested to a bounded depth. */
function plain(v: unknown, depth: number): unknown {
  if (depth > 8) return '…'; // deeper values are cut like long ones
  if (!isObj(v)) return null;
  const a = v['arrayValue'];
  if (isObj(a)) return Array.isArray(a['values']) ? a['values'].map((x: unknown) => plain(x, depth + 1)) : [];
  const kvl = v['kvlistValue'];
  if (isObj(kvl)) {
    const out: Obj = {};
    for (const kv of Array.isArray(kvl['values']) ? kvl['values'] : []) {
      if (isObj(kv) && typeof kv['key'] === 'string') Object.defineProperty(out, kv['key'], { value: plain(kv['value'], depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return anyValue(v) ?? null;
}
