// A proposal (`ztmap propose`'s policies/) planned into a repository's policies: which
// manifests are added, changed or removed, and the new bytes of each file that changes, in
// the repository's own layout (layout.ts). Pure but for reading the proposal directory.
//
// - A manifest already in the repository (same kind, namespace and name) is changed where it
//   is, only when what it says differs (its comments and observed-request count aside): a
//   second run over the same traffic changes nothing.
// - The repository's rollout state wins for objects already there: an AuthorizationPolicy the
//   team put in dry-run (`istio.io/dry-run`) keeps that annotation as the team left it.
// - Only documents ztmap generated (`ztmap.io/generated-by`) are changed or removed: a
//   hand-written policy with a proposed manifest's name stays as it is, and the clash is a risk.
// - A manifest ztmap generated earlier, of a kind the proposal covers, in a namespace the
//   proposal manages, and no longer proposed, is removed. A file is deleted only when nothing
//   but whitespace is left in it.
// - Manifests `propose` held back (`*.yaml.not-ready`: STRICT mTLS with blockers) stay out, and
//   what the repository holds under their names stays in.
// - New documents go into files that hold ztmap's documents or into new files (beside a team's
//   own file: `default.ztmap.yaml`), with the file's own line breaks; a file that is not UTF-8
//   is never written.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { InputError } from '../errors.js';
import { safeTreePath } from './git.js';
import { parseObjects } from '../inventory/load.js';
import { policySetOf, type ManifestProblem, type PolicySet } from '../verify/manifests.js';
import { compare } from '../flow/compare.js';
import { printable } from '../text.js';
import { DEFAULT_TEMPLATE, detectLayout, fillTemplate, joinDocuments, refKey, splitDocuments, type Layout, type ObjectRef, type RepoFile, type YamlDocument } from './layout.js';

export interface ProposedManifest {
  ref: ObjectRef;
  object: Record<string, unknown>;
  text: string;
  /** Its path in the proposal directory. */
  file: string;
}

export interface Proposal {
  manifests: ProposedManifest[];
  /** Files `propose` held back from applying (`*.yaml.not-ready`), relative to the proposal directory. */
  heldBack: string[];
  /** The objects of those files: proposed, though not in this pull request. */
  heldBackRefs: ObjectRef[];
  /** review.json and rules.json, as read (validated by pr-body.ts). */
  review: unknown;
  rules: unknown;
}

type ChangeKind = 'added' | 'changed' | 'removed';

export interface ManifestChange {
  change: ChangeKind;
  ref: ObjectRef;
  /** The file, relative to the policies directory. */
  path: string;
}

/** A file's new content, or null to delete it; paths relative to the policies directory. */
interface FileWrite {
  path: string;
  text: string | null;
}

/** A proposed manifest whose kind, namespace and name a hand-written document already has: left as it is. */
interface NameConflict {
  ref: ObjectRef;
  path: string;
}

export interface Plan {
  layout: Layout;
  changes: ManifestChange[];
  conflicts: NameConflict[];
  writes: FileWrite[];
  /** Proposed manifests the repository already holds as they are. */
  unchanged: number;
}

const GENERATED_BY = 'ztmap.io/generated-by';
/** Annotations that vary with the window, not with what a policy allows. */
const VOLATILE = ['ztmap.io/observed-requests'];
const DRY_RUN = 'istio.io/dry-run';

async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => compare(a.name, b.name))) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await walk(dir, p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function readJson(dir: string, name: string): Promise<unknown> {
  const path = join(dir, name);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    throw new InputError(`pr: cannot read ${path} (${(err as Error).message}). Pass --proposal the policies directory \`ztmap propose\` wrote (for example output/policies).`);
  }
}

