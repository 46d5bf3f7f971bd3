// review/git.ts in a shallow clone (actions/checkout's default fetch-depth: 1), made with a real
// `git clone --depth 1` of a file:// remote: once main has moved past the commit ztmap built its
// branch on, that commit is outside the clone's history, and ztmap fetches the history before
// deciding whether the branch is its own, instead of calling it someone's work.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { GitRepo } from '../../src/review/git.js';
import { tempDir } from '../support/cli.js';
import { git, GIT_ENV, repoWith } from '../support/git-repo.js';

const ENV = { PATH: process.env['PATH'] ?? '', ...GIT_ENV };
const AUTHOR = { name: 'Bot', email: 'bot@example.com' };
const BRANCH = 'ztmap/policies';

/** A `--depth 1` clone of `remote`'s main, as actions/checkout makes it. */
function shallowClone(remote: string): string {
  const dir = join(tempDir('ztmap-pr-shallow-'), 'clone');
  git(tempDir(), 'clone', '--quiet', '--depth', '1', `file://${remote}`, dir);
  return dir;
}

describe('review/git: ztmap’s branch seen from a shallow clone', () => {
  let remote: string;
  let mine: string;
  before(async () => {
    let repo: string;
    ({ repo, remote } = repoWith({ 'policies/a.yaml': 'a: 1\n' }));
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', 'second commit');
    git(repo, 'push', '--quiet', 'origin', 'main');
    // Day 1, from a shallow clone: ztmap's commit on main, pushed.
    const day1 = await GitRepo.open(shallowClone(remote), ENV);
    mine = (await day1.commit({ parent: (await day1.commitOf('main'))!, writes: [{ path: 'policies/p.yaml', text: 'x: 1\n' }], message: 'ztmap: p\n', author: AUTHOR }))!;
    await day1.setBranch(BRANCH, mine, undefined);
    await day1.push('origin', BRANCH, undefined);
    // main moves on: an unrelated commit.
    git(repo, 'pull', '--quiet', '--ff-only', 'origin', 'main');
    writeFileSync(join(repo, 'README.md'), '# policies, and more\n');
    git(repo, 'commit', '--quiet', '-am', 'unrelated');
    git(repo, 'push', '--quiet', 'origin', 'main');
  });

  it('fetches the history it needs and knows its own commit on an older base', async () => {
    const day2 = await GitRepo.open(shallowClone(remote), ENV);
    assert.equal(await day2.isShallow(), true);
    const head = await day2.fetchBranch('origin', BRANCH);
    assert.equal(head, mine);
    assert.equal(await day2.ztmapCommit(head, (await day2.commitOf('main'))!, 'origin'), true);
    assert.equal(await day2.isShallow(), false);
  });

  it('without a remote to fetch from, says to check out the history (fetch-depth: 0)', async () => {
    const day2 = await GitRepo.open(shallowClone(remote), ENV);
    const head = (await day2.fetchBranch('origin', BRANCH))!;
    await assert.rejects(day2.ztmapCommit(head, (await day2.commitOf('main'))!), (e: unknown) => e instanceof ConfigError && /fetch-depth: 0/.test(e.message));
  });
});
