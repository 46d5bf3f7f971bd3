// Replay with ztunnel's semantics for ambient pods (issue 11 part 7). Istio converts each
// AuthorizationPolicy for ztunnel in
// https://github.com/istio/istio/blob/master/pilot/pkg/serviceregistry/kube/controller/ambient/authorization.go: an ALLOW rule with HTTP attributes is omitted ("rules matching HTTP
// attributes are omitted. This will be more restrictive than requested."), a DENY rule loses
// them ("enforced without the HTTP rules"), CUSTOM is not supported, `when` keys are limited
// to source.ip/namespace/principal and destination.ip/port, namespaces are string matches.
// Each case below is one a sidecar evaluator gets wrong for an ambient pod.

import assert from 'node:assert/strict';
import { DEFAULT_INFER_OPTIONS, inferRules } from '../../src/infer/infer.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { emit, TARGETS } from '../../src/policy/index.js';
import { evaluateIstio, parseAuthorizationPolicy, type AuthorizationPolicyModel, type IstioRequest } from '../../src/verify/istio.js';
import { networkPolicies, policySetOf } from '../../src/verify/manifests.js';
import { replay, replayIndex, type Observation, type ReplayContext, type ReplayEndpoint } from '../../src/verify/replay.js';
import { verify } from '../../src/verify/verification.js';
import { ambientGraph, ambientInventory, HOST_IP, key, W, type MeshWorkload } from '../support/ambient-mesh.js';

const SA = (ns: string, sa: string) => `cluster.local/ns/${ns}/sa/${sa}`;

function ap(spec: unknown, namespace = 'shop', name = 'p'): AuthorizationPolicyModel {
  const p = parseAuthorizationPolicy({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace, name }, spec });
  if ('message' in p) throw new Error(p.message);
  return p;
}

const req = (principal: string | null, method = 'GET'): IstioRequest => ({
  source: { principal, ip: '10.2.0.1' },
  destination: { namespace: 'shop', labels: { app: 'api' }, ip: '10.1.0.2', port: 8080 },
  http: { method, path: { text: '/api/cart', template: false } },
});

const at = (where: 'sidecar' | 'ztunnel', policies: AuthorizationPolicyModel[], r: IstioRequest) =>
  evaluateIstio(policies, r, { rootNamespace: 'istio-system', trustDomain: 'cluster.local', enforceDryRun: false, ztunnel: where === 'ztunnel' });

