// @e2e: `ztmap verify` on the Bookinfo fixtures, through the real binary: the proposal
// allows every observed request it has an allow for, denies exactly what its review reports
// (blockers and excluded noise), denies every unobserved pair into a managed namespace, and
// the exit code gates a CI job. Hand-written manifests are read and judged too.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Verification } from '../../src/verify/verification.js';
import { ztmap, tempDir } from '../support/cli.js';
import { FIXTURES, ROOT } from '../support/paths.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');

const work = tempDir();
const graph = join(work, 'graph.json');
{
  const r = ztmap(['observe', '-q', '-i', INVENTORY, '-o', work, join(BOOKINFO, 'logs')]);
  assert.equal(r.status, 4, r.stderr);
}

function propose(extra: string[] = []): string {
  const out = tempDir();
  const r = ztmap(['propose', '-q', '-g', graph, '-i', INVENTORY, '-o', out, ...extra]);
  assert.ok(r.status === 0 || r.status === 5, r.stderr);
  return join(out, 'policies');
}

function verify(args: string[]): { status: number | null; v: Verification; stdout: string; stderr: string } {
  const json = join(tempDir(), 'verification.json');
  const r = ztmap(['verify', '-i', INVENTORY, '--json', json, ...args]);
  assert.ok(r.status !== null && r.status !== 1 && r.status !== 2, r.stderr);
  return { status: r.status, v: JSON.parse(readFileSync(json, 'utf8')) as Verification, stdout: r.stdout, stderr: r.stderr };
}

