// Trace documents for tests, in the shapes the published samples have
// (../shared/reference/telemetry: otlp-json-trace-example.json, jaeger-api-traces-hotrod.json,
// jaeger-ui-trace-fixture-ui_01.json, zipkin-v2-*.json), written from specs with the tests' own
// values. Each writer returns what JSON.parse of its text gives.

import { ExportTraceServiceRequest as Request } from '../../src/sources/decoders/otlp-messages.js';
import type { AttributeValue, SpanKind } from '../../src/sources/decoders/span.js';

export interface SpanSpec {
  /** Lowercase hex: 32 digits (OTLP needs 32), or 16 for Jaeger and Zipkin. */
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  /** Epoch microseconds (every format keeps them). */
  startMicros: number;
  durationMicros?: number;
  /** Nanoseconds below the microsecond, OTLP only (decoders keep microseconds). */
  subMicroNanos?: number;
  service: string;
  /** Resource attributes beside service.name (Jaeger: the process's tags). */
  resource?: Record<string, AttributeValue>;
  attributes?: Record<string, AttributeValue>;
  status?: 'unset' | 'ok' | 'error';
  shared?: boolean;
  local?: { ipv4?: string; ipv6?: string; port?: number };
  remote?: { serviceName?: string; ipv4?: string; ipv6?: string; port?: number };
}

const parsed = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

// ---------------------------------------------------------------- OTLP/JSON

export interface OtlpOptions {
  /** How ids are written: OTLP/JSON's hex, uppercase hex (as the spec's example), or protobuf's base64. */
  ids?: 'hex' | 'upper' | 'base64';
  /** int64 times as strings (the JSON mapping) or numbers (as the spec's example). */
  times?: 'string' | 'number';
  /** `kind` as the enum's number or name. */
  kinds?: 'number' | 'name';
  /** Spans of one service split over this many scopes. */
  scopes?: number;
}

const OTLP_KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function anyValue(v: AttributeValue): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

const keyValues = (attrs: Record<string, AttributeValue>) => Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(v) }));

function otlpIdText(hex: string, how: OtlpOptions['ids']): string {
  if (how === 'upper') return hex.toUpperCase();
  if (how === 'base64') return Buffer.from(hex, 'hex').toString('base64');
  return hex;
}

/** One ExportTraceServiceRequest: a resource per service (spans in input order), each split over `scopes` scopes. */
export function otlpRequest(spans: readonly SpanSpec[], options: OtlpOptions = {}): Record<string, unknown> {
  const byService = new Map<string, SpanSpec[]>();
  for (const s of spans) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  const scopes = Math.max(1, options.scopes ?? 1);
  const resourceSpans = [...byService.values()].map((group) => {
    const first = group[0] as SpanSpec;
    const scopeSpans = Array.from({ length: scopes }, (_, i) => ({
      scope: { name: `io.example.instrumentation-${i}`, version: '1.0.0', attributes: [{ key: 'scope.attr', value: { stringValue: 'x' } }] },
      spans: group.filter((_, j) => j % scopes === i).map((s) => otlpSpan(s, options)),
    }));
    return { resource: { attributes: keyValues({ 'service.name': first.service, ...first.resource }) }, scopeSpans };
  });
  return parsed({ resourceSpans });
}

function otlpSpan(s: SpanSpec, o: OtlpOptions): Record<string, unknown> {
  const ns = BigInt(s.startMicros) * 1000n + BigInt(s.subMicroNanos ?? 0);
  const time = (n: bigint) => (o.times === 'number' ? Number(n) : String(n));
  const kindIndex = OTLP_KINDS.indexOf(s.kind);
  const out: Record<string, unknown> = {
    traceId: otlpIdText(s.traceId, o.ids),
    spanId: otlpIdText(s.spanId, o.ids),
    parentSpanId: s.parentSpanId === undefined ? '' : otlpIdText(s.parentSpanId, o.ids),
    name: s.name,
    kind: o.kinds === 'name' ? `SPAN_KIND_${s.kind.toUpperCase()}` : kindIndex,
    startTimeUnixNano: time(ns),
    attributes: keyValues(s.attributes ?? {}),
    status: s.status === undefined ? {} : { code: ['unset', 'ok', 'error'].indexOf(s.status) },
  };
  if (s.durationMicros !== undefined) out['endTimeUnixNano'] = time(ns + BigInt(s.durationMicros) * 1000n);
  return out;
}

/**
 * An OTLP/JSON request (hex ids) as protobuf bytes, encoded by protobufjs over the
 * OpenTelemetry protocol's definitions: what an SDK's OTLP/HTTP protobuf exporter sends, and one message of the
 * Collector's file exporter in `format: proto`.
 */
