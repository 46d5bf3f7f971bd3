// Paths are templated before anything keeps them: raw paths carry ids and tokens that
// (a) must never reach a policy, report or PR (docs/architecture.md, "Untrusted input") and (b) make the number of
// distinct paths grow with the number of requests instead of the number of endpoints.
//
// A template keeps literal segments and replaces id-like ones with a placeholder:
//   /api/v1/orders/123?token=abc          ->  /api/v1/orders/{id}
//   /users/3f2a…-uuid/avatar              ->  /users/{uuid}/avatar
//   /product/0PUK6V6EV0                   ->  /product/{id}
//   /users/alice@example.com/cart         ->  /users/{email}/cart
//   /reports/2026-11-24/summary           ->  /reports/{date}/summary
//   /sessions/eyJhbGciOi…                 ->  /sessions/{token}
//   /cart;jsessionid=0A1B…/items          ->  /cart/items
// Matrix parameters (`;name=value` in any segment, also as `%3B`) are dropped like the query
// string: they carry session ids and tokens (`jsessionid`, `;token=`). A policy built from the
// template matches the path without them; Envoy neither strips nor decodes them, so a request
// that still carries them is matched on its whole path (docs/observe.md, "Paths").
// The rules read one segment's shape only and must never take a route word for an id
// (`/cart`, `/api/v1`, `/healthz`, `/static/app.css`, `/grpc.health.v1.Health/Check` stay as
// they are): what shape cannot tell, generalize-paths.ts decides from the siblings.
// `{` and `}` are not valid unescaped in an HTTP path (RFC 3986), so a literal brace in a
// raw path is percent-encoded and a placeholder can never be confused with a real segment.

import type { ByteKey } from './byte-keys.js';

export const MAX_SEGMENTS = 16;
const MAX_SEGMENT_LENGTH = 64;

type Placeholder = '{id}' | '{uuid}' | '{hex}' | '{date}' | '{email}' | '{token}';

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

const FIXED = new Map<string, FixedText>(['{id}', '{uuid}', '{hex}', '{date}', '{email}', '{token}', '{invalid}', '/{more}', '/', '%7B', '%7D'].map((text) => [text, { text, bytes: Uint8Array.from(text, (c) => c.charCodeAt(0)) }]));
const fixed = (t: string) => FIXED.get(t)!;

/** Writes the template of the raw path `c[start, stop)` (character codes) to `out`. */
function writeTemplate(c: Uint8Array, start: number, stop: number, out: TemplateOut): void {
  // The path ends at `?` or `#`; `;` or `%` before it may start matrix parameters.
  let end = stop;
  let marks = false;
  for (let i = start; i < stop; i++) {
    const m = PATH_MARK[c[i]!]!;
    if (m === 0) continue;
    if (m === PATH_END) {
      end = i;
      break;
    }
    marks = true;
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
    // `[from, stop)` is the segment without its matrix parameters, `[from, to)` with them.
    let to = from;
    let stop = -1;
    if (marks) {
      for (; to < end && c[to] !== 47; to++) if (stop < 0 && isParameters(c, to, end)) stop = to;
    } else {
      while (to < end && c[to] !== 47) to++;
    }
    if (stop < 0) stop = to;
    if (segments === MAX_SEGMENTS) {
      out.copy(copied, from - 1);
      return out.fixed(fixed('/{more}'));
    }
    const placeholder = placeholderIn(c, from, stop);
    if (placeholder !== undefined) {
      out.copy(copied, from);
      out.fixed(fixed(placeholder));
      copied = to;
    } else if (hasBrace(c, from, stop)) {
      out.copy(copied, from);
      for (let i = from; i < stop; i++) {
        if (c[i] === 123) out.fixed(fixed('%7B'));
        else if (c[i] === 125) out.fixed(fixed('%7D'));
        else out.copy(i, i + 1);
      }
      copied = to;
    } else if (stop < to) {
      out.copy(copied, stop);
      copied = to;
    }
    segments++;
    if (to >= end) break;
    from = to + 1;
  }
  out.copy(copied, end);
}

