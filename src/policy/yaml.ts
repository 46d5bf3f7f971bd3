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
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => compare(a, b)));
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
  const token = out.slice(s.before.length, out.length - s.after.length);
  return token === '' || token.includes('\n') ? null : token;
}

function token(v: Scalar, role: Role): string {
  // The memo's keys compare by SameValueZero, which makes -0 and 0 one key; the library writes them apart.
  let t = Object.is(v, -0) ? libraryToken(v, role) : memo[role].get(v);
  if (t === undefined) {
    const m = memo[role];
    if (m.size >= MEMO_LIMIT) m.clear();
    t = libraryToken(v, role);
    m.set(v, t);
  }
  if (t === null) throw new Unsupported();
  return t;
}

/**
 * The comment lines as the library writes them (its stringifyComment and indentComment): `#`
 * before each line, a line of one space written as `#` alone, every line at `indent`. printable
 * has escaped every line break, so each of `lines` is one line.
 */
const commentBlock = (lines: string[], indent: string) =>
  commentLines(lines)
    .replace(/^(?!$)(?: $)?/gm, '#')
    .split('\n')
    .map((l) => (l === '' ? '\n' : indent + l + '\n'))
    .join('');

type Kind = 'scalar' | 'map' | 'seq';

/** Only what the library writes as a plain scalar, block map or block sequence of this shape. */
function kindOf(v: unknown): Kind {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return 'scalar';
  if (Array.isArray(v)) return 'seq';
  if (typeof v === 'object') {
    const proto: unknown = Object.getPrototypeOf(v);
    if ((proto === Object.prototype || proto === null) && !('toJSON' in v)) return 'map';
  }
  throw new Unsupported();
}

/** The entries the library keeps: it drops keys whose value is undefined. */
const entriesOf = (o: object) => Object.entries(o).filter(([, v]) => v !== undefined);

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

  /** A block map; its first line starts after `first` (a `- ` already written), the others at `indent`. */
  map(entries: [string, unknown][], indent: string, first: string): void {
    let lead = first;
    for (const [k, v] of entries) {
      this.out += lead + token(k, 'key') + ':';
      lead = indent;
      const kind = kindOf(v);
      if (kind === 'scalar') this.out += ' ' + token(v as Scalar, 'value') + '\n';
      else if (kind === 'map') {
        const e = entriesOf(v as object);
        if (e.length === 0) this.out += ' {}\n';
        else {
          this.out += '\n';
          this.map(e, indent + '  ', indent + '  ');
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
        const e = entriesOf(v as object);
        if (e.length === 0) this.out += '{}\n';
        else this.map(e, indent + '  ', '');
      } else if ((v as unknown[]).length === 0) this.out += '[]\n';
      else this.seq(v as unknown[], indent + '  ', '', false);
    }
  }
}

export function manifestYaml(m: Manifest, header: string[] = [], comments: NodeComment[] = []): string {
  const root = ordered(m);
  try {
    const w = new Writer(placeComments(root, comments));
    // As the library writes a document's comment: its lines, then an empty line, then the body.
    if (header.length > 0) w.out = commentBlock(header, '') + '\n';
    w.map(entriesOf(root), '', '');
    return w.out;
  } catch (e) {
    if (e instanceof Unsupported) return manifestYamlByDocument(m, header, comments);
    throw e;
  }
}