describe('verify on the Bookinfo fixtures @e2e', () => {
  const policies = propose();
  const rules = JSON.parse(readFileSync(join(policies, 'rules.json'), 'utf8')) as { rules: { id: string; from: { key: string }; to: { key: string }; port: number; evidence: { mutual: number; plaintext: number } }[]; managedNamespaces: string[] };
  const withRules = verify(['-p', policies, '-g', graph, '--rules', join(policies, 'rules.json')]);

  it('allows every observed request the proposal has an allow for, and denies only what its review reports', () => {
    const { v } = withRules;
    assert.equal(withRules.status, 0, withRules.stdout);
    assert.deepEqual(v.problems, []);
    assert.equal(v.summary.edges, 15);
    assert.equal(v.summary.unexpectedDenials.observations, 0);
    assert.equal(v.summary.unknown.observations, 0);
    const denied = v.results.filter((r) => r.verdict !== 'allowed').map((r) => `${r.observation.edge} ${r.observation.mtls} ${r.observation.requests}: ${r.expected}`);
    assert.deepEqual(denied, [
      'legacy/Deployment/legacy-client->default/Deployment/productpage-v1:9080/http plaintext 29: blocker: no authenticated identity for an Istio principal',
      'monitoring/Deployment/prometheus-server->default/Deployment/productpage-v1:9080/http plaintext 240: excluded by the proposal (metrics-scrape)',
      'node:10.0.0.12->default/Deployment/ratings-v1:9080/http plaintext 360: excluded by the proposal (kubelet-probe)',
      'unknown:10.244.9.99->default/Deployment/details-v1:9080/http plaintext 8: blocker: no authenticated identity for an Istio principal; blocker: an address the inventory does not resolve cannot be selected',
    ]);
    // Every rule with authenticated traffic: its observations are all allowed, by the policy named for its workload.
    for (const rule of rules.rules.filter((x) => x.evidence.plaintext === 0)) {
      const rs = v.results.filter((r) => r.observation.from.key === rule.from.key && r.observation.to.key === rule.to.key && r.observation.port === rule.port);
      assert.ok(rs.length > 0, rule.id);
      for (const r of rs) assert.equal(r.verdict, 'allowed', rule.id);
    }
    const detailsFromProductpage = v.results.find((r) => r.observation.edge === 'default/Deployment/productpage-v1->default/Deployment/details-v1:9080/http')!;
    assert.deepEqual(detailsFromProductpage.istio.outcomes.map((x) => `${x.decision} ${x.policies.map((p) => `${p.name}#${p.rule}`).join(',')}`), ['allow ztmap-allow-details-v1#0']);
    assert.equal(v.summary.allowedShare, v.summary.allowed.requests / v.summary.requests);
  });

  it('denies every unobserved workload pair into a managed namespace; what it does allow is listed', () => {
    const op = withRules.v.overPermission!;
    assert.ok(op.pairsChecked > 300, String(op.pairsChecked));
    const managed = new Set(rules.managedNamespaces);
    const intoManaged = op.pairs.filter((p) => managed.has(p.to.split('/')[0]!));
    assert.deepEqual(intoManaged, []);
    // Out of managed namespaces, egress is isolated: only the infrastructure allows below pass.
    assert.deepEqual(op.pairs.filter((p) => managed.has(p.from.split('/')[0]!) && p.allowedBy.length === 0), []);
    // Into unmanaged namespaces (istio-system, kube-system, monitoring) nothing is enforced.
    assert.ok(op.pairs.some((p) => p.to === 'kube-system/Deployment/coredns'));
    // What a proposal rule admits beyond the observed traffic is the infrastructure every pod
    // needs once egress is isolated, DNS and istiod, and the table names the rule.
    const byRule = op.pairs.filter((p) => p.allowedBy.length > 0);
    assert.ok(byRule.length >= 10, String(byRule.length));
    for (const p of byRule) {
      const dns = p.to === 'kube-system/Deployment/coredns' && p.port === 53;
      const istiod = p.to === 'istio-system/Deployment/istiod' && p.port === 15012;
      assert.ok(dns || istiod, `${p.from} -> ${p.to}:${p.port} admitted by ${p.allowedBy.join(', ')}`);
      assert.deepEqual(p.allowedBy, [`egress ${p.from.split('/')[0]}/ztmap-allow-${dns ? 'dns' : 'istiod'}#0`]);
    }
    assert.match(withRules.stdout, new RegExp(`over-permission: ${op.pairs.length} of ${op.pairsChecked} .*: ${byRule.length} admitted by a policy rule, ${op.pairs.length - byRule.length} because no policy isolates either side`));
  });

  it('without the rules, the same denials fail the gate (exit 7) and the table names each deciding policy', () => {
    const r = verify(['-p', policies, '-g', graph]);
    assert.equal(r.status, 7);
    assert.equal(r.v.summary.unexpectedDenials.observations, 4);
    assert.match(r.stdout, /DENIED +29 +plaintext +legacy\/Deployment\/legacy-client->default\/Deployment\/productpage-v1:9080\/http/);
    assert.match(r.stdout, /istio: deny \[GET \/api\/v1\/products\/\{id\}\] no ALLOW rule matches; policies default\/ztmap-allow-productpage-v1, default\/ztmap-deny-all from a source without identity/);
    assert.match(r.stdout, /networkpolicy: deny .* no ingress rule matches at the server; isolated by default\/ztmap-default-deny, default\/ztmap-workload-details-v1/);
  });

  it('the same input gives a byte-identical verification and table', () => {
    const runs = [0, 1].map(() => {
      const json = join(tempDir(), 'verification.json');
      const r = ztmap(['verify', '-i', INVENTORY, '-p', policies, '-g', graph, '--rules', join(policies, 'rules.json'), '--json', json]);
      assert.equal(r.status, 0, r.stderr);
      return { json: readFileSync(json), stdout: r.stdout };
    });
    assert.ok(runs[0]!.json.equals(runs[1]!.json));
    assert.equal(runs[0]!.stdout, runs[1]!.stdout);
    assert.equal(runs[0]!.stdout, withRules.stdout);
  });

  it('replaying the access logs gives the same verdicts as replaying the graph', () => {
    const fromLogs = verify(['-p', policies, '--rules', join(policies, 'rules.json'), join(BOOKINFO, 'logs')]);
    assert.deepEqual(fromLogs.v.summary, withRules.v.summary);
    assert.deepEqual(fromLogs.v.results, withRules.v.results);
  });

  it('a first-apply proposal allows everything observed; a dry-run one allows it now and reports what enforcing it would deny', () => {
    const first = verify(['-p', propose(['--first-apply']), '-g', graph]);
    assert.equal(first.status, 0, first.stdout);
    assert.equal(first.v.summary.allowedShare, 1);
    const dryDir = propose(['--dry-run', '--target', 'istio']);
    const dry = verify(['-p', dryDir, '-g', graph]);
    assert.equal(dry.v.summary.allowed.observations, dry.v.summary.observations, 'nothing is enforced yet');
    assert.equal(dry.status, 7, 'denials once enforced fail the gate');
    assert.equal(dry.v.summary.dryRunDenials.observations, 4);
    const withDryRules = verify(['-p', dryDir, '-g', graph, '--rules', join(dryDir, 'rules.json')]);
    assert.equal(withDryRules.status, 0, withDryRules.stdout);
  });

  it('judges hand-written manifests: a List and multi-document YAML, and reports one Istio would reject', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'existing.yaml'),
      [
        'apiVersion: security.istio.io/v1',
        'kind: AuthorizationPolicy',
        'metadata: {name: ratings-readonly, namespace: default}',
        'spec:',
        '  selector: {matchLabels: {app: ratings}}',
        '  rules:',
        '  - to: [{operation: {methods: [GET]}}]',
        '---',
        'apiVersion: security.istio.io/v1',
        'kind: AuthorizationPolicy',
        'metadata: {name: broken, namespace: default}',
        'spec: {rules: [{from: [{source: {}}]}]}',
        '---',
        'apiVersion: v1',
        'kind: List',
        'items:',
        '- apiVersion: networking.k8s.io/v1',
        '  kind: NetworkPolicy',
        '  metadata: {name: details-closed, namespace: default}',
        '  spec: {podSelector: {matchLabels: {app: details}}, policyTypes: [Ingress]}',
      ].join('\n'),
    );
    const r = verify(['-p', dir, '-g', graph, '--no-over-permission']);
    assert.equal(r.status, 7);
    assert.deepEqual(r.v.problems.map((p) => p.object), ['AuthorizationPolicy default/broken']);
    const denied = r.v.results.filter((x) => x.verdict !== 'allowed').map((x) => x.observation.edge);
    // details-v1 is closed to everyone; ratings only takes GET, so the reviews and the probes
    // (GET) pass and the ratings-report CronJob (POST /ratings/{id}) does not.
    assert.deepEqual(denied, [
      'default/CronJob/ratings-report->default/Deployment/ratings-v1:9080/http',
      'default/Deployment/productpage-v1->default/Deployment/details-v1:9080/http',
      'unknown:10.244.9.99->default/Deployment/details-v1:9080/http',
    ]);
    assert.equal(r.v.overPermission, undefined);
  });
});

