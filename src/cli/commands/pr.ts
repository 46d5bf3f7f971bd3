// `ztmap pr`: a proposal (`ztmap propose`'s policies/) as a branch of a git repository that
// holds policies, in that repository's own layout, with a commit and a pull request body; with
// a GitHub repository and a token, the pull request itself, opened or updated. A proposal that
// says nothing new against the base branch makes no commit, and retires ztmap's stale branch if any.

import { posix } from 'node:path';
import { readFile } from 'node:fs/promises';
import { ConfigError, describeFsError, InputError, RemoteError } from '../../errors.js';
import { GitRepo, withoutCredentials } from '../../review/git.js';
import { checkApiUrl, GitHubRepository, type OpenFrom, type PullRequestRef, type SameProposal } from '../../review/github.js';
import { KIND_OF_TARGET } from '../../review/layout.js';
import { prText, reviewFacts, ruleFacts, unusedAllows, type PrText } from '../../review/pr-body.js';
import { loadInventory } from '../../inventory/inventory.js';
import { policyDiff, type PolicyDiff } from '../../review/diff.js';
import { changeInScope, planProposal, policySetsOfPlan, readProposal, repoFile, type Plan } from '../../review/pr.js';
import { printable } from '../../text.js';

export interface PrOptions {
  repo: string;
  proposal: string;
  /** The policies directory inside the repository, relative to its root. */
  policiesPath: string;
  /** The branch the pull request merges into; default: the branch checked out. */
  base?: string;
  branch: string;
  push?: string;
  author?: { name: string; email: string };
  github?: { repository: string; token: string; apiUrl: string };
  dryRun: boolean;
  /** Inventory dumps: the semantic diff per workload (without: per selector). */
  inventory: string[];
  trustDomain: string;
  rootNamespace: string;
  /** Told how far the semantic diff's replay is (destinations done, of total): a TTY progress line. */
  onProgress?: (done: number, total: number) => void;
  /** A drift report's JSON (`ztmap drift --format json`): its unused allows go into the body. */
  drift?: string;
  /** The environment git runs in (its config, HOME). */
  env: NodeJS.ProcessEnv;
  userAgent: string;
}

export interface PrResult {
  /**
   * no-change: the base already decides every request as the proposal does (no commit, no API call);
   * dry-run: planned only; unchanged-branch: the branch already holds this proposal;
   * committed: a new commit on the branch; left-closed: a person closed the pull request on
   * this proposal (nothing pushed or opened).
   */
  outcome: 'no-change' | 'dry-run' | 'unchanged-branch' | 'committed' | 'left-closed';
  plan: Plan;
  /** The semantic diff of the base's policies and the branch's; absent when nothing was written. */
  diff?: PolicyDiff;
  text: PrText;
  base: string;
  branch: string;
  commit?: string;
  pushed?: string;
  pullRequest?: PullRequestRef;
  /** no-change: ztmap's branch from an earlier run, which the base has made stale. */
  stale?: StaleBranch;
}

/**
 * ztmap's branch when the base already holds the current proposal: what it carries is an
 * older proposal (one that denies traffic seen again since, say), and merging it would undo
 * what the base holds now.
 */
export interface StaleBranch {
  branch: string;
  /** Only commits ztmap made: then it was closed and deleted; otherwise someone's work, left as it is. */
  ztmaps: boolean;
  /**
   * Why ztmap left the branch it would otherwise retire: a shallow clone without --push cannot
   * tell whether it was made on the base's history (undecided); it changes files outside what
   * this run compared (outOfScope: another --policies-path, targets or namespaces); its open
   * pull request's head is not the commit ztmap read (pushedOver: a person pushed to it); open
   * pull requests from it into other bases (otherPulls), or into it (pullsInto: a person's branch
   * stacked on ztmap's), which deleting it would close.
   */
  left?: {
    undecided?: true;
    outOfScope?: string[];
    pushedOver?: PullRequestRef & { sha: string };
    otherPulls?: (PullRequestRef & { base: string })[];
    pullsInto?: (PullRequestRef & { head: string })[];
  };
  local?: { commit: string; deleted: boolean };
  /**
   * On the --push remote; deleted only with --github-repo (its pull request closed after). gone:
   * the deletion found it deleted already (another run retiring it at the same time, or a person).
   */
  remote?: { name: string; commit: string; deleted: boolean; gone?: true };
  /** The --push remote, asked for the branch (and, when `remote` is absent, without it). */
  pushedTo?: string;
  /** Its open pull request, closed with a comment saying why. */
  pullRequest?: PullRequestRef;
}

