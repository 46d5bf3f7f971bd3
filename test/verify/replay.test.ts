// Replay and over-permission over small clusters: what replay assumes about identities
// (PeerAuthentication DISABLE, sources the inventory cannot name) and what the
// over-permission search must find (unauthenticated in-cluster clients, prefix paths).

import assert from 'node:assert/strict';
import { buildInventory } from '../../src/inventory/inventory.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { networkPolicies, policySetOf } from '../../src/verify/manifests.js';
import { neighbourPaths, overPermission, UNMESHED_PROBE } from '../../src/verify/over-permission.js';
import { replay, replayIndex, type Observation, type ReplayContext, type ReplayEndpoint } from '../../src/verify/replay.js';

interface Wl {
  ns: string;
  name: string;
  ip: string;
  sidecar?: boolean;
}

function inventoryOf(wls: Wl[]): KubeObject[] {
  return wls.flatMap((w): KubeObject[] => [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.name, namespace: w.ns } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${w.name}-0`, namespace: w.ns, labels: { app: w.name }, ownerReferences: [{ kind: 'Deployment', name: w.name, controller: true }] },
      spec: { serviceAccountName: w.name, containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }, ...(w.sidecar === false ? [] : [{ name: 'istio-proxy' }])] },
      status: { podIP: w.ip, hostIP: '192.168.0.1' },
    },
  ]);
}

function contextOf(wls: Wl[], policies: unknown[]): ReplayContext {
  const inventory = buildInventory(inventoryOf(wls));
  const set = policySetOf(policies as KubeObject[]);
  const namespaces = Object.fromEntries(inventory.namespaces.map((n) => [n, {}]));
  const ctx = { inventory, policies: set, networkPolicies: networkPolicies(set, namespaces), trustDomain: 'cluster.local', rootNamespace: 'istio-system' };
  assert.deepEqual(set.problems, []);
  return ctx;
}

const endpoint = (w: Wl): ReplayEndpoint => ({ key: `${w.ns}/Deployment/${w.name}`, kind: 'workload', namespace: w.ns, name: w.name, ips: [] });
const observation = (from: ReplayEndpoint, to: Wl, extra: Partial<Observation> = {}): Observation => ({
  edge: `${from.key}->${endpoint(to).key}:8080/http`,
  from,
  to: endpoint(to),
  port: 8080,
  protocol: 'http',
  mtls: 'mutual',
  serviceAccounts: from.kind === 'workload' ? [from.name] : [],
  requests: 10,
  methods: ['GET'],
  paths: [{ text: '/api/products', template: false }],
  pathsIncomplete: false,
  ...extra,
});

const policy = (kind: string, name: string, spec: unknown) => ({ apiVersion: 'security.istio.io/v1', kind, metadata: { name, namespace: 'shop' }, spec });
const web: Wl = { ns: 'shop', name: 'web', ip: '10.0.0.1' };
const api: Wl = { ns: 'shop', name: 'api', ip: '10.0.0.2' };

describe('replay', () => {
  it('PeerAuthentication DISABLE at the server: requests arrive in plaintext, so a principal rule does not admit them', () => {
    const allowWeb = policy('AuthorizationPolicy', 'allow-web', { selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/web'] } }] }] });
    const ctx = contextOf([web, api], [allowWeb]);
    assert.equal(replay(ctx, replayIndex(ctx), observation(endpoint(web), api)).verdict, 'allowed');
    const disabled = contextOf([web, api], [allowWeb, policy('PeerAuthentication', 'api-plain', { selector: { matchLabels: { app: 'api' } }, mtls: { mode: 'DISABLE' } })]);
    for (const mtls of ['mutual', 'unknown'] as const) {
      const r = replay(disabled, replayIndex(disabled), observation(endpoint(web), api, { mtls }));
      assert.equal(r.verdict, 'denied', mtls);
      assert.ok(r.notes.some((n) => n.includes('mTLS is disabled') && n.includes('shop/api-plain')), r.notes.join('; '));
    }
  });

  it('a source the inventory cannot name but that the server saw over mTLS has an unknown identity, not none', () => {
    const stranger: ReplayEndpoint = { key: 'unknown:10.9.9.9', kind: 'unknown', name: '10.9.9.9', ips: ['10.9.9.9'] };
    // In plaintext it has no identity: notNamespaces matches it, namespaces does not.
    for (const [source, plaintext] of [[{ notNamespaces: ['shop'] }, 'denied'], [{ namespaces: ['evil'] }, 'allowed']] as const) {
      const ctx = contextOf([api], [policy('AuthorizationPolicy', 'deny', { action: 'DENY', rules: [{ from: [{ source }] }] })]);
      assert.equal(replay(ctx, replayIndex(ctx), observation(stranger, api)).istio.verdict, 'unknown', JSON.stringify(source));
      assert.equal(replay(ctx, replayIndex(ctx), observation(stranger, api, { mtls: 'plaintext' })).istio.verdict, plaintext, JSON.stringify(source));
    }
  });
});

describe('over-permission', () => {
  it('finds what an unauthenticated pod inside the cluster may reach', () => {
    // Istio admits any source outside "untrusted" (a plaintext client has no namespace, so it
    // passes notNamespaces), and NetworkPolicy admits every pod of every namespace.
    const ctx = contextOf(
      [web, api, { ns: 'batch', name: 'job', ip: '10.0.1.1' }],
      [
        policy('AuthorizationPolicy', 'api', { selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { notNamespaces: ['untrusted'] } }], to: [{ operation: { ports: ['8080'] } }] }] }),
        { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'api-in', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] } },
      ],
    );
    const op = overPermission(ctx, replayIndex(ctx), [observation(endpoint(web), api)]);
    const toApi = op.pairs.filter((p) => p.to === 'shop/Deployment/api').map((p) => p.from);
    // The outsider's address matches no namespaceSelector; the unmeshed pods do.
    assert.ok(toApi.includes(`batch/${UNMESHED_PROBE}`), toApi.join(', '));
    assert.ok(toApi.includes(`shop/${UNMESHED_PROBE}`), toApi.join(', '));
    assert.ok(!toApi.includes('world:203.0.113.1'));
    const grant = op.pairs.find((p) => p.from === `batch/${UNMESHED_PROBE}` && p.to === 'shop/Deployment/api')!;
    assert.deepEqual(grant.allowedBy, ['ingress shop/api-in#0', 'istio shop/api#0']);
  });

  it('finds the paths a prefix admits beside and below the observed ones', () => {
    const ctx = contextOf([web, api], [policy('AuthorizationPolicy', 'api', { selector: { matchLabels: { app: 'api' } }, rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/api/*'] } }] }] })]);
    const op = overPermission(ctx, replayIndex(ctx), [observation(endpoint(web), api)]);
    assert.deepEqual(op.operations, [{ edge: 'shop/Deployment/web->shop/Deployment/api:8080/http', methods: [], anyPath: false, paths: ['/api/products/ztmap-unobserved', '/api/ztmap-unobserved'] }]);
    // An exact path admits nothing beyond itself.
    const exact = contextOf([web, api], [policy('AuthorizationPolicy', 'api', { selector: { matchLabels: { app: 'api' } }, rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/api/products'] } }] }] })]);
    assert.deepEqual(overPermission(exact, replayIndex(exact), [observation(endpoint(web), api)]).operations, []);
  });

  it('neighbour paths of a template sit beside its literal head', () => {
    assert.deepEqual(neighbourPaths({ text: '/reviews/{id}', template: true }), ['/reviews/ztmap-unobserved']);
    assert.deepEqual(neighbourPaths({ text: '/api/v1/products/{id}/reviews', template: true }), ['/api/v1/products/ztmap-unobserved']);
    assert.deepEqual(neighbourPaths({ text: '/', template: false }), ['/ztmap-unobserved']);
    assert.deepEqual(neighbourPaths({ text: 'opaque', template: false }), []);
  });
});