// What access logs never show: DNS and xDS. The proposal allows both; deleting either
// allow must fail the gate with a message saying what breaks.
describe('verify replays the platform traffic of the Bookinfo proposal @e2e', () => {
  let policies = '';
  before(() => {
    policies = propose();
  });
  const without = (file: string): string => {
    const dir = tempDir();
    cpSync(policies, dir, { recursive: true });
    rmSync(join(dir, 'networkpolicy', 'default', file));
    return dir;
  };

  it('the unmodified proposal: DNS from every namespace and xDS from every proxy allowed, exit 0', () => {
    const r = verify(['-p', policies, '-g', graph, '--rules', join(policies, 'rules.json'), '--no-over-permission']);
    assert.equal(r.status, 0, r.stdout);
    assert.deepEqual(r.v.summary.platform, { checks: 10, denied: 0, unknown: 0 });
    assert.deepEqual(r.v.platform.servers, [
      { kind: 'dns', service: 'kube-system/kube-dns', pods: 2 },
      { kind: 'xds', service: 'istio-system/istiod', pods: 1 },
    ]);
    assert.deepEqual(
      r.v.platform.checks.filter((c) => c.namespace === 'default').map((c) => `${c.kind} ${c.protocol} ${c.port} ${c.verdict}`),
      ['dns UDP 53 allowed', 'dns TCP 53 allowed', 'xds TCP 15012 allowed'],
    );
    assert.match(r.stdout, /platform traffic \(DNS, xDS to istiod; never in access logs\): 10 checks from 4 namespaces, 0 denied/);
  });

  it('without the DNS egress policy: exit 7, and the table and JSON say name resolution breaks in default', () => {
    const r = verify(['-p', without('networkpolicy-ztmap-allow-dns.yaml'), '-g', graph, '--rules', join(policies, 'rules.json'), '--no-over-permission']);
    assert.equal(r.status, 7, r.stdout);
    // Observed traffic is still allowed: only the platform traffic fails the gate.
    assert.equal(r.v.summary.unexpectedDenials.observations, 0);
    assert.deepEqual(r.v.summary.platform, { checks: 10, denied: 2, unknown: 0 });
    const denied = r.v.platform.checks.filter((c) => c.verdict !== 'allowed');
    assert.deepEqual(denied.map((c) => `${c.kind} ${c.protocol} ${c.namespace} -> ${c.server}`), ['dns UDP default -> kube-system/kube-dns', 'dns TCP default -> kube-system/kube-dns']);
    assert.match(denied[0]!.message!, /^platform traffic: DNS \(UDP 53\) from namespace default to kube-system\/kube-dns denied at the client's egress \(isolated by .*default\/ztmap-default-deny.*\): its pods lose name resolution/);
    assert.match(r.stdout, /DENIED +DNS UDP 53 +default -> kube-system\/kube-dns\n +platform traffic: DNS \(UDP 53\) from namespace default .*name resolution/);
  });

  it('without the istiod egress policy: exit 7, and the sidecars of default lose their configuration', () => {
    const r = verify(['-p', without('networkpolicy-ztmap-allow-istiod.yaml'), '-g', graph, '--rules', join(policies, 'rules.json'), '--no-over-permission']);
    assert.equal(r.status, 7, r.stdout);
    assert.equal(r.v.summary.unexpectedDenials.observations, 0);
    const denied = r.v.platform.checks.filter((c) => c.verdict !== 'allowed');
    assert.deepEqual(denied.map((c) => `${c.kind} ${c.protocol} ${c.port} ${c.namespace} -> ${c.server}`), ['xds TCP 15012 default -> istio-system/istiod']);
    assert.match(denied[0]!.message!, /xDS to istiod \(TCP 15012\) from namespace default to istio-system\/istiod denied .*: its proxies lose their configuration and certificates/);
    // Every sidecar workload of default is denied (each pod shape once: the CronJob's two pods differ by labels).
    assert.deepEqual([...new Set(denied[0]!.denials.map((d) => d.client))], [
      'default/CronJob/ratings-report',
      'default/Deployment/details-v1',
      'default/Deployment/productpage-v1',
      'default/Deployment/ratings-v1',
      'default/Deployment/reviews-v1',
      'default/Deployment/reviews-v2',
      'default/Deployment/reviews-v3',
      'default/StatefulSet/mongodb-v1',
    ]);
  });
});

describe('verify refuses what the API server and Istio refuse @e2e', () => {
  it('the invalid-manifest corpus: every object a problem naming its file, none applied, exit 6', () => {
    const corpus = join(ROOT, 'test', 'verify', 'invalid-manifests');
    const r = verify(['-p', corpus, '-g', graph, '--no-over-permission']);
    assert.equal(r.status, 6, r.stdout);
    const files = readdirSync(corpus).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual([...new Set(r.v.problems.map((p) => p.file))].sort(), files.map((f) => join(corpus, f)).sort());
    assert.deepEqual([r.v.policies.authorizationPolicies, r.v.policies.peerAuthentications, r.v.policies.networkPolicies], [0, 0, 0]);
    assert.match(r.stdout, /problem: .*09-name-underscore\.yaml AuthorizationPolicy shop\/Bad_Name: metadata\.name: "Bad_Name" .* is not a DNS-1123 subdomain/);
  });
});
