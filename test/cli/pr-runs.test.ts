// @e2e: `ztmap pr` run after run, as a scheduled job runs it, through the real binary against
// real git repositories and the GitHub REST double (its git side the test's bare remote):
// - a pull request whose proposal the base has caught up with (the traffic it would deny came
//   back) is closed with a comment, and ztmap's branch deleted; without a token, the output
//   says the stale branch is there and what to do;
// - a pull request a person closed, whose branch they then deleted, stays closed over the
//   same traffic (its tree is compared, not its commit), run after run;
// - a shallow clone (actions/checkout's fetch-depth: 1) after main moved still knows ztmap's branch;
// - an --api-url with credentials is refused before anything runs, and never printed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/cli.js';
import { git, GIT_ENV, repoHolding, repoWith } from '../support/git-repo.js';
import { bookinfoProposals, closeChecked } from '../support/pr-repo.js';
import { GitHubApiDouble, ztmapAsync, type AsyncRun } from '../support/github-api.js';

const TOKEN = 'ghp_runsSecretToken0123456789abcdefghijk';
const BRANCH = 'ztmap/policies';
const BOT = 'Policy Bot <bot@example.com>';

const remoteHas = (remote: string, branch: string) => git(remote, 'for-each-ref', `refs/heads/${branch}`).trim() !== '';

