// Property: on random meshes that mix sidecar, ambient and unmeshed workloads (namespace
// labels, pod opt-outs, sidecars in ambient namespaces), ztmap's proposal replays through
// verify — which evaluates ambient pods with ztunnel's semantics and HBONE on 15008 — with
// every observed request allowed or expected by the review, and every unobserved pair
// denied where a side is managed. An emitter that wrote L7 fields for an ambient pod, or a
// NetworkPolicy without 15008, fails it.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptySide, type NodeAttributes } from '../../src/graph/attributes.js';
import { createGraph } from '../../src/graph/graph.js';
import { edgeKey } from '../../src/flow/edge-key.js';
import { DEFAULT_INFER_OPTIONS, inferRules } from '../../src/infer/infer.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { emit, TARGETS } from '../../src/policy/index.js';
import { policySetOf } from '../../src/verify/manifests.js';
import { verify } from '../../src/verify/verification.js';
import { namespace, pod, service } from '../support/kube.js';
import { validateManifest } from '../support/schema.js';
import { hourEdge } from '../support/edge.js';

type Mode = 'sidecar' | 'ambient' | 'none';
interface Wl {
  ns: string;
  name: string;
  sa: string;
  mode: Mode;
  /** The pod opts out of its ambient namespace (istio.io/dataplane-mode=none). */
  optOut: boolean;
  ip: string;
}

const NAMESPACES = ['alpha', 'beta', 'gamma'];

const arbMesh = fc
  .record({
    ambientNs: fc.subarray(NAMESPACES),
    workloads: fc.array(fc.record({ ns: fc.constantFrom(...NAMESPACES), sa: fc.constantFrom('sa0', 'sa1'), sidecar: fc.boolean(), optOut: fc.boolean(), enrolled: fc.boolean() }), { minLength: 2, maxLength: 7 }),
    edges: fc.array(
      fc.record({ from: fc.nat(), to: fc.nat(), port: fc.constantFrom(80, 9080), protocol: fc.constantFrom('http' as const, 'tcp' as const), methods: fc.subarray(['GET', 'POST'], { minLength: 1 }), paths: fc.subarray(['/a', '/items/{id}'], { minLength: 1 }), n: fc.integer({ min: 1, max: 30 }) }),
      { maxLength: 12 },
    ),
  })
  .map(({ ambientNs, workloads, edges }) => {
    const wls: Wl[] = workloads.map((w, i) => {
      const ambientByLabel = (ambientNs.includes(w.ns) && !w.optOut) || (!ambientNs.includes(w.ns) && w.enrolled);
      const mode: Mode = w.sidecar ? 'sidecar' : ambientByLabel ? 'ambient' : 'none';
      return { ns: w.ns, name: `w${i}`, sa: w.sa, mode, optOut: ambientNs.includes(w.ns) && w.optOut, ip: `10.1.0.${i + 1}` };
    });
    const seen = new Set<string>();
    const eds = edges.flatMap((e) => {
      const from = e.from % wls.length;
      const to = e.to % wls.length;
      const k = `${from}>${to}:${e.port}/${e.protocol}`;
      if (from === to || seen.has(k)) return [];
      seen.add(k);
      return [{ ...e, from, to }];
    });
    return { ambientNs, wls, eds };
  });

const key = (w: Wl) => `${w.ns}/Deployment/${w.name}`;

