// The window a live source is asked about: `--last 7d`, or `--from`/`--to` as RFC 3339 times.

import { ConfigError } from '../../errors.js';
import type { MetricWindow } from '../../sources/istio-metrics-window.js';

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** The longest window asked for: ten years, more than any Prometheus keeps. */
const MAX_WINDOW_MS = 3650 * UNITS['d']!;

/** `90m`, `24h`, `7d`, `2w` (Prometheus' units, one number and one unit) → milliseconds. */
function parseDuration(s: string, flag: string): number {
  const m = /^(\d{1,12})(s|m|h|d|w)$/.exec(s.trim());
  const ms = m === null ? 0 : Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0 || ms > MAX_WINDOW_MS) throw new ConfigError(`${flag}: expected a duration from 1s to 3650d, such as 90m, 24h or 7d (got ${JSON.stringify(s)}).`);
  return ms;
}

function parseTime(s: string, flag: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?(?:Z|[+-](\d\d):(\d\d))$/.exec(s);
  // Date.parse rolls impossible dates over (February 30 is March 2): each field is checked first.
  const ok =
    m !== null &&
    Number(m[2]) >= 1 &&
    Number(m[2]) <= 12 &&
    Number(m[3]) >= 1 &&
    Number(m[3]) <= new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate() &&
    Number(m[4]) < 24 &&
    Number(m[5]) < 60 &&
    Number(m[6] ?? 0) < 60 &&
    Number(m[7] ?? 0) < 24 &&
    Number(m[8] ?? 0) < 60;
  const t = ok ? Date.parse(s) : NaN;
  if (Number.isNaN(t) || t < Date.UTC(2000, 0, 1) || t >= Date.UTC(2100, 0, 1)) {
    throw new ConfigError(`${flag}: expected an RFC 3339 time between 2000 and 2099, such as 2026-12-01T00:00:00Z (got ${JSON.stringify(s)}).`);
  }
  return t;
}

/** The window from the flags: `--from`/`--to` (to defaults to now), else the `--last` duration up to now. */
export function windowOf(flags: { from?: string; to?: string; last?: string }, now = Date.now()): MetricWindow {
  if (flags.from !== undefined && flags.last !== undefined) throw new ConfigError('--from and --last both give the window\'s start: give one of them.');
  const to = flags.to === undefined ? now : parseTime(flags.to, '--to');
  const from = flags.from !== undefined ? parseTime(flags.from, '--from') : to - parseDuration(flags.last ?? '7d', '--last');
  if (from >= to) throw new ConfigError(`the window is empty: its start (${new Date(from).toISOString()}) is not before its end (${new Date(to).toISOString()}).`);
  return { from, to };
}