// Character kinds, one table lookup per character: a class (digit, upper, lower, other) and
// flags. Codes ≥ 128 (any character outside ASCII, on the string path) are OTHER only.
const DIGIT = 1;
const UPPER = 2;
const LOWER = 3;
const OTHER = 4;
const CLASS = 7;
const HEX = 8; // 0-9 a-f A-F
const TOKEN = 16; // a character a token may hold: letters, digits, `_ - . ~ = + %`
const SEPARATOR = 32; // `- _ . ~`: splits a segment into pieces (`order-12345`, `main.3f2a9c1e.js`)
const KIND = new Uint8Array(256).fill(OTHER);
for (let x = 48; x <= 57; x++) KIND[x] = DIGIT | HEX | TOKEN;
for (let x = 65; x <= 90; x++) KIND[x] = UPPER | TOKEN | (x <= 70 ? HEX : 0);
for (let x = 97; x <= 122; x++) KIND[x] = LOWER | TOKEN | (x <= 102 ? HEX : 0);
for (const x of [45, 95, 46, 126]) KIND[x] = OTHER | TOKEN | SEPARATOR;
for (const x of [61, 43, 37]) KIND[x] = OTHER | TOKEN;

/** Shortest segment the token rule reads; shorter opaque strings are left to sibling evidence (generalize-paths.ts). */
const MIN_TOKEN_LENGTH = 16;

/**
 * The placeholder for the segment `c[start, stop)`, or undefined when it is a literal. One
 * scan counts the character classes (a `%XX` escape counts as one character of no class, so
 * `caf%C3%A9` has no digit) and the changes of class between neighbours (separators left out),
 * which is what tells random text (`dQw4w9WgXcQ`: a change at nearly every character) from
 * words (`getV2Items`, `x-cart_v1beta1`).
 *   {token}  over MAX_SEGMENT_LENGTH characters; or 16 or more token characters that start
 *            like a JWT (`eyJ`), end in base64 padding, or are not word-like (wordLike:
 *            `grpc.health.v1.Health`, `getUserIdByEmail`, `reviews-v2-canary` are words)
 *   {email}  one `@` (or `%40`) between a local part and a dotted domain
 *   {id}     digits only
 *   {uuid}   8-4-4-4-12 hex digits
 *   {date}   YYYY-MM-DD with a valid month and day, optionally `T` and a time
 *   {hex}    8 or more hex digits, at least one a digit
 *   {id}     a code of letters and digits (codeLike: `0PUK6V6EV0`, `OLJCESPC7Z`, `user12345`,
 *            `2d7djr4hhv`), never a version (`v1`, `v1beta1`) or a word with a number
 *            (`sha256`, `oauth2`, `ubuntu2204`, `ISO8601`)
 *   {id}     digits with 2 or more separators or 6 or more digits (`112-3456789-1234567`,
 *            `10.0.0.1`), or a name with such a piece (`order-12345`, `main.3f2a9c1e.js`,
 *            `productpage-v1-2d7djr4hhv-xbj9k`)
 * A segment without a digit is a literal unless it is an email or a token.
 */
function placeholderIn(c: Uint8Array, start: number, stop: number): Placeholder | undefined {
  const length = stop - start;
  if (length > MAX_SEGMENT_LENGTH) return '{token}';
  // Most segments are words or numbers: one plain loop tells them apart from the rest.
  let quickDigits = 0;
  let marks = false; // `@` or `%`: an email or an escape
  for (let i = start; i < stop; i++) {
    const x = c[i]!;
    if (x >= 48 && x <= 57) quickDigits++;
    else if (x === 64 || x === 37) marks = true;
  }
  if (quickDigits === 0 && !marks && length < MIN_TOKEN_LENGTH) return undefined;
  if (quickDigits === length && length > 0) return '{id}';
  // No rule below reads fewer than 5 characters (`v1`, `x86`, `es6` are words).
  if (length < 5) return undefined;
  return classify(c, start, stop);
}

