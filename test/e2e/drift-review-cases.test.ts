// @e2e: the cases a review of `ztmap drift` found (issue 16), through the real binary on the
// Bookinfo proposal as the baseline: requests the mesh refused today are drift, or say the
// cluster is not the baseline; an allow rule is never "unused" when a CUSTOM or undecided DENY
// hid whether it admitted the traffic, when its NetworkPolicy outcome was unknown, or when it
// admits only UDP, which no telemetry shows.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DriftReport } from '../../src/review/drift.js';
import { tempDir, ztmap, type Run } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');
const DRIFT = 7;

/** Five server-side refusals at ratings of productpage's GET, in Istio's default TEXT format. */
const REFUSED = Array.from(
  { length: 5 },
  (_, i) =>
    `[2026-11-25T09:0${i}:01.000Z] "GET /ratings/0 HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "python-requests/2.32" "00000000-0000-4000-8000-00000000000${i}" "ratings:9080" "-" inbound|9080|| - 10.244.2.10:9080 10.244.1.10:4567${i} outbound_.9080_._.ratings.default.svc.cluster.local -`,
).join('\n');

const REQUIRE_JWT = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: default}
spec:
  selector: {matchLabels: {app: productpage}}
  action: DENY
  rules:
  - from: [{source: {notRequestPrincipals: ["*"]}}]
`;
const EXT_AUTHZ = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: oauth2-proxy, namespace: default}
spec:
  selector: {matchLabels: {app: productpage}}
  action: CUSTOM
  provider: {name: oauth2-proxy}
  rules:
  - to: [{operation: {paths: ["*"]}}]
`;
const STATSD = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: reviews-statsd, namespace: default}
spec:
  podSelector: {matchLabels: {app: reviews}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}, podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}}]
    ports: [{protocol: UDP, port: 9125}]
`;
/** Allows productpage → ratings: the mesh refusing it today means the cluster is not this baseline. */
const ALLOW_RATINGS = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: open-ratings, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
  rules:
  - {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open-ratings, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{}]
`;

describe('drift: the review cases (issue 16) @e2e', () => {
  const json = (r: Run) => JSON.parse(r.stdout) as DriftReport;
  let refused: Run;
  let differs: Run;
  let jwt: Run;
  let custom: Run;
  let udp: Run;
  let noJobPods: Run;
  before(function () {
    this.timeout(300_000);
    const work = tempDir();
    assert.equal(ztmap(['observe', '-q', '-i', INVENTORY, '-o', work, join(BOOKINFO, 'logs')]).status, 4);
    const graph = join(work, 'graph.json');
    const p = ztmap(['propose', '-q', '-g', graph, '-i', INVENTORY, '-o', work]);
    assert.ok(p.status === 0 || p.status === 5, p.stderr);
    const policies = join(work, 'policies');
    const withFile = (name: string, text: string) => {
      const dir = tempDir();
      cpSync(policies, dir, { recursive: true });
      writeFileSync(join(dir, 'istio', 'default', name), text);
      return dir;
    };
    const logs = join(tempDir(), 'kubectl');
    mkdirSync(logs);
    writeFileSync(join(logs, 'default_ratings-v1-fls9vkfgc8-b6dls.log'), REFUSED + '\n');
    const inventory = JSON.parse(readFileSync(INVENTORY, 'utf8')) as { items: { kind: string; metadata: { name: string } }[] };
    const noJobs = join(tempDir(), 'inventory.json');
    writeFileSync(noJobs, JSON.stringify({ ...inventory, items: inventory.items.filter((x) => !((x.kind === 'Pod' || x.kind === 'Job') && x.metadata.name.startsWith('ratings-report-'))) }));
    const drift = (baseline: string, rest: string[], inv = INVENTORY) => ztmap(['drift', '-q', '-b', baseline, '-i', inv, '--format', 'json', ...rest]);
    refused = drift(policies, [logs]);
    differs = drift(withFile('allow-ratings.yaml', ALLOW_RATINGS), [logs]);
    jwt = drift(withFile('require-jwt.yaml', REQUIRE_JWT), ['-g', graph]);
    custom = drift(withFile('extauthz.yaml', EXT_AUTHZ), ['-g', graph]);
    udp = drift(withFile('statsd.yaml', STATSD), ['-g', graph]);
    noJobPods = drift(policies, ['-g', graph], noJobs);
  });

  it('lists requests the mesh refused today, which the baseline denies too, as drift (exit 7)', () => {
    assert.equal(refused.status, DRIFT, refused.stderr);
    const d = json(refused);
    assert.deepEqual(
      d.drift.map((x) => [x.kind, x.caller, x.destination, x.requests, x.refusedToday?.kind]),
      [['new-edge', 'default/Deployment/productpage-v1', 'default/Deployment/ratings-v1', 5, 'rbac']],
    );
    assert.equal(d.summary.refusedToday, 1);
    assert.equal(d.summary.clusterDiffers, 0);
  });

  it('says the cluster differs from the baseline when the baseline allows what the mesh refused (exit 7)', () => {
    assert.equal(differs.status, DRIFT, differs.stderr);
    const d = json(differs);
    assert.equal(d.summary.drift, 0);
    assert.deepEqual(d.clusterDiffers.map((x) => [x.kind, x.caller, x.destination, x.requests]), [['cluster-differs', 'default/Deployment/productpage-v1', 'default/Deployment/ratings-v1', 5]]);
  });

  it('never lists as unused an ALLOW rule behind an undecided DENY or a CUSTOM authorizer', () => {
    for (const r of [jwt, custom]) {
      const status = json(r).rules.find((x) => x.id === 'istio default/ztmap-allow-productpage-v1#0')?.status;
      assert.equal(status, 'maybe', r.stderr);
    }
  });

  it('never lists as unused a NetworkPolicy rule whose outcome was unknown (the CronJob has no pods in the inventory)', () => {
    const d = json(noJobPods);
    assert.equal(d.rules.find((x) => x.id === 'egress default/ztmap-workload-ratings-report#0')?.status, 'maybe');
    assert.deepEqual(d.rules.filter((x) => x.status === 'unused').map((x) => x.id), []);
  });

  it('says a UDP-only rule is not observable, never unused', () => {
    const d = json(udp);
    assert.equal(d.rules.find((x) => x.id === 'egress default/reviews-statsd#0')?.status, 'not-observable');
  });
});
