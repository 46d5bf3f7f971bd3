// Paths are templated before anything keeps them: raw paths carry ids and tokens that
// (a) must never reach a policy, report or PR (design.md §6) and (b) make the number of
// distinct paths grow with the number of requests instead of the number of endpoints.
//
// A template keeps literal segments and replaces id-like ones with a placeholder:
//   /api/v1/orders/123?token=abc  ->  /api/v1/orders/{id}
//   /users/3f2a…-uuid/avatar      ->  /users/{uuid}/avatar
// `{` and `}` are not valid unescaped in an HTTP path (RFC 3986), so a literal brace in a
// raw path is percent-encoded and a placeholder can never be confused with a real segment.

import type { ByteKey } from './byte-keys.js';

export const MAX_SEGMENTS = 16;
export const MAX_SEGMENT_LENGTH = 64;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Placeholder = '{id}' | '{uuid}' | '{hex}' | '{token}';

/** The placeholder for an id-like segment, or undefined when the segment is a literal. */
export function placeholderOf(segment: string): Placeholder | undefined {
  return placeholderIn(segment, 0, segment.length);
}

/**
 * placeholderOf for the segment `s[start, stop)`, without cutting it out (hot path: this runs
 * per path segment). One scan sorts the characters into the classes the rules read:
 *   {id}     digits only
 *   {uuid}   8-4-4-4-12 hex digits
 *   {hex}    8 or more hex digits
 *   {token}  over MAX_SEGMENT_LENGTH characters, or 16 or more of [A-Za-z0-9_-.~=+%] with a letter
 * A segment without a digit is a literal unless it is over-long.
 */
function placeholderIn(s: string, start: number, stop: number): Placeholder | undefined {
  const length = stop - start;
  let digits = 0;
  let allHex = true;
  let allTokenChars = true;
  let letters = 0;
  for (let i = start; i < stop; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) letters++;
    else {
      allHex = false;
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) letters++;
      else if (!isTokenPunctuation(c)) allTokenChars = false;
    }
  }
  // Most segments are words: no digit means not an id (UUIDs, hex and tokens all have one).
  if (length <= MAX_SEGMENT_LENGTH && digits === 0) return undefined;
  if (digits === length) return '{id}';
  if (length === 36 && UUID.test(s.slice(start, stop))) return '{uuid}';
  if (allHex && length >= 8) return '{hex}';
  if (length > MAX_SEGMENT_LENGTH) return '{token}';
  if (allTokenChars && length >= 16 && letters > 0) return '{token}';
  return undefined;
}

/** `_ - . ~ = + %`: the characters besides letters and digits that TOKEN_CHARS allows. */
function isTokenPunctuation(c: number): boolean {
  return c === 95 || c === 45 || c === 46 || c === 126 || c === 61 || c === 43 || c === 37;
}

/** No digit, no brace, no over-long segment and few enough segments before `end`. */
function isPlain(s: string, end: number): boolean {
  let segments = 0;
  let segStart = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || c === 123 || c === 125) return false;
    if (c === 47) {
      if (i - segStart > MAX_SEGMENT_LENGTH + 1 || ++segments > MAX_SEGMENTS) return false;
      segStart = i;
    }
  }
  return end - segStart <= MAX_SEGMENT_LENGTH + 1;
}

function hasBrace(s: string, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) {
    const c = s.charCodeAt(i);
    if (c === 123 || c === 125) return true;
  }
  return false;
}

/** The template of a raw request path; query string and fragment are dropped. */
export function pathTemplate(raw: string): string {
  let end = raw.length;
  const q = raw.indexOf('?');
  if (q !== -1) end = q;
  const h = raw.indexOf('#');
  if (h !== -1 && h < end) end = h;
  if (end === 0) return '/';
  if (raw.charCodeAt(0) !== 47 /* / */) return '{invalid}';
  // Most paths are all words: nothing to replace or escape, returned as they are.
  if (end <= 1024 && isPlain(raw, end)) return end === raw.length ? raw : raw.slice(0, end);
  // Literal segments are copied in runs: `raw[copied, …)` is what is not yet in `out`.
  let out = '';
  let copied = 0;
  let segments = 0;
  let start = 1;
  for (;;) {
    let stop = raw.indexOf('/', start);
    if (stop === -1 || stop > end) stop = end;
    if (segments === MAX_SEGMENTS) {
      return out + raw.slice(copied, start - 1) + '/{more}';
    }
    const placeholder = placeholderIn(raw, start, stop);
    if (placeholder !== undefined) {
      out += raw.slice(copied, start) + placeholder;
      copied = stop;
    } else if (hasBrace(raw, start, stop)) {
      out += raw.slice(copied, start) + escapeBraces(raw.slice(start, stop));
      copied = stop;
    }
    segments++;
    if (stop >= end) break;
    start = stop + 1;
  }
  return out + raw.slice(copied, end);
}