/** placeholderIn for a segment that is no plain word or number: the whole analysis, kept apart so the common cases stay small. */
function classify(c: Uint8Array, start: number, stop: number): Placeholder | undefined {
  const length = stop - start;
  let digits = 0;
  let upper = 0;
  let lower = 0;
  let units = 0; // characters, an escape counting one
  let changes = 0;
  let previous = 0;
  let lowerRuns = 0;
  let notWords = 0; // a capital not followed by a lowercase letter, or a digit by one: rare in words (camelCase, `getV2Items`)
  let separators = 0;
  let at = -1;
  let ats = 0;
  let flags = HEX | TOKEN; // what every character is
  for (let i = start; i < stop; i++) {
    const x = c[i]!;
    let k = KIND[x]!;
    if (x === 37 /* % */ && i + 2 < stop && KIND[c[i + 1]!]! & HEX && KIND[c[i + 2]!]! & HEX) {
      if (c[i + 1] === 52 && c[i + 2] === 48) {
        at = i; // %40
        ats++;
      }
      k = OTHER | TOKEN;
      i += 2;
    } else if (x === 64 /* @ */) {
      at = i;
      ats++;
    }
    const cls = k & CLASS;
    if (cls === DIGIT) digits++;
    else if (cls === UPPER) upper++;
    else if (cls === LOWER) lower++;
    flags &= k;
    units++;
    // Separators join words (`x-cart_v1beta1`, `grpc.health.v1`): they are not changes of class.
    if (k & SEPARATOR) separators++;
    else {
      if (cls === LOWER && previous !== LOWER) lowerRuns++;
      if ((previous === UPPER && cls !== LOWER) || (previous === DIGIT && cls === LOWER)) notWords++;
      if (units - separators > 1 && cls !== previous) changes++;
      previous = cls;
    }
  }
  if (ats === 1 && isEmail(c, start, stop, at)) return '{email}';
  const letters = upper + lower;
  const long = (flags & TOKEN) !== 0 && length >= MIN_TOKEN_LENGTH;
  // A JWT (`eyJ`: the base64 of `{"`) or padded base64 is a token whatever its letters.
  if (long && (startsJwt(c, start) || (c[stop - 1] === 61 /* = */ && length % 4 === 0))) return '{token}';
  // A token: in random text capitals and digits are followed by anything and runs of lowercase
  // are short (1.7 characters on average in base64); in words capitals start words, digits end
  // them (camelCase, `getV2Items`) and runs of lowercase are longer. Words in capitals
  // (`CART_ITEMS_V2`) change class rarely, random text at about every other character.
  const wordLike = lower > upper ? notWords === 0 || (2 * lower >= 5 * lowerRuns && notWords < 3) : 2 * changes < units - separators - 1;
  const token = long && letters > 0 && !wordLike;
  // Without a digit, only an email (above) or a token is not a literal.
  if (digits === 0) return token ? '{token}' : undefined;
  if (digits === length) return '{id}';
  if (length === 36 && isUuid(c, start)) return '{uuid}';
  if (length >= 10 && isDate(c, start, stop)) return '{date}';
  if (flags & HEX && length >= 8) return '{hex}';
  if (digits + letters === units && units === length) {
    // Long letters and digits with two digits or more that are not camelCase words (`getV2ItemsV3`).
    if (token || (length >= MIN_TOKEN_LENGTH && digits >= 2 && notWords > 0)) return '{token}';
    return codeLike(c, start, stop, digits, upper, lower, changes, lowerRuns) ? '{id}' : undefined;
  }
  if (digits + separators === length && (separators >= 2 || digits >= 6)) return '{id}';
  if (separators > 0 && hasIdPiece(c, start, stop)) return '{id}';
  return token ? '{token}' : undefined;
}

/**
 * Letters and digits `c[start, stop)` (at least one of each) that make a code rather than a
 * word: 5 or more digits (`user12345`); uppercase with 8 or more characters, or 6 or 7 unless
 * a word then a number (`0PUK6V6EV0`, `OLJCESPC7Z`, `FMVPWGJJ09`, not `SHA256`, `ISO8601`); lowercase with
 * 8 or more characters, 2 or more digits and 4 or more changes of class (`2d7djr4hhv`, not
 * `ubuntu2204`, `sha256sum`); mixed case with 8 or more characters, 2 or more digits, changing class at every
 * other one, in runs of lowercase shorter than 2 on average (`dQw4w9WgXcQ`, not `OAuth2Callback`
 * or `cartIdCart0`: words run longer). Never a version (`v2`, `v1beta1`).
 */
