// What the three trace-file decoders (otlp-json.ts, jaeger-json.ts, zipkin-json.ts) share: the
// batch they return, ids, times, bounded strings and attribute maps. Telemetry is untrusted
// (docs/architecture.md, Principles): every helper returns a value or a problem, never throws.
//
// A trace document holds many spans, and one bad span must not cost the others, nor vanish:
// each decoder returns `ok(TraceBatch)` with the good spans, every span it rejected (`rejected`)
// and every repair it made to a span it kept (`notes`: an end before the start dropped, a value
// cut…), each with its reason and where in the document it was. A document that is not the
// format at all is a `reject`; one with no span at all is a `skip`.

import { ok, skip, type Decoded } from './result.js';
import { isIP } from 'node:net';
import { excerpt } from '../../text.js';
import { startTimeInRange } from '../access-log.js';
import type { AttributeValue, Span, SpanEndpoint } from './span.js';

/** One span rejected, or one repair to a kept span: `at` is its place in the document (`resourceSpans[0].scopeSpans[1].spans[2]`). */
export interface SpanProblem {
  reason: string;
  detail: string;
  at: string;
}

export interface TraceBatch {
  spans: Span[];
  rejected: SpanProblem[];
  notes: SpanProblem[];
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
/**
 * The value as a message quotes it. A list or an object is described by its size or first keys,
 * never serialized: it may be the whole document (megabytes, or nested past the stack).
 */
export function quoted(v: unknown, max = 40): string {
  if (typeof v === 'string') return excerpt(v, max);
  if (Array.isArray(v)) return `[${v.length} items]`;
  if (isObj(v)) {
    const keys = Object.keys(v);
    return excerpt(`{${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}}`, max);
  }
  return excerpt(String(v), max);
}

/**
 * Why a span is rejected, returned (never thrown) by the readers of its fields. A class, so that
 * no value JSON.parse made can pass for one: `instanceof` tells the decoder's answer from data.
 */
export class Rejection {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {}
}

/** Strings longer than this (names, values) are cut: a span's fields are the exporter's to choose. */
const MAX_VALUE_LENGTH = 4096;
/** Longer attribute keys are dropped rather than cut: a cut key would be another key. */
const MAX_KEY_LENGTH = 256;

/** `s` cut to MAX_VALUE_LENGTH code units, never between the halves of a surrogate pair. */
function bounded(s: string): { value: string; cut: boolean } {
  if (s.length <= MAX_VALUE_LENGTH) return { value: s, cut: false };
  let end = MAX_VALUE_LENGTH;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return { value: s.slice(0, end), cut: true };
}

/** Attributes that hold a URL or a request target, whose query is cut; and those that hold only a query, dropped. */
const WITH_QUERY = new Set(['url.full', 'url.original', 'http.url', 'http.target', 'http.path', 'url.path']);
const QUERY_ONLY = new Set(['url.query', 'url.fragment']);

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const ZERO = /^0+$/;

/**
 * An OTLP id: hex of exactly `bytes` bytes (any case), or base64 of them (protobuf's own JSON
 * mapping, which some exporters write instead of OTLP/JSON's hex). Lowercase hex, or why not.
 */
type IdProblem = { problem: string; zero?: true };

export function otlpId(v: string, bytes: 8 | 16): string | IdProblem {
  let hex: string | undefined;
  if (v.length === bytes * 2 && HEX.test(v)) hex = v.toLowerCase();
  else if (v.length >= Math.ceil((bytes * 4) / 3) && v.length <= Math.ceil(bytes / 3) * 4 && BASE64.test(v)) {
    const buf = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    // Node decodes leniently: only an exact round trip is base64 of `bytes` bytes.
    const again = buf.toString('base64').replace(/=+$/, '');
    if (buf.length === bytes && again === v.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')) hex = buf.toString('hex');
  }
  if (hex === undefined) return { problem: `is neither ${bytes * 2} hex digits nor base64 of ${bytes} bytes` };
  if (ZERO.test(hex)) return { problem: 'is all zeros (an invalid id)', zero: true };
  return hex;
}

/**
 * A Zipkin or Jaeger id: 1 to 16 hex digits (a span id, or a 64-bit trace id), or 17 to 32 for a
 * 128-bit trace id, zero-padded on the left to 16 or 32 as both write them; a 128-bit trace id
 * whose high half is zero is its low half (Zipkin's normalizeTraceId, Jaeger's TraceID.String).
 */
export function shortHexId(v: string, maxDigits: 16 | 32): string | IdProblem {
  if (v.length === 0 || v.length > maxDigits || !HEX.test(v)) return { problem: `is not 1 to ${maxDigits} hex digits` };
  if (ZERO.test(v)) return { problem: 'is all zeros (an invalid id)', zero: true };
  const lower = v.toLowerCase();
  if (lower.length <= 16) return lower.padStart(16, '0');
  const full = lower.padStart(32, '0');
  return full.startsWith('0000000000000000') ? full.slice(16) : full;
}

/** Reads an id field through `parse`, or why not (`reason` for a string that is no id). */
export function idField(v: unknown, field: string, reason: string, parse: (s: string) => string | IdProblem): string | Rejection {
  if (typeof v !== 'string') return new Rejection(v === undefined ? 'missing-field' : 'bad-field-type', `${field} is ${v === undefined ? 'missing' : kindOf(v) + ': ' + quoted(v)}`);
  const id = parse(v);
  // The length too: excerpt masks long hex runs, and ids are such runs.
  if (typeof id !== 'string') return new Rejection(reason, `${field} ${quoted(v)} of ${v.length} characters ${id.problem}`);
  return id;
}

/**
 * A parent id: absent, null, empty or all zeros (in hex or base64) is a root span — proto3 writes
 * an empty parent so, and Jaeger's model has 0 for none; anything else must be an id.
 */
export function parentField(v: unknown, field: string, parse: (s: string) => string | IdProblem): string | undefined | Rejection {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') {
    const id = parse(v);
    if (typeof id !== 'string' && id.zero === true) return undefined;
  }
  return idField(v, field, 'invalid-parent-span-id', parse);
}

const DIGITS = /^[0-9]{1,25}$/;

/**
 * Epoch nanoseconds (a JSON number, or a decimal string read exactly with BigInt: OTLP's int64
 * fields are strings so that values beyond 2^53 survive) → epoch milliseconds to the microsecond.
 * undefined when unreadable.
 */
export function nanosToMillis(v: unknown): number | undefined {
  if (typeof v === 'string') {
    if (!DIGITS.test(v)) return undefined;
    return Number(BigInt(v) / 1000n) / 1000;
  }
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v / 1000) / 1000;
  return undefined;
}