describe('ztmap pr, run after run @e2e', () => {
  let both: string;
  let day2: string;
  before(function () {
    // Spawns ztmap several times: minutes on a busy machine.
    this.timeout(240_000);
    ({ both, day2 } = bookinfoProposals());
  });

  describe('a pull request the base has caught up with', () => {
    let api: GitHubApiDouble;
    let repo: string;
    let remote: string;
    const runs: Record<string, AsyncRun> = {};
    const requestsAfter: Record<string, number> = {};
    const writesAfter: Record<string, number> = {};
    const branchAfter: Record<string, { remote: boolean; local: boolean }> = {};
    before(async function () {
      this.timeout(240_000);
      ({ repo, remote } = await repoHolding(both, BOT));
      api = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'], remote });
      const step = async (name: string, p: string) => {
        runs[name] = await ztmapAsync(['pr', '--repo', repo, '--proposal', p, '--push', 'origin', '--author', BOT, '--github-repo', 'acme/gitops', '--api-url', api.url], { env: { ...GIT_ENV, GITHUB_TOKEN: TOKEN } });
        requestsAfter[name] = api.requests.length;
        writesAfter[name] = api.writes.length;
        branchAfter[name] = { remote: remoteHas(remote, BRANCH), local: git(repo, 'branch', '--list', BRANCH).trim() !== '' };
      };
      await step('removal', day2);
      await step('traffic back', both);
      await step('again', both);
      await step('removal again', day2);
    });
    after(() => closeChecked(api));

    it('day 2 opens a pull request that denies the call not seen that day', () => {
      assert.equal(runs['removal']!.status, 0, runs['removal']!.stderr);
      assert.match(runs['removal']!.stderr, /0 newly allowed, [1-9]\d* newly denied[\s\S]*pull request #1 opened/);
    });

    it('when the traffic comes back, closes it with a comment saying why, and deletes ztmap’s branch', () => {
      const r = runs['traffic back']!;
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /nothing to propose/);
      assert.match(r.stderr, /pull request #1 closed as superseded/);
      assert.equal(api.pulls[0]!.state, 'closed');
      assert.deepEqual(api.comments.map((c) => c.issue), [1]);
      assert.match(api.comments[0]!.body, /already decides every request as ztmap's current proposal does/);
      const writes = api.writes.slice(writesAfter['removal'], writesAfter['traffic back']).map((w) => `${w.method} ${w.path} ${JSON.stringify(Object.keys(w.body as object))}`);
      // The pull request marked superseded (still open), then the branch deleted (with its lease),
      // then the pull request closed, then the comment.
      assert.deepEqual(writes, ['PATCH /repos/acme/gitops/pulls/1 ["body"]', 'PATCH /repos/acme/gitops/pulls/1 ["state"]', 'POST /repos/acme/gitops/issues/1/comments ["body"]']);
      assert.ok(api.pulls[0]!.body.startsWith('<!-- ztmap: closed as superseded -->\n'));
      assert.deepEqual(branchAfter['removal'], { remote: true, local: true });
      assert.deepEqual(branchAfter['traffic back'], { remote: false, local: false });
    });

    it('then runs over the same traffic make no API call', () => {
      assert.equal(runs['again']!.status, 0, runs['again']!.stderr);
      assert.equal(requestsAfter['again'], requestsAfter['traffic back']);
    });

    it('a pull request ztmap closed does not stop the next proposal: a new one is opened', () => {
      assert.equal(runs['removal again']!.status, 0, runs['removal again']!.stderr);
      assert.match(runs['removal again']!.stderr, /pull request #2 opened/);
      assert.equal(api.pulls.length, 2);
    });
  });

  it('without a token, says the stale branch is there and what to do, and leaves it', async function () {
    this.timeout(240_000);
    const { repo, remote } = await repoHolding(both, BOT);
    const args = (p: string) => ['pr', '--repo', repo, '--proposal', p, '--push', 'origin', '--author', BOT];
    const removal = await ztmapAsync(args(day2), { env: GIT_ENV });
    assert.equal(removal.status, 0, removal.stderr);
    const back = await ztmapAsync(args(both), { env: GIT_ENV });
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stderr, /ztmap\/policies \([0-9a-f]{12}\) on origin still proposes an earlier change that main no longer needs/);
    assert.match(back.stderr, /git push origin --delete ztmap\/policies/);
    assert.ok(remoteHas(remote, BRANCH));
  });

  describe('a pull request a person closed, then deleted its branch', () => {
    let api: GitHubApiDouble;
    const runs: AsyncRun[] = [];
    const branchAfter: boolean[] = [];
    before(async function () {
      this.timeout(240_000);
      const { remote } = await repoHolding(both, BOT);
      api = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'], remote });
      // Each run in a fresh clone, as a scheduled job's checkout is; each commit at its own time.
      const run = async (day: number) => {
        const clone = join(tempDir('ztmap-pr-clone-'), 'gitops');
        git(tempDir(), 'clone', '--quiet', remote, clone);
        const date = `2026-12-0${day}T06:17:00Z`;
        runs.push(await ztmapAsync(['pr', '--repo', clone, '--proposal', day2, '--push', 'origin', '--author', BOT, '--github-repo', 'acme/gitops', '--api-url', api.url], { env: { ...GIT_ENV, GITHUB_TOKEN: TOKEN, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } }));
        branchAfter.push(remoteHas(remote, BRANCH));
      };
      await run(1);
      api.pulls[0]!.state = 'closed';
      await run(2);
      git(remote, 'update-ref', '-d', `refs/heads/${BRANCH}`);
      await run(3);
      await run(4);
    });
    after(() => closeChecked(api));

    it('opens one, and then leaves it closed, before and after the branch is deleted', () => {
      for (const r of runs) assert.equal(r.status, 0, r.stderr);
      assert.match(runs[0]!.stderr, /pull request #1 opened/);
      for (const r of runs.slice(1)) assert.match(r.stderr, /pull request #1 left closed/);
      assert.equal(api.pulls.length, 1);
      // What the person deleted is not pushed again.
      assert.deepEqual(branchAfter, [true, true, false, false]);
      assert.match(runs[2]!.stderr, /a person closed the pull request on this proposal; ztmap pushes nothing to ztmap\/policies/);
    });
  });

  it('in shallow clones (fetch-depth: 1), rebuilds its own branch after main moved', async function () {
    this.timeout(240_000);
    const { repo, remote } = repoWith({});
    const shallow = () => {
      const clone = join(tempDir('ztmap-pr-clone-'), 'gitops');
      git(tempDir(), 'clone', '--quiet', '--depth', '1', `file://${remote}`, clone);
      return clone;
    };
    const run = (clone: string, p: string) => ztmapAsync(['pr', '--repo', clone, '--proposal', p, '--push', 'origin', '--author', BOT], { env: GIT_ENV });
    const first = await run(shallow(), both);
    assert.equal(first.status, 0, first.stderr);
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', 'unrelated');
    git(repo, 'push', '--quiet', 'origin', 'main');
    const second = await run(shallow(), day2);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, /committed [0-9a-f]{12} on ztmap\/policies/);
    assert.equal(git(remote, 'rev-parse', `refs/heads/${BRANCH}~1`).trim(), git(remote, 'rev-parse', 'main').trim());
  });

  it('refuses an --api-url with credentials (exit 2) and never prints them', async () => {
    const { repo } = repoWith({});
    const r = await ztmapAsync(['pr', '--repo', repo, '--proposal', both, '--push', 'origin', '--github-repo', 'acme/gitops', '--api-url', 'http://user:s3cretpw@127.0.0.1:18081'], { env: { ...GIT_ENV, GITHUB_TOKEN: 't' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--api-url http:\/\/\*\*\*@127\.0\.0\.1:18081 carries credentials/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('s3cretpw'));
    assert.equal(git(repo, 'branch', '--list', BRANCH).trim(), '');
  });
});