/** `Name <email>`, as git writes an identity. */
export function parseAuthor(s: string): { name: string; email: string } {
  const m = /^([^<>\n]+?)\s*<([^<>\s]+)>$/.exec(s.trim());
  if (m === null) throw new ConfigError(`pr: --author ${JSON.stringify(printable(s))} is not "Name <email>".`);
  return { name: m[1]!, email: m[2]! };
}

/** The policies path as a clean relative path inside the repository ('' for its root). */
function policiesDir(p: string): string {
  const n = posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\/?/, '').replace(/\/+$/, '');
  if (n.startsWith('/') || n === '..' || n.startsWith('../')) throw new ConfigError(`pr: --policies-path ${printable(p)} must be a path inside the repository, relative to its root (for example k8s/policies).`);
  return n;
}

async function readJsonFile(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    throw new InputError(`pr: cannot read the drift report ${printable(path)} (${describeFsError(err)}). Pass --drift the JSON \`ztmap drift --format json -o FILE\` wrote.`);
  }
}

export async function pr(o: PrOptions): Promise<PrResult> {
  // Before any git or API call: a URL's credentials would be printed by either.
  if (o.github !== undefined) checkApiUrl(o.github.apiUrl);
  const git = await GitRepo.open(o.repo, o.env);
  const dirty = await git.dirty();
  if (dirty.length > 0) {
    const shown = dirty.slice(0, 5).map(printable).join(', ');
    throw new ConfigError(`pr: the work tree ${git.root} has uncommitted changes (${shown}${dirty.length > 5 ? `, and ${dirty.length - 5} more` : ''}). Commit or stash them first: ztmap commits from the base branch, and would leave them out.`);
  }
  const current = await git.currentBranch();
  const base = o.base ?? current;
  if (base === undefined) throw new ConfigError(`pr: HEAD is detached in ${git.root}; pass --base BRANCH, the branch the pull request merges into.`);
  const baseCommit = await git.commitOf(base);
  if (baseCommit === undefined) throw new InputError(`pr: --base ${printable(base)} names no commit in ${git.root}. Pass a branch that exists (git branch -a).`);
  if (!(await git.validBranchName(o.branch))) throw new ConfigError(`pr: --branch ${printable(o.branch)} is not a valid branch name.`);
  if (o.branch === base) throw new ConfigError(`pr: --branch ${printable(o.branch)} is the base branch; the proposal goes on a branch of its own.`);
  if (o.branch === current && !o.dryRun) throw new ConfigError(`pr: ${printable(o.branch)} is checked out in ${git.root}; ztmap moves that branch, so check out ${printable(base)} first.`);
  const dir = policiesDir(o.policiesPath);
  if (o.push !== undefined && /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(o.push) && !/^ssh:\/\/[^/:@]*@/i.test(o.push)) {
    throw new ConfigError(`pr: --push ${withoutCredentials(o.push)} carries credentials in its URL, which git and ztmap would print. Name a remote (git remote add), or give git the token through a credential helper.`);
  }
  for (let i = 1, parts = dir === '' ? [] : dir.split('/'); i <= parts.length; i++) {
    const at = parts.slice(0, i).join('/');
    const e = await git.entry(baseCommit, at);
    if (e !== undefined && e.type !== 'tree') {
      throw new InputError(`pr: --policies-path ${printable(dir)}: ${printable(at)} is ${e.mode === '120000' ? 'a symbolic link' : e.mode === '160000' ? 'a submodule' : 'a file'} in ${printable(base)}; ztmap never writes through one. Pass the real directory.`);
    }
  }

  const proposal = await readProposal(o.proposal);
  const review = reviewFacts(proposal.review, posix.join(o.proposal, 'review.json'));
  const rules = ruleFacts(proposal.rules, posix.join(o.proposal, 'rules.json'));
  // Symbolic links and submodules are opaque: never read, never written (checkWritable).
  const inDir = (await git.files(baseCommit, dir)).filter((e) => /\.ya?ml$/.test(e.path) && (e.mode === '100644' || e.mode === '100755'));
  const existing = await Promise.all(inDir.map(async (e) => repoFile(dir === '' ? e.path : e.path.slice(dir.length + 1), await git.blob(e.sha))));
  const kinds = review.targets.flatMap((t) => (t in KIND_OF_TARGET ? [KIND_OF_TARGET[t as keyof typeof KIND_OF_TARGET]] : []));
  const plan = planProposal({ existing, proposal: proposal.manifests, heldBack: proposal.heldBackRefs, kinds });
  await git.checkWritable(baseCommit, plan.writes.map((w) => (dir === '' ? w.path : `${dir}/${w.path}`)));
  const unused = o.drift === undefined ? undefined : unusedAllows(await readJsonFile(o.drift), o.drift);
  // What the branch changes, decided by replay: a change of text alone (a comment, a file
  // moved, a policy split) is no change, and makes no commit and no pull request.
  let diff: PolicyDiff | undefined;
  if (plan.writes.length > 0) {
    const sets = policySetsOfPlan(existing, plan);
    const inventory = o.inventory.length === 0 ? undefined : await loadInventory(o.inventory);
    diff = policyDiff(sets.before, sets.after, {
      ...(inventory === undefined ? {} : { inventory }),
      trustDomain: o.trustDomain,
      rootNamespace: o.rootNamespace,
      ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    });
  }
  const text = prText({ review, rules, plan, heldBack: proposal.heldBack, policiesPath: dir, base, ...(unused === undefined ? {} : { unused }), ...(diff === undefined ? {} : { diff }) });
  const result: PrResult = { outcome: 'no-change', plan, text, base, branch: o.branch, ...(diff === undefined ? {} : { diff }) };
  // What this run compares: what it may rebuild or retire on its branch, and nothing else.
  const scope: Scope = { dir, kinds, namespaces: [...proposal.manifests.map((m) => m.ref.namespace), ...proposal.heldBackRefs.map((r) => r.namespace)] };
  if (diff === undefined || diff.summary.changes === 0) {
    if (o.dryRun) return result;
    const stale = await retireStale(git, o, base, baseCommit, scope);
    return stale === undefined ? result : { ...result, stale };
  }
  if (o.dryRun) return { ...result, outcome: 'dry-run' };

  const elsewhere = await git.worktreesOn(o.branch);
  if (elsewhere.length > 0) {
    throw new RemoteError(`pr: ${printable(o.branch)} is checked out in ${elsewhere.map(printable).join(', ')}; ztmap would move it under that work tree. Check out another branch there, or pass another --branch.`, undefined);
  }
  const localHead = await git.commitOf(`refs/heads/${o.branch}`);
  const remoteHead = o.push === undefined ? undefined : await git.fetchBranch(o.push, o.branch);
  // ztmap rebuilds its branch from the base on each run: only over commits it made itself, and
  // only over a change within what this run compares. Another job sharing the --branch (another
  // --policies-path, other targets or namespaces) made its commit too: rebuilding would replace
  // that job's proposal, and rewrite its pull request, with this one.
  for (const [head, where] of [[localHead, 'locally'], [remoteHead, `on ${withoutCredentials(o.push ?? '')}`]] as const) {
    if (head === undefined) continue;
    if (!(await git.ztmapCommit(head, baseCommit, o.push))) {
      throw new RemoteError(
        `pr: the branch ${printable(o.branch)} ${printable(where)} holds commits ztmap did not make (${head.slice(0, 12)}: someone's commit, an amended one, or one on another base); rebuilding it would discard them. Merge or move that work, delete the branch, or pass another --branch.`,
        undefined,
      );
    }
    const outside = await outOfScope(git, head, scope);
    if (outside.length > 0) {
      throw new RemoteError(
        `pr: the branch ${printable(o.branch)} ${printable(where)} holds a ztmap commit (${head.slice(0, 12)}) that changes files outside what this run compares (${shownPaths(outside)}): another job's proposal on the same --branch (another --policies-path, other targets or namespaces); rebuilding it would replace that proposal and its pull request. Give each job its own --branch, or delete the branch if no job needs it.`,
        undefined,
      );
    }
  }
  const previous = o.push === undefined ? localHead : remoteHead;
  const commit = await git.commit({
    parent: baseCommit,
    writes: plan.writes.map((w) => ({ path: dir === '' ? w.path : `${dir}/${w.path}`, text: w.text })),
    message: text.message,
    ...(o.author === undefined ? {} : { author: o.author }),
  });
  if (commit === undefined) return result;
  const github = o.github === undefined ? undefined : new GitHubRepository({ ...o.github, userAgent: o.userAgent });
  // Maybe a person closed the pull request on this proposal (and kept or deleted its branch):
  // pushing it again would only bring back what they said no to. Asked before the push; if GitHub
  // fails here, the branch is pushed anyway and that failure reported (the documented order: the
  // branch is pushed, then GitHub is asked).
  // A person's "no" stands until the proposal itself changes: what ztmap's commit changes is
  // compared with what the closed pull request's commit changed (read from the remote, which
  // keeps it as refs/pull/N/head), not the repository's tree, which any commit on the base changes.
  const same: SameProposal = async (closed) => {
    if (closed.sha === commit) return true;
    // GitHub no longer has the commit, or will not give it: then nothing says the proposal is the one closed.
    if (o.push === undefined || !(await git.fetchPull(o.push, closed.number, closed.sha))) return false;
    return (await git.changeOf(closed.sha)) === (await git.changeOf(commit));
  };
  // GitHub failing here is reported after the push (the documented order), as it failed: not asked again.
  let failed: { err: unknown } | undefined;
  const before =
    github === undefined || o.push === undefined
      ? undefined
      : await github.pullsFrom(o.branch, base).catch((err: unknown) => {
          failed = { err };
          return undefined;
        });
  if (github !== undefined && before !== undefined) {
    const closed = await github.closedOn(before, same).catch(() => undefined);
    if (closed !== undefined) return { ...result, outcome: 'left-closed', pullRequest: closed };
  }
  let done: PrResult;
  if (previous !== undefined && (await git.treeOf(previous)) === (await git.treeOf(commit))) {
    // The branch already holds this proposal: a second run over the same traffic adds nothing.
    done = { ...result, outcome: 'unchanged-branch', commit: previous };
  } else {
    await git.setBranch(o.branch, commit, localHead);
    if (o.push !== undefined) await git.push(o.push, o.branch, remoteHead);
    done = { ...result, outcome: 'committed', commit, ...(o.push === undefined ? {} : { pushed: o.push }) };
  }
  if (github === undefined) return done;
  if (failed !== undefined) throw failed.err;
  return { ...done, pullRequest: await github.openOrUpdate({ head: o.branch, base, title: text.title, body: text.body, same }, before) };
}

