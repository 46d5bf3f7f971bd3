// The only YAML writer for manifests: through the `yaml` library with fixed options, never
// string templates, so names and paths from telemetry cannot break out of their scalars
// (docs/architecture.md, "Untrusted input"). Keys: apiVersion, kind, metadata, spec; output is byte-stable.

import YAML from 'yaml';
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
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Options chosen for speed with the same bytes: a manifest never holds one object twice on
 * purpose, so no anchors and aliases are looked for (`aliasDuplicateObjects: false`, which
 * also keeps a shared object from being written as an alias), and a manifest has no
 * directives, so toString does not walk the tree for tags to declare (`directives: false`).
 */
const DOCUMENT_OPTIONS = { version: '1.2', aliasDuplicateObjects: false } as const;
const TO_STRING_OPTIONS = { lineWidth: 0, indentSeq: true, directives: false } as const;

export function manifestYaml(m: Manifest, header: string[] = [], comments: NodeComment[] = []): string {
  const doc = new YAML.Document(ordered(m), DOCUMENT_OPTIONS);
  if (header.length > 0) doc.commentBefore = header.map((l) => ' ' + printable(l)).join('\n');
  for (const c of comments) {
    const node = doc.getIn(c.path, true) as { commentBefore?: string } | undefined;
    if (node !== undefined && typeof node === 'object') node.commentBefore = c.text.split('\n').map((l) => ' ' + printable(l)).join('\n');
  }
  return doc.toString(TO_STRING_OPTIONS);
}
