// @e2e: what `ztmap pr` leaves alone (issue 16's second review), through the real binary
// against real git repositories and the GitHub REST double (its git side the test's bare remote):
// - a pull request a person closed stays closed when main moves, whether they kept the branch or not;
// - a stale branch someone pushed to after ztmap read it: neither the branch nor its pull request is touched;
// - a stale branch whose commit changes files another run owns (another --policies-path) is left;
// - a pull request GitHub refuses to mark superseded: nothing deleted or closed; the next run retires it;
// - a branch that is the head of a pull request into another base is not deleted;
// - a shallow clone without --push leaves a branch it cannot decide (exit 0);
// - a person's branch is said to be theirs, and nothing more.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/cli.js';
import { git, GIT_ENV, remoteHead, repoWith } from '../support/git-repo.js';
import { bookinfoProposals, closeChecked, prRepoHolding, type PrRepo } from '../support/pr-repo.js';
import { ztmapAsync, type GitHubApiDouble } from '../support/github-api.js';

const TOKEN = 'ghp_staleSecretToken0123456789abcdefghi';
const BRANCH = 'ztmap/policies';
const BOT = 'Policy Bot <bot@example.com>';

describe('ztmap pr leaves what is not its own to touch @e2e', () => {
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

  const moveMain = (repo: string, what: string) => {
    writeFileSync(join(repo, 'README.md'), `# policies\n\n${what}\n`);
    git(repo, 'commit', '--quiet', '-am', what);
    git(repo, 'push', '--quiet', 'origin', 'main');
  };

  it('keeps a pull request a person closed closed when main moves, with the branch kept and after it is deleted', async function () {
    this.timeout(240_000);
    const { repo, remote, run } = await holding();
    const opened = await run(day2);
    assert.equal(opened.status, 0, opened.stderr);
    const pushed = remoteHead(remote, BRANCH);
    api.pulls[0]!.state = 'closed';
    moveMain(repo, 'an unrelated commit');
    const kept = await run(day2);
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stderr, /pull request #1 left closed|a person closed the pull request on this proposal/);
    assert.equal(remoteHead(remote, BRANCH), pushed, 'the branch the person kept was pushed again');
    git(remote, 'update-ref', '-d', `refs/heads/${BRANCH}`);
    moveMain(repo, 'another unrelated commit');
    const deleted = await run(day2);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.match(deleted.stderr, /a person closed the pull request on this proposal/);
    assert.equal(remoteHead(remote, BRANCH), '', 'the branch the person deleted was pushed again');
    assert.equal(api.pulls.length, 1);
    assert.equal(api.pulls[0]!.state, 'closed');
  });

  it('touches neither a stale branch nor its pull request when someone pushed to it after ztmap read it', async function () {
    this.timeout(240_000);
    const { repo, remote, run } = await holding();
    assert.equal((await run(day2)).status, 0);
    // A person's commit on ztmap's branch, pushed while ztmap talks to GitHub.
    const theirs = git(repo, 'commit-tree', `${BRANCH}^{tree}`, '-p', BRANCH, '-m', 'a person adds to it').trim();
    api.onRequest = (r) => {
      if (r.method === 'GET' && r.path.endsWith('/pulls') && remoteHead(remote, BRANCH) !== theirs) git(repo, 'push', '--quiet', 'origin', `${theirs}:refs/heads/${BRANCH}`);
    };
    const back = await run(both);
    api.onRequest = undefined;
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stderr, /someone pushed to it\. ztmap leaves the branch and the pull request as they are/);
    assert.equal(api.pulls[0]!.state, 'open');
    assert.deepEqual(api.comments, []);
    assert.equal(remoteHead(remote, BRANCH), theirs);
  });

  it('leaves a stale branch whose commit changes files of another --policies-path', async function () {
    this.timeout(240_000);
    const { remote, run } = await holding();
    assert.equal((await run(day2, '--policies-path', 'other/policies')).status, 0);
    const back = await run(both);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stderr, /changes files outside what this run compared \(other\/policies\/[^)]*\): another --policies-path, other targets or namespaces; ztmap leaves it as it is/);
    assert.equal(api.pulls[0]!.state, 'open');
    assert.deepEqual(api.comments, []);
    assert.notEqual(remoteHead(remote, BRANCH), '');
  });

  it('deletes nothing when GitHub refuses to mark the pull request, and the next run retires it', async function () {
    this.timeout(240_000);
    const { remote, run } = await holding();
    assert.equal((await run(day2)).status, 0);
    const pushed = remoteHead(remote, BRANCH);
    api.faults.push({ kind: 'forbidden', method: 'PATCH' });
    const refused = await run(both);
    assert.equal(refused.status, 10, refused.stderr);
    assert.equal(remoteHead(remote, BRANCH), pushed, 'the branch was deleted, and GitHub closed its pull request unmarked');
    assert.match(refused.stderr, /marking pull request #1 as superseded/);
    assert.equal(api.pulls[0]!.state, 'open');
    assert.deepEqual(api.comments, []);
    const next = await run(both);
    assert.equal(next.status, 0, next.stderr);
    assert.equal(remoteHead(remote, BRANCH), '');
    assert.equal(api.pulls[0]!.state, 'closed');
    assert.ok(api.pulls[0]!.body.startsWith('<!-- ztmap: closed as superseded -->'));
    assert.equal(api.comments.length, 1);
    // The traffic drops again: day 2's proposal is proposed again, not taken for a person's "no".
    const again = await run(day2);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /pull request #2 opened/);
  });

  it('does not delete a branch that is the head of a pull request into another base', async function () {
    this.timeout(240_000);
    const { remote, run } = await holding();
    assert.equal((await run(day2)).status, 0);
    api.pulls.push({ ...api.pulls[0]!, number: 2, base: 'release', title: 'into release' });
    const back = await run(both);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stderr, /open pull requests into other bases \(#2 into release\), which deleting it would close; ztmap leaves the branch/);
    assert.notEqual(remoteHead(remote, BRANCH), '');
    assert.deepEqual(api.pulls.map((p) => p.state), ['open', 'open']);
  });

  it('in a shallow clone without --push, leaves a branch it cannot decide, and exits 0', async function () {
    this.timeout(240_000);
    const { remote } = repoWith({});
    const clone = join(tempDir('ztmap-pr-clone-'), 'gitops');
    git(tempDir(), 'clone', '--quiet', '--depth', '1', `file://${remote}`, clone);
    const run = (p: string, branch: string) => ztmapAsync(['pr', '--repo', clone, '--proposal', p, '--author', BOT, '--branch', branch], { env: GIT_ENV });
    // ztmap's branch proposes both days; main then takes day 2's proposal (another branch, merged).
    assert.equal((await run(both, BRANCH)).status, 0);
    assert.equal((await run(day2, 'ztmap/day2')).status, 0);
    git(clone, 'merge', '--quiet', '--ff-only', 'ztmap/day2');
    const r = await run(day2, BRANCH);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /nothing to propose/);
    assert.match(r.stderr, /ztmap\/policies \([0-9a-f]{12}\) is left as it is: in this shallow clone ztmap cannot tell/);
    assert.notEqual(git(clone, 'branch', '--list', BRANCH).trim(), '');
  });

  it('says of a person’s branch only that it holds their commits, and leaves it', async function () {
    this.timeout(240_000);
    const { repo } = repoWith({});
    git(repo, 'checkout', '--quiet', '-b', 'alice/wip');
    writeFileSync(join(repo, 'notes.md'), 'work in progress\n');
    git(repo, 'add', 'notes.md');
    git(repo, 'commit', '--quiet', '-m', 'alice works');
    git(repo, 'checkout', '--quiet', 'main');
    // Nothing to propose: main with day2 merged.
    const made = await ztmapAsync(['pr', '--repo', repo, '--proposal', day2, '--author', BOT], { env: GIT_ENV });
    assert.equal(made.status, 0, made.stderr);
    git(repo, 'merge', '--quiet', '--ff-only', BRANCH);
    const left = await ztmapAsync(['pr', '--repo', repo, '--proposal', day2, '--author', BOT, '--branch', 'alice/wip'], { env: GIT_ENV });
    assert.equal(left.status, 0, left.stderr);
    assert.match(left.stderr, /alice\/wip \([0-9a-f]{12}\) holds commits ztmap did not make; ztmap leaves it as it is\./);
    assert.doesNotMatch(left.stderr, /no longer needs|delete the branch/);
    assert.notEqual(git(repo, 'branch', '--list', 'alice/wip').trim(), '');
  });
});