describe('Istio AuthorizationPolicy at ztunnel (ambient)', () => {
  const frontend = SA('front', 'frontend');

  it('an ALLOW rule with HTTP attributes is omitted: the policy still applies, so it denies', () => {
    const l7 = ap({ selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { principals: [frontend] } }], to: [{ operation: { methods: ['GET'], paths: ['/api/*'] } }] }] });
    assert.equal(at('sidecar', [l7], req(frontend)).decision, 'allow');
    const v = at('ztunnel', [l7], req(frontend));
    assert.deepEqual([v.decision, v.reason], ['deny', 'no-allow-match']);
    assert.deepEqual(v.ztunnelOmitted, [{ policy: { namespace: 'shop', name: 'p', rule: 0 }, attributes: ['methods', 'paths'], effect: 'omitted' }]);
  });

  it('the rule is omitted, not the policy: an L4 rule beside it still allows', () => {
    const mixed = ap({ rules: [{ to: [{ operation: { methods: ['GET'] } }] }, { from: [{ source: { principals: [frontend] } }], to: [{ operation: { ports: ['8080'] } }] }] });
    const v = at('ztunnel', [mixed], req(frontend, 'DELETE'));
    assert.deepEqual([v.decision, v.policies[0]?.rule], ['allow', 1]);
    assert.equal(at('ztunnel', [mixed], req(SA('shop', 'web'))).decision, 'deny');
  });

  it('a DENY rule loses its HTTP attributes: with a port left it matches wider, with nothing left it never matches', () => {
    // methods dropped, the port stays: every connection from frontend to 8080 is denied.
    const denyGetOn8080 = ap({ action: 'DENY', rules: [{ from: [{ source: { principals: [frontend] } }], to: [{ operation: { ports: ['8080'], methods: ['GET'] } }] }] });
    assert.equal(at('sidecar', [denyGetOn8080], req(frontend, 'POST')).decision, 'allow');
    assert.equal(at('ztunnel', [denyGetOn8080], req(frontend, 'POST')).decision, 'deny');
    assert.equal(at('ztunnel', [denyGetOn8080], req(SA('shop', 'web'), 'POST')).decision, 'allow');
    // methods only: the operation becomes an empty match, which ztunnel never matches
    // (https://github.com/istio/ztunnel/blob/master/src/rbac.rs): the DENY no longer protects anything, GET included.
    const denyGet = ap({ action: 'DENY', rules: [{ from: [{ source: { principals: [frontend] } }], to: [{ operation: { methods: ['GET'] } }] }] });
    assert.equal(at('sidecar', [denyGet], req(frontend, 'GET')).decision, 'deny');
    assert.equal(at('ztunnel', [denyGet], req(frontend, 'GET')).decision, 'allow');
    assert.deepEqual([at('ztunnel', [denyGet], req(frontend)).ztunnelOmitted?.[0]?.effect, at('ztunnel', [denyGetOn8080], req(frontend)).ztunnelOmitted?.[0]?.effect], ['inert', 'reduced']);
    // The same for a source with only requestPrincipals and a `when` on a header.
    assert.equal(at('ztunnel', [ap({ action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] })], req(frontend)).decision, 'allow');
    assert.equal(at('ztunnel', [ap({ action: 'DENY', rules: [{ when: [{ key: 'request.headers[x-evil]', values: ['1'] }] }] })], req(frontend)).decision, 'allow');
    // An ALLOW source with only trustDomains is an empty match too.
    assert.equal(at('ztunnel', [ap({ rules: [{ from: [{ source: { trustDomains: ['cluster.local'] } }] }] })], req(frontend)).decision, 'deny');
  });

  it('remoteIpBlocks, requestPrincipals and `when` keys outside the L4 set omit an ALLOW rule at ztunnel', () => {
    for (const rule of [
      { from: [{ source: { remoteIpBlocks: ['10.0.0.0/8'] } }] },
      { from: [{ source: { requestPrincipals: ['*'] } }] },
      { when: [{ key: 'remote.ip', values: ['10.0.0.0/8'] }] },
      { when: [{ key: 'source.serviceAccount', values: ['front/frontend'] }] },
      { when: [{ key: 'request.headers[x-user]', values: ['a'] }] },
    ]) {
      const p = ap({ rules: [rule] });
      assert.equal(at('ztunnel', [p], req(frontend)).decision, 'deny', JSON.stringify(rule));
    }
    // The five keys ztunnel converts are evaluated.
    assert.equal(at('ztunnel', [ap({ rules: [{ when: [{ key: 'source.namespace', values: ['front'] }, { key: 'destination.port', values: ['8080'] }] }] })], req(frontend)).decision, 'allow');
  });

  it('namespaces are Istio string matches at ztunnel, not the sidecar\'s regular expression', () => {
    const p = ap({ rules: [{ from: [{ source: { namespaces: ['team-*-prod'] } }] }] });
    assert.equal(at('sidecar', [p], req(SA('team-a-prod', 'x'))).decision, 'allow', 'Envoy reads team-*-prod as the expression team-.*-prod');
    assert.equal(at('ztunnel', [p], req(SA('team-a-prod', 'x'))).decision, 'deny', 'ztunnel reads it as an exact name');
    const prefix = ap({ rules: [{ from: [{ source: { namespaces: ['fro*'] } }] }] });
    assert.equal(at('ztunnel', [prefix], req(SA('front', 'x'))).decision, 'allow');
    assert.equal(at('ztunnel', [prefix], req(SA('shop', 'x'))).decision, 'deny');
  });

  it('principals are compared as written at ztunnel: no trust-domain alias rewriting', () => {
    const opts = (ztunnel: boolean) => ({ rootNamespace: 'istio-system', trustDomain: 'example.org', enforceDryRun: false, ztunnel });
    const p = ap({ rules: [{ from: [{ source: { principals: [frontend] } }] }] });
    const r = req('example.org/ns/front/sa/frontend');
    assert.equal(evaluateIstio([p], r, opts(false)).decision, 'allow', 'a sidecar reads cluster.local as the mesh\'s trust domain');
    assert.equal(evaluateIstio([p], r, opts(true)).decision, 'deny');
  });

  it('CUSTOM policies are not applied by ztunnel; plaintext has no principal there either', () => {
    const custom = ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] });
    assert.equal(at('sidecar', [custom], req(frontend)).decision, 'unknown');
    const v = at('ztunnel', [custom], req(frontend));
    assert.equal(v.decision, 'allow');
    assert.deepEqual(v.ztunnelOmitted?.[0]?.attributes, ['action CUSTOM']);
    assert.equal(at('ztunnel', [ap({ rules: [{ from: [{ source: { principals: ['*'] } }] }] })], req(null)).decision, 'deny');
  });
});

