// Ambient mode (issue 11 part 7): which pods ztunnel covers, and what the emitters write for
// them: L4-only AuthorizationPolicies with a review entry for the L7 restrictions left out,
// STRICT readiness from the sources outside the mesh, and NetworkPolicies that admit HBONE
// (15008) and the kubelet's probes from 169.254.7.127. Istio's rules: docs/ambient.md.

import assert from 'node:assert/strict';
import { DEFAULT_INFER_OPTIONS, inferRules } from '../../src/infer/infer.js';
import { clusterFacts } from '../../src/infer/cluster-facts.js';
import { buildInventory, dataplaneOf } from '../../src/inventory/inventory.js';
import { emit } from '../../src/policy/index.js';
import type { Manifest } from '../../src/policy/manifest.js';
import type { Finding } from '../../src/rules/finding.js';
import { namespace, pod, service } from '../support/kube.js';
import { ambientGraph, ambientInventory, key, W } from '../support/ambient-mesh.js';
import { validateManifest } from '../support/schema.js';

const OPTS = { trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply: false };

function propose() {
  const rs = inferRules(ambientGraph(), buildInventory(ambientInventory()), DEFAULT_INFER_OPTIONS);
  const out = (t: 'istio' | 'mtls' | 'networkpolicy') => emit(t, rs, OPTS);
  return { rs, istio: out('istio'), mtls: out('mtls'), np: out('networkpolicy') };
}

const named = (ms: { manifest: Manifest }[], ns: string, name: string) => ms.find((m) => m.manifest.metadata.namespace === ns && m.manifest.metadata.name === name)?.manifest;
const about = (fs: Finding[], subject: string, severity: Finding['severity']) => fs.filter((f) => f.subject === subject && f.severity === severity);

describe('ambient mode: detection', () => {
  it('namespace label, pod opt-out, sidecar wins, pod-level enrollment, istio-cni annotation, hostNetwork', () => {
    const inv = buildInventory([
      namespace('amb', { 'istio.io/dataplane-mode': 'ambient' }),
      namespace('plain'),
      pod('amb', 'a', { sidecar: false }),
      pod('amb', 'opted-out', { sidecar: false, labels: { 'istio.io/dataplane-mode': 'none' } }),
      pod('amb', 'injected', { sidecar: true }),
      pod('plain', 'enrolled', { sidecar: false, labels: { 'istio.io/dataplane-mode': 'ambient' } }),
      pod('plain', 'unmeshed', { sidecar: false }),
      pod('plain', 'sidecar', { sidecar: true }),
      // Namespace object missing from the dump: istio-cni's annotation says it was captured.
      pod('elsewhere', 'captured', { sidecar: false, annotations: { 'ambient.istio.io/redirection': 'enabled' } }),
      pod('elsewhere', 'annotated-sidecar', { sidecar: false, annotations: { 'sidecar.istio.io/status': '{}' } }),
    ]);
    const dp = Object.fromEntries(inv.pods.map((p) => [p.name, p.dataplane]));
    assert.deepEqual(dp, {
      a: 'ambient',
      'opted-out': 'none',
      injected: 'sidecar',
      enrolled: 'ambient',
      unmeshed: 'none',
      sidecar: 'sidecar',
      captured: 'ambient',
      'annotated-sidecar': 'sidecar',
    });
    assert.equal(dataplaneOf({ labels: {}, hasSidecar: false, hostNetwork: true }, { 'istio.io/dataplane-mode': 'ambient' }), 'none');
  });

  it('workload facts: dataplane per workload, and the waypoint its pods name (#none opts out)', () => {
    const inv = buildInventory([
      namespace('amb', { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'waypoint' }),
      pod('amb', 'x-0', { sidecar: false, owner: ['Deployment', 'x'] }),
      pod('amb', 'y-0', { sidecar: false, owner: ['Deployment', 'y'], labels: { 'istio.io/use-waypoint': '#none' } }),
      pod('amb', 'z-0', { sidecar: true, owner: ['Deployment', 'z'] }),
    ]);
    const facts = Object.fromEntries(clusterFacts(inv).workloads.map((w) => [w.name, [w.dataplane, w.waypoints]]));
    assert.deepEqual(facts, { x: ['ambient', ['waypoint']], y: ['ambient', []], z: ['sidecar', []] });
    // A Service's label puts the ambient pods it selects behind the waypoint too.
    const bySvc = buildInventory([
      namespace('amb', { 'istio.io/dataplane-mode': 'ambient' }),
      pod('amb', 'x-0', { sidecar: false, owner: ['Deployment', 'x'], labels: { app: 'x' } }),
      pod('amb', 'y-0', { sidecar: false, owner: ['Deployment', 'y'], labels: { app: 'y' } }),
      { ...service('amb', 'x', { app: 'x' }, [[80, 80]]), metadata: { name: 'x', namespace: 'amb', labels: { 'istio.io/use-waypoint': 'amb/wp' } } },
      { ...service('amb', 'y', { app: 'y' }, [[80, 80]]), metadata: { name: 'y', namespace: 'amb', labels: { 'istio.io/use-waypoint': '#none' } } },
    ]);
    assert.deepEqual(Object.fromEntries(clusterFacts(bySvc).workloads.map((w) => [w.name, w.waypoints])), { x: ['amb/wp'], y: [] });
    const mesh = Object.fromEntries(clusterFacts(buildInventory(ambientInventory())).workloads.map((w) => [w.name, w.dataplane]));
    assert.deepEqual(
      { api: mesh['api'], web: mesh['web'], batch: mesh['batch'], admin: mesh['admin'], frontend: mesh['frontend'], legacy: mesh['legacy-client'] },
      { api: 'ambient', web: 'ambient', batch: 'none', admin: 'sidecar', frontend: 'sidecar', legacy: 'none' },
    );
  });
});

