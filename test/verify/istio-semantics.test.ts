// Hand-written cases for Istio's AuthorizationPolicy and PeerAuthentication semantics
// (https://istio.io/latest/docs/reference/config/security/authorization-policy/). Each is a case a naive evaluator gets wrong.

import assert from 'node:assert/strict';
import { evaluateIstio, parseAuthorizationPolicy, type AuthorizationPolicyModel, type IstioRequest } from '../../src/verify/istio.js';
import { mtlsPolicyFor, parsePeerAuthentication, type PeerAuthenticationModel } from '../../src/verify/peer-authentication.js';

const ROOT = 'istio-system';
const SA = (ns: string, sa: string) => `cluster.local/ns/${ns}/sa/${sa}`;

function ap(namespace: string, name: string, spec: unknown, annotations: Record<string, string> = {}): AuthorizationPolicyModel {
  const p = parseAuthorizationPolicy({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace, name, annotations }, spec });
  if ('message' in p) throw new Error(p.message);
  return p;
}

function req(over: { principal?: string | null; ip?: string; ns?: string; labels?: Record<string, string>; port?: number; http?: IstioRequest['http'] | null } = {}): IstioRequest {
  return {
    source: { principal: 'principal' in over ? over.principal : SA('default', 'client'), ip: over.ip ?? '10.1.0.5' },
    destination: { namespace: over.ns ?? 'default', labels: over.labels ?? { app: 'server' }, ip: '10.1.0.9', port: over.port ?? 8080 },
    ...(over.http === null ? {} : { http: over.http ?? { method: 'GET', path: { text: '/api/items', template: false }, host: 'server.default.svc.cluster.local:8080' } }),
  };
}

const decide = (policies: AuthorizationPolicyModel[], r: IstioRequest, enforceDryRun = false) => evaluateIstio(policies, r, { rootNamespace: ROOT, trustDomain: 'cluster.local', enforceDryRun });
const allowFrom = (principals: string[]) => ({ rules: [{ from: [{ source: { principals } }] }] });

