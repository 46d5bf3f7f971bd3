// Fusion of sources (graph/attributes.ts, fusedSides): the same traffic described by several
// sources counts once, each source's own counts are kept as provenance, and merging stays
// associative and commutative with sources in the mix.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Flow, Mtls } from '../../src/flow/flow.js';
import type { Identity, ResolvedFlow } from '../../src/flow/identity.js';
import { requestsBySource, requestsOf } from '../../src/graph/attributes.js';
import { GraphBuilder, mergeGraphs } from '../../src/graph/build.js';
import type { ServiceGraph } from '../../src/graph/graph.js';
import { graphToJson } from '../../src/graph/json.js';
import { withConnectionsAbsorbed } from '../../src/graph/fuse.js';

const workload = (n: number): Identity => ({ kind: 'workload', key: `ns/Deployment/w${n}`, namespace: 'ns', workloadKind: 'Deployment', name: `w${n}`, serviceAccount: `sa${n}` });

interface Traffic {
  from: number;
  to: number;
  port: number;
  requests: number;
  reporter: 'client' | 'server';
  mtls: Mtls;
  t: number;
}

const arbTraffic: fc.Arbitrary<Traffic> = fc.record({
  from: fc.integer({ min: 0, max: 3 }),
  to: fc.integer({ min: 0, max: 3 }),
  port: fc.constantFrom(8080, 9080),
  requests: fc.integer({ min: 1, max: 50 }),
  reporter: fc.constantFrom('client' as const, 'server' as const),
  mtls: fc.constantFrom('mutual' as const, 'plaintext' as const, 'unknown' as const),
  t: fc.integer({ min: 1_764_000_000_000, max: 1_764_000_000_000 + 3 * 86_400_000 }),
});

/** Traffic as one source sees it: access logs one flow per request, metrics one count per series. */
function flowsOf(t: Traffic, decoder: 'envoy-text' | 'istio-metrics'): ResolvedFlow[] {
  const flow = (count: number): ResolvedFlow => {
    const f: Flow = { source: {}, destination: {}, protocol: 'tcp', mtls: t.mtls, responseCode: 0, timestamp: t.t, count, reporter: t.reporter, evidence: { decoder, location: { file: 'f' } } };
    return { flow: f, source: workload(t.from), destination: workload(t.to), port: t.port, reporter: t.reporter, mtls: t.mtls };
  };
  return decoder === 'envoy-text' ? Array.from({ length: t.requests }, () => flow(1)) : [flow(t.requests)];
}

function graphOf(traffic: readonly Traffic[], source: string, decoder: 'envoy-text' | 'istio-metrics', protocol: 'tcp' | 'http' = 'tcp'): ServiceGraph {
  const b = new GraphBuilder({ source });
  for (const t of traffic) {
    for (const f of flowsOf(t, decoder)) {
      if (protocol === 'http') f.flow = { ...f.flow, protocol, l7: { method: 'GET', path: '/x' } };
      b.add(f);
    }
  }
  return b.toGraph();
}

/** Every edge's counts, without the provenance. */
function counts(g: ServiceGraph): unknown[] {
  return g
    .edges()
    .sort()
    .map((k) => {
      const a = g.getEdgeAttributes(k);
      return [k, a.client, a.server, a.firstSeen, a.lastSeen];
    });
}

