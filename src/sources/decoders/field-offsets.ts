// Where an access-log line's fields are, as byte offsets into the read buffer: what the byte
// scanners (envoy-text-offsets.ts, envoy-json-offsets.ts) find without making a string or an
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
const FIELDS = 13;
/** Not a pair: the response code's value (0 when absent), as the string decoders compute it. */
export const RESPONSE_CODE = FIELDS * 2;

export type FieldOffsets = Int32Array;

export function newFieldOffsets(): FieldOffsets {
  return new Int32Array(FIELDS * 2 + 1);
}

export function setField(offsets: FieldOffsets, field: number, start: number, end: number): void {
  offsets[field * 2] = start;
  offsets[field * 2 + 1] = end;
}

/** Marks every field absent, as before a scan. */
export function clearFields(offsets: FieldOffsets): void {
  offsets.fill(-1);
  offsets[RESPONSE_CODE] = 0;
}

/** `-` and empty fields are absent, as `dash` makes them in the string decoders. */
export function dropDashes(b: Uint8Array, offsets: FieldOffsets): void {
  for (let f = 0; f < FIELDS; f++) {
    const s = offsets[f * 2]!;
    if (s < 0) continue;
    const e = offsets[f * 2 + 1]!;
    if (e === s || (e === s + 1 && b[s] === 45 /* - */)) offsets[f * 2] = -1;
  }
}

/** A field's text (latin1 is exact: the scanners take printable ASCII only), or undefined. */
export function fieldText(b: Buffer, offsets: FieldOffsets, field: number): string | undefined {
  const s = offsets[field * 2]!;
  return s < 0 ? undefined : b.toString('latin1', s, offsets[field * 2 + 1]!);
}

/** Whether the field's bytes are exactly `ascii`. */
export function fieldIs(b: Uint8Array, offsets: FieldOffsets, field: number, ascii: string): boolean {
  const s = offsets[field * 2]!;
  if (s < 0 || offsets[field * 2 + 1]! - s !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[s + i] !== ascii.charCodeAt(i)) return false;
  return true;
}