describe('Istio AuthorizationPolicy semantics', () => {
  it('DENY wins over a matching ALLOW', () => {
    const v = decide([ap('default', 'allow', allowFrom([SA('default', 'client')])), ap('default', 'deny', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })], req());
    assert.deepEqual([v.decision, v.reason, v.policies[0]?.name], ['deny', 'denied-by', 'deny']);
  });

  it('with no ALLOW policy for the workload, allows, even when other workloads have some', () => {
    const other = ap('default', 'other', { selector: { matchLabels: { app: 'other' } }, ...allowFrom(['nobody']) });
    assert.equal(decide([other], req()).decision, 'allow');
    assert.equal(decide([other], req()).reason, 'no-policy');
  });

  it('spec: {} denies everything in scope; rules: [{}] allows everything; a DENY without rules denies nothing', () => {
    assert.equal(decide([ap('default', 'deny-all', {})], req()).decision, 'deny');
    assert.equal(decide([ap('default', 'deny-all', {}), ap('default', 'allow-all', { rules: [{}] })], req()).decision, 'allow');
    assert.equal(decide([ap('default', 'empty-deny', { action: 'DENY' })], req()).decision, 'allow');
  });

  it('a root-namespace policy applies in every namespace; another namespace\'s policy does not', () => {
    const rootDenyAll = ap(ROOT, 'mesh-deny', { selector: { matchLabels: { app: 'server' } } });
    assert.equal(decide([rootDenyAll], req({ ns: 'shop' })).decision, 'deny');
    assert.equal(decide([ap('shop', 'deny-all', {})], req({ ns: 'default' })).decision, 'allow');
    assert.equal(decide([ap('default', 'ns-wide', {})], req({ labels: { app: 'anything' } })).decision, 'deny');
  });

  it('rules OR, but within a rule from AND to: one rule\'s source does not get another rule\'s operation', () => {
    const p = ap('default', 'p', {
      rules: [
        { from: [{ source: { principals: [SA('default', 'a')] } }], to: [{ operation: { methods: ['GET'] } }] },
        { from: [{ source: { principals: [SA('default', 'b')] } }], to: [{ operation: { methods: ['POST'] } }] },
      ],
    });
    const post = { method: 'POST', path: { text: '/x', template: false } };
    assert.equal(decide([p], req({ principal: SA('default', 'a'), http: post })).decision, 'deny');
    assert.equal(decide([p], req({ principal: SA('default', 'b'), http: post })).decision, 'allow');
    assert.equal(decide([p], req({ principal: SA('default', 'a') })).policies[0]?.rule, 0);
  });

  it('string matches are exact, prefix, suffix or presence; a * elsewhere is a literal', () => {
    const v = (pattern: string, principal: string) => decide([ap('default', 'p', allowFrom([pattern]))], req({ principal })).decision;
    assert.equal(v('cluster.local/ns/default/*', SA('default', 'x')), 'allow');
    assert.equal(v('*/sa/x', SA('other', 'x')), 'allow');
    assert.equal(v('*', SA('other', 'x')), 'allow');
    assert.equal(v('cluster.local/ns/*/sa/x', SA('default', 'x')), 'deny');
    assert.equal(v('cluster.local/ns/default/sa/x', SA('default', 'xy')), 'deny');
  });

  it('a plaintext request has no principal or namespace: principals ["*"] does not match it, notPrincipals ["*"] does', () => {
    assert.equal(decide([ap('default', 'p', allowFrom(['*']))], req({ principal: null })).decision, 'deny');
    const denyPlaintext = ap('default', 'd', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] });
    assert.equal(decide([denyPlaintext], req({ principal: null })).decision, 'deny');
    assert.equal(decide([denyPlaintext], req()).decision, 'allow');
    const ns = ap('default', 'n', { rules: [{ from: [{ source: { namespaces: ['default'] } }] }] });
    assert.equal(decide([ns], req()).decision, 'allow');
    assert.equal(decide([ns], req({ principal: null })).decision, 'deny');
  });

  it('an unknown principal (mTLS not observed) gives unknown only where it matters', () => {
    assert.equal(decide([ap('default', 'p', allowFrom([SA('default', 'client')]))], req({ principal: undefined })).decision, 'unknown');
    assert.equal(decide([ap('default', 'p', { rules: [{ to: [{ operation: { ports: ['8080'] } }] }] })], req({ principal: undefined })).decision, 'allow');
  });

  it('ipBlocks take addresses and CIDRs; notIpBlocks excludes', () => {
    const p = ap('default', 'p', { rules: [{ from: [{ source: { ipBlocks: ['10.1.0.0/16'], notIpBlocks: ['10.1.0.5'] } }] }] });
    assert.equal(decide([p], req({ ip: '10.1.2.3' })).decision, 'allow');
    assert.equal(decide([p], req({ ip: '10.1.0.5' })).decision, 'deny');
    assert.equal(decide([p], req({ ip: '10.2.0.1' })).decision, 'deny');
  });

  it('ports are the workload\'s target port; notPorts excludes', () => {
    const p = ap('default', 'p', { rules: [{ to: [{ operation: { ports: ['8080', '9090'], notPorts: ['9090'] } }] }] });
    assert.equal(decide([p], req({ port: 8080 })).decision, 'allow');
    assert.equal(decide([p], req({ port: 9090 })).decision, 'deny');
    assert.equal(decide([p], req({ port: 80 })).decision, 'deny');
  });

  it('paths: prefix, suffix, exact; a template from the graph matches a prefix for sure and an exact path only maybe', () => {
    const p = (paths: string[]) => ap('default', 'p', { rules: [{ to: [{ operation: { paths } }] }] });
    const at = (text: string, template = false) => req({ http: { method: 'GET', path: { text, template } } });
    assert.equal(decide([p(['/api/*'])], at('/api/items/7')).decision, 'allow');
    assert.equal(decide([p(['/api/*'])], at('/apiv2')).decision, 'deny');
    assert.equal(decide([p(['*.css'])], at('/static/a.css')).decision, 'allow');
    assert.equal(decide([p(['/details/*'])], at('/details/{id}', true)).decision, 'allow');
    assert.equal(decide([p(['/details/7'])], at('/details/{id}', true)).decision, 'unknown');
    assert.equal(decide([p(['/details/x'])], at('/details/{id}', true)).decision, 'deny');
    assert.equal(decide([p(['/reviews/*'])], at('/details/{id}', true)).decision, 'deny');
    assert.equal(decide([p(['/api/{*}/items'])], at('/api/v1/items')).decision, 'allow');
    assert.equal(decide([p(['/api/{*}/items'])], at('/api/v1/v2/items')).decision, 'deny');
  });

  it('on TCP, an ALLOW rule with HTTP fields never matches, and a DENY rule counts them as matched', () => {
    const tcp = req({ http: null });
    assert.equal(decide([ap('default', 'a', { rules: [{ to: [{ operation: { methods: ['GET'], ports: ['8080'] } }] }] })], tcp).decision, 'deny');
    const deny = ap('default', 'd', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'], ports: ['8080'] } }] }] });
    assert.equal(decide([deny], tcp).decision, 'deny');
    assert.equal(decide([deny], req({ http: null, port: 9000 })).decision, 'allow');
    // Over HTTP the same DENY only matches POST.
    assert.equal(decide([deny], req()).decision, 'allow');
  });

  it('when: known keys are evaluated, headers and JWT claims are unknown and carried through', () => {
    const port = ap('default', 'p', { rules: [{ when: [{ key: 'destination.port', values: ['8080'] }, { key: 'source.ip', notValues: ['10.9.0.0/16'] }] }] });
    assert.equal(decide([port], req()).decision, 'allow');
    assert.equal(decide([port], req({ ip: '10.9.1.1' })).decision, 'deny');
    const header = ap('default', 'h', { rules: [{ when: [{ key: 'request.headers[x-token]', values: ['a'] }] }] });
    assert.equal(decide([header], req()).decision, 'unknown');
    // A DENY that might match makes an allowed request unknown, not allowed.
    const maybeDeny = ap('default', 'md', { action: 'DENY', rules: [{ when: [{ key: 'request.auth.claims[iss]', values: ['x'] }] }] });
    assert.equal(decide([maybeDeny, ap('default', 'all', { rules: [{}] })], req()).decision, 'unknown');
    // …but not a request the ALLOW stage denies anyway.
    assert.equal(decide([maybeDeny, ap('default', 'none', {})], req()).decision, 'deny');
  });

  it('dry-run policies are not enforced, and are when asked what enforcing them would do', () => {
    const dry = ap('default', 'dry', {}, { 'istio.io/dry-run': 'true' });
    assert.equal(decide([dry], req()).decision, 'allow');
    assert.equal(decide([dry], req(), true).decision, 'deny');
  });

  it('CUSTOM hands a matching request to its authorizer (unknown), AUDIT changes nothing', () => {
    const custom = ap('default', 'c', { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] });
    assert.equal(decide([custom], req()).decision, 'allow');
    assert.equal(decide([custom], req({ http: { method: 'GET', path: { text: '/admin/x', template: false } } })).decision, 'unknown');
    assert.equal(decide([ap('default', 'audit', { action: 'AUDIT', rules: [{}] }), ap('default', 'none', {})], req()).decision, 'deny');
  });

  it('hosts match case-insensitively, with or without the port', () => {
    const p = ap('default', 'p', { rules: [{ to: [{ operation: { hosts: ['Server.default.svc.cluster.local'] } }] }] });
    assert.equal(decide([p], req()).decision, 'allow');
  });

  it('targetRef policies apply at gateways and waypoints, not at sidecars', () => {
    const p = ap('default', 'gw', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }] });
    assert.equal(decide([p], req()).decision, 'allow');
  });

  it('an empty list is not set: from: [], to: [], principals: [] and values: [] constrain nothing', () => {
    // A naive reading (an empty OR is false) would make each of these DENY rules match nothing.
    const denies = [
      { rules: [{ from: [], to: [{ operation: { ports: ['8080'] } }] }] },
      { rules: [{ to: [{ operation: { methods: ['GET'], ports: [] } }] }] },
      { rules: [{ from: [{ source: { namespaces: ['default'], principals: [] } }] }] },
      { rules: [{ when: [{ key: 'source.namespace', values: [], notValues: ['elsewhere'] }] }] },
    ];
    for (const [i, spec] of denies.entries()) assert.equal(decide([ap('default', `d${i}`, { action: 'DENY', ...spec })], req()).decision, 'deny', JSON.stringify(spec));
    const bad = (spec: unknown) => parseAuthorizationPolicy({ metadata: { name: 'x', namespace: 'd' }, spec });
    // …and a source or operation left with nothing set is one Istio rejects.
    assert.match((bad({ rules: [{ from: [{ source: { principals: [] } }] }] }) as { message: string }).message, /must not be empty/);
    assert.match((bad({ rules: [{ when: [{ key: 'source.ip', values: [] }] }] }) as { message: string }).message, /needs values or notValues/);
  });

  it('on TCP, one HTTP-only field anywhere in an ALLOW rule drops the whole rule, not just its entry', () => {
    const tcp = req({ http: null, port: 5432 });
    const ops = ap('default', 'ops', { rules: [{ to: [{ operation: { methods: ['GET'] } }, { operation: { ports: ['5432'] } }] }] });
    assert.equal(decide([ops], tcp).decision, 'deny');
    const jwt = ap('default', 'jwt', { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }, { source: { namespaces: ['default'] } }] }] });
    assert.equal(decide([jwt], tcp).decision, 'deny');
    const header = ap('default', 'hdr', { rules: [{ to: [{ operation: { ports: ['5432'] } }], when: [{ key: 'request.headers[x]', values: ['y'] }] }] });
    assert.equal(decide([header], tcp).decision, 'deny');
    // Another rule of the same policy without HTTP fields still applies.
    const mixed = ap('default', 'mixed', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }, { to: [{ operation: { ports: ['5432'] } }] }] });
    assert.equal(decide([mixed], tcp).decision, 'allow');
  });

  it('a principal written with cluster.local means the mesh\'s own trust domain', () => {
    const deny = ap('default', 'd', { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/web'] } }] }] });
    const web = req({ principal: 'example.com/ns/default/sa/web' });
    assert.equal(evaluateIstio([deny], web, { rootNamespace: ROOT, trustDomain: 'example.com', enforceDryRun: false }).decision, 'deny');
    const when = ap('default', 'w', { action: 'DENY', rules: [{ when: [{ key: 'source.principal', values: ['cluster.local/ns/default/sa/*'] }] }] });
    assert.equal(evaluateIstio([when], web, { rootNamespace: ROOT, trustDomain: 'example.com', enforceDryRun: false }).decision, 'deny');
    // Another trust domain is another mesh's identity.
    assert.equal(evaluateIstio([deny], req({ principal: 'other.org/ns/default/sa/web' }), { rootNamespace: ROOT, trustDomain: 'example.com', enforceDryRun: false }).decision, 'allow');
  });

  it('only a full TD/ns/NS/sa/SA principal has its trust domain rewritten, as Istio\'s ReplaceTrustDomainAliases does', () => {
    const td = { rootNamespace: ROOT, trustDomain: 'example.com', enforceDryRun: false };
    const web = req({ principal: 'example.com/ns/default/sa/web' });
    // Four parts: kept as written, a prefix match on "cluster.local/ns/default/", which the principal is not.
    const partialDeny = ap('default', 'd', { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/*'] } }] }] });
    assert.equal(evaluateIstio([partialDeny], web, td).decision, 'allow');
    const partialAllow = ap('default', 'a', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/*'] } }] }] });
    assert.equal(evaluateIstio([partialAllow], web, td).decision, 'deny');
    // Under the default trust domain the same pattern is a plain prefix match.
    assert.equal(decide([partialAllow], req({ principal: SA('default', 'web') })).decision, 'allow');
    // A trust domain written as a prefix pattern that matches is replaced by the trust domain; one that does not is kept.
    const prefixed = ap('default', 'p', { rules: [{ from: [{ source: { principals: ['example.*/ns/default/sa/web'] } }] }] });
    assert.equal(evaluateIstio([prefixed], web, td).decision, 'allow');
    assert.equal(evaluateIstio([prefixed], web, { ...td, trustDomain: 'other.org' }).decision, 'deny');
    // `*` as the trust domain is not enforced: any mesh's identity with that namespace and name.
    const anyTd = ap('default', 'any', { action: 'DENY', rules: [{ from: [{ source: { principals: ['*/ns/default/sa/web'] } }] }] });
    assert.equal(evaluateIstio([anyTd], req({ principal: 'other.org/ns/default/sa/web' }), td).decision, 'deny');
  });

  it('a namespace value is a regular expression as Istio writes it: * is .*, nothing is escaped', () => {
    // `.` matches any character, as in Istio's `.*/ns/VALUE/.*`.
    const dotted = ap('default', 'd', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['team.a'] } }] }] });
    assert.equal(decide([dotted], req({ principal: SA('team-a', 'x') })).decision, 'deny');
    assert.equal(decide([dotted], req({ principal: SA('team-b', 'x') })).decision, 'allow');
    // The whole principal must match `.*/ns/shop|web/.*`: neither alternative does, so `shop|web` matches no namespace.
    const alt = ap('default', 'alt', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['shop|web'] } }] }] });
    assert.equal(decide([alt], req({ principal: SA('web', 'x') })).decision, 'allow');
    assert.equal(decide([alt], req({ principal: SA('shop', 'x') })).decision, 'allow');
    const grouped = ap('default', 'g', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['(shop|web)'] } }] }] });
    assert.equal(decide([grouped], req({ principal: SA('web', 'x') })).decision, 'deny');
    // Not an expression at all: no verdict is guessed.
    const broken = ap('default', 'b', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['team(a'] } }] }] });
    assert.equal(decide([broken], req({ principal: SA('team(a', 'x') })).decision, 'unknown');
  });

  it('a * inside a namespace value is a wildcard (Istio matches namespaces by regular expression)', () => {
    const deny = ap('default', 'd', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['team-*-prod'] } }] }] });
    assert.equal(decide([deny], req({ principal: SA('team-a-prod', 'x') })).decision, 'deny');
    assert.equal(decide([deny], req({ principal: SA('team-a-dev', 'x') })).decision, 'allow');
    const when = ap('default', 'w', { action: 'DENY', rules: [{ when: [{ key: 'source.namespace', values: ['team-*-prod'] }] }] });
    assert.equal(decide([when], req({ principal: SA('team-b-prod', 'x') })).decision, 'deny');
    // A principal (*-matching) value keeps the string-match forms: an inner * is a literal there.
    const principals = ap('default', 'p', { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/team-*-prod/sa/x'] } }] }] });
    assert.equal(decide([principals], req({ principal: SA('team-a-prod', 'x') })).decision, 'allow');
  });

  it('serviceAccounts match namespace and name of the principal, in any trust domain; bare names are the policy\'s namespace', () => {
    const deny = ap('default', 'd', { action: 'DENY', rules: [{ from: [{ source: { serviceAccounts: ['shop/batch', 'web'] } }] }] });
    assert.equal(decide([deny], req({ principal: SA('shop', 'batch') })).decision, 'deny');
    assert.equal(decide([deny], req({ principal: 'other.org/ns/default/sa/web' })).decision, 'deny');
    assert.equal(decide([deny], req({ principal: SA('shop', 'web') })).decision, 'allow');
    assert.equal(decide([deny], req({ principal: null })).decision, 'allow');
    const bad = (source: unknown) => parseAuthorizationPolicy({ metadata: { name: 'x', namespace: 'd' }, spec: { rules: [{ from: [{ source }] }] } });
    assert.match((bad({ serviceAccounts: ['a/*'] }) as { message: string }).message, /no wildcards/);
    assert.match((bad({ serviceAccounts: ['a/b'], namespaces: ['a'] }) as { message: string }).message, /cannot be set with/);
    // Trust domains depend on the mesh's alias configuration: unknown, except without any identity.
    const td = ap('default', 't', { action: 'DENY', rules: [{ from: [{ source: { trustDomains: ['other.org'] } }] }] });
    assert.equal(decide([td], req()).decision, 'unknown');
    assert.equal(decide([td], req({ principal: null })).decision, 'allow');
  });

  it('targetRef: null and targetRefs: [] are unset: the policy applies to its namespace', () => {
    assert.equal(decide([ap('default', 'd', { action: 'DENY', targetRefs: [], rules: [{}] })], req()).decision, 'deny');
    assert.equal(decide([ap('default', 'd', { action: 'DENY', targetRef: null, rules: [{}] })], req()).decision, 'deny');
  });

  it('dry-run is read as Go\'s ParseBool reads it', () => {
    for (const v of ['true', 'True', 'TRUE', '1', 't']) assert.equal(decide([ap('default', 'dry', {}, { 'istio.io/dry-run': v })], req()).decision, 'allow', v);
    for (const v of ['false', 'yes', '']) assert.equal(decide([ap('default', 'dry', {}, { 'istio.io/dry-run': v })], req()).decision, 'deny', v);
  });

  it('policies Istio would reject are problems, not silently evaluated', () => {
    const bad = (spec: unknown) => parseAuthorizationPolicy({ metadata: { name: 'x', namespace: 'd' }, spec });
    assert.match((bad({ rules: [{ from: [{ source: {} }] }] }) as { message: string }).message, /must not be empty/);
    assert.match((bad({ rules: [{ when: [{ key: 'request.colour', values: ['x'] }] }] }) as { message: string }).message, /not an Istio attribute/);
    assert.match((bad({ rules: [{ when: [{ key: 'source.labels[app]', values: ['x'] }] }] }) as { message: string }).message, /not an Istio attribute/);
    assert.match((bad({ rules: [{ when: [{ key: 'destination.labels[app]', values: ['x'] }] }] }) as { message: string }).message, /not an Istio attribute/);
    assert.match((bad({ rules: [{ to: [{ operation: { ports: ['http'] } }] }] }) as { message: string }).message, /not a port/);
    assert.match((bad({ action: 'CUSTOM' }) as { message: string }).message, /provider/);
  });
});