/** What a run compared: its policies path, and the kinds and namespaces its proposal manages. */
interface Scope {
  dir: string;
  kinds: string[];
  namespaces: string[];
}

/**
 * When there is nothing to propose, ztmap's branch from an earlier run (and its pull request)
 * proposes what the base no longer needs. Made by ztmap only, and changing only what this run
 * compared: the remote branch is deleted (with its lease: not over a push made since), then its
 * open pull request closed with a comment (with --github-repo), and the local branch deleted.
 * Anything else is left, and said so. Undefined when there is no branch.
 */
async function retireStale(git: GitRepo, o: PrOptions, base: string, baseCommit: string, scope: Scope): Promise<StaleBranch | undefined> {
  // A branch merged into the base (or squashed into it, the same tree) proposes nothing the base lacks: not stale.
  const baseTree = await git.treeOf(baseCommit);
  let undecided = false;
  const stale = async (head: string | undefined) => {
    if (head === undefined || (await git.treeOf(head)) === baseTree) return undefined;
    const merged = await git.inHistoryIfKnown(head, baseCommit, o.push);
    if (merged === undefined) undecided = true;
    return merged === true ? undefined : head;
  };
  const localHead = await stale(await git.commitOf(`refs/heads/${o.branch}`));
  const remoteHead = await stale(o.push === undefined ? undefined : await git.fetchBranch(o.push, o.branch));
  if (localHead === undefined && remoteHead === undefined) return undefined;
  const found: StaleBranch = {
    branch: o.branch,
    ztmaps: true,
    ...(localHead === undefined ? {} : { local: { commit: localHead, deleted: false } }),
    ...(remoteHead === undefined ? {} : { remote: { name: o.push!, commit: remoteHead, deleted: false } }),
    ...(o.push === undefined ? {} : { pushedTo: o.push }),
  };
  // A shallow clone without a remote to fetch the history from: nothing says whose the branch is.
  if (undecided) return { ...found, left: { undecided: true } };
  for (const head of [localHead, remoteHead]) if (head !== undefined && !(await git.ztmapCommit(head, baseCommit, o.push))) found.ztmaps = false;
  if (!found.ztmaps) return found;
  const outside = new Set<string>();
  for (const head of [localHead, remoteHead]) if (head !== undefined) for (const path of await outOfScope(git, head, scope)) outside.add(path);
  if (outside.size > 0) return { ...found, left: { outOfScope: [...outside] } };
  if (remoteHead !== undefined && o.github !== undefined) {
    const github = new GitHubRepository({ ...o.github, userAgent: o.userAgent });
    const open = await github.openFrom(o.branch);
    const ours = open.filter((p) => p.base === base);
    const pushedOver = ours.find((p) => p.sha !== remoteHead);
    if (pushedOver !== undefined) return { ...found, left: { pushedOver: { number: pushedOver.number, url: pushedOver.url, action: 'unchanged', sha: pushedOver.sha } } };
    const others = open.filter((p) => p.base !== base);
    if (others.length > 0) return { ...found, left: { otherPulls: others.map((p) => ({ number: p.number, url: p.url, action: 'unchanged', base: p.base })) } };
    // A person's branch stacked on ztmap's, reviewed in a pull request into it: GitHub closes every
    // open pull request into a branch that is deleted.
    const into = await github.openInto(o.branch);
    if (into.length > 0) return { ...found, left: { pullsInto: into } };
    const pull = ours[0];
    // 1. Mark the pull request superseded, still open. Deleting its head branch makes GitHub close
    //    it: if this run stops after that, the mark says the close was ztmap's, not a person's "no".
    if (pull !== undefined) await github.markSuperseded(pull);
    // 2. Delete the branch, with its lease: a push made since ztmap read it fails the deletion, and
    //    nothing is closed. Already gone: another run retired it at the same time (its close and
    //    comment are that run's), or a person deleted it; either way, done.
    if ((await git.deleteRemoteBranch(o.push!, o.branch, remoteHead)) === 'gone') found.remote!.gone = true;
    else {
      found.remote!.deleted = true;
      // 3. and 4. Close it and say why.
      if (pull !== undefined) found.pullRequest = await closeAfterDeletion(github, pull, o, base);
    }
  }
  // The local branch is ztmap's scratch, rebuilt from the base on each run; never one checked out.
  if (localHead !== undefined && (await git.worktreesOn(o.branch)).length === 0) {
    await git.deleteBranch(o.branch, localHead);
    found.local!.deleted = true;
  }
  return found;
}

