// review/pr-body.ts: the pull request's body from review.json, rules.json and the plan. Names
// come from telemetry, so a hostile one must not break a table row, inject HTML or a link,
// hide text or mention a GitHub user; the rollout plan orders namespaces by their risks.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { prText, reviewFacts, type ReviewFacts, type RuleFacts } from '../../src/review/pr-body.js';
import type { Plan } from '../../src/review/pr.js';
import { InputError } from '../../src/errors.js';

function review(o: { workload: string; from: string; path: string }): ReviewFacts {
  return {
    window: { first: '2026-11-24T10:00:00.000Z', last: '2026-11-25T10:00:00.000Z', hours: 24 },
    targets: ['istio', 'networkpolicy'],
    counts: { rules: 2, excluded: 0, manifests: 3, errors: 0, blockers: 1, warnings: 0 },
    findings: [{ severity: 'blocker', target: 'istio', subject: o.workload, message: `plaintext from ${o.from}` }],
    coverage: { windowWarnings: [], noInbound: [{ workload: 'quiet/Deployment/idle' }], noOutbound: [], idleJobs: [], broaderThanObserved: [{ rule: `${o.from} -> ${o.workload}:80/http`, allows: [`any path under ${o.path}`] }] },
    mtls: [{ namespace: 'shop', ready: false, plaintext: [{ workload: o.workload, from: o.from, port: 80, requests: 3 }] }],
    denied: [{ from: o.from, to: o.workload, port: 80, protocol: 'http', operation: `GET ${o.path}`, kind: 'rbac', requests: 2 }],
    evidence: { rulesBySource: { 'access-log': 2 }, l4IdentityOnly: [] },
  };
}

const plan = (names: string[]): Plan => ({
  layout: { template: '{namespace}/{name}.yaml', matched: 2, files: 2 },
  changes: names.map((n, i) => ({ change: i === 0 ? 'removed' : 'added', ref: { kind: i === 2 ? 'NetworkPolicy' : 'AuthorizationPolicy', namespace: i === 2 ? 'quiet' : 'shop', name: n }, path: `${i === 2 ? 'quiet' : 'shop'}/${n}.yaml` })),
  conflicts: [],
  writes: [],
  unchanged: 4,
});

const rules: RuleFacts[] = [{ id: 'shop/Deployment/a -> shop/Deployment/b:80/http', to: { key: 'shop/Deployment/b' }, confidence: 'low', notes: ['seen once'] }];

describe('review/pr-body: the pull request text', () => {
  it('escapes every name: a table row stays one row, no HTML, no link, no mention, nothing hidden', () => {
    const hostile = fc.constantFrom('a|b', '@org/team', '<img src=x onerror=alert(1)>', '[x](http://evil)', 'line\nbreak', 'rev\u202Eersed', '`code`', '**bold**', '# heading', 'ok');
    fc.assert(
      fc.property(hostile, hostile, hostile, (workload, from, path) => {
        const t = prText({ review: review({ workload: `shop/Deployment/${workload}`, from, path }), rules, plan: plan(['x', workload, 'y']), heldBack: [], policiesPath: 'policies', base: 'main' });
        for (const line of t.body.split('\n').filter((l) => l.startsWith('| '))) {
          // Five columns: six unescaped pipes.
          assert.equal(line.replace(/\\\|/g, '').split('|').length - 1, 6, line);
        }
        assert.ok(!/(?<!\\)<img|(?<!\\)\[x\]|\u202E/.test(t.body));
        assert.ok(!/@(?!\u200B)/.test(t.body), 'no bare @: GitHub would mention the team');
        assert.ok(!t.body.includes('line\nbreak'));
        assert.ok(!t.message.includes('\u202E'));
        // Same input, same bytes.
        assert.equal(prText({ review: review({ workload: `shop/Deployment/${workload}`, from, path }), rules, plan: plan(['x', workload, 'y']), heldBack: [], policiesPath: 'policies', base: 'main' }).body, t.body);
      }),
    );
  });

  it('lists the risks and rolls out the namespace with fewer risks first, dry run before enforcing', () => {
    const t = prText({ review: review({ workload: 'shop/Deployment/b', from: 'legacy/Deployment/c', path: '/api/' }), rules, plan: plan(['x', 'y', 'z']), heldBack: ['mtls/shop/peerauthentication-ztmap-strict.yaml.not-ready'], policiesPath: 'policies', base: 'main' });
    assert.match(t.title, /^ztmap: least-privilege policies from traffic observed 2026-11-24 \.\. 2026-11-25 \(2 added, 0 changed, 1 removed\)$/);
    for (const h of ['Blockers and errors', 'Plaintext sources', 'Broad generalizations', 'Low-confidence rules', 'Workloads with no traffic seen', 'Traffic denied today', 'Held back']) {
      assert.match(t.body, new RegExp(`#### ${h}[^\\n]*\\(1\\)`), h);
    }
    assert.match(t.body, /Namespaces in order, fewest risks first: quiet \(1\), shop \(5\)\./);
    assert.ok(t.body.indexOf('istio.io/dry-run: "true"') < t.body.indexOf('**Enforce (Istio).**'));
    assert.ok(t.body.indexOf('**Enforce (Istio).**') < t.body.indexOf('**NetworkPolicy.** It has no dry run'));
  });

  it('stays under GitHub\'s 65,536 characters however large the proposal', () => {
    const big = review({ workload: 'shop/Deployment/b', from: 'legacy/Deployment/c', path: '/api/' });
    const many = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_x, i) => f(i));
    big.findings = many(2000, (i) => ({ severity: 'blocker', target: 'istio', subject: `shop/Deployment/w${i}`, message: 'x'.repeat(200) }));
    big.coverage.noInbound = many(2000, (i) => ({ workload: `shop/Deployment/idle-${i}` }));
    const names = many(3000, (i) => `ztmap-allow-workload-with-a-long-name-${i}`);
    const unused = many(3000, (i) => ({ id: `istio shop/p${i}#0`, policy: `AuthorizationPolicy shop/p${i}`, text: 'y'.repeat(100), lastUsed: null }));
    const t = prText({ review: big, rules, plan: plan(names), heldBack: [], policiesPath: 'policies', base: 'main', unused });
    assert.ok(t.body.length <= 60_000, String(t.body.length));
    assert.match(t.body, /… and \d+ more \(all in the proposal's review\.md\)/);
    assert.match(t.body, /\d+ more: every change is in the commit message/);
    assert.equal(t.message.split('\n').filter((l) => l.startsWith('added ') || l.startsWith('removed ')).length, 3000);
  });

  it('refuses a review.json that ztmap did not write', () => {
    assert.throws(() => reviewFacts({ format: 'something-else' }, 'x/review.json'), InputError);
  });
});
