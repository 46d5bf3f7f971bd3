// The path probes of a path pattern (src/review/probes.ts): enough requests to tell the pattern's
// matches from its neighbours, judged by the verifier's own path match.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cidrEdges, labelSetsFor, OTHER_SEGMENT, pathProbes } from '../../src/review/probes.js';
import { parseCidr } from '../../src/verify/cidr.js';
import { pathMatch } from '../../src/verify/istio-match.js';
import { matchesSelector, type LabelSelector } from '../../src/verify/label-selector.js';

// A small alphabet, so that patterns and paths overlap often.
// Segments ending like the probes' filler (`ztmap-other`, ending in r) and one another.
const segment = fc.constantFrom('a', 'b', 'ab', 'c.css', 'r.css', 'er.css', 'her');
const literal = fc.array(segment, { minLength: 1, maxLength: 3 }).map((xs) => `/${xs.join('/')}`);
/** Istio path patterns: exact, prefix (`/a/*`, `/a*`), suffix (`*.css`), and Istio's templates. */
const pattern = fc.oneof(
  literal,
  literal.map((p) => `${p}/*`),
  literal.map((p) => `${p}*`),
  segment.map((s) => `*${s}`),
  literal.map((p) => `*${p}`),
  literal.map((p) => `${p}/{*}`),
  literal.map((p) => `${p}/{**}`),
  fc.tuple(literal, literal).map(([p, q]) => `${p}/{*}${q}`),
  fc.tuple(literal, literal).map(([p, q]) => `${p}/{**}${q}`),
  literal.map((q) => `/{*}${q}`),
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
      { numRuns: 2000 },
    );
  });
});

describe('CIDR edge probes', () => {
  it('hold the first and last address of the block and the addresses just outside it', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        const c = parseCidr(`${ip}/${prefix}`)!;
        const edges = cidrEdges(c);
        const inside = edges.filter((x) => c.contains(x));
        const outside = edges.filter((x) => !c.contains(x));
        // The block's ends are inside, and the address written is probed.
        assert.ok(inside.length >= 1 && inside.length <= 3, JSON.stringify(edges));
        assert.ok(edges.includes(ip));
        // Just outside on each side, unless the block ends the address space there.
        assert.ok(prefix === 0 ? outside.length === 0 : outside.length >= 1 && outside.length <= 2, JSON.stringify(edges));
        // The block one bit wider (it and its sibling) differs from it at one of these.
        const wider = prefix > 0 ? parseCidr(`${ip}/${prefix - 1}`)! : undefined;
        if (wider !== undefined) assert.ok(edges.some((x) => wider.contains(x) !== c.contains(x)));
      }),
    );
  });
});

describe('selector probes', () => {
  // Two keys and two values, so that selectors overlap often; `ztmap-other` is the probes' filler.
  const key = fc.constantFrom('app', 'tier');
  const values = fc.subarray(['a', 'b', OTHER_SEGMENT], { minLength: 1 });
  const requirement = fc.oneof(
    fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values }),
    fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant<string[]>([]) }),
  );
  const selector: fc.Arbitrary<LabelSelector> = fc.record({ matchLabels: fc.dictionary(key, fc.constantFrom('a', 'b'), { maxKeys: 2 }), matchExpressions: fc.array(requirement, { maxLength: 3 }) });
  const pod = fc.dictionary(key, fc.constantFrom('a', 'b', 'c', OTHER_SEGMENT), { maxKeys: 2 });

  it('tell two selectors apart wherever some pod tells them apart', () => {
    fc.assert(
      fc.property(selector, selector, pod, (a, b, labels) => {
        fc.pre(matchesSelector(a, labels) !== matchesSelector(b, labels));
        // What the diff makes up in a namespace: each selector's sets, and a pod without labels.
        const tried = [...labelSetsFor(a), ...labelSetsFor(b), {}];
        assert.ok(
          tried.some((l) => matchesSelector(a, l) !== matchesSelector(b, l)),
          `${JSON.stringify(a)} vs ${JSON.stringify(b)} differ on ${JSON.stringify(labels)}, on none of ${JSON.stringify(tried)}`,
        );
      }),
      { numRuns: 3000 },
    );
  });
});