/** Epoch microseconds (Jaeger's and Zipkin's times: a number, or a decimal string) → milliseconds. */
export function microsToMillis(v: unknown): number | undefined {
  const m = wholeMicros(v);
  return m === undefined ? undefined : Number(m) / 1000;
}

/** Whole microseconds of a number or decimal string, exactly; undefined when unreadable or negative. */
function wholeMicros(v: unknown): bigint | undefined {
  if (typeof v === 'string') return DIGITS.test(v) ? BigInt(v) : undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.floor(v));
  return undefined;
}

/** Start + duration in microseconds → end in milliseconds, summed exactly so that it equals what the start's own conversion gives. */
export function microsEnd(start: unknown, duration: unknown): number | undefined {
  const s = wholeMicros(start);
  const d = wholeMicros(duration);
  return s === undefined || d === undefined ? undefined : Number(s + d) / 1000;
}

/** A start time read by `toMillis`, in ztmap's years (2000–2099, as access-log.ts), or why not. */
export function startField(v: unknown, field: string, toMillis: (v: unknown) => number | undefined): number | Rejection {
  if (v === undefined || v === null) return new Rejection('missing-field', `${field} is missing`);
  const t = toMillis(v);
  if (t === undefined || !startTimeInRange(t)) {
    return new Rejection('invalid-start-time', `${field} ${quoted(v)} is ${t === undefined ? 'not an epoch time' : 'outside the years 2000 to 2099'}`);
  }
  return t;
}

/** An IPv4 address written as its 32-bit integer, signed or not (OpenTracing's `peer.ipv4`, old Jaeger clients' `ip`); other values as they are. */
export function ipOf(v: unknown): unknown {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) return v;
  const u = v >>> 0;
  return [u >>> 24, (u >>> 16) & 255, (u >>> 8) & 255, u & 255].join('.');
}

/**
 * Where a span's own problems go while it is read: repairs to keep (`note`), values cut.
 * Attribute maps are built with defineProperty, so a key like `__proto__` is an own key like any other.
 */
export class SpanReader {
  readonly notes: SpanProblem[] = [];
  constructor(readonly at: string) {}

