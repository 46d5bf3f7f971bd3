// Issue 12, part 7: manifestYaml writes the block structure itself and takes every scalar token
// from the `yaml` library. On random manifests of hostile text it must write the very bytes the
// library's Document writes (manifestYamlByDocument, its fallback), and they must parse back to
// the manifest.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import YAML from 'yaml';
import type { Manifest } from '../../src/policy/manifest.js';
import { manifestYaml, manifestYamlByDocument, prefetchTokens, type NodeComment } from '../../src/policy/yaml.js';

// Text that YAML would read as something else, or that could end a scalar, a line or a document.
const HOSTILE = [
  '', ' ', 'a: b', 'a:b', ': ', '#', 'a #b', ' #', '- ', '-', '- x', '? ', '?', '"', "'", "it's", '"q"', ' lead', 'trail ', '*a', '&a', '!tag', '!!str',
  '{}', '[]', '{a: 1}', '[1, 2]', ',', '|', '>', '%TAG', '@', '`', '---', '...', '--- x', '... x', 'x\n---\ny', '9080', '0x1F', '0o17', '1e3', '-1', '.5', '+1',
  '.inf', '-.inf', '.nan', 'true', 'false', 'True', 'null', 'Null', '~', 'yes', 'no', 'on', 'off', 'y', '<<', '=', '2026-11-24', '12:30:00', 'é', '名前', '🚀',
  '\u202e', '\u2028', '\u0085', '\ufeff', '\ud800', '\t', 'a\tb', '\r', 'a\rb', '\\', '\\n', '\u0000', '\u001b[31m', '\u007f',
  'x'.repeat(1000), 'a b '.repeat(300), '__proto__', 'constructor', 'toString',
];
// Rarer, as each sends its whole manifest to the Document path: text the library writes over
// several lines, and keys it writes as `? key` (longer than 1024).
const FALLBACK = ['\n', 'a\nb', 'a\n\nb', ' a\n b ', 'x\n---\ny', 'x\n...', 'k'.repeat(1100)];
const arbText = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.constantFrom(...FALLBACK) },
  { weight: 30, arbitrary: fc.array(fc.constantFrom(...HOSTILE, 'a', 'b', '-', ' ', ':', '#', '1'), { maxLength: 4 }).map((p) => p.join('')) },
  { weight: 20, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 20, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/) },
);
const arbScalar = fc.oneof(arbText, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));

const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbScalar,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(arbText, fc.oneof({ weight: 8, arbitrary: tie('tree') }, { weight: 1, arbitrary: fc.constant(undefined) }), { maxKeys: 4 }),
  ),
}));

const arbManifest: fc.Arbitrary<Manifest> = fc.record({
  apiVersion: fc.oneof(fc.constantFrom('networking.k8s.io/v1', 'security.istio.io/v1'), arbText),
  kind: fc.oneof(fc.constantFrom('NetworkPolicy', 'AuthorizationPolicy'), arbText),
  metadata: fc.record(
    { name: arbText, namespace: arbText, labels: fc.dictionary(arbText, arbText, { maxKeys: 4 }), annotations: fc.dictionary(arbText, arbText, { maxKeys: 3 }) },
    { requiredKeys: ['name', 'namespace'] },
  ),
  spec: fc.dictionary(arbText, tree, { maxKeys: 5 }),
});

/** Every path in `v` to a node, the empty path first: where a NodeComment may point. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (x !== undefined) out.push(...paths(x, [...at, k]));
  return out;
}

const arbComments = fc.array(
  fc.record({
    pick: fc.nat(),
    // Mostly before a sequence item under a key, as the emitters place theirs; now and then
    // before any node, or at a path that leads nowhere (both left to the Document path).
    where: fc.constantFrom(...Array<'item'>(30).fill('item'), 'any' as const),
    bogus: fc.oneof({ weight: 40, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.array(fc.oneof(arbText, fc.nat(3)), { maxLength: 3 }) }),
    text: fc.array(arbText, { minLength: 1, maxLength: 3 }).map((l) => l.join('\n')),
  }),
  { maxLength: 4 },
);

const arbCase = fc.record({ m: arbManifest, header: fc.array(arbText, { maxLength: 3 }), picks: arbComments }).map(({ m, header, picks }) => {
  const all = paths(m);
  const items = all.filter((p) => typeof p[p.length - 1] === 'number' && typeof p[p.length - 2] === 'string');
  const comments: NodeComment[] = picks.flatMap(({ pick, where, bogus, text }) => {
    const pool = where === 'item' ? items : all;
    return bogus !== undefined ? [{ path: bogus, text }] : pool.length > 0 ? [{ path: pool[pick % pool.length] ?? [], text }] : [];
  });
  return { m, header, comments };
});

/** The manifest as manifestYaml orders it, without what it drops: what parsing its output must give. */
function expected(m: Manifest): unknown {
  const plain = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(plain) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)])) : v;
  const md: Record<string, unknown> = { name: m.metadata.name, namespace: m.metadata.namespace };
  if (m.metadata.labels !== undefined && Object.keys(m.metadata.labels).length > 0) md['labels'] = m.metadata.labels;
  if (m.metadata.annotations !== undefined && Object.keys(m.metadata.annotations).length > 0) md['annotations'] = m.metadata.annotations;
  return plain({ apiVersion: m.apiVersion, kind: m.kind, metadata: md, spec: m.spec });
}