describe('ambient mode: what propose emits', () => {
  it('an ambient workload gets an L4-only ALLOW (principals and ports), with a warning naming what was left out', () => {
    const { istio } = propose();
    for (const m of istio.manifests) validateManifest(m.manifest);
    const api = named(istio.manifests, 'shop', 'ztmap-allow-api')!;
    assert.equal(api.metadata.annotations?.['ztmap.io/dataplane'], 'ambient');
    assert.deepEqual(api.spec, {
      selector: { matchLabels: { app: 'api' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/front/sa/frontend', 'cluster.local/ns/shop/sa/web'] } }], to: [{ operation: { ports: ['8080'] } }] }],
    });
    const text = JSON.stringify(api.spec);
    for (const l7 of ['methods', 'paths', 'hosts']) assert.ok(!text.includes(l7), l7);
    const [w] = about(istio.findings, key(W.api), 'warning');
    assert.ok(w !== undefined && w.target === 'istio', JSON.stringify(istio.findings));
    assert.match(w.message, /ambient mode/);
    assert.match(w.message, /waypoint/);
    assert.match(w.message, /from front\/Deployment\/frontend on port 8080: methods GET, POST; paths \/api\/cart, \/api\/items\/\*/);
    assert.deepEqual(w.flows, ['front/Deployment/frontend -> shop/Deployment/api:8080/http']);
  });

  it('a client outside the mesh is a blocker, not a principal; the sidecar pod of the ambient namespace keeps its L7 rule', () => {
    const { istio } = propose();
    const blockers = about(istio.findings, key(W.api), 'blocker');
    assert.equal(blockers.length, 1, JSON.stringify(blockers));
    assert.match(blockers[0]!.message, /legacy\/Deployment\/legacy-client is not in the mesh/);
    const admin = named(istio.manifests, 'shop', 'ztmap-allow-admin')!;
    assert.equal(admin.metadata.annotations?.['ztmap.io/dataplane'], undefined);
    assert.deepEqual((admin.spec['rules'] as unknown[])[0], {
      from: [{ source: { principals: ['cluster.local/ns/front/sa/frontend'] } }],
      to: [{ operation: { ports: ['9090'], methods: ['GET'], paths: ['/admin/stats'] } }],
    });
    // The namespace deny-all, which ztunnel enforces as well; nothing for the opted-out pod.
    assert.deepEqual(named(istio.manifests, 'shop', 'ztmap-deny-all')?.spec, {});
    assert.equal(named(istio.manifests, 'shop', 'ztmap-allow-batch'), undefined);
  });

  it('behind a waypoint: no selector policy and no namespace deny-all, both said', () => {
    const inv = buildInventory(ambientInventory().map((o) => (o.kind === 'Namespace' && o.metadata['name'] === 'shop' ? namespace('shop', { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'waypoint' }) : o)));
    const rs = inferRules(ambientGraph(), inv, DEFAULT_INFER_OPTIONS);
    const out = emit('istio', rs, OPTS);
    assert.equal(named(out.manifests, 'shop', 'ztmap-allow-api'), undefined);
    assert.equal(named(out.manifests, 'shop', 'ztmap-deny-all'), undefined);
    assert.ok(about(out.findings, key(W.api), 'warning').some((f) => /waypoint waypoint/.test(f.message)));
    assert.ok(about(out.findings, 'shop', 'warning').some((f) => /no deny-all proposed for shop/.test(f.message)));
    // The sidecar workload of the namespace keeps its policy.
    assert.notEqual(named(out.manifests, 'shop', 'ztmap-allow-admin'), undefined);
    // NetworkPolicy: meshed clients reach api through the waypoint's pods, not modelled: blockers on both sides.
    const np = emit('networkpolicy', rs, OPTS);
    const viaWaypoint = np.findings.filter((f) => f.severity === 'blocker' && /through the waypoint waypoint/.test(f.message)).map((f) => `${f.subject} ${f.flows?.join()}`);
    assert.deepEqual(viaWaypoint.sort(), [
      'front/Deployment/frontend front/Deployment/frontend -> shop/Deployment/api:8080/http',
      'shop/Deployment/api front/Deployment/frontend -> shop/Deployment/api:8080/http',
      'shop/Deployment/api shop/Deployment/web -> shop/Deployment/api:8080/tcp',
      'shop/Deployment/web shop/Deployment/web -> shop/Deployment/api:8080/tcp',
    ]);
  });

  it('STRICT mTLS in an ambient namespace is not ready while a source outside the mesh reaches an ambient pod', () => {
    const { mtls } = propose();
    const shop = mtls.manifests.find((m) => m.manifest.metadata.namespace === 'shop')!;
    assert.equal(shop.notReady, true);
    assert.deepEqual(shop.manifest.spec, { mtls: { mode: 'STRICT' } });
    assert.ok(shop.header.some((h) => h.includes('legacy/Deployment/legacy-client')));
    const [b] = about(mtls.findings, key(W.api), 'blocker');
    assert.match(b!.message, /ambient mode.*legacy\/Deployment\/legacy-client.*no sidecar, not in ambient mode/);
    // Without the legacy client, it is ready.
    const rs = inferRules(ambientGraph().copy(), buildInventory(ambientInventory()), DEFAULT_INFER_OPTIONS);
    const ready = emit('mtls', { ...rs, rules: rs.rules.filter((r) => r.from.key !== key(W.legacy)) }, OPTS);
    assert.equal(ready.manifests.find((m) => m.manifest.metadata.namespace === 'shop')!.notReady, undefined);
  });

  it('NetworkPolicy admits HBONE (15008) between meshed pods where one is ambient, and the probes from 169.254.7.127', () => {
    const { np } = propose();
    for (const m of np.manifests) validateManifest(m.manifest);
    const ingress = named(np.manifests, 'shop', 'ztmap-workload-api')!;
    const rules = ingress.spec['ingress'] as { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
    const portsFrom = (app: string) => rules.filter((r) => r.from.some((p) => p.podSelector.matchLabels['app'] === app)).flatMap((r) => r.ports.map((p) => p.port));
    assert.deepEqual(portsFrom('frontend'), [8080, 15008]);
    assert.deepEqual(portsFrom('web'), [8080, 15008]);
    // A client outside the mesh sends plaintext to the application's port.
    assert.deepEqual(portsFrom('legacy-client'), [8080]);
    // The ambient client's egress to the sidecar server is HBONE too.
    const egress = named(np.manifests, 'shop', 'ztmap-workload-web')!;
    assert.ok(JSON.stringify(egress.spec['egress']).includes('15008'));
    const probes = named(np.manifests, 'shop', 'ztmap-allow-ambient-probes')!;
    assert.deepEqual(probes.spec, { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '169.254.7.127/32' } }] }] });
    // Sidecar-only and unmeshed namespaces get neither.
    assert.equal(named(np.manifests, 'front', 'ztmap-allow-ambient-probes'), undefined);
    const frontIn = named(np.manifests, 'front', 'ztmap-workload-frontend')!;
    assert.ok(JSON.stringify(frontIn.spec['ingress']).includes('15008'), 'the sidecar server admits HBONE from the ambient client');
    assert.ok(np.findings.some((f) => f.subject === 'shop' && f.severity === 'warning' && /HBONE/.test(f.message)));
  });
});
