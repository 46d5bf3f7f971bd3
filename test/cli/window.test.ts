// windowOf (cli/observe/window.ts): the window a live source is asked about, from `--last` or
// `--from`/`--to`; every bad flag is a ConfigError that names it.
import assert from 'node:assert/strict';
import { windowOf } from '../../src/cli/observe/window.js';
import { ConfigError } from '../../src/errors.js';

const NOW = Date.parse('2026-12-05T08:00:00Z');
const H = 3_600_000;
const D = 24 * H;

function configError(flags: { from?: string; to?: string; last?: string }, mentions: RegExp): void {
  assert.throws(
    () => windowOf(flags, NOW),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.match(err.message, mentions);
      return true;
    },
    JSON.stringify(flags),
  );
}

describe('the window of a live source (windowOf)', () => {
  it('reads --last in s, m, h, d and w, up to now', () => {
    const cases: [string, number][] = [
      ['45s', 45_000],
      ['90m', 90 * 60_000],
      ['24h', 24 * H],
      ['7d', 7 * D],
      ['2w', 14 * D],
      ['1s', 1000],
      ['365d', 365 * D],
    ];
    for (const [last, ms] of cases) assert.deepEqual(windowOf({ last }, NOW), { from: NOW - ms, to: NOW }, last);
  });

  it('defaults to the last 7 days', () => {
    assert.deepEqual(windowOf({}, NOW), { from: NOW - 7 * D, to: NOW });
  });

  it('reads --last up to --to when both are given', () => {
    const to = '2026-12-01T00:00:00Z';
    assert.deepEqual(windowOf({ last: '1d', to }, NOW), { from: Date.parse(to) - D, to: Date.parse(to) });
  });

  it('reads --from and --to as RFC 3339 times, in Z and with offsets', () => {
    assert.deepEqual(windowOf({ from: '2026-11-24T00:00:00Z', to: '2026-12-01T00:00:00Z' }, NOW), {
      from: Date.UTC(2026, 10, 24),
      to: Date.UTC(2026, 11, 1),
    });
    assert.deepEqual(windowOf({ from: '2026-11-24T02:00:00+02:00', to: '2026-11-30T19:00:00-05:00' }, NOW), {
      from: Date.UTC(2026, 10, 24),
      to: Date.UTC(2026, 11, 1),
    });
    // Fractional seconds, and minutes without seconds.
    assert.deepEqual(windowOf({ from: '2026-11-24T00:00:00.250Z', to: '2026-11-24T00:01Z' }, NOW), {
      from: Date.UTC(2026, 10, 24, 0, 0, 0, 250),
      to: Date.UTC(2026, 10, 24, 0, 1),
    });
  });

  it('takes now as --to when only --from is given', () => {
    assert.deepEqual(windowOf({ from: '2026-12-05T07:00:00Z' }, NOW), { from: NOW - H, to: NOW });
  });

  it('refuses an empty or reversed window', () => {
    configError({ from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }, /empty/);
    configError({ from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' }, /empty/);
    // The same instant in two offsets.
    configError({ from: '2026-12-01T02:00:00+02:00', to: '2026-12-01T00:00:00Z' }, /empty/);
    configError({ from: '2026-12-06T00:00:00Z' }, /empty/);
  });

  it('refuses --from with --last', () => {
    configError({ from: '2026-12-01T00:00:00Z', last: '1d' }, /--from.*--last/);
  });

  it('refuses bad durations, naming --last', () => {
    for (const last of ['0d', '0s', '7 d', '1y', '-1h', '1.5h', '7', 'd', '', '1h30m', '7D', '1ms', '+1h', '0x10d']) configError({ last }, /^--last: /);
  });

  it('refuses bad times, naming the flag', () => {
    const bad = [
      '2026-12-01',
      '2026-12-01T00:00:00',
      '2026-12-01 00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-12-32T00:00:00Z',
      '2026-12-01T25:00:00Z',
      '1733011200',
      'yesterday',
      '',
      '2026-12-01T00:00:00+0200',
    ];
    for (const t of bad) {
      configError({ from: t, to: '2026-12-05T00:00:00Z' }, /^--from: /);
      configError({ from: '2026-11-01T00:00:00Z', to: t }, /^--to: /);
    }
  });

  // Regression (this test found it, since fixed): parseTime checks the shape with a regular expression and then trusts Date.parse,
  // which rolls impossible days over instead of refusing them: --to 2026-02-30T00:00:00Z is read
  // as 2026-03-02, --to 2026-04-31T00:00:00Z as 2026-05-01 (V8 refuses day 32, not day 30 of
  // February), and hour 24 (2026-12-01T24:00:00Z) as the next midnight. RFC 3339 (5.6, 5.7)
  // makes each invalid; expected a ConfigError naming --to.
  it('refuses days that do not exist in their month, and hour 24', () => {
    for (const t of ['2026-02-30T00:00:00Z', '2026-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-12-01T24:00:00Z']) configError({ from: '2026-01-01T00:00:00Z', to: t }, /^--to: /);
  });

  // Regression (this test found it, since fixed): --last takes any number of digits, so a duration past what a Date can hold gives a
  // window whose start is no time at all: windowOf({ last: '1000000000d' }) returns
  // { from: -86398203542400000, to: NOW }, and new Date(from) is an Invalid Date (beyond
  // ±8.64e15 ms); with '99999999999999999999w' Prometheus is asked for a range of
  // `6.0479999999999995e+25s`, which is no PromQL duration. Expected a ConfigError naming --last.
  it('refuses a --last longer than time can represent', () => {
    configError({ last: '1000000000d' }, /^--last: /);
    configError({ last: '99999999999999999999w' }, /^--last: /);
  });
});