describe('fusion of sources', () => {
  it('property: a second source describing the same requests changes no count, only the provenance', () => {
    fc.assert(
      fc.property(fc.array(arbTraffic, { maxLength: 30 }), (traffic) => {
        const logs = graphOf(traffic, 'access-log', 'envoy-text');
        const fused = mergeGraphs(logs, graphOf(traffic, 'istio-metrics', 'istio-metrics'));
        assert.deepEqual(counts(fused), counts(logs));
        fused.forEachEdge((_k, a) => {
          const by = requestsBySource(a);
          assert.deepEqual(Object.keys(by), ['access-log', 'istio-metrics']);
          assert.equal(by['access-log'], by['istio-metrics']);
          assert.equal(requestsOf(a), by['access-log']);
        });
      }),
      { seed: 13, numRuns: 200 },
    );
  });

  it('property: an edge counts what its most complete source counted, never the sum', () => {
    fc.assert(
      fc.property(fc.array(arbTraffic, { maxLength: 20 }), fc.array(arbTraffic, { maxLength: 20 }), (a, b) => {
        const ga = graphOf(a, 'access-log', 'envoy-text');
        const gb = graphOf(b, 'hubble', 'envoy-text');
        const fused = mergeGraphs(ga, gb);
        fused.forEachEdge((k, e) => {
          const ra = ga.hasEdge(k) ? requestsOf(ga.getEdgeAttributes(k)) : 0;
          const rb = gb.hasEdge(k) ? requestsOf(gb.getEdgeAttributes(k)) : 0;
          assert.equal(requestsOf(e), Math.max(ra, rb));
        });
      }),
      { seed: 14, numRuns: 200 },
    );
  });

  it("property: Hubble's connections are taken into the logs' HTTP edges of the same pair and port, never counted beside them", () => {
    fc.assert(
      fc.property(fc.array(arbTraffic, { minLength: 1, maxLength: 20 }), fc.array(arbTraffic, { maxLength: 20 }), (logsTraffic, extra) => {
        const logs = graphOf(logsTraffic, 'access-log', 'envoy-text', 'http');
        // Hubble saw the logs' connections (fewer: connections, not requests) and maybe more.
        const connections = logsTraffic.map((t) => ({ ...t, requests: Math.max(1, t.requests >> 1) }));
        const fused = withConnectionsAbsorbed(mergeGraphs(logs, graphOf([...connections, ...extra], 'hubble', 'envoy-text')));
        const pairs = new Set(logs.edges().map((k) => k.replace(/\/http$/, '')));
        fused.forEachEdge((k, a) => {
          const pair = k.replace(/\/(http|tcp)$/, '');
          if (pairs.has(pair)) {
            assert.equal(a.protocol, 'http', `${k}: a tcp edge beside the logs' http edge`);
            assert.ok('hubble' in a.sources && 'access-log' in a.sources, k);
            assert.equal(requestsOf(a), Math.max(requestsOf(logs.getEdgeAttributes(k)), requestsBySource(a)['hubble']!));
          } else assert.equal(a.protocol, 'tcp', k);
        });
      }),
      { seed: 16, numRuns: 150 },
    );
  });

  it('property: merging graphs of several sources is associative and commutative', () => {
    const arbPart = fc.record({ traffic: fc.array(arbTraffic, { maxLength: 12 }), source: fc.constantFrom('access-log', 'istio-metrics', 'hubble') });
    fc.assert(
      fc.property(arbPart, arbPart, arbPart, (x, y, z) => {
        const [a, b, c] = [x, y, z].map((p) => graphOf(p.traffic, p.source, 'envoy-text')) as [ServiceGraph, ServiceGraph, ServiceGraph];
        const left = graphToJson(mergeGraphs(mergeGraphs(a, b), c));
        assert.equal(graphToJson(mergeGraphs(a, mergeGraphs(b, c))), left);
        assert.equal(graphToJson(mergeGraphs(mergeGraphs(c, a), b)), left);
        assert.equal(graphToJson(mergeGraphs(b, mergeGraphs(c, a))), left);
      }),
      { seed: 15, numRuns: 150 },
    );
  });
});

