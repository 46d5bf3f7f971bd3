// Paths are templated before anything keeps them: raw paths carry ids and tokens that
// (a) must never reach a policy, report or PR (design.md §6) and (b) make the number of
// distinct paths grow with the number of requests instead of the number of endpoints.
//
// A template keeps literal segments and replaces id-like ones with a placeholder:
//   /api/v1/orders/123?token=abc  ->  /api/v1/orders/{id}
//   /users/3f2a…-uuid/avatar      ->  /users/{uuid}/avatar
// `{` and `}` are not valid unescaped in an HTTP path (RFC 3986), so a literal brace in a
// raw path is percent-encoded and a placeholder can never be confused with a real segment.

export const MAX_SEGMENTS = 16;
export const MAX_SEGMENT_LENGTH = 64;

const DIGITS = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{8,}$/i;
// Long mixed letter+digit runs (base64url tokens, opaque ids, session keys).
const TOKEN_CHARS = /^[A-Za-z0-9_\-.~=+%]{16,}$/;

export type Placeholder = '{id}' | '{uuid}' | '{hex}' | '{token}';

/** The placeholder for an id-like segment, or undefined when the segment is a literal. */
export function placeholderOf(segment: string): Placeholder | undefined {
  // Most segments are words: no digit means not an id (UUIDs, hex and tokens all have one
  // by the checks below), and a scan is far cheaper than the expressions (hot path).
  if (segment.length <= MAX_SEGMENT_LENGTH && !hasDigit(segment)) return undefined;
  if (DIGITS.test(segment)) return '{id}';
  if (segment.length === 36 && UUID.test(segment)) return '{uuid}';
  if (HEX.test(segment)) return '{hex}';
  if (segment.length > MAX_SEGMENT_LENGTH) return '{token}';
  if (TOKEN_CHARS.test(segment) && /[A-Za-z]/.test(segment)) return '{token}';
  return undefined;
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

function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
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
  let out = '';
  let segments = 0;
  let start = 1;
  for (;;) {
    let stop = raw.indexOf('/', start);
    if (stop === -1 || stop > end) stop = end;
    if (segments === MAX_SEGMENTS) {
      out += '/{more}';
      break;
    }
    const seg = raw.slice(start, stop);
    out += '/' + (placeholderOf(seg) ?? escapeBraces(seg));
    segments++;
    if (stop >= end) break;
    start = stop + 1;
  }
  return out;
}

function escapeBraces(seg: string): string {
  return seg.indexOf('{') === -1 && seg.indexOf('}') === -1
    ? seg
    : seg.replace(/\{/g, '%7B').replace(/\}/g, '%7D');
}

/**
 * A copy of `s` that shares no memory with the string it was cut from. V8 keeps a whole
 * read buffer alive behind every substring of it; anything retained past one record
 * (graph keys, path sets) must go through here.
 */
export function detached(s: string): string {
  return (' ' + s).slice(1);
}
