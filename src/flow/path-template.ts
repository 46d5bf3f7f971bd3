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
  if (DIGITS.test(segment)) return '{id}';
  if (segment.length === 36 && UUID.test(segment)) return '{uuid}';
  if (HEX.test(segment) && /\d/.test(segment)) return '{hex}';
  if (segment.length > MAX_SEGMENT_LENGTH) return '{token}';
  if (TOKEN_CHARS.test(segment) && /\d/.test(segment) && /[A-Za-z]/.test(segment)) return '{token}';
  return undefined;
}

/** The template of a raw request path; query string and fragment are dropped. */
export function pathTemplate(raw: string): string {
  let end = raw.length;
  const q = raw.indexOf('?');
  if (q !== -1) end = q;
  const h = raw.indexOf('#');
  if (h !== -1 && h < end) end = h;
  const path = end === raw.length ? raw : raw.slice(0, end);
  if (path === '' || path[0] !== '/') return path === '' ? '/' : '{invalid}';
  const parts = path.split('/');
  const out: string[] = [];
  // parts[0] is the empty string before the leading slash.
  for (let i = 1; i < parts.length; i++) {
    if (out.length === MAX_SEGMENTS) {
      out.push('{more}');
      break;
    }
    const seg = parts[i]!;
    const ph = placeholderOf(seg);
    out.push(ph ?? escapeBraces(seg));
  }
  return '/' + out.join('/');
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