function inventoryOf(ambientNs: string[], wls: Wl[]): KubeObject[] {
  const objs: KubeObject[] = NAMESPACES.map((n) => namespace(n, ambientNs.includes(n) ? { 'istio.io/dataplane-mode': 'ambient' } : {}));
  for (const w of wls) {
    const labels: Record<string, string> = { app: w.name };
    if (w.optOut) labels['istio.io/dataplane-mode'] = 'none';
    else if (w.mode === 'ambient' && !ambientNs.includes(w.ns)) labels['istio.io/dataplane-mode'] = 'ambient';
    objs.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.name, namespace: w.ns } });
    objs.push(pod(w.ns, `${w.name}-0`, { ip: w.ip, owner: ['Deployment', w.name], labels, sa: w.sa, sidecar: w.mode === 'sidecar', hostIP: '192.168.0.1', ports: [['http', 80], ['web', 9080]] }));
  }
  objs.push(pod('kube-system', 'coredns-0', { ip: '10.9.0.10', labels: { 'k8s-app': 'kube-dns' }, sidecar: false }));
  objs.push(service('kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, [[53, 53]]));
  objs.push(pod('istio-system', 'istiod-0', { ip: '10.9.0.20', labels: { app: 'istiod' }, sidecar: false }));
  objs.push(service('istio-system', 'istiod', { app: 'istiod' }, [[15012, 15012]], '10.96.0.20'));
  return objs;
}

/**
 * What the access logs show: the client's sidecar logs every request; a sidecar server logs
 * it too, over mTLS when the client is meshed and in plaintext otherwise. Ambient pods log
 * nothing (ztunnel's metrics would count them: the client side stands in for them here).
 */
function graphOf(wls: Wl[], eds: { from: number; to: number; port: number; protocol: 'http' | 'tcp'; methods: string[]; paths: string[]; n: number }[]) {
  const g = createGraph();
  for (const w of wls) {
    const attrs: NodeAttributes = { kind: 'workload', name: w.name, namespace: w.ns, workloadKind: 'Deployment', serviceAccounts: [w.sa], labels: { app: w.name }, ips: [w.ip] };
    g.addNode(key(w), attrs);
  }
  for (const e of eds) {
    const from = wls[e.from]!;
    const to = wls[e.to]!;
    const serverSees = to.mode === 'sidecar';
    const meshedClient = from.mode !== 'none';
    const http = e.protocol === 'http';
    const a = hourEdge({
      source: key(from),
      target: key(to),
      port: e.port,
      protocol: e.protocol,
      client: { ...emptySide(), requests: e.n },
      server: serverSees ? { ...emptySide(), requests: e.n, mutual: meshedClient ? e.n : 0, plaintext: meshedClient ? 0 : e.n } : emptySide(),
      methods: http ? [...e.methods].sort() : [],
      paths: http ? [...e.paths].sort() : [],
      serviceAccount: from.sa,
    });
    g.addEdgeWithKey(edgeKey(a.source, a.target, a.port, a.protocol), a.source, a.target, a);
  }
  return g;
}

describe('propose and verify on meshes mixing sidecar, ambient and unmeshed workloads (property)', () => {
  it('observed traffic allowed or reported, unobserved pairs denied, no L7 field for an ambient pod', () => {
    // What the runs exercised, so that the agreement cannot be vacuous.
    const mix = new Map<string, number>();
    const count = (k: string) => mix.set(k, (mix.get(k) ?? 0) + 1);
    fc.assert(
      fc.property(arbMesh, ({ ambientNs, wls, eds }) => {
        const graph = graphOf(wls, eds);
        const inventory = buildInventory(inventoryOf(ambientNs, wls));
        for (const w of wls) assert.equal(inventory.pods.find((p) => p.name === `${w.name}-0`)!.dataplane, w.mode, w.name);
        const rs = inferRules(graph, inventory, DEFAULT_INFER_OPTIONS);
        const emitted = TARGETS.map((t) => emit(t, rs, { trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply: false }));
        const manifests = emitted.flatMap((x) => x.manifests);
        const findings = emitted.flatMap((x) => x.findings);
        assert.deepEqual(findings.filter((f) => f.severity === 'error'), []);
        for (const m of manifests) {
          validateManifest(m.manifest);
          if (m.manifest.metadata.annotations?.['ztmap.io/dataplane'] === 'ambient') assert.doesNotMatch(JSON.stringify(m.manifest.spec), /"(methods|paths|hosts)"/);
        }
        for (const w of wls.filter((x) => x.mode === 'ambient')) {
          const allow = manifests.find((m) => m.manifest.kind === 'AuthorizationPolicy' && m.manifest.metadata.namespace === w.ns && m.manifest.metadata.name === `ztmap-allow-${w.name}`);
          if (allow !== undefined) assert.equal(allow.manifest.metadata.annotations?.['ztmap.io/dataplane'], 'ambient');
        }
        const policies = policySetOf(manifests.filter((m) => !m.notReady).map((m) => m.manifest as unknown as KubeObject));
        const v = verify(graph, inventory, policies, { trustDomain: 'cluster.local', rootNamespace: 'istio-system', rules: rs, overPermission: true });
        assert.deepEqual(v.problems, []);
        assert.equal(v.summary.unknown.observations, 0);
        for (const r of v.results) {
          const from = wls.find((w) => key(w) === r.observation.from.key)!;
          const to = wls.find((w) => key(w) === r.observation.to.key)!;
          // A client outside the mesh has no principal wherever Istio enforces.
          const blocked = from.mode === 'none' && to.mode !== 'none';
          count(`${from.mode}->${to.mode} ${r.verdict}`);
          if (r.notes.some((n) => n.includes('15008'))) count('hbone');
          if (blocked) {
            if (r.verdict === 'allowed') {
              // Only through a rule that admits its service account's principal for another
              // (meshed) workload of the same namespace and account on the same port: the
              // proposal warns of the shared account.
              assert.ok(findings.some((f) => f.severity === 'warning' && f.subject === key(to) && f.message.includes(`${from.ns}/${from.sa}`)), `${r.observation.edge} allowed`);
              continue;
            }
            assert.equal(r.verdict, 'denied', r.observation.edge);
            assert.match(r.expected ?? '', /blocker/, r.observation.edge);
          } else {
            assert.equal(r.verdict, 'allowed', `${r.observation.edge} (${from.mode} -> ${to.mode}) ${JSON.stringify([r.istio, r.networkPolicy, r.notes])}`);
          }
        }
        const managed = (k: string) => rs.managedNamespaces.includes(k.split('/')[0]!);
        for (const p of v.overPermission!.pairs) {
          // An observed source sharing its account with another observed source of the same
          // server reaches it on the other's ports when one end is ambient: HBONE hides the
          // port from NetworkPolicy, and Istio cannot tell the two apart. The proposal must
          // say so.
          const from = wls.find((w) => key(w) === p.from);
          const to = wls.find((w) => key(w) === p.to);
          if (from !== undefined && to !== undefined && (to.mode === 'ambient' || from.mode === 'ambient') && eds.some((e) => wls[e.from] === from && wls[e.to] === to)) {
            const widened = (m: string) => (/so (.+?) may reach/.exec(m)?.[1] ?? '').split(', ');
            assert.ok(
              findings.some((f) => f.severity === 'warning' && f.subject === p.to && f.message.includes(`${from.ns}/${from.sa} is shared by`) && widened(f.message).includes(p.from)),
              `unobserved ${p.from} -> ${p.to}:${p.port} is ${p.verdict} without a warning`,
            );
            count('shared account over HBONE');
            continue;
          }
          assert.ok(!managed(p.from) && !managed(p.to), `unobserved ${p.from} -> ${p.to}:${p.port} is ${p.verdict}`);
        }
      }),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 150) },
    );
    for (const k of ['ambient->ambient allowed', 'sidecar->ambient allowed', 'ambient->sidecar allowed', 'none->ambient denied', 'none->sidecar denied', 'ambient->none allowed', 'hbone']) {
      assert.ok((mix.get(k) ?? 0) > 0, `no run exercised ${k}: ${JSON.stringify([...mix])}`);
    }
  });
});
