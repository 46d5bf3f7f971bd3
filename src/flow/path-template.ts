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

export type Placeholder = '{id}' | '{uuid}' | '{hex}' | '{token}';

// One implementation of the rules, over character codes, written out through a TemplateOut:
// runs of the raw path and fixed texts. The read buffer's bytes are the codes themselves on
// the byte path (writePathTemplate: the lines the byte scanners take are printable ASCII);
// a string's characters are first mapped to codes (pathTemplate). Every rule looks at ASCII
// classes only, so any other character is code 128: never a digit, letter, slash or brace.

/** Where a template is written: runs of the raw path, and fixed texts (placeholders, escapes). */
interface TemplateOut {
  copy(from: number, to: number): void;
  fixed(text: FixedText): void;
}

/** A placeholder or escape, as text and as bytes. */
interface FixedText {
  text: string;
  bytes: Uint8Array;
}

const FIXED = new Map<string, FixedText>(['{id}', '{uuid}', '{hex}', '{token}', '{invalid}', '/{more}', '/', '%7B', '%7D'].map((text) => [text, { text, bytes: Uint8Array.from(text, (c) => c.charCodeAt(0)) }]));
const fixed = (t: string) => FIXED.get(t)!;

/** Writes the template of the raw path `c[start, stop)` (character codes) to `out`. */
function writeTemplate(c: Uint8Array, start: number, stop: number, out: TemplateOut): void {
  let end = stop;
  for (let i = start; i < stop; i++) {
    if (c[i] === 63 /* ? */ || c[i] === 35 /* # */) {
      end = i;
      break;
    }
  }
  if (end === start) return out.fixed(fixed('/'));
  if (c[start] !== 47 /* / */) return out.fixed(fixed('{invalid}'));
  // Most paths are all words: nothing to replace or escape, copied as they are.
  if (end - start <= 1024 && isPlain(c, start, end)) return out.copy(start, end);
  // Literal segments are copied in runs: `[copied, …)` is what is not yet out.
  let copied = start;
  let segments = 0;
  let from = start + 1;
  for (;;) {
    let to = from;
    while (to < end && c[to] !== 47) to++;
    if (segments === MAX_SEGMENTS) {
      out.copy(copied, from - 1);
      return out.fixed(fixed('/{more}'));
    }
    const placeholder = placeholderIn(c, from, to);
    if (placeholder !== undefined) {
      out.copy(copied, from);
      out.fixed(fixed(placeholder));
      copied = to;
    } else if (hasBrace(c, from, to)) {
      out.copy(copied, from);
      for (let i = from; i < to; i++) {
        if (c[i] === 123) out.fixed(fixed('%7B'));
        else if (c[i] === 125) out.fixed(fixed('%7D'));
        else out.copy(i, i + 1);
      }
      copied = to;
    }
    segments++;
    if (to >= end) break;
    from = to + 1;
  }
  out.copy(copied, end);
}

/**
 * The placeholder for the segment `c[start, stop)`, or undefined when it is a literal. One
 * scan sorts the characters into the classes the rules read:
 *   {id}     digits only
 *   {uuid}   8-4-4-4-12 hex digits
 *   {hex}    8 or more hex digits
 *   {token}  over MAX_SEGMENT_LENGTH characters, or 16 or more of [A-Za-z0-9_-.~=+%] with a letter
 * A segment without a digit is a literal unless it is over-long.
 */
function placeholderIn(c: Uint8Array, start: number, stop: number): Placeholder | undefined {
  const length = stop - start;
  let digits = 0;
  let allHex = true;
  let allTokenChars = true;
  let letters = 0;
  for (let i = start; i < stop; i++) {
    const x = c[i]!;
    if (x >= 48 && x <= 57) digits++;
    else if ((x >= 97 && x <= 102) || (x >= 65 && x <= 70)) letters++;
    else {
      allHex = false;
      if ((x >= 97 && x <= 122) || (x >= 65 && x <= 90)) letters++;
      else if (!isTokenPunctuation(x)) allTokenChars = false;
    }
  }
  // Most segments are words: no digit means not an id (UUIDs, hex and tokens all have one).
  if (length <= MAX_SEGMENT_LENGTH && digits === 0) return undefined;
  if (digits === length) return '{id}';
  if (length === 36 && isUuid(c, start)) return '{uuid}';
  if (allHex && length >= 8) return '{hex}';
  if (length > MAX_SEGMENT_LENGTH) return '{token}';
  if (allTokenChars && length >= 16 && letters > 0) return '{token}';
  return undefined;
}

