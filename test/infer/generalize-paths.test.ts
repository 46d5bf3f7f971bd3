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

  it('property: every observed template is admitted, no placeholder, query or inner * reaches a match', () => {
    const segment = fc.oneof(
      fc.constantFrom('api', 'v1', 'items', 'users', 'static', 'a.css', 'pkg.Svc'),
      fc.integer({ min: 0, max: 99999 }).map(String),
      fc.uuid(),
      fc.stringMatching(/^[A-Za-z0-9_-]{20,30}$/),
      fc.constantFrom('x*', 'q?x=1'),
    );
    const rawPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => '/' + s.join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(rawPath, { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), (raws, limit) => {
        const templates = [...new Set(raws.map(pathTemplate))].sort();
        const g = generalizePaths(templates, false, limit);
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
