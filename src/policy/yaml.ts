// The only YAML writer for manifests. Names and paths from telemetry must not break out of
// their scalars (docs/architecture.md, "Untrusted input"), so every scalar token (keys and
// values) is written by the `yaml` library, never by a string template of untrusted text.
// Keys: apiVersion, kind, metadata, spec; output is byte-stable.
//
// Speed (issue 12): the library's generic block stringifier cost ~22× JSON.stringify, most of
// `propose` at scale. So the block structure (indentation, `key: `, `- `, `{}`/`[]`, comment
// lines) is written here, and each scalar token is what the library writes for that scalar in
// that role, memoized. Anything this writer does not reproduce exactly (a scalar the library
// writes over several lines, a long key it writes as `? key`, a comment on a node other than a
// sequence item under a key, a value that is not plain JSON-like data) sends the whole manifest
// to the Document path, which stays the reference: test/policy/yaml-writer.test.ts checks that
// both write the same bytes.

import YAML from 'yaml';
import { compare } from '../flow/compare.js';
import { printable } from '../text.js';
import type { Manifest } from './manifest.js';

/** A comment placed before the node at `path` (e.g. `['spec', 'rules', 0]`). */
export interface NodeComment {
  path: (string | number)[];
  text: string;
}

function ordered(m: Manifest): Manifest {
  const metadata: Manifest['metadata'] = { name: m.metadata.name, namespace: m.metadata.namespace };
  if (m.metadata.labels !== undefined && Object.keys(m.metadata.labels).length > 0) metadata.labels = sortKeys(m.metadata.labels);
  if (m.metadata.annotations !== undefined && Object.keys(m.metadata.annotations).length > 0) metadata.annotations = sortKeys(m.metadata.annotations);
  return { apiVersion: m.apiVersion, kind: m.kind, metadata, spec: m.spec };
}

function sortKeys(r: Record<string, string>): Record<string, string> {
  // Emitters mostly make them in order already: then no copy (two per manifest, and each is ordered twice).
  const keys = Object.keys(r);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = compare(keys[i - 1]!, keys[i]!) < 0;
  return sorted ? r : Object.fromEntries(Object.entries(r).sort(([a], [b]) => compare(a, b)));
}

/**
 * Options chosen for speed with the same bytes: a manifest never holds one object twice on
 * purpose, so no anchors and aliases are looked for (`aliasDuplicateObjects: false`, which
 * also keeps a shared object from being written as an alias), and a manifest has no
 * directives, so toString does not walk the tree for tags to declare (`directives: false`).
 */
const DOCUMENT_OPTIONS = { version: '1.2', aliasDuplicateObjects: false } as const;
const TO_STRING_OPTIONS = { lineWidth: 0, indentSeq: true, directives: false } as const;

const commentLines = (lines: string[]) => lines.map((l) => ' ' + printable(l)).join('\n');

/** The reference writer: the library's Document. The fallback of manifestYaml, and its test oracle. */
export function manifestYamlByDocument(m: Manifest, header: string[] = [], comments: NodeComment[] = []): string {
  const doc = new YAML.Document(ordered(m), DOCUMENT_OPTIONS);
  if (header.length > 0) doc.commentBefore = commentLines(header);
  for (const c of comments) {
    const node = doc.getIn(c.path, true) as { commentBefore?: string } | undefined;
    if (node !== undefined && typeof node === 'object') node.commentBefore = commentLines(c.text.split('\n'));
  }
  return doc.toString(TO_STRING_OPTIONS);
}

/** Thrown inside the fast writer for a manifest it does not write exactly as the library would. */
class Unsupported extends Error {}

type Role = 'key' | 'value' | 'item';
type Scalar = string | number | boolean | null;

/**
 * The scalar token for a role is cut out of a small document that puts the scalar in that role
 * below the top level (a key's quoting differs at the top level, where only our own four keys
 * are), e.g. for a key `a:\n  <token>: 0\n`. A result not of that shape (a key written `? k`,
 * anything spanning lines) is recorded as null: unsupported.
 */
const SAMPLES: Record<Role, { make: (v: Scalar) => unknown; before: string; after: string }> = {
  key: { make: (v) => ({ a: { [String(v)]: 0 } }), before: 'a:\n  ', after: ': 0\n' },
  value: { make: (v) => ({ a: { b: v } }), before: 'a:\n  b: ', after: '\n' },
  item: { make: (v) => ({ a: { b: [v] } }), before: 'a:\n  b:\n    - ', after: '\n' },
};

