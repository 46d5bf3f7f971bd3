// The setting of the `ztmap pr` e2e tests: a repository whose main already holds a proposal
// (one merged), pushed to its bare remote, the GitHub REST double on that remote, and a run of
// the real binary against both.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GIT_ENV, proposal, repoHolding } from './git-repo.js';
import { GitHubApiDouble, ztmapAsync, type AsyncRun } from './github-api.js';
import { FIXTURES } from './paths.js';

export interface PrRepo {
  repo: string;
  remote: string;
  api: GitHubApiDouble;
  /** `ztmap pr` of proposal `p`, pushing to the remote and talking to the double. */
  run: (p: string, ...more: string[]) => Promise<AsyncRun>;
}

export async function prRepoHolding(merged: string, o: { token: string; author: string }): Promise<PrRepo> {
  const r = await repoHolding(merged, o.author);
  const api = await GitHubApiDouble.start({ token: o.token, repositories: ['acme/gitops'], remote: r.remote });
  const run = (p: string, ...more: string[]) =>
    ztmapAsync(['pr', '--repo', r.repo, '--proposal', p, '--push', 'origin', '--author', o.author, '--github-repo', 'acme/gitops', '--api-url', api.url, ...more], { env: { ...GIT_ENV, GITHUB_TOKEN: o.token } });
  return { ...r, api, run };
}

/**
 * The two Bookinfo proposals the pr tests move between: `both` (both days' traffic, the one
 * merged into main) and `day2` (day 2 alone, which denies what only day 1 saw). Each spawns
 * ztmap twice: call it in a `before` hook with minutes of timeout.
 */
export function bookinfoProposals(): { both: string; day2: string } {
  return { both: proposal(join(FIXTURES, 'bookinfo', 'logs'), join(FIXTURES, 'bookinfo-day2', 'logs')), day2: proposal(join(FIXTURES, 'bookinfo-day2', 'logs')) };
}

/** After a test: the double saw only requests of GitHub's REST shapes, and is closed. */
export async function closeChecked(api: GitHubApiDouble | undefined): Promise<void> {
  if (api === undefined) return;
  api.onRequest = undefined;
  assert.deepEqual(api.violations, []);
  await api.close();
}
