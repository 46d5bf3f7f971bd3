import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { gunzipMembers } from '../../src/sources/transports/gzip.js';

/** `buf` delivered in pieces cut at `cuts` (as a pipe or a stream's chunks would). */
async function* pieces(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of [...points, buf.length]) {
    yield buf.subarray(prev, p);
    prev = p;
  }
}

async function gunzip(buf: Buffer, cuts: number[] = []): Promise<{ out: string; notes: string[]; error?: string }> {
  const parts: Buffer[] = [];
  const notes: string[] = [];
  try {
    for await (const b of gunzipMembers(pieces(buf, cuts), (d) => notes.push(d))) parts.push(b);
  } catch (err) {
    return { out: Buffer.concat(parts).toString(), notes, error: (err as NodeJS.ErrnoException).code ?? 'none' };
  }
  return { out: Buffer.concat(parts).toString(), notes };
}

const text = fc.array(fc.stringMatching(/^[ -~]{0,60}$/), { maxLength: 30 }).map((ls) => ls.map((l) => l + '\n').join(''));

describe('gzip members, as gzip -d reads them', () => {
  it('reads every concatenated member, whatever the chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), async (members, cuts) => {
        const buf = Buffer.concat(members.map((m) => gzipSync(m)));
        const r = await gunzip(buf, cuts);
        assert.equal(r.error, undefined);
        assert.equal(r.out, members.join(''));
        assert.deepEqual(r.notes, []);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps every member before trailing garbage and notes the garbage once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { minLength: 1, maxLength: 4 }),
        // Not starting with the gzip magic number, and not all zeros.
        fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((g) => g[0] !== 0x1f && g.some((x) => x !== 0)),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (members, garbage, cuts) => {
          const buf = Buffer.concat([...members.map((m) => gzipSync(m)), Buffer.from(garbage)]);
          const r = await gunzip(buf, cuts);
          assert.equal(r.error, undefined);
          assert.equal(r.out, members.join(''));
          assert.equal(r.notes.length, 1);
          assert.match(r.notes[0]!, new RegExp(`^${garbage.length} bytes after the last of ${members.length} gzip member`));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('ignores zero padding after the last member, as gzip -d does', async () => {
    const r = await gunzip(Buffer.concat([gzipSync('a\n'), Buffer.alloc(512)]));
    assert.deepEqual(r, { out: 'a\n', notes: [] });
  });

  it('reads header fields (name, comment, extra, header CRC) it skips', async () => {
    const body = gzipSync('x\ny\n');
    // FEXTRA | FNAME | FCOMMENT | FHCRC, then the fields in their order.
    const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3]), Buffer.from([3, 0, 1, 2, 3]), Buffer.from('name.log\0comment\0'), Buffer.from([0xaa, 0xbb])]);
    const r = await gunzip(Buffer.concat([header, body.subarray(10)]), [1, 2, 3, 11, 12, 20]);
    assert.deepEqual(r, { out: 'x\ny\n', notes: [] });
  });

  it('a member cut short gives the bytes before the cut, then Z_BUF_ERROR (property)', async () => {
    await fc.assert(
      fc.asyncProperty(text, text, fc.nat(), async (a, b, at) => {
        const second = gzipSync(b);
        // At least the magic number: a lone 0x1f after a member is trailing garbage.
        const cut = 2 + (at % (second.length - 2));
        const r = await gunzip(Buffer.concat([gzipSync(a), second.subarray(0, cut)]));
        assert.equal(r.error, 'Z_BUF_ERROR');
        assert.ok(r.out.startsWith(a) && b.startsWith(r.out.slice(a.length)), 'what was inflated is a prefix of the whole');
      }),
      { numRuns: 100 },
    );
  });

  it('a corrupt member after good ones keeps the good ones and fails with Z_DATA_ERROR', async () => {
    const bad = gzipSync('second\n');
    bad[bad.length - 8]! ^= 0xff; // the CRC
    const r = await gunzip(Buffer.concat([gzipSync('first\n'), bad]));
    assert.equal(r.error, 'Z_DATA_ERROR');
    assert.equal(r.out, 'first\nsecond\n');
    const method = await gunzip(Buffer.concat([gzipSync('first\n'), Buffer.from([0x1f, 0x8b, 99, 0, 0, 0, 0, 0, 0, 3, 1, 2])]));
    assert.deepEqual([method.out, method.error], ['first\n', 'Z_DATA_ERROR']);
  });
});
