// A partial aggregate: what a Kafka collector made of one chunk of one partition, published to the
// aggregate topic in the same transaction as the chunk's offsets (docs/kafka.md). The
// materializer merges them, in any order (graph merge is associative and commutative), into the
// graph every other command reads.
//
// One record's value (gzip'd by the producer):
//
//   {"format":"ztmap-partial","version":1,"input":{…},"records":N,…,"waitingSpans":[…]}   one line
//   {"format":"ztmap-graph","version":5,                                                  graph.json,
//   …                                                                                      as observe
//   ]}                                                                                     writes it
//
// The graph is graph.json itself, read back by its checking reader: the aggregate topic is input
// like any other (anyone who may write to it can write anything), so every record is checked.

import { InputError } from '../../errors.js';
import type { ServiceGraph } from '../../graph/graph.js';
import { graphFromJson, graphToJson } from '../../graph/json.js';
import type { Span } from '../../sources/decoders/span.js';
import type { TallyData } from '../../tally.js';
import { isSpanLike } from '../pending-spans.js';

const PARTIAL_FORMAT = 'ztmap-partial';
const PARTIAL_VERSION = 1;

interface PartialInput {
  topic: string;
  partition: number;
  /** First and last offset of the chunk (inclusive). */
  first: string;
  last: string;
}

interface PartialMeta {
  input: PartialInput;
  /** Which piece of the chunk (a chunk too large for one record is published in several, in one transaction). */
  piece: number;
  pieces: number;
  records: number;
  flows: number;
  deadLetters: number;
  rejected: TallyData;
  skipped: TallyData;
  unresolved: TallyData;
  waitingSpans: Span[];
}

export interface PartialAggregate extends PartialMeta {
  graph: ServiceGraph;
}

export function encodePartial(p: PartialAggregate): Buffer {
  const { graph, ...meta } = p;
  return Buffer.from(JSON.stringify({ format: PARTIAL_FORMAT, version: PARTIAL_VERSION, ...meta }) + '\n' + graphToJson(graph), 'utf8');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isOffset = (v: unknown): v is string => typeof v === 'string' && /^[0-9]{1,19}$/.test(v);

function isTallyData(v: unknown): v is TallyData {
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && isCount(e[1]) && Array.isArray(e[2]) && e[2].length <= 5 && e[2].every((x) => isObj(x) && typeof x['detail'] === 'string'));
}

/** A partial's record, checked; `where` names the record (topic, partition, offset) in errors. */
export function decodePartial(value: Buffer, where: string): PartialAggregate {
  const text = value.toString('utf8');
  const nl = text.indexOf('\n');
  const fail = (what: string): never => {
    throw new InputError(`aggregate record ${where}: ${what}. Only ztmap consume writes the aggregate topic; check who else produces to it.`);
  };
  if (nl < 0) fail('no graph after the header line');
  let meta: unknown;
  try {
    meta = JSON.parse(text.slice(0, nl));
  } catch (err) {
    fail(`the header line is not JSON (${(err as Error).message})`);
  }
  if (!isObj(meta) || meta['format'] !== PARTIAL_FORMAT) fail(`not a ${PARTIAL_FORMAT} record`);
  const m = meta as Record<string, unknown>;
  if (m['version'] !== PARTIAL_VERSION) fail(`version ${JSON.stringify(m['version'])}; this ztmap reads version ${PARTIAL_VERSION} (a newer collector? run the same ztmap version everywhere)`);
  const input = m['input'];
  if (!isObj(input) || typeof input['topic'] !== 'string' || !isCount(input['partition']) || !isOffset(input['first']) || !isOffset(input['last'])) fail('input is not {topic, partition, first, last}');
  for (const k of ['piece', 'pieces', 'records', 'flows', 'deadLetters']) if (!isCount(m[k])) fail(`${k} is not a count`);
  for (const k of ['rejected', 'skipped', 'unresolved']) if (!isTallyData(m[k])) fail(`${k} is not a list of counts by reason`);
  if (!Array.isArray(m['waitingSpans']) || !m['waitingSpans'].every(isSpanLike)) fail('waitingSpans is not a list of spans');
  if ((m['piece'] as number) >= (m['pieces'] as number)) fail('piece is not below pieces');
  const graph = graphFromJson(text.slice(nl + 1), `aggregate record ${where}`);
  return { ...(m as unknown as PartialMeta), graph };
}
