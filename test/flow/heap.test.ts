import assert from 'node:assert/strict';
import fc from 'fast-check';
import { heapPop, heapPush, heapReplaceTop } from '../../src/flow/heap.js';

const less = (a: number, b: number) => a < b;

describe('flow/heap', () => {
  it('property: pops in order, whatever was pushed and replaced at the top', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.array(fc.integer({ min: -50, max: 50 })), (pushed, replacing) => {
        const a: number[] = [];
        const all = [...pushed];
        for (const x of pushed) heapPush(a, x, less);
        for (const x of replacing) {
          if (a.length === 0) break;
          const top = a[0]!;
          all.splice(all.indexOf(top), 1);
          heapReplaceTop(a, x, less);
          all.push(x);
        }
        const out: number[] = [];
        for (let x = heapPop(a, less); x !== undefined; x = heapPop(a, less)) out.push(x);
        assert.deepEqual(out, [...all].sort((p, q) => p - q));
      }),
      { seed: 17, numRuns: 300 },
    );
  });
});
