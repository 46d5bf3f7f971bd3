// The semantic diff (src/review/diff.ts): decided by replay, so equivalent policy sets show no
// change whatever their form, the diff one way is the other way's inverse, and one allow more
// shows as exactly that request.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KubeObject } from '../../src/inventory/load.js';
import { diffMarkdown, diffSummaryTable, policyDiff, type PolicyChange, type PolicyDiff } from '../../src/review/diff.js';
import { policySetOf } from '../../src/verify/manifests.js';
import { changedPairs } from '../support/diff-all-pairs.js';
import { authorizationPolicy, inventory, merged, networkPolicy, OPTS, principal, ruleArb, setArb, WORKLOADS, type NetSpec, type PolicySpec, type RuleSpec } from '../support/policy-specs.js';

/** The same meaning in another form: each rule its own policy, every list and the policies in another order. */
function splitAndShuffled(s: { istio: PolicySpec[]; net: NetSpec[] }, order: number): KubeObject[] {
  const out: KubeObject[] = [];
  s.istio.forEach((p, i) => p.rules.forEach((r, j) => out.push(authorizationPolicy(`p${i}-r${j}`, p, [{ from: [...r.from].reverse(), ports: [...r.ports].reverse(), methods: [...r.methods].reverse(), paths: [...r.paths].reverse() }]))));
  s.net.forEach((n, i) => n.ingress.forEach((r, j) => out.push(networkPolicy(`n${i}-r${j}`, n, [{ fromApps: [...r.fromApps].reverse(), ports: [...r.ports].reverse() }]))));
  // A rotation of the objects, chosen by the property's seed.
  const k = out.length === 0 ? 0 : order % out.length;
  return [...out.slice(k), ...out.slice(0, k)].reverse();
}

const changesOf = (d: PolicyDiff) => d.destinations.flatMap((x) => x.changes);
const shape = (c: PolicyChange) => ({ destination: c.destination, caller: c.caller, port: c.port, protocol: c.protocol, before: c.before, after: c.after, requests: c.requests });