  note(reason: string, detail: string): void {
    this.notes.push({ reason, detail, at: this.at });
  }

  /** A string field bounded to MAX_VALUE_LENGTH, with a note when cut. */
  text(s: string, field: string | (() => string)): string {
    if (s.length <= MAX_VALUE_LENGTH) return s;
    const b = bounded(s);
    this.note('value-cut', `${typeof field === 'string' ? field : field()} was ${s.length} characters, cut to ${b.value.length}`);
    return b.value;
  }

  /**
   * Sets `key` in `attrs` unless too long or already set (the first value wins; both are noted).
   * A URL's query, fragment and credentials are cut here, before anything keeps the span (the joiner, a
   * receiver's checkpoint of waiting spans): they carry tokens and session ids, and no rule
   * needs them (design.md §6).
   */
  put(attrs: Record<string, AttributeValue>, key: string, value: AttributeValue, field: string): void {
    if (QUERY_ONLY.has(key)) return;
    // …and a URL's user:password@ likewise.
    if (typeof value === 'string' && WITH_QUERY.has(key)) value = value.replace(/[?#].*$/s, '').replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/]*@/, '$1');
    if (key.length > MAX_KEY_LENGTH) {
      this.note('attribute-dropped', `${field} key of ${key.length} characters ${quoted(key)} is longer than ${MAX_KEY_LENGTH}`);
      return;
    }
    if (Object.hasOwn(attrs, key)) {
      this.note('duplicate-attribute', `${field} ${quoted(key)} is set twice: the first value is kept`);
      return;
    }
    // The label is made only for a value that is cut: quoting masks secrets with several
    // patterns, and made for every attribute it was a third of a receiver's time.
    const v = typeof value === 'string' ? this.text(value, () => `${field} ${quoted(key)}`) : value;
    Object.defineProperty(attrs, key, { value: v, enumerable: true, writable: true, configurable: true });
  }

  /** An endpoint's ip and port, each checked (a bad one is noted and left out). */
  endpoint(serviceName: unknown, ip: unknown, port: unknown, field: string): SpanEndpoint | undefined {
    const e: SpanEndpoint = {};
    if (typeof serviceName === 'string' && serviceName !== '') e.serviceName = this.text(serviceName, `${field}.serviceName`);
    if (typeof ip === 'string' && isIP(ip) !== 0) e.ip = ip;
    else if (ip !== undefined) this.note('endpoint-dropped', `${field} address ${quoted(ip)} is not an IP address`);
    if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) e.port = port;
    else if (port !== undefined && port !== 0) this.note('endpoint-dropped', `${field} port ${quoted(port)} is not a port number`);
    return e.serviceName === undefined && e.ip === undefined && e.port === undefined ? undefined : e;
  }

  /** An end time: dropped with a note when unreadable, outside ztmap's years, or before the start (damage within one span, unlike skew between services). */
  end(start: number, end: number | undefined, raw: unknown, field: string): number | undefined {
    if (end === undefined) {
      this.note('end-dropped', `${field} ${quoted(raw)} is not an epoch time`);
      return undefined;
    }
    if (end < start) {
      this.note('end-before-start', `${field} ${quoted(raw)} is before the span's start`);
      return undefined;
    }
    if (!startTimeInRange(end)) {
      this.note('end-dropped', `${field} ${quoted(raw)} is outside the years 2000 to 2099`);
      return undefined;
    }
    return end;
  }
}

/** Reads one span through `read` into the batch: the span and its notes, or its rejection (its notes then say nothing more). */
export function collect(batch: TraceBatch, at: string, read: (r: SpanReader) => Span | Rejection): void {
  const reader = new SpanReader(at);
  const span = read(reader);
  if (span instanceof Rejection) batch.rejected.push({ reason: span.reason, detail: span.detail, at });
  else {
    batch.spans.push(span);
    batch.notes.push(...reader.notes);
  }
}

export const emptyBatch = (): TraceBatch => ({ spans: [], rejected: [], notes: [] });

/** A document's batch as the decoders return it: a skip when it held no span at all, good or bad. */
export function batchDecoded(batch: TraceBatch): Decoded<TraceBatch> {
  return batch.spans.length === 0 && batch.rejected.length === 0 ? skip('no-spans') : ok(batch);
}

/** A JSON value that is no string, number or boolean, kept as bounded JSON text (arrays, maps). */
export function jsonText(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}
