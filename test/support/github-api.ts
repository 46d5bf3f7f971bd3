// A double of GitHub's REST API on loopback, for `ztmap pr`: it serves the endpoints ztmap
// calls, checks every request against the documented shape, and answers as GitHub does.
//
// Documented shapes (docs.github.com/rest, API version 2022-11-28):
// - GET    /repos/{owner}/{repo}                         "Get a repository"
// - GET    /repos/{owner}/{repo}/pulls                    "List pull requests": query state
//          (open|closed|all), head (`user:ref-name`), base, sort, direction, per_page, page
// - POST   /repos/{owner}/{repo}/pulls                    "Create a pull request": title, head,
//          base required (title unless `issue`); body, draft, maintainer_can_modify, head_repo, issue
// - PATCH  /repos/{owner}/{repo}/pulls/{pull_number}      "Update a pull request": title, body,
//          state (open|closed), base, maintainer_can_modify
// - GET    /repos/{owner}/{repo}/git/commits/{commit_sha} "Get a commit object": sha, tree {sha,
//          url}, parents, message, author, committer; 404 for a commit the repository lacks
// - POST   /repos/{owner}/{repo}/issues/{issue_number}/comments "Create an issue comment": body
//          required (a pull request is an issue: its number is the issue's); 201 with the comment
// - Headers: `Authorization: token T` or `Bearer T`, `Accept: application/vnd.github+json`, a
//   `User-Agent` (GitHub refuses requests without one), JSON bodies with a JSON content type.
// - Errors: JSON `{message, documentation_url, status}`; 401 "Bad credentials"; 404 "Not Found";
//   422 "Validation Failed" with `errors: [{resource: "PullRequest", code: "custom", message:
//   "A pull request already exists for OWNER:BRANCH."}]`; primary rate limit: 403 or 429 with
//   `x-ratelimit-remaining: 0` (wait until `x-ratelimit-reset`, epoch seconds); secondary rate
//   limit: 403 or 429 with a message saying so and, where present, `retry-after` (seconds).
// - Every answer carries x-ratelimit-limit, -remaining, -reset, -used and -resource.
//
// A request that does not match is answered 400 and recorded in `violations`: tests assert
// there are none. GitHub Enterprise Server serves the same API under `/api/v3` (`prefix`).

import { execFileSync, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BIN } from './paths.js';

export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface PullRequest {
  number: number;
  state: 'open' | 'closed';
  title: string;
  body: string;
  head: string;
  base: string;
  /** The head branch's commit when the pull request was last opened or updated. */
  sha: string;
}

/** GitHub's limit on a pull request's body, in characters. */
const BODY_LIMIT = 65_536;

/** What the next matching request is answered with instead. */
export type Fault =
  | { kind: 'bad-credentials' }
  | { kind: 'primary-rate-limit'; status: 403 | 429 }
  | { kind: 'secondary-rate-limit'; status: 403 | 429; retryAfter: number }
  /** `method`: only the next request of that method (a PATCH GitHub refuses, say). */
  | { kind: 'forbidden'; method?: string }
  /** The repository's setting "Allow GitHub Actions to create and approve pull requests" is off. */
  | { kind: 'actions-may-not-open' }
  /** The list of open pull requests answers empty once: a pull request opened meanwhile (the 422 path). */
  | { kind: 'hide-open-pulls' };

const DOCS = 'https://docs.github.com/rest';
const LIMIT = 5000;
const PULL_FIELDS = { create: new Set(['title', 'head', 'base', 'body', 'draft', 'maintainer_can_modify', 'head_repo', 'issue']), update: new Set(['title', 'body', 'state', 'base', 'maintainer_can_modify']) };
const LIST_QUERY = new Set(['state', 'head', 'base', 'sort', 'direction', 'per_page', 'page']);

/** A comment made through "Create an issue comment". */
export interface IssueComment {
  issue: number;
  body: string;
}

