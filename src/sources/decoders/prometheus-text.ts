// Prometheus exposition files, one line at a time: text format 0.0.4 (a sidecar's
// `curl localhost:15090/stats/prometheus`, a federation dump with a millisecond timestamp after
// each value) and OpenMetrics text 1.0 (ztunnel's `:15020/metrics`, ending in `# EOF`):
//
//   # TYPE istio_requests_total counter
//   istio_requests_total{reporter="destination",source_workload="web",destination_version="",response_code="200"} 310
//   istio_requests_total{reporter="source",response_code="503"} 7 1733390400000        (federation: ms)
//   istio_requests_total{response_code="200",reporter="destination"} 25 1733390400.5 # {trace_id="ab"} 1   (OpenMetrics: seconds)
//   # EOF
//
// What is read as the specifications and prometheus/common's expfmt read it:
//   - names `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels without `:`), or quoted (`{"my.metric","a.b"="v"}`);
//   - label values escape `\\`, `\"` and `\n` only; any other escape is a reject, control
//     characters and any UTF-8 are data; a trailing comma is allowed; `__name__` and a
//     repeated label name are rejects;
//   - values as Go's ParseFloat without hex or `_` (expfmt's rule): decimals, `NaN`, `±Inf`
//     (`inf`, `infinity`, any case); a finite number too large for a double is a reject;
//   - blanks and tabs between tokens, leading and trailing, a `\r` before the newline, a byte
//     order mark before the first line.
// Timestamps are integer milliseconds in text 0.0.4 and seconds (a decimal) in OpenMetrics; which
// one a file is is given or learned from the file (ExpositionState). Exemplars (` # {…} v`) are
// OpenMetrics only and ignored; a malformed one is counted in the state, never fatal to its sample.
//
// A hand-written scanner: federation dumps hold millions of series, and label values hold
// escapes, so neither a regular expression per line nor a split on `,` would do.

import type { FileLocation } from '../../errors.js';
import { excerpt } from '../../text.js';
import type { MetricSample } from './metric-sample.js';
import { ok, reject, type Decoded } from './result.js';

export type ExpositionFormat = 'text' | 'openmetrics';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'unknown' | 'gaugehistogram' | 'stateset' | 'info';

/** Types OpenMetrics added: a file declaring one is OpenMetrics. */
const OPENMETRICS_TYPES: ReadonlySet<string> = new Set(['unknown', 'gaugehistogram', 'stateset', 'info']);
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', ...OPENMETRICS_TYPES]);

/**
 * How many `# TYPE` declarations a state keeps, so that memory stays bounded whatever a file
 * declares (real expositions declare tens to hundreds of families).
 */
export const MAX_FAMILIES = 65_536;

/** What one file has declared so far; one state per file, passed to every line in order. */
export interface ExpositionState {
  /** The file's format once known: given by the caller, or learned from the file (see `createExpositionState`). */
  format: ExpositionFormat | undefined;
  /** Line of `# EOF`, once seen: every line after it is a reject. */
  eofLine: number | undefined;
  /** The last line number passed in. */
  lastLine: number;
  /** `# TYPE` per family name, at most MAX_FAMILIES of them. */
  readonly types: Map<string, MetricType>;
  /** Exemplars that were not well formed (their samples were read all the same), and the first one's line. */
  malformedExemplars: number;
  firstMalformedExemplarLine: number | undefined;
}

/**
 * A state for one file. `auto` learns the format from the file: `# UNIT`, `# EOF`, an
 * OpenMetrics-only type, an exemplar, a decimal timestamp or a counter family's `_total` sample
 * make it OpenMetrics; an integer timestamp seen first makes it text 0.0.4 (the format Prometheus
 * falls back to). An OpenMetrics sign in a file read as text is a reject (`exposition-format-conflict`),
 * since its timestamps would have been read a thousand times too large.
 */
export function createExpositionState(format: ExpositionFormat | 'auto' = 'auto'): ExpositionState {
  return {
    format: format === 'auto' ? undefined : format,
    eofLine: undefined,
    lastLine: 0,
    types: new Map(),
    malformedExemplars: 0,
    firstMalformedExemplarLine: undefined,
  };
}

