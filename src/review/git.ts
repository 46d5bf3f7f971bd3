// The real `git`, run without a shell (arguments are never parsed by one). The proposal is
// committed with plumbing: a private index is read from the base commit, the changed files
// are written into it, and a commit is made from its tree; the work tree and the user's index
// are never touched, and a file the plan does not change keeps its blob, bytes and mode.

import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { ConfigError, InputError, RemoteError } from '../errors.js';
import { printable, printableLines } from '../text.js';
import { compare } from '../flow/compare.js';

export interface TreeEntry {
  /** 100644 or 100755 a file, 120000 a symbolic link, 160000 a submodule (gitlink). */
  mode: string;
  sha: string;
  /** Relative to the repository's root, `/`-separated. */
  path: string;
}

interface Result {
  code: number;
  stdout: string;
  /** stdout's bytes, for blobs. */
  bytes: Buffer;
  stderr: string;
}

/** A git work tree, and the environment git runs in (its config, HOME, identity). */
export class GitRepo {
  private constructor(
    readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async open(dir: string, env: NodeJS.ProcessEnv): Promise<GitRepo> {
    const r = await run(dir, ['rev-parse', '--show-toplevel'], env).catch((err: unknown) => {
      throw new InputError(`pr: cannot run git in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Install git, and pass --repo a git work tree.`);
    });
    if (r.code !== 0) throw new InputError(`pr: --repo ${dir} is not a git work tree (${oneLine(r.stderr)}). Pass the clone that holds your policies.`);
    return new GitRepo(r.stdout.trim(), env);
  }

  private async git(args: string[], o: { input?: string; env?: NodeJS.ProcessEnv; allow?: number[] } = {}): Promise<Result> {
    const r = await run(this.root, args, { ...this.env, ...o.env }, o.input);
    if (r.code !== 0 && !(o.allow ?? []).includes(r.code)) throw new InputError(`pr: git ${args[0]} failed in ${this.root}: ${oneLine(r.stderr)}`);
    return r;
  }

  /** Whether `name` is a valid branch name (`git check-ref-format --branch`). */
  async validBranchName(name: string): Promise<boolean> {
    return (await this.git(['check-ref-format', `refs/heads/${name}`], { allow: [1, 128] })).code === 0 && !name.startsWith('-');
  }

  /** Tracked paths with uncommitted changes. Untracked files (telemetry downloaded into the work tree) are neither committed nor lost. */
  async dirty(): Promise<string[]> {
    const r = await this.git(['status', '--porcelain=v1', '-z', '--untracked-files=no']);
    return r.stdout.split('\0').filter((l) => l !== '').map((l) => l.slice(3));
  }

  /** The branch HEAD is on, or undefined when detached. */
  async currentBranch(): Promise<string | undefined> {
    const r = await this.git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { allow: [1] });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  /** The commit `ref` names, or undefined when it names none. */
  async commitOf(ref: string): Promise<string | undefined> {
    const r = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { allow: [1, 128] });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  async treeOf(commit: string): Promise<string> {
    return (await this.git(['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`])).stdout.trim();
  }

  /** Every file under `dir` (relative to the root; '' for all) in `commit`'s tree. */
  async files(commit: string, dir: string): Promise<TreeEntry[]> {
    const r = await this.git(['ls-tree', '-r', '-z', '--full-tree', commit, '--', ...(dir === '' ? [] : [dir])]);
    return r.stdout
      .split('\0')
      .filter((l) => l !== '')
      .map((l) => {
        const [meta, path] = [l.slice(0, l.indexOf('\t')), l.slice(l.indexOf('\t') + 1)];
        const [mode, type, sha] = meta.split(' ');
        return { mode: mode!, type: type!, sha: sha!, path };
      })
      .filter((e) => e.type === 'blob' || e.type === 'commit')
      .map(({ mode, sha, path }) => ({ mode, sha, path }));
  }

  /** The entry at `path` itself in `commit`'s tree (a tree, file, link or gitlink), or undefined. */
  async entry(commit: string, path: string): Promise<{ mode: string; type: string } | undefined> {
    const r = await this.git(['--literal-pathspecs', 'ls-tree', '-z', '--full-tree', commit, '--', path]);
    const line = r.stdout.split('\0').find((l) => l.slice(l.indexOf('\t') + 1) === path);
    if (line === undefined) return undefined;
    const [mode, type] = line.slice(0, line.indexOf('\t')).split(' ');
    return { mode: mode!, type: type! };
  }

  /** A blob's bytes, as they are. */
  async blob(sha: string): Promise<Buffer> {
    return (await this.git(['cat-file', 'blob', sha])).bytes;
  }

  /**
   * A commit on `parent` with `writes` applied (text, or null to delete), or undefined when the
   * tree would not change. `author` is `Name <email>`; without it git's configured identity is used.
   */
  async commit(o: { parent: string; writes: { path: string; text: string | null }[]; message: string; author?: { name: string; email: string } }): Promise<string | undefined> {
    await this.checkWritable(o.parent, o.writes.map((w) => w.path));
    const index = (await this.git(['rev-parse', '--git-path', `ztmap-index-${process.pid}`])).stdout.trim();
    const env = { GIT_INDEX_FILE: index.startsWith('/') ? index : `${this.root}/${index}` };
    try {
      await this.git(['read-tree', o.parent], { env });
      const modes = new Map((await this.files(o.parent, '')).map((e) => [e.path, e.mode]));
      const lines: string[] = [];
      for (const w of o.writes) {
        if (w.text === null) lines.push(`0 ${'0'.repeat(40)}\t${w.path}`);
        else {
          const sha = (await this.git(['hash-object', '-w', '--stdin'], { input: w.text })).stdout.trim();
          lines.push(`${modes.get(w.path) ?? '100644'} ${sha}\t${w.path}`);
        }
      }
      await this.git(['update-index', '--index-info'], { env, input: lines.map((l) => l + '\n').join('') });
      const tree = (await this.git(['write-tree'], { env })).stdout.trim();
      if (tree === (await this.treeOf(o.parent))) return undefined;
      const identity = o.author === undefined ? {} : { GIT_AUTHOR_NAME: o.author.name, GIT_AUTHOR_EMAIL: o.author.email, GIT_COMMITTER_NAME: o.author.name, GIT_COMMITTER_EMAIL: o.author.email };
      // The trailer names the tree the commit was made with: a commit someone amended or added
      // on top no longer matches it, and the next run refuses to replace it (ztmapCommit).
      const message = `${o.message.trimEnd()}\n\n${TREE_TRAILER}: ${tree}\n`;
      const r = await this.git(['commit-tree', tree, '-p', o.parent, '-F', '-'], { env: identity, input: message, allow: [128] });
      if (r.code !== 0) {
        throw new ConfigError(`pr: git cannot make the commit (${oneLine(r.stderr)}). Set user.name and user.email (git config) in ${this.root}, or pass --author "Name <email>".`);
      }
      return r.stdout.trim();
    } finally {
      await rm(env.GIT_INDEX_FILE, { force: true });
    }
  }

  /**
   * Refuses writes git would turn into something else: a path an index line cannot carry (a
   * line break, a leading quote), or that leaves the tree or enters `.git`; and a path through
   * or onto a symbolic link or a submodule of `commit`, which ztmap never writes through.
   */
  async checkWritable(commit: string, paths: readonly string[]): Promise<void> {
    for (const p of paths) {
      if (!safeTreePath(p)) throw new InputError(`pr: refusing to write ${JSON.stringify(printable(p))}: not a plain path inside the repository (control characters, a leading quote, an empty, \`.\`, \`..\` or \`.git\` segment). Check the proposal's names and --policies-path.`);
    }
    const r = await this.git(['ls-tree', '-r', '-t', '-z', '--full-tree', commit]);
    const entries = new Map<string, string>();
    for (const l of r.stdout.split('\0')) {
      if (l !== '') entries.set(l.slice(l.indexOf('\t') + 1), l.slice(0, l.indexOf(' ')));
    }
    for (const p of paths) {
      const segments = p.split('/');
      for (let i = 1; i <= segments.length; i++) {
        const at = segments.slice(0, i).join('/');
        const mode = entries.get(at);
        const opaque = mode === '120000' || mode === '160000' || (i < segments.length && mode !== undefined && mode !== '040000');
        if (opaque) {
          const what = mode === '120000' ? 'a symbolic link' : mode === '160000' ? 'a submodule' : 'a file';
          throw new InputError(`pr: refusing to write ${printable(p)}: ${printable(at)} is ${what} in the base commit, and ztmap never writes through or over one. Point --policies-path at the real directory, or replace the link with the files it points to.`);
        }
      }
    }
  }

  /**
   * Whether `commit` is one ztmap made on a base: one parent, an ancestor of `base`, and the
   * tree its trailer names. Anything else on ztmap's branch is someone's work.
   */
  async ztmapCommit(commit: string, base: string, remote?: string): Promise<boolean> {
    const raw = (await this.git(['cat-file', 'commit', commit])).stdout;
    const split = raw.indexOf('\n\n');
    const headers = raw.slice(0, split).split('\n');
    const parents = headers.filter((h) => h.startsWith('parent ')).map((h) => h.slice(7));
    const tree = headers.find((h) => h.startsWith('tree '))?.slice(5);
    const trailer = new RegExp(`^${TREE_TRAILER}: ([0-9a-f]+)$`, 'm').exec(raw.slice(split + 2))?.[1];
    if (parents.length !== 1 || tree === undefined || trailer !== tree) return false;
    return this.inHistory(parents[0]!, base, remote);
  }

  /**
   * Whether `commit` is in `base`'s history. A shallow clone (actions/checkout's default
   * fetch-depth: 1) lacks that history beyond `base` itself, where an older base (the one
   * ztmap built on) is: it is fetched from `remote` before deciding.
   */
  async inHistory(commit: string, base: string, remote?: string): Promise<boolean> {
    const isAncestor = async () => (await this.git(['merge-base', '--is-ancestor', commit, base], { allow: [1] })).code === 0;
    if (await isAncestor()) return true;
    if (!(await this.isShallow())) return false;
    await this.unshallow(base, remote);
    return isAncestor();
  }

  /**
   * inHistory, for a decision that can wait: undefined (instead of an error) when a shallow
   * clone lacks the history and there is no `remote` to fetch it from.
   */
  async inHistoryIfKnown(commit: string, base: string, remote?: string): Promise<boolean | undefined> {
    if (remote === undefined && (await this.isShallow())) {
      const r = await this.git(['merge-base', '--is-ancestor', commit, base], { allow: [1, 128] });
      return r.code === 0 ? true : undefined;
    }
    return this.inHistory(commit, base, remote);
  }

  /**
   * What `commit` changes against its first parent (or adds, for a root commit): one line per
   * path, its new mode and blob (zeros when deleted). Two commits with the same change on
   * different parents (main moved meanwhile) say the same here.
   */
  async changeOf(commit: string): Promise<string> {
    const r = await this.git(['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', '--root', '-m', '--first-parent', commit]);
    const fields = r.stdout.split('\0');
    const lines: string[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const [, mode, , sha] = fields[i]!.split(' ');
      if (mode === undefined || sha === undefined) continue;
      lines.push(`${mode} ${sha}\t${fields[i + 1]}`);
    }
    return lines.sort(compare).join('\n');
  }

  /** The paths `commit` changes against its first parent. */
  async changedPaths(commit: string): Promise<string[]> {
    return (await this.changeOf(commit)).split('\n').filter((l) => l !== '').map((l) => l.slice(l.indexOf('\t') + 1));
  }

  /**
   * Fetches pull request `number`'s head (GitHub keeps it as refs/pull/N/head after its branch
   * is deleted) from `remote`: whether `sha` is then here. False when the remote will not give it.
   */
  async fetchPull(remote: string, number: number, sha: string): Promise<boolean> {
    if ((await this.commitOf(sha)) !== undefined) return true;
    const r = await this.git(['fetch', '--quiet', '--no-tags', '--end-of-options', remote, `refs/pull/${number}/head`], { allow: [1, 128] });
    return r.code === 0 && (await this.commitOf(sha)) !== undefined;
  }

  async isShallow(): Promise<boolean> {
    return (await this.git(['rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true';
  }

  /**
   * The whole history of `base` from `remote` (by its commit; servers that refuse a commit by
   * name give their branches' instead), so that a shallow clone can tell what its base holds.
   */
  private async unshallow(base: string, remote: string | undefined): Promise<void> {
    const advice = `Check out the repository with its history (actions/checkout with fetch-depth: 0, or git fetch --unshallow) and run again.`;
    if (remote === undefined) {
      throw new ConfigError(`pr: ${this.root} is a shallow clone: ztmap cannot tell whether its branch was made on ${base.slice(0, 12)}'s history, which the clone does not hold, and without --push REMOTE there is nowhere to fetch it from. ${advice}`);
    }
    for (const refs of [[base], []]) {
      const r = await this.git(['fetch', '--quiet', '--no-tags', '--unshallow', '--end-of-options', remote, ...refs], { allow: [1, 128] });
      if (r.code === 0 || !(await this.isShallow())) return;
    }
    throw new RemoteError(`pr: ${this.root} is a shallow clone, and fetching the rest of its history from ${withoutCredentials(remote)} failed; ztmap cannot tell whether its branch was made on ${base.slice(0, 12)}'s history. ${advice}`, undefined, { retriable: true });
  }

  /** The work trees (this one included) that have `branch` checked out. */
  async worktreesOn(branch: string): Promise<string[]> {
    const r = await this.git(['worktree', 'list', '--porcelain', '-z']);
    const out: string[] = [];
    let path = '';
    for (const field of r.stdout.split('\0')) {
      if (field.startsWith('worktree ')) path = field.slice(9);
      else if (field === `branch refs/heads/${branch}`) out.push(path);
    }
    return out;
  }

  /** Point `refs/heads/BRANCH` at `commit`; `expected` is its current commit (undefined: it must not exist). */
  async setBranch(branch: string, commit: string, expected: string | undefined): Promise<void> {
    await this.git(['update-ref', '-m', 'ztmap pr', `refs/heads/${branch}`, commit, expected ?? '']);
  }

  /** Delete `refs/heads/BRANCH`, only if it is still `expected`. */
  async deleteBranch(branch: string, expected: string): Promise<void> {
    await this.git(['update-ref', '-m', 'ztmap pr', '-d', `refs/heads/${branch}`, expected]);
  }

  /**
   * Delete `branch` on `remote`, only if it is still `expected` there: 'deleted'; or 'gone' when
   * the lease failed because the branch is no longer there at all (another run retiring it at the
   * same time, or a person): what the deletion wanted is done.
   */
  async deleteRemoteBranch(remote: string, branch: string, expected: string): Promise<'deleted' | 'gone'> {
    const ref = `refs/heads/${branch}`;
    const r = await this.git(['push', '--quiet', '--porcelain', `--force-with-lease=${ref}:${expected}`, '--end-of-options', remote, `:${ref}`], { allow: [1, 128] });
    if (r.code === 0) return 'deleted';
    const listed = await this.git(['ls-remote', '--exit-code', '--heads', '--end-of-options', remote, ref], { allow: [1, 2, 128] });
    if (listed.code === 2) return 'gone';
    throw new RemoteError(
      `pr: deleting ${branch} on ${withoutCredentials(remote)} failed (${withoutCredentials(oneLine(r.stderr || r.stdout))}). Check your access to ${withoutCredentials(remote)}, or whether someone pushed to ${branch} meanwhile, and run again.`,
      undefined,
      { retriable: true },
    );
  }

  /** The commit of `branch` on `remote`, or undefined when the remote has no such branch. */
  async fetchBranch(remote: string, branch: string): Promise<string | undefined> {
    const shown = withoutCredentials(remote);
    // ls-remote --exit-code says "no such branch" by its exit code (2), in any language.
    const listed = await this.git(['ls-remote', '--exit-code', '--heads', '--end-of-options', remote, `refs/heads/${branch}`], { allow: [1, 2, 128] });
    if (listed.code === 2) return undefined;
    const r = listed.code !== 0 ? listed : await this.git(['fetch', '--quiet', '--no-tags', '--end-of-options', remote, `refs/heads/${branch}`], { allow: [1, 128] });
    if (r.code === 0) return (await this.git(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'])).stdout.trim();
    throw new RemoteError(`pr: cannot fetch ${branch} from the git remote ${shown} (${withoutCredentials(oneLine(r.stderr))}). Check the remote's name or URL and your access to it.`, undefined, { retriable: true });
  }

  /** Push `branch` to `remote`, only if the remote's branch is still `expected` (undefined: absent). */
  async push(remote: string, branch: string, expected: string | undefined): Promise<void> {
    const ref = `refs/heads/${branch}`;
    const r = await this.git(['push', '--quiet', '--porcelain', `--force-with-lease=${ref}:${expected ?? ''}`, '--end-of-options', remote, `${ref}:${ref}`], { allow: [1, 128] });
    if (r.code !== 0) {
      throw new RemoteError(
        `pr: git push of ${branch} to ${withoutCredentials(remote)} failed (${withoutCredentials(oneLine(r.stderr || r.stdout))}). The commit is on the local branch ${branch}; check your access to ${withoutCredentials(remote)}, or whether someone pushed to ${branch} meanwhile, and run again.`,
        undefined,
        { retriable: true },
      );
    }
  }
}

const TREE_TRAILER = 'Ztmap-Tree';

/** A path git's index and tree take as it is, inside the work tree and outside `.git`. */
export function safeTreePath(p: string): boolean {
  if (p === '' || p.startsWith('"') || /[\u0000-\u001f\u007f]/.test(p)) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && s.toLowerCase() !== '.git');
}

/** URLs with their user and password replaced by `***`: a token in a remote's URL is never printed. */
export function withoutCredentials(s: string): string {
  return s.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
}

const oneLine = (s: string) => printableLines(s.trim()).split('\n').filter((l) => l !== '').join('; ') || 'no message';

function run(cwd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    // git's messages in English whatever the user's locale: fetch's "no such ref" is matched below.
    const child = spawn('git', args, { cwd, env: { ...env, LC_ALL: 'C', LANGUAGE: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolve({ code: code ?? 1, stdout: bytes.toString('utf8'), bytes, stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {
      // git may exit before reading all its input; its exit code says what happened.
    });
    child.stdin.end(input ?? '');
  });
}
