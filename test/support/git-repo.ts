// Real git repositories in temporary folders for `ztmap pr`'s tests: a work tree with a local
// identity and `main` as its first branch, and a bare repository as its remote. Git runs with
// neither the machine's nor the user's configuration, so a signing or hook setting there
// cannot change what the tests see.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir, ztmap } from './cli.js';
import { ztmapAsync } from './github-api.js';
import { FIXTURES } from './paths.js';

/** The Bookinfo fixtures' inventory, which the pr tests' proposals are made with. */
export const BOOKINFO_INVENTORY = join(FIXTURES, 'bookinfo', 'inventory.json');

/** observe + propose on `logs` with the Bookinfo inventory: the policies directory. */
export function proposal(...logs: string[]): string {
  const out = tempDir('ztmap-pr-proposal-');
  const o = ztmap(['observe', '-q', '-i', BOOKINFO_INVENTORY, '-o', out, ...logs]);
  assert.ok(o.status === 0 || o.status === 4, o.stderr);
  const p = ztmap(['propose', '-q', '-g', join(out, 'graph.json'), '-i', BOOKINFO_INVENTORY, '-o', out]);
  assert.ok(p.status === 0 || p.status === 5, p.stderr);
  return join(out, 'policies');
}

/** The environment every git (and ztmap pr) of the tests runs in. */
export const GIT_ENV: Record<string, string> = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent', LC_ALL: 'C' };

export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, env: { PATH: process.env['PATH'] ?? '', ...GIT_ENV }, encoding: 'utf8' });
}

/** A work tree with `files` committed on main, and a bare remote `origin` holding main. */
export function repoWith(files: Record<string, string>): { repo: string; remote: string } {
  const repo = tempDir('ztmap-pr-repo-');
  const remote = tempDir('ztmap-pr-remote-');
  git(remote, '-c', 'init.defaultBranch=main', 'init', '--quiet', '--bare');
  git(repo, '-c', 'init.defaultBranch=main', 'init', '--quiet');
  git(repo, 'config', 'user.name', 'Policy Owner');
  git(repo, 'config', 'user.email', 'owner@example.com');
  writeFiles(repo, { 'README.md': '# policies\n', ...files });
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'policies as the team keeps them');
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'push', '--quiet', 'origin', 'main');
  return { repo, remote };
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** `path`'s bytes in `ref`, or undefined when the ref has no such file. */
export function show(repo: string, ref: string, path: string): string | undefined {
  try {
    return execFileSync('git', ['show', `${ref}:${path}`], { cwd: repo, env: { PATH: process.env['PATH'] ?? '', ...GIT_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** Every file path in `ref`'s tree. */
export function treeFiles(repo: string, ref: string): string[] {
  return git(repo, 'ls-tree', '-r', '--name-only', ref).split('\n').filter((l) => l !== '');
}

/**
 * A repository whose main already holds `policies` (a proposal made by `ztmap pr` as `author`,
 * merged and pushed), ztmap's branch gone locally and on the remote.
 */
export async function repoHolding(policies: string, author: string, branch = 'ztmap/policies'): Promise<{ repo: string; remote: string }> {
  const r = repoWith({});
  const made = await ztmapAsync(['pr', '--repo', r.repo, '--proposal', policies, '--push', 'origin', '--author', author], { env: GIT_ENV });
  assert.equal(made.status, 0, made.stderr);
  git(r.repo, 'merge', '--quiet', '--ff-only', branch);
  git(r.repo, 'push', '--quiet', 'origin', 'main');
  git(r.repo, 'branch', '--quiet', '-D', branch);
  git(r.repo, 'push', '--quiet', 'origin', '--delete', branch);
  return r;
}

/** The commit `branch` is at on the bare `remote`, or '' when it has no such branch. */
export const remoteHead = (remote: string, branch: string): string => git(remote, 'for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`).trim();
