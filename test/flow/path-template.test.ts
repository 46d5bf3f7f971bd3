import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteKey } from '../../src/flow/byte-keys.js';
import { exemplarPath, MAX_SEGMENTS, pathTemplate, writePathTemplate } from '../../src/flow/path-template.js';

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const email = fc
  .tuple(fc.constantFrom('alice', 'bob.smith', 'o.brien+shop', 'x_y-z', 'Carol'), fc.nat(999), fc.constantFrom('@', '%40'), fc.constantFrom('example.com', 'mail.example.co.uk', 'shop-1.example.org', 'EXAMPLE.IO'))
  .map(([name, n, at, domain]) => `${name}${n}${at}${domain}`);
/** Two different ids of one shape each time: product codes (with a digit), numbers, UUIDs, emails, dates, JWTs. */
const idOf: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.array(fc.constantFrom(...ALNUM), { minLength: 9, maxLength: 9 }))
    .chain(([d, rest]) => fc.tuple(fc.constant([d, rest] as const), fc.array(fc.constantFrom(...ALNUM), { minLength: 9, maxLength: 9 })))
    .map(([[d, rest], other]): [string, string] => [String(d) + rest.join(''), other.join('') + String(d)]),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): [string, string] => [String(a), String(b)]),
  fc.tuple(fc.uuid(), fc.uuid()),
  fc.tuple(email, email),
  fc.tuple(fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), fc.boolean()).map(([a, b, time]) => [a, b].map((d) => (time ? d.toISOString() : d.toISOString().slice(0, 10))) as [string, string]),
  fc.tuple(fc.base64String({ minLength: 24, maxLength: 40 }), fc.base64String({ minLength: 24, maxLength: 40 })).map(([a, b]) => [a, b].map((x) => 'eyJ' + x.replace(/[+/=]/g, 'A') + '.eyJzdWIiOiIxIn0') as [string, string]),
);

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

  it('templates product codes, emails, dates, tokens, long numbers and names that hold an id', () => {
    const cases: [string, string][] = [
      // Online Boutique's product ids: uppercase letters and digits, 10 characters.
      ['/product/0PUK6V6EV0', '/product/{id}'],
      ['/product/OLJCESPC7Z', '/product/{id}'],
      ['/product/66VCHSJNUP', '/product/{id}'],
      ['/product/LS4PSXUNUM', '/product/{id}'],
      ['/orders/ORD12345/items', '/orders/{id}/items'],
      ['/pods/productpage-v1-2d7djr4hhv-xbj9k', '/pods/{id}'],
      ['/watch/dQw4w9WgXcQ', '/watch/{id}'],
      ['/img/0PUK6V6EV0.jpg', '/img/{id}'],
      ['/orders/order-12345', '/orders/{id}'],
      ['/orders/112-3456789-1234567', '/orders/{id}'],
      ['/nodes/10.0.0.1/stats', '/nodes/{id}/stats'],
      ['/orders/3F2A9C1E-0B7D-4C2E-9A51-1D2B3C4D5E6F', '/orders/{uuid}'],
      ['/users/alice@example.com/cart', '/users/{email}/cart'],
      ['/users/bob.smith+shop%40mail.example.co.uk', '/users/{email}'],
      ['/reports/2026-11-24/summary', '/reports/{date}/summary'],
      ['/reports/2026-11-24T10:00:00.123Z', '/reports/{date}'],
      ['/reports/2026-11-24T10%3A00%3A00%2B01%3A00', '/reports/{date}'],
      ['/sessions/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV', '/sessions/{token}'],
      ['/blobs/aGVsbG8gd29ybGQhIQ==', '/blobs/{token}'],
      ['/keys/Xk9pQ2vL7mN4rT8wZ1yB', '/keys/{token}'],
      ['/static/js/main.3f2a9c1e.js', '/static/js/{id}'],
    ];
    for (const [raw, template] of cases) assert.equal(pathTemplate(raw), template, raw);
  });

  it('keeps route words, versions, gRPC methods and words with a number as they are', () => {
    for (const raw of [
      '/cart',
      '/cart/checkout',
      '/api/v1',
      '/apis/autoscaling/v2beta2/horizontalpodautoscalers',
      '/static/app.css',
      '/healthz',
      '/grpc.health.v1.Health/Check',
      '/hipstershop.ProductCatalogService/GetProduct',
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      '/hash/sha256',
      '/hash/SHA256',
      '/formats/ISO8601',
      '/os/ubuntu2204',
      '/auth/oauth2/OAuth2Callback',
      '/api/getV2Items',
      '/x/reviews-v2-canary',
      '/v1/models/bert-emotion-model-v2:predict',
      '/wiki/caf%C3%A9-au-lait-special',
      '/@types/node',
      '/api/1.0/users',
      '/reports/q3-2024',
      '/customer-preferences-page',
      '/getProductsByCategory',
      '/.well-known/openid-configuration',
    ]) {
      assert.equal(pathTemplate(raw), raw, raw);
    }
  });

  it('property: route words — joined, camel-cased, with a version or a small number — are never templated', () => {
    const word = fc.constantFrom('cart', 'checkout', 'api', 'orders', 'users', 'products', 'search', 'login', 'oauth', 'callback', 'health', 'status', 'metrics', 'static', 'index', 'payment', 'inventory', 'shipping', 'report', 'reviews', 'canary', 'model', 'page', 'item', 'get', 'list', 'by', 'id', 'of');
    const suffix = fc.oneof(fc.constant(''), fc.constantFrom('v1', 'v2', 'v1beta1', 'v2alpha1', 'V3'), fc.integer({ min: 0, max: 9999 }).map(String));
    const segment = fc
      .tuple(fc.array(word, { minLength: 1, maxLength: 3 }), fc.constantFrom('-', '_', '.', 'camel', 'upper'), suffix, fc.constantFrom('', '-', '.', '_'))
      .map(([ws, join, sfx, sep]) => {
        const base = join === 'camel' ? ws.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('') : join === 'upper' ? ws.join('_').toUpperCase() : ws.join(join);
        // A version is set apart (`cart-v1beta1`; `cartv1beta1` reads as a code), and so is a number after
        // an uppercase word (`CART1000` is a code by shape; `CART_1000` is not).
        const apart = sep === '' && (/^[vV]/.test(sfx) || join === 'upper') ? '_' : sep;
        return sfx === '' ? base : base + apart + sfx;
      });
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segs) => {
        const raw = '/' + segs.join('/');
        assert.equal(pathTemplate(raw), raw);
      }),
      { seed: 11, numRuns: 3000 },
    );
  });

  it('property: an exemplar path templates as the raw path does, and holds none of its ids or tokens', () => {
    const secret = fc.oneof(fc.uuid(), fc.nat().map((n) => String(100000 + n)), fc.constantFrom('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl', 'alice@example.org', '2026-11-24', 'f00dfacef00dfacef00d'));
    const seg = fc.oneof(fc.constantFrom('api', 'v1', 'users', 'reset', 'x.css', '%7Bx%7D', 'cart;jsessionid=ABC'), secret, fc.string({ maxLength: 30 }).map((s) => s.replace(/[/?#]/g, '')));
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 20 }), fc.array(secret, { minLength: 1, maxLength: 3 }), (segs, secrets) => {
        const raw = '/' + [...segs, ...secrets].join('/');
        const e = exemplarPath(raw);
        if (e === undefined) return;
        assert.equal(pathTemplate(e), pathTemplate(raw));
        for (const x of secrets) if (pathTemplate(raw).split('/').every((part) => part !== x)) assert.ok(!e.split('/').includes(x), `${x} in ${e}`);
      }),
      { seed: 5, numRuns: 2000 },
    );
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
    // Today's and tomorrow's ids of every shape, at every position.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('product', 'users', 'cart', 'v1', 'reports'), idOf), { minLength: 1, maxLength: 5 }), (route) => {
        const [first, second] = [0, 1].map((k) => '/' + route.map(([word, id]) => `${word}/${id[k]}`).join('/'));
        assert.equal(pathTemplate(first!), pathTemplate(second!), `${first} ${second}`);
        assert.ok(!/[0-9]{2}|@/.test(pathTemplate(first!).replace(/v1/g, '')), pathTemplate(first!));
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('property: stable — the template of a template instantiated with fresh ids is that template; a template without placeholders is its own', () => {
    const instance: Record<string, string> = { '{id}': '4711', '{uuid}': '3f2a9c1e-0b7d-4c2e-9a51-1d2b3c4d5e6f', '{hex}': 'deadbeef01', '{date}': '2026-01-31', '{email}': 'a@b.co', '{token}': 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.c2ln' };
    const piece = fc.oneof(
      fc.constantFrom('cart', 'api', 'v1', 'checkout', 'app.css', 'pkg.Svc', 'sha256', 'x'),
      idOf.map(([a]) => a),
      fc.string({ unit: fc.integer({ min: 33, max: 126 }).filter((c) => !'/?#{}'.includes(String.fromCharCode(c))).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: MAX_SEGMENTS }), (segs) => {
        const t = pathTemplate('/' + segs.join('/'));
        const again = t.replace(/\{(id|uuid|hex|date|email|token)\}/g, (p) => instance[p]!);
        assert.equal(pathTemplate(again), t, `${t} instantiated as ${again}`);
        if (!t.includes('{')) assert.equal(pathTemplate(t), t);
      }),
      { seed: 6, numRuns: 500 },
    );
  });

  it('drops matrix parameters in every segment, as `;` or `%3B`, like the query string', () => {
    const cases: [string, string][] = [
      ['/cart;jsessionid=0A1B2C3D4E5F6A7B8C9D/items', '/cart/items'],
      ['/cart;jsessionid=ABC', '/cart'],
      ['/download;token=s3cr3t-value;v=2/file.txt', '/download/file.txt'],
      ['/orders;a=1/123;b=2/items;c=3', '/orders/{id}/items'],
      ['/cart%3Bjsessionid=ABC/items', '/cart/items'],
      ['/cart%3bjsessionid=ABC', '/cart'],
      ['/;jsessionid=ABC', '/'],
      ['/a/;x=1/b', '/a//b'],
      ['/v1/..;/internal', '/v1/../internal'],
      ['/a%7B;x=1', '/a%7B'],
      ['/x{;y}', '/x%7B'],
      ['/cart;' + 'k'.repeat(200) + '/items?q=1', '/cart/items'],
      ['/a%3Cb', '/a%3Cb'],
    ];
    for (const [raw, template] of cases) assert.equal(pathTemplate(raw), template, raw);
  });

  it('property: no matrix parameter survives, and a path without one is templated as before', () => {
    const word = fc.constantFrom('cart', 'api', 'v1', 'items', '123', 'app.css', '0PUK6V6EV0');
    const secret = fc.stringMatching(/^[A-Za-z0-9]{6,30}$/).map((x) => 'Zq' + x);
    const param = fc.tuple(fc.constantFrom(';', '%3B', '%3b'), fc.constantFrom('jsessionid', 'token', 'sid', 'x'), secret).map(([sep, name, value]) => `${sep}${name}=${value}`);
    fc.assert(
      fc.property(fc.array(fc.tuple(word, fc.option(param)), { minLength: 1, maxLength: 10 }), (segs) => {
        const plain = '/' + segs.map(([w]) => w).join('/');
        const raw = '/' + segs.map(([w, p]) => w + (p ?? '')).join('/');
        const t = pathTemplate(raw);
        assert.equal(t, pathTemplate(plain), raw);
        assert.equal(byteTemplate(raw), t, raw);
        assert.ok(!/;|%3B|Zq/i.test(t), t);
      }),
      { seed: 12, numRuns: 1000 },
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
      // The newer shapes and their edges: codes, emails (`@`, `%40`), dates and times, JWTs, padding, escapes, versions.
      fc.constantFrom('0PUK6V6EV0', 'OLJCESPC7Z', 'SHA256', 'ISO8601', 'v1beta1', 'V2', '2d7djr4hhv', 'dQw4w9WgXcQ', 'user12345', '112-345-67', '10.0.0.1'),
      fc.constantFrom('@', '%40', 'a@b.co', 'x.y+z%40mail.example.org', '@types', 'a@b', 'a@.co', 'a@b.c0'),
      fc.constantFrom('2026-11-24', '2026-13-24', '2026-11-24T10:00:00.123Z', '2026-11-24t', '2026-11-24T10%3A00%3A00%2B01%3A00', '2026-11-2', '2026-11-24T10:00x'),
      fc.constantFrom('eyJ', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', '==', 'aGVsbG8gd29ybGQhIQ==', '%C3%A9', '%3A', '%4', '%'),
      // Matrix parameters and their edges: `;` anywhere, `%3B` in both cases, cut escapes.
      fc.constantFrom(';', ';jsessionid=0A1B2C3D4E5F', ';token=abc', ';a;b', '%3B', '%3b', '%3Bsid=42', '%3', '%3C', ';/', '/;'),
      idOf.map(([a]) => a),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const raw = pieces.join('');
        assert.equal(byteTemplate(raw), pathTemplate(raw), raw);
        assert.equal(byteTemplate('/' + raw), pathTemplate('/' + raw), '/' + raw);
      }),
      { seed: Number(process.env.PT_SEED ?? 3), numRuns: Number(process.env.PT_RUNS ?? 5000) },
    );
    for (const raw of ['', '/', '?', '#x', '/' + 'a/'.repeat(20), '/' + 'x'.repeat(1100), '/a1/' + 'b'.repeat(1100), ';', '/;', '/a;b', '/a%3', '/a%3B', '/' + 'a;x/'.repeat(20), '/cart;' + 'k'.repeat(1100)]) assert.equal(byteTemplate(raw), pathTemplate(raw), raw);
  });
});
