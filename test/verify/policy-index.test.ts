// Policies indexed by the workloads they select give the verdicts of reading every policy,
// and the over-permission search bounded by what each destination's policies could admit
// finds what trying every pair finds (test/support/over-permission-all-pairs.ts), on random
// meshes (sidecar, ambient, waypoint and unmeshed pods in a few namespaces, one of them the
// root) and random policy sets of both targets.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildInventory } from '../../src/inventory/inventory.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { evaluateIstio, istioPolicyIndex, type IstioRequest } from '../../src/verify/istio.js';
import { networkPolicies, policySetOf } from '../../src/verify/manifests.js';
import { evaluateConnection, networkPolicyModel, type PodEndpoint } from '../../src/verify/network-policy.js';
import { overPermission } from '../../src/verify/over-permission.js';
import { replayIndex, type Observation, type ReplayContext } from '../../src/verify/replay.js';
import { allPairsOverPermission } from '../support/over-permission-all-pairs.js';

const ROOT = 'istio-system';
const NAMESPACES = ['shop', 'pay', ROOT];
const APPS = ['web', 'api', 'db', 'job'];
const ACCOUNTS = ['default', 'web', 'api', 'shared'];
const TRUST_DOMAINS = ['cluster.local', 'example.org'];

interface Wl {
  ns: string;
  app: string;
  sa: string;
  tier: string;
  dataplane: 'sidecar' | 'ambient' | 'none';
  waypoint: boolean;
  /** A second pod without a sidecar: replay cannot say which identity a request of this workload had. */
  mixed: boolean;
  ip: string;
}

const workloadArb = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  app: fc.constantFrom(...APPS),
  sa: fc.constantFrom(...ACCOUNTS),
  tier: fc.constantFrom('front', 'back'),
  dataplane: fc.constantFrom('sidecar', 'sidecar', 'ambient', 'none'),
  waypoint: fc.boolean(),
  mixed: fc.boolean(),
});

const meshArb = fc.uniqueArray(workloadArb, { minLength: 2, maxLength: 7, selector: (w) => `${w.ns}/${w.app}` }).map((ws) => ws.map((w, i): Wl => ({ ...w, waypoint: w.dataplane === 'ambient' && w.waypoint, ip: `10.0.${i >> 4}.${(i % 16) + 1}` })));

