// Issue 3, point 10: on random meshes, the proposal allows every observed edge that has an
// authenticated identity, reports every other observed edge as a blocker, and denies every
// workload pair that was never observed — evaluated on the emitted manifests, not the rules.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptySide, type NodeAttributes } from '../../src/graph/attributes.js';
import { createGraph } from '../../src/graph/graph.js';
import { edgeKey } from '../../src/flow/edge-key.js';
import { DEFAULT_INFER_OPTIONS, inferRules } from '../../src/infer/infer.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { emit, emitInParts, TARGETS } from '../../src/policy/index.js';
import type { Finding } from '../../src/rules/finding.js';
import type { Manifest } from '../../src/policy/manifest.js';
import { hourEdge } from '../support/edge.js';
import { istioAllows, networkPolicyAllows, type EvalPod } from '../support/policy-eval.js';
import { validateManifest } from '../support/schema.js';
import { policySetOf } from '../../src/verify/manifests.js';
import { verify } from '../../src/verify/verification.js';

interface Wl {
  ns: string;
  name: string;
  sa: string;
  labels: Record<string, string>;
  sidecar: boolean;
  ip: string;
}
interface Ed {
  from: number;
  to: number;
  port: number;
  protocol: 'http' | 'tcp';
  methods: string[];
  paths: string[];
  mutual: number;
  plaintext: number;
}

const PATHS = ['/a', '/a/b', '/items/{id}', '/items/{id}/parts', '/x/{uuid}', '/static/s1.css', '/static/s2.css', '/api.v1.Svc/Get'];

const arbMesh = fc
  .record({
    workloads: fc.array(
      fc.record({
        ns: fc.constantFrom('alpha', 'beta', 'gamma'),
        sa: fc.constantFrom('sa0', 'sa1', 'default'),
        shared: fc.boolean(),
        sidecar: fc.constantFrom(true, true, true, false),
      }),
      { minLength: 2, maxLength: 7 },
    ),
    edges: fc.array(
      fc.record({
        from: fc.nat(),
        to: fc.nat(),
        port: fc.constantFrom(80, 9080, 5432),
        protocol: fc.constantFrom('http' as const, 'tcp' as const),
        methods: fc.subarray(['GET', 'POST', 'DELETE'], { minLength: 1 }),
        paths: fc.subarray(PATHS, { minLength: 1 }),
        mutual: fc.nat({ max: 50 }),
        plaintext: fc.oneof(fc.constant(0), fc.constant(0), fc.nat({ max: 5 })),
      }),
      { maxLength: 12 },
    ),
  })
  .map(({ workloads, edges }) => {
    const wls: Wl[] = workloads.map((w, i) => ({
      ns: w.ns,
      name: `w${i}`,
      sa: w.sa,
      // Some workloads share `app` and differ by `version`: the selector must need both.
      labels: (w.shared ? { app: 'shared', version: `v${i}` } : { app: `w${i}` }) as Record<string, string>,
      sidecar: w.sidecar,
      ip: `10.1.0.${i + 1}`,
    }));
    const seen = new Set<string>();
    const eds: Ed[] = [];
    for (const e of edges) {
      const from = e.from % wls.length;
      const to = e.to % wls.length;
      const k = `${from}>${to}:${e.port}/${e.protocol}`;
      if (from === to || seen.has(k)) continue;
      seen.add(k);
      // A server without a sidecar logs nothing: its edges are client-observed only. A client
      // without one logs nothing and cannot do mTLS: the server sees it in plaintext.
      const server = wls[to]!.sidecar;
      const client = wls[from]!.sidecar;
      if (!server && !client) continue;
      const plaintext = server ? (client ? e.plaintext : Math.max(e.plaintext, 1)) : 0;
      eds.push({ ...e, from, to, mutual: server && client ? Math.max(e.mutual, plaintext === 0 ? 1 : 0) : 0, plaintext });
    }
    return { wls, eds };
  });

const key = (w: Wl) => `${w.ns}/Deployment/${w.name}`;

function inventoryOf(wls: Wl[]): KubeObject[] {
  const objs: KubeObject[] = [];
  for (const w of wls) {
    objs.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.name, namespace: w.ns, labels: w.labels } });
    objs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${w.name}-0`, namespace: w.ns, labels: { ...w.labels, 'pod-template-hash': 'h' }, ownerReferences: [{ kind: 'Deployment', name: w.name, controller: true }] },
      spec: { serviceAccountName: w.sa, containers: [{ name: 'app' }, ...(w.sidecar ? [{ name: 'istio-proxy' }] : [])] },
      status: { podIP: w.ip, hostIP: '10.0.0.1', startTime: '2026-11-01T00:00:00Z' },
    });
  }
  // Cluster DNS and istiod, found by their Services.
  for (const [ns, name, labels, svc] of [
    ['kube-system', 'coredns', { 'k8s-app': 'kube-dns' }, 'kube-dns'],
    ['istio-system', 'istiod', { app: 'istiod' }, 'istiod'],
  ] as const) {
    objs.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-0`, namespace: ns, labels }, spec: { containers: [{ name }] }, status: { podIP: `10.2.0.${name.length}` } });
    objs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc, namespace: ns }, spec: { selector: labels, ports: [{ port: 53 }] } });
  }
  return objs;
}

