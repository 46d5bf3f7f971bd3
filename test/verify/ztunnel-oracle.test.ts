// src/verify/istio.ts at ztunnel (`ztunnel: true`) against an independent transcription of
// Istio's ambient conversion and ztunnel's matcher (test/support/ztunnel-oracle.ts), on
// random policies and connections from a fixed seed. They must agree on every case, and
// the mix is asserted so that the agreement cannot be vacuous.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateIstio, parseAuthorizationPolicy, type AuthorizationPolicyModel, type IstioRequest } from '../../src/verify/istio.js';
import { convert, ztunnelDecides, type ZtunnelPolicy } from '../support/ztunnel-oracle.js';

const ROOT = 'istio-system';
const SEED = Number(process.env['ORACLE_SEED'] ?? 20261205);
const RUNS = Number(process.env['ORACLE_RUNS'] ?? 400);

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const some = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1, maxLength: Math.min(2, xs.length) });

const PRINCIPALS = ['cluster.local/ns/front/sa/frontend', 'cluster.local/ns/front/*', '*/sa/web', '*', 'cluster.local/ns/shop/sa/web', 'cluster.local/ns/team-a-prod/sa/x'];
const NAMESPACES = ['front', 'shop', 'fr*', '*op', '*', 'team-*-prod'];
const CIDRS = ['10.2.0.0/16', '10.1.0.1', '10.0.0.0/8'];

const SOURCE: Record<string, readonly string[]> = {
  principals: PRINCIPALS,
  notPrincipals: PRINCIPALS,
  namespaces: NAMESPACES,
  notNamespaces: NAMESPACES,
  serviceAccounts: ['front/frontend', 'web', 'shop/web'],
  ipBlocks: CIDRS,
  notIpBlocks: CIDRS,
  remoteIpBlocks: CIDRS,
  requestPrincipals: ['*', 'issuer/sub'],
  trustDomains: ['cluster.local'],
};
const OPERATION: Record<string, readonly string[]> = { ports: ['8080', '9090'], notPorts: ['8080'], methods: ['GET', 'POST'], paths: ['/a', '/b/*'], hosts: ['api.shop'] };

/** One or two fields of `fields`, each with one or two of its values: small enough to match now and then. */
const arbFields = (fields: Record<string, readonly string[]>) =>
  fc.subarray(Object.keys(fields), { minLength: 1, maxLength: 2 }).chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, some(fields[k]!)]))) as fc.Arbitrary<Record<string, string[]>>);

// Istio refuses serviceAccounts beside principals or namespaces.
const arbSource = arbFields(SOURCE).filter((s) => s['serviceAccounts'] === undefined || (s['principals'] ?? s['notPrincipals'] ?? s['namespaces'] ?? s['notNamespaces']) === undefined);
const arbOperation = arbFields(OPERATION);

const WHEN: [string, string[]][] = [
  ['source.ip', ['10.2.0.0/16']],
  ['source.namespace', ['front', 'sh*']],
  ['source.principal', ['*', 'cluster.local/ns/shop/sa/web']],
  ['destination.port', ['8080']],
  ['destination.ip', ['10.1.0.2']],
  ['remote.ip', ['10.0.0.0/8']],
  ['request.headers[x-user]', ['a']],
  ['source.serviceAccount', ['front/frontend']],
];
const arbCondition = fc.record({ i: fc.nat(WHEN.length - 1), not: fc.boolean() }).map(({ i, not }) => ({ key: WHEN[i]![0], [not ? 'notValues' : 'values']: WHEN[i]![1] }));

const arbRule = fc.record({ from: fc.array(arbSource, { maxLength: 2 }), to: fc.array(arbOperation, { maxLength: 2 }), when: fc.array(arbCondition, { maxLength: 2 }) }).map((r) => {
  const out: Record<string, unknown> = {};
  if (r.from.length > 0) out['from'] = r.from.map((source) => ({ source }));
  if (r.to.length > 0) out['to'] = r.to.map((operation) => ({ operation }));
  if (r.when.length > 0) out['when'] = r.when;
  return out;
});

const arbPolicy = fc
  .record({
    action: pick(['ALLOW', 'ALLOW', 'DENY', 'CUSTOM']),
    where: pick(['selector', 'namespace', 'other-app', 'root', 'targetRef']),
    rules: fc.option(fc.array(arbRule, { maxLength: 3 }), { nil: undefined }),
  })
  .map(({ action, where, rules }) => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'p', namespace: where === 'root' ? ROOT : 'shop' },
    spec: {
      action,
      ...(action === 'CUSTOM' ? { provider: { name: 'ext' } } : {}),
      ...(where === 'selector' ? { selector: { matchLabels: { app: 'api' } } } : where === 'other-app' ? { selector: { matchLabels: { app: 'other' } } } : {}),
      ...(where === 'targetRef' ? { targetRefs: [{ kind: 'Service', group: '', name: 'api' }] } : {}),
      ...(rules === undefined ? {} : { rules }),
    },
  }));

const arbConnection = fc.record({
  identity: pick(['cluster.local/ns/front/sa/frontend', 'cluster.local/ns/shop/sa/web', 'cluster.local/ns/team-a-prod/sa/x', null]),
  srcIp: pick(['10.2.0.1', '10.1.0.1', '10.3.0.1']),
  port: pick([8080, 9090]),
});

describe('Istio at ztunnel against a transcription of Istio\'s ambient conversion and ztunnel\'s matcher', () => {
  it(`agrees on random policies and connections (seed ${SEED}, ${RUNS} runs)`, () => {
    const mix = new Map<string, number>();
    const count = (k: string) => mix.set(k, (mix.get(k) ?? 0) + 1);
    fc.assert(
      fc.property(fc.array(arbPolicy, { minLength: 1, maxLength: 4 }), fc.array(arbConnection, { minLength: 1, maxLength: 4 }), (raws, conns) => {
        // Policies Istio would refuse are not applied by either.
        const models: AuthorizationPolicyModel[] = [];
        const oracle: ZtunnelPolicy[] = [];
        raws.forEach((raw, i) => {
          const m = parseAuthorizationPolicy({ ...raw, metadata: { ...raw.metadata, name: `p${i}` } });
          if ('message' in m) return;
          models.push(m);
          const z = convert(raw);
          if (z !== undefined) oracle.push(z);
        });
        for (const c of conns) {
          const req: IstioRequest = {
            source: { principal: c.identity, ip: c.srcIp },
            destination: { namespace: 'shop', labels: { app: 'api' }, ip: '10.1.0.2', port: c.port },
            // What a sidecar would see; ztunnel must not read it.
            http: { method: 'GET', path: { text: '/a', template: false }, host: 'api.shop' },
          };
          const ours = evaluateIstio(models, req, { rootNamespace: ROOT, trustDomain: 'cluster.local', enforceDryRun: false, ztunnel: true });
          const theirs = ztunnelDecides(oracle, { namespace: 'shop', labels: { app: 'api' } }, { identity: c.identity, srcIp: c.srcIp, dstIp: '10.1.0.2', dstPort: c.port }, ROOT);
          assert.equal(ours.decision, theirs, JSON.stringify({ policies: raws, connection: c, ours }, null, 1));
          count(theirs);
          for (const x of ours.ztunnelOmitted ?? []) count(x.effect);
          if (theirs === 'deny' && ours.reason === 'denied-by') count('denied by a DENY');
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    for (const k of ['allow', 'deny', 'omitted', 'reduced', 'inert', 'not-applied', 'denied by a DENY']) assert.ok((mix.get(k) ?? 0) > 10, `too few cases of ${k}: ${JSON.stringify([...mix])}`);
  });
});