/** The paths `head` changes (against its parent) outside what this run compares. */
async function outOfScope(git: GitRepo, head: string, scope: Scope): Promise<string[]> {
  const outside: string[] = [];
  for (const path of await git.changedPaths(head)) if (!(await pathInScope(git, head, path, scope))) outside.push(path);
  return outside;
}

/** Whether `head`'s change of `path` lies within what this run compares: its policies path, kinds and namespaces. */
async function pathInScope(git: GitRepo, head: string, path: string, scope: Scope): Promise<boolean> {
  if (scope.dir !== '' && !path.startsWith(`${scope.dir}/`)) return false;
  if (!/\.ya?ml$/.test(path)) return false;
  const textAt = async (commit: string) => {
    const entry = (await git.files(commit, path)).find((e) => e.path === path);
    return entry === undefined ? undefined : (await git.blob(entry.sha)).toString('utf8');
  };
  return changeInScope(await textAt(`${head}^`), await textAt(head), scope.kinds, scope.namespaces);
}

const shownPaths = (paths: string[]) => `${paths.slice(0, 5).map(printable).join(', ')}${paths.length > 5 ? `, and ${paths.length - 5} more` : ''}`;

/**
 * Closes the pull request of a branch just deleted, and comments why. GitHub closed it already
 * with its head branch, and it is marked superseded: a failure here leaves only the comment
 * missing, and the error says what was done.
 */
