// The window a live source is asked about: `--last 7d`, or `--from`/`--to` as RFC 3339 times.

import { ConfigError } from '../../errors.js';
import type { MetricWindow } from '../../sources/istio-metrics-window.js';

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90m`, `24h`, `7d`, `2w` (Prometheus' units, one number and one unit) → milliseconds. */
function parseDuration(s: string, flag: string): number {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(s.trim());
  if (m === null || Number(m[1]) === 0) throw new ConfigError(`${flag}: expected a duration such as 90m, 24h or 7d (got ${JSON.stringify(s)}).`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function parseTime(s: string, flag: string): number {
  const t = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(t)) throw new ConfigError(`${flag}: expected an RFC 3339 time such as 2026-12-01T00:00:00Z (got ${JSON.stringify(s)}).`);
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
