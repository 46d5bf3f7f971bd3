// A writer of Prometheus exposition text for tests, written from the specifications (not from
// the decoder): text format 0.0.4 and OpenMetrics 1.0, escaping label values and quoting names
// that are not legacy names.

export type Format = 'text' | 'openmetrics';

export interface SampleToWrite {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Epoch milliseconds, an integer. */
  timestamp?: number;
}

const LEGACY_METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `\` → `\\`, `"` → `\"`, newline → `\n`: the three escapes both formats define. */
function escapeString(s: string): string {
  return s.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Object.is(v, -0) ? '-0' : String(v);
}

/** Integer milliseconds as text 0.0.4 writes them, or as OpenMetrics seconds (`1733390400.5` for …500). */
function formatTimestamp(ms: number, format: Format): string {
  if (format === 'text') return String(ms);
  const sign = ms < 0 ? '-' : '';
  const digits = String(Math.abs(ms)).padStart(4, '0');
  return `${sign}${digits.slice(0, -3)}.${digits.slice(-3)}`;
}

/** One sample line (no newline); `blanks` is what separates tokens (a space, or runs of blanks and tabs in text 0.0.4). */
export function sampleLine(sample: SampleToWrite, format: Format, blanks = ' '): string {
  const pairs = Object.entries(sample.labels).map(([k, v]) => `${LEGACY_LABEL.test(k) ? k : `"${escapeString(k)}"`}="${escapeString(v)}"`);
  let head: string;
  if (LEGACY_METRIC.test(sample.name)) head = pairs.length === 0 ? sample.name : `${sample.name}{${pairs.join(',')}}`;
  else head = `{${[`"${escapeString(sample.name)}"`, ...pairs].join(',')}}`;
  let line = head + blanks + formatValue(sample.value);
  if (sample.timestamp !== undefined) line += blanks + formatTimestamp(sample.timestamp, format);
  return line;
}

/**
 * A whole exposition: each run of samples of one name under a `# TYPE` (untyped or unknown,
 * as a federation dump declares them), and `# EOF` at the end of OpenMetrics.
 */
export function exposition(samples: readonly SampleToWrite[], format: Format, newline = '\n'): string {
  const lines: string[] = [];
  let previous: string | undefined;
  for (const s of samples) {
    if (s.name !== previous && LEGACY_METRIC.test(s.name)) lines.push(`# TYPE ${s.name} ${format === 'text' ? 'untyped' : 'unknown'}`);
    previous = s.name;
    lines.push(sampleLine(s, format));
  }
  if (format === 'openmetrics') lines.push('# EOF');
  return lines.map((l) => l + newline).join('');
}
