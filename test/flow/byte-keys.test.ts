import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteKey, ByteKeyTable } from '../../src/flow/byte-keys.js';

function keyOf(bytes: number[], first?: number): ByteKey {
  const k = new ByteKey();
  if (first !== undefined) k.byte(first);
  // Written in parts, as callers build keys field by field.
  const cut = bytes.length >> 1;
  k.bytesOf(Uint8Array.from(bytes), 0, cut);
  for (const b of bytes.slice(cut)) k.byte(b);
  return k;
}

describe('byte-keyed table', () => {
  it('property: finds what a Map keyed by the bytes finds, says when it made an entry, and starts over at its limit', () => {
    // Few distinct bytes and short keys, so equal keys, prefixes and equal hashes of unequal keys come up.
    const key = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 5 });
    const op = fc.tuple(key, fc.integer({ min: 0, max: 2 }), fc.nat());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (ops, limit) => {
        const table = new ByteKeyTable<number>(limit);
        let model = new Map<string, number>();
        let generation = 0;
        for (const [bytes, tag, value] of ops) {
          const name = `${tag}:${bytes.join(',')}`;
          if (!model.has(name) && model.size >= limit) {
            model = new Map();
            generation++;
          }
          const made = !model.has(name);
          const entry = table.find(keyOf(bytes, tag));
          assert.equal(table.made, made);
          assert.equal(table.generation, generation);
          assert.equal(table.value(entry), model.get(name));
          if (value % 2 === 0) {
            table.set(entry, value);
            model.set(name, value);
          } else if (!model.has(name)) model.set(name, undefined as unknown as number);
          assert.equal(table.size, model.size);
        }
      }),
      { seed: 5, numRuns: 500 },
    );
  });

  it('starts over when its keys reach the byte bound', () => {
    const table = new ByteKeyTable<number>(1000, 100);
    for (let i = 0; i < 5; i++) table.set(table.find(keyOf(Array(30).fill(i))), i);
    assert.equal(table.generation, 1, 'the fourth 30-byte key passed 100 bytes');
    assert.equal(table.size, 2);
    assert.equal(table.value(table.find(keyOf(Array(30).fill(4)))), 4);
    assert.equal(table.value(table.find(keyOf(Array(30).fill(0)))), undefined);
  });

  it('tells apart two keys of the same hash', () => {
    // A birthday search over 4-byte keys finds two with one 32-bit FNV-1a hash (about 2^16 tries).
    const seen = new Map<number, number[]>();
    let pair: [number[], number[]] | undefined;
    for (let i = 0; pair === undefined && i < 1 << 22; i++) {
      const bytes = [i & 255, (i >> 8) & 255, (i >> 16) & 255, Math.imul(i, 2654435761) >>> 24];
      const h = keyOf(bytes).hash;
      const other = seen.get(h);
      if (other !== undefined) pair = [other, bytes];
      else seen.set(h, bytes);
    }
    assert.ok(pair !== undefined);
    const [a, b] = pair;
    assert.equal(keyOf(a).hash, keyOf(b).hash);
    assert.notDeepEqual(a, b);
    const table = new ByteKeyTable<string>(10);
    table.set(table.find(keyOf(a)), 'a');
    const eb = table.find(keyOf(b));
    assert.ok(table.made, 'b is not taken for a');
    table.set(eb, 'b');
    assert.equal(table.value(table.find(keyOf(a))), 'a');
    assert.equal(table.value(table.find(keyOf(b))), 'b');
  });

  it('keeps keys longer than its first buffers', () => {
    const table = new ByteKeyTable<string>(10);
    const long = Array.from({ length: 70_000 }, (_, i) => i % 251);
    table.set(table.find(keyOf(long)), 'long');
    assert.equal(table.value(table.find(keyOf(long))), 'long');
    assert.equal(table.value(table.find(keyOf(long.slice(1)))), undefined);
  });
});
