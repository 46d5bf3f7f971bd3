// Reads `kubectl get … -o json|yaml` dumps: a List, a single object, or multi-document YAML.

import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { describeFsError, InputError } from '../errors.js';

export type KubeObject = Record<string, unknown> & { kind: string; metadata: Record<string, unknown> };

export async function loadObjects(path: string): Promise<KubeObject[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`reading inventory: cannot read ${path} (${describeFsError(err)}). Pass the output of \`kubectl get pods,services,… -A -o json\`.`);
  }
  return parseObjects(text, path);
}

/**
 * The objects in `text`; `what` names the input in errors (`inventory`, `policies`). A
 * document that is no Kubernetes object throws, unless `onInvalid` takes it: then it is
 * reported there and the file's other objects are still read.
 */
export function parseObjects(text: string, path: string, what = 'inventory', onInvalid?: (message: string) => void): KubeObject[] {
  const docs: unknown[] = [];
  // The first character after any white space (as trimStart skips it), without trimStart's
  // copy of the whole text: a 5,000-workload dump is 35 MB.
  const first = text[text.search(/\S/)];
  if (first === '{' || first === '[') {
    try {
      docs.push(JSON.parse(text));
    } catch (err) {
      throw new InputError(`reading ${what}: ${path} is not valid JSON (${(err as Error).message}).`);
    }
  } else {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        const e = doc.errors[0]!;
        throw new InputError(`reading ${what}: ${path} is not valid YAML at line ${e.linePos?.[0]?.line ?? '?'} (${e.message.split('\n')[0]}).`);
      }
      try {
        // yaml refuses more than this many alias expansions in a small document: a "billion laughs" alias bomb.
        docs.push(doc.toJS({ maxAliasCount: 1000 }));
      } catch (err) {
        throw new InputError(`reading ${what}: ${path}: ${(err as Error).message.split('\n')[0]} (YAML aliases that expand without bound). Pass a dump written by kubectl, which writes no aliases.`, { cause: err });
      }
    }
  }
  const out: KubeObject[] = [];
  const invalid = (message: string) => {
    if (onInvalid === undefined) throw new InputError(message);
    onInvalid(message);
  };
  // `index` in the list at `parent`: the place, as errors name it, is only written out when
  // needed (a dump holds tens of thousands of objects and they are almost always fine).
  const visit = (doc: unknown, parent: string, index?: number): void => {
    if (doc === null || doc === undefined) return;
    if (Array.isArray(doc)) {
      const where = placeOf(parent, index);
      for (let i = 0; i < doc.length; i++) visit(doc[i], where, i);
      return;
    }
    if (typeof doc !== 'object') return invalid(`reading ${what}: ${path}: ${placeOf(parent, index)} is not a Kubernetes object.`);
    const o = doc as Record<string, unknown>;
    if (Array.isArray(o['items']) && (typeof o['kind'] !== 'string' || o['kind'].endsWith('List'))) {
      return visit(o['items'], `${placeOf(parent, index)}.items`);
    }
    if (typeof o['kind'] !== 'string' || typeof o['metadata'] !== 'object' || o['metadata'] === null || Array.isArray(o['metadata'])) {
      return invalid(`reading ${what}: ${path}: ${placeOf(parent, index)} has no kind or metadata. Is this a kubectl -o json/yaml dump or a manifest?`);
    }
    out.push(o as KubeObject);
  };
  docs.forEach((d, i) => visit(d, docs.length > 1 ? `document ${i + 1}` : 'top level'));
  return out;
}

/** `parent[index]`, or `parent` itself when no index is given. */
function placeOf(parent: string, index: number | undefined): string {
  return index === undefined ? parent : `${parent}[${index}]`;
}
