// @e2e: the walk-through of docs/review.md, run as written (its ```sh blocks, in order, with
// `npx ztmap` being the built binary): first proposal, approval, new traffic, drift report,
// second pull request, removal pull request. What each step says it does is checked here.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, GIT_ENV } from '../support/git-repo.js';
import { BIN, ROOT } from '../support/paths.js';

const doc = readFileSync(join(ROOT, 'docs', 'review.md'), 'utf8');
const walkthrough = doc.slice(doc.indexOf('## Walk-through'));
const blocks = [...walkthrough.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

const changeRows = (body: string) => body.split('\n').filter((l) => /^\| (added|changed|removed) \|/.test(l)).map((l) => l.split('|').slice(1, 5).map((c) => c.trim()).join(' '));

describe('docs/review.md walk-through, run as written @e2e', () => {
  let status: number | null;
  let stdout: string;
  let stderr: string;
  let W: string;
  let again: SpawnSyncReturns<string>;
  const file = (name: string) => readFileSync(join(W, name), 'utf8');
  before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(360_000);
    const script = ['set -euo pipefail', ...blocks, 'echo "W=$W"'].join('\n').replaceAll('npx ztmap', 'node "$ZTMAP_BIN"');
    const r = spawnSync('bash', ['-c', script], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...GIT_ENV, ZTMAP_BIN: BIN }, encoding: 'utf8', timeout: 300_000 });
    ({ status, stdout, stderr } = r);
    W = /^W=(.*)$/m.exec(stdout)?.[1] ?? '';
    again = spawnSync('node', [BIN, 'pr', '--repo', join(W, 'gitops'), '--proposal', join(W, 'day2', 'policies'), '--push', 'origin', '--author', 'Policy Bot <bot@example.com>'], { env: { PATH: process.env['PATH'] ?? '', ...GIT_ENV }, encoding: 'utf8', timeout: 120_000 });
  });

  it('runs every step', () => {
    assert.equal(blocks.length, 7);
    assert.equal(status, 0, stderr);
    assert.notEqual(W, '');
  });

  it('1. the first proposal adds every manifest in ztmap’s layout, with its risks and a rollout plan', () => {
    const body = file('pr-1.md');
    assert.equal(changeRows(body).length, 20);
    assert.match(body, /ztmap's own \(no policies in the repository yet\)/);
    assert.match(body, /#### Low-confidence rules[^\n]*\(1\)\n\n- default\/Deployment\/details-v1 -\\> default\/Deployment\/ratings-v1/);
    assert.match(body, /Namespaces in order, fewest risks first: legacy \(\d+\), default \(\d+\)/);
    assert.match(body, /#### Held back: not in this pull request \(1\)/);
  });

  it('4. the drift report: the new call is drift, the one-off call an unused allow', () => {
    assert.match(stdout, /drift: exit 7/);
    const drift = file('drift.md');
    assert.match(drift, /reviews-v1[^\n]*ratings-v1/);
    assert.match(drift, /Unused allows/);
  });

  it('5. the second pull request changes only what the new call needs', () => {
    const body = file('pr-2.md');
    assert.deepEqual(changeRows(body), ['changed NetworkPolicy default ztmap-workload-ratings-v1', 'changed NetworkPolicy default ztmap-workload-reviews-v1']);
    assert.match(body, /: 1 change\(s\), 1 newly allowed, 0 newly denied, 0 other; 0 with risks\.\n\n[^\n]*\n[^\n]*\n\| default\/Deployment\/ratings-v1 \| default\/Deployment\/reviews-v1 \| 9080\/http \| GET \/ratings\/, \/ratings\/\{other\} \| newly allowed \|/);
  });

  it('6. the removal pull request takes out the unused allow and says so', () => {
    const body = file('pr-3.md');
    assert.deepEqual(changeRows(body), ['changed AuthorizationPolicy default ztmap-allow-ratings-v1', 'changed NetworkPolicy default ztmap-workload-details-v1', 'changed NetworkPolicy default ztmap-workload-ratings-v1']);
    assert.match(body, /: 1 change\(s\), 0 newly allowed, 1 newly denied[^\n]*\n\n[^\n]*\n[^\n]*\n\| default\/Deployment\/ratings-v1 \| default\/Deployment\/details-v1 \| 9080\/http \| [^|]* \| newly denied \|/);
    const unused = body.slice(body.indexOf('### Unused allows'), body.indexOf('### Rollout plan'));
    assert.match(unused, /^### Unused allows \(1\)/);
    assert.match(unused, /\| egress default\/ztmap-workload-details-v1\\#\u200B0 \| to pods app=ratings [^\n]*\| policy changed \(see the diff\) \|/);
    const removed = git(join(W, 'remote.git'), 'show', '--format=%s', '--stat', 'ztmap/policies');
    assert.match(removed, /\(0 added, 3 changed, 0 removed\)/);
  });

  it('approvals reached the remote, and a run without new traffic adds nothing', () => {
    assert.equal(git(join(W, 'remote.git'), 'rev-list', '--count', 'main').trim(), '3');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /already holds this proposal/);
  });
});
