import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Flow } from '../../src/flow/flow.js';
import type { Identity, ResolvedFlow } from '../../src/flow/identity.js';
import { FOLD_SKETCH, requestsOf } from '../../src/graph/attributes.js';
import { GraphBuilder, mergeGraphs } from '../../src/graph/build.js';
import { endpointHash, endpointOrder, foldedTotals } from '../../src/graph/fold.js';
import { graphFromJson, graphToJson } from '../../src/graph/json.js';
import { inferRules } from '../../src/infer/infer.js';
import { buildInventory } from '../../src/inventory/inventory.js';

const workload = (n: number): Identity => ({
  kind: 'workload',
  key: `ns/Deployment/w${n}`,
  namespace: 'ns',
  workloadKind: 'Deployment',
  name: `w${n}`,
  serviceAccount: `sa${n}`,
  labels: { app: `w${n}` },
});
const host = (n: number, ip?: number): Identity => ({ kind: 'world', key: `world:h${n}.example.com`, name: `h${n}.example.com`, ...(ip === undefined ? {} : { ip: `203.0.113.${ip}` }) });
const client = (n: number): Identity => ({ kind: 'unknown', key: `unknown:10.9.0.${n}`, name: `10.9.0.${n}`, ip: `10.9.0.${n}` });

function flowOf(source: Identity, destination: Identity, port: number, o: { t?: number; path?: string; reporter?: 'client' | 'server' } = {}): ResolvedFlow {
  const reporter = o.reporter ?? 'client';
  const flow: Flow = {
    source: {},
    destination: {},
    protocol: o.path === undefined ? 'tcp' : 'http',
    ...(o.path === undefined ? {} : { l7: { method: 'GET', path: o.path } }),
    mtls: 'unknown',
    responseCode: 200,
    ...(o.t === undefined ? {} : { timestamp: o.t }),
    count: 1,
    reporter,
    evidence: { decoder: 'envoy-text', location: { file: 'f' } },
  };
  return { flow, source, destination, port, reporter, mtls: 'unknown' };
}

const build = (flows: ResolvedFlow[], cap: number) => {
  const b = new GraphBuilder({ maxExternalEndpoints: cap });
  for (const f of flows) b.add(f);
  return b.toGraph();
};

// Flows of a small mesh with a long tail: 3 workloads calling up to 12 external hosts (with
// changing addresses) on two ports, and external clients calling them.
const arbFlow: fc.Arbitrary<ResolvedFlow> = fc
  .record({
    w: fc.integer({ min: 0, max: 2 }),
    peer: fc.integer({ min: 0, max: 11 }),
    ip: fc.option(fc.integer({ min: 1, max: 4 })),
    port: fc.constantFrom(443, 8080),
    inbound: fc.boolean(),
    toWorkload: fc.boolean(),
    path: fc.option(fc.integer({ min: 0, max: 5 }).map((n) => `/p${n}`)),
    t: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_000 + 5 * 86_400_000 }),
    reporter: fc.constantFrom('client' as const, 'server' as const),
  })
  .map((r) =>
    r.toWorkload
      ? flowOf(workload(r.w), workload((r.w + 1) % 3), r.port, { t: r.t, reporter: r.reporter, ...(r.path === null ? {} : { path: r.path }) })
      : r.inbound
        ? flowOf(client(r.peer), workload(r.w), r.port, { t: r.t, reporter: r.reporter })
        : flowOf(workload(r.w), host(r.peer, r.ip ?? undefined), r.port, { t: r.t, reporter: r.reporter, ...(r.path === null ? {} : { path: r.path }) }),
  );