// Replay over the ambient mesh of test/support/ambient-mesh.ts.

const meta = (kind: string, name: string, namespace = 'shop') => ({ apiVersion: kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'security.istio.io/v1', kind, metadata: { name, namespace } });

function contextOf(policies: unknown[]): ReplayContext {
  const inventory = buildInventory(ambientInventory());
  const set = policySetOf(policies as KubeObject[]);
  assert.deepEqual(set.problems, []);
  const namespaces = Object.fromEntries(inventory.namespaces.map((n) => [n, inventory.namespaceLabels.get(n) ?? {}]));
  return { inventory, policies: set, networkPolicies: networkPolicies(set, namespaces), trustDomain: 'cluster.local', rootNamespace: 'istio-system' };
}

const endpoint = (w: MeshWorkload): ReplayEndpoint => ({ key: key(w), kind: 'workload', namespace: w.ns, name: w.name, ips: [] });
const observation = (from: MeshWorkload | ReplayEndpoint, to: MeshWorkload, extra: Partial<Observation> = {}): Observation => {
  const f = 'key' in from ? from : endpoint(from);
  return {
    edge: `${f.key}->${key(to)}:${to.port ?? 8080}/http`,
    from: f,
    to: endpoint(to),
    port: to.port ?? 8080,
    protocol: 'http',
    mtls: 'unknown',
    serviceAccounts: 'sa' in from ? [from.sa] : [],
    requests: 10,
    methods: ['GET', 'POST'],
    paths: [{ text: '/api/items/{id}', template: true }],
    pathsIncomplete: false,
    ...extra,
  };
};
const run = (ctx: ReplayContext, o: Observation) => replay(ctx, replayIndex(ctx), o);

/** Today's sidecar-style policy for api: what ztmap emitted before ambient was detected. */
const sidecarStyleApi = {
  ...meta('AuthorizationPolicy', 'allow-api'),
  spec: {
    selector: { matchLabels: { app: 'api' } },
    action: 'ALLOW',
    rules: [{ from: [{ source: { principals: [SA('front', 'frontend')] } }], to: [{ operation: { ports: ['8080'], methods: ['GET', 'POST'], paths: ['/api/cart', '/api/items/*'] } }] }],
  },
};

