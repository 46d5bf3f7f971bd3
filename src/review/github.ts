// Opening or updating the pull request through GitHub's REST API with @octokit/rest (github.com
// or GitHub Enterprise Server at its `/api/v3` base URL). GitHub's answers that a user can act
// on become RemoteErrors that say what to do: 401 (the token), 403 and 429 rate limits (until
// when), 403 without one (the token's permissions), 404 (the repository, or the token cannot
// see it). A 422 "A pull request already exists" is not an error: the open one is updated.
// A pull request a person closed stays closed while the proposal (the commit's tree) is the
// one they closed; one the base has caught up with is closed by ztmap, with a comment.
// Nothing here retries: a rate-limited scheduled job runs again at its next schedule, and the
// message says when GitHub will take requests again.

import { Octokit } from '@octokit/rest';
import { ConfigError, RemoteError } from '../errors.js';
import { printable } from '../text.js';
import { withoutCredentials } from './git.js';

export interface PullRequestRef {
  number: number;
  url: string;
  /**
   * What was done: opened, updated (title or body), left as it was, or left closed (a person
   * closed it unmerged, and the branch still holds what they closed).
   */
  action: 'opened' | 'updated' | 'unchanged' | 'left closed' | 'closed';
}

/**
 * The first line of the body of a pull request ztmap closed itself (superseded): an HTML comment,
 * invisible on GitHub. Such a pull request is not a person's decision, and does not keep a later
 * proposal from being opened.
 */
const SUPERSEDED = '<!-- ztmap: closed as superseded -->';

export interface GitHubOptions {
  /** `OWNER/NAME`. */
  repository: string;
  token: string;
  /** https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  apiUrl: string;
  userAgent: string;
}

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** `OWNER/NAME`, checked: GitHub's owner and repository name characters. */
function parseRepository(s: string): { owner: string; repo: string } | undefined {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\/([A-Za-z0-9._-]+)$/.exec(s);
  return m === null || m[2] === '.' || m[2] === '..' ? undefined : { owner: m[1]!, repo: m[2]! };
}

interface OpenPull {
  number: number;
  url: string;
  title: string;
  body: string;
}

/** The pull requests from a branch into a base: the open one, and the newest a person closed unmerged. */
export interface PullsFrom {
  open?: OpenPull;
  closed?: { number: number; url: string; sha: string };
}

/** One repository on GitHub, through one authenticated client. */
export class GitHubRepository {
  private readonly client: Octokit;
  private readonly owner: string;
  private readonly repo: string;

  constructor(private readonly o: GitHubOptions) {
    checkApiUrl(o.apiUrl);
    const r = parseRepository(o.repository);
    if (r === undefined) throw new RemoteError(`pr: --github-repo ${printable(o.repository)} is not OWNER/NAME.`, undefined);
    this.owner = r.owner;
    this.repo = r.repo;
    this.client = new Octokit({
      auth: o.token,
      baseUrl: o.apiUrl.replace(/\/+$/, ''),
      userAgent: o.userAgent,
      log: SILENT,
    });
    // GitHub's documented media type and the API version these calls were written against
    // (Octokit's default accept is the older application/vnd.github.v3+json).
    this.client.hook.before('request', (options) => {
      options.headers['accept'] = 'application/vnd.github+json';
      options.headers['x-github-api-version'] = '2022-11-28';
    });
  }

  /**
   * The open pull request from `head` into `base` with this title and body: opened, updated, or
   * left as it was when it already says this.
   */
  async openOrUpdate(p: { head: string; base: string; title: string; body: string; sha?: string; tree?: string }, found?: PullsFrom): Promise<PullRequestRef> {
    const pulls = found ?? (await this.pullsFrom(p.head, p.base));
    if (pulls.open !== undefined) return this.update(pulls.open, p);
    const closed = await this.closedOn(pulls, p);
    if (closed !== undefined) return closed;
    try {
      const created = await this.client.rest.pulls.create({ owner: this.owner, repo: this.repo, head: p.head, base: p.base, title: p.title, body: p.body });
      return { number: created.data.number, url: created.data.html_url, action: 'opened' };
    } catch (err) {
      // Opened by someone (or a run) between the search and the create: update that one.
      if (alreadyExists(err)) {
        const again = (await this.find(p.head, p.base)).open;
        if (again !== undefined) return this.update(again, p);
      }
      throw this.remoteError('opening the pull request', err);
    }
  }

  /** The repository (its 404 says the repository is missing), then its pull requests from `head` into `base`. */
  async pullsFrom(head: string, base: string): Promise<PullsFrom> {
    await this.call('reading the repository', () => this.client.rest.repos.get({ owner: this.owner, repo: this.repo }));
    return this.find(head, base);
  }