/** Suffixes each type's samples carry after the family name. */
const SUFFIXES: Readonly<Partial<Record<MetricType, readonly string[]>>> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  info: ['_info'],
};

/** The declared type of the family a sample name belongs to (`istio_requests_total` → its counter), if any. */
export function familyType(state: ExpositionState, name: string): MetricType | undefined {
  const own = state.types.get(name);
  if (own !== undefined) return own;
  const cut = name.lastIndexOf('_');
  if (cut <= 0) return undefined;
  const type = state.types.get(name.slice(0, cut));
  return type !== undefined && SUFFIXES[type]?.includes(name.slice(cut)) === true ? type : undefined;
}

/**
 * One line of an exposition (without its newline; a trailing `\r` is ignored): a sample, a
 * reject, or undefined for a line that carries no sample (blank, comment, `# HELP`, `# TYPE`,
 * `# UNIT`, `# EOF`). A sample's labels are a null-prototype record. Never throws.
 */
export function decodeExpositionLine(text: string, file: string, line: number, state: ExpositionState): Decoded<MetricSample> | undefined {
  state.lastLine = line;
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === CR) end--;
  if (state.eofLine !== undefined) {
    return reject('exposition-after-eof', `a line after "# EOF" (line ${state.eofLine}), which ends an OpenMetrics exposition: ${excerpt(text.slice(0, end))}`);
  }
  // A byte order mark, as Windows tools write one before the first line.
  const start = skipBlanks(text, line === 1 && text.charCodeAt(0) === BOM ? 1 : 0, end);
  if (start === end) return undefined;
  if (text.charCodeAt(start) === HASH) return metadata(text, start + 1, end, line, state);
  return sample(new Scanner(text, end), start, { file, line }, state);
}

/** What ends a file: a reject when an OpenMetrics exposition lacks its `# EOF` (it was probably cut short), else undefined. */
export function endOfExposition(state: ExpositionState): Decoded<never> | undefined {
  if (state.format !== 'openmetrics' || state.eofLine !== undefined) return undefined;
  return reject(
    'exposition-missing-eof',
    `the file ends after line ${state.lastLine} without "# EOF", which ends every OpenMetrics exposition: it may have been cut short`,
  );
}

const TAB = 9;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const EQUALS = 61;
const BACKSLASH = 92;
const OPEN = 123;
const CLOSE = 125;
const BOM = 0xfeff;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function skipBlanks(s: string, i: number, end: number): number {
  while (i < end && isBlank(s.charCodeAt(i))) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isNameStart(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === COLON);
}

/** End of the legacy name starting at `i` (metric names allow `:`, label names do not); `i` if none. */
function scanName(s: string, i: number, end: number, colon: boolean): number {
  if (i >= end || !isNameStart(s.charCodeAt(i), colon)) return i;
  i++;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (!isNameStart(c, colon) && !isDigit(c)) break;
    i++;
  }
  return i;
}

function tokenEnd(s: string, i: number, end: number): number {
  while (i < end && !isBlank(s.charCodeAt(i))) i++;
  return i;
}

