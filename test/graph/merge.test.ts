import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Flow } from '../../src/flow/flow.js';
import type { Identity, ResolvedFlow } from '../../src/flow/identity.js';
import { allowedView, requestsOf } from '../../src/graph/attributes.js';
import { GraphBuilder, mergeGraphs } from '../../src/graph/build.js';
import { graphFromJson, graphToJson } from '../../src/graph/json.js';

const workload = (n: number, sa: number): Identity => ({
  kind: 'workload',
  key: `ns${n % 2}/Deployment/w${n}`,
  namespace: `ns${n % 2}`,
  workloadKind: 'Deployment',
  name: `w${n}`,
  serviceAccount: `sa${sa}`,
  labels: { app: `w${n}`, ...(sa === 0 ? { tier: 'x' } : {}) },
});

const arbFlow: fc.Arbitrary<ResolvedFlow> = fc
  .record({
    src: fc.integer({ min: 0, max: 3 }),
    dst: fc.integer({ min: 0, max: 3 }),
    sa: fc.integer({ min: 0, max: 1 }),
    port: fc.constantFrom(80, 9080),
    protocol: fc.constantFrom('http' as const, 'tcp' as const),
    method: fc.constantFrom('GET', 'POST', 'bad method'),
    path: fc.oneof(fc.integer({ min: 0, max: 400 }).map((n) => `/p${n}/42`), fc.constant('/x?y=1')),
    reporter: fc.constantFrom('client' as const, 'server' as const),
    mtls: fc.constantFrom('mutual' as const, 'plaintext' as const, 'unknown' as const),
    code: fc.constantFrom(0, 200, 404, 503),
    // Spans ten UTC days, so day sets differ between halves.
    ts: fc.option(fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_000 + 10 * 86_400_000 })),
    count: fc.integer({ min: 1, max: 3 }),
    world: fc.boolean(),
    // Some requests refused by the mesh: kept per operation, merged like every other attribute.
    denial: fc.option(fc.record({ kind: fc.constantFrom('rbac' as const, 'ext-authz' as const, 'no-route' as const), policy: fc.option(fc.constantFrom('ns[a]-policy[p]-rule[0]', 'q')) }), { freq: 3 }),
  })
  .map((r): ResolvedFlow => {
    const flow: Flow = {
      source: {},
      destination: { service: `svc${r.dst}.ns.svc.cluster.local` },
      protocol: r.protocol,
      ...(r.protocol === 'http' ? { l7: { method: r.method, path: r.path } } : {}),
      mtls: r.mtls,
      responseCode: r.code,
      ...(r.ts === null ? {} : { timestamp: r.ts }),
      count: r.count,
      reporter: r.reporter,
      ...(r.denial === null ? {} : { denial: r.denial.policy === null ? { kind: r.denial.kind } : { kind: r.denial.kind, policy: r.denial.policy } }),
      evidence: { decoder: r.reporter === 'client' ? 'envoy-text' : 'envoy-json', location: { file: 'f' } },
    };
    const source: Identity = r.world ? { kind: 'world', key: `world:203.0.113.${r.src}`, name: `203.0.113.${r.src}`, ip: `203.0.113.${r.src}` } : workload(r.src, r.sa);
    return { flow, source, destination: workload(r.dst, 0), port: r.port, reporter: r.reporter, mtls: r.mtls };
  });

const build = (flows: ResolvedFlow[]) => {
  const b = new GraphBuilder();
  for (const f of flows) b.add(f);
  return b.toGraph();
};
const json = (flows: ResolvedFlow[]) => graphToJson(build(flows));