  /**
   * The pull request a person closed unmerged on this proposal (`sha`, or its `tree`), none
   * being open: their decision stands until the traffic changes the proposal.
   */
  async closedOn(pulls: PullsFrom, p: { sha?: string; tree?: string }): Promise<PullRequestRef | undefined> {
    if (pulls.open !== undefined || pulls.closed === undefined) return undefined;
    return (await this.sameProposal(pulls.closed.sha, p)) ? { number: pulls.closed.number, url: pulls.closed.url, action: 'left closed' } : undefined;
  }

  /**
   * Whether the commit a pull request was closed on holds the proposal of `p`: the same commit,
   * or the same tree. After the branch is deleted (GitHub's button beside "closed") each run
   * makes a new commit, with the same tree when the traffic has not changed; GitHub keeps the
   * closed pull request's commit (refs/pull/N/head), so its tree can be read.
   */
  private async sameProposal(closedSha: string, p: { sha?: string; tree?: string }): Promise<boolean> {
    if (p.sha !== undefined && closedSha === p.sha) return true;
    if (p.tree === undefined) return false;
    try {
      const c = await this.client.rest.git.getCommit({ owner: this.owner, repo: this.repo, commit_sha: closedSha });
      return c.data.tree.sha === p.tree;
    } catch (err) {
      // 404: GitHub no longer has the commit; then nothing says the proposal is the one closed.
      if (httpFailure(err)?.status === 404) return false;
      throw this.remoteError(`reading commit ${closedSha.slice(0, 12)} of a closed pull request`, err);
    }
  }

  /**
   * Closes the open pull request from `head` into `base`, with `comment` saying why, when the
   * base already holds what ztmap proposes now: merging the older proposal it carries would
   * undo that (deny traffic seen again, say). Undefined when none is open.
   */
  async closeSuperseded(p: { head: string; base: string; comment: string }): Promise<PullRequestRef | undefined> {
    const { open } = await this.find(p.head, p.base);
    if (open === undefined) return undefined;
    await this.call(`commenting on pull request #${open.number}`, () => this.client.rest.issues.createComment({ owner: this.owner, repo: this.repo, issue_number: open.number, body: p.comment }));
    const r = await this.call(`closing pull request #${open.number}`, () =>
      this.client.rest.pulls.update({ owner: this.owner, repo: this.repo, pull_number: open.number, state: 'closed', body: `${SUPERSEDED}\n${open.body}` }),
    );
    return { number: r.data.number, url: r.data.html_url, action: 'closed' };
  }

  /** The open pull request from `head`, and the newest one a person closed without merging. */
  private async find(head: string, base: string): Promise<PullsFrom> {
    const r = await this.call('listing pull requests', () =>
      this.client.rest.pulls.list({ owner: this.owner, repo: this.repo, head: `${this.owner}:${head}`, base, state: 'all', sort: 'created', direction: 'desc', per_page: 100 }),
    );
    const mine = r.data.filter((x) => x.head.ref === head).sort((a, b) => b.number - a.number);
    const open = mine.find((x) => x.state === 'open');
    const newest = mine[0];
    return {
      ...(open === undefined ? {} : { open: { number: open.number, url: open.html_url, title: open.title, body: open.body ?? '' } }),
      ...(newest === undefined || newest.state !== 'closed' || newest.merged_at !== null || (newest.body ?? '').startsWith(SUPERSEDED) ? {} : { closed: { number: newest.number, url: newest.html_url, sha: newest.head.sha } }),
    };
  }

  private async update(open: OpenPull, p: { title: string; body: string }): Promise<PullRequestRef> {
    if (open.title === p.title && open.body === p.body) return { number: open.number, url: open.url, action: 'unchanged' };
    const r = await this.call(`updating pull request #${open.number}`, () =>
      this.client.rest.pulls.update({ owner: this.owner, repo: this.repo, pull_number: open.number, title: p.title, body: p.body }),
    );
    return { number: r.data.number, url: r.data.html_url, action: 'updated' };
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw this.remoteError(what, err);
    }
  }

  private remoteError(what: string, err: unknown): RemoteError {
    const at = `pr: GitHub ${this.o.repository} (${withoutCredentials(this.o.apiUrl)}), ${what}`;
    return githubError(at, err, this.o.repository);
  }
}

/**
 * Refuses an API URL with a user or password in it: Octokit and fetch repeat the URL in their
 * errors, and ztmap would print it. The token goes in --token-env or --token-file.
 */
export function checkApiUrl(url: string): void {
  let credentials: boolean;
  try {
    const u = new URL(url);
    credentials = u.username !== '' || u.password !== '';
  } catch {
    credentials = withoutCredentials(url) !== url;
  }
  if (credentials) {
    throw new ConfigError(`pr: --api-url ${withoutCredentials(url)} carries credentials in its URL, which ztmap would print in its messages. Pass the URL without them, and the token in the environment variable --token-env names (or --token-file).`);
  }
}