describe('replay against ambient pods', () => {
  it('a sidecar-style L7 policy replayed against an ambient workload is denied, and the note says why', () => {
    const r = run(contextOf([sidecarStyleApi]), observation(W.frontend, W.api));
    assert.equal(r.istio.verdict, 'denied');
    assert.deepEqual(r.istio.outcomes.map((x) => [x.decision, x.reason, x.enforcedBy]), [['deny', 'no-allow-match', 'ztunnel']]);
    assert.ok(r.notes.some((n) => /ztunnel omits ALLOW rule shop\/allow-api#0 .* methods, paths/.test(n)), r.notes.join('; '));
    // The same policy on the sidecar pod of the namespace allows it.
    const admin = { ...sidecarStyleApi, spec: { ...sidecarStyleApi.spec, selector: { matchLabels: { app: 'admin' } }, rules: [{ ...sidecarStyleApi.spec.rules[0]!, to: [{ operation: { ports: ['9090'], methods: ['GET', 'POST'], paths: ['/api/*'] } }] }] } };
    assert.equal(run(contextOf([admin]), observation(W.frontend, W.admin, { paths: [{ text: '/api/x', template: false }] })).istio.verdict, 'allowed');
  });

  it('a DENY that ztunnel never applies is said: what it was written to deny is not denied', () => {
    const denyGet = { ...meta('AuthorizationPolicy', 'deny-get'), spec: { selector: { matchLabels: { app: 'api' } }, action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] } };
    const r = run(contextOf([denyGet]), observation(W.frontend, W.api));
    assert.equal(r.istio.verdict, 'allowed');
    assert.ok(r.notes.some((n) => /ztunnel never applies DENY rule shop\/deny-get#0 .* without methods/.test(n)), r.notes.join('; '));
  });

  it('ztmap\'s proposal for the ambient mesh: every observed flow allowed, except what its review reports', () => {
    const graph = ambientGraph();
    const inventory = buildInventory(ambientInventory());
    const rs = inferRules(graph, inventory, DEFAULT_INFER_OPTIONS);
    const opts = { trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply: false };
    const manifests = TARGETS.flatMap((t) => emit(t, rs, opts).manifests).filter((m) => !m.notReady).map((m) => m.manifest as unknown as KubeObject);
    const v = verify(graph, inventory, policySetOf(manifests), { trustDomain: 'cluster.local', rootNamespace: 'istio-system', rules: rs, overPermission: true });
    assert.deepEqual(v.problems, []);
    const verdicts = Object.fromEntries(v.results.map((r) => [r.observation.edge, [r.verdict, r.expected ?? '']]));
    assert.deepEqual(verdicts, {
      'front/Deployment/frontend->shop/Deployment/admin:9090/http': ['allowed', ''],
      'front/Deployment/frontend->shop/Deployment/api:8080/http': ['allowed', ''],
      'legacy/Deployment/legacy-client->shop/Deployment/api:8080/http': ['denied', 'blocker: no authenticated identity for an Istio principal'],
      'shop/Deployment/web->front/Deployment/frontend:8000/tcp': ['allowed', ''],
      'shop/Deployment/web->shop/Deployment/api:8080/tcp': ['allowed', ''],
    });
    assert.equal(v.summary.unexpectedDenials.observations, 0);
    const api = v.results.find((r) => r.observation.edge.startsWith('front/Deployment/frontend->shop/Deployment/api'))!;
    assert.ok(api.istio.outcomes.every((x) => x.enforcedBy === 'ztunnel'));
    assert.ok(api.notes.some((n) => n.includes('15008')), api.notes.join('; '));
    // What the L4 policy admits beyond what was observed is measured: every method on the port.
    const ops = v.overPermission!.operations.find((o) => o.edge === api.observation.edge)!;
    assert.deepEqual(ops.methods, ['HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    assert.equal(ops.anyPath, true);
    // And no unobserved pair into the ambient namespace gets through.
    assert.deepEqual(v.overPermission!.pairs.filter((p) => p.to.startsWith('shop/') && p.to !== 'shop/Deployment/batch'), []);
  });

  it('a pod that opted out is not enforced; STRICT refuses plaintext at ztunnel; DISABLE is ignored there', () => {
    const denyAll = { ...meta('AuthorizationPolicy', 'deny-all'), spec: {} };
    const ctx = contextOf([denyAll]);
    const batch = run(ctx, observation(W.web, W.batch, { protocol: 'tcp', methods: [], paths: [] }));
    assert.deepEqual(batch.istio.outcomes.map((x) => x.decision), ['not-enforced']);
    assert.equal(run(ctx, observation(W.web, W.api, { protocol: 'tcp', methods: [], paths: [] })).istio.verdict, 'denied');

    const allowFrontend = { ...meta('AuthorizationPolicy', 'allow'), spec: { selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { principals: [SA('front', 'frontend')] } }] }] } };
    const strict = { ...meta('PeerAuthentication', 'strict'), spec: { mtls: { mode: 'STRICT' } } };
    const legacy = run(contextOf([strict]), observation(W.legacy, W.api));
    assert.deepEqual(legacy.istio.outcomes.map((x) => [x.decision, x.reason]), [['deny', 'plaintext-refused']]);
    const disable = { ...meta('PeerAuthentication', 'off'), spec: { selector: { matchLabels: { app: 'api' } }, mtls: { mode: 'DISABLE' } } };
    const r = run(contextOf([allowFrontend, disable]), observation(W.frontend, W.api));
    assert.equal(r.istio.verdict, 'allowed', 'at a sidecar DISABLE would strip the principal; ztunnel always has it');
    assert.ok(r.notes.some((n) => /DISABLE, which ambient mode ignores/.test(n)));
  });

  it('behind a waypoint the identity ztunnel sees is the waypoint\'s: a client principal rule is not proven', () => {
    const allowFrontend = { ...meta('AuthorizationPolicy', 'allow'), spec: { selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { principals: [SA('front', 'frontend')] } }] }] } };
    const inventory = buildInventory(ambientInventory().map((o) => (o.kind === 'Pod' && o.metadata['name'] === 'api-0' ? { ...o, metadata: { ...o.metadata, labels: { app: 'api', 'istio.io/use-waypoint': 'waypoint' } } } : o)));
    const set = policySetOf([allowFrontend] as unknown as KubeObject[]);
    const ctx: ReplayContext = { inventory, policies: set, networkPolicies: networkPolicies(set, {}), trustDomain: 'cluster.local', rootNamespace: 'istio-system' };
    const r = run(ctx, observation(W.frontend, W.api));
    assert.equal(r.istio.verdict, 'unknown');
    assert.ok(r.notes.some((n) => /behind the waypoint waypoint/.test(n)));
    // NetworkPolicy sees client -> waypoint -> server: not modelled, so unknown, not allowed.
    assert.deepEqual(r.networkPolicy.outcomes.map((x) => [x.decision, x.reason]), [['unknown', 'waypoint']]);
    // A client outside the mesh does not use the waypoint: evaluated as usual.
    assert.equal(run(ctx, observation(W.legacy, W.api)).networkPolicy.verdict, 'allowed');
  });

  it('NetworkPolicy: meshed traffic to an ambient pod is replayed on 15008, so admitting only the app port cuts it off', () => {
    const defaultDeny = { ...meta('NetworkPolicy', 'default-deny'), spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const appPortOnly = { ...meta('NetworkPolicy', 'api-in'), spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 8080 }] }] } };
    const withHbone = { ...meta('NetworkPolicy', 'api-in'), spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 8080 }, { port: 15008 }] }] } };
    const cut = run(contextOf([defaultDeny, appPortOnly]), observation(W.frontend, W.api));
    assert.deepEqual([cut.networkPolicy.verdict, cut.networkPolicy.outcomes[0]?.reason], ['denied', 'ingress-denied']);
    assert.equal(run(contextOf([defaultDeny, withHbone]), observation(W.frontend, W.api)).networkPolicy.verdict, 'allowed');
    // A client outside the mesh reaches the application port in plaintext.
    assert.equal(run(contextOf([defaultDeny, appPortOnly]), observation(W.legacy, W.api)).networkPolicy.verdict, 'allowed');
  });

  it('NetworkPolicy: the kubelet\'s probes to an ambient pod come from 169.254.7.127, which a default deny must admit', () => {
    const node: ReplayEndpoint = { key: `node:${HOST_IP}`, kind: 'node', name: HOST_IP, ips: [HOST_IP] };
    const probe = observation(node, W.api, { methods: ['GET'], paths: [{ text: '/healthz', template: false }] });
    const defaultDeny = { ...meta('NetworkPolicy', 'default-deny'), spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const probes = { ...meta('NetworkPolicy', 'probes'), spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '169.254.7.127/32' } }] }] } };
    const cut = run(contextOf([defaultDeny]), probe);
    assert.equal(cut.networkPolicy.verdict, 'denied');
    assert.ok(cut.notes.some((n) => n.includes('169.254.7.127')));
    assert.equal(run(contextOf([defaultDeny, probes]), probe).networkPolicy.verdict, 'allowed');
    // A sidecar pod's probes still come from its own node, which every CNI admits.
    assert.equal(run(contextOf([defaultDeny]), observation(node, W.admin)).networkPolicy.outcomes[0]?.reason, 'node-local');
  });
});
