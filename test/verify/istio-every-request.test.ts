// An HTTP request whose method or path the telemetry lacks is decided for every value they
// could take (src/verify/istio.ts decideEveryRequest): a verdict it gives must be the verdict
// of every concrete request, and it stays undecided only when two concrete requests differ.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateIstio, parseAuthorizationPolicy, type AuthorizationPolicyModel, type IstioRequest } from '../../src/verify/istio.js';

const OPTS = { rootNamespace: 'istio-system', trustDomain: 'cluster.local', enforceDryRun: false };

function ap(name: string, spec: unknown): AuthorizationPolicyModel {
  const p = parseAuthorizationPolicy({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace: 'default', name }, spec });
  if ('message' in p) throw new Error(p.message);
  return p;
}

function req(method: string | undefined, path: string | undefined): IstioRequest {
  return {
    source: { principal: 'cluster.local/ns/default/sa/client', ip: '10.1.0.5' },
    destination: { namespace: 'default', labels: { app: 'server' }, ip: '10.1.0.9', port: 8080 },
    http: { ...(method === undefined ? {} : { method }), ...(path === undefined ? {} : { path: { text: path, template: false } }) },
  };
}

const METHOD_PATTERNS = ['GET', 'POST', 'P*', '*T', '*'];
const PATH_PATTERNS = ['/a', '/a/*', '*.css', '/a/b.css', '*', '/', '*/'];
// Concrete values built from the patterns' pieces, so that every class the patterns make has members here.
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'T', 'P', 'PT', 'POT', 'GETT', 'X'];
const PATHS = ['/a', '/a/', '/a/x', '/a/b.css', '/b.css', '.css', '/', '/x', '/a.css', '/a/x/', '/x/', 'x', '/a/b.cssx'];

const operationArb = fc.record(
  { methods: fc.subarray(METHOD_PATTERNS, { minLength: 1 }), notMethods: fc.subarray(METHOD_PATTERNS, { minLength: 1 }), paths: fc.subarray(PATH_PATTERNS, { minLength: 1 }), notPaths: fc.subarray(PATH_PATTERNS, { minLength: 1 }) },
  { requiredKeys: [] },
).filter((o) => Object.keys(o).length > 0);
const policyArb = fc.record({
  action: fc.constantFrom('ALLOW', 'DENY'),
  rules: fc.array(fc.record({ to: fc.array(fc.record({ operation: operationArb }), { minLength: 1, maxLength: 2 }) }), { minLength: 1, maxLength: 2 }),
});
const policiesArb = fc.array(policyArb, { minLength: 1, maxLength: 3 }).map((ps) => ps.map((p, i) => ap(`p${i}`, p)));

describe('Istio verdicts for a request whose method or path is not known', () => {
  it('denies every request when a DENY on POST stands beside an ALLOW of only POST', () => {
    const policies = [ap('deny-post', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] }), ap('allow-post', { rules: [{ to: [{ operation: { methods: ['POST'] } }] }] })];
    const v = evaluateIstio(policies, req(undefined, '/x'), OPTS);
    assert.deepEqual([v.decision, v.reason, v.policies.map((p) => `${p.name}#${p.rule ?? ''}`)], ['deny', 'denied-every-request', ['deny-post#0', 'allow-post#']]);
  });

  it('allows when one rule allows GET and another every method but GET, naming both as used', () => {
    const policies = [ap('a', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }, { to: [{ operation: { notMethods: ['GET'] } }] }] })];
    const v = evaluateIstio(policies, req(undefined, undefined), OPTS);
    assert.deepEqual([v.decision, v.reason, v.policies.map((p) => p.rule)], ['allow', 'allowed-by', [0, 1]]);
  });

  it('stays undecided when the method decides: an ALLOW of GET alone', () => {
    const v = evaluateIstio([ap('a', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })], req(undefined, '/x'), OPTS);
    assert.deepEqual([v.decision, v.reason], ['unknown', 'unknown-attribute']);
  });

  it('leaves Istio path templates ({*}) undecided rather than guess their classes', () => {
    const policies = [ap('a', { rules: [{ to: [{ operation: { paths: ['/a/{*}'] } }] }, { to: [{ operation: { notPaths: ['/a/{*}'] } }] }] })];
    assert.equal(evaluateIstio(policies, req('GET', undefined), OPTS).decision, 'unknown');
  });

  it('gives only verdicts every concrete method and path shares, and is undecided only when two differ', () => {
    fc.assert(
      fc.property(policiesArb, fc.constantFrom<[boolean, boolean]>([false, true], [true, false], [false, false]), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }), (policies, [knowMethod, knowPath], extra) => {
        const v = evaluateIstio(policies, req(knowMethod ? 'GET' : undefined, knowPath ? '/a/x' : undefined), OPTS);
        const methods = knowMethod ? ['GET'] : [...METHODS, ...extra.filter((x) => x !== '')];
        const paths = knowPath ? ['/a/x'] : [...PATHS, ...extra.filter((x) => x !== '').map((x) => `/${x}`)];
        const concrete = new Set<string>();
        for (const m of methods) for (const p of paths) concrete.add(evaluateIstio(policies, req(m, p), OPTS).decision);
        if (v.decision === 'unknown') assert.ok(concrete.size > 1 || concrete.has('unknown'), `undecided although every concrete request is ${[...concrete].join()}`);
        else assert.deepEqual([...concrete], [v.decision]);
      }),
      { numRuns: 500 },
    );
  });
});
