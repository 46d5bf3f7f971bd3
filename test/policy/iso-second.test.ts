// The evidence comments' timestamps are formatted by arithmetic (policy/emitted.ts, for speed):
// they must read exactly as Date's own ISO form, cut to the second.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoSecond } from '../../src/policy/emitted.js';

const Y2000 = Date.UTC(2000, 0, 1);
const Y2100 = Date.UTC(2100, 0, 1) - 1;

describe('isoSecond', () => {
  it('writes what Date.toISOString writes, to the second, for every time graph.json can hold (2000–2099)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Y2000, max: Y2100 }), (ms) => {
        assert.equal(isoSecond(ms), `${new Date(ms).toISOString().slice(0, 19)}Z`);
      }),
      { numRuns: 20_000 },
    );
  });

  it('gets the edges of days, months and leap years right', () => {
    const edges = [Y2000, Y2100, Date.UTC(2000, 1, 29), Date.UTC(2000, 2, 1) - 1, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2023, 2, 1), Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1)];
    for (const ms of edges) assert.equal(isoSecond(ms), `${new Date(ms).toISOString().slice(0, 19)}Z`);
  });

  it('cuts a fractional millisecond as Date does', () => {
    fc.assert(
      fc.property(fc.double({ min: Y2000, max: Y2100, noNaN: true }), (ms) => {
        assert.equal(isoSecond(ms), `${new Date(ms).toISOString().slice(0, 19)}Z`);
      }),
    );
  });
});
