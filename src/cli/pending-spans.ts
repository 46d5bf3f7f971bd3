// The spans still waiting for their partner at a checkpoint (`collect-pending.json`,
// `materialize-pending.json`): written one span a line inside the list (a large list is never one
// string), read back checked, so that a restart joins them with spans that come after it. Only
// what sources/held-span.ts keeps of a span is ever in them.

import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { Span } from '../sources/decoders/span.js';

export function* pendingSpansChunks(spans: readonly Span[]): Generator<string> {
  yield '{"version":1,"spans":[';
  for (const [i, s] of spans.entries()) yield (i === 0 ? '\n' : ',\n') + JSON.stringify(s);
  yield '\n]}\n';
}

/** The spans in `file`, none when it does not exist; `command` names who wrote it in errors. */
export async function readPendingSpans(file: string, command: string): Promise<Span[]> {
  const unreadable = (why: string) =>
    new InputError(`${command}: ${file} cannot be read (${why}). It holds the spans that were waiting for their partner at the last checkpoint; remove it to go on without them.`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw unreadable((err as Error).message);
  }
  let doc: { version?: unknown; spans?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    throw unreadable((err as Error).message);
  }
  if (doc.version !== 1 || !Array.isArray(doc.spans) || !doc.spans.every(isSpanLike)) throw unreadable('not a list of spans of version 1');
  return doc.spans as Span[];
}

export function isSpanLike(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s['traceId'] === 'string' && typeof s['spanId'] === 'string' && typeof s['kind'] === 'string' && typeof s['start'] === 'number' && typeof s['resource'] === 'object' && typeof s['attributes'] === 'object';
}
