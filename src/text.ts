// Names and excerpts in ztmap's human-facing outputs come from telemetry and the inventory,
// which are untrusted (docs/architecture.md, "Untrusted input"). Two helpers, used by every writer a person reads:
//
// - `printable`: before a name reaches a terminal, a YAML comment, Markdown or JSON meant for
//   people (review.json, verification.json's messages), every character that could hide or
//   reorder text is escaped visibly as `\uXXXX`: C0 and C1 controls (ANSI escape sequences
//   start with ESC or CSI), DEL, line and paragraph separators, bidirectional marks, embeddings,
//   overrides and isolates (U+202A–U+202E, U+2066–U+2069: "Trojan Source"), zero-width and
//   other invisible characters, and lone surrogates. Everything else passes as it is; a
//   backslash is not doubled, so the output is for reading, not for parsing back.
//   Machine outputs (graph.json, nodes.csv, edges.csv) stay lossless: JSON.stringify and the
//   CSV writer escape what their formats need, and a consumer reads the data as it was.
// - `maskSecrets` / `excerpt`: wherever a message quotes an input line or field (a rejected
//   line on stderr), token-like substrings are replaced by `***` first.

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]|[\ud800-\udfff]/gu;

const hex4 = (c: string) => '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');

/** Any character outside printable ASCII: every character UNPRINTABLE matches is one. */
const NOT_ASCII = /[^\x20-\x7e]/;

/** `s` with every control, bidirectional, invisible or lone-surrogate character escaped visibly as `\uXXXX`. */
export function printable(s: string): string {
  // Names are nearly always plain ASCII: a scan without the Unicode-aware pattern, and `s` itself back.
  return NOT_ASCII.test(s) ? s.replace(UNPRINTABLE, hex4) : s;
}

/** `printable` line by line: the line breaks of a multi-line message (a stack trace) are kept. */
export function printableLines(s: string): string {
  return s.split('\n').map(printable).join('\n');
}

/**
 * `value` with every string in it (keys too) through `printable`: for JSON meant for people.
 * A part with nothing to escape is returned as it is, not copied (a 5,000-workload review was
 * copied whole, for nearly no change): neither the result nor `value` is to be changed after.
 */
export function printableDeep<T>(value: T): T {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) return printableArray(value) as T;
  if (value !== null && typeof value === 'object') return printableObject(value as Record<string, unknown>) as T;
  return value;
}

/** `items` through printableDeep: the same array when no item changed, else a copy from the first change on. */
function printableArray(items: readonly unknown[]): readonly unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const v = printableDeep(items[i]);
    if (out === undefined && v !== items[i]) out = items.slice(0, i);
    out?.push(v);
  }
  return out ?? items;
}

/** `o` through printableDeep: the same object when no key or value changed, else a copy in the same key order. */
function printableObject(o: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const pk = printable(k);
    const v = printableDeep(o[k]);
    if (out === undefined && (pk !== k || v !== o[k])) out = copyOfKeys(o, keys, i);
    if (out !== undefined) out[pk] = v;
  }
  return out ?? o;
}

/** A new object with the first `n` of `keys` of `o` (unchanged ones), in order. */
function copyOfKeys(o: Record<string, unknown>, keys: readonly string[], n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) out[keys[i]!] = o[keys[i]!];
  return out;
}

const MASK = '***';

// Each rule keeps what tells a reader what the text was (the scheme, the parameter's name) and
// masks the value. Order matters: schemes before `name: value`, so `Authorization: Bearer X`
// loses X whichever rule reaches it first.
/** `Authorization: Bearer …`, `Basic …`: a credential after an HTTP auth scheme. */
const SCHEME = /\b(Bearer|Basic|Digest|Negotiate|NTLM|Token|ApiKey|AWS4-HMAC-SHA256)([ \t]+)(?![=:])[^\s"'\\,;]+/gi;
/** Cookies: every pair after `Cookie:` / `Set-Cookie:` up to the end of a quoted or plain line. */
const COOKIE = /\b((?:set-)?cookie)("?[ \t]*[:=][ \t]*"?)[^"\\\r\n]+/gi;
/** A JWT or base64 JSON (`eyJ` is the base64 of `{"`), with its dot-separated parts. */
const JWT = /\beyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)*/g;
/** `name=value`, `name: value`, `"name": "value"` where the name says it holds a secret. */
const KEY_VALUE =
  /\b([A-Za-z0-9_.-]*?(?:key|token|passw(?:or)?d|pwd|pass|secret|session(?:[_-]?id)?|sid|auth|authorization|credentials?|signature|sig|otp|nonce)(?:[_-]?id)?)("?[ \t]*[=:][ \t]*"?)(?!\*\*\*|(?:Bearer|Basic|Digest|Negotiate|NTLM|Token|ApiKey)[ \t])([^\s"'\\&;,}\]]+)/gi;
/** A run of 16 or more hex digits (keys, digests, session ids). */
const HEX_RUN = /(?<![A-Za-z0-9+/_-])[0-9a-fA-F]{16,}(?![A-Za-z0-9+/_-])/g;
/** A run of base64 or base64url characters of 20 or more, judged by `opaque`. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{20,}={0,2}/g;

/**
 * A base64 run that is random rather than words: mixed case with a digit, and either 32 or more
 * characters, or runs of lowercase letters shorter than 2.5 on average (random base64 runs
 * about 1.7; words and camelCase run longer: `getV2ItemsForCustomer`). Pod names, cluster names
 * and paths are lowercase or split by `.`, `|` and `:`, and are kept.
 */
function opaque(run: string): boolean {
  let digits = 0;
  let upper = 0;
  let lower = 0;
  let lowerRuns = 0;
  let previousLower = false;
  for (let i = 0; i < run.length; i++) {
    const x = run.charCodeAt(i);
    const isLower = x >= 97 && x <= 122;
    if (x >= 48 && x <= 57) digits++;
    else if (x >= 65 && x <= 90) upper++;
    else if (isLower) {
      lower++;
      if (!previousLower) lowerRuns++;
    }
    previousLower = isLower;
  }
  if (digits === 0 || upper === 0 || lower === 0) return false;
  return run.length >= 32 || 2 * lower < 5 * lowerRuns;
}

/**
 * `s` with token-like substrings replaced by `***`: credentials after `Bearer`/`Basic`/…,
 * cookies, JWTs (`eyJ…`), values of `key=`, `token=`, `password=`, `secret=`, `session=`-style
 * parameters and headers, runs of 16+ hex digits, and long random base64 runs.
 */
export function maskSecrets(s: string): string {
  return s
    .replace(SCHEME, (_m, scheme: string, gap: string) => scheme + gap + MASK)
    .replace(COOKIE, (_m, name: string, sep: string) => name + sep + MASK)
    .replace(JWT, MASK)
    .replace(KEY_VALUE, (_m, name: string, sep: string) => name + sep + MASK)
    .replace(HEX_RUN, MASK)
    .replace(BASE64_RUN, (run) => (opaque(run) ? MASK : run));
}

/**
 * How a message quotes an input line or field: secrets masked (on a little more than is shown,
 * so a secret cut at the edge is still recognised by its shape), at most `max` characters,
 * JSON-quoted, and printable.
 */
export function excerpt(text: string, max = 60): string {
  return printable(JSON.stringify(maskSecrets(text.slice(0, max + 256)).slice(0, max)));
}
