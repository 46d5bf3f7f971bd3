import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteKey } from '../../src/flow/byte-keys.js';
import { MAX_SEGMENTS, pathTemplate, writePathTemplate } from '../../src/flow/path-template.js';

/** writePathTemplate of `raw`'s bytes, cut from the middle of a larger buffer. */
function byteTemplate(raw: string): string {
  const buf = Buffer.from('GET ' + raw + ' HTTP/1.1', 'latin1');
  const key = new ByteKey();
  key.byte(0x7c); // a key may hold other bytes before the template
  writePathTemplate(buf, 4, 4 + raw.length, key);
  return key.text().slice(1);
}

describe('path templates', () => {
  it('collapses ids, UUIDs, hex and opaque tokens; drops query and fragment', () => {
    assert.equal(pathTemplate('/api/v1/orders/123?token=abc'), '/api/v1/orders/{id}');
    assert.equal(pathTemplate('/users/3f2a9c1e-0b7d-4c2e-9a51-1d2b3c4d5e6f/avatar'), '/users/{uuid}/avatar');
    assert.equal(pathTemplate('/blobs/deadbeef01234567'), '/blobs/{hex}');
    assert.equal(pathTemplate('/reset/eyJhbGciOiJIUzI1NiJ9abc123'), '/reset/{token}');
    assert.equal(pathTemplate('/productpage#top'), '/productpage');
    assert.equal(pathTemplate('/static/css/site.css'), '/static/css/site.css');
    assert.equal(pathTemplate('/v1/models/bert-emotion-model:predict'), '/v1/models/bert-emotion-model:predict');
    assert.equal(pathTemplate('/a/{id}'), '/a/%7Bid%7D', 'a literal brace can never pose as a placeholder');
    assert.equal(pathTemplate(''), '/');
    assert.equal(pathTemplate('*'), '{invalid}');
  });

  it('property: a template has no query, no digit-only segment, bounded segments', () => {
    const seg = fc.oneof(fc.constantFrom('api', 'v1', 'users', 'x.css'), fc.nat().map(String), fc.uuid(), fc.string({ maxLength: 80 }).map((s) => s.replace(/[/?#]/g, '')));
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 30 }), fc.option(fc.string()), (segs, query) => {
        const raw = '/' + segs.join('/') + (query === null ? '' : '?' + query);
        const t = pathTemplate(raw);
        assert.ok(!t.includes('?'));
        const parts = t.split('/').slice(1);
        assert.ok(parts.length <= MAX_SEGMENTS + 1);
        for (const p of parts) {
          assert.ok(!/^\d+$/.test(p), `digit segment in ${t}`);
          assert.ok(p.length <= 64);
        }
      }),
      { seed: 3, numRuns: 500 },
    );
  });

  it('property: requests differing only in ids share one template', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.uuid(), fc.uuid(), (a, b, u, v) => {
        assert.equal(pathTemplate(`/orders/${a}/items/${u}`), pathTemplate(`/orders/${b}/items/${v}?q=${a}`));
      }),
      { seed: 4 },
    );
  });

  it('keeps characters outside ASCII as they are, and reads them as no digit, letter or separator', () => {
    assert.equal(pathTemplate('/café/123'), '/café/{id}');
    assert.equal(pathTemplate('/日本/' + 'é'.repeat(70)), '/日本/{token}');
    assert.equal(pathTemplate('/a😀/{x}'), '/a😀/%7Bx%7D');
    assert.equal(pathTemplate('/' + 'é1'.repeat(10)), '/' + 'é1'.repeat(10), 'not a token: é is not a token character');
  });

  it('property: the byte writer gives pathTemplate, character for character, on printable ASCII', () => {
    // Pieces near every rule's edge: digits, hex runs, UUIDs in both cases, braces, token
    // punctuation, 64/65-character segments, many segments, query and fragment marks.
    const piece = fc.oneof(
      fc.constantFrom('/', '/', '/', 'api', 'v1', '?', '#', '{', '}', '%', '.', '_', '~', '=', '+', '-', ':', '*', 'deadbeef', 'DEADBEEF01', '0', '42'),
      fc.uuid().map((u) => (u.length % 2 ? u.toUpperCase() : u)),
      fc.nat({ max: 10 ** 9 }).map(String),
      fc.constantFrom(64, 65, 15, 16, 17).chain((n) => fc.stringMatching(new RegExp(`^[a-zA-Z0-9_.~=+%-]{${n}}$`))),
      fc.string({ unit: fc.integer({ min: 33, max: 126 }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const raw = pieces.join('');
        assert.equal(byteTemplate(raw), pathTemplate(raw), raw);
        assert.equal(byteTemplate('/' + raw), pathTemplate('/' + raw), '/' + raw);
      }),
      { seed: 3, numRuns: 5000 },
    );
    for (const raw of ['', '/', '?', '#x', '/' + 'a/'.repeat(20), '/' + 'x'.repeat(1100), '/a1/' + 'b'.repeat(1100)]) assert.equal(byteTemplate(raw), pathTemplate(raw), raw);
  });
});
