// The path probes of a path pattern (src/review/probes.ts): enough requests to tell the pattern's
// matches from its neighbours, judged by the verifier's own path match.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OTHER_SEGMENT, pathProbes } from '../../src/review/probes.js';
import { pathMatch } from '../../src/verify/istio-match.js';

// A small alphabet, so that patterns and paths overlap often.
const segment = fc.constantFrom('a', 'b', 'ab', 'c.css');
const literal = fc.array(segment, { minLength: 1, maxLength: 3 }).map((xs) => `/${xs.join('/')}`);
/** Istio path patterns: exact, prefix (`/a/*`, `/a*`), suffix (`*.css`), and Istio's templates. */
const pattern = fc.oneof(
  literal,
  literal.map((p) => `${p}/*`),
  literal.map((p) => `${p}*`),
  segment.map((s) => `*${s}`),
  literal.map((p) => `${p}/{*}`),
  literal.map((p) => `${p}/{**}`),
);
const path = fc.oneof(literal, literal.map((p) => `${p}/`));
const matches = (p: string, x: string) => pathMatch(p, { text: x, template: false }) === true;
/** What the diff tries at a destination whose policies name these patterns: their probes and a path nobody names. */
const tried = (...patterns: string[]) => [...patterns.flatMap(pathProbes), `/${OTHER_SEGMENT}`];

describe('path probes', () => {
  it('hold a path the pattern matches and one it does not', () => {
    fc.assert(
      fc.property(pattern, (p) => {
        assert.ok(tried(p).some((x) => matches(p, x)), `${p}: ${tried(p).join(' ')}`);
        assert.ok(tried(p).some((x) => !matches(p, x)), `${p}: ${tried(p).join(' ')}`);
      }),
    );
  });

  it('tell two patterns apart wherever some path tells them apart', () => {
    fc.assert(
      fc.property(pattern, pattern, path, (a, b, x) => {
        fc.pre(matches(a, x) !== matches(b, x));
        assert.ok(tried(a, b).some((y) => matches(a, y) !== matches(b, y)), `${a} vs ${b} differ on ${x}, on no probe of ${tried(a, b).join(' ')}`);
      }),
      { numRuns: 500 },
    );
  });
});
