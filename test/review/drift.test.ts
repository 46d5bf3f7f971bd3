// Drift and unused allows (src/review/drift.ts, usage.ts) on random policy sets and random
// traffic: drift is exactly what verify denies, and removing every rule listed as unused, all
// at once, leaves every observation decided as before (so the list is safe to act on whole).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptySide, type NodeAttributes } from '../../src/graph/attributes.js';
import { createGraph, type ServiceGraph } from '../../src/graph/graph.js';
import { edgeKey } from '../../src/flow/edge-key.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { drift } from '../../src/review/drift.js';
import { policySetOf } from '../../src/verify/manifests.js';
import { verify } from '../../src/verify/verification.js';
import { hourEdge } from '../support/edge.js';
import { authorizationPolicy, inventory, networkPolicy, OPTS, setArb, WORKLOADS, type NetSpec, type PolicySpec } from '../support/policy-specs.js';

const NODES: { key: string; ns: string; name: string; kind: string; sa: string; labels: Record<string, string>; meshed: boolean }[] = [
  ...WORKLOADS.map(([ns, name]) => ({ key: `${ns}/Deployment/${name}`, ns, name, kind: 'Deployment', sa: name, labels: { app: name }, meshed: true })),
  { key: 'shop/Pod/debug', ns: 'shop', name: 'debug', kind: 'Pod', sa: 'default', labels: { run: 'debug' }, meshed: false },
];

interface EdgeSpec {
  from: number;
  to: number;
  port: number;
  methods: string[];
  paths: string[];
  n: number;
}
const edgeArb: fc.Arbitrary<EdgeSpec> = fc.record({
  from: fc.nat({ max: NODES.length - 1 }),
  to: fc.nat({ max: WORKLOADS.length - 1 }),
  port: fc.constantFrom(8080, 9090),
  methods: fc.subarray(['GET', 'POST'], { minLength: 1 }),
  paths: fc.subarray(['/api/items/{id}', '/api/orders', '/x.css'], { minLength: 1 }),
  n: fc.integer({ min: 1, max: 50 }),
});

/** The graph of the edges: the server's sidecar saw each request, over mTLS from a meshed client. */
function graphOf(edges: EdgeSpec[]): ServiceGraph {
  const g = createGraph();
  for (const n of NODES) {
    const attrs: NodeAttributes = { kind: 'workload', name: n.name, namespace: n.ns, workloadKind: n.kind, serviceAccounts: [n.sa], labels: n.labels, ips: [] };
    g.addNode(n.key, attrs);
  }
  for (const e of edges) {
    const from = NODES[e.from]!;
    const to = NODES[e.to]!;
    if (from.key === to.key) continue;
    const key = edgeKey(from.key, to.key, e.port, 'http');
    if (g.hasEdge(key)) continue;
    const a = hourEdge({
      source: from.key,
      target: to.key,
      port: e.port,
      protocol: 'http',
      client: { ...emptySide(), requests: e.n },
      server: { ...emptySide(), requests: e.n, mutual: from.meshed ? e.n : 0, plaintext: from.meshed ? 0 : e.n },
      methods: [...e.methods].sort(),
      paths: [...e.paths].sort(),
      serviceAccount: from.sa,
    });
    g.addEdgeWithKey(key, a.source, a.target, a);
  }
  return g;
}

function objects(s: { istio: PolicySpec[]; net: NetSpec[] }, keep: (id: string) => boolean = () => true): KubeObject[] {
  return [
    ...s.istio.map((p, i) => authorizationPolicy(`p${i}`, p, p.action === 'ALLOW' ? p.rules.filter((_, j) => keep(`istio ${p.ns}/p${i}#${j}`)) : p.rules)),
    ...s.net.map((n, i) => networkPolicy(`n${i}`, n, n.ingress.filter((_, j) => keep(`ingress ${n.ns}/n${i}#${j}`)))),
  ];
}

describe('drift and unused allows', () => {
  it('lists as drift exactly the observations verify denies, and counts their requests', () => {
    fc.assert(
      fc.property(setArb, fc.array(edgeArb, { maxLength: 8 }), (s, edges) => {
        const graph = graphOf(edges);
        const d = drift(graph, inventory, policySetOf(objects(s)), OPTS);
        const v = verify(graph, inventory, policySetOf(objects(s)), { ...OPTS, overPermission: false });
        const denied = v.results.filter((r) => r.verdict === 'denied' || r.verdict === 'partial');
        assert.deepEqual(
          d.drift.map((x) => [x.caller, x.destination, x.port, x.mtls, x.requests]),
          denied.map((r) => [r.observation.from.key, r.observation.to.key, r.observation.port, r.observation.mtls, r.observation.requests]),
        );
        assert.equal(d.summary.requests, denied.reduce((n, r) => n + r.observation.requests, 0));
        assert.equal(d.summary.undecided, v.summary.unknown.observations);
        for (const x of d.drift) {
          assert.equal(x.firstSeen, '2026-11-24T10:00:00.000Z');
          // A plaintext source is one whose denials are all of requests without identity.
          if (x.kind === 'plaintext') assert.equal(x.mtls, 'plaintext');
        }
      }),
      { numRuns: 40 },
    );
  });

  it('lists as unused only rules whose removal, all together, changes no observed verdict', () => {
    let removed = 0;
    fc.assert(
      fc.property(setArb, fc.array(edgeArb, { maxLength: 8 }), (s, edges) => {
        const graph = graphOf(edges);
        const d = drift(graph, inventory, policySetOf(objects(s)), OPTS);
        const unused = new Set(d.rules.filter((r) => r.status === 'unused').map((r) => r.id));
        removed += unused.size;
        const verdicts = (o: KubeObject[]) => verify(graph, inventory, policySetOf(o), { ...OPTS, overPermission: false }).results.map((r) => `${r.observation.edge} ${r.observation.mtls} ${r.verdict}`);
        assert.deepEqual(verdicts(objects(s, (id) => !unused.has(id))), verdicts(objects(s)));
        // Every rule that admitted traffic is used, with the requests it admitted.
        for (const r of d.rules.filter((x) => x.status === 'used')) assert.ok(r.requests > 0 && r.lastUsed === '2026-11-24T11:00:00.000Z', r.id);
        for (const r of d.rules.filter((x) => x.status === 'unused')) assert.equal(r.lastUsed, null);
      }),
      { numRuns: 40 },
    );
    assert.ok(removed > 0, 'no run had an unused rule');
  });
});