export class GitHubApiDouble {
  readonly requests: ApiRequest[] = [];
  readonly comments: IssueComment[] = [];
  readonly violations: string[] = [];
  readonly faults: Fault[] = [];
  readonly pulls: PullRequest[] = [];
  /** Called with each request before it is answered (a person pushing meanwhile, say). */
  onRequest: ((r: ApiRequest) => void) | undefined;
  /** Repositories that exist, `owner/name`. */
  readonly repositories = new Set<string>();
  private used = 0;
  /** The reset time of the primary limit, epoch seconds. */
  readonly reset = Math.floor(Date.now() / 1000) + 3600;

  private constructor(
    private readonly server: Server,
    readonly token: string,
    readonly prefix: string,
    /** The commit a branch is on (the git remote's), as GitHub knows it from the push. */
    private readonly headShaOf: (branch: string) => string | undefined,
    /** The bare repository GitHub's git side is: commits are read from it, refs/pull/N/head written to it. */
    private readonly remote: string | undefined,
  ) {}

  /** `remote`: a bare repository the tests push to, which stands for the repository's git side. */
  static async start(o: { token: string; repositories: string[]; prefix?: string; headShaOf?: (branch: string) => string | undefined; remote?: string }): Promise<GitHubApiDouble> {
    let double: GitHubApiDouble | undefined;
    const server = createServer((req, res) => {
      void double!.handle(req, res);
    });
    const remote = o.remote;
    const fromRemote = (branch: string) => (remote === undefined ? undefined : gitIn(remote, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]));
    double = new GitHubApiDouble(server, o.token, o.prefix ?? '', o.headShaOf ?? fromRemote, remote);
    for (const r of o.repositories) double.repositories.add(r);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return double;
  }

  /** The API's base URL, as `--api-url` takes it. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.prefix}`;
  }

  async close(): Promise<void> {
    // fetch keeps connections alive: close them, or close() would wait for them.
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Requests that wrote something (POST, PATCH). */
  get writes(): ApiRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: ApiRequest = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: undefined };
    this.requests.push(request);
    const refuse = (why: string) => {
      this.violations.push(`${request.method} ${request.path}: ${why}`);
      this.send(res, 400, { message: `not the documented shape: ${why}`, documentation_url: DOCS });
    };
    if (raw !== '') {
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return refuse(`a body with content-type ${req.headers['content-type']}`);
      try {
        request.body = JSON.parse(raw);
      } catch {
        return refuse('a body that is not JSON');
      }
    }
    if (req.headers.accept !== 'application/vnd.github+json') return refuse(`accept ${String(req.headers.accept)}, not application/vnd.github+json`);
    if ((req.headers['user-agent'] ?? '') === '') return refuse('no user-agent');
    const version = req.headers['x-github-api-version'];
    if (version !== undefined && version !== '2022-11-28') return refuse(`x-github-api-version ${String(version)}`);
    if (!url.pathname.startsWith(`${this.prefix}/`)) return refuse(`a path outside ${this.prefix || '/'}`);
    const path = url.pathname.slice(this.prefix.length);

    const auth = /^(?:token|Bearer) (\S+)$/.exec(req.headers.authorization ?? '');
    if (auth === null) return refuse(`authorization ${req.headers.authorization === undefined ? 'missing' : 'not "token T" or "Bearer T"'}`);

    // Faults, in order: each answers the next request once (hide-open-pulls: the next list).
    const fault = this.faults[0];
    // GitHub checks the Actions setting when a pull request is created, not before.
    this.onRequest?.(request);
    if (fault !== undefined && fault.kind !== 'hide-open-pulls' && !(fault.kind === 'actions-may-not-open' && request.method !== 'POST') && !(fault.kind === 'forbidden' && fault.method !== undefined && fault.method !== request.method)) {
      this.faults.shift();
      return this.fail(res, fault);
    }
    if (auth[1] !== this.token) return this.send(res, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    this.used++;

    const commit = /^\/repos\/([^/]+)\/([^/]+)\/git\/commits\/([^/]+)$/.exec(path);
    if (commit !== null) {
      if (request.method !== 'GET') return refuse(`${request.method} on a commit`);
      return this.commit(res, `${decodeURIComponent(commit[1]!)}/${decodeURIComponent(commit[2]!)}`, commit[3]!);
    }
    const comment = /^\/repos\/([^/]+)\/([^/]+)\/issues\/([^/]+)\/comments$/.exec(path);
    if (comment !== null) {
      if (request.method !== 'POST') return refuse(`${request.method} on an issue's comments`);
      return this.comment(res, request, `${decodeURIComponent(comment[1]!)}/${decodeURIComponent(comment[2]!)}`, comment[3]!, refuse);
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/pulls(?:\/([^/]+))?)?$/.exec(path);
    if (m === null) return refuse(`no such endpoint ${path}`);
    const repository = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
    const notFound = (doc: string) => this.send(res, 404, { message: 'Not Found', documentation_url: `${DOCS}/${doc}`, status: '404' });
    if (m[3] === undefined) {
      if (request.method !== 'GET') return refuse(`${request.method} on a repository`);
      if (!this.repositories.has(repository)) return notFound('repos/repos#get-a-repository');
      return this.send(res, 200, { id: 1, name: m[2], full_name: repository, private: true, default_branch: 'main', owner: { login: m[1] } });
    }
    if (!this.repositories.has(repository)) return notFound('pulls/pulls');
    const number = m[4];
    if (number === undefined && request.method === 'GET') return this.list(res, request, repository, refuse);
    if (number === undefined && request.method === 'POST') return this.create(res, request, repository, refuse);
    if (number !== undefined && request.method === 'PATCH') return this.update(res, request, repository, number, refuse);
    return refuse(`${request.method} ${path}`);
  }

  /** "Get a commit object", read from the bare repository; 404 for one it does not hold. */
  private commit(res: ServerResponse, repository: string, sha: string): void {
    const raw = this.remote === undefined || !/^[0-9a-f]{40}$/.test(sha) ? undefined : gitIn(this.remote, ['cat-file', 'commit', sha]);
    if (!this.repositories.has(repository) || raw === undefined) return this.send(res, 404, { message: 'Not Found', documentation_url: `${DOCS}/git/commits#get-a-commit-object`, status: '404' });
    const split = raw.indexOf('\n\n');
    const headers = raw.slice(0, split).split('\n');
    const person = (h: string | undefined) => {
      const m = /^\w+ (.*) <(.*)> (\d+) [+-]\d{4}$/.exec(h ?? '');
      return { name: m?.[1] ?? '', email: m?.[2] ?? '', date: new Date(Number(m?.[3] ?? 0) * 1000).toISOString() };
    };
    const api = `${this.url}/repos/${repository}/git`;
    const tree = headers.find((h) => h.startsWith('tree '))!.slice(5);
    this.send(res, 200, {
      sha,
      node_id: `C_${sha}`,
      url: `${api}/commits/${sha}`,
      html_url: `https://github.example/${repository}/commit/${sha}`,
      author: person(headers.find((h) => h.startsWith('author '))),
      committer: person(headers.find((h) => h.startsWith('committer '))),
      tree: { sha: tree, url: `${api}/trees/${tree}` },
      message: raw.slice(split + 2),
      parents: headers.filter((h) => h.startsWith('parent ')).map((h) => ({ sha: h.slice(7), url: `${api}/commits/${h.slice(7)}`, html_url: `https://github.example/${repository}/commit/${h.slice(7)}` })),
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    });
  }

  /** "Create an issue comment" on a pull request (its issue). */
  private comment(res: ServerResponse, r: ApiRequest, repository: string, number: string, refuse: (why: string) => void): void {
    if (!/^[1-9]\d*$/.test(number)) return refuse(`issue_number ${number}`);
    const b = r.body as Record<string, unknown> | undefined;
    if (b === undefined || typeof b !== 'object') return refuse('no JSON body');
    const unknown = Object.keys(b).filter((k) => k !== 'body');
    if (unknown.length > 0) return refuse(`unknown fields ${unknown.join(', ')}`);
    if (typeof b['body'] !== 'string' || b['body'] === '') return refuse('body missing or not a string');
    if (!this.repositories.has(repository) || !this.pulls.some((p) => p.number === Number(number))) {
      return this.send(res, 404, { message: 'Not Found', documentation_url: `${DOCS}/issues/comments#create-an-issue-comment`, status: '404' });
    }
    if (tooLong(b['body'])) return this.send(res, 422, { ...BODY_TOO_LONG, documentation_url: `${DOCS}/issues/comments#create-an-issue-comment` });
    this.comments.push({ issue: Number(number), body: b['body'] });
    const id = this.comments.length;
    this.send(res, 201, {
      id,
      node_id: `IC_${id}`,
      url: `${this.url}/repos/${repository}/issues/comments/${id}`,
      html_url: `https://github.example/${repository}/pull/${number}#issuecomment-${id}`,
      issue_url: `${this.url}/repos/${repository}/issues/${number}`,
      body: b['body'],
      user: { login: 'ztmap-bot' },
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      author_association: 'NONE',
    });
  }

  /** GitHub keeps each pull request's head commit as refs/pull/N/head, even after its branch is deleted. */
  private keepHead(p: PullRequest): void {
    if (this.remote !== undefined && /^[0-9a-f]{40}$/.test(p.sha) && !/^0+$/.test(p.sha)) gitIn(this.remote, ['update-ref', `refs/pull/${p.number}/head`, p.sha]);
  }

  private list(res: ServerResponse, r: ApiRequest, repository: string, refuse: (why: string) => void): void {
    const unknown = Object.keys(r.query).filter((k) => !LIST_QUERY.has(k));
    if (unknown.length > 0) return refuse(`unknown query parameters ${unknown.join(', ')}`);
    if (r.query['state'] !== undefined && !['open', 'closed', 'all'].includes(r.query['state'])) return refuse(`state=${r.query['state']}`);
    const head = r.query['head'];
    if (head !== undefined && !/^[^:]+:.+$/.test(head)) return refuse(`head=${head}, not user:ref-name`);
    const owner = repository.split('/')[0]!;
    if (this.faults[0]?.kind === 'hide-open-pulls') {
      this.faults.shift();
      return this.send(res, 200, []);
    }
    // GitHub closes an open pull request whose head branch is deleted.
    if (this.remote !== undefined) for (const p of this.pulls) if (p.state === 'open' && this.headShaOf(p.head) === undefined) p.state = 'closed';
    const state = r.query['state'] ?? 'open';
    const found = this.pulls.filter(
      (p) => (state === 'all' || p.state === state) && (head === undefined || head === `${owner}:${p.head}`) && (r.query['base'] === undefined || r.query['base'] === p.base),
    );
    this.send(res, 200, found.map((p) => this.pullJson(repository, p)));
  }

  private create(res: ServerResponse, r: ApiRequest, repository: string, refuse: (why: string) => void): void {
    const b = r.body as Record<string, unknown> | undefined;
    if (b === undefined || typeof b !== 'object') return refuse('no JSON body');
    const unknown = Object.keys(b).filter((k) => !PULL_FIELDS.create.has(k));
    if (unknown.length > 0) return refuse(`unknown fields ${unknown.join(', ')}`);
    for (const k of ['title', 'head', 'base']) if (typeof b[k] !== 'string' || b[k] === '') return refuse(`${k} missing or not a string`);
    if (b['body'] !== undefined && typeof b['body'] !== 'string') return refuse('body not a string');
    const owner = repository.split('/')[0]!;
    const head = (b['head'] as string).replace(new RegExp(`^${owner}:`), '');
    if (this.pulls.some((p) => p.state === 'open' && p.head === head && p.base === b['base'])) {
      return this.send(res, 422, {
        message: 'Validation Failed',
        errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` }],
        documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`,
        status: '422',
      });
    }
    if (tooLong(b['body'])) return this.send(res, 422, BODY_TOO_LONG);
    const p: PullRequest = { number: this.pulls.length + 1, state: 'open', title: b['title'] as string, body: (b['body'] as string | undefined) ?? '', head, base: b['base'] as string, sha: this.headShaOf(head) ?? '0'.repeat(40) };
    this.pulls.push(p);
    this.keepHead(p);
    this.send(res, 201, this.pullJson(repository, p));
  }

  private update(res: ServerResponse, r: ApiRequest, repository: string, number: string, refuse: (why: string) => void): void {
    if (!/^[1-9]\d*$/.test(number)) return refuse(`pull_number ${number}`);
    const b = r.body as Record<string, unknown> | undefined;
    if (b === undefined || typeof b !== 'object') return refuse('no JSON body');
    const unknown = Object.keys(b).filter((k) => !PULL_FIELDS.update.has(k));
    if (unknown.length > 0) return refuse(`unknown fields ${unknown.join(', ')}`);
    const p = this.pulls.find((x) => x.number === Number(number));
    if (p === undefined) return this.send(res, 404, { message: 'Not Found', documentation_url: `${DOCS}/pulls/pulls#update-a-pull-request`, status: '404' });
    if (tooLong(b['body'])) return this.send(res, 422, BODY_TOO_LONG);
    if (typeof b['title'] === 'string') p.title = b['title'];
    if (p.state === 'open') p.sha = this.headShaOf(p.head) ?? p.sha;
    if (typeof b['body'] === 'string') p.body = b['body'];
    if (b['state'] === 'open' || b['state'] === 'closed') p.state = b['state'];
    this.keepHead(p);
    this.send(res, 200, this.pullJson(repository, p));
  }

  private pullJson(repository: string, p: PullRequest) {
    const owner = repository.split('/')[0]!;
    return {
      url: `${this.url}/repos/${repository}/pulls/${p.number}`,
      id: 1000 + p.number,
      html_url: `https://github.example/${repository}/pull/${p.number}`,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      user: { login: 'ztmap-bot' },
      // An open pull request's head is its branch as it is now (a push moves it).
      head: { label: `${owner}:${p.head}`, ref: p.head, sha: p.state === 'open' ? (this.headShaOf(p.head) ?? p.sha) : p.sha },
      merged_at: null,
      base: { label: `${owner}:${p.base}`, ref: p.base, sha: '0'.repeat(40) },
    };
  }

  private fail(res: ServerResponse, f: Fault): void {
    if (f.kind === 'bad-credentials') return this.send(res, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    if (f.kind === 'actions-may-not-open') return this.send(res, 403, { message: 'GitHub Actions is not permitted to create or approve pull requests.', documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`, status: '403' });
    if (f.kind === 'forbidden') return this.send(res, 403, { message: 'Resource not accessible by integration', documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`, status: '403' });
    if (f.kind === 'primary-rate-limit') {
      this.used = LIMIT;
      return this.send(res, f.status, { message: 'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.', documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`, status: String(f.status) });
    }
    if (f.kind === 'secondary-rate-limit') {
      return this.send(
        res,
        f.status,
        { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`, status: String(f.status) },
        { 'retry-after': String(f.retryAfter) },
      );
    }
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ratelimit-limit': String(LIMIT),
      'x-ratelimit-remaining': String(Math.max(0, LIMIT - this.used)),
      'x-ratelimit-reset': String(this.reset),
      'x-ratelimit-used': String(Math.min(LIMIT, this.used)),
      'x-ratelimit-resource': 'core',
      'x-github-api-version-selected': '2022-11-28',
      ...headers,
    });
    res.end(JSON.stringify(body));
  }
}

/** git's output in `dir`, or undefined when it fails (no such commit or branch). */
function gitIn(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: dir, env: { PATH: process.env['PATH'] ?? '', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent', LC_ALL: 'C' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/** Characters as GitHub counts them (code points). */
const tooLong = (body: unknown) => typeof body === 'string' && [...body].length > BODY_LIMIT;

/** GitHub's answer to a body over the limit, as it is. */
const BODY_TOO_LONG = {
  message: 'Validation Failed',
  errors: [{ resource: 'Issue', code: 'custom', field: 'body', message: `body is too long (maximum is ${BODY_LIMIT} characters)` }],
  documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`,
  status: '422',
};

export interface AsyncRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The real ztmap binary, run without blocking the event loop (the double answers meanwhile). */
export function ztmapAsync(args: string[], o: { env?: Record<string, string>; cwd?: string } = {}): Promise<AsyncRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
