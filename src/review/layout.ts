// How a repository keeps its policies, learned from the files already there, so that a
// proposal lands where the repository's owners would have put it: one file per resource or
// several documents per file, a directory per namespace, per kind or per target, the file
// naming pattern, `.yaml` or `.yml`. A layout is a path template over a manifest's kind,
// namespace and name (`{namespace}/{kind}-{name}.yaml`); a template without `{name}` groups
// several documents in one file (`{namespace}.yaml`).
//
// Files are split into YAML documents by their `---` lines, keeping every byte, so a document
// that does not change keeps its bytes, and a file with no changed document is not written.

import YAML from 'yaml';
import { compare } from '../flow/compare.js';

/** The policy kinds a proposal holds, by the ztmap target that emits them. */
export const KIND_OF_TARGET = { istio: 'AuthorizationPolicy', mtls: 'PeerAuthentication', networkpolicy: 'NetworkPolicy' } as const;
const TARGET_OF_KIND: Record<string, string> = { AuthorizationPolicy: 'istio', PeerAuthentication: 'mtls', NetworkPolicy: 'networkpolicy' };

/** One object's identity in a policy set. */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

export const refKey = (r: ObjectRef) => `${r.kind} ${r.namespace}/${r.name}`;

/** One YAML document of a file: its bytes (without the `---` line that opens it) and the object it holds. */
export interface YamlDocument {
  /** The `---` line (with its line break) that opens the document, or '' for the first one. */
  separator: string;
  text: string;
  object?: Record<string, unknown>;
  ref?: ObjectRef;
}

/** A file's documents; joining separators and texts gives back the file's bytes. */
export function splitDocuments(text: string): YamlDocument[] {
  const docs: YamlDocument[] = [];
  let separator = '';
  let body = '';
  for (const line of text.split(/(?<=\n)/)) {
    if (/^---(?:[ \t].*)?\r?\n?$/.test(line)) {
      docs.push(documentOf(separator, body));
      separator = line;
      body = '';
    } else body += line;
  }
  docs.push(documentOf(separator, body));
  return docs;
}

export const joinDocuments = (docs: readonly YamlDocument[]) => docs.map((d) => d.separator + d.text).join('');