/** `# HELP`, `# TYPE`, `# UNIT`, `# EOF` or a comment; `i` is just after the `#`. */
function metadata(s: string, i: number, end: number, line: number, state: ExpositionState): Decoded<MetricSample> | undefined {
  i = skipBlanks(s, i, end);
  const k = tokenEnd(s, i, end);
  const keyword = s.slice(i, k);
  if (keyword === 'EOF') {
    if (skipBlanks(s, k, end) !== end) return undefined; // `# EOF something` is a comment
    state.eofLine = line;
    return openMetricsSign(state, '"# EOF"');
  }
  if (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT') return undefined;
  i = skipBlanks(s, k, end);
  if (i === end) return undefined; // expfmt lets a bare `# HELP` pass as a comment
  const scanner = new Scanner(s, end);
  let name: string;
  let n: number;
  if (s.charCodeAt(i) === QUOTE) {
    n = scanner.quoted(i + 1);
    if (n < 0) return scanner.failure();
    name = scanner.value;
  } else {
    n = scanName(s, i, end, true);
    name = s.slice(i, n);
  }
  if (name === '' || (n < end && !isBlank(s.charCodeAt(n)))) {
    return reject('exposition-bad-metadata', `"# ${keyword}" names no valid metric family: ${excerpt(s.slice(i, end))}`);
  }
  if (keyword === 'HELP') return undefined;
  if (keyword === 'UNIT') return openMetricsSign(state, '"# UNIT"');
  // TYPE: exactly one more token.
  i = skipBlanks(s, n, end);
  if (i === end) return undefined; // as expfmt: no type, nothing declared
  const t = tokenEnd(s, i, end);
  const type = s.slice(i, t).toLowerCase();
  if (!TYPES.has(type) || skipBlanks(s, t, end) !== end) {
    return reject('exposition-bad-metadata', `"# TYPE ${excerpt(name)}" declares an unknown type ${excerpt(s.slice(i, end))}: one of ${[...TYPES].join(', ')}`);
  }
  if (!state.types.has(name)) {
    if (state.types.size >= MAX_FAMILIES) {
      return reject('exposition-too-many-families', `more than ${MAX_FAMILIES} "# TYPE" declarations in one file: ${excerpt(name)} and later ones are not kept`);
    }
    state.types.set(name, type as MetricType);
  }
  return OPENMETRICS_TYPES.has(type) ? openMetricsSign(state, `the type ${type}`) : undefined;
}

/** Something only OpenMetrics has, met on a line that carries no sample. */
function openMetricsSign(state: ExpositionState, what: string): Decoded<MetricSample> | undefined {
  if (state.format === undefined) state.format = 'openmetrics';
  if (state.format === 'openmetrics') return undefined;
  return reject('exposition-format-conflict', `${what} is OpenMetrics, but this file is read as text format 0.0.4${TIMESTAMPS_NOTE}`);
}

const TIMESTAMPS_NOTE =
  ' (given so, or because an integer timestamp came first): its timestamps were read as milliseconds, where OpenMetrics writes seconds. Name the format of the file';

/** A reason and a detail, as a reject carries them. */
interface Failure {
  reason: string;
  detail: string;
}

/** One line's characters up to `end`, and the last quoted string read. */
class Scanner {
  value = '';
  private _failure: Failure | undefined;
  /** Position of the next backslash at or after the last search, so that finding escapes stays linear in the line. */
  private _backslash = -1;

  constructor(
    readonly s: string,
    readonly end: number,
  ) {}

  fail(reason: string, detail: string): -1 {
    this._failure = { reason, detail };
    return -1;
  }

  failure(): Decoded<MetricSample> {
    const f = this._failure ?? { reason: 'exposition-bad-line', detail: excerpt(this.s) };
    return reject(f.reason, f.detail);
  }

  /** Reads the quoted string whose first character is at `i` (just after `"`) into `value`; returns the index after its closing quote, or -1. */
  quoted(i: number): number {
    const { s, end } = this;
    const close = s.indexOf('"', i);
    if (this._backslash < i && this._backslash !== -2) {
      this._backslash = s.indexOf('\\', i);
      if (this._backslash === -1 || this._backslash >= end) this._backslash = -2; // none left on the line
    }
    if (close !== -1 && close < end && (this._backslash === -2 || close < this._backslash)) {
      this.value = s.slice(i, close);
      return close + 1;
    }
    // Escapes: copy the runs between them.
    let out = '';
    let from = i;
    let j = i;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === QUOTE) {
        this.value = out + s.slice(from, j);
        this._backslash = -1;
        return j + 1;
      }
      if (c === BACKSLASH) {
        if (j + 1 >= end) break;
        const e = s.charCodeAt(j + 1);
        out += s.slice(from, j);
        if (e === BACKSLASH) out += '\\';
        else if (e === QUOTE) out += '"';
        else if (e === 110) out += '\n';
        else {
          return this.fail(
            'exposition-bad-escape',
            `${excerpt(s.slice(j, j + 2))} in a quoted string: only \\\\, \\" and \\n are escapes (near ${excerpt(s.slice(Math.max(0, j - 20), j + 20))})`,
          );
        }
        j += 2;
        from = j;
        continue;
      }
      j++;
    }
    return this.fail('exposition-unterminated', `the line ends inside a quoted string (cut short?): ${excerpt(s.slice(Math.max(i - 1, end - 40), end))}`);
  }
}

