// Platform traffic (src/verify/platform-traffic.ts): which connections every pod and proxy
// needs (DNS to the cluster DNS pods, xDS to istiod), found from the inventory's Services,
// and how NetworkPolicy and Istio decide them.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildInventory } from '../../src/inventory/inventory.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { networkPolicies, policySetOf } from '../../src/verify/manifests.js';
import { checkPlatformTraffic, platformServers, type PlatformTraffic } from '../../src/verify/platform-traffic.js';
import { replayIndex } from '../../src/verify/replay.js';

interface PodSpec {
  ns: string;
  name: string;
  ip: string;
  labels?: Record<string, string>;
  sidecar?: boolean;
  hostNetwork?: boolean;
  ports?: { containerPort: number; name?: string; protocol?: string }[];
}

function pod(p: PodSpec): KubeObject[] {
  return [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: p.name, namespace: p.ns } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${p.name}-0`, namespace: p.ns, labels: p.labels ?? { app: p.name }, ownerReferences: [{ kind: 'Deployment', name: p.name, controller: true }] },
      spec: {
        serviceAccountName: p.name,
        ...(p.hostNetwork === true ? { hostNetwork: true } : {}),
        containers: [{ name: 'app', ports: p.ports ?? [{ containerPort: 8080 }] }, ...(p.sidecar === true ? [{ name: 'istio-proxy' }] : [])],
      },
      status: { podIP: p.ip, hostIP: '192.168.0.1' },
    },
  ];
}

const service = (ns: string, name: string, selector: Record<string, string>, ports: { port: number; protocol?: string; targetPort?: number | string }[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector, ports: ports.map((p) => ({ protocol: 'TCP', targetPort: p.port, ...p })) },
});

const COREDNS: PodSpec = {
  ns: 'kube-system',
  name: 'coredns',
  ip: '10.0.9.1',
  labels: { 'k8s-app': 'kube-dns' },
  ports: [
    { containerPort: 53, name: 'dns', protocol: 'UDP' },
    { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
  ],
};
const KUBE_DNS = service('kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, [
  { port: 53, protocol: 'UDP', targetPort: 'dns' },
  { port: 53, protocol: 'TCP', targetPort: 'dns-tcp' },
]);
const ISTIOD: PodSpec = { ns: 'istio-system', name: 'istiod', ip: '10.0.8.1', labels: { app: 'istiod' }, ports: [{ containerPort: 15012 }] };
const ISTIOD_SVC = service('istio-system', 'istiod', { app: 'istiod' }, [{ port: 15010 }, { port: 15012 }, { port: 443, targetPort: 15017 }]);

const web: PodSpec = { ns: 'shop', name: 'web', ip: '10.0.0.1', sidecar: true };
const api: PodSpec = { ns: 'shop', name: 'api', ip: '10.0.0.2', sidecar: true };
const batch: PodSpec = { ns: 'jobs', name: 'batch', ip: '10.0.1.1' };

const np = (ns: string, name: string, spec: unknown) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
const denyEgress = (ns: string) => np(ns, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
const allowDns = (ns: string, protocols = ['UDP', 'TCP'], podSelector: unknown = {}) =>
  np(ns, 'allow-dns', {
    podSelector,
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: protocols.map((protocol) => ({ protocol, port: 53 })) }],
  });
const allowIstiod = (ns: string) =>
  np(ns, 'allow-istiod', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } }, podSelector: { matchLabels: { app: 'istiod' } } }], ports: [{ port: 15012 }] }],
  });

function platform(objects: KubeObject[], policies: unknown[]): PlatformTraffic {
  const inventory = buildInventory(objects);
  const set = policySetOf(policies as KubeObject[]);
  // As verify builds it (verification.ts): each namespace's labels from its Namespace object, if any.
  const namespaces = Object.fromEntries(inventory.namespaces.map((n) => [n, inventory.namespaceLabels.get(n) ?? {}]));
  const ctx = { inventory, policies: set, networkPolicies: networkPolicies(set, namespaces), trustDomain: 'cluster.local', rootNamespace: 'istio-system' };
  assert.deepEqual(set.problems, []);
  return checkPlatformTraffic(ctx, replayIndex(ctx));
}

const namespace = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }) as KubeObject;
const PLATFORM_NAMESPACES = [namespace('kube-system', { name: 'kube-system' }), namespace('istio-system')];
const cluster = (...extra: KubeObject[]): KubeObject[] => [...PLATFORM_NAMESPACES, ...pod(COREDNS), KUBE_DNS, ...pod(ISTIOD), ISTIOD_SVC, ...pod(web), ...pod(api), ...pod(batch), ...extra];
const summary = (t: PlatformTraffic) => t.checks.map((c) => `${c.kind} ${c.protocol}/${c.port} ${c.namespace} -> ${c.server}: ${c.verdict}`);

describe('platform traffic', () => {
  it('finds the DNS and istiod pods by their Services, and replays DNS from every pod and xDS from every proxy', () => {
    const t = platform(cluster(), []);
    assert.deepEqual(t.servers, [
      { kind: 'dns', service: 'kube-system/kube-dns', pods: 1 },
      { kind: 'xds', service: 'istio-system/istiod', pods: 1 },
    ]);
    // istiod resolves names (its own DNS check) but does not dial itself; CoreDNS does not
    // resolve through itself; the unmeshed batch pod has no proxy to configure.
    assert.deepEqual(summary(t), [
      'dns UDP/53 istio-system -> kube-system/kube-dns: allowed',
      'dns TCP/53 istio-system -> kube-system/kube-dns: allowed',
      'dns UDP/53 jobs -> kube-system/kube-dns: allowed',
      'dns TCP/53 jobs -> kube-system/kube-dns: allowed',
      'dns UDP/53 shop -> kube-system/kube-dns: allowed',
      'dns TCP/53 shop -> kube-system/kube-dns: allowed',
      'xds TCP/15012 shop -> istio-system/istiod: allowed',
    ]);
    assert.deepEqual(t.checks.find((c) => c.namespace === 'shop')!.clients, ['shop/Deployment/api', 'shop/Deployment/web']);
    assert.deepEqual(t.notes, []);
  });

  it('a default-deny egress without the DNS and istiod allows denies both, naming the policy and what breaks', () => {
    const t = platform(cluster(), [denyEgress('shop')]);
    const denied = t.checks.filter((c) => c.verdict !== 'allowed');
    assert.deepEqual(summary({ ...t, checks: denied }), [
      'dns UDP/53 shop -> kube-system/kube-dns: denied',
      'dns TCP/53 shop -> kube-system/kube-dns: denied',
      'xds TCP/15012 shop -> istio-system/istiod: denied',
    ]);
    assert.equal(
      denied[0]!.message,
      "platform traffic: DNS (UDP 53) from namespace shop to kube-system/kube-dns denied at the client's egress (isolated by shop/deny-all; no rule allows it): its pods lose name resolution: every lookup of a Service or external name fails",
    );
    assert.match(denied[2]!.message!, /^platform traffic: xDS to istiod \(TCP 15012\) from namespace shop to istio-system\/istiod denied .*: its proxies lose their configuration and certificates/);
    assert.deepEqual(denied[2]!.denials.map((d) => `${d.clientPod} ${d.at} ${d.policies.join(',')}`), ['shop/api-0 egress shop/deny-all', 'shop/web-0 egress shop/deny-all']);
    // With the allows, nothing is denied.
    const fixed = platform(cluster(), [denyEgress('shop'), allowDns('shop'), allowIstiod('shop')]);
    assert.deepEqual(fixed.checks.filter((c) => c.verdict !== 'allowed'), []);
  });

  it('DNS over TCP is its own check: allowing UDP 53 alone still fails it', () => {
    const t = platform(cluster(), [denyEgress('jobs'), allowDns('jobs', ['UDP'])]);
    assert.deepEqual(summary({ ...t, checks: t.checks.filter((c) => c.namespace === 'jobs') }), ['dns UDP/53 jobs -> kube-system/kube-dns: allowed', 'dns TCP/53 jobs -> kube-system/kube-dns: denied']);
  });

  it('an allow for some workloads only is a partial denial that names the others', () => {
    const t = platform(cluster(), [denyEgress('shop'), allowIstiod('shop'), allowDns('shop', ['UDP', 'TCP'], { matchLabels: { app: 'web' } })]);
    const udp = t.checks.find((c) => c.namespace === 'shop' && c.kind === 'dns' && c.protocol === 'UDP')!;
    assert.equal(udp.verdict, 'partial');
    assert.match(udp.message!, /partly denied for shop\/Deployment\/api at the client's egress/);
  });

  it('an ingress isolation of the DNS pods denies at the server', () => {
    const t = platform(cluster(), [np('kube-system', 'dns-closed', { podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } }, policyTypes: ['Ingress'] })]);
    const shop = t.checks.find((c) => c.namespace === 'shop' && c.kind === 'dns')!;
    assert.equal(shop.verdict, 'denied');
    assert.match(shop.message!, /denied at the server's ingress \(isolated by kube-system\/dns-closed; no rule allows it\)/);
  });

  it('a DNS server with a sidecar is authorized by Istio over TCP; UDP is never intercepted', () => {
    const meshedDns = { ...COREDNS, sidecar: true };
    const objects = [...pod(meshedDns), KUBE_DNS, ...pod(web)];
    const onlyFromApi = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'dns-from-api', namespace: 'kube-system' }, spec: { rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/api'] } }] }] } };
    const t = platform(objects, [onlyFromApi]);
    assert.deepEqual(summary(t), ['dns UDP/53 shop -> kube-system/kube-dns: allowed', 'dns TCP/53 shop -> kube-system/kube-dns: denied']);
    assert.match(t.checks[1]!.message!, /denied by Istio at the server \(kube-system\/dns-from-api\)/);
  });

  it('ambient pods resolve names but have no proxy of their own: ztunnel dials istiod for them', () => {
    const ambientNs: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh', labels: { 'istio.io/dataplane-mode': 'ambient' } } };
    const app: PodSpec = { ns: 'mesh', name: 'app', ip: '10.0.2.1' };
    const ztunnel: PodSpec = { ns: 'istio-system', name: 'ztunnel', ip: '10.0.8.9', labels: { app: 'ztunnel' } };
    const t = platform([ambientNs, ...pod(COREDNS), KUBE_DNS, ...pod(ISTIOD), ISTIOD_SVC, ...pod(app), ...pod(ztunnel)], [denyEgress('mesh')]);
    assert.deepEqual(summary(t).filter((x) => !x.startsWith('dns UDP/53 istio-system') && !x.startsWith('dns TCP/53 istio-system')), [
      'xds TCP/15012 istio-system -> istio-system/istiod: allowed',
      'dns UDP/53 mesh -> kube-system/kube-dns: denied',
      'dns TCP/53 mesh -> kube-system/kube-dns: denied',
    ]);
    assert.deepEqual(t.checks.find((c) => c.kind === 'xds')!.clients, ['istio-system/Deployment/ztunnel']);
  });

  it('says so when the inventory has no DNS Service, or proxies but no istiod Service', () => {
    const t = platform([...pod(web), ...pod(batch)], [denyEgress('shop')]);
    assert.deepEqual(t.checks, []);
    assert.equal(t.notes.length, 2);
    assert.match(t.notes[0]!, /no cluster DNS Service \(kube-dns\) in the inventory, so DNS from every pod was not replayed/);
    assert.match(t.notes[1]!, /Istio proxies but no istiod Service \(port 15012\), so xDS from them was not replayed/);
    // Without proxies there is no xDS to miss.
    assert.equal(platform([...pod(batch)], []).notes.length, 1);
    // A DNS Service with no pods in the dump is named.
    assert.match(platform([KUBE_DNS, ...pod(batch)], []).notes[0]!, /kube-system\/kube-dns has no pods in the inventory/);
  });

  it('says when a denial may come from namespace labels the inventory does not hold', () => {
    // A DNS allow by a custom namespace label: known, it admits; unknown (no Namespace object), it
    // cannot match, and the note says the denial may be one the cluster does not make.
    const byLabel = np('shop', 'dns-by-label', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { name: 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }],
    });
    const shopDns = (t: PlatformTraffic) => summary(t).filter((l) => l.startsWith('dns') && l.includes(' shop -> '));
    const known = platform(cluster(), [byLabel]);
    assert.deepEqual(shopDns(known), ['dns UDP/53 shop -> kube-system/kube-dns: allowed', 'dns TCP/53 shop -> kube-system/kube-dns: allowed']);
    assert.ok(!known.notes.some((n) => /no Namespace object/.test(n)));
    const unknown = platform(cluster().filter((o) => o.kind !== 'Namespace'), [byLabel]);
    assert.deepEqual(shopDns(unknown), ['dns UDP/53 shop -> kube-system/kube-dns: denied', 'dns TCP/53 shop -> kube-system/kube-dns: denied']);
    assert.ok(unknown.notes.some((n) => /no Namespace object for kube-system.*may be one the cluster does not make/.test(n)), unknown.notes.join('\n'));
  });

  it('finds a distribution-named DNS Service in kube-system (rke2-coredns) and skips hostNetwork pods with a note', () => {
    const rke2 = service('kube-system', 'rke2-coredns-rke2-coredns', { 'k8s-app': 'kube-dns' }, [{ port: 53, protocol: 'UDP' }]);
    const { servers } = platformServers(buildInventory([...pod(COREDNS), rke2]));
    assert.deepEqual(servers.map((s) => `${s.namespace}/${s.name}`), ['kube-system/rke2-coredns-rke2-coredns']);
    const t = platform([...PLATFORM_NAMESPACES, ...pod(COREDNS), KUBE_DNS, ...pod({ ...batch, hostNetwork: true })], []);
    assert.deepEqual(t.checks, []);
    assert.match(t.notes[0]!, /1 hostNetwork pod\(s\) not replayed/);
  });

  it('property: DNS from a namespace is denied exactly when its egress is isolated and no DNS allow exists', () => {
    const nss = ['a', 'b', 'c', 'd'];
    fc.assert(
      fc.property(fc.subarray(nss), fc.subarray(nss), fc.subarray(nss), (isolated, withDns, withUdpOnly) => {
        const objects = [...pod(COREDNS), KUBE_DNS, ...nss.flatMap((ns, i) => pod({ ns, name: `w${i}`, ip: `10.1.${i}.1` }))];
        const policies = [...isolated.map(denyEgress), ...withDns.map((ns) => allowDns(ns)), ...withUdpOnly.filter((ns) => !withDns.includes(ns)).map((ns) => ({ ...allowDns(ns, ['UDP']), metadata: { name: 'allow-dns-udp', namespace: ns } }))];
        const t = platform(objects, policies);
        for (const ns of nss) {
          // Any egress policy isolates the namespace's pods for egress, an allow-only one too.
          const egressIsolated = isolated.includes(ns) || withDns.includes(ns) || withUdpOnly.includes(ns);
          const udp = t.checks.find((c) => c.namespace === ns && c.protocol === 'UDP')!;
          const tcp = t.checks.find((c) => c.namespace === ns && c.protocol === 'TCP')!;
          assert.equal(udp.verdict, !egressIsolated || withDns.includes(ns) || withUdpOnly.includes(ns) ? 'allowed' : 'denied', ns);
          assert.equal(tcp.verdict, !egressIsolated || withDns.includes(ns) ? 'allowed' : 'denied', ns);
        }
      }),
      { numRuns: 60 },
    );
  });
});
