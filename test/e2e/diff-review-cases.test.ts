// @e2e: the cases a review of `ztmap diff` found silent (issue 16), through the real binary
// (fixtures/review-cases/<case>/{a,b}.yaml): each must now show as a change and exit 9 with
// --exit-code: UDP removed from the DNS allow, egress to addresses outside the cluster, a CIDR
// keeping its address but not its prefix, a workload calling itself, JWT/header/host
// conditions both sides leave undecided, a partial verdict whose allowed identity swaps, and a
// changed waypoint (targetRef) policy, which replay does not evaluate; wildcards the probes
// could not tell apart (`*.json` / `*r.json`, `*/admin` / `/{*}/admin`, a suffix principal),
// and, without an inventory, a root-namespace selector in another namespace.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyChange, PolicyDiff } from '../../src/review/diff.js';
import { tempDir, ztmap, type Run } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const CASES = join(FIXTURES, 'review-cases');
const INVENTORY = join(FIXTURES, 'bookinfo', 'inventory.json');
const CHANGED = 9;

const dns = (ports: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ztmap-allow-dns, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [${ports}]
`;

describe('diff: the review cases (issue 16) @e2e', () => {
  const runs = new Map<string, Run>();
  const changes = (name: string): PolicyChange[] => (JSON.parse(runs.get(name)!.stdout) as PolicyDiff).destinations.flatMap((d) => d.changes);
  before(function () {
    this.timeout(300_000);
    const diff = (name: string, extra: string[] = []) => runs.set(name, ztmap(['diff', '-q', '--format', 'json', '--exit-code', join(CASES, name, 'a.yaml'), join(CASES, name, 'b.yaml'), ...extra]));
    for (const name of ['cidr', 'egressip', 'egressip2', 'egressrm', 'self', 'jwt', 'header', 'hosts', 'tref', 'sfx', 'tmpl', 'sasuffix', 'rootns']) diff(name);
    diff('partial', ['-i', join(CASES, 'inv2.json')]);
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), dns('{protocol: TCP, port: 53}, {protocol: UDP, port: 53}'));
    writeFileSync(join(dir, 'b.yaml'), dns('{protocol: TCP, port: 53}'));
    runs.set('dns', ztmap(['diff', '-q', '--format', 'json', '--exit-code', '-i', INVENTORY, join(dir, 'a.yaml'), join(dir, 'b.yaml')]));
  });

  it('exits 9 on every case', () => {
    for (const [name, r] of runs) assert.equal(r.status, CHANGED, `${name}: ${r.stderr}`);
  });

  it('shows UDP 53 removed from the DNS allow as DNS newly denied for every pod of the namespace', () => {
    const c = changes('dns');
    assert.ok(c.length > 0);
    assert.ok(c.every((x) => x.protocol === 'udp' && x.port === 53 && x.destination === 'kube-system/Deployment/coredns' && x.verb === 'newly denied'), JSON.stringify(c.map((x) => x.text)));
    assert.ok(c.some((x) => x.caller === 'default/Deployment/productpage-v1'));
  });

  it('compares egress to addresses outside the cluster: widened, and removed', () => {
    const wide = changes('egressip');
    // 0.0.0.0/0 except 10.0.0.0/8 now lets ratings reach the addresses the old /32 did not.
    assert.ok(wide.some((x) => x.destination === 'world:203.0.113.1' && x.port === 5432 && x.verb === 'newly allowed'), JSON.stringify(wide.map((x) => x.text)));
    assert.ok(changes('egressip2').some((x) => x.destination.startsWith('world:') && x.verb === 'newly allowed'));
    const removed = changes('egressrm');
    assert.ok(removed.some((x) => x.destination === 'world:192.0.2.10' && x.port === 5432 && x.verb === 'newly denied'));
  });

  it('probes a CIDR at its edges: 192.168.0.0/24 → /16 lets in the addresses after the /24', () => {
    const c = changes('cidr');
    assert.ok(c.some((x) => x.caller === 'world:192.168.1.0' && x.verb === 'newly allowed'), JSON.stringify(c.map((x) => x.text)));
  });

  it('replays a workload calling itself', () => {
    const c = changes('self');
    assert.ok(c.some((x) => x.caller.startsWith('default/Probe/app=mongodb ') && x.destination === 'default/Probe/app=mongodb' && x.verb === 'newly denied'), JSON.stringify(c.map((x) => x.text)));
  });

  it('flags for review a JWT, header or host condition that changed while both sides stay undecided', () => {
    for (const name of ['jwt', 'header', 'hosts']) {
      const c = changes(name);
      assert.ok(c.length > 0, name);
      assert.ok(c.every((x) => x.before === 'unknown' && x.after === 'unknown' && /still undecided/.test(x.verb)), name);
    }
  });

  it('flags a partial verdict whose allowed identity changed', () => {
    const c = changes('partial');
    assert.ok(c.some((x) => x.destination === 'default/Deployment/details-v1' && x.before === 'partial' && x.after === 'partial'));
  });

  it('lists a changed targetRef policy as not compared, which counts for --exit-code', () => {
    const d = JSON.parse(runs.get('tref')!.stdout) as PolicyDiff;
    assert.equal(d.summary.notCompared, 1);
    assert.deepEqual(d.notCompared.map((x) => [x.policy, x.change]), [['AuthorizationPolicy default/reviews-waypoint', 'changed']]);
  });

  it('tells apart wildcards: suffixes sharing an end, a template against a suffix, a suffix principal', () => {
    const sfx = changes('sfx');
    assert.ok(sfx.some((x) => x.verb === 'newly denied' && x.requests !== 'any' && x.requests.some((r) => r.path.endsWith('.json') && !r.path.endsWith('r.json'))), JSON.stringify(sfx.map((x) => x.text)));
    // DENY */admin → DENY /{*}/admin: /admin and /a/b/admin are no longer denied.
    assert.ok(changes('tmpl').some((x) => x.verb === 'newly allowed'));
    // cluster.local/ns/ops/sa/admin → */sa/admin: an admin account in any other namespace is let in.
    assert.ok(changes('sasuffix').some((x) => x.verb === 'newly allowed' && /\/Probe\/sa=admin$|sa=admin$/.test(x.caller) && !x.caller.startsWith('ops/')), JSON.stringify(changes('sasuffix').map((x) => x.caller)));
  });

  it('without an inventory, makes a root-namespace selector up in every namespace', () => {
    const c = changes('rootns');
    assert.ok(c.some((x) => x.destination === 'shop/Probe/app=payments' && x.caller.startsWith('frontend/') && x.verb === 'newly allowed'), JSON.stringify(c.map((x) => x.text)));
  });
});