describe('manifestYaml (the fast writer)', () => {
  it('writes the bytes the library Document writes, on random manifests of hostile text with header and node comments', () => {
    fc.assert(
      fc.property(arbCase, ({ m, header, comments }) => {
        assert.equal(manifestYaml(m, header, comments), manifestYamlByDocument(m, header, comments));
      }),
      { numRuns: 3000 },
    );
  });

  it('writes the same bytes when a manifest brings many scalars not seen before (fetched from the library together)', () => {
    // Fresh text each run, so the tokens are not memoized yet: keys (integer-like ones are
    // listed first by an object), values and items, many of each in one manifest.
    const fresh = fc.oneof(arbText, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }), fc.integer().map(String), fc.nat().map(String));
    const many = fc.record({
      keys: fc.dictionary(fresh, fc.oneof(fresh, fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 40 }),
      items: fc.array(fc.oneof(fresh, fc.integer(), fc.double(), fc.constant(null)), { maxLength: 40 }),
    });
    fc.assert(
      fc.property(many, ({ keys, items }) => {
        const m: Manifest = { apiVersion: 'v1', kind: 'K', metadata: { name: 'n', namespace: 'ns', labels: keys as Record<string, string> }, spec: { values: keys, items: [items, { k: items }] } };
        assert.equal(manifestYaml(m, [], [{ path: ['spec', 'items', 0], text: 'c' }]), manifestYamlByDocument(m, [], [{ path: ['spec', 'items', 0], text: 'c' }]));
      }),
      { numRuns: 500 },
    );
  });

  it('writes the same bytes after prefetchTokens fetched the tokens of many manifests together (one scalar over several lines among them)', () => {
    // Fresh scalars each run (integers outside the other properties' range) and hostile text,
    // so the batches hold misses, and now and then a scalar that splits its batch.
    const fresh = fc.oneof(arbText, fc.integer({ min: 2 ** 40, max: 2 ** 50 }), fc.integer({ min: 2 ** 40, max: 2 ** 50 }).map(String));
    const arbManifests = fc.array(
      fc.record({ name: fresh, items: fc.array(fresh, { maxLength: 6 }), value: fresh }).map(
        ({ name, items, value }): Manifest => ({ apiVersion: 'v1', kind: 'K', metadata: { name: String(name), namespace: 'ns' }, spec: { items, [String(name)]: value } }),
      ),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(arbManifests, (ms) => {
        prefetchTokens(ms);
        for (const m of ms) assert.equal(manifestYaml(m), manifestYamlByDocument(m));
      }),
      { numRuns: 300 },
    );
  });

  it('writes text that parses back to the manifest', () => {
    fc.assert(
      fc.property(arbCase, ({ m, header, comments }) => {
        // YAML.parse would make a `__proto__` key the prototype: compare entries, which it keeps as keys.
        const parsed: unknown = YAML.parse(manifestYaml(m, header, comments), { version: '1.2' });
        assert.deepStrictEqual(JSON.parse(JSON.stringify(parsed, rawNumbers)), JSON.parse(JSON.stringify(expected(m), rawNumbers)));
      }),
      { numRuns: 1000 },
    );
  });

  it('writes a typical manifest as the golden files show it: header, blank line, comments above the `- ` of a rule', () => {
    const m: Manifest = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p', namespace: 'default', annotations: { 'z.io/b': '2', 'z.io/a': '1' } },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'r' } } }], ports: [{ protocol: 'TCP', port: 9080 }] }, {}] },
    };
    const y = manifestYaml(m, ['Ingress to r.', '\u001b[31mred'], [{ path: ['spec', 'ingress', 0], text: 'a -> r\nb -> r' }, { path: ['spec', 'ingress', 1], text: '' }]);
    assert.equal(
      y,
      [
        '# Ingress to r.',
        '# \\u001B[31mred',
        '',
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata:',
        '  name: p',
        '  namespace: default',
        '  annotations:',
        '    z.io/a: "1"',
        '    z.io/b: "2"',
        'spec:',
        '  podSelector: {}',
        '  policyTypes:',
        '    - Ingress',
        '  ingress:',
        '    # a -> r',
        '    # b -> r',
        '    - from:',
        '        - podSelector:',
        '            matchLabels:',
        '              app: r',
        '      ports:',
        '        - protocol: TCP',
        '          port: 9080',
        '    #',
        '    - {}',
        '',
      ].join('\n'),
    );
    assert.equal(y, manifestYamlByDocument(m, ['Ingress to r.', '\u001b[31mred'], [{ path: ['spec', 'ingress', 0], text: 'a -> r\nb -> r' }, { path: ['spec', 'ingress', 1], text: '' }]));
  });
});

/** JSON cannot hold NaN, ±Infinity or -0: write them as text on both sides of the comparison. */
function rawNumbers(_key: string, v: unknown): unknown {
  return typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? `number:${String(v)}` : v;
}