describe('semantic policy diff', () => {
  it('shows no change between a policy set and the same set split into one policy per rule, reordered, with or without an inventory', function () {
    this.timeout(60_000);
    fc.assert(
      fc.property(setArb, fc.nat(), fc.boolean(), (s, order, withInventory) => {
        const d = policyDiff(policySetOf(merged(s)), policySetOf(splitAndShuffled(s, order)), { ...OPTS, ...(withInventory ? { inventory } : {}) });
        assert.deepEqual(changesOf(d), []);
        assert.ok(d.replayed > 0);
      }),
      { numRuns: 40 },
    );
  });

  it('is its own inverse: diff(A, B) is diff(B, A) with before and after swapped', function () {
    this.timeout(60_000);
    fc.assert(
      fc.property(setArb, setArb, (x, y) => {
        const ab = changesOf(policyDiff(policySetOf(merged(x)), policySetOf(merged(y)), { ...OPTS, inventory }));
        const ba = changesOf(policyDiff(policySetOf(merged(y)), policySetOf(merged(x)), { ...OPTS, inventory }));
        assert.deepEqual(
          ba.map((c) => ({ ...shape(c), before: c.after, after: c.before, decidedBy: { before: c.decidedBy.after, after: c.decidedBy.before } })),
          ab.map((c) => ({ ...shape(c), decidedBy: c.decidedBy })),
        );
      }),
      { numRuns: 30 },
    );
  });

  it('finds every pair an exhaustive search over all callers, ports, methods and paths finds, and no other', function () {
    // The exhaustive search replays thousands of requests per run.
    this.timeout(120_000);
    fc.assert(
      fc.property(setArb, setArb, fc.boolean(), (x, y, withInventory) => {
        const o = { ...OPTS, ...(withInventory ? { inventory } : {}) };
        const d = policyDiff(policySetOf(merged(x)), policySetOf(merged(y)), o);
        const found = new Set(changesOf(d).map((c) => `${c.destination} ${c.caller} ${c.port} ${c.protocol}`));
        const all = changedPairs(policySetOf(merged(x)), policySetOf(merged(y)), o);
        // Without an inventory, a labelled caller's change that its unlabelled twin shows is listed once, for the twin.
        const twin = (k: string) => k.replace(/ ([^ /]+)\/Probe\/[^ ]+ sa=/, ' $1/Probe/any pod sa=');
        // A port no policy that applies to the destination names is tried once, as a port nobody names.
        const otherPort = (k: string) => k.replace(/ \d+ (http|tcp|udp|sctp)$/, ' 65000 $1');
        const explained = (k: string) => found.has(k) || found.has(twin(k)) || found.has(otherPort(k)) || found.has(otherPort(twin(k)));
        assert.deepEqual([...found].filter((k) => !all.includes(k)), []);
        assert.deepEqual(all.filter((k) => !explained(k)), []);
      }),
      { numRuns: 10 },
    );
  });

  it('shows one allow more as exactly that caller, port, method and path newly allowed', () => {
    const callers = WORKLOADS.filter(([ns]) => ns === 'shop');
    fc.assert(
      fc.property(
        fc.constantFrom(...callers),
        fc.constantFrom(...callers),
        fc.constantFrom(8080, 9090),
        fc.constantFrom('GET', 'PUT', 'DELETE'),
        fc.constantFrom('/api/orders', '/api/orders/42', '/healthz'),
        fc.array(ruleArb, { maxLength: 3 }),
        ([, caller], [, dest], port, method, path, others) => {
          fc.pre(caller !== dest);
          // The destination's ALLOW policy admits others, never this caller.
          const own = principal('shop', caller);
          const rules = [{ from: [principal('ops', 'backup')], ports: [], methods: [], paths: [] }, ...others.map((r) => ({ ...r, from: r.from.filter((p) => p !== own).concat(principal('ops', 'backup')) }))];
          const base: PolicySpec = { ns: 'shop', app: dest, action: 'ALLOW', rules };
          const extra: RuleSpec = { from: [own], ports: [String(port)], methods: [method], paths: [path] };
          const d = policyDiff(policySetOf([authorizationPolicy('a', base, rules)]), policySetOf([authorizationPolicy('a', base, [...rules, extra])]), { ...OPTS, inventory });
          assert.deepEqual(changesOf(d).map(shape), [
            { destination: `shop/Deployment/${dest}`, caller: `shop/Deployment/${caller}`, port, protocol: 'http', before: 'denied', after: 'allowed', requests: [{ method, path }] },
          ]);
          assert.equal(changesOf(d)[0]!.text, `shop/${caller} → shop/${dest}:${port}: ${method} ${path} newly allowed`);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('without an inventory, tries the pods a NotIn, DoesNotExist or second In value tells apart, and the namespaces a namespace NotIn names', () => {
    const np = (from: Record<string, unknown>): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'payments' } }, policyTypes: ['Ingress'], ingress: [{ from: [from] }] },
    });
    const expr = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values === undefined ? {} : { values }) }] });
    const callers = (a: KubeObject, b: KubeObject) => [...new Set(changesOf(policyDiff(policySetOf([a]), policySetOf([b]), OPTS)).map((c) => `${c.caller} ${c.after}`))];
    assert.deepEqual(callers(np({ podSelector: expr('app', 'NotIn', ['attacker']) }), np({ podSelector: {} })), ['shop/Probe/app=attacker sa=default allowed']);
    assert.deepEqual(callers(np({ podSelector: expr('app', 'NotIn', ['attacker']) }), np({ podSelector: expr('app', 'NotIn', ['attacker', 'other']) })), ['shop/Probe/app=other sa=default denied']);
    assert.deepEqual(callers(np({ podSelector: expr('untrusted', 'DoesNotExist') }), np({ podSelector: {} })), ['shop/Probe/untrusted=ztmap-other sa=default allowed']);
    assert.deepEqual(callers(np({ podSelector: expr('tier', 'In', ['web', 'api']) }), np({ podSelector: expr('tier', 'In', ['web']) })), ['shop/Probe/tier=api sa=default denied']);
    const ns = (values: string[]) => np({ namespaceSelector: expr('kubernetes.io/metadata.name', 'NotIn', values) });
    assert.deepEqual(callers(ns(['dev']), np({ namespaceSelector: {} })), ['dev/Probe/any pod sa=default allowed', 'dev/Probe/unmeshed pod allowed']);
  });

  it('covers NetworkPolicy ingress and egress: a peer added or a direction isolated', () => {
    const ingress = (fromApps: string[]): KubeObject => networkPolicy('in', { ns: 'shop', app: 'payments', ingress: [] }, [{ fromApps, ports: [8080] }]);
    const d = policyDiff(policySetOf([ingress(['orders'])]), policySetOf([ingress(['orders', 'catalog'])]), { ...OPTS, inventory });
    assert.deepEqual(changesOf(d).map((c) => c.text), [
      'shop/catalog → shop/payments:8080: TCP connections (no HTTP) newly allowed',
      'shop/catalog → shop/payments:8080: any HTTP request newly allowed',
    ]);
    assert.deepEqual(changesOf(d)[0]!.decidedBy.after, ['ingress allow shop/in#0', 'istio allow: no ALLOW policy applies']);
    const egress: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'out', namespace: 'ops' },
      spec: { podSelector: { matchLabels: { app: 'backup' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: { matchLabels: { app: 'orders' } } }] }] },
    };
    const e = policyDiff(policySetOf([]), policySetOf([egress]), { ...OPTS, inventory });
    const denied = changesOf(e).filter((c) => c.caller === 'ops/Deployment/backup');
    // backup may now reach orders only: every other destination's requests are newly denied.
    // Itself and addresses outside the cluster too.
    assert.deepEqual([...new Set(denied.map((c) => c.destination))], ['ops/Deployment/backup', 'shop/Deployment/catalog', 'shop/Deployment/payments', 'shop/Pod/debug', 'world:203.0.113.1']);
    assert.ok(denied.every((c) => c.before === 'allowed' && c.after === 'denied'));
  });

  it('reports a CUSTOM policy and an unreadable condition as undecided, never as allowed', () => {
    const custom: KubeObject = {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'ext', namespace: 'shop' },
      spec: { selector: { matchLabels: { app: 'payments' } }, action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] },
    };
    const d = policyDiff(policySetOf([]), policySetOf([custom]), { ...OPTS, inventory });
    const changes = changesOf(d);
    assert.ok(changes.length > 0);
    for (const c of changes) {
      assert.equal(c.destination, 'shop/Deployment/payments');
      assert.deepEqual([c.before, c.after], ['allowed', 'unknown']);
      assert.match(c.text, /now undecided \(was allowed\)$/);
    }
    const http = changes.filter((c) => c.protocol === 'http');
    assert.ok(http.some((c) => c.requests !== 'any' && c.requests.some((r) => r.path === '/admin/ztmap-other')));
    assert.ok(http.every((c) => c.requests !== 'any' && c.requests.every((r) => r.path.startsWith('/admin/'))));
    // On TCP, Istio drops a CUSTOM or DENY rule's HTTP attributes, so it applies to every connection.
    assert.ok(changes.filter((c) => c.protocol === 'tcp').every((c) => c.requests === 'any'));
    const header: KubeObject = {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'hdr', namespace: 'shop' },
      spec: { selector: { matchLabels: { app: 'orders' } }, action: 'DENY', rules: [{ when: [{ key: 'request.headers[x-debug]', values: ['1'] }] }] },
    };
    const h = changesOf(policyDiff(policySetOf([]), policySetOf([header]), { ...OPTS, inventory }));
    assert.ok(h.length > 0);
    // On TCP a DENY rule's HTTP-only condition counts as matched (Istio drops it): denied; HTTP depends on the header.
    for (const c of h) assert.deepEqual([c.protocol, c.before, c.after], c.protocol === 'tcp' ? ['tcp', 'allowed', 'denied'] : ['http', 'allowed', 'unknown']);
  });

  it('without an inventory, reports per selector the policies name', () => {
    const allow = (paths: string[]) =>
      authorizationPolicy('a', { ns: 'shop', app: 'payments', action: 'ALLOW', rules: [] }, [{ from: [principal('shop', 'orders')], ports: ['8080'], methods: ['POST'], paths }]);
    const d = policyDiff(policySetOf([allow(['/api/v1/charges'])]), policySetOf([allow(['/api/v1/charges', '/api/v1/refunds'])]), OPTS);
    assert.deepEqual(changesOf(d).map((c) => c.text), ['shop/[any pod sa=orders] → shop/[app=payments]:8080: POST /api/v1/refunds newly allowed']);
    assert.match(diffMarkdown(d), /## shop\/Probe\/app=payments\n\n- shop\/\\\[any pod sa=orders\\\] → shop\/\\\[app=payments\\\]:8080: POST \/api\/v1\/refunds newly allowed/);
  });

  it('flags changes that let in callers from outside, without identity or from any namespace, and tables them', () => {
    const allow = authorizationPolicy('a', { ns: 'shop', app: 'payments', action: 'ALLOW', rules: [] }, [{ from: [principal('shop', 'orders')], ports: [], methods: [], paths: [] }]);
    const d = policyDiff(policySetOf([allow]), policySetOf([]), { ...OPTS, inventory });
    const risks = new Map(changesOf(d).filter((c) => c.protocol === 'http').map((c) => [c.caller, c.risks]));
    assert.deepEqual(risks.get('world:203.0.113.1'), ['from outside the cluster', 'every method and path']);
    assert.deepEqual(risks.get('shop/Pod/debug'), ['from a caller without an authenticated identity', 'every method and path']);
    assert.deepEqual(risks.get('ztmap-other-namespace/Probe/any pod'), ['from any namespace', 'every method and path']);
    assert.deepEqual(risks.get('shop/Deployment/catalog'), ['every method and path']);
    assert.equal(d.summary.risky, changesOf(d).length);
    // The other way round nothing is let in: no risk.
    assert.equal(policyDiff(policySetOf([]), policySetOf([allow]), { ...OPTS, inventory }).summary.risky, 0);
    const table = diffSummaryTable(d, 3).trimEnd().split('\n');
    assert.equal(table.length, 2 + 3 + 1);
    assert.equal(table[0], '| Destination | Caller | Port | Requests | Change | Risk |');
    assert.match(table[5]!, new RegExp(`^\\| … and ${changesOf(d).length - 3} more `));
    assert.match(diffMarkdown(d), /^## Risks$/m);
  });

  it('lists refused manifests of either side with their file and reason', () => {
    const bad: KubeObject = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'Bad_Name', namespace: 'shop' }, spec: { action: 'DENY' } };
    const d = policyDiff(policySetOf([], 'old.yaml'), policySetOf([bad], 'new.yaml'), { ...OPTS, inventory });
    assert.deepEqual(d.before.problems, []);
    assert.ok(d.after.problems.length > 0);
    assert.ok(d.after.problems.every((p) => p.file === 'new.yaml' && p.object === 'AuthorizationPolicy shop/Bad_Name'));
    assert.deepEqual(changesOf(d), []);
    assert.match(diffMarkdown(d), /## Manifests refused/);
  });
});