/** `c[start, start + 36)` is 8-4-4-4-12 hex digits, either case. */
function isUuid(c: Uint8Array, start: number): boolean {
  for (let i = 0; i < 36; i++) {
    const x = c[start + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (x !== 45) return false;
    } else if (!((x >= 48 && x <= 57) || (x >= 97 && x <= 102) || (x >= 65 && x <= 70))) return false;
  }
  return true;
}

/** `_ - . ~ = + %`: the characters besides letters and digits that a token may hold. */
function isTokenPunctuation(c: number): boolean {
  return c === 95 || c === 45 || c === 46 || c === 126 || c === 61 || c === 43 || c === 37;
}

/** No digit, no brace, no over-long segment and few enough segments in `c[start, end)`. */
function isPlain(c: Uint8Array, start: number, end: number): boolean {
  let segments = 0;
  let segStart = start;
  for (let i = start; i < end; i++) {
    const x = c[i]!;
    if ((x >= 48 && x <= 57) || x === 123 || x === 125) return false;
    if (x === 47) {
      if (i - segStart > MAX_SEGMENT_LENGTH + 1 || ++segments > MAX_SEGMENTS) return false;
      segStart = i;
    }
  }
  return end - segStart <= MAX_SEGMENT_LENGTH + 1;
}

function hasBrace(c: Uint8Array, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) if (c[i] === 123 || c[i] === 125) return true;
  return false;
}

/** The template into a ByteKey, from the bytes that are also its codes. */
class ByteOut implements TemplateOut {
  bytes: Uint8Array = new Uint8Array(0);
  key: ByteKey | undefined;
  copy(from: number, to: number): void {
    this.key!.bytesOf(this.bytes, from, to);
  }
  fixed(t: FixedText): void {
    this.key!.append(t.bytes);
  }
}

/** The template as a string, copying runs of the raw string (any characters). */
class StringOut implements TemplateOut {
  raw = '';
  text = '';
  copy(from: number, to: number): void {
    if (to > from) this.text += this.raw.slice(from, to);
  }
  fixed(t: FixedText): void {
    this.text += t.text;
  }
}

const byteOut = new ByteOut();
const stringOut = new StringOut();
// A Buffer like the read buffers, so that writeTemplate sees one kind of array (one map) on both paths.
let codes: Uint8Array = Buffer.alloc(256);

/** Appends the template of the raw path `b[start, stop)` (printable ASCII bytes) to `out`. */
export function writePathTemplate(b: Uint8Array, start: number, stop: number, out: ByteKey): void {
  byteOut.bytes = b;
  byteOut.key = out;
  writeTemplate(b, start, stop, byteOut);
  byteOut.key = undefined;
}

/** The template of a raw request path; query string and fragment are dropped. */
export function pathTemplate(raw: string): string {
  if (codes.length < raw.length) codes = Buffer.alloc(Math.max(raw.length, codes.length * 2));
  for (let i = 0; i < raw.length; i++) {
    const x = raw.charCodeAt(i);
    codes[i] = x < 128 ? x : 128;
  }
  stringOut.raw = raw;
  stringOut.text = '';
  writeTemplate(codes, 0, raw.length, stringOut);
  const text = stringOut.text;
  stringOut.raw = '';
  stringOut.text = '';
  return text;
}

/**
 * A copy of `s` that shares no memory with the string it was cut from. V8 keeps a whole
 * read buffer alive behind every substring of it; anything retained past one record
 * (graph keys, path sets) must go through here.
 */
export function detached(s: string): string {
  return (' ' + s).slice(1);
}