function codeLike(c: Uint8Array, start: number, stop: number, digits: number, upper: number, lower: number, changes: number, lowerRuns: number): boolean {
  const length = stop - start;
  if (isVersion(c, start, stop)) return false;
  if (digits >= 5) return true;
  if (lower === 0) return length >= 8 || (length >= 6 && !(changes === 1 && (KIND[c[start]!]! & CLASS) === UPPER));
  if (upper === 0) return length >= 8 && digits >= 2 && changes >= 4;
  return length >= 8 && digits >= 2 && 2 * changes >= length - 1 && lower < 2 * lowerRuns;
}

/** `v` then digits, then optionally letters and digits: `v1`, `V2`, `v1beta1`, `v2alpha`. */
function isVersion(c: Uint8Array, start: number, stop: number): boolean {
  if (c[start] !== 118 && c[start] !== 86) return false;
  let i = start + 1;
  const digitsFrom = i;
  while (i < stop && (KIND[c[i]!]! & CLASS) === DIGIT) i++;
  if (i === digitsFrom) return false;
  while (i < stop && (KIND[c[i]!]! & CLASS) === LOWER) i++;
  while (i < stop && (KIND[c[i]!]! & CLASS) === DIGIT) i++;
  return i === stop;
}

/** A piece between separators of `c[start, stop)` that is an id by itself: 5+ digits, 8+ hex digits with a digit, or a code. */
function hasIdPiece(c: Uint8Array, start: number, stop: number): boolean {
  let from = start;
  while (from < stop) {
    let to = from;
    let digits = 0;
    let upper = 0;
    let lower = 0;
    let changes = 0;
    let previous = 0;
    let lowerRuns = 0;
    let flags = HEX | TOKEN;
    for (; to < stop; to++) {
      const k = KIND[c[to]!]!;
      if (k & SEPARATOR) break;
      const cls = k & CLASS;
      if (cls === DIGIT) digits++;
      else if (cls === UPPER) upper++;
      else if (cls === LOWER) lower++;
      if (cls === LOWER && previous !== LOWER) lowerRuns++;
      if (to > from && cls !== previous) changes++;
      previous = cls;
      flags &= k;
    }
    const length = to - from;
    if (digits > 0 && digits + upper + lower === length) {
      if (digits === length ? length >= 5 : (flags & HEX && length >= 8) || codeLike(c, from, to, digits, upper, lower, changes, lowerRuns)) return true;
    }
    from = to + 1;
  }
  return false;
}

/** `eyJ`: the base64 of `{"`, how every JWT and most base64 JSON starts. */
function startsJwt(c: Uint8Array, start: number): boolean {
  return c[start] === 101 && c[start + 1] === 121 && c[start + 2] === 74;
}

/** `c[start, stop)` is `YYYY-MM-DD`, with month 01-12 and day 01-31, then nothing or `T`/`_` and a time (`10:00:00.123Z`, `10%3A00%3A00%2B01%3A00`). */
function isDate(c: Uint8Array, start: number, stop: number): boolean {
  for (let j = 0; j < DATE_DIGITS.length; j++) if ((KIND[c[start + DATE_DIGITS[j]!]!]! & CLASS) !== DIGIT) return false;
  if (c[start + 4] !== 45 || c[start + 7] !== 45) return false;
  const month = (c[start + 5]! - 48) * 10 + c[start + 6]! - 48;
  const day = (c[start + 8]! - 48) * 10 + c[start + 9]! - 48;
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (stop - start === 10) return true;
  const t = c[start + 10];
  if (t !== 84 && t !== 116 && t !== 95) return false;
  for (let i = start + 11; i < stop; i++) if (!TIME[c[i]!]) return false;
  return true;
}
const DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9];
/** Characters of a time after the date: digits, `: . + -`, `Z`, and the escapes `%3A` and `%2B`. */
const TIME = new Uint8Array(256);
for (const x of '0123456789:.+-Zz%AaBb') TIME[x.charCodeAt(0)] = 1;

/**
 * `c[start, stop)` is LOCAL@DOMAIN, the `@` (or `%40`) at `at`: a local part of letters, digits
 * and `. _ + - %`, and a domain of two or more labels of letters, digits and `-`, the last
 * with a letter.
 */