describe('graph: folding the long tail of external endpoints', () => {
  it('keeps the cap of endpoints with the smallest hashes per workload and port, and folds the rest with their counts', () => {
    const flows = Array.from({ length: 10 }, (_, i) => flowOf(workload(0), host(i, i), 443));
    flows.push(flowOf(workload(0), host(0, 0), 443), flowOf(workload(0), host(1, 1), 80));
    const g = build(flows, 3);
    const expectedKept = Array.from({ length: 10 }, (_, i) => host(i).key)
      .sort((a, b) => endpointOrder(endpointHash(a), a, endpointHash(b), b))
      .slice(0, 3);
    const targets443 = g.outEdges('ns/Deployment/w0').map((k) => g.getEdgeAttributes(k)).filter((a) => a.port === 443);
    assert.deepEqual(targets443.map((a) => a.target).filter((t) => t !== 'world:(other)').sort(), [...expectedKept].sort());
    const other = g.getEdgeAttributes('ns/Deployment/w0->world:(other):443/tcp');
    assert.equal(other.folded?.endpoints, 7);
    assert.equal(other.folded?.exact, true);
    const total = targets443.reduce((n, a) => n + requestsOf(a), 0);
    assert.equal(total, 11, 'every request on port 443 is counted once, kept or folded');
    // Port 80 is a bucket of its own: its one endpoint keeps its edge.
    assert.ok(g.hasEdge('ns/Deployment/w0->world:h1.example.com:80/tcp'));
    // A folded host is no node; the "other" node carries no address.
    const nodes = g.nodes().filter((n) => n.startsWith('world:'));
    assert.equal(nodes.length, new Set([...expectedKept, host(1).key, 'world:(other)']).size);
    assert.deepEqual(g.getNodeAttributes('world:(other)').ips, []);
    assert.deepEqual(foldedTotals(g), { edges: 1, endpoints: 7, exact: true, requests: 7 + (expectedKept.includes(host(0).key) ? 0 : 1) });
  });

  it('property: folding does not depend on the order of the flows, nor on how they are split and merged', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbFlow, fc.boolean()), { maxLength: 150 }), fc.integer({ min: 0, max: 4 }), (tagged, cap) => {
        const all = tagged.map(([f]) => f);
        const whole = graphToJson(build(all, cap));
        assert.equal(graphToJson(build([...all].reverse(), cap)), whole);
        const left = tagged.filter(([, s]) => s).map(([f]) => f);
        const right = tagged.filter(([, s]) => !s).map(([f]) => f);
        assert.equal(graphToJson(mergeGraphs(build(left, cap), build(right, cap), cap)), whole);
        assert.equal(graphToJson(mergeGraphs(build(right, cap), build(left, cap), cap)), whole);
      }),
      { seed: 41, numRuns: 300 },
    );
  });

  it('property: merging folded graphs is associative and commutative', () => {
    fc.assert(
      fc.property(fc.array(arbFlow, { maxLength: 60 }), fc.array(arbFlow, { maxLength: 60 }), fc.array(arbFlow, { maxLength: 60 }), fc.integer({ min: 0, max: 3 }), (a, b, c, cap) => {
        const [ga, gb, gc] = [build(a, cap), build(b, cap), build(c, cap)];
        const m = (x: typeof ga, y: typeof ga) => mergeGraphs(x, y, cap);
        assert.equal(graphToJson(m(m(ga, gb), gc)), graphToJson(m(ga, m(gb, gc))));
        assert.equal(graphToJson(m(ga, gb)), graphToJson(m(gb, ga)));
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  it('a route whose edge was folded later counts its repeats on the "other" edge', () => {
    const b = new GraphBuilder({ maxExternalEndpoints: 1 });
    // Of two hosts, the one with the larger hash is folded when the smaller arrives.
    const [small, large] = [host(0), host(1)].sort((x, y) => endpointOrder(endpointHash(x.key), x.key, endpointHash(y.key), y.key));
    const tally = b.add(flowOf(workload(0), large!, 443));
    b.add(flowOf(workload(0), small!, 443));
    b.repeat(tally, 'client', 'unknown', { timestamp: 1_700_000_000_000, responseCode: 200, method: undefined, raw: Buffer.alloc(0), pathStart: -1, pathEnd: -1, file: 'f', line: 3 });
    const g = b.toGraph();
    assert.ok(!g.hasNode(large!.key));
    const other = g.getEdgeAttributes('ns/Deployment/w0->world:(other):443/tcp');
    assert.equal(other.client.requests, 2);
    assert.deepEqual(other.folded, { endpoints: 1, exact: true, hashes: [endpointHash(large!.key)] });
  });

  it('memory follows the cap: a flood of distinct destinations keeps cap + 1 edges per bucket, and estimates how many were folded', () => {
    const b = new GraphBuilder({ maxExternalEndpoints: 5 });
    const n = 20_000;
    for (let i = 0; i < n; i++) b.add(flowOf(workload(0), host(i), 443));
    assert.equal(b.edgeCount, 6);
    const g = b.toGraph();
    const f = g.getEdgeAttributes('ns/Deployment/w0->world:(other):443/tcp').folded!;
    assert.equal(f.exact, false);
    assert.equal(f.hashes.length, FOLD_SKETCH);
    // k-minimum values with k = 256: a relative error of about 1/sqrt(k), 6%; allow 25%.
    assert.ok(Math.abs(f.endpoints - (n - 5)) < 0.25 * n, `estimate ${f.endpoints} of ${n - 5}`);
  });

  it('a host that calls itself "(other)" is folded, never a destination of its own', () => {
    const g = build([flowOf(workload(0), { kind: 'world', key: 'world:(other)', name: '(other)', ip: '198.51.100.1' }, 443)], 10);
    const e = g.getEdgeAttributes('ns/Deployment/w0->world:(other):443/tcp');
    assert.deepEqual(e.folded, { endpoints: 0, exact: true, hashes: [] });
    assert.deepEqual(g.getNodeAttributes('world:(other)').ips, []);
  });

  it('reads back a folded graph as it wrote it', () => {
    const flows = fc.sample(arbFlow, { seed: 8, numRuns: 200 });
    const text = graphToJson(build(flows, 2));
    assert.match(text, /"folded":/);
    assert.equal(graphToJson(graphFromJson(text, 'g.json')), text);
  });

  it('propose allows no folded endpoint: the "other" edge is an exclusion with a blocker saying what to do', () => {
    const flows = Array.from({ length: 6 }, (_, i) => flowOf(workload(0), host(i, i), 443));
    const rules = inferRules(build(flows, 2), buildInventory([]));
    assert.equal(rules.rules.filter((r) => r.to.key === 'world:(other)').length, 0);
    assert.equal(rules.rules.filter((r) => r.to.kind === 'world').length, 2);
    const ex = rules.excluded.filter((x) => x.reason === 'folded-endpoints');
    assert.equal(ex.length, 1);
    assert.equal(ex[0]!.evidence.requests, 4);
    const blockers = rules.findings.filter((f) => f.severity === 'blocker' && f.message.includes('--max-external-endpoints'));
    assert.equal(blockers.length, 1);
    assert.match(blockers[0]!.message, /^4 external destination/);
  });
});
