// review/github.ts against the GitHub REST double (test/support/github-api.ts), which checks
// each request against the documented shape: open, update, leave as it is, the 422 of a pull
// request opened meanwhile, and GitHub's refusals as RemoteErrors that say what to do.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ConfigError, RemoteError } from '../../src/errors.js';
import { GitHubRepository } from '../../src/review/github.js';
import { git, GIT_ENV, repoWith } from '../support/git-repo.js';
import { GitHubApiDouble } from '../support/github-api.js';

const TOKEN = 'ghp_test0123456789abcdefghijklmnopqrstuv';
const PR = { head: 'ztmap/policies', base: 'main', title: 'ztmap: policies', body: 'first body' };

describe('review/github: the pull request through the REST API', () => {
  let api: GitHubApiDouble;
  let gh: GitHubRepository;
  beforeEach(async () => {
    api = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'] });
    gh = new GitHubRepository({ repository: 'acme/gitops', token: TOKEN, apiUrl: api.url, userAgent: 'ztmap-test' });
  });
  afterEach(async () => {
    assert.deepEqual(api.violations, []);
    await api.close();
  });

  const failure = async (p: Promise<unknown>): Promise<RemoteError> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof RemoteError, String(err));
      return err;
    }
    assert.fail('expected a RemoteError');
  };

  it('opens one, updates it when the body changes, and leaves it when nothing changed', async () => {
    assert.deepEqual(await gh.openOrUpdate(PR), { number: 1, url: 'https://github.example/acme/gitops/pull/1', action: 'opened' });
    assert.deepEqual(api.requests.map((r) => `${r.method} ${r.path}`), ['GET /repos/acme/gitops', 'GET /repos/acme/gitops/pulls', 'POST /repos/acme/gitops/pulls']);
    assert.deepEqual(api.requests[1]!.query, { head: 'acme:ztmap/policies', base: 'main', state: 'all', sort: 'created', direction: 'desc', per_page: '100' });
    assert.deepEqual(api.requests[2]!.body, { head: 'ztmap/policies', base: 'main', title: PR.title, body: PR.body });
    assert.match(String(api.requests[0]!.headers.authorization), /^token ghp_/);

    assert.equal((await gh.openOrUpdate({ ...PR, body: 'second body' })).action, 'updated');
    const patch = api.requests[api.requests.length - 1]!;
    assert.equal(`${patch.method} ${patch.path}`, 'PATCH /repos/acme/gitops/pulls/1');
    assert.deepEqual(patch.body, { title: PR.title, body: 'second body' });

    const writes = api.writes.length;
    assert.equal((await gh.openOrUpdate({ ...PR, body: 'second body' })).action, 'unchanged');
    assert.equal(api.writes.length, writes);
    assert.equal(api.pulls.length, 1);
  });

  it('updates the open one when the create answers 422 "already exists"', async () => {
    await gh.openOrUpdate(PR);
    api.faults.push({ kind: 'hide-open-pulls' });
    const r = await gh.openOrUpdate({ ...PR, body: 'after the race' });
    assert.deepEqual(r, { number: 1, url: 'https://github.example/acme/gitops/pull/1', action: 'updated' });
    assert.deepEqual(api.writes.map((w) => w.method), ['POST', 'POST', 'PATCH']);
    assert.equal(api.pulls[0]!.body, 'after the race');
  });

  it('401: the token was refused', async () => {
    api.faults.push({ kind: 'bad-credentials' });
    const e = await failure(gh.openOrUpdate(PR));
    assert.equal(e.status, 401);
    assert.match(e.message, /bad credentials/i);
    assert.ok(!e.message.includes(TOKEN));
    assert.equal(api.writes.length, 0);
  });

  it('403 with x-ratelimit-remaining 0: rate limited until the reset time', async () => {
    api.faults.push({ kind: 'primary-rate-limit', status: 403 });
    const e = await failure(gh.openOrUpdate(PR));
    assert.equal(e.status, 403);
    assert.equal(e.retriable, true);
    assert.equal(e.retryAt?.getTime(), api.reset * 1000);
    assert.ok(e.message.includes(new Date(api.reset * 1000).toISOString()), e.message);
  });

  for (const status of [429, 403] as const) {
    it(`${status} secondary rate limit: try again after retry-after`, async () => {
      api.faults.push({ kind: 'secondary-rate-limit', status, retryAfter: 120 });
      const before = Date.now();
      const e = await failure(gh.openOrUpdate(PR));
      assert.equal(e.status, status);
      assert.match(e.message, /secondary rate limit/);
      const wait = e.retryAt!.getTime() - before;
      assert.ok(wait >= 119_000 && wait <= 125_000, String(wait));
    });
  }

  it('403 without a rate limit: the token lacks permission', async () => {
    api.faults.push({ kind: 'forbidden' });
    const e = await failure(gh.openOrUpdate(PR));
    assert.equal(e.status, 403);
    assert.equal(e.retriable, false);
    assert.match(e.message, /pull-requests: write/);
  });

  it('404: the repository is missing or the token cannot see it', async () => {
    const other = new GitHubRepository({ repository: 'acme/missing', token: TOKEN, apiUrl: api.url, userAgent: 'ztmap-test' });
    const e = await failure(other.openOrUpdate(PR));
    assert.equal(e.status, 404);
    assert.match(e.message, /acme\/missing not found, or the token cannot see it/);
  });

  it('GitHub Enterprise Server: the same calls under /api/v3', async () => {
    const ghe = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'], prefix: '/api/v3' });
    try {
      const r = await new GitHubRepository({ repository: 'acme/gitops', token: TOKEN, apiUrl: ghe.url, userAgent: 'ztmap-test' }).openOrUpdate(PR);
      assert.equal(r.action, 'opened');
      assert.deepEqual(ghe.requests.map((x) => `${x.method} ${x.path}`), ['GET /api/v3/repos/acme/gitops', 'GET /api/v3/repos/acme/gitops/pulls', 'POST /api/v3/repos/acme/gitops/pulls']);
      assert.deepEqual(ghe.violations, []);
    } finally {
      await ghe.close();
    }
  });

  it('closes a superseded pull request with a comment, and that closing does not hold back the next one', async () => {
    assert.equal(await gh.closeSuperseded({ head: PR.head, base: PR.base, comment: 'why' }), undefined);
    await gh.openOrUpdate(PR);
    const before = api.writes.length;
    assert.deepEqual(await gh.closeSuperseded({ head: PR.head, base: PR.base, comment: 'main already holds it' }), { number: 1, url: 'https://github.example/acme/gitops/pull/1', action: 'closed' });
    assert.deepEqual(api.writes.slice(before).map((w) => `${w.method} ${w.path}`), ['POST /repos/acme/gitops/issues/1/comments', 'PATCH /repos/acme/gitops/pulls/1']);
    assert.deepEqual(api.comments, [{ issue: 1, body: 'main already holds it' }]);
    assert.equal(api.pulls[0]!.state, 'closed');
    // Not a person's decision: the same proposal later is opened again.
    assert.equal((await gh.openOrUpdate(PR)).action, 'opened');
    assert.equal(api.pulls.length, 2);
  });

  it('refuses an API URL with credentials, and never says them', () => {
    assert.throws(
      () => new GitHubRepository({ repository: 'acme/gitops', token: TOKEN, apiUrl: 'http://user:s3cretpw@127.0.0.1:18081', userAgent: 'ztmap-test' }),
      (e: unknown) => e instanceof ConfigError && !e.message.includes('s3cretpw') && e.message.includes('http://***@127.0.0.1:18081'),
    );
  });

  it('an API that does not answer is a retriable RemoteError', async () => {
    const closed = await GitHubApiDouble.start({ token: TOKEN, repositories: [] });
    const url = closed.url;
    await closed.close();
    const e = await failure(new GitHubRepository({ repository: 'acme/gitops', token: TOKEN, apiUrl: url, userAgent: 'ztmap-test' }).openOrUpdate(PR));
    assert.equal(e.retriable, true);
    assert.match(e.message, /did not answer/);
  });
});

