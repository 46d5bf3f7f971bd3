// @e2e: `ztmap drift` on the Bookinfo proposal as the approved baseline, through the real
// binary: new telemetry with a call the proposal never saw (productpage → ratings) and an
// operation it never saw (DELETE on reviews) is listed as drift with its count and first-seen
// time, and the exit code says so; the allow rules the new telemetry did not use are listed,
// and DNS/istiod allows are never among them; with --since, traffic before the window dates
// each rule's last use.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DriftReport } from '../../src/review/drift.js';
import { tempDir, ztmap, type Run } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');
const DRIFT = 7;
const PRODUCTPAGE = { pod: 'productpage-v1-2d7djr4hhv-xbj9k', ip: '10.244.1.10' };

let seq = 0;
/** One outbound line of productpage's sidecar, in Istio's default TEXT format. */
function outbound(at: string, method: string, path: string, svc: string, upstream: string, clusterIp: string): string {
  seq++;
  return (
    `[${at}] "${method} ${path} HTTP/1.1" 200 - via_upstream - "-" 0 120 5 4 "-" "python-requests/2.32" "00000000-0000-4000-8000-${String(seq).padStart(12, '0')}" ` +
    `"${svc}:9080" "${upstream}:9080" outbound|9080||${svc}.default.svc.cluster.local ${PRODUCTPAGE.ip}:${41000 + seq} ${clusterIp}:9080 ${PRODUCTPAGE.ip}:${52000 + seq} - default`
  );
}

