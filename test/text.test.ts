import assert from 'node:assert/strict';
import fc from 'fast-check';
import { excerpt, maskSecrets, printable, printableDeep } from '../src/text.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = B64.slice(0, 62) + '-_';
const HEX = '0123456789abcdefABCDEF';
const of = (alphabet: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
/** A secret value: at least a digit, an uppercase and a lowercase letter (what makes it opaque). */
const opaque = (alphabet: string, minLength: number, maxLength: number) => fc.tuple(of(alphabet, minLength - 3, maxLength - 3), fc.constantFrom(...'0123456789'), fc.constantFrom(...'ABCDEFGHXYZ'), fc.constantFrom(...'abcdefghxyz')).map(([s, d, u, l]) => d + s + u + l);

/** Secrets in the places they turn up, each with the text that must not survive masking. */
const secret: fc.Arbitrary<{ text: string; value: string }> = fc.oneof(
  // RFC 6750 token68: starts with a letter or digit, may end in `=` padding.
  fc.tuple(fc.constantFrom('Bearer', 'bearer', 'Basic', 'BASIC', 'Token', 'Digest'), fc.constantFrom(...B64.slice(0, 62)), of(B64URL + '.~+/=', 3, 60)).map(([scheme, h, v]) => ({ text: `Authorization: ${scheme} ${h + v}`, value: h + v })),
  fc.tuple(of(B64URL, 4, 40), of(B64URL, 4, 40), of(B64URL, 4, 40)).map(([a, b, c]) => ({ text: `eyJ${a}.${b}.${c}`, value: `eyJ${a}.${b}.${c}` })),
  fc
    .tuple(fc.constantFrom('key', 'api_key', 'apiKey', 'x-api-key', 'token', 'access_token', 'password', 'passwd', 'secret', 'client_secret', 'jsessionid', 'session_id', 'sig', 'auth'), fc.constantFrom('=', ': ', '":"', ' = '), of(B64URL + '.~+/', 3, 40))
    .filter(([k, , v]) => !/^(Bearer|Basic|Digest|Negotiate|NTLM|Token|ApiKey)$/i.test(v) && !k.toLowerCase().includes(v.toLowerCase()))
    .map(([k, sep, v]) => ({ text: `${k}${sep}${v}`, value: v })),
  of(HEX, 16, 80).map((v) => ({ text: v, value: v })),
  opaque(B64, 32, 80).map((v) => ({ text: v, value: v })),
  opaque(B64URL, 32, 80).map((v) => ({ text: v + '==', value: v })),
  fc.tuple(of('abcdefghijklmnopqrstuvwxyz', 1, 8), of(B64URL, 6, 30)).map(([n, v]) => ({ text: `Cookie: ${n}=${v}; other=${v}`, value: v })),
);

/** Ordinary text of access logs and messages: words, pod and workload names, clusters, addresses, paths, times. */
const ordinary = fc
  .array(
    fc.oneof(
      fc.constantFrom('neither', 'an', 'Envoy', 'access-log', 'entry', 'GET', 'POST', 'HTTP/1.1', 'HTTP/2', '-', '0', '200', '503', 'UH', 'no_healthy_upstream', 'curl/7.73.0', 'Mozilla/5.0'),
      fc.constantFrom('productpage-v1-6987489c74-6fgz8', 'reviews-v2-5b4d9c7b8f-x7k2p', 'default/Deployment/reviews-v2', 'outbound|9080||reviews.default.svc.cluster.local', 'inbound|9080||'),
      fc.constantFrom('/productpage', '/api/v1/products/0', '/grpc.health.v1.Health/Check', '/hipstershop.ProductCatalogService/GetProduct', '/static/css/site.css', '/reviews/0'),
      fc.constantFrom('10.244.1.17:9080', '[2026-11-24T10:00:01.123Z]', '2026-11-24T10:00:01.123456789Z', 'stdout', 'F', '3f2a9c1e-0b7d-4c2e-9a51-1d2b3c4d5e6f', 'getV2Items', 'OAuth2Callback', 'monkeys', 'keyboard', 'tokenizer'),
    ),
    { maxLength: 12 },
  )
  .map((ws) => ws.join(' '));

describe('text', () => {
  describe('maskSecrets', () => {
    it('property: no generated secret survives, wherever it sits in ordinary text', () => {
      fc.assert(
        fc.property(ordinary, secret, ordinary, fc.constantFrom(' ', '"', "'", ' "', '\t'), (before, s, after, q) => {
          fc.pre(!before.includes(s.value) && !after.includes(s.value));
          const masked = maskSecrets(`${before}${q}${s.text}${q}${after}`);
          assert.ok(!masked.includes(s.value), `${JSON.stringify(s.value)} survives in ${JSON.stringify(masked)}`);
        }),
        { seed: 1205, numRuns: 3000 },
      );
    });

    it('property: ordinary text is not mangled', () => {
      fc.assert(
        fc.property(ordinary, (text) => assert.equal(maskSecrets(text), text)),
        { seed: 1206, numRuns: 2000 },
      );
    });

    it('keeps what tells a reader what the secret was', () => {
      const cases: [string, string][] = [
        ['"GET /x HTTP/1.1" Authorization: Bearer abc.def-ghi', '"GET /x HTTP/1.1" Authorization: Bearer ***'],
        ['{"authorization":"Basic dXNlcjpwYXNz"}', '{"authorization":"Basic ***"}'],
        ['/login?user=bob&password=hunter2&next=/', '/login?user=bob&password=***&next=/'],
        ['Cookie: SESSION=abc; theme=dark', 'Cookie: ***'],
        ['x-api-key: 12345 rest', 'x-api-key: *** rest'],
        ['sha deadbeefdeadbeef0123 end', 'sha *** end'],
        ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln trailing', '*** trailing'],
      ];
      for (const [raw, masked] of cases) assert.equal(maskSecrets(raw), masked, raw);
    });
  });

  describe('excerpt', () => {
    it('masks first, then cuts, quotes and escapes', () => {
      const line = 'garbage Authorization: Bearer ' + 'A1b2'.repeat(30);
      const e = excerpt(line);
      assert.ok(!e.includes('A1b2'), e);
      assert.equal(e, JSON.stringify('garbage Authorization: Bearer ***'));
      assert.equal(excerpt('a\u202Eb\u001b[31m'), '"a\\u202Eb\\u001b[31m"');
    });

    it("property: a secret at the excerpt's edge is masked by its whole shape, not shown in part", () => {
      fc.assert(
        fc.property(fc.nat(80), secret.filter((s) => s.value.length >= 8), (pad, s) => {
          const e = excerpt('x'.repeat(pad) + ' ' + s.text + ' tail', 60);
          assert.ok(!e.includes(s.value.slice(0, 8)), `${e} shows the start of ${s.value}`);
        }),
        { seed: 1207, numRuns: 1000 },
      );
    });
  });

  describe('printable', () => {
    it('escapes controls, bidirectional overrides and isolates, invisible characters and lone surrogates visibly', () => {
      const cases: [string, string][] = [
        ['a\u202Eb', 'a\\u202Eb'],
        ['\u2066x\u2069', '\\u2066x\\u2069'],
        ['\u200Fhidden\u200B', '\\u200Fhidden\\u200B'],
        ['\u001b[31mred\u001b[0m', '\\u001B[31mred\\u001B[0m'],
        ['\u009b31m', '\\u009B31m'],
        ['line\r\nbreak', 'line\\u000D\\u000Abreak'],
        ['\u2028\u2029\ufeff\u00ad', '\\u2028\\u2029\\uFEFF\\u00AD'],
        ['\ud800x', '\\uD800x'],
        ['café 日本 😀 ❤️', 'café 日本 😀 ❤️'],
      ];
      for (const [raw, shown] of cases) assert.equal(printable(raw), shown, JSON.stringify(raw));
    });

    it('property: the output has no character that can hide or reorder text, and printable is idempotent', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (s) => {
          const p = printable(s);
          assert.ok(!/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]|[\ud800-\udfff]/u.test(p), JSON.stringify(p));
          assert.equal(printable(p), p);
        }),
        { seed: 1208, numRuns: 2000 },
      );
    });

    it('printableDeep escapes every string of a document, keys too, and keeps the rest', () => {
      assert.deepEqual(printableDeep({ a: ['x\u202E', 1, null, { 'k\u0007': true }] }), { a: ['x\\u202E', 1, null, { 'k\\u0007': true }] });
    });
  });
});