describe('graph aggregation', () => {
  it('property: the graph of two halves merged, in either order, is the graph of the whole', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbFlow, fc.boolean()), { maxLength: 120 }), (tagged) => {
        const all = tagged.map(([f]) => f);
        const left = tagged.filter(([, side]) => side).map(([f]) => f);
        const right = tagged.filter(([, side]) => !side).map(([f]) => f);
        const whole = json(all);
        assert.equal(graphToJson(mergeGraphs(build(left), build(right))), whole);
        assert.equal(graphToJson(mergeGraphs(build(right), build(left))), whole);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it('property: merging is associative, and insertion order does not matter', () => {
    fc.assert(
      fc.property(fc.array(arbFlow, { maxLength: 60 }), fc.array(arbFlow, { maxLength: 60 }), fc.array(arbFlow, { maxLength: 60 }), (a, b, c) => {
        const [ga, gb, gc] = [build(a), build(b), build(c)];
        assert.equal(graphToJson(mergeGraphs(mergeGraphs(ga, gb), gc)), graphToJson(mergeGraphs(ga, mergeGraphs(gb, gc))));
        assert.equal(json([...a, ...b]), json([...b, ...a].reverse()));
      }),
      { seed: 12, numRuns: 100 },
    );
  });

  it('property: capped path sets merge the same way when an edge has more paths than the cap', () => {
    const many = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i): ResolvedFlow => ({
        flow: { source: {}, destination: {}, protocol: 'http', l7: { method: 'GET', path: `/p${from + i}` }, mtls: 'mutual', responseCode: 200, count: 1, reporter: 'server', evidence: { decoder: 's', location: { file: 'f' } } },
        source: workload(1, 0),
        destination: workload(2, 0),
        port: 80,
        reporter: 'server',
        mtls: 'mutual',
      }));
    const whole = build(many(0, 700));
    const [e] = whole.edges();
    assert.equal(whole.getEdgeAttribute(e!, 'pathsTruncated'), true);
    assert.equal(whole.getEdgeAttribute(e!, 'paths').length, 200);
    assert.equal(graphToJson(mergeGraphs(build(many(300, 700)), build(many(0, 300)))), graphToJson(whole));
  });

  const onDay = (t: number): ResolvedFlow => ({
    flow: { source: {}, destination: {}, protocol: 'tcp', mtls: 'mutual', responseCode: 0, timestamp: t, count: 1, reporter: 'server', evidence: { decoder: 's', location: { file: 'f' } } },
    source: workload(1, 0),
    destination: workload(2, 0),
    port: 80,
    reporter: 'server',
    mtls: 'mutual',
  });

  it('keeps the distinct UTC days an edge was seen on, not the span from first to last', () => {
    const day = (d: number, h: number) => Date.UTC(2026, 10, d, h);
    // Nov 1 (twice), Nov 3 at 23:59 and Nov 4 at 00:00 (two days), Nov 9: 4 days over a span of 9.
    const g = build([day(9, 1), day(1, 5), day(1, 6), Date.UTC(2026, 10, 3, 23, 59, 59, 999), day(4, 0)].map(onDay));
    const [e] = g.edges();
    assert.deepEqual(g.getEdgeAttribute(e!, 'days'), ['2026-11-01', '2026-11-03', '2026-11-04', '2026-11-09']);
  });

  it('property: capped day sets merge the same way when an edge was seen on more days than the cap', () => {
    // Forged timestamps can name any day; the set is capped like paths, smallest kept.
    const days = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => onDay((from + i) * 86_400_000 + 7));
    const whole = build([...days(0, 1500), ...days(2000, 3500)]);
    const [e] = whole.edges();
    const kept = whole.getEdgeAttribute(e!, 'days');
    assert.equal(kept.length, 1000);
    assert.equal(kept[0], '1970-01-01');
    assert.equal(graphToJson(mergeGraphs(build(days(2000, 3500)), build(days(0, 1500)))), graphToJson(whole));
    assert.equal(graphToJson(build([...days(2000, 3500), ...days(0, 1500)].reverse())), graphToJson(whole));
  });

  it('counts a request logged by both sidecars once, and keeps mTLS evidence from the server side', () => {
    const [f] = fc.sample(arbFlow, { seed: 5, numRuns: 1 });
    const { denial: _refused, ...allowed } = f!.flow;
    const client: ResolvedFlow = { ...f!, reporter: 'client', mtls: 'unknown', flow: { ...allowed, count: 1 } };
    const server: ResolvedFlow = { ...f!, reporter: 'server', mtls: 'mutual', flow: { ...allowed, count: 1 } };
    const g = build([client, server, client, server]);
    const [e] = g.edges();
    const a = g.getEdgeAttributes(e!);
    assert.equal(requestsOf(a), 2);
    assert.equal(a.server.mutual, 2);
  });

  it('keeps refused requests apart from allowed ones, per operation, and the server proxy\'s own view', () => {
    const [f] = fc.sample(arbFlow.filter((x) => x.flow.protocol === 'http'), { seed: 3, numRuns: 1 });
    const { denial: _refused, ...base } = f!.flow;
    const at = (reporter: 'client' | 'server', path: string, denial?: Flow['denial']): ResolvedFlow => ({
      ...f!,
      reporter,
      mtls: reporter === 'server' ? 'mutual' : 'unknown',
      flow: { ...base, count: 1, timestamp: 1_700_000_000_000, l7: { method: 'POST', path }, ...(denial === undefined ? {} : { denial }) },
    });
    // gRPC-style: the client's line of a refused call reads as success.
    const g = build([at('client', '/ok'), at('server', '/ok'), at('client', '/no'), at('server', '/no', { kind: 'rbac', policy: 'ns[a]-policy[p]-rule[0]' })]);
    const a = g.getEdgeAttributes(g.edges()[0]!);
    assert.deepEqual(a.paths, ['/no', '/ok'], 'the union: what the client saw');
    assert.deepEqual(a.serverPaths, ['/ok']);
    assert.equal(a.server.requests, 1);
    assert.deepEqual(a.denied.map((d) => [d.reporter, d.kind, d.policy, d.method, d.path, d.requests]), [['server', 'rbac', 'ns[a]-policy[p]-rule[0]', 'POST', '/no', 1]]);
    assert.deepEqual(allowedView(a), { requests: 1, methods: ['POST'], paths: ['/ok'], pathsTruncated: false, serverView: true });
  });

  it('reads back what it writes', () => {
    const flows = fc.sample(arbFlow, { seed: 9, numRuns: 50 });
    const text = json(flows);
    assert.equal(graphToJson(graphFromJson(text, 'g.json')), text);
  });
});
