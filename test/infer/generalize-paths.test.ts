import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pathTemplate } from '../../src/flow/path-template.js';
import { generalizePaths } from '../../src/infer/generalize-paths.js';
import { istioPath, pathMatches, type PathMatch } from '../../src/rules/access-rule.js';

const strings = (g: ReturnType<typeof generalizePaths>) => (g.paths === 'any' ? 'any' : g.paths.map(istioPath));

describe('generalizePaths', () => {
  it('keeps literal paths exact and cuts a template at its placeholder', () => {
    assert.deepEqual(strings(generalizePaths(['/api/v1/products/{id}', '/login', '/productpage'], false)), ['/api/v1/products/*', '/login', '/productpage']);
  });

  it('collapses more siblings than the limit into their parent, and says so', () => {
    const paths = Array.from({ length: 9 }, (_, i) => `/static/f${String.fromCharCode(97 + i)}.css`);
    const g = generalizePaths([...paths, '/index.html'], false, 8);
    assert.deepEqual(strings(g), ['/index.html', '/static/*']);
    assert.match(g.notes.join('\n'), /9 paths under \/static\/ collapsed/);
    assert.deepEqual((g.paths as PathMatch[]).find((m) => m.kind === 'prefix')?.covers, paths);
  });

  it('drops what a prefix covers, and gives no restriction for an incomplete set or a root placeholder', () => {
    assert.deepEqual(strings(generalizePaths(['/a/{id}', '/a/b', '/a/{id}/c'], false)), ['/a/*']);
    assert.equal(generalizePaths(['/a'], true).paths, 'any');
    assert.equal(generalizePaths(['/{id}/x'], false).paths, 'any');
  });

  it('never emits a literal * as an exact match (Istio would read it as a wildcard)', () => {
    assert.deepEqual(strings(generalizePaths(['/files/report*'], false)), ['/files/*']);
    assert.equal(generalizePaths(['/x*y'], false).paths, 'any');
  });

  it('generalizes a position whose siblings are values, from their shape and number, and says so', () => {
    // Online Boutique's product pages: most codes are ids by shape, the rest ride on their prefix.
    const boutique = ['/product/0PUK6V6EV0', '/product/OLJCESPC7Z', '/product/66VCHSJNUP', '/product/1YMWWN1N4O', '/product/L9ECAV7KIM', '/cart', '/cart/checkout', '/'].map(pathTemplate);
    assert.deepEqual(strings(generalizePaths([...new Set(boutique)].sort(), false)), ['/', '/cart', '/cart/checkout', '/product/*']);
    // Values the templater cannot tell from one segment: codes without a digit, short codes.
    const g = generalizePaths(['/convert/EUR', '/convert/JPY', '/convert/USD', '/giftcards/7K2Q-MZ4P-9XWD', '/giftcards/A1B2-C3D4-E5F6', '/giftcards/Q9Q9-ZZ11-K0K0/balance', '/giftcards/TCTG-KYHB-ORFS/balance', '/cart'], false);
    assert.deepEqual(strings(g), ['/cart', '/convert/*', '/giftcards/*']);
    assert.deepEqual(g.notes, [
      '3 paths under /convert/ generalized to /convert/*: the siblings at that position are values, not routes (3 distinct values (3 characters: capitals); 3 or more of one shape make a value position)',
      '4 paths under /giftcards/ generalized to /giftcards/*: the siblings at that position are values, not routes (3 distinct values (capitals, digits, punctuation); 3 or more of one shape make a value position)',
    ]);
    // What the prefix stands for names no value: a gift-card code is as good as money.
    assert.deepEqual((g.paths as PathMatch[]).find((m) => m.value === '/giftcards/')?.covers, ['/giftcards/{value}', '/giftcards/{value}/balance']);
    assert.deepEqual((g.paths as PathMatch[]).find((m) => m.value === '/convert/')?.covers, ['/convert/{value}']);
    // A word beside the values stays named; a value of another shape is masked too.
    const mixed = generalizePaths(['/giftcards/7K2Q-MZ4P-9XWD', '/giftcards/A1B2-C3D4-E5F6', '/giftcards/Q9Q9-ZZ11-K0K0', '/giftcards/XYZW-ABCD-EFV2', '/giftcards/search'], false);
    assert.deepEqual((mixed.paths as PathMatch[]).map((m) => m.covers), [['/giftcards/search', '/giftcards/{value}']]);
    // At a middle position too.
    assert.deepEqual(strings(generalizePaths(['/users/item42/cart', '/users/item7/orders', '/users/zed9/cart', '/users/me'], false)), ['/users/*']);
  });

  it('keeps genuinely distinct routes exact: words, versions, fewer values than VALUE_SIBLINGS, codes of different lengths', () => {
    const routes = ['/api/v1/items', '/api/v2/items', '/api/v3/items', '/api/v1beta1/items', '/api/v1.1/x', '/api/v1.2/x', '/api/v2.0/x', '/catalog/GetV2', '/catalog/ListV2', '/catalog/SearchV3',
      '/shop.v1.Catalog/GetProduct2', '/shop.v1.Catalog/ListProducts2', '/shop.v1.Catalog/Search3D', '/cart', '/cart/checkout', '/cart/items', '/healthz', '/static/app.css', '/pkg.Service/Method', '/pkg.Service/Other', '/api/1.0/x', '/api/2.0/x', '/api/3.0/x'];
    assert.deepEqual(strings(generalizePaths(routes, false)), [...routes].sort());
    assert.deepEqual(strings(generalizePaths(['/giftcards/7K2Q-MZ4P-9XWD', '/giftcards/A1B2-C3D4-E5F6'], false)), ['/giftcards/7K2Q-MZ4P-9XWD', '/giftcards/A1B2-C3D4-E5F6']);
    assert.deepEqual(strings(generalizePaths(['/convert/EUR', '/convert/USD', '/convert/INFO'], false)), ['/convert/EUR', '/convert/INFO', '/convert/USD']);
    // Values in the first segment would lift the restriction altogether: never from siblings.
    assert.deepEqual(strings(generalizePaths(['/ABC', '/DEF', '/GHI'], false)), ['/ABC', '/DEF', '/GHI']);
  });

  it('protect: a prefix made from siblings never admits a template denied on the edge; a placeholder prefix that does is reported', () => {
    const gift = ['/giftcards/7K2Q-MZ4P-9XWD', '/giftcards/A1B2-C3D4-E5F6', '/giftcards/Q9Q9-ZZ11-K0K0'];
    const kept = generalizePaths(gift, false, 8, { protect: ['/giftcards/admin/export', '/other'] });
    assert.deepEqual(strings(kept), gift);
    assert.deepEqual(kept.exposed, []);
    assert.deepEqual(kept.notes, ['3 paths under /giftcards/ kept exact: /giftcards/* would also admit /giftcards/admin/export, which the mesh denied on this edge']);
    // Denied once and allowed once: nothing to keep denied.
    assert.deepEqual(strings(generalizePaths([...gift, '/giftcards/admin/export'], false, 8, { protect: ['/giftcards/admin/export'] })), ['/giftcards/*']);
    // The sibling limit likewise.
    const files = Array.from({ length: 9 }, (_, i) => `/static/f${String.fromCharCode(97 + i)}.css`);
    const crowded = generalizePaths(files, false, 8, { protect: ['/static/secret.key'] });
    assert.deepEqual(strings(crowded), files);
    assert.match(crowded.notes.join('\n'), /9 paths under \/static\/ kept exact: \/static\/\* would also admit \/static\/secret.key/);
    // A placeholder's prefix is needed by observed traffic: it stays, and says what it exposes.
    const needed = generalizePaths(['/orders/{id}', '/cart'], false, 8, { protect: ['/orders/export', '/cart/admin'] });
    assert.deepEqual(strings(needed), ['/cart', '/orders/*']);
    assert.deepEqual(needed.exposed, ['/orders/export']);
    assert.match(needed.notes.join('\n'), /\/orders\/\* also admits \/orders\/export, which the mesh denied on this edge: \/orders\/\{id\} needs the prefix/);
    // No restriction at all exposes every protected template.
    assert.deepEqual(generalizePaths(['/a'], true, 8, { protect: ['/b'] }).exposed, ['/b']);
  });

  it('property: words are never values — up to the sibling limit, route words under one parent stay exact', () => {
    const word = fc.constantFrom('cart', 'checkout', 'items', 'orders', 'users', 'search', 'login', 'status', 'health', 'metrics', 'static', 'app.css', 'index.html', 'v1', 'v2', 'v1beta1', 'Check', 'GetProduct', 'pkg.Svc');
    fc.assert(
      fc.property(fc.constantFrom('/', '/api/', '/api/v1/', '/pkg.Svc/'), fc.uniqueArray(word, { minLength: 1, maxLength: 8 }), (parent, words) => {
        const templates = words.map((w) => parent + w).sort();
        assert.deepEqual(strings(generalizePaths(templates, false, 8)), templates);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('property: every observed template is admitted, no placeholder, query or inner * reaches a match', () => {
    const segment = fc.oneof(
      fc.constantFrom('api', 'v1', 'items', 'users', 'static', 'a.css', 'pkg.Svc'),
      fc.integer({ min: 0, max: 99999 }).map(String),
      fc.uuid(),
      fc.stringMatching(/^[A-Za-z0-9_-]{20,30}$/),
      fc.constantFrom('x*', 'q?x=1'),
      fc.constantFrom('EUR', 'USD', 'JPY', 'item42', 'A1B2-C3D4', 'X9Y8-Z7W6', 'sha1', 'admin', 'secret'),
    );
    const rawPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => '/' + s.join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(rawPath, { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), fc.uniqueArray(rawPath, { maxLength: 5 }), (raws, limit, deniedRaws) => {
        const templates = [...new Set(raws.map(pathTemplate))].sort();
        const protect = [...new Set(deniedRaws.map(pathTemplate))];
        const g = generalizePaths(templates, false, limit, { protect });
        // A protected template (never observed allowed) is admitted only where the result says so,
        // and only by `any` or a prefix an observed template's placeholder (or `*`) needs.
        for (const t of protect.filter((x) => !templates.includes(x) && x.startsWith('/'))) {
          const by = g.paths === 'any' ? ['any'] : g.paths.filter((m) => (m.kind === 'prefix' ? t.startsWith(m.value) : m.value === t));
          assert.equal(g.exposed.includes(t), by.length > 0, `${t} admitted by ${String(by.length)} matches, exposed ${String(g.exposed)}`);
          if (g.paths !== 'any') for (const m of by as PathMatch[]) assert.ok(m.covers.some((c) => /\{(?!value\})|\*/.test(c) && c.startsWith(m.value)), `${t} admitted by ${m.value}* made from siblings`);
        }
        if (g.paths === 'any') return;
        for (const m of g.paths) {
          assert.doesNotMatch(m.value, /[{}?]/, `placeholder or query in ${m.value}`);
          assert.ok(!m.value.includes('*'), `literal * in ${m.value}`);
        }
        for (const raw of raws) {
          const t = pathTemplate(raw);
          // The concrete request behind the template: what Istio will see, minus the query.
          const path = raw.split('?')[0]!;
          assert.ok(g.paths.some((m) => pathMatches(m, path) || pathMatches(m, t)), `${raw} (template ${t}) not admitted by ${strings(g)}`);
        }
        // Every exact match is an observed template.
        for (const m of g.paths) if (m.kind === 'exact') assert.ok(templates.includes(m.value));
      }),
      { numRuns: 300 },
    );
  });
});