describe('review/github: a pull request a person closed, then deleted its branch', () => {
  let api: GitHubApiDouble;
  let gh: GitHubRepository;
  let repo: string;
  let remote: string;
  const gitWith = (input: string, ...args: string[]) => execFileSync('git', args, { cwd: repo, input, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...GIT_ENV } }).trim();
  /** A commit on main whose tree holds p.yaml with `text`, pushed as ztmap's branch: its sha and tree. */
  const push = (message: string, text: string): { sha: string; tree: string } => {
    const blob = gitWith(text, 'hash-object', '-w', '--stdin');
    const tree = gitWith(`100644 blob ${blob}\tp.yaml\n`, 'mktree');
    const sha = git(repo, 'commit-tree', tree, '-p', 'main', '-m', message).trim();
    git(repo, 'push', '--quiet', '--force', 'origin', `${sha}:refs/heads/${PR.head}`);
    return { sha, tree };
  };
  before(async () => {
    ({ repo, remote } = repoWith({}));
    api = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'], remote });
    gh = new GitHubRepository({ repository: 'acme/gitops', token: TOKEN, apiUrl: api.url, userAgent: 'ztmap-test' });
  });
  after(async () => {
    assert.deepEqual(api.violations, []);
    await api.close();
  });

  it('stays closed for a new commit with the same tree, and a different tree opens a new one', async () => {
    const first = push('ztmap: day 1', 'a: 1\n');
    assert.equal((await gh.openOrUpdate({ ...PR, ...first })).action, 'opened');
    api.pulls[0]!.state = 'closed';
    git(remote, 'update-ref', '-d', `refs/heads/${PR.head}`);
    const again = push('ztmap: day 2, same traffic', 'a: 1\n');
    assert.notEqual(again.sha, first.sha);
    assert.equal(again.tree, first.tree);
    assert.equal((await gh.openOrUpdate({ ...PR, ...again })).action, 'left closed');
    assert.ok(api.requests.some((r) => r.path === `/repos/acme/gitops/git/commits/${first.sha}`));
    const other = push('ztmap: day 3, new traffic', 'a: 2\n');
    assert.equal((await gh.openOrUpdate({ ...PR, ...other })).action, 'opened');
    assert.equal(api.pulls.length, 2);
  });
});