// Bounded: cleared when full, so a mesh of many distinct names costs at most a re-computation.
const MEMO_LIMIT = 50_000;
const memo: Record<Role, Map<Scalar, string | null>> = { key: new Map(), value: new Map(), item: new Map() };

function libraryToken(v: Scalar, role: Role): string | null {
  const s = SAMPLES[role];
  const out = new YAML.Document(s.make(v), DOCUMENT_OPTIONS).toString(TO_STRING_OPTIONS);
  if (!out.startsWith(s.before) || !out.endsWith(s.after)) return null;
  return tokenOrNull(out.slice(s.before.length, out.length - s.after.length));
}

const tokenOrNull = (token: string) => (token === '' || token.includes('\n') ? null : token);

/**
 * Many scalars in one role, in one small document (one line each, siblings under `a:`), as
 * SAMPLES puts one: a Document costs about as much to set up as to write ten scalars, so the
 * tokens of a manifest, or of all a target's manifests (prefetchTokens), are fetched together.
 * With lineWidth 0 nothing folds, and a line's token depends on its own scalar alone. A
 * document not of exactly that shape (a scalar over several lines, a key written `? k`) gives
 * null, and tokensOf splits the batch.
 */
const BATCHES: Record<Role, { make: (vs: Scalar[]) => unknown; before: string; line: (i: number) => [string, string] }> = {
  key: { make: (vs) => ({ a: Object.fromEntries(vs.map((v) => [String(v), 0])) }), before: 'a:\n', line: () => ['  ', ': 0'] },
  value: { make: (vs) => ({ a: Object.fromEntries(vs.map((v, i) => [`b${i}`, v])) }), before: 'a:\n', line: (i) => [`  b${i}: `, ''] },
  item: { make: (vs) => ({ a: { b: vs } }), before: 'a:\n  b:\n', line: () => ['    - ', ''] },
};

function libraryTokens(vs: Scalar[], role: Role): (string | null)[] | null {
  const b = BATCHES[role];
  // An object lists integer-like keys first, whatever their order of insertion: the keys' lines
  // come in the order the library reads them, Object.keys of the object made.
  const order = role === 'key' ? Object.keys((b.make(vs) as { a: object }).a) : vs;
  const out = new YAML.Document(b.make(order as Scalar[]), DOCUMENT_OPTIONS).toString(TO_STRING_OPTIONS);
  const lines = out.startsWith(b.before) && out.endsWith('\n') ? out.slice(b.before.length, -1).split('\n') : [];
  const tokens = new Map<Scalar, string | null>();
  for (let i = 0; i < order.length && lines.length === order.length; i++) {
    const [before, after] = b.line(i);
    const l = lines[i]!;
    if (!l.startsWith(before) || !l.endsWith(after) || l.length < before.length + after.length) break;
    tokens.set(order[i]!, tokenOrNull(l.slice(before.length, l.length - after.length)));
  }
  return tokens.size === vs.length ? vs.map((v) => tokens.get(role === 'key' ? String(v) : v)!) : null;
}

/**
 * The tokens of `vs`, in as few documents as their shape allows: a batch that is not of the
 * expected shape (one scalar spans lines) is split in halves, down to that scalar alone.
 */
function tokensOf(vs: Scalar[], role: Role): (string | null)[] {
  if (vs.length === 1) return [libraryToken(vs[0]!, role)];
  const batch = libraryTokens(vs, role);
  if (batch !== null) return batch;
  const half = vs.length >> 1;
  return [...tokensOf(vs.slice(0, half), role), ...tokensOf(vs.slice(half), role)];
}

function remember(role: Role, v: Scalar, t: string | null): void {
  const m = memo[role];
  if (m.size >= MEMO_LIMIT) m.clear();
  m.set(v, t);
}

/**
 * Scalars whose token is not memoized yet, by role, while a manifest is written: a first
 * attempt only gathers them (with empty tokens) and the manifest is written again once they
 * are fetched together. Outside such an attempt (null) a miss is fetched on its own.
 */
let misses: Record<Role, Set<Scalar>> | null = null;

