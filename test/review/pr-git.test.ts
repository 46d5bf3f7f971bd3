// review/git.ts against real repositories in temporary folders: a path an index line cannot
// carry, or that goes through a symbolic link or a submodule, is never written; a commit is
// ztmap's only with its trailer, one parent on the base and its own tree; a URL's credentials
// are never printed.
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/errors.js';
import { GitRepo, withoutCredentials } from '../../src/review/git.js';
import { git, GIT_ENV, repoWith, show } from '../support/git-repo.js';

const ENV = { PATH: process.env['PATH'] ?? '', ...GIT_ENV };
const AUTHOR = { name: 'Bot', email: 'bot@example.com' };

describe('review/git: what ztmap writes into a repository', () => {
  let repo: string;
  let g: GitRepo;
  let base: string;
  before(async () => {
    ({ repo } = repoWith({ '.github/workflows/ci.yaml': 'name: ci\n', 'policies/default/team.yaml': 'kind: AuthorizationPolicy\n', 'shared/default.yaml': 'a: 1\n' }));
    symlinkSync('../shared/default.yaml', join(repo, 'policies', 'default.yaml'));
    symlinkSync('shared', join(repo, 'linked'));
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'links');
    g = await GitRepo.open(repo, ENV);
    base = (await g.commitOf('main'))!;
  });

  it('refuses a path with a line break, a quote, `..` or `.git`: no index line is injected', async () => {
    for (const path of ['policies/evil\n0 0000000000000000000000000000000000000000\t.github/workflows/ci.yaml', 'policies/../.github/workflows/deploy.yaml', '"policies/x.yaml', 'policies/.git/hooks/post-checkout', 'policies/.GIT/config']) {
      await assert.rejects(g.commit({ parent: base, writes: [{ path, text: 'x: 1\n' }], message: 'm', author: AUTHOR }), InputError, JSON.stringify(path));
    }
    assert.equal(show(repo, 'main', '.github/workflows/ci.yaml'), 'name: ci\n');
  });

  it('never writes through or onto a symbolic link', async () => {
    await assert.rejects(g.commit({ parent: base, writes: [{ path: 'policies/default.yaml', text: 'x: 1\n' }], message: 'm', author: AUTHOR }), InputError);
    await assert.rejects(g.commit({ parent: base, writes: [{ path: 'linked/p.yaml', text: 'x: 1\n' }], message: 'm', author: AUTHOR }), InputError);
    const files = await g.files(base, 'policies');
    assert.equal(files.find((f) => f.path === 'policies/default.yaml')?.mode, '120000');
  });

  it("knows its own commits: one parent on the base, its trailer naming its tree", async () => {
    const mine = (await g.commit({ parent: base, writes: [{ path: 'policies/p.yaml', text: 'x: 1\n' }], message: 'ztmap: p\n', author: AUTHOR }))!;
    assert.equal(await g.ztmapCommit(mine, base), true);
    git(repo, 'branch', 'colleague', mine);
    git(repo, 'checkout', '--quiet', 'colleague');
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', 'a colleague’s fix');
    const theirs = git(repo, 'rev-parse', 'HEAD').trim();
    git(repo, 'commit', '--quiet', '--amend', '--allow-empty', '-m', 'amended');
    git(repo, 'checkout', '--quiet', 'main');
    assert.equal(await g.ztmapCommit(theirs, base), false);
    // The same message and trailer on another tree is no longer ztmap's.
    git(repo, 'checkout', '--quiet', '-B', 'amend', mine);
    git(repo, 'commit', '--quiet', '--amend', '--allow-empty', '-C', 'HEAD');
    const amendedSameTree = git(repo, 'rev-parse', 'HEAD').trim();
    git(repo, 'rm', '--quiet', 'README.md');
    git(repo, 'commit', '--quiet', '--amend', '-C', 'HEAD');
    const amendedOtherTree = git(repo, 'rev-parse', 'HEAD').trim();
    git(repo, 'checkout', '--quiet', 'main');
    assert.equal(await g.ztmapCommit(amendedSameTree, base), true);
    assert.equal(await g.ztmapCommit(amendedOtherTree, base), false);
    assert.equal(await g.ztmapCommit(base, base), false);
  });

  it('strips credentials from URLs', () => {
    assert.equal(withoutCredentials('https://x-access-token:ghp_secret@github.com/acme/gitops.git failed'), 'https://***@github.com/acme/gitops.git failed');
    assert.equal(withoutCredentials('origin'), 'origin');
  });
});