/** The proposal `ztmap propose` wrote: its manifests, held-back files, review.json and rules.json. */
export async function readProposal(dir: string): Promise<Proposal> {
  let files: string[];
  try {
    files = await walk(dir);
  } catch (err) {
    throw new InputError(`pr: cannot read the proposal ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Pass --proposal the policies directory \`ztmap propose\` wrote (for example output/policies).`);
  }
  const review = await readJson(dir, 'review.json');
  const rules = await readJson(dir, 'rules.json');
  const manifests: ProposedManifest[] = [];
  const heldBack: string[] = [];
  const heldBackRefs: ObjectRef[] = [];
  for (const file of files) {
    const notReady = file.endsWith('.not-ready');
    if (notReady) heldBack.push(file);
    if (!/\.ya?ml(?:\.not-ready)?$/.test(file)) continue;
    const text = await readFile(join(dir, file), 'utf8');
    const docs = splitDocuments(text).filter((d) => d.ref !== undefined);
    if (docs.length !== 1) throw new InputError(`pr: ${printable(join(dir, file))} holds ${docs.length} policies; \`ztmap propose\` writes one per file. Pass --proposal the policies directory it wrote.`);
    const ref = docs[0]!.ref!;
    // Names become file names and index lines: only what Kubernetes itself accepts.
    if (!DNS_SUBDOMAIN.test(ref.name) || ref.name.length > 253 || !DNS_LABEL.test(ref.namespace) || ref.namespace.length > 63) {
      throw new InputError(`pr: ${printable(join(dir, file))}: ${ref.kind} ${JSON.stringify(printable(`${ref.namespace}/${ref.name}`))} is not a Kubernetes name (a DNS-1123 namespace and name). Pass --proposal the policies directory \`ztmap propose\` wrote.`);
    }
    if (notReady) heldBackRefs.push(ref);
    else manifests.push({ ref, object: docs[0]!.object!, text, file });
  }
  return { manifests, heldBack, heldBackRefs, review, rules };
}

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** A file of the repository from its blob: its text when UTF-8, else its bytes one per character, marked undecodable. */
export function repoFile(path: string, bytes: Buffer): RepoFile {
  try {
    return { path, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { path, text: bytes.toString('latin1'), undecodable: true };
  }
}

const annotations = (o: Record<string, unknown>): Record<string, unknown> => {
  const a = (o['metadata'] as Record<string, unknown> | undefined)?.['annotations'];
  return a !== null && typeof a === 'object' ? (a as Record<string, unknown>) : {};
};

const generatedByZtmap = (o: Record<string, unknown> | undefined) => o !== undefined && typeof annotations(o)[GENERATED_BY] === 'string';

/** JSON with sorted keys: two objects that say the same have the same canonical form. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort(compare)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The object without what varies with the window or is the repository's rollout state. */
function meaning(o: Record<string, unknown>): string {
  const copy = structuredClone(o);
  const a = annotations(copy);
  for (const k of [...VOLATILE, DRY_RUN]) delete a[k];
  const metadata = copy['metadata'] as Record<string, unknown> | undefined;
  if (metadata !== undefined && Object.keys(a).length === 0) delete metadata['annotations'];
  return canonical(copy);
}

const sameMeaning = (a: Record<string, unknown>, b: Record<string, unknown>) => meaning(a) === meaning(b);

/** The proposed text with the repository's dry-run annotation (or its absence) carried over. */
function withRolloutState(p: ProposedManifest, existing: Record<string, unknown>): string {
  const theirs = annotations(existing)[DRY_RUN];
  const ours = annotations(p.object)[DRY_RUN];
  if (theirs === ours) return p.text;
  const doc = YAML.parseDocument(p.text, { version: '1.2' });
  if (theirs === undefined) doc.deleteIn(['metadata', 'annotations', DRY_RUN]);
  else doc.setIn(['metadata', 'annotations', DRY_RUN], theirs);
  return doc.toString({ lineWidth: 0, indentSeq: true, directives: false });
}

interface Located {
  path: string;
  index: number;
}

/** The line break a file uses (its first one), `\n` for a file without any. */
const lineBreakOf = (text: string) => (/\r\n|\n/.exec(text)?.[0] ?? '\n');
const withLineBreak = (text: string, eol: string) => (eol === '\n' ? text : text.replace(/\r?\n/g, eol));

/**
 * The plan: each proposed manifest changed in place (when ztmap generated what is there), or
 * added at its layout path; each earlier ztmap manifest of the proposal's kinds and namespaces
 * no longer proposed removed.
 */
export function planProposal(o: { existing: readonly RepoFile[]; proposal: readonly ProposedManifest[]; heldBack?: readonly ObjectRef[]; kinds: readonly string[] }): Plan {
  const layout = detectLayout(o.existing);
  const files = new Map<string, YamlDocument[]>();
  const where = new Map<string, Located>();
  const existing = new Map(o.existing.map((f) => [f.path, f]));
  for (const f of [...o.existing].sort((a, b) => compare(a.path, b.path))) {
    const docs = splitDocuments(f.text);
    files.set(f.path, docs);
    docs.forEach((d, index) => {
      // kubectl apply keeps the later of two definitions; so does the plan.
      if (d.ref !== undefined) where.set(refKey(d.ref), { path: f.path, index });
    });
  }
  const touched = new Set<string>();
  const removed = new Set<string>();
  const changes: ManifestChange[] = [];
  const conflicts: NameConflict[] = [];
  let unchanged = 0;
  const proposed = [...o.proposal].sort((a, b) => compare(refKey(a.ref), refKey(b.ref)));
  const heldBack = o.heldBack ?? [];
  const keep = new Set([...proposed, ...heldBack.map((ref) => ({ ref }))].map((p) => refKey(p.ref)));
  const managed = new Set([...proposed.map((p) => p.ref.namespace), ...heldBack.map((r) => r.namespace)]);
  const hasZtmapDocument = (path: string) => (files.get(path) ?? []).some((d) => generatedByZtmap(d.object));
  const writable = (path: string) => existing.get(path)?.undecodable !== true;
  for (const p of proposed) {
    const at = where.get(refKey(p.ref));
    if (at !== undefined) {
      const doc = files.get(at.path)![at.index]!;
      if (sameMeaning(doc.object!, p.object)) {
        unchanged++;
        continue;
      }
      if (!generatedByZtmap(doc.object) || !writable(at.path)) {
        conflicts.push({ ref: p.ref, path: at.path });
        continue;
      }
      doc.text = withLineBreak(withRolloutState(p, doc.object!), lineBreakOf(existing.get(at.path)!.text));
      touched.add(at.path);
      changes.push({ change: 'changed', ref: p.ref, path: at.path });
      continue;
    }
    // A new document never goes into a file of the team's own (nor one ztmap cannot write):
    // it goes beside it, `default.yaml` → `default.ztmap.yaml`, or else to ztmap's own layout.
    const laidOut = fillTemplate(layout.template, p.ref);
    const ours = (f: string) => !files.has(f) || (hasZtmapDocument(f) && writable(f));
    const path = [laidOut, laidOut.replace(/(\.ya?ml)$/, '.ztmap$1'), fillTemplate(DEFAULT_TEMPLATE, p.ref)].find(ours);
    if (path === undefined) {
      conflicts.push({ ref: p.ref, path: laidOut });
      continue;
    }
    if (!safeTreePath(path)) throw new InputError(`pr: ${p.ref.kind} ${JSON.stringify(printable(`${p.ref.namespace}/${p.ref.name}`))} would be written to ${JSON.stringify(printable(path))}, outside the policies directory.`);
    const docs = files.get(path) ?? [];
    const eol = lineBreakOf(existing.get(path)?.text ?? '');
    const last = docs[docs.length - 1];
    if (last !== undefined && last.text !== '' && !last.text.endsWith('\n')) last.text += eol;
    docs.push({ separator: docs.length === 0 ? '' : `---${eol}`, text: withLineBreak(p.text, eol), object: p.object, ref: p.ref });
    files.set(path, docs);
    touched.add(path);
    changes.push({ change: 'added', ref: p.ref, path });
  }
  for (const [key, at] of [...where].sort((a, b) => compare(a[0], b[0]))) {
    const doc = files.get(at.path)![at.index]!;
    if (keep.has(key) || !o.kinds.includes(doc.ref!.kind) || !managed.has(doc.ref!.namespace) || !generatedByZtmap(doc.object) || !writable(at.path)) continue;
    removed.add(`${at.path}\n${at.index}`);
    touched.add(at.path);
    changes.push({ change: 'removed', ref: doc.ref!, path: at.path });
  }
  const writes: FileWrite[] = [];
  for (const path of [...touched].sort(compare)) {
    const docs = files.get(path)!.filter((_d, i) => !removed.has(`${path}\n${i}`));
    // Deleted only when nothing is left: a comment, a template or any other text is someone's.
    if (docs.every((d) => d.text.trim() === '')) {
      if (existing.has(path)) writes.push({ path, text: null });
      continue;
    }
    // A file that now starts with a separator keeps it: valid YAML, and the fewest bytes changed.
    writes.push({ path, text: joinDocuments(docs) });
  }
  const order: Record<ChangeKind, number> = { removed: 0, changed: 1, added: 2 };
  changes.sort((a, b) => compare(a.path, b.path) || order[a.change] - order[b.change] || compare(refKey(a.ref), refKey(b.ref)));
  conflicts.sort((a, b) => compare(refKey(a.ref), refKey(b.ref)));
  return { layout, changes, conflicts, writes, unchanged };
}

/**
 * Whether every document a commit changes in a policy file (`before` and `after` its change;
 * undefined where the file is absent) is of one of `kinds` in one of `namespaces`: a change a run
 * with this proposal compared, and would make again or undo. Documents the commit leaves as they
 * are (a person's, of another kind, in the same file) do not count. A changed document ztmap
 * cannot read, or of another kind or namespace, is another run's (or a person's).
 */
export function changeInScope(before: string | undefined, after: string | undefined, kinds: readonly string[], namespaces: readonly string[]): boolean {
  const docs = (text: string | undefined) => (text === undefined ? [] : splitDocuments(text));
  const notIn = (a: YamlDocument[], b: YamlDocument[]) => a.filter((d) => !b.some((e) => e.text === d.text));
  const [was, is] = [docs(before), docs(after)];
  return [...notIn(was, is), ...notIn(is, was)].every((d) => (d.ref === undefined ? d.text.replace(/#.*$/gm, '').trim() === '' : kinds.includes(d.ref.kind) && namespaces.includes(d.ref.namespace)));
}

/** Policy files as one PolicySet, read as verify reads them; a document that is no object is a problem of its file. */
function policySetOfFiles(files: readonly RepoFile[]): PolicySet {
  const all: PolicySet = { authorization: [], peerAuthentication: [], networkPolicies: [], ignored: [], files: 0, problems: [], fileOf: new Map() };
  for (const f of [...files].sort((a, b) => compare(a.path, b.path))) {
    const problems: ManifestProblem[] = [];
    let set: PolicySet;
    try {
      set = policySetOf(parseObjects(f.text, f.path, 'policies', (message) => problems.push({ file: f.path, message })), f.path);
    } catch (err) {
      all.files++;
      all.problems.push({ file: f.path, message: (err as Error).message });
      continue;
    }
    all.authorization.push(...set.authorization);
    all.peerAuthentication.push(...set.peerAuthentication);
    all.networkPolicies.push(...set.networkPolicies);
    all.ignored.push(...set.ignored);
    all.problems.push(...problems, ...set.problems);
    for (const [k, file] of set.fileOf) all.fileOf.set(k, file);
    all.files++;
  }
  return all;
}

/** The repository's policies before and after the plan's writes: what the semantic diff compares. */
export function policySetsOfPlan(existing: readonly RepoFile[], plan: Plan): { before: PolicySet; after: PolicySet } {
  const after = new Map(existing.map((f) => [f.path, f.text]));
  for (const w of plan.writes) {
    if (w.text === null) after.delete(w.path);
    else after.set(w.path, w.text);
  }
  return { before: policySetOfFiles(existing), after: policySetOfFiles([...after].map(([path, text]) => ({ path, text }))) };
}