interface HttpFailure {
  status: number;
  headers: Record<string, string | number | undefined>;
  message: string;
  details: string[];
}

/** Octokit's RequestError, read by shape (status, response headers and data). */
function httpFailure(err: unknown): HttpFailure | undefined {
  if (err === null || typeof err !== 'object' || typeof (err as { status?: unknown }).status !== 'number') return undefined;
  const e = err as { status: number; message?: string; response?: { headers?: Record<string, string | number | undefined>; data?: unknown } };
  const data = e.response?.data;
  const message = data !== null && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string' ? (data as { message: string }).message : (e.message ?? '');
  // A 422's reasons are in errors[].message ("body is too long (maximum is 65536 characters)").
  const errors = data !== null && typeof data === 'object' ? (data as { errors?: unknown }).errors : undefined;
  const details = Array.isArray(errors) ? errors.flatMap((x: unknown) => (typeof (x as { message?: unknown })?.message === 'string' ? [(x as { message: string }).message] : [])) : [];
  return { status: e.status, headers: e.response?.headers ?? {}, message, details };
}

function alreadyExists(err: unknown): boolean {
  const f = httpFailure(err);
  if (f === undefined || f.status !== 422) return false;
  const errors = (err as { response?: { data?: { errors?: unknown } } }).response?.data?.errors;
  return Array.isArray(errors) && errors.some((e: unknown) => typeof (e as { message?: unknown })?.message === 'string' && /pull request already exists/i.test((e as { message: string }).message));
}

const header = (h: HttpFailure['headers'], name: string) => {
  const v = h[name];
  return v === undefined ? undefined : String(v);
};

function githubError(at: string, err: unknown, repository: string): RemoteError {
  const f = httpFailure(err);
  if (f === undefined || f.status === 0 || f.status >= 500) {
    const cause = f === undefined ? (err instanceof Error ? err.message : String(err)) : `HTTP ${f.status} ${f.message}`;
    return new RemoteError(`${at}: the API did not answer (${printable(withoutCredentials(cause))}). Check --api-url and the network, and run again.`, f?.status, { retriable: true, cause: err });
  }
  const said = printable(withoutCredentials([f.message, ...f.details].join(': ')));
  const remaining = header(f.headers, 'x-ratelimit-remaining');
  const reset = header(f.headers, 'x-ratelimit-reset');
  const retryAfter = header(f.headers, 'retry-after');
  if (f.status === 429 || (f.status === 403 && (remaining === '0' || retryAfter !== undefined || /rate limit/i.test(f.message)))) {
    // retry-after (seconds) first, then the primary limit's reset (epoch seconds); otherwise GitHub advises a minute.
    const retryAt =
      retryAfter !== undefined && Number.isFinite(Number(retryAfter)) ? new Date(Date.now() + Number(retryAfter) * 1000)
      : remaining === '0' && reset !== undefined && Number.isFinite(Number(reset)) ? new Date(Number(reset) * 1000)
      : new Date(Date.now() + 60_000);
    const kind = remaining === '0' ? `the rate limit of ${header(f.headers, 'x-ratelimit-limit') ?? '?'} requests per hour${header(f.headers, 'x-ratelimit-resource') === undefined ? '' : ` (${printable(header(f.headers, 'x-ratelimit-resource')!)})`} is used up` : 'a secondary rate limit was hit';
    return new RemoteError(`${at}: rate limited (HTTP ${f.status}): ${kind} ("${said}"). Try again after ${retryAt.toISOString()}.`, f.status, { retriable: true, retryAt, cause: err });
  }
  if (f.status === 403 && /not permitted to create or approve pull requests/i.test(f.message)) {
    return new RemoteError(
      `${at}: GitHub Actions may not open pull requests in ${printable(repository)} (HTTP 403: "${said}"). Turn on "Allow GitHub Actions to create and approve pull requests" (Settings → Actions → General → Workflow permissions, or the organisation's), or use a GitHub App's token.`,
      f.status,
      { cause: err },
    );
  }
  const advice: Record<number, string> = {
    401: 'the token was refused (bad credentials): it is wrong, expired or revoked. Pass a valid token in the environment variable --token-env names (or --token-file)',
    403: 'the token may not do this: give it contents: write and pull-requests: write on the repository (a workflow\'s permissions:), or use a token of an account with write access',
    404: `repository ${printable(repository)} not found, or the token cannot see it (GitHub answers 404 for private repositories a token has no access to). Check --github-repo, --api-url and the token's access`,
    422: 'GitHub refused the request as invalid (its reasons follow): a body too long is a bug to report; otherwise check that --base names a branch of the repository and that the branch was pushed (--push)',
  };
  return new RemoteError(`${at}: ${advice[f.status] ?? 'refused'} (HTTP ${f.status}: "${said}").`, f.status, { cause: err });
}