function sample(sc: Scanner, i: number, location: FileLocation, state: ExpositionState): Decoded<MetricSample> {
  const { s, end } = sc;
  let name: string | undefined;
  if (s.charCodeAt(i) !== OPEN) {
    const n = scanName(s, i, end, true);
    if (n === i || (n < end && !isBlank(s.charCodeAt(n)) && s.charCodeAt(n) !== OPEN)) {
      return reject('exposition-bad-name', `a sample starts with a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, or quoted inside the braces): ${excerpt(s.slice(i, end))}`);
    }
    name = s.slice(i, n);
    i = skipBlanks(s, n, end);
  }
  // Null prototype: `__proto__` and `constructor` are valid label names.
  const labels = Object.create(null) as Record<string, string>;
  if (i < end && s.charCodeAt(i) === OPEN) {
    const after = labelSet(sc, i + 1, labels, name === undefined);
    if (after < 0) return sc.failure();
    if (name === undefined) {
      name = sc.value;
      if (name === '') return reject('exposition-bad-name', `a sample has no metric name: ${excerpt(s.slice(i, end))}`);
    }
    i = skipBlanks(s, after, end);
  }
  if (name === undefined) return reject('exposition-bad-name', `a sample has no metric name: ${excerpt(s.slice(i, end))}`);

  const v = tokenEnd(s, i, end);
  if (v === i) return reject('exposition-bad-value', `${excerpt(name)} has no value after its name and labels`);
  const value = parseFloatToken(s, i, v);
  if (value === undefined) {
    return reject('exposition-bad-value', `${excerpt(s.slice(i, v))} is not a value: a number as Go's ParseFloat reads it, NaN, +Inf or -Inf (for ${excerpt(name)})`);
  }
  if (state.format === undefined && name.endsWith('_total') && !state.types.has(name) && state.types.get(name.slice(0, -6)) === 'counter') {
    state.format = 'openmetrics'; // a counter family `x` whose sample is `x_total` is written so only by OpenMetrics
  }
  const out: MetricSample = { name, labels, value, location };
  i = skipBlanks(s, v, end);
  if (i < end && s.charCodeAt(i) !== HASH) {
    const t = tokenEnd(s, i, end);
    const timestamp = readTimestamp(s, i, t, state);
    if (typeof timestamp !== 'number') return reject(timestamp.reason, `${timestamp.detail} (for ${excerpt(name)})`);
    out.timestamp = timestamp;
    i = skipBlanks(s, t, end);
  }
  if (i === end) return ok(out);
  if (s.charCodeAt(i) !== HASH) return reject('exposition-trailing-text', `text after the timestamp of ${excerpt(name)}: ${excerpt(s.slice(i, end))}`);
  if (state.format === undefined) state.format = 'openmetrics';
  if (state.format !== 'openmetrics') {
    return reject('exposition-trailing-text', `an exemplar (" # {…}") after the value of ${excerpt(name)} is OpenMetrics, but this file is read as text format 0.0.4${TIMESTAMPS_NOTE}`);
  }
  if (!exemplar(sc, i + 1)) {
    state.malformedExemplars++;
    state.firstMalformedExemplarLine ??= location.line;
  }
  return ok(out);
}

/**
 * Reads a label set from just after its `{` into `labels`; returns the index after `}`, or -1.
 * With `nameInside`, a first entry without `=` is the metric name, left in `sc.value`.
 */