describe('Istio PeerAuthentication semantics', () => {
  const pa = (namespace: string, name: string, spec: unknown): PeerAuthenticationModel => {
    const p = parsePeerAuthentication({ metadata: { namespace, name }, spec });
    if ('message' in p) throw new Error(p.message);
    return p;
  };
  const mode = (ps: PeerAuthenticationModel[], port = 8080, ns = 'default', labels: Record<string, string> = { app: 'server' }) => mtlsPolicyFor(ps, ns, labels, port, ROOT).mode;

  it('the most specific policy wins: workload, then namespace, then mesh; UNSET inherits', () => {
    const mesh = pa(ROOT, 'mesh', { mtls: { mode: 'STRICT' } });
    const ns = pa('default', 'ns', { mtls: { mode: 'PERMISSIVE' } });
    const wl = pa('default', 'wl', { selector: { matchLabels: { app: 'server' } }, mtls: { mode: 'UNSET' }, portLevelMtls: { 9090: { mode: 'DISABLE' } } });
    assert.equal(mode([mesh]), 'STRICT');
    assert.equal(mode([mesh], 8080, 'shop'), 'STRICT');
    assert.equal(mode([mesh, ns]), 'PERMISSIVE');
    assert.equal(mode([mesh, wl]), 'STRICT');
    assert.equal(mode([mesh, wl], 9090), 'DISABLE');
    assert.equal(mode([]), 'PERMISSIVE');
    // A root-namespace policy with a selector is ignored, even for the root namespace's own workloads.
    assert.equal(mode([pa(ROOT, 'sel', { selector: { matchLabels: { app: 'server' } }, mtls: { mode: 'STRICT' } })]), 'PERMISSIVE');
    assert.equal(mode([pa(ROOT, 'sel', { selector: { matchLabels: { app: 'server' } }, mtls: { mode: 'STRICT' } })], 8080, ROOT), 'PERMISSIVE');
  });

  it('portLevelMtls needs a selector that selects something', () => {
    const p = parsePeerAuthentication({ metadata: { namespace: 'default', name: 'x' }, spec: { selector: { matchLabels: {} }, portLevelMtls: { 8080: { mode: 'DISABLE' } } } });
    assert.match((p as { message: string }).message, /needs a workload selector/);
  });
});