export function otlpProto(request: Record<string, unknown>): Buffer {
  const bytes = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]*$/i.test(v) ? Buffer.from(v, 'hex') : v);
  const copy = structuredClone(request) as { resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
  for (const rs of copy.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const span of ss.spans ?? []) for (const k of ['traceId', 'spanId', 'parentSpanId']) if (k in span) span[k] = bytes(span[k]);
  return Buffer.from(Request.encode(Request.fromObject(copy as Record<string, unknown>)).finish());
}

/** Messages framed as the Collector's file exporter writes them with `format: proto`: each after its length, 4 bytes big-endian. */
export function lengthPrefixed(messages: readonly Buffer[]): Buffer {
  return Buffer.concat(
    messages.flatMap((m) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(m.length);
      return [prefix, m];
    }),
  );
}

// ---------------------------------------------------------------- Jaeger

function jaegerTag(key: string, v: AttributeValue): Record<string, unknown> {
  if (typeof v === 'string') return { key, type: 'string', value: v };
  if (typeof v === 'boolean') return { key, type: 'bool', value: v };
  return { key, type: Number.isInteger(v) ? 'int64' : 'float64', value: v };
}

/** Traces of the query API (`{data:[…]}`), an array of them, or the first trace alone (the UI's trace JSON). */
export function jaegerDocument(spans: readonly SpanSpec[], shape: 'api' | 'array' | 'trace' = 'api'): unknown {
  const byTrace = new Map<string, SpanSpec[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  const traces = [...byTrace.entries()].map(([traceID, group]) => {
    const processes: Record<string, unknown> = {};
    const processIds = new Map<string, string>();
    const jspans = group.map((s) => {
      const processKey = JSON.stringify([s.service, s.resource ?? {}, s.local?.ipv4 ?? null]);
      let pid = processIds.get(processKey);
      if (pid === undefined) {
        pid = `p${processIds.size + 1}`;
        processIds.set(processKey, pid);
        const tags = Object.entries(s.resource ?? {}).map(([k, v]) => jaegerTag(k, v));
        if (s.local?.ipv4 !== undefined) tags.push(jaegerTag('ip', s.local.ipv4));
        processes[pid] = { serviceName: s.service, tags };
      }
      const tags = Object.entries(s.attributes ?? {}).map(([k, v]) => jaegerTag(k, v));
      if (s.kind !== 'unspecified') tags.unshift(jaegerTag('span.kind', s.kind));
      if (s.status === 'error') tags.push(jaegerTag('otel.status_code', 'ERROR'));
      if (s.status === 'ok') tags.push(jaegerTag('otel.status_code', 'OK'));
      return {
        traceID,
        spanID: s.spanId,
        flags: 1,
        operationName: s.name,
        references: s.parentSpanId === undefined ? [] : [{ refType: 'CHILD_OF', traceID, spanID: s.parentSpanId }],
        startTime: s.startMicros,
        duration: s.durationMicros ?? 0,
        tags,
        logs: [],
        processID: pid,
        warnings: null,
      };
    });
    return { traceID, spans: jspans, processes, warnings: null };
  });
  if (shape === 'trace') return parsed(traces[0]);
  if (shape === 'array') return parsed(traces);
  return parsed({ data: traces, total: 0, limit: 0, offset: 0, errors: null });
}

// ---------------------------------------------------------------- Zipkin v2

/** A Zipkin v2 span list; tag values written as strings, as the spec has them. */
export function zipkinSpans(spans: readonly SpanSpec[]): unknown[] {
  return parsed(
    spans.map((s) => {
      // As OpenTelemetry's Zipkin exporter writes them: the resource's attributes beside the span's, as string tags.
      const tags: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...s.resource, ...s.attributes })) tags[k] = String(v);
      if (s.status === 'error') tags['error'] = 'true';
      const out: Record<string, unknown> = { traceId: s.traceId };
      if (s.parentSpanId !== undefined) out['parentId'] = s.parentSpanId;
      out['id'] = s.spanId;
      if (s.kind !== 'unspecified' && s.kind !== 'internal') out['kind'] = s.kind.toUpperCase();
      out['name'] = s.name;
      out['timestamp'] = s.startMicros;
      if (s.durationMicros !== undefined) out['duration'] = s.durationMicros;
      out['localEndpoint'] = { serviceName: s.service, ...s.local };
      if (s.remote !== undefined) out['remoteEndpoint'] = s.remote;
      if (Object.keys(tags).length > 0) out['tags'] = tags;
      if (s.shared === true) out['shared'] = true;
      return out;
    }),
  );
}