function inventoryOf(wls: readonly Wl[]): KubeObject[] {
  const objects: KubeObject[] = NAMESPACES.map((ns) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: ns === 'pay' ? 'money' : 'shop' } } }));
  for (const w of wls) {
    const labels: Record<string, string> = { app: w.app, tier: w.tier };
    if (w.dataplane === 'ambient') labels['istio.io/dataplane-mode'] = 'ambient';
    if (w.waypoint) labels['istio.io/use-waypoint'] = 'waypoint';
    const pod = (n: number, sidecar: boolean, ip: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${w.app}-${n}`, namespace: w.ns, labels: n === 0 ? labels : { app: w.app, tier: w.tier }, ownerReferences: [{ kind: 'Deployment', name: w.app, controller: true }] },
      spec: { serviceAccountName: w.sa, containers: [{ name: 'app', ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090 }] }, ...(sidecar ? [{ name: 'istio-proxy' }] : [])] },
      status: { podIP: ip, hostIP: '192.168.0.1' },
    });
    objects.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.app, namespace: w.ns } }, pod(0, w.dataplane === 'sidecar', w.ip));
    if (w.mixed && w.dataplane !== 'none') objects.push(pod(1, false, w.ip.replace('10.0.', '10.1.')));
  }
  return objects;
}

// Istio sources: every positive and negative identity field, exact and wildcard patterns, addresses.
const principalArb = fc.constantFrom(
  ...ACCOUNTS.flatMap((sa) => NAMESPACES.map((ns) => `cluster.local/ns/${ns}/sa/${sa}`)),
  'example.org/ns/shop/sa/web',
  '*/ns/pay/sa/api',
  'cluster.local/ns/shop/*',
  '*',
  '*sa/shared',
);
const sourceArb = fc.oneof(
  fc.record({ principals: fc.array(principalArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ namespaces: fc.array(fc.constantFrom(...NAMESPACES, 'sh*', '*ay', 's.op', '*'), { minLength: 1, maxLength: 2 }) }),
  fc.record({ serviceAccounts: fc.array(fc.constantFrom('web', 'api', 'pay/shared', 'shop/default', 'istio-system/web'), { minLength: 1, maxLength: 2 }) }),
  fc.record({ notPrincipals: fc.array(principalArb, { minLength: 1, maxLength: 2 }) }),
  fc.record({ ipBlocks: fc.constantFrom(['10.0.0.0/30'], ['10.0.0.2'], ['203.0.113.0/24']) }),
  fc.record({ principals: fc.array(principalArb, { minLength: 1, maxLength: 2 }), notNamespaces: fc.constant(['pay']) }),
);
const operationArb = fc.oneof(fc.record({ ports: fc.constantFrom(['8080'], ['9090'], ['8080', '9090']) }), fc.record({ methods: fc.constant(['GET']) }), fc.record({ paths: fc.constant(['/api/*']) }));
const istioRuleArb = fc.record({ from: fc.option(fc.array(fc.record({ source: sourceArb }), { minLength: 1, maxLength: 2 }), { nil: undefined }), to: fc.option(fc.array(fc.record({ operation: operationArb }), { minLength: 1, maxLength: 2 }), { nil: undefined }) });
const authorizationPolicyArb = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  action: fc.constantFrom('ALLOW', 'ALLOW', 'ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
  selector: fc.option(fc.record({ app: fc.constantFrom(...APPS) }, { requiredKeys: [] }), { nil: undefined }),
  rules: fc.array(istioRuleArb, { minLength: 0, maxLength: 3 }),
  dryRun: fc.boolean(),
});

// NetworkPolicy peers: pod selectors, namespace selectors (by label and by name), addresses.
const peerArb = fc.oneof(
  fc.record({ podSelector: fc.record({ matchLabels: fc.record({ app: fc.constantFrom(...APPS) }, { requiredKeys: [] }) }) }),
  fc.record({ namespaceSelector: fc.constantFrom({}, { matchLabels: { team: 'money' } }, { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }) }),
  fc.record({ namespaceSelector: fc.constant({ matchLabels: { team: 'shop' } }), podSelector: fc.constant({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }) }),
  fc.record({ ipBlock: fc.constantFrom({ cidr: '10.0.0.0/24', except: ['10.0.0.2/32'] }, { cidr: '203.0.113.0/24' }, { cidr: '0.0.0.0/0' }) }),
);
const npRuleArb = fc.record({ from: fc.option(fc.array(peerArb, { minLength: 1, maxLength: 2 }), { nil: undefined }), ports: fc.option(fc.constantFrom([{ port: 8080 }], [{ port: 'http' }], [{ port: 15008 }]), { nil: undefined }) });
const networkPolicyArb = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  podSelector: fc.constantFrom({}, { matchLabels: { app: 'api' } }, { matchLabels: { tier: 'back' } }),
  ingress: fc.array(npRuleArb, { maxLength: 2 }),
  egress: fc.option(fc.constant([{ to: [{ namespaceSelector: {} }] }]), { nil: undefined }),
});

const policiesArb = fc.record({ authorization: fc.array(authorizationPolicyArb, { maxLength: 6 }), network: fc.array(networkPolicyArb, { maxLength: 4 }), trustDomain: fc.constantFrom(...TRUST_DOMAINS) });
type Policies = typeof policiesArb extends fc.Arbitrary<infer T> ? T : never;

function manifests(p: Policies): KubeObject[] {
  const ap = p.authorization.map(
    (a, i): KubeObject => ({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: `ap-${i}`, namespace: a.ns, ...(a.dryRun ? { annotations: { 'istio.io/dry-run': 'true' } } : {}) },
      spec: {
        action: a.action,
        ...(a.action === 'CUSTOM' ? { provider: { name: 'ext' } } : {}),
        ...(a.selector === undefined ? {} : { selector: { matchLabels: a.selector } }),
        rules: a.rules.map((r) => ({ ...(r.from === undefined ? {} : { from: r.from }), ...(r.to === undefined ? {} : { to: r.to }) })),
      },
    }),
  );
  const np = p.network.map(
    (n, i): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `np-${i}`, namespace: n.ns },
      spec: { podSelector: n.podSelector, policyTypes: ['Ingress', ...(n.egress === undefined ? [] : ['Egress'])], ingress: n.ingress, ...(n.egress === undefined ? {} : { egress: n.egress }) },
    }),
  );
  return [...ap, ...np];
}

function contextOf(wls: readonly Wl[], p: Policies): ReplayContext {
  const inventory = buildInventory(inventoryOf(wls));
  const set = policySetOf(manifests(p));
  const namespaces = Object.fromEntries(inventory.namespaces.map((n) => [n, inventory.namespaceLabels.get(n) ?? {}]));
  return { inventory, policies: set, networkPolicies: networkPolicies(set, namespaces), trustDomain: p.trustDomain, rootNamespace: ROOT };
}

describe('policies indexed by the workloads they select', () => {
  it('property: an AuthorizationPolicy index gives the verdict of reading every policy, at sidecars and at ztunnel', () => {
    const requestArb = fc.record({
      ns: fc.constantFrom(...NAMESPACES, 'other'),
      app: fc.constantFrom(...APPS),
      principal: fc.constantFrom<string | null | undefined>(null, undefined, 'cluster.local/ns/shop/sa/web', 'example.org/ns/pay/sa/shared', 'cluster.local/ns/istio-system/sa/default'),
      ip: fc.option(fc.constantFrom('10.0.0.2', '203.0.113.9'), { nil: undefined }),
      port: fc.constantFrom(8080, 9090),
      http: fc.option(fc.record({ method: fc.constantFrom('GET', 'POST'), path: fc.constantFrom('/api/x', '/other') }), { nil: undefined }),
      ztunnel: fc.boolean(),
      enforceDryRun: fc.boolean(),
    });
    fc.assert(
      fc.property(policiesArb, fc.array(requestArb, { minLength: 1, maxLength: 12 }), (p, requests) => {
        const set = policySetOf(manifests(p));
        const index = istioPolicyIndex(set.authorization, ROOT);
        // Labels objects shared between requests, as pods' are between connections.
        const labelsOf = new Map(APPS.map((app) => [app, { app, tier: 'front' }]));
        for (const r of requests) {
          const req: IstioRequest = {
            source: { principal: r.principal, ...(r.ip === undefined ? {} : { ip: r.ip }) },
            destination: { namespace: r.ns, labels: labelsOf.get(r.app)!, port: r.port },
            ...(r.http === undefined ? {} : { http: { method: r.http.method, path: { text: r.http.path, template: false } } }),
          };
          const opts = { rootNamespace: ROOT, trustDomain: p.trustDomain, enforceDryRun: r.enforceDryRun, ztunnel: r.ztunnel };
          assert.deepEqual(evaluateIstio(index, req, opts), evaluateIstio(set.authorization, req, opts));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: a NetworkPolicy model reused across connections gives the verdict of a fresh one', () => {
    fc.assert(
      fc.property(meshArb, policiesArb, fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(8080, 9090, 15008)), { minLength: 1, maxLength: 15 }), (wls, p, conns) => {
        const ctx = contextOf(wls, p);
        const raw = ctx.policies.networkPolicies;
        const namespaces = Object.fromEntries(NAMESPACES.map((n) => [n, ctx.inventory.namespaceLabels.get(n) ?? {}]));
        const shared = networkPolicyModel(raw, namespaces);
        const pods = ctx.inventory.pods;
        const ep = (i: number): PodEndpoint => {
          const pod = pods[i % pods.length]!;
          return { namespace: pod.namespace, name: pod.name, labels: pod.labels, ...(pod.ips[0] === undefined ? {} : { ip: pod.ips[0] }), ports: pod.ports.map((c) => ({ ...(c.name === undefined ? {} : { name: c.name }), containerPort: c.port, protocol: 'TCP' as const })) };
        };
        for (const [a, b, port] of conns) {
          const c = { from: { pod: ep(a) }, to: { pod: ep(b) }, port, protocol: 'TCP' as const };
          assert.deepEqual(evaluateConnection(shared, c), evaluateConnection(networkPolicyModel(raw, namespaces), c));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('property: the bounded over-permission search finds what trying every pair finds', () => {
    fc.assert(
      fc.property(meshArb, policiesArb, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }), (wls, p, seen) => {
        const ctx = contextOf(wls, p);
        const keys = wls.map((w) => ({ key: `${w.ns}/Deployment/${w.app}`, kind: 'workload' as const, namespace: w.ns, name: w.app, ips: [] }));
        const observed: Observation[] = seen.map(([a, b]) => {
          const from = keys[a % keys.length]!;
          const to = keys[b % keys.length]!;
          return { edge: `${from.key}->${to.key}`, from, to, port: 8080, protocol: 'http', mtls: 'mutual', serviceAccounts: ['default'], requests: 1, methods: ['GET'], paths: [], pathsIncomplete: false };
        });
        const bounded = overPermission(ctx, replayIndex(ctx), observed);
        const all = allPairsOverPermission(ctx, replayIndex(ctx), observed);
        assert.equal(bounded.pairsChecked, all.pairsChecked);
        assert.deepEqual(bounded.pairs, all.pairs);
      }),
      { numRuns: 300 },
    );
  });

  it('the bounded search still finds a pair a namespace-wide allow admits, and skips none it should try', () => {
    // Known case: api admits anything from namespace shop by namespaces; db is isolated by a NetworkPolicy.
    const wls: Wl[] = [
      { ns: 'shop', app: 'web', sa: 'web', tier: 'front', dataplane: 'sidecar', waypoint: false, mixed: false, ip: '10.0.0.1' },
      { ns: 'shop', app: 'api', sa: 'api', tier: 'back', dataplane: 'sidecar', waypoint: false, mixed: false, ip: '10.0.0.2' },
      { ns: 'pay', app: 'db', sa: 'default', tier: 'back', dataplane: 'sidecar', waypoint: false, mixed: false, ip: '10.0.0.3' },
    ];
    const p: Policies = {
      trustDomain: 'cluster.local',
      authorization: [{ ns: 'shop', action: 'ALLOW', selector: { app: 'api' }, rules: [{ from: [{ source: { namespaces: ['shop'] } }], to: undefined }], dryRun: false }],
      network: [{ ns: 'pay', podSelector: {}, ingress: [], egress: undefined }],
    };
    const ctx = contextOf(wls, p);
    const op = overPermission(ctx, replayIndex(ctx), []);
    const to = (k: string) => op.pairs.filter((x) => x.to === k).map((x) => `${x.from} ${x.port}`);
    // shop's workloads, itself included; not db (pay), not the unmeshed probes nor the outsider.
    assert.deepEqual(to('shop/Deployment/api'), ['shop/Deployment/api 8080', 'shop/Deployment/api 9090', 'shop/Deployment/web 8080', 'shop/Deployment/web 9090']);
    assert.deepEqual(to('pay/Deployment/db'), []);
    assert.ok(to('shop/Deployment/web').includes('world:203.0.113.1 8080'), 'web has no policy: the outsider reaches it');
  });
});
