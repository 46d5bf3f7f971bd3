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

/** An open pull request from a branch: its base and head commit as GitHub has them. */
export interface OpenFrom {
  number: number;
  url: string;
  base: string;
  sha: string;
  body: string;
}

/** Whether the commit a pull request was closed on (and its number) holds the proposal of this run. */
export type SameProposal = (closed: { number: number; sha: string }) => Promise<boolean>;

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
  async openOrUpdate(p: { head: string; base: string; title: string; body: string; same?: SameProposal }, found?: PullsFrom): Promise<PullRequestRef> {
    const pulls = found ?? (await this.pullsFrom(p.head, p.base));
    if (pulls.open !== undefined) return this.update(pulls.open, p);
    const closed = p.same === undefined ? undefined : await this.closedOn(pulls, p.same);
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
   * The pull request a person closed unmerged on this proposal, none being open: their decision
   * stands until the proposal itself changes. `same` tells whether the commit it was closed on
   * makes the change ztmap's commit makes now (what a commit changes, not the repository's
   * tree, which any unrelated commit on the base changes).
   */
  async closedOn(pulls: PullsFrom, same: SameProposal): Promise<PullRequestRef | undefined> {
    if (pulls.open !== undefined || pulls.closed === undefined) return undefined;
    return (await same(pulls.closed)) ? { number: pulls.closed.number, url: pulls.closed.url, action: 'left closed' } : undefined;
  }

  /** The repository, then every open pull request from `head`, into any base ("List pull requests", state=open). */
  async openFrom(head: string): Promise<OpenFrom[]> {
    await this.call('reading the repository', () => this.client.rest.repos.get({ owner: this.owner, repo: this.repo }));
    const r = await this.call('listing pull requests', () => this.client.rest.pulls.list({ owner: this.owner, repo: this.repo, head: `${this.owner}:${head}`, state: 'open', per_page: 100 }));
    return r.data
      .filter((x) => x.head.ref === head && x.state === 'open')
      .map((x) => ({ number: x.number, url: x.html_url, base: x.base.ref, sha: x.head.sha, body: x.body ?? '' }))
      .sort((a, b) => a.number - b.number);
  }

  /**
   * Every open pull request into `base` (a person's branch stacked on ztmap's, say): GitHub
   * closes them all when `base` is deleted, so ztmap's branch is not deleted while there are any.
   */
  async openInto(base: string): Promise<(PullRequestRef & { head: string })[]> {
    const r = await this.call('listing pull requests', () => this.client.rest.pulls.list({ owner: this.owner, repo: this.repo, base, state: 'open', per_page: 100 }));
    return r.data
      .filter((x) => x.base.ref === base && x.state === 'open')
      .map((x) => ({ number: x.number, url: x.html_url, action: 'unchanged' as const, head: x.head.ref }))
      .sort((a, b) => a.number - b.number);
  }

  /**
   * Marks `pull`'s body as closed by ztmap (an invisible first line), leaving it open. Done before
   * anything that closes it (deleting its head branch closes it on GitHub): a pull request
   * closed without the mark would be taken for a person's "no" (find).
   */
  async markSuperseded(pull: OpenFrom): Promise<void> {
    if (pull.body.startsWith(SUPERSEDED)) return;
    await this.call(`marking pull request #${pull.number} as superseded`, () => this.client.rest.pulls.update({ owner: this.owner, repo: this.repo, pull_number: pull.number, body: `${SUPERSEDED}\n${pull.body}` }));
  }

  /**
   * Closes `pull` (marked by markSuperseded), then, once closed, says why in `comment`: the base
   * already holds what ztmap proposes now, and merging the older proposal it carries would undo
   * that. A failed close posts no comment.
   */
  async closeSuperseded(pull: OpenFrom, comment: string): Promise<PullRequestRef> {
    const r = await this.call(`closing pull request #${pull.number}`, () => this.client.rest.pulls.update({ owner: this.owner, repo: this.repo, pull_number: pull.number, state: 'closed' }));
    await this.call(`commenting on pull request #${pull.number}`, () => this.client.rest.issues.createComment({ owner: this.owner, repo: this.repo, issue_number: pull.number, body: comment }));
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
    const at = `pr: GitHub ${this.o.repository} (${shownUrl(this.o.apiUrl)}), ${what}`;
    return githubError(at, err, this.o.repository);
  }
}

const API_URL_ADVICE = 'Pass https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server, and the token in the environment variable --token-env names (or --token-file).';

/**
 * A URL as ztmap prints it: read as `URL` reads it (as fetch will), its scheme, host and path
 * only; a user or password becomes `***`, a query or fragment is left out. A string that is no
 * http(s) URL is not printed at all.
 */
function shownUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(the URL given, not shown)';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '(the URL given, not shown)';
  const path = u.pathname === '/' ? '' : u.pathname;
  return printable(`${u.protocol}//${u.username !== '' || u.password !== '' ? '***@' : ''}${u.host}${path}`);
}

/**
 * Refuses an API URL that is not an http or https URL, or carries a user, password, query or
 * fragment: Octokit and fetch repeat the URL in their errors, and ztmap would print it (a
 * scheme-less `u:TOKEN@host/api` or `//u:TOKEN@host` is not a URL fetch reads as one). The
 * token goes in --token-env or --token-file.
 */
export function checkApiUrl(url: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.host === '') {
    throw new ConfigError(`pr: --api-url is not an http or https URL with a host (it is not repeated here: it may hold a secret). ${API_URL_ADVICE}`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new ConfigError(`pr: --api-url ${shownUrl(url)} carries credentials in its URL, which ztmap would print in its messages. ${API_URL_ADVICE}`);
  }
  if (u.search !== '' || u.hash !== '') {
    throw new ConfigError(`pr: --api-url ${shownUrl(url)} has a query or fragment (not shown: a token in it would be printed and sent). ${API_URL_ADVICE}`);
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