function token(v: Scalar, role: Role): string {
  // The memo's keys compare by SameValueZero, which makes -0 and 0 one key; the library writes them apart.
  let t = Object.is(v, -0) ? libraryToken(v, role) : memo[role].get(v);
  if (t === undefined) {
    if (misses !== null) {
      misses[role].add(v);
      return '';
    }
    remember(role, v, (t = libraryToken(v, role)));
  }
  if (t === null) throw new Unsupported();
  return t;
}

/** Scalars per library document when misses are fetched. */
const BATCH = 512;

/** Fetch the gathered misses, one library call per role and BATCH scalars. */
function fetchMisses(found: Record<Role, Set<Scalar>>): void {
  for (const role of ['key', 'value', 'item'] as const) {
    const all = [...found[role]];
    for (let at = 0; at < all.length; at += BATCH) {
      const vs = all.slice(at, at + BATCH);
      const tokens = tokensOf(vs, role);
      vs.forEach((v, i) => remember(role, v, tokens[i]!));
    }
  }
}

/** Each scalar of `v` in the role the Writer gives it (a map's key, a map's value, a sequence's item), when not memoized yet. */
function gatherMisses(v: unknown, found: Record<Role, Set<Scalar>>): void {
  if (Array.isArray(v)) {
    for (const x of v) {
      if (isScalar(x)) gatherMiss(x, 'item', found);
      else gatherMisses(x, found);
    }
  } else if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const x = o[k];
      if (x === undefined || !Object.hasOwn(o, k)) continue;
      gatherMiss(k, 'key', found);
      if (isScalar(x)) gatherMiss(x, 'value', found);
      else gatherMisses(x, found);
    }
  }
}

function gatherMiss(x: Scalar, role: Role, found: Record<Role, Set<Scalar>>): void {
  // -0 is never memoized (token), and as a Map key it would stand for 0.
  if (!memo[role].has(x) && !Object.is(x, -0)) found[role].add(x);
}

