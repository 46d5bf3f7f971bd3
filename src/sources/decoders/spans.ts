// Where an access-log line's fields are, as byte offsets into the read buffer: what the byte
// scanners (envoy-text-spans.ts, envoy-json-spans.ts) find without making a string or an
// object. They take only lines in a plain, strict shape (printable ASCII, no escapes, the
// usual field order) whose fields the string decoders would read the same way; any other
// line is left to those decoders, which stay the definition of what a field means.
// A scanner may read b[end]: the framing ends a line at its newline (or at the CR before it).

/** Field slots: each is a pair [start, end) of byte offsets, or start -1 when absent. */
export const START = 0;
export const METHOD = 1;
export const PATH = 2;
export const PROTOCOL = 3;
export const AUTHORITY = 4;
export const UPSTREAM_HOST = 5;
export const CLUSTER = 6;
export const UPSTREAM_LOCAL = 7;
export const DOWNSTREAM_LOCAL = 8;
export const DOWNSTREAM_REMOTE = 9;
export const SNI = 10;
/** RESPONSE_FLAGS and RESPONSE_CODE_DETAILS: not route fields, but they tell a denied or failed request (access-log-decoder.ts). */
export const FLAGS = 11;
export const DETAILS = 12;
export const FIELDS = 13;
/** Not a pair: the response code's value (0 when absent), as the string decoders compute it. */
export const RESPONSE_CODE = FIELDS * 2;

export type Spans = Int32Array;

export function newSpans(): Spans {
  return new Int32Array(FIELDS * 2 + 1);
}

export function setSpan(spans: Spans, field: number, start: number, end: number): void {
  spans[field * 2] = start;
  spans[field * 2 + 1] = end;
}

/** Marks every field absent, as before a scan. */
export function clearSpans(spans: Spans): void {
  spans.fill(-1);
  spans[RESPONSE_CODE] = 0;
}

/** `-` and empty fields are absent, as `dash` makes them in the string decoders. */
export function dropDashes(b: Uint8Array, spans: Spans): void {
  for (let f = 0; f < FIELDS; f++) {
    const s = spans[f * 2]!;
    if (s < 0) continue;
    const e = spans[f * 2 + 1]!;
    if (e === s || (e === s + 1 && b[s] === 45 /* - */)) spans[f * 2] = -1;
  }
}

/** A field's text (latin1 is exact: the scanners take printable ASCII only), or undefined. */
export function spanText(b: Buffer, spans: Spans, field: number): string | undefined {
  const s = spans[field * 2]!;
  return s < 0 ? undefined : b.toString('latin1', s, spans[field * 2 + 1]!);
}

/** Whether the field's bytes are exactly `ascii`. */
export function spanIs(b: Uint8Array, spans: Spans, field: number, ascii: string): boolean {
  const s = spans[field * 2]!;
  if (s < 0 || spans[field * 2 + 1]! - s !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[s + i] !== ascii.charCodeAt(i)) return false;
  return true;
}
