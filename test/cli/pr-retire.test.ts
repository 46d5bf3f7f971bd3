// @e2e: retiring ztmap's stale branch, and rebuilding it, where others are at work too (the
// second review of issue 16's retirement), through the real binary against real git
// repositories and the GitHub REST double (its git side the test's bare remote):
// - a branch that is the base of a person's pull request (their branch stacked on ztmap's) is not deleted;
// - another job's branch (another --policies-path, same --branch) is not rebuilt by a run with something to propose;
// - a close that fails after the branch is deleted says so, leaves the pull request marked
//   superseded, and a later proposal is not held back as if a person had said no;
// - two runs retiring the same branch at once: the second finds it gone, and that is done (exit 0).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, remoteHead } from '../support/git-repo.js';
import { bookinfoProposals, closeChecked, prRepoHolding, type PrRepo } from '../support/pr-repo.js';
import type { GitHubApiDouble } from '../support/github-api.js';

const TOKEN = 'ghp_retireSecretToken0123456789abcdefgh';
const BRANCH = 'ztmap/policies';
const BOT = 'Policy Bot <bot@example.com>';
const SUPERSEDED = '<!-- ztmap: closed as superseded -->';

describe('ztmap pr retires its branch only where no one else is at work @e2e', () => {
  let both: string;
  let day2: string;
  let api: GitHubApiDouble;
  before(function () {
    this.timeout(240_000);
    ({ both, day2 } = bookinfoProposals());
  });
  afterEach(() => closeChecked(api));

  /** A repository whose main already holds `both` (a proposal merged), pushed to its remote, and the double on it. */
  async function holding(): Promise<PrRepo> {
    const r = await prRepoHolding(both, { token: TOKEN, author: BOT });
    api = r.api;
    return r;
  }

  it('does not delete a branch that is the base of a person’s open pull request', async function () {
    this.timeout(240_000);
    const { repo, remote, run } = await holding();
    assert.equal((await run(day2)).status, 0);
    const ztmaps = remoteHead(remote, BRANCH);
    // Alice reviews ztmap's proposal with a branch of her own on top of it, in a pull request into it.
    git(repo, 'fetch', '--quiet', 'origin', BRANCH);
    git(repo, 'checkout', '--quiet', '-b', 'alice/tweak', 'FETCH_HEAD');
    writeFileSync(join(repo, 'NOTES.md'), 'keep ratings reachable until Friday\n');
    git(repo, 'add', 'NOTES.md');
    git(repo, 'commit', '--quiet', '-m', 'alice: a note on the proposal');
    git(repo, 'push', '--quiet', 'origin', 'alice/tweak');
    git(repo, 'checkout', '--quiet', 'main');
    git(repo, 'branch', '--quiet', '-D', 'alice/tweak');
    api.pulls.push({ number: 2, state: 'open', title: 'alice: a note', body: 'my review', head: 'alice/tweak', base: BRANCH, sha: remoteHead(remote, 'alice/tweak') });
    const back = await run(both);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stderr, /ztmap\/policies \([0-9a-f]{12}\) is the base of open pull requests \(#2 from alice\/tweak\), which deleting it would close; ztmap leaves the branch/);
    assert.equal(remoteHead(remote, BRANCH), ztmaps, 'the base of alice’s pull request was deleted');
    assert.deepEqual(api.pulls.map((p) => p.state), ['open', 'open']);
    assert.deepEqual(api.comments, []);
  });

  it('refuses (exit 10) to rebuild the branch another job’s proposal is on', async function () {
    this.timeout(240_000);
    const { remote, run } = await holding();
    assert.equal((await run(day2, '--policies-path', 'other/policies')).status, 0);
    const jobA = remoteHead(remote, BRANCH);
    const body = api.pulls[0]!.body;
    // Job B: the default --policies-path, the same default --branch, a change of its own.
    const b = await run(day2);
    assert.equal(b.status, 10, b.stderr);
    assert.match(b.stderr, /holds a ztmap commit \([0-9a-f]{12}\) that changes files outside what this run compares \(other\/policies\/[^)]*\): another job's proposal on the same --branch/);
    assert.equal(remoteHead(remote, BRANCH), jobA, 'job A’s commit was pushed over');
    assert.equal(api.pulls.length, 1);
    assert.equal(api.pulls[0]!.body, body, 'job A’s pull request was rewritten');
    // With a --branch of its own, job B proposes.
    const own = await run(day2, '--branch', 'ztmap/policies-b');
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stderr, /pull request #2 opened/);
  });

  it('when the close fails after the branch is deleted, says so, and a later proposal is not held back', async function () {
    this.timeout(240_000);
    const { repo, run } = await holding();
    assert.equal((await run(day2)).status, 0);
    // GitHub refuses the PATCH after the one that marks the pull request (the close).
    api.onRequest = (r) => {
      const b = r.body as { state?: unknown } | undefined;
      if (r.method === 'PATCH' && b !== undefined && b.state === undefined) api.faults.push({ kind: 'forbidden', method: 'PATCH' });
    };
    const refused = await run(both);
    api.onRequest = undefined;
    assert.equal(refused.status, 10, refused.stderr);
    assert.match(refused.stderr, /closing pull request #1.*ztmap had already deleted ztmap\/policies on origin, so GitHub has closed pull request #1 with it; it is marked superseded/s);
    assert.ok(api.pulls[0]!.body.startsWith(SUPERSEDED), 'the pull request GitHub closed carries no mark');
    // The next run finds no remote branch: --push and --github-repo were given, so no advice to give them.
    const next = await run(both);
    assert.equal(next.status, 0, next.stderr);
    assert.doesNotMatch(next.stderr, /if you pushed/);
    assert.equal(git(repo, 'branch', '--list', BRANCH).trim(), '');
    // The traffic drops again: day 2's proposal is proposed again, not taken for a person's "no".
    const again = await run(day2);
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /a person closed the pull request/);
    assert.match(again.stderr, /pull request #2 opened/);
  });

  it('takes a branch another run deleted meanwhile as retired (exit 0)', async function () {
    this.timeout(240_000);
    const { repo, remote, run } = await holding();
    assert.equal((await run(day2)).status, 0);
    // The other run deletes the branch while this one asks GitHub for its pull requests.
    let deleted = false;
    api.onRequest = (r) => {
      if (!deleted && r.method === 'GET' && r.path.endsWith('/pulls')) {
        deleted = true;
        git(remote, 'update-ref', '-d', `refs/heads/${BRANCH}`);
      }
    };
    const second = await run(both);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, /ztmap\/policies \([0-9a-f]{12}\) on origin was deleted meanwhile \(another run retiring it at the same time, or a person\)/);
    assert.equal(remoteHead(remote, BRANCH), '');
    assert.equal(git(repo, 'branch', '--list', BRANCH).trim(), '', 'the local branch was left');
  });
});
