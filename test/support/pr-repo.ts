// The setting of the `ztmap pr` e2e tests: a repository whose main already holds a proposal
// (one merged), pushed to its bare remote, the GitHub REST double on that remote, and a run of
// the real binary against both.
import { GIT_ENV, repoHolding } from './git-repo.js';
import { GitHubApiDouble, ztmapAsync, type AsyncRun } from './github-api.js';

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
