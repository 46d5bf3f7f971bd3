// The spans still waiting for their partner at a checkpoint (`collect-pending.json`,
// `materialize-pending.json`): written one span a line inside the list (a large list is never one
// string), read back checked, so that a restart joins them with spans that come after it. Only
// what sources/held-span.ts keeps of a span is ever in them.

import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { edgesCsvChunks, nodesCsvChunks } from '../graph/csv.js';
import type { ServiceGraph } from '../graph/graph.js';
import { graphJsonChunks } from '../graph/json.js';
import type { Span } from '../sources/decoders/span.js';
import { replaceOutputs } from './output.js';

/**
 * A long-running command's checkpoint (collect, materialize), all or nothing: the graph as observe
 * writes it, the command's status, and the spans still waiting (owner-only), graph.json last.
 */
export async function writeCheckpoint(c: { out: string; unit: string; owned: readonly string[]; graph: ServiceGraph; statusFile: string; status: unknown; pendingFile: string; pending: readonly Span[] }): Promise<void> {
  await replaceOutputs({
    out: c.out,
    unit: c.unit,
    owned: c.owned,
    write: async (staging) => {
      await staging.write('nodes.csv', nodesCsvChunks(c.graph));
      await staging.write('edges.csv', edgesCsvChunks(c.graph));
      await staging.write(c.statusFile, JSON.stringify(c.status, null, 1) + '\n');
      await staging.write(c.pendingFile, pendingSpansChunks(c.pending), { private: true });
      await staging.write('graph.json', graphJsonChunks(c.graph));
    },
  });
}

function* pendingSpansChunks(spans: readonly Span[]): Generator<string> {
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

const KINDS = new Set(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']);
const STATUSES = new Set(['unset', 'ok', 'error']);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown) => typeof v === 'string' && v.length <= 64;
const isAttributes = (v: unknown) => isObj(v) && Object.values(v).every((x) => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)));
const isEndpoint = (v: unknown) => v === undefined || (isObj(v) && (v['serviceName'] === undefined || typeof v['serviceName'] === 'string') && (v['ip'] === undefined || typeof v['ip'] === 'string') && (v['port'] === undefined || Number.isInteger(v['port'])));

/**
 * A span as ztmap wrote it into a checkpoint or a partial aggregate, checked field by field: both
 * are input (a damaged file, a record someone else wrote to the aggregate topic), and the joiner
 * must not meet a span it cannot read.
 */
export function isSpanLike(v: unknown): boolean {
  if (!isObj(v)) return false;
  return (
    isId(v['traceId']) && isId(v['spanId']) && (v['parentSpanId'] === undefined || isId(v['parentSpanId'])) &&
    typeof v['name'] === 'string' && KINDS.has(v['kind'] as string) && typeof v['start'] === 'number' && Number.isFinite(v['start']) &&
    (v['end'] === undefined || (typeof v['end'] === 'number' && Number.isFinite(v['end']))) &&
    isAttributes(v['resource']) && isAttributes(v['attributes']) && STATUSES.has(v['status'] as string) &&
    (v['shared'] === undefined || typeof v['shared'] === 'boolean') && isEndpoint(v['local']) && isEndpoint(v['remote']) && isObj(v['location'])
  );
}
