// review/github.ts against the GitHub REST double (test/support/github-api.ts), which checks
// each request against the documented shape: open, update, leave as it is, the 422 of a pull
// request opened meanwhile, and GitHub's refusals as RemoteErrors that say what to do.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ConfigError, RemoteError } from '../../src/errors.js';
import { checkApiUrl, GitHubRepository } from '../../src/review/github.js';
import { GitRepo } from '../../src/review/git.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
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

  it('closes a superseded pull request, then comments, and that closing does not hold back the next one', async () => {
    assert.deepEqual(await gh.openFrom(PR.head), []);
    await gh.openOrUpdate(PR);
    const before = api.writes.length;
    const [open] = await gh.openFrom(PR.head);
    assert.deepEqual({ ...open!, sha: '' }, { number: 1, url: 'https://github.example/acme/gitops/pull/1', base: PR.base, sha: '', body: PR.body });
    assert.deepEqual(await gh.closeSuperseded(open!, 'main already holds it'), { number: 1, url: 'https://github.example/acme/gitops/pull/1', action: 'closed' });
    // Closed first, then the comment: a close GitHub refuses posts no comment.
    assert.deepEqual(api.writes.slice(before).map((w) => `${w.method} ${w.path}`), ['PATCH /repos/acme/gitops/pulls/1', 'POST /repos/acme/gitops/issues/1/comments']);
    assert.deepEqual(api.comments, [{ issue: 1, body: 'main already holds it' }]);
    assert.equal(api.pulls[0]!.state, 'closed');
    // Not a person's decision: the same proposal later is opened again.
    assert.equal((await gh.openOrUpdate(PR)).action, 'opened');
    assert.equal(api.pulls.length, 2);
  });

  it('refuses an API URL that is not http(s), or has credentials, a query or a fragment, and never prints the secret', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9_-]{6,24}$/).map((s) => `SECRET${s}`);
    const form = fc.constantFrom(
      (s: string) => `http:/u:${s}@127.0.0.1:9/api`,
      (s: string) => `http:\\\\u:${s}@127.0.0.1:9/api`,
      (s: string) => `http:u:${s}@127.0.0.1:9/api`,
      (s: string) => `https:///u:${s}@127.0.0.1:9/api`,
      (s: string) => `u:${s}@127.0.0.1:9/api/v3`,
      (s: string) => `//u:${s}@127.0.0.1:9/api`,
      (s: string) => `https://${s}@ghe.example/api/v3`,
      (s: string) => `https://x-access-token:${s}@ghe.example/api/v3`,
      (s: string) => `http://127.0.0.1:9/api?access_token=${s}`,
      (s: string) => `https://ghe.example/api/v3#${s}`,
      (s: string) => `ftp://u:${s}@ghe.example/api`,
      (s: string) => `${s}:x@ghe.example`,
      (s: string) => ` https://u:${s}@ghe.example/`,
    );
    fc.assert(
      fc.property(secret, form, (s, f) => {
        let message: string | undefined;
        try {
          checkApiUrl(f(s));
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
          message = e.message;
        }
        assert.ok(message !== undefined, `${f(s)} was accepted`);
        assert.ok(!message.includes(s), message);
      }),
    );
    for (const ok of ['https://api.github.com', 'https://ghe.example/api/v3/', 'http://127.0.0.1:9/api/v3']) checkApiUrl(ok);
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
  let local: GitRepo;
  /** A commit on main adding p.yaml with `text`, pushed as ztmap's branch. */
  const push = (message: string, text: string): string => {
    git(repo, 'checkout', '--quiet', '-B', 'work', 'main');
    writeFileSync(join(repo, 'p.yaml'), text);
    git(repo, 'add', 'p.yaml');
    git(repo, 'commit', '--quiet', '-m', message);
    const sha = git(repo, 'rev-parse', 'HEAD').trim();
    git(repo, 'checkout', '--quiet', 'main');
    git(repo, 'push', '--quiet', '--force', 'origin', `${sha}:refs/heads/${PR.head}`);
    return sha;
  };
  /** As `ztmap pr` compares: what the closed pull request's commit changes (fetched as refs/pull/N/head) against what `sha` changes. */
  const sameAs = (sha: string) => async (closed: { number: number; sha: string }) => closed.sha === sha || ((await local.fetchPull('origin', closed.number, closed.sha)) && (await local.changeOf(closed.sha)) === (await local.changeOf(sha)));
  before(async () => {
    ({ repo, remote } = repoWith({}));
    api = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'], remote });
    gh = new GitHubRepository({ repository: 'acme/gitops', token: TOKEN, apiUrl: api.url, userAgent: 'ztmap-test' });
    local = await GitRepo.open(repo, { PATH: process.env['PATH'] ?? '', ...GIT_ENV });
  });
  after(async () => {
    assert.deepEqual(api.violations, []);
    await api.close();
  });

  it('stays closed for the same change after main moved, and a different change opens a new one', async () => {
    const first = push('ztmap: day 1', 'a: 1\n');
    assert.equal((await gh.openOrUpdate({ ...PR, same: sameAs(first) })).action, 'opened');
    api.pulls[0]!.state = 'closed';
    git(remote, 'update-ref', '-d', `refs/heads/${PR.head}`);
    // Someone commits something unrelated to main: the repository's tree changes, the proposal does not.
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', 'unrelated');
    writeFileSync(join(repo, 'README.md'), '# policies, and more\n');
    git(repo, 'commit', '--quiet', '-am', 'unrelated readme');
    git(repo, 'push', '--quiet', 'origin', 'main');
    const again = push('ztmap: day 2, same traffic', 'a: 1\n');
    assert.notEqual(git(repo, 'rev-parse', `${again}^{tree}`), git(repo, 'rev-parse', `${first}^{tree}`));
    assert.equal((await gh.openOrUpdate({ ...PR, same: sameAs(again) })).action, 'left closed');
    const other = push('ztmap: day 3, new traffic', 'a: 2\n');
    assert.equal((await gh.openOrUpdate({ ...PR, same: sameAs(other) })).action, 'opened');
    assert.equal(api.pulls.length, 2);
  });
});
