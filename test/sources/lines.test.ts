import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../src/sources/framing/lines.js';

function split(chunks: Buffer[], max = 1000) {
  const lines: [string, number][] = [];
  const oversize: [number, number][] = [];
  const s = new LineSplitter({ line: (t, n) => lines.push([t, n]), oversize: (n, len) => oversize.push([n, len]) }, max);
  for (const c of chunks) s.push(c);
  s.end();
  return { lines, oversize };
}

function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** Lines through a sink that takes, as bytes, the lines `take` picks: all calls in order. */
function splitOffering(chunks: Buffer[], take: (text: string) => boolean, max = 1000) {
  const calls: string[] = [];
  const s = new LineSplitter(
    {
      line: (t, n) => calls.push(`line ${n} ${t}`),
      oversize: (n, len) => calls.push(`oversize ${n} ${len}`),
      bytes: (b, start, end, n) => {
        assert.equal(b[end], 0x0a, 'a whole line, its newline after it');
        const text = b.toString('utf8', start, end);
        if (!take(text)) return false;
        calls.push(`line ${n} ${text.endsWith('\r') ? text.slice(0, -1) : text}`);
        return true;
      },
    },
    max,
  );
  for (const c of chunks) s.push(c);
  s.end();
  return { calls, lines: s.lineNumber };
}

describe('line framing', () => {
  it('property: lines a sink takes as bytes are the lines it would get, numbered and ordered the same', () => {
    const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constantFrom('x'.repeat(1500), 'é'.repeat(600), 'take me', 'take\r'));
    fc.assert(
      fc.property(fc.array(text.map((s) => s.replace(/\n/g, '')), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), fc.nat(), (ls, cuts, newlineAtEnd, salt) => {
        const buf = Buffer.from(ls.join('\n') + (newlineAtEnd ? '\n' : ''));
        const plain = (() => {
          const calls: string[] = [];
          const sp = new LineSplitter({ line: (t, n) => calls.push(`line ${n} ${t}`), oversize: (n, len) => calls.push(`oversize ${n} ${len}`) }, 1000);
          for (const c of chunked(buf, cuts)) sp.push(c);
          sp.end();
          return { calls, lines: sp.lineNumber };
        })();
        const take = (t: string) => (t.length + salt) % 3 !== 0;
        assert.deepEqual(splitOffering(chunked(buf, cuts), take), plain);
      }),
      { seed: 2, numRuns: 400 },
    );
  });


  it('property: how the bytes are chunked never changes the lines (multi-byte UTF-8 included)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (ls, cuts) => {
        const buf = Buffer.from(ls.map((l) => l + '\n').join(''));
        const whole = split([buf]);
        assert.deepEqual(split(chunked(buf, cuts)), whole);
        assert.deepEqual(whole.lines.map((l) => l[0]), ls);
      }),
      { seed: 1, numRuns: 300 },
    );
  });

  it('reports an over-long line with its number and length, then goes on', () => {
    const big = 'x'.repeat(5000);
    const { lines, oversize } = split(chunked(Buffer.from(`a\n${big}\nb\nc`), [3, 100, 4000]), 1000);
    assert.deepEqual(lines, [['a', 1], ['b', 3], ['c', 4]]);
    assert.deepEqual(oversize, [[2, 5000]]);
  });

  it('strips CR of CRLF line ends', () => {
    assert.deepEqual(split([Buffer.from('a\r\nb\r\n')]).lines, [['a', 1], ['b', 2]]);
  });
});