function isEmail(c: Uint8Array, start: number, stop: number, at: number): boolean {
  if (at === start) return false;
  for (let i = start; i < at; i++) if (!EMAIL_LOCAL[c[i]!]) return false;
  const from = c[at] === 64 ? at + 1 : at + 3;
  if (stop - from < 3) return false;
  let dots = 0;
  let labelStart = from;
  let letterInLabel = false;
  for (let i = from; i < stop; i++) {
    const x = c[i]!;
    if (x === 46) {
      if (i === labelStart) return false;
      dots++;
      labelStart = i + 1;
      letterInLabel = false;
      continue;
    }
    const cls = KIND[x]! & CLASS;
    if (cls === UPPER || cls === LOWER) letterInLabel = true;
    else if (cls !== DIGIT && x !== 45) return false;
  }
  return dots > 0 && labelStart < stop && letterInLabel;
}
const EMAIL_LOCAL = new Uint8Array(256);
for (let x = 0; x < 256; x++) if ((KIND[x]! & CLASS) !== OTHER) EMAIL_LOCAL[x] = 1;
for (const x of '._+-%') EMAIL_LOCAL[x.charCodeAt(0)] = 1;

/** `c[start, start + 36)` is 8-4-4-4-12 hex digits, either case. */
function isUuid(c: Uint8Array, start: number): boolean {
  for (let i = 0; i < 36; i++) {
    const x = c[start + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (x !== 45) return false;
    } else if (!(KIND[x]! & HEX)) return false;
  }
  return true;
}

/** No digit, brace, `@` or `;`, no segment as long as a token, and few enough segments in `c[start, end)`: nothing a rule could replace. */
function isPlain(c: Uint8Array, start: number, end: number): boolean {
  let segments = 0;
  let segStart = start;
  for (let i = start; i < end; i++) {
    const x = c[i]!;
    if ((x >= 48 && x <= 57) || x === 123 || x === 125 || x === 64 || x === 59) return false;
    if (x === 47) {
      if (i - segStart > MIN_TOKEN_LENGTH || ++segments > MAX_SEGMENTS) return false;
      segStart = i;
    }
  }
  return end - segStart <= MIN_TOKEN_LENGTH;
}

const PATH_END = 1;
/** Characters the first scan looks at: `?` and `#` end the path, `;` and `%` may start matrix parameters. */
const PATH_MARK = new Uint8Array(256);
PATH_MARK[63] = PATH_END;
PATH_MARK[35] = PATH_END;
PATH_MARK[59] = 2;
PATH_MARK[37] = 2;

/**
 * Matrix parameters start at `c[i]`: `;` (`/cart;jsessionid=…`), or `%3B` (`/cart%3Bjsessionid=…`),
 * which Envoy neither decodes nor strips and an application may decode before it splits.
 */
function isParameters(c: Uint8Array, i: number, end: number): boolean {
  return c[i] === 59 || (c[i] === 37 && i + 2 < end && c[i + 1] === 51 && (c[i + 2]! | 32) === 98);
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

/** The template of a raw request path; query string, fragment and matrix parameters are dropped. */
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

// One raw segment for each placeholder, which pathTemplate turns back into that placeholder.
const EXEMPLARS: Record<string, string> = {
  '{id}': '0',
  '{uuid}': '00000000-0000-4000-8000-000000000000',
  '{hex}': '0123456789abcdef0123',
  '{date}': '2000-01-01',
  '{email}': 'user@example.com',
  '{token}': 'eyJhbGciOiJub25lIn0.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  '/{more}': '/more/more',
};

/**
 * A raw path with the template of `raw` but none of its ids or tokens: what may be kept where
 * a raw path is needed later (a receiver's checkpoint of spans still waiting), so that the path
 * templates the same then. undefined when no such path is found (the caller drops the path).
 */
export function exemplarPath(raw: string): string | undefined {
  const template = pathTemplate(raw);
  const exemplar = template.replace(/\/\{more\}|\{(id|uuid|hex|date|email|token)\}/g, (p) => EXEMPLARS[p]!);
  return pathTemplate(exemplar) === template && !/\{|\}/.test(exemplar) ? exemplar : undefined;
}
