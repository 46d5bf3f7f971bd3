// @e2e: `ztmap pr` never discards someone's work on its branch, never follows a symbolic link
// out of the policies directory, never prints a token in a remote's URL, and finds the remote's
// branch missing in any language (the reviewer's cases of issue 16, in temporary repositories).
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ztmap, tempDir } from '../support/cli.js';
import { git, GIT_ENV, proposal, repoWith, treeFiles } from '../support/git-repo.js';
import { FIXTURES } from '../support/paths.js';

const BRANCH = 'ztmap/policies';


const pr = (args: string[], env: Record<string, string> = GIT_ENV) => ztmap(['pr', ...args], { env });
type Run = ReturnType<typeof pr>;

describe('ztmap pr: other people’s work and hostile settings @e2e', () => {
  let day1: string;
  let both: string;
  const runs: Record<string, Run> = {};
  const heads: Record<string, string> = {};
  let local: { repo: string; remote: string };
  let pushed: { repo: string; remote: string };
  let linked: { repo: string; remote: string };
  before(function () {
    // Spawns ztmap and git many times: minutes on a busy machine.
    this.timeout(300_000);
    day1 = proposal(join(FIXTURES, 'bookinfo', 'logs'));
    both = proposal(join(FIXTURES, 'bookinfo', 'logs'), join(FIXTURES, 'bookinfo-day2', 'logs'));

    // A colleague's commit on ztmap's branch, checked out in a second work tree, then not.
    local = repoWith({});
    runs['first'] = pr(['--repo', local.repo, '--proposal', day1]);
    const wt = join(tempDir('ztmap-pr-wt-'), 'wt');
    git(local.repo, 'worktree', 'add', '--quiet', wt, BRANCH);
    writeFileSync(join(wt, 'NOTE.md'), 'a colleague was here\n');
    git(wt, 'add', 'NOTE.md');
    git(wt, 'commit', '--quiet', '-m', 'a colleague’s commit');
    heads['colleague'] = git(wt, 'rev-parse', 'HEAD').trim();
    runs['worktree'] = pr(['--repo', local.repo, '--proposal', both]);
    git(local.repo, 'worktree', 'remove', '--force', wt);
    runs['foreign local'] = pr(['--repo', local.repo, '--proposal', both]);

    // The first push of a branch in another language, then a reviewer's commits on the remote.
    pushed = repoWith({});
    runs['first push, German'] = pr(['--repo', pushed.repo, '--proposal', day1, '--push', 'origin'], { ...GIT_ENV, LC_ALL: 'C.UTF-8', LANGUAGE: 'de' });
    const reviewer = tempDir('ztmap-pr-reviewer-');
    git(reviewer, 'clone', '--quiet', '--branch', BRANCH, pushed.remote, '.');
    git(reviewer, 'config', 'user.name', 'Reviewer');
    git(reviewer, 'config', 'user.email', 'reviewer@example.com');
    git(reviewer, 'commit', '--quiet', '--allow-empty', '-m', 'review: keep ratings closed');
    git(reviewer, 'push', '--quiet', 'origin', BRANCH);
    heads['reviewer'] = git(reviewer, 'rev-parse', 'HEAD').trim();
    runs['foreign remote'] = pr(['--repo', pushed.repo, '--proposal', both, '--push', 'origin']);

    // A token in a --push URL.
    runs['token url'] = pr(['--repo', pushed.repo, '--proposal', both, '--push', 'https://x-access-token:ghp_sEcReT0123456789@127.0.0.1:9/acme/gitops.git']);

    // The policies directory is a symbolic link.
    linked = repoWith({ 'clusters/prod/policies/README.md': 'policies\n' });
    symlinkSync('clusters/prod/policies', join(linked.repo, 'policies'));
    git(linked.repo, 'add', '-A');
    git(linked.repo, 'commit', '--quiet', '-m', 'policies is a link');
    runs['linked'] = pr(['--repo', linked.repo, '--proposal', day1]);
  });

  it('refuses to move a branch checked out in another work tree, or holding a commit ztmap did not make: exit 10', () => {
    assert.equal(runs['first']!.status, 0, runs['first']!.stderr);
    assert.equal(runs['worktree']!.status, 10, runs['worktree']!.stderr);
    assert.match(runs['worktree']!.stderr, /is checked out in .*wt/);
    assert.equal(runs['foreign local']!.status, 10, runs['foreign local']!.stderr);
    assert.match(runs['foreign local']!.stderr, /holds commits ztmap did not make/);
    assert.equal(git(local.repo, 'rev-parse', BRANCH).trim(), heads['colleague']);
  });

  it("refuses to push over a reviewer's commits on the remote: exit 10, their commits kept", () => {
    assert.equal(runs['first push, German']!.status, 0, runs['first push, German']!.stderr);
    assert.equal(runs['foreign remote']!.status, 10, runs['foreign remote']!.stderr);
    assert.match(runs['foreign remote']!.stderr, /on origin holds commits ztmap did not make/);
    assert.equal(git(pushed.remote, 'rev-parse', BRANCH).trim(), heads['reviewer']);
  });

  it('refuses a --push URL with credentials, and never prints them', () => {
    const r = runs['token url']!;
    assert.equal(r.status, 2, r.stderr);
    assert.ok(!(r.stderr + r.stdout).includes('sEcReT'), r.stderr);
    assert.match(r.stderr, /carries credentials/);
  });

  it('never writes through a policies directory that is a symbolic link: exit 2, the link kept', () => {
    const r = runs['linked']!;
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /is a symbolic link/);
    assert.equal(git(linked.repo, 'branch', '--list', BRANCH), '');
    assert.ok(treeFiles(linked.repo, 'main').includes('policies'));
  });
});