function labelSet(sc: Scanner, i: number, labels: Record<string, string>, nameInside: boolean): number {
  const { s, end } = sc;
  let first = true;
  sc.value = '';
  let metricName = '';
  for (;;) {
    i = skipBlanks(s, i, end);
    if (i >= end) return sc.fail('exposition-unterminated', `the line ends inside the labels (cut short?): ${excerpt(s.slice(Math.max(0, end - 40), end))}`);
    let c = s.charCodeAt(i);
    if (c === CLOSE) break;
    let label: string;
    const at = i;
    if (c === QUOTE) {
      i = sc.quoted(i + 1);
      if (i < 0) return -1;
      label = sc.value;
    } else {
      const n = scanName(s, i, end, false);
      if (n === i) return sc.fail('exposition-bad-label', `a label name ([a-zA-Z_][a-zA-Z0-9_]*, or quoted) expected at ${excerpt(s.slice(i, i + 40))}`);
      label = s.slice(i, n);
      i = n;
    }
    i = skipBlanks(s, i, end);
    c = i < end ? s.charCodeAt(i) : -1;
    if (c !== EQUALS) {
      if (first && nameInside && (c === COMMA || c === CLOSE)) {
        metricName = label; // `{"my.metric", …}`
        first = false;
        if (c === COMMA) i++;
        continue;
      }
      if (c === -1) return sc.fail('exposition-unterminated', `the line ends after the label name ${excerpt(label)} (cut short?)`);
      return sc.fail('exposition-bad-label', `"=" expected after the label name ${excerpt(label)}, not ${excerpt(s.slice(i, i + 20))}`);
    }
    first = false;
    if (label === '') return sc.fail('exposition-bad-label', `an empty label name at ${excerpt(s.slice(at, at + 40))}`);
    if (label === '__name__') return sc.fail('exposition-bad-label', `the label name "__name__" is reserved for the metric name`);
    i = skipBlanks(s, i + 1, end);
    if (i >= end) return sc.fail('exposition-unterminated', `the line ends after ${excerpt(label + '=')} (cut short?)`);
    if (s.charCodeAt(i) !== QUOTE) return sc.fail('exposition-bad-label', `the value of ${excerpt(label)} is not quoted: ${excerpt(s.slice(i, i + 40))}`);
    i = sc.quoted(i + 1);
    if (i < 0) return -1;
    if (labels[label] !== undefined) return sc.fail('exposition-duplicate-label', `the label ${excerpt(label)} appears twice`);
    labels[label] = sc.value;
    i = skipBlanks(s, i, end);
    c = i < end ? s.charCodeAt(i) : -1;
    if (c === COMMA) i++;
    else if (c === CLOSE) break;
    else if (c === -1) return sc.fail('exposition-unterminated', `the line ends after the value of ${excerpt(label)} (cut short?)`);
    else return sc.fail('exposition-bad-label', `"," or "}" expected after the value of ${excerpt(label)}, not ${excerpt(s.slice(i, i + 20))}`);
  }
  sc.value = metricName;
  return i + 1;
}

/** An exemplar after ` #`: ` {labels} value [timestamp]`. True when well formed; never fatal. */
function exemplar(sc: Scanner, i: number): boolean {
  const { s, end } = sc;
  const open = skipBlanks(s, i, end);
  if (open === i || open >= end || s.charCodeAt(open) !== OPEN) return false;
  const after = labelSet(sc, open + 1, Object.create(null) as Record<string, string>, false);
  if (after < 0) return false;
  i = skipBlanks(s, after, end);
  let t = tokenEnd(s, i, end);
  if (t === i || after === i || parseFloatToken(s, i, t) === undefined) return false;
  i = skipBlanks(s, t, end);
  if (i === end) return true;
  t = tokenEnd(s, i, end);
  return openMetricsSeconds(s, i, t) !== undefined && skipBlanks(s, t, end) === end;
}

/**
 * A value as expfmt reads it: Go's strconv.ParseFloat without hex floats or `_`. Number()
 * alone would also take hex, binary, `Infinity` and empty text, so the syntax is checked first.
 */