describe('drift against the Bookinfo proposal @e2e', () => {
  let policies = '';
  let graph = '';
  let run: Run;
  let report: DriftReport;
  let markdown: Run;
  let earlier: DriftReport;
  let earlierRun: Run;
  let own: Run;
  let refusals: { status: number | null }[] = [];
  let help: Run;
  before(function () {
    // observe, propose and several runs of the command, on a machine that may be busy.
    this.timeout(240_000);
    const work = tempDir();
    assert.equal(ztmap(['observe', '-q', '-i', INVENTORY, '-o', work, join(BOOKINFO, 'logs')]).status, 4);
    graph = join(work, 'graph.json');
    const p = ztmap(['propose', '-q', '-g', graph, '-i', INVENTORY, '-o', work]);
    assert.ok(p.status === 0 || p.status === 5, p.stderr);
    policies = join(work, 'policies');

    // A day later: productpage calls ratings (never before), DELETEs a review, and reads details as usual.
    const logs = join(tempDir(), 'kubectl');
    mkdirSync(logs);
    writeFileSync(
      join(logs, `default_${PRODUCTPAGE.pod}.log`),
      [
        outbound('2026-11-25T09:00:01.000Z', 'GET', '/ratings/0', 'ratings', '10.244.2.10', '10.107.15.201'),
        outbound('2026-11-25T09:00:02.000Z', 'GET', '/details/0', 'details', '10.244.2.14', '10.103.212.9'),
        outbound('2026-11-25T09:05:00.000Z', 'GET', '/ratings/0', 'ratings', '10.244.2.10', '10.107.15.201'),
        outbound('2026-11-25T09:06:00.000Z', 'DELETE', '/reviews/1', 'reviews', '10.244.2.11', '10.98.77.140'),
        outbound('2026-11-25T09:10:00.000Z', 'GET', '/ratings/0', 'ratings', '10.244.2.10', '10.107.15.201'),
      ].join('\n') + '\n',
    );
    const out = join(tempDir(), 'drift.json');
    run = ztmap(['drift', '--baseline', policies, '-i', INVENTORY, '--format', 'json', '-o', out, logs]);
    report = JSON.parse(readFileSync(out, 'utf8')) as DriftReport;
    markdown = ztmap(['drift', '-b', policies, '-i', INVENTORY, logs]);
    const out2 = join(tempDir(), 'drift.json');
    earlierRun = ztmap(['drift', '-b', policies, '-i', INVENTORY, '-g', graph, '--since', '2026-11-25T00:00:00Z', '--format', 'json', '--out', out2, '-q']);
    earlier = JSON.parse(readFileSync(out2, 'utf8')) as DriftReport;
    own = ztmap(['drift', '-b', policies, '-i', INVENTORY, '-g', graph, '--format', 'json']);
    refusals = [
      ['drift', '-i', INVENTORY, '-g', graph],
      ['drift', '-b', policies, '-g', graph],
      ['drift', '-b', policies, '-i', INVENTORY],
      ['drift', '-b', policies, '-i', INVENTORY, '-g', graph, '--since', 'yesterday'],
    ].map((args) => ztmap(args));
    help = ztmap(['drift', '--help']);
  });

  it('lists the new edge and the new operation with their counts and first-seen times, and exits 7', () => {
    assert.equal(run.status, DRIFT, run.stderr);
    assert.deepEqual(
      report.drift.map((d) => [d.kind, d.caller, d.destination, d.port, d.requests, d.firstSeen, d.lastSeen, d.operations]),
      [
        ['new-edge', 'default/Deployment/productpage-v1', 'default/Deployment/ratings-v1', 9080, 3, '2026-11-25T09:00:01.000Z', '2026-11-25T09:10:00.000Z', []],
        ['new-operation', 'default/Deployment/productpage-v1', 'default/Deployment/reviews-v2', 9080, 1, '2026-11-25T09:06:00.000Z', '2026-11-25T09:06:00.000Z', ['DELETE /reviews/{id}']],
      ],
    );
    assert.deepEqual(report.summary, { drift: 2, requests: 4, newEdges: 1, newOperations: 1, plaintext: 0, undecided: 0 });
    assert.deepEqual(report.window, { observations: 3, requests: 5, firstSeen: '2026-11-25T09:00:01.000Z', lastSeen: '2026-11-25T09:10:00.000Z' });
    assert.match(run.stderr, /^drift: 2 observation\(s\) not allowed by the baseline \(4 requests: 1 new edge\(s\), 1 new operation\(s\), 0 plaintext source\(s\)\)/m);
    assert.match(markdown.stdout, /^\| new-edge \| default\/Deployment\/productpage-v1 \| default\/Deployment\/ratings-v1 \| 9080\/http \| all \| unknown \| 3 \| 2026-11-25T09:00:01\.000Z \| 2026-11-25T09:10:00\.000Z \| egress isolated by /m);
  });

  it('lists the allow rules the new telemetry did not use, never those DNS and istiod need', () => {
    const status = (id: string) => report.rules.find((r) => r.id === id)?.status;
    assert.equal(status('istio default/ztmap-allow-details-v1#0'), 'used');
    assert.equal(status('egress default/ztmap-workload-productpage-v1#0'), 'used');
    assert.equal(status('istio default/ztmap-allow-ratings-v1#1'), 'unused');
    assert.equal(status('egress default/ztmap-allow-dns#0'), 'platform');
    assert.equal(status('egress default/ztmap-allow-istiod#0'), 'platform');
    const unused = report.rules.filter((r) => r.status === 'unused');
    assert.ok(unused.length >= 10, String(unused.length));
    const ratings = unused.find((r) => r.id === 'istio default/ztmap-allow-ratings-v1#1')!;
    assert.match(ratings.file!, /istio\/default\/authorizationpolicy-ztmap-allow-ratings-v1\.yaml$/);
    assert.equal(ratings.text, 'from principals cluster.local/ns/default/sa/bookinfo-ratings, to ports 9080; methods POST; paths /ratings/*');
    assert.equal(ratings.lastUsed, null);
    assert.match(markdown.stdout, /^\| istio default\/ztmap-allow-ratings-v1\\#1 \| .*authorizationpolicy-ztmap-allow-ratings-v1\.yaml \| from principals .* \| not in the data \|$/m);
  });

  it('with --since, dates each unused rule by the traffic before the window, and finds no drift there', () => {
    assert.equal(earlierRun.status, 0, earlierRun.stderr);
    assert.equal(earlier.summary.drift, 0);
    assert.equal(earlier.window.observations, 0);
    const ratings = earlier.rules.find((r) => r.id === 'istio default/ztmap-allow-ratings-v1#1')!;
    assert.equal(ratings.status, 'unused');
    // The CronJob's last POST to ratings in the fixtures.
    assert.match(ratings.lastUsed ?? '', /^2026-11-24T10:33:17\.\d{3}Z$/);
  });

  it('on the observed window itself, finds only what the proposal reports as its own blockers and exclusions', () => {
    assert.equal(own.status, DRIFT, own.stderr);
    const d = JSON.parse(own.stdout) as DriftReport;
    assert.deepEqual(
      d.drift.map((x) => `${x.kind} ${x.caller} ${x.mtls} ${x.requests}`),
      [
        'plaintext legacy/Deployment/legacy-client plaintext 29',
        'new-edge monitoring/Deployment/prometheus-server plaintext 240',
        'plaintext node:10.0.0.12 plaintext 360',
        'new-edge unknown:10.244.9.99 plaintext 8',
      ],
    );
    // Every allow the proposal made was used by the traffic it was made from, or is for DNS and istiod.
    assert.deepEqual(d.rules.filter((x) => x.status === 'unused').map((x) => x.id), []);
  });

  it('refuses to run without a baseline, an inventory, or traffic', () => {
    assert.deepEqual(refusals.map((r) => r.status), [2, 2, 2, 2]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Exit codes:/);
  });
});