const isScalar = (v: unknown): v is Scalar => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Fetch the tokens of all `manifests` in a few library documents before they are written one
 * by one. Each manifest of a proposal brings a new scalar or two (a principal, a count) and
 * fetched them in documents of its own: 5,000 documents, 0.5 s at 5,000 workloads. What this
 * does not fetch (past the memo's bound) manifestYaml still fetches for itself.
 */
export function prefetchTokens(manifests: Iterable<Manifest>): void {
  const found: Record<Role, Set<Scalar>> = { key: new Set(), value: new Set(), item: new Set() };
  for (const m of manifests) gatherMisses(ordered(m), found);
  fetchMisses(found);
}

/**
 * The comment lines as the library writes them (its stringifyComment and indentComment): `#`
 * before each line, a line of one space written as `#` alone, every line at `indent`. printable
 * has escaped every line break, so each of `lines` is one line.
 */
function commentBlock(lines: string[], indent: string): string {
  let out = '';
  for (const l of lines) {
    const p = printable(l);
    out += p === '' ? indent + '#\n' : indent + '# ' + p + '\n';
  }
  return out;
}

type Kind = 'scalar' | 'map' | 'seq';

/** Only what the library writes as a plain scalar, block map or block sequence of this shape. */
function kindOf(v: unknown): Kind {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return 'scalar';
  if (Array.isArray(v)) return 'seq';
  if (typeof v === 'object') {
    if (isPlainMap(v)) return 'map';
  }
  throw new Unsupported();
}

function isPlainMap(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && !('toJSON' in v);
}

/** Whether the library writes `o` as a block map: it has a key the library keeps (it drops keys whose value is undefined). */
function hasEntries(o: Record<string, unknown>): boolean {
  for (const k in o) if (o[k] !== undefined && Object.hasOwn(o, k)) return true;
  return false;
}

/** Comments by the sequence they are in and the item's index. */
type Comments = Map<unknown[], Map<number, string>>;

/**
 * Where each comment goes: only before an item of a sequence that is the value of a key, which
 * the library writes above the item's `- ` at its indentation. Any other path (a map value, a
 * path that leads nowhere, a string index) is left to the Document path.
 */
function placeComments(root: object, comments: NodeComment[]): Comments {
  const placed: Comments = new Map();
  for (const c of comments) {
    let parent: unknown = undefined;
    let node: unknown = root;
    for (const p of c.path) {
      parent = node;
      if (typeof p === 'string' && kindOf(node) === 'map' && Object.prototype.propertyIsEnumerable.call(node, p)) node = (node as Record<string, unknown>)[p];
      else if (typeof p === 'number' && Array.isArray(node) && Number.isInteger(p) && p >= 0 && p < node.length) node = node[p];
      else throw new Unsupported();
      if (node === undefined) throw new Unsupported();
    }
    const index = c.path[c.path.length - 1];
    if (!Array.isArray(parent) || typeof index !== 'number' || c.path.length < 2 || typeof c.path[c.path.length - 2] !== 'string') throw new Unsupported();
    const at = placed.get(parent) ?? new Map<number, string>();
    at.set(index, c.text); // as on the Document: the last comment at a path wins
    placed.set(parent, at);
  }
  return placed;
}

class Writer {
  out = '';
  /** Commented sequences written so far: one shared by two places would carry its comments twice. */
  private readonly seen = new Set<unknown[]>();
  constructor(private readonly comments: Comments) {}

  /** A block map with entries (hasEntries); its first line starts after `first` (a `- ` already written), the others at `indent`. */
  map(o: Record<string, unknown>, indent: string, first: string): void {
    let lead = first;
    // Keys by for-in, neither Object.entries nor Object.keys: no array per map for the
    // collector (75 MB at 5,000 workloads). Own keys only: in the order Object.keys gives.
    for (const k in o) {
      const v = o[k];
      if (v === undefined || !Object.hasOwn(o, k)) continue;
      this.out += lead + token(k, 'key') + ':';
      lead = indent;
      const kind = kindOf(v);
      if (kind === 'scalar') this.out += ' ' + token(v as Scalar, 'value') + '\n';
      else if (kind === 'map') {
        if (!hasEntries(v as Record<string, unknown>)) this.out += ' {}\n';
        else {
          this.out += '\n';
          this.map(v as Record<string, unknown>, indent + '  ', indent + '  ');
        }
      } else if ((v as unknown[]).length === 0) this.out += ' []\n';
      else {
        this.out += '\n';
        this.seq(v as unknown[], indent + '  ', indent + '  ', true);
      }
    }
  }

  /** A block sequence; `commentable` only when it is a key's value (its first `- ` starts a line). */
  seq(items: unknown[], indent: string, first: string, commentable: boolean): void {
    const comments = this.comments.get(items);
    if (comments !== undefined) {
      if (!commentable || this.seen.has(items)) throw new Unsupported();
      this.seen.add(items);
    }
    let lead = first;
    for (let i = 0; i < items.length; i++) {
      const v = items[i];
      const c = comments?.get(i);
      if (c !== undefined) this.out += commentBlock(c.split('\n'), indent);
      this.out += lead + '- ';
      lead = indent;
      const kind = kindOf(v);
      if (kind === 'scalar') this.out += token(v as Scalar, 'item') + '\n';
      else if (kind === 'map') {
        if (!hasEntries(v as Record<string, unknown>)) this.out += '{}\n';
        else this.map(v as Record<string, unknown>, indent + '  ', '');
      } else if ((v as unknown[]).length === 0) this.out += '[]\n';
      else this.seq(v as unknown[], indent + '  ', '', false);
    }
  }
}

export function manifestYaml(m: Manifest, header: string[] = [], comments: NodeComment[] = []): string {
  const root = ordered(m);
  try {
    const found: Record<Role, Set<Scalar>> = { key: new Set(), value: new Set(), item: new Set() };
    misses = found;
    let out: string;
    try {
      out = write(root, header, comments);
    } finally {
      misses = null;
    }
    if (found.key.size + found.value.size + found.item.size === 0) return out;
    fetchMisses(found);
    return write(root, header, comments);
  } catch (e) {
    if (e instanceof Unsupported) return manifestYamlByDocument(m, header, comments);
    throw e;
  }
}

function write(root: Manifest, header: string[], comments: NodeComment[]): string {
  const w = new Writer(placeComments(root, comments));
  // As the library writes a document's comment: its lines, then an empty line, then the body.
  if (header.length > 0) w.out = commentBlock(header, '') + '\n';
  w.map(root as unknown as Record<string, unknown>, '', '');
  return w.out;
}