function parseFloatToken(s: string, i: number, end: number): number | undefined {
  let k = i;
  let negative = false;
  const c0 = s.charCodeAt(k);
  if (c0 === PLUS || c0 === MINUS) {
    negative = c0 === MINUS;
    k++;
  }
  if (k >= end) return undefined;
  const c = s.charCodeAt(k);
  if (c === 105 || c === 73) {
    // i, I: inf or infinity, any case
    const word = s.slice(k, end).toLowerCase();
    if (word === 'inf' || word === 'infinity') return negative ? -Infinity : Infinity;
    return undefined;
  }
  if (c === 110 || c === 78) return k === i && s.slice(k, end).toLowerCase() === 'nan' ? NaN : undefined; // Go takes no sign before NaN
  const e = decimalEnd(s, k, end);
  if (e !== end) return undefined;
  const v = Number(s.slice(i, end));
  return Number.isFinite(v) ? v : undefined; // Go: out of range
}

/** The end of `digits[.digits][e[±]digits]` from `k` (at least one digit in the mantissa), or -1. */
function decimalEnd(s: string, k: number, end: number): number {
  let digits = 0;
  while (k < end && isDigit(s.charCodeAt(k))) {
    k++;
    digits++;
  }
  if (k < end && s.charCodeAt(k) === DOT) {
    k++;
    while (k < end && isDigit(s.charCodeAt(k))) {
      k++;
      digits++;
    }
  }
  if (digits === 0) return -1;
  if (k < end && (s.charCodeAt(k) | 32) === 101) {
    k++;
    if (k < end && (s.charCodeAt(k) === PLUS || s.charCodeAt(k) === MINUS)) k++;
    const first = k;
    while (k < end && isDigit(s.charCodeAt(k))) k++;
    if (k === first) return -1;
  }
  return k;
}

/** Epoch milliseconds of OpenMetrics seconds (a decimal, no NaN or Inf), exact to the nearest double: the exponent is shifted by 3, not multiplied. */
function openMetricsSeconds(s: string, i: number, end: number): number | undefined {
  let k = i;
  const c = s.charCodeAt(k);
  if (c === PLUS || c === MINUS) k++;
  if (decimalEnd(s, k, end) !== end) return undefined;
  const text = s.slice(i, end);
  let e = text.indexOf('e');
  if (e === -1) e = text.indexOf('E');
  const ms = e === -1 ? Number(text + 'e3') : Number(text.slice(0, e) + 'e' + String(Number(text.slice(e + 1)) + 3));
  return Number.isFinite(ms) ? ms : undefined;
}

function readTimestamp(s: string, i: number, end: number, state: ExpositionState): number | Failure {
  let k = i;
  const c = s.charCodeAt(k);
  if (c === PLUS || c === MINUS) k++;
  const first = k;
  while (k < end && isDigit(s.charCodeAt(k))) k++;
  const integer = k === end && k > first;
  const seconds = integer && state.format !== 'openmetrics' ? undefined : openMetricsSeconds(s, i, end);
  // Only a timestamp that is one says which format the file is; garbage says nothing.
  if (state.format === undefined) state.format = integer ? 'text' : seconds !== undefined ? 'openmetrics' : undefined;
  if (state.format === 'openmetrics') {
    if (seconds !== undefined) return seconds;
    return { reason: 'exposition-bad-timestamp', detail: `${excerpt(s.slice(i, end))} is not a timestamp: OpenMetrics writes seconds as a decimal number` };
  }
  if (!integer) {
    const hint = seconds !== undefined ? ' (a decimal one is OpenMetrics: name the format of the file)' : '';
    return { reason: 'exposition-bad-timestamp', detail: `${excerpt(s.slice(i, end))} is not a timestamp: text format 0.0.4 writes integer milliseconds${hint}` };
  }
  const ms = Number(s.slice(i, end));
  if (!Number.isSafeInteger(ms)) return { reason: 'exposition-bad-timestamp', detail: `the timestamp ${excerpt(s.slice(i, end))} is out of range` };
  return ms;
}