// pathTemplate again, for the bytes of a read buffer (the lines the byte scanners take are
// printable ASCII, so a byte is a character): the same rules step for step, writing the
// template into a ByteKey instead of a string. test/flow/path-template.test.ts holds the two
// equal on generated paths; change them together.

const PLACEHOLDER_BYTES = new Map<string, Uint8Array>(['{id}', '{uuid}', '{hex}', '{token}', '{invalid}', '/{more}', '%7B', '%7D'].map((p) => [p, Buffer.from(p, 'latin1')]));
const bytesOf = (p: string) => PLACEHOLDER_BYTES.get(p)!;

/** Appends pathTemplate of the raw path `b[start, stop)` to `out`. */
export function writePathTemplate(b: Uint8Array, start: number, stop: number, out: ByteKey): void {
  let end = stop;
  for (let i = start; i < stop; i++) {
    if (b[i] === 63 /* ? */ || b[i] === 35 /* # */) {
      end = i;
      break;
    }
  }
  if (end === start) return out.byte(47);
  if (b[start] !== 47) return out.append(bytesOf('{invalid}'));
  if (end - start <= 1024 && isPlainBytes(b, start, end)) return out.bytesOf(b, start, end);
  let copied = start;
  let segments = 0;
  let from = start + 1;
  for (;;) {
    let to = from;
    while (to < end && b[to] !== 47) to++;
    if (segments === MAX_SEGMENTS) {
      out.bytesOf(b, copied, from - 1);
      return out.append(bytesOf('/{more}'));
    }
    const placeholder = placeholderInBytes(b, from, to);
    if (placeholder !== undefined) {
      out.bytesOf(b, copied, from);
      out.append(bytesOf(placeholder));
      copied = to;
    } else if (hasBraceBytes(b, from, to)) {
      out.bytesOf(b, copied, from);
      for (let i = from; i < to; i++) {
        if (b[i] === 123) out.append(bytesOf('%7B'));
        else if (b[i] === 125) out.append(bytesOf('%7D'));
        else out.byte(b[i]!);
      }
      copied = to;
    }
    segments++;
    if (to >= end) break;
    from = to + 1;
  }
  out.bytesOf(b, copied, end);
}

function placeholderInBytes(b: Uint8Array, start: number, stop: number): Placeholder | undefined {
  const length = stop - start;
  let digits = 0;
  let allHex = true;
  let allTokenChars = true;
  let letters = 0;
  for (let i = start; i < stop; i++) {
    const c = b[i]!;
    if (c >= 48 && c <= 57) digits++;
    else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) letters++;
    else {
      allHex = false;
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) letters++;
      else if (!isTokenPunctuation(c)) allTokenChars = false;
    }
  }
  if (length <= MAX_SEGMENT_LENGTH && digits === 0) return undefined;
  if (digits === length) return '{id}';
  if (length === 36 && isUuidBytes(b, start)) return '{uuid}';
  if (allHex && length >= 8) return '{hex}';
  if (length > MAX_SEGMENT_LENGTH) return '{token}';
  if (allTokenChars && length >= 16 && letters > 0) return '{token}';
  return undefined;
}

/** UUID's test on `b[start, start + 36)`: 8-4-4-4-12 hex digits, either case. */
function isUuidBytes(b: Uint8Array, start: number): boolean {
  for (let i = 0; i < 36; i++) {
    const c = b[start + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

function isPlainBytes(b: Uint8Array, start: number, end: number): boolean {
  let segments = 0;
  let segStart = start;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if ((c >= 48 && c <= 57) || c === 123 || c === 125) return false;
    if (c === 47) {
      if (i - segStart > MAX_SEGMENT_LENGTH + 1 || ++segments > MAX_SEGMENTS) return false;
      segStart = i;
    }
  }
  return end - segStart <= MAX_SEGMENT_LENGTH + 1;
}

function hasBraceBytes(b: Uint8Array, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) if (b[i] === 123 || b[i] === 125) return true;
  return false;
}

function escapeBraces(seg: string): string {
  return seg.replace(/\{/g, '%7B').replace(/\}/g, '%7D');
}

/**
 * A copy of `s` that shares no memory with the string it was cut from. V8 keeps a whole
 * read buffer alive behind every substring of it; anything retained past one record
 * (graph keys, path sets) must go through here.
 */
export function detached(s: string): string {
  return (' ' + s).slice(1);
}