describe('fusion: what a review found', () => {
  const anonymous: Identity = { kind: 'unknown', key: 'unknown:-', name: '-' };
  function edgeGraph(source: string, specs: { from: Identity; to: Identity; port: number; protocol: 'tcp' | 'http'; n: number; reporter?: 'client' | 'server'; mtls?: Mtls; method?: string; denial?: Flow['denial'] }[]): ServiceGraph {
    const b = new GraphBuilder({ source });
    for (const s of specs) {
      for (let i = 0; i < s.n; i++) {
        const reporter = s.reporter ?? 'server';
        const flow: Flow = {
          source: {},
          destination: {},
          protocol: s.protocol,
          ...(s.method === undefined ? {} : { l7: { method: s.method, path: '/details/1' } }),
          mtls: s.mtls ?? 'unknown',
          responseCode: 200,
          timestamp: 1_764_000_000_000 + i,
          count: 1,
          reporter,
          ...(s.denial === undefined ? {} : { denial: s.denial }),
          evidence: { decoder: source, location: { file: 'f' } },
        };
        b.add({ flow, source: s.from, destination: s.to, port: s.port, reporter, mtls: flow.mtls });
      }
    }
    return b.toGraph();
  }
  const [w0, w1] = [workload(0), workload(1)];

  it("a refusal metrics report on the server side keeps the logs' methods and counts (no server view from another source)", async () => {
    const { allowedView } = await import('../../src/graph/attributes.js');
    const logs = edgeGraph('access-log', [{ from: w0, to: w1, port: 9080, protocol: 'http', n: 5, reporter: 'client', method: 'GET' }]);
    const metrics = edgeGraph('istio-metrics', [
      { from: w0, to: w1, port: 9080, protocol: 'http', n: 9 },
      { from: w0, to: w1, port: 9080, protocol: 'http', n: 2, denial: { kind: 'refused' } },
    ]);
    const e = mergeGraphs(logs, metrics).getEdgeAttributes('ns/Deployment/w0->ns/Deployment/w1:9080/http');
    const v = allowedView(e);
    assert.equal(v.serverView, false);
    assert.deepEqual(v.methods, ['GET']);
    assert.equal(v.requests, 9);
  });

  it('plaintext evidence from the logs stands when Hubble, which cannot see mTLS, counts more', () => {
    const logs = edgeGraph('access-log', [{ from: w0, to: w1, port: 9080, protocol: 'tcp', n: 29, mtls: 'plaintext' }]);
    const hubble = edgeGraph('hubble', [{ from: w0, to: w1, port: 9080, protocol: 'tcp', n: 40 }]);
    const e = mergeGraphs(logs, hubble).getEdgeAttributes('ns/Deployment/w0->ns/Deployment/w1:9080/tcp');
    assert.equal(requestsOf(e), 40);
    assert.equal(e.server.plaintext, 29);
  });

  it("a meshed workload's mTLS calls never explain metrics' anonymous callers", async () => {
    const { withAnonymousExplained } = await import('../../src/graph/fuse.js');
    const logs = edgeGraph('access-log', [{ from: w0, to: w1, port: 9080, protocol: 'http', n: 5, mtls: 'mutual', method: 'GET' }]);
    const metrics = edgeGraph('istio-metrics', [{ from: anonymous, to: w1, port: 9080, protocol: 'http', n: 40, mtls: 'plaintext' }]);
    const r = withAnonymousExplained(mergeGraphs(logs, metrics));
    assert.deepEqual(r.explained, []);
    assert.ok(r.graph.hasEdge('unknown:-->ns/Deployment/w1:9080/http'));
    // A plaintext caller the logs name does explain them.
    const plain = edgeGraph('access-log', [{ from: w0, to: w1, port: 9080, protocol: 'http', n: 5, mtls: 'plaintext', method: 'GET' }]);
    const r2 = withAnonymousExplained(mergeGraphs(plain, metrics));
    assert.deepEqual(r2.explained.map((x) => x.edge), ['unknown:-->ns/Deployment/w1:9080/http']);
  });

  it("metrics' connection counter and port-0 counts are taken into the logs' edge of the pair", () => {
    const logs = edgeGraph('access-log', [{ from: w0, to: w1, port: 9080, protocol: 'http', n: 5, method: 'GET' }]);
    const metrics = mergeGraphs(
      edgeGraph('istio-metrics', [{ from: w0, to: w1, port: 9080, protocol: 'tcp', n: 3 }]),
      edgeGraph('istio-metrics', [{ from: w0, to: w1, port: 0, protocol: 'http', n: 4 }]),
    );
    const g = withConnectionsAbsorbed(mergeGraphs(logs, metrics));
    assert.deepEqual(g.edges().sort(), ['ns/Deployment/w0->ns/Deployment/w1:9080/http']);
    assert.deepEqual(Object.keys(g.getEdgeAttributes('ns/Deployment/w0->ns/Deployment/w1:9080/http').sources), ['access-log', 'istio-metrics']);
  });
});