async function closeAfterDeletion(github: GitHubRepository, pull: OpenFrom, o: PrOptions, base: string): Promise<PullRequestRef> {
  try {
    return await github.closeSuperseded(pull, supersededComment(base));
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    throw new RemoteError(
      `${err.message} ztmap had already deleted ${printable(o.branch)} on ${printable(withoutCredentials(o.push!))}, so GitHub has closed pull request #${pull.number} with it; it is marked superseded, so a later proposal is not held back. Only the comment saying why is missing: nothing is left for a run to do.`,
      err.status,
      { retriable: err.retriable, cause: err },
    );
  }
}

const supersededComment = (base: string) =>
  `Closed by ztmap: \`${base}\` already decides every request as ztmap's current proposal does, so this pull request's change is superseded — it carries an earlier proposal, and merging it now would undo what \`${base}\` holds (for example, deny traffic that was seen again since). ztmap deleted its branch, which held only ztmap's commit; when traffic changes, the next run opens a new pull request.`;

/** What the summary says of a stale branch: what was done, and what is left to do. */
export function staleSummary(s: StaleBranch, base: string): string[] {
  const at = (c: string) => c.slice(0, 12);
  const heads = [s.local?.commit, s.remote?.commit].filter((c): c is string => c !== undefined).map(at).filter((c, i, all) => all.indexOf(c) === i).join(', ');
  if (s.left?.undecided === true) {
    return [`pr: ${printable(s.branch)} (${heads}) is left as it is: in this shallow clone ztmap cannot tell whether it was made on ${printable(base)}'s history, and without --push there is nowhere to fetch that history from. Fetch it (git fetch --unshallow) to have ztmap decide.`];
  }
  if (!s.ztmaps) {
    return [`pr: ${printable(s.branch)} (${heads}) holds commits ztmap did not make; ztmap leaves it as it is.`];
  }
  if (s.left?.outOfScope !== undefined) {
    return [`pr: ${printable(s.branch)} (${heads}) changes files outside what this run compared (${shownPaths(s.left.outOfScope)}): another --policies-path, other targets or namespaces; ztmap leaves it as it is.`];
  }
  if (s.left?.pushedOver !== undefined) {
    return [`pr: pull request #${s.left.pushedOver.number} (${printable(s.left.pushedOver.url)}) is at ${at(s.left.pushedOver.sha)}, not ${heads}, the commit ztmap read on ${printable(s.branch)}: someone pushed to it. ztmap leaves the branch and the pull request as they are.`];
  }
  if (s.left?.otherPulls !== undefined) {
    const pulls = s.left.otherPulls.map((p) => `#${p.number} into ${printable(p.base)}`).join(', ');
    return [`pr: ${printable(s.branch)} (${heads}) is the head of open pull requests into other bases (${pulls}), which deleting it would close; ztmap leaves the branch and its pull requests as they are.`];
  }
  if (s.left?.pullsInto !== undefined) {
    const pulls = s.left.pullsInto.map((p) => `#${p.number} from ${printable(p.head)}`).join(', ');
    return [`pr: ${printable(s.branch)} (${heads}) is the base of open pull requests (${pulls}), which deleting it would close; ztmap leaves the branch and the pull requests as they are. Once they are merged or closed, the next run retires it.`];
  }
  const lines: string[] = [];
  if (s.pullRequest !== undefined) lines.push(`pr: pull request #${s.pullRequest.number} closed as superseded (with a comment saying why): ${printable(s.pullRequest.url)}`);
  if (s.remote?.gone === true) lines.push(`pr: ${printable(s.branch)} (${at(s.remote.commit)}) on ${printable(withoutCredentials(s.remote.name))} was deleted meanwhile (another run retiring it at the same time, or a person), and its pull request closed with it; nothing is left to do there`);
  if (s.remote?.deleted === true) lines.push(`pr: deleted ${printable(s.branch)} (${at(s.remote.commit)}) on ${printable(withoutCredentials(s.remote.name))}: it proposed an earlier change that ${printable(base)} no longer needs`);
  if (s.local?.deleted === true) lines.push(`pr: deleted the local branch ${printable(s.branch)} (${at(s.local.commit)}): it proposed an earlier change that ${printable(base)} no longer needs`);
  if (s.local?.deleted === false) lines.push(`pr: the local branch ${printable(s.branch)} (${at(s.local.commit)}) is checked out, so it is left; it proposes an earlier change that ${printable(base)} no longer needs.`);
  if (s.remote?.deleted === false && s.remote.gone !== true) {
    lines.push(
      `pr: ${printable(s.branch)} (${at(s.remote.commit)}) on ${printable(withoutCredentials(s.remote.name))} still proposes an earlier change that ${printable(base)} no longer needs; merging its pull request would undo that. Without --github-repo and a token ztmap leaves it: close its pull request, and delete the branch (git push ${printable(withoutCredentials(s.remote.name))} --delete ${printable(s.branch)}), or run again with --github-repo.`,
    );
  }
  if (s.remote === undefined && s.pushedTo === undefined && s.local?.deleted === true) lines.push(`pr: if you pushed ${printable(s.branch)}, delete it on the remote and close its pull request, or run again with --push and --github-repo.`);
  return lines;
}
