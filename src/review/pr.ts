// A proposal (`ztmap propose`'s policies/) planned into a repository's policies: which
// manifests are added, changed or removed, and the new bytes of each file that changes, in
// the repository's own layout (layout.ts). Pure but for reading the proposal directory.
//
// - A manifest already in the repository (same kind, namespace and name) is changed where it
//   is, only when what it says differs (its comments and observed-request count aside): a
//   second run over the same traffic changes nothing.
// - The repository's rollout state wins for objects already there: an AuthorizationPolicy the
//   team put in dry-run (`istio.io/dry-run`) keeps that annotation as the team left it.
// - A manifest ztmap generated earlier (`ztmap.io/generated-by`) of a kind the proposal covers,
//   and no longer proposed, is removed; hand-written policies are never touched.
// - Manifests `propose` held back (`*.yaml.not-ready`: STRICT mTLS with blockers) stay out.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { InputError } from '../errors.js';
import { parseObjects } from '../inventory/load.js';
import { policySetOf, type ManifestProblem, type PolicySet } from '../verify/manifests.js';
import { compare } from '../flow/compare.js';
import { detectLayout, fillTemplate, joinDocuments, refKey, refOf, splitDocuments, type Layout, type ObjectRef, type RepoFile, type YamlDocument } from './layout.js';

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

export interface Plan {
  layout: Layout;
  changes: ManifestChange[];
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
  for (const file of files) {
    if (file.endsWith('.not-ready')) heldBack.push(file);
    if (!/\.ya?ml$/.test(file)) continue;
    const text = await readFile(join(dir, file), 'utf8');
    const docs = splitDocuments(text).filter((d) => d.ref !== undefined);
    if (docs.length !== 1) throw new InputError(`pr: ${join(dir, file)} holds ${docs.length} policies; \`ztmap propose\` writes one per file. Pass --proposal the policies directory it wrote.`);
    manifests.push({ ref: docs[0]!.ref!, object: docs[0]!.object!, text, file });
  }
  return { manifests, heldBack, review, rules };
}

const annotations = (o: Record<string, unknown>): Record<string, unknown> => {
  const a = (o['metadata'] as Record<string, unknown> | undefined)?.['annotations'];
  return a !== null && typeof a === 'object' ? (a as Record<string, unknown>) : {};
};

const generatedByZtmap = (o: Record<string, unknown>) => typeof annotations(o)[GENERATED_BY] === 'string';

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

/**
 * The plan: each proposed manifest changed in place, or added at its layout path; each
 * earlier ztmap manifest of the proposal's kinds no longer proposed removed.
 */
export function planProposal(o: { existing: readonly RepoFile[]; proposal: readonly ProposedManifest[]; kinds: readonly string[] }): Plan {
  const layout = detectLayout(o.existing);
  const files = new Map<string, YamlDocument[]>();
  const where = new Map<string, Located>();
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
  let unchanged = 0;
  const proposed = [...o.proposal].sort((a, b) => compare(refKey(a.ref), refKey(b.ref)));
  const proposedKeys = new Set(proposed.map((p) => refKey(p.ref)));
  for (const p of proposed) {
    const at = where.get(refKey(p.ref));
    if (at !== undefined) {
      const doc = files.get(at.path)![at.index]!;
      if (sameMeaning(doc.object!, p.object)) {
        unchanged++;
        continue;
      }
      doc.text = withRolloutState(p, doc.object!);
      touched.add(at.path);
      changes.push({ change: 'changed', ref: p.ref, path: at.path });
      continue;
    }
    const path = fillTemplate(layout.template, p.ref);
    const docs = files.get(path) ?? [];
    const last = docs[docs.length - 1];
    if (last !== undefined && last.text !== '' && !last.text.endsWith('\n')) last.text += '\n';
    docs.push({ separator: docs.length === 0 ? '' : '---\n', text: p.text, object: p.object, ref: p.ref });
    files.set(path, docs);
    touched.add(path);
    changes.push({ change: 'added', ref: p.ref, path });
  }
  for (const [key, at] of [...where].sort((a, b) => compare(a[0], b[0]))) {
    const doc = files.get(at.path)![at.index]!;
    if (proposedKeys.has(key) || !o.kinds.includes(doc.ref!.kind) || !generatedByZtmap(doc.object!)) continue;
    removed.add(`${at.path}\n${at.index}`);
    touched.add(at.path);
    changes.push({ change: 'removed', ref: doc.ref!, path: at.path });
  }
  const writes: FileWrite[] = [];
  for (const path of [...touched].sort(compare)) {
    const docs = files.get(path)!.filter((_d, i) => !removed.has(`${path}\n${i}`));
    const left = docs.filter((d) => d.text.trim() !== '' && d.object !== undefined);
    if (left.length === 0) {
      if (o.existing.some((f) => f.path === path)) writes.push({ path, text: null });
      continue;
    }
    // A file that now starts with a separator keeps it: valid YAML, and the fewest bytes changed.
    writes.push({ path, text: joinDocuments(docs) });
  }
  const order: Record<ChangeKind, number> = { removed: 0, changed: 1, added: 2 };
  changes.sort((a, b) => compare(a.path, b.path) || order[a.change] - order[b.change] || compare(refKey(a.ref), refKey(b.ref)));
  return { layout, changes, writes, unchanged };
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