function documentOf(separator: string, text: string): YamlDocument {
  let value: unknown;
  try {
    value = YAML.parse(text, { version: '1.2', logLevel: 'error' });
  } catch {
    // A document that does not parse is kept as it is; it holds no object ztmap could replace.
    return { separator, text };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { separator, text };
  const object = value as Record<string, unknown>;
  const ref = refOf(object);
  return ref === undefined ? { separator, text, object } : { separator, text, object, ref };
}

/** The object's kind, namespace and name, when it is a policy of a kind ztmap proposes. */
function refOf(o: Record<string, unknown>): ObjectRef | undefined {
  const kind = o['kind'];
  const metadata = o['metadata'] as Record<string, unknown> | undefined;
  if (typeof kind !== 'string' || TARGET_OF_KIND[kind] === undefined || metadata === null || typeof metadata !== 'object') return undefined;
  const name = metadata['name'];
  const namespace = metadata['namespace'];
  if (typeof name !== 'string' || name === '') return undefined;
  return { kind, name, namespace: typeof namespace === 'string' && namespace !== '' ? namespace : 'default' };
}

/** A file of the repository: its path relative to the policies directory, with `/` separators. */
export interface RepoFile {
  path: string;
  text: string;
  /** Not UTF-8: its text is read byte for byte (latin1) to find its objects, and it is never written. */
  undecodable?: boolean;
}

export interface Layout {
  /** Path template relative to the policies directory, e.g. `{namespace}/{kind}-{name}.yaml`. */
  template: string;
  /** Files that follow the template, of the files holding policies; 0 when there were none (ztmap's own layout). */
  matched: number;
  files: number;
}

/** ztmap's own layout (`propose`'s), for a repository with no policies yet. */
export const DEFAULT_TEMPLATE = '{target}/{namespace}/{kind}-{name}.yaml';

const KIND_FORMS: Record<string, (kind: string) => string> = {
  kind: (k) => k.toLowerCase(),
  Kind: (k) => k,
  kinds: (k) => (k.endsWith('y') ? `${k.slice(0, -1)}ies` : `${k}s`).toLowerCase(),
  'kind-kebab': (k) => k.replace(/(?<=[a-z])(?=[A-Z])/g, '-').toLowerCase(),
};

/** The value of each placeholder for one object. */
function placeholders(r: ObjectRef): [string, string][] {
  return [
    ['name', r.name],
    ['namespace', r.namespace],
    ['target', TARGET_OF_KIND[r.kind] ?? r.kind.toLowerCase()],
    ...Object.entries(KIND_FORMS).map(([token, form]): [string, string] => [token, form(r.kind)]),
  ];
}

/** `template` with each placeholder replaced by its value for `r`. */
export function fillTemplate(template: string, r: ObjectRef): string {
  const values = new Map(placeholders(r));
  return template.replace(/\{([A-Za-z-]+)\}/g, (m, token: string) => values.get(token) ?? m);
}

/**
 * The templates a file's path follows for the placeholders its objects share: each directory or
 * the file stem equal to one placeholder's value, or two or three values joined by `-`, `_` or
 * `.`. A value shared by every object of a multi-document file (its namespace) can name the file.
 * Several when values coincide (a NetworkPolicy's kind and target are both `networkpolicy`):
 * the repository's other files decide between them (detectLayout).
 */
function templatesOf(path: string, refs: readonly ObjectRef[]): string[] {
  if (refs.length === 0) return [];
  const ext = /\.(ya?ml)$/.exec(path)?.[0];
  if (ext === undefined) return [];
  const shared = placeholders(refs[0]!).filter(([token, value]) => refs.every((r) => placeholders(r).some(([t, v]) => t === token && v === value)));
  const segments = path.slice(0, -ext.length).split('/');
  const options = (segment: string) => {
    const tokens = shared.filter(([, v]) => v === segment).map(([t]) => `{${t}}`);
    return tokens.length === 0 ? [segment] : tokens;
  };
  let paths = [''];
  for (const segment of segments.slice(0, -1)) paths = paths.flatMap((p) => options(segment).map((o) => `${p}${o}/`));
  const stems = stemsOf(segments[segments.length - 1]!, shared);
  // One document per file must be named by something only it has: its name.
  // A template without the name or the namespace is one literal file: a team's own, never a layout.
  return paths
    .flatMap((p) => stems.map((stem) => p + stem + ext))
    .filter((t) => (refs.length > 1 || t.includes('{name}')) && (t.includes('{name}') || t.includes('{namespace}')));
}

/** The first of templatesOf: the template of one file on its own. */
export function templateOf(path: string, refs: readonly ObjectRef[]): string | undefined {
  return templatesOf(path, refs)[0];
}

function stemsOf(stem: string, shared: [string, string][]): string[] {
  const out = shared.filter(([, v]) => v === stem).map(([t]) => `{${t}}`);
  for (const sep of ['-', '_', '.']) {
    for (const [a, va] of shared) {
      for (const [b, vb] of shared) {
        if (a === b) continue;
        if (stem === va + sep + vb) out.push(`{${a}}${sep}{${b}}`);
        for (const [c, vc] of shared) {
          if (b !== c && a !== c && stem === va + sep + vb + sep + vc) out.push(`{${a}}${sep}{${b}}${sep}{${c}}`);
        }
      }
    }
  }
  return out.length === 0 ? [stem] : out;
}

/**
 * The repository's layout: the template most of its policy files follow (ties: the one with
 * `{name}`, then ztmap's own placeholders before literal names, then code-unit order, so the
 * choice does not depend on file order).
 */
export function detectLayout(files: readonly RepoFile[]): Layout {
  const counts = new Map<string, number>();
  let withPolicies = 0;
  for (const f of files) {
    const refs = splitDocuments(f.text).flatMap((d) => (d.ref === undefined ? [] : [d.ref]));
    if (refs.length === 0) continue;
    withPolicies++;
    for (const t of new Set(templatesOf(f.path, refs))) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || Number(b[0].includes('{name}')) - Number(a[0].includes('{name}')) || compare(a[0], b[0]));
  const best = ranked[0];
  return best === undefined ? { template: DEFAULT_TEMPLATE, matched: 0, files: withPolicies } : { template: best[0], matched: best[1], files: withPolicies };
}

/** In words, for the PR body and the summary: `one file per resource: {namespace}/{name}.yml`. */
export function describeLayout(l: Layout): string {
  const grouping = l.template.includes('{name}') ? 'one file per resource' : 'several documents per file';
  const source = l.matched === 0 ? "ztmap's own (no policies in the repository yet)" : `followed by ${l.matched} of ${l.files} policy files`;
  return `${grouping}, \`${l.template}\` (${source})`;
}