function graphOf(wls: Wl[], eds: Ed[]) {
  const g = createGraph();
  for (const w of wls) {
    const attrs: NodeAttributes = { kind: 'workload', name: w.name, namespace: w.ns, workloadKind: 'Deployment', serviceAccounts: [w.sa], labels: w.labels, ips: [] };
    g.addNode(key(w), attrs);
  }
  for (const e of eds) {
    // The client's sidecar logs every request, and one the server did not see.
    const requests = wls[e.from]!.sidecar ? e.mutual + e.plaintext + 1 : 0;
    const http = e.protocol === 'http';
    const methods = http ? [...e.methods].sort() : [];
    const paths = http ? [...e.paths].sort() : [];
    const a = hourEdge(
      {
        source: key(wls[e.from]!),
        target: key(wls[e.to]!),
        port: e.port,
        protocol: e.protocol,
        client: { ...emptySide(), requests },
        server: { ...emptySide(), requests: e.mutual + e.plaintext, mutual: e.mutual, plaintext: e.plaintext },
        methods,
        paths,
        serviceAccount: wls[e.from]!.sa,
      },
      // The server's own account of what it allowed: the same operations, none refused.
      { serverMethods: methods, serverPaths: paths, serverPathsTruncated: false, denied: [], deniedTruncated: false },
    );
    g.addEdgeWithKey(edgeKey(a.source, a.target, a.port, a.protocol), a.source, a.target, a);
  }
  return g;
}

/** A concrete request path for a template: placeholders filled in. */
const concrete = (t: string) => t.replace(/\{[a-z]+\}/g, '17');

describe('propose on random meshes (property)', () => {
  it('allows every authenticated observed request, reports every other one, and denies every unobserved pair', () => {
    fc.assert(
      fc.property(arbMesh, ({ wls, eds }) => {
        const rs = inferRules(graphOf(wls, eds), buildInventory(inventoryOf(wls)), DEFAULT_INFER_OPTIONS);
        const results = TARGETS.map((t) => emit(t, rs, { trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply: false }));
        const manifests: Manifest[] = results.flatMap((r) => r.manifests.map((m) => m.manifest));
        const findings = results.flatMap((r) => r.findings);
        assert.deepEqual(findings.filter((f) => f.severity === 'error'), [], 'no manifest may be refused on these meshes');
        for (const m of manifests) validateManifest(m);
        const pod = (w: Wl): EvalPod => ({ namespace: w.ns, labels: w.labels, serviceAccount: w.sa, ip: w.ip, sidecar: w.sidecar });

        for (const e of eds) {
          const from = wls[e.from]!;
          const to = wls[e.to]!;
          const id = `${key(from)} -> ${key(to)}:${e.port}/${e.protocol}`;
          const reqs = e.protocol === 'tcp' ? [{}] : e.methods.flatMap((method) => e.paths.map((p) => ({ method, path: concrete(p) })));
          for (const r of reqs) {
            assert.ok(networkPolicyAllows(manifests, { from: pod(from), to: pod(to), port: e.port, mtls: true, ...r }), `NetworkPolicy denies observed ${id} ${JSON.stringify(r)}`);
            // Requests the server saw over mTLS, or that no server proxy saw (its sidecar would use mTLS).
            if (e.mutual > 0 || !to.sidecar) {
              assert.ok(istioAllows(manifests, { from: pod(from), to: pod(to), port: e.port, mtls: true, ...r }), `Istio denies observed ${id} ${JSON.stringify(r)}`);
            }
          }
          if (e.plaintext > 0 && to.sidecar) {
            assert.ok(!istioAllows(manifests, { from: pod(from), to: pod(to), port: e.port, mtls: false, ...reqs[0] }), `Istio allows plaintext ${id}`);
            assert.ok(findings.some((f) => f.severity === 'blocker' && f.target === 'istio' && f.flows?.includes(id)), `plaintext ${id} is not reported as a blocker`);
          }
        }

        for (const a of wls) {
          for (const b of wls) {
            if (a === b || eds.some((e) => wls[e.from] === a && wls[e.to] === b)) continue;
            const managed = rs.managedNamespaces.includes(b.ns) || rs.managedNamespaces.includes(a.ns);
            if (!managed) continue;
            for (const port of [80, 9080, 5432]) {
              const req = { from: pod(a), to: pod(b), port, mtls: true, method: 'GET', path: '/a' };
              assert.ok(!networkPolicyAllows(manifests, req), `NetworkPolicy allows unobserved ${key(a)} -> ${key(b)}:${port}`);
              if (rs.managedNamespaces.includes(b.ns) && b.sidecar) {
                // Istio tells sources apart by service account only: a workload sharing one
                // with an observed source is admitted too, and the proposal must say so.
                const sharesAccount = eds.some((e) => wls[e.to] === b && wls[e.from]!.ns === a.ns && wls[e.from]!.sa === a.sa && e.mutual > 0);
                if (sharesAccount) {
                  assert.ok(
                    findings.some((f) => f.severity === 'warning' && f.subject === key(b) && f.message.includes(`${a.ns}/${a.sa}`) && f.message.includes(key(a))),
                    `shared service account ${a.ns}/${a.sa} admitting ${key(a)} at ${key(b)} is not reported`,
                  );
                } else {
                  assert.ok(!istioAllows(manifests, req), `Istio allows unobserved ${key(a)} -> ${key(b)}:${port}`);
                }
              }
            }
          }
        }
      }),
      { numRuns: Number(process.env["PROPERTY_RUNS"] ?? 150) },
    );
  });

  it('property: emitInParts (what propose writes, a namespace at a time) gives what emit gives, in the same order, findings too', () => {
    fc.assert(
      fc.property(arbMesh, fc.boolean(), ({ wls, eds }, firstApply) => {
        const rs = inferRules(graphOf(wls, eds), buildInventory(inventoryOf(wls)), DEFAULT_INFER_OPTIONS);
        const o = { trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply };
        for (const t of TARGETS) {
          const findings: Finding[] = [];
          const manifests = [...emitInParts(t, rs, o, findings)].flat();
          const whole = emit(t, rs, o);
          assert.deepStrictEqual(manifests, whole.manifests);
          assert.deepStrictEqual(findings, whole.findings);
        }
      }),
      { numRuns: Number(process.env["PROPERTY_RUNS"] ?? 100) },
    );
  });

  it('property: ztmap verify replays the proposal: observed traffic allowed or expected, unobserved pairs denied where a side is managed', () => {
    fc.assert(
      fc.property(arbMesh, ({ wls, eds }) => {
        const graph = graphOf(wls, eds);
        const inventory = buildInventory(inventoryOf(wls));
        const rs = inferRules(graph, inventory, DEFAULT_INFER_OPTIONS);
        const emitted = TARGETS.map((t) => emit(t, rs, { trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply: false }));
        const manifests = emitted.flatMap((x) => x.manifests);
        const findings = emitted.flatMap((x) => x.findings);
        const policies = policySetOf(manifests.filter((m) => !m.notReady).map((m) => m.manifest as unknown as KubeObject));
        const v = verify(graph, inventory, policies, { trustDomain: 'cluster.local', rootNamespace: 'istio-system', rules: rs, overPermission: true });
        assert.deepEqual(v.problems, [], 'every emitted manifest is accepted by the verifier');
        assert.equal(v.summary.unexpectedDenials.observations, 0, JSON.stringify(v.results.filter((r) => r.verdict !== 'allowed' && r.expected === undefined), null, 1));
        assert.equal(v.summary.unknown.observations, 0);
        for (const r of v.results) {
          const to = wls.find((w) => key(w) === r.observation.to.key)!;
          const e = eds.find((x) => key(wls[x.from]!) === r.observation.from.key && wls[x.to] === to && x.port === r.observation.port && x.protocol === r.observation.protocol)!;
          // Plaintext, or from a source the server never saw authenticated (no principal proposed).
          const blocked = to.sidecar && (r.observation.mtls === 'plaintext' || (e.mutual === 0 && e.plaintext > 0));
          // Unless the same service account was seen authenticated at the same server on the
          // same port in another edge: its rule may admit this traffic too. When that edge came
          // from another workload (Istio cannot tell the two apart), the proposal must have
          // warned of the shared account.
          const from = wls[e.from]!;
          const sameIdentity = eds.filter((x) => x !== e && wls[x.to] === to && x.port === e.port && wls[x.from]!.ns === from.ns && wls[x.from]!.sa === from.sa && x.mutual > 0);
          if (blocked && r.observation.mtls !== 'plaintext' && sameIdentity.length > 0 && r.verdict === 'allowed') {
            if (sameIdentity.every((x) => x.from !== e.from)) {
              assert.ok(findings.some((f) => f.severity === 'warning' && f.subject === key(to) && f.message.includes(`${from.ns}/${from.sa}`)), `${r.observation.edge}: admitted through a shared service account without a warning`);
            }
            continue;
          }
          assert.equal(r.verdict, blocked ? 'denied' : 'allowed', `${r.observation.edge} (${r.observation.mtls})`);
          if (blocked) assert.match(r.expected ?? '', /blocker/);
        }
        const managed = (k: string) => rs.managedNamespaces.includes(k.split('/')[0]!);
        for (const p of v.overPermission!.pairs) {
          assert.ok(!managed(p.from) && !managed(p.to), `unobserved ${p.from} -> ${p.to}:${p.port} is ${p.verdict}`);
        }
      }),
      { numRuns: Number(process.env["PROPERTY_RUNS"] ?? 150) },
    );
  });
});
