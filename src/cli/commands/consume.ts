// `ztmap consume`: a Kafka collector. Several run as one consumer group over the telemetry
// topics and split their partitions; each reads its partitions a chunk at a time through the
// decoders of the topic's format (sources/topic-records.ts) into a partial aggregate, and
// publishes it, the chunk's poison records (dead-letter topic) and the chunk's offsets in one
// Kafka transaction. `ztmap materialize` merges the partials into the graph.
//
// Exactly once (docs/kafka.md, "Delivery"): a chunk's partial and its offsets are committed
// together or not at all, and downstream reads read_committed. Each input partition has its own
// transactional id: whoever takes a partition (a restarted collector, another member after a
// rebalance) first initialises that id, which fences the previous owner and settles its open
// transaction (committed or aborted, never both), and only then reads the partition's committed
// offset, below which it skips what it is given. kafkajs speaks the transaction protocol from
// before KIP-447, whose offset commits carry no group generation; the per-partition id is the
// pattern that is safe without it.

import { CompressionTypes, Kafka, Partitioners, type Admin, type EachBatchPayload, type KafkaConfig, type KafkaMessage, type Producer } from 'kafkajs';
import { ConfigError, InputError } from '../../errors.js';
import { compare } from '../../flow/compare.js';
import { GraphBuilder } from '../../graph/build.js';
import { DEFAULT_MAX_EXTERNAL_ENDPOINTS } from '../../graph/fold.js';
import { createGraph, type ServiceGraph } from '../../graph/graph.js';
import { buildInventory, type Inventory } from '../../inventory/inventory.js';
import { Resolver } from '../../inventory/resolve.js';
import { loadCombined } from '../../inventory/snapshots.js';
import type { AccessLogDecoderOptions } from '../../sources/access-log-decoder.js';
import type { FlowSinks } from '../../sources/source.js';
import { readTopicChunk, SOURCE_OF_FORMAT, TOPIC_FORMATS, type PoisonRecord, type TopicFormat } from '../../sources/topic-records.js';
import { Tally } from '../../tally.js';
import { connectTo } from '../kafka/connect.js';
import { kafkaLog, kafkaLogLevel } from '../kafka/log.js';
import { untilStopped } from '../kafka/until-stopped.js';
import { encodePartial, type PartialAggregate } from '../kafka/partial.js';

/** An aggregate record's largest value before compression: below a broker's default message.max.bytes (1 MiB) even if gzip gains nothing. */
const MAX_PARTIAL_BYTES = 900 * 1024;
/** A dead letter keeps at most this much of the poison record's value (the header says how large it was). */
const MAX_DEAD_LETTER_BYTES = 900 * 1024;

export interface TopicSpec {
  topic: string;
  format: TopicFormat;
}

/** `--topic NAME=FORMAT`; a bare `otlp_spans` is the Collector exporter's default topic and format. */
export function topicSpec(v: string): TopicSpec {
  const eq = v.lastIndexOf('=');
  const topic = eq < 0 ? v : v.slice(0, eq);
  const format = eq < 0 ? (v === 'otlp_spans' ? 'otlp_proto' : undefined) : v.slice(eq + 1);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') throw new ConfigError(`--topic ${JSON.stringify(v)}: ${JSON.stringify(topic)} is not a Kafka topic name (letters, digits, . _ -, at most 249).`);
  if (format === undefined) throw new ConfigError(`--topic ${JSON.stringify(v)}: say the topic's format, NAME=FORMAT, one of ${TOPIC_FORMATS.join(', ')}.`);
  if (!(TOPIC_FORMATS as readonly string[]).includes(format)) throw new ConfigError(`--topic ${JSON.stringify(v)}: unknown format ${JSON.stringify(format)}; one of ${TOPIC_FORMATS.join(', ')}.`);
  return { topic, format: format as TopicFormat };
}

export interface ConsumeOptions {
  kafka: KafkaConfig;
  group: string;
  topics: TopicSpec[];
  aggregateTopic: string;
  deadLetterTopic: string;
  inventory: string[];
  chunkRecords: number;
  maxRecordBytes: number;
  maxExternalEndpoints?: number;
  accessLog: AccessLogDecoderOptions;
  /** Stop after this many seconds with no record to read (a batch run; the default runs until a signal). */
  untilIdleSeconds?: number;
  /** Told after each chunk is committed. */
  onChunk?(status: ConsumeStatus): void;
  /** Told once the consumer has joined its group. */
  onReady?(): void;
  log(line: string): void;
}

export interface ConsumeStatus {
  /** Records read and committed (poison included). */
  records: number;
  chunks: number;
  flows: number;
  deadLetters: number;
  /** Records skipped because another member had committed them already (a rebalance, a restart). */
  alreadyCommitted: number;
  /** Transactions aborted (a fenced member, a broker error): their chunks are read again by whoever owns the partition. */
  aborted: number;
  rejected: Record<string, number>;
  skipped: Record<string, number>;
  unresolved: Record<string, number>;
}

interface PartitionState {
  producer: Producer;
  generation: number;
  /** Offsets below it are committed already. */
  floor: bigint;
}


/** Runs until SIGTERM/SIGINT (or --until-idle); resolves with what it did. */
export async function consume(opts: ConsumeOptions): Promise<ConsumeStatus> {
  const inventory: Inventory = buildInventory((await loadCombined(opts.inventory)).objects);
  const formats = new Map(opts.topics.map((t) => [t.topic, t.format]));
  const cap = opts.maxExternalEndpoints ?? DEFAULT_MAX_EXTERNAL_ENDPOINTS;
  const kafka = new Kafka({ ...opts.kafka, logLevel: kafkaLogLevel(process.env), logCreator: kafkaLog('consume', opts.log) });
  const admin = kafka.admin();
  // A member heartbeats between chunks (each well under a second): a 10 s session lets a dead
  // member's partitions move on within seconds.
  const consumer = kafka.consumer({ groupId: opts.group, sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: 30_000, readUncommitted: false, maxWaitTimeInMs: 500, ...fetchBytes(opts.chunkRecords, opts.maxRecordBytes) });
  const rejected = new Tally();
  const skipped = new Tally();
  const unresolved = new Tally();
  const status: Omit<ConsumeStatus, 'rejected' | 'skipped' | 'unresolved'> = { records: 0, chunks: 0, flows: 0, deadLetters: 0, alreadyCommitted: 0, aborted: 0 };
  const snapshot = (): ConsumeStatus => ({ ...status, rejected: rejected.counts(), skipped: skipped.counts(), unresolved: unresolved.counts() });

  let generation = 0;
  const partitions = new Map<string, PartitionState>();
  // Idle is counted from joining the group: joining waits for a dead member's session to end.
  let lastActivity = Number.POSITIVE_INFINITY;

  /** The partition's producer, fenced and with its committed offset read, once per group generation. */
  const own = async (topic: string, partition: number): Promise<PartitionState> => {
    const key = `${topic}\u0000${partition}`;
    const prev = partitions.get(key);
    if (prev !== undefined && prev.generation === generation) return prev;
    if (prev !== undefined) await prev.producer.disconnect().catch(() => undefined);
    // Retried soon: the broker answers CONCURRENT_TRANSACTIONS to the next transaction until the
    // previous one's markers are written (milliseconds); kafkajs' default first wait (300 ms) would
    // cap a partition at a few transactions a second. The number of retries stays kafkajs' own
    // (lowering it can break idempotence).
    const producer = kafka.producer({ transactionalId: transactionalIdOf(opts.group, topic, partition), idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000, createPartitioner: Partitioners.DefaultPartitioner, retry: { initialRetryTime: 10, maxRetryTime: 1000 } });
    await producer.connect();
    // InitProducerId: fences whoever held this id and settles its open transaction.
    await (await producer.transaction()).abort();
    const [committed] = await admin.fetchOffsets({ groupId: opts.group, topics: [topic] });
    const offset = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
    const state: PartitionState = { producer, generation, floor: BigInt(offset) < 0n ? 0n : BigInt(offset) };
    partitions.set(key, state);
    return state;
  };

  const publish = async (state: PartitionState, topic: string, partition: number, messages: KafkaMessage[]): Promise<void> => {
    const format = formats.get(topic)!;
    const chunkRejects = new Tally();
    const chunkSkips = new Tally();
    const chunkUnresolved = new Tally();
    const resolver = new Resolver(inventory, chunkUnresolved);
    const builder = new GraphBuilder({ source: SOURCE_OF_FORMAT[format], maxExternalEndpoints: cap });
    let flows = 0;
    const sinks: FlowSinks = {
      flow(f) {
        flows++;
        for (const rf of resolver.resolve(f)) builder.add(rf);
      },
      rejects: chunkRejects,
      skips: chunkSkips,
    };
    const read = readTopicChunk(format, topic, partition, messages.map((m) => ({ offset: m.offset, value: m.value })), { maxRecordBytes: opts.maxRecordBytes, accessLog: opts.accessLog }, sinks);
    const first = messages[0]!.offset;
    const last = messages[messages.length - 1]!.offset;
    const partial: PartialAggregate = {
      input: { topic, partition, first, last },
      piece: 0,
      pieces: 1,
      records: read.records,
      flows,
      deadLetters: read.poison.length,
      rejected: chunkRejects.toData(),
      skipped: chunkSkips.toData(),
      unresolved: chunkUnresolved.toData(),
      waitingSpans: read.waitingSpans,
      graph: builder.toGraph(),
    };
    const byOffset = new Map(messages.map((m) => [m.offset, m]));
    const txn = await state.producer.transaction();
    try {
      // One send a record: kafkajs puts one send's records in one batch per partition, and the
      // broker's limit (max.message.bytes, 1 MiB by default) is on the batch.
      for (const value of partialRecords(partial)) await txn.send({ topic: opts.aggregateTopic, compression: CompressionTypes.GZIP, messages: [{ key: `${topic}/${partition}`, value }] });
      for (const p of read.poison) await txn.send({ topic: opts.deadLetterTopic, messages: [deadLetter(topic, partition, p, byOffset.get(p.offset)!)] });
      await txn.sendOffsets({ consumerGroupId: opts.group, topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
      await txn.commit();
    } catch (err) {
      status.aborted++;
      await txn.abort().catch(() => undefined);
      throw err;
    }
    state.floor = BigInt(last) + 1n;
    status.records += read.records;
    status.chunks++;
    status.flows += flows;
    status.deadLetters += read.poison.length;
    rejected.merge(chunkRejects);
    skipped.merge(chunkSkips);
    unresolved.merge(chunkUnresolved);
  };

  let reading = 0;
  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    reading++;
    try {
      await readBatch(payload);
    } finally {
      reading--;
      lastActivity = Date.now();
    }
  };

  const readBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const { topic, partition } = batch;
    const state = await own(topic, partition);
    const fresh: KafkaMessage[] = [];
    for (const m of batch.messages) {
      if (BigInt(m.offset) >= state.floor) fresh.push(m);
      else status.alreadyCommitted++;
    }
    if (fresh.length < batch.messages.length) {
      // Committed by someone else already: passed over, and the consumer's position moved past them.
      const below = batch.messages.filter((m) => BigInt(m.offset) < state.floor);
      resolveOffset(below[below.length - 1]!.offset);
    }
    for (let i = 0; i < fresh.length; i += opts.chunkRecords) {
      if (!isRunning() || isStale()) return;
      const chunk = fresh.slice(i, i + opts.chunkRecords);
      try {
        await publish(state, topic, partition, chunk);
      } catch (err) {
        // Fenced, or the transaction failed: the partition is taken afresh (fenced again, its
        // committed offset read again) when kafkajs gives this batch again, if it is still ours.
        partitions.delete(`${topic}\u0000${partition}`);
        await state.producer.disconnect().catch(() => undefined);
        throw err;
      }
      resolveOffset(chunk[chunk.length - 1]!.offset);
      lastActivity = Date.now();
      opts.onChunk?.(snapshot());
      await heartbeat();
    }
  };

  await connectTo(admin, 'consume', opts.kafka);
  try {
    await checkTopics(admin, opts);
    let ready = false;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      generation++;
      lastActivity = Date.now();
      // The producers of partitions this member no longer has are let go (the new owner fences them anyway).
      const assigned = new Set(Object.entries(e.payload.memberAssignment).flatMap(([topic, ps]) => ps.map((p) => `${topic}\u0000${p}`)));
      for (const [key, state] of partitions) {
        if (assigned.has(key)) continue;
        partitions.delete(key);
        void state.producer.disconnect().catch(() => undefined);
      }
      if (!ready) opts.onReady?.();
      ready = true;
    });
    await connectTo(consumer, 'consume', opts.kafka);
    await consumer.subscribe({ topics: opts.topics.map((t) => t.topic), fromBeginning: true });
    const stopping = untilStopped({ ...(opts.untilIdleSeconds === undefined ? {} : { untilIdleSeconds: opts.untilIdleSeconds }), idleSince: () => (reading > 0 || lastActivity === Number.POSITIVE_INFINITY ? undefined : lastActivity) });
    // A crash kafkajs will not restart from (a non-retriable error) ends consume with it, not idle forever.
    let crashed: Error | undefined;
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) return;
      crashed = e.payload.error;
      stopping.stop();
    });
    try {
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
      await stopping.stopped;
    } finally {
      stopping.dispose();
      // Waits for the chunk in hand: its transaction commits or aborts before the process ends.
      await consumer.disconnect();
    }
    if (crashed !== undefined) throw new InputError(`consume: the Kafka consumer stopped (${crashed.message}). What was committed stands; start consume again to go on.`, { retriable: true, cause: crashed });
  } finally {
    await Promise.all([...partitions.values()].map((p) => p.producer.disconnect().catch(() => undefined)));
    await admin.disconnect().catch(() => undefined);
  }
  return snapshot();
}

/**
 * Fetch sizes that let a batch hold a whole chunk: kafkajs fetches 1 MiB a partition by default,
 * about 2,800 access-log records, and a chunk never spans batches, so small fetches would make
 * every chunk (a partial and a transaction each) that small. Bounded by 64 MiB a partition.
 */
function fetchBytes(chunkRecords: number, maxRecordBytes: number): { maxBytesPerPartition: number; maxBytes: number } {
  const perPartition = Math.min(64 << 20, Math.max(1 << 20, chunkRecords * 512, maxRecordBytes));
  return { maxBytesPerPartition: perPartition, maxBytes: Math.max(perPartition, 10 << 20) };
}

/**
 * One transactional id per input partition (see the header). `/` is in no topic name, and the
 * group, which may hold anything, comes last: two (group, topic, partition) never share an id.
 */
export const transactionalIdOf = (group: string, topic: string, partition: number) => `ztmap/${topic}/${partition}/${group}`;

/**
 * The partial as record values, each at most `maxBytes`: one when it fits, else pieces each with
 * a share of the edges and waiting spans and the nodes its edges name (merging a node twice
 * changes nothing), the counts in the first alone; more pieces until every one fits.
 */
export function partialRecords(p: PartialAggregate, maxBytes = MAX_PARTIAL_BYTES): Buffer[] {
  const whole = encodePartial(p);
  if (whole.length <= maxBytes) return [whole];
  const edgeKeys = p.graph.edges().sort(compare);
  const most = Math.max(1, edgeKeys.length + p.waitingSpans.length);
  for (let n = Math.min(most, Math.ceil((2 * whole.length) / maxBytes)); ; n = Math.min(most, n * 2)) {
    const out = Array.from({ length: n }, (_, i) => encodePartial(pieceOf(p, edgeKeys, i, n)));
    if (n === most || out.every((b) => b.length <= maxBytes)) return out;
  }
}

function pieceOf(p: PartialAggregate, edgeKeys: readonly string[], i: number, n: number): PartialAggregate {
  const g: ServiceGraph = createGraph();
  const keys = edgeKeys.filter((_, j) => j % n === i);
  for (const k of keys) {
    for (const end of [p.graph.source(k), p.graph.target(k)]) if (!g.hasNode(end)) g.addNode(end, p.graph.getNodeAttributes(end));
  }
  const first = i === 0;
  if (first) p.graph.forEachNode((k, a) => void (p.graph.degree(k) === 0 && !g.hasNode(k) && g.addNode(k, a)));
  for (const k of keys) g.addEdgeWithKey(k, p.graph.source(k), p.graph.target(k), p.graph.getEdgeAttributes(k));
  return {
    ...p,
    piece: i,
    pieces: n,
    records: first ? p.records : 0,
    flows: first ? p.flows : 0,
    deadLetters: first ? p.deadLetters : 0,
    rejected: first ? p.rejected : [],
    skipped: first ? p.skipped : [],
    unresolved: first ? p.unresolved : [],
    waitingSpans: p.waitingSpans.filter((_, j) => j % n === i),
    graph: g,
  };
}

/** A poison record for the dead-letter topic: its bytes (cut to a bound), its key, and where it came from and why in headers. */
function deadLetter(topic: string, partition: number, p: PoisonRecord, m: KafkaMessage): { key: Buffer | null; value: Buffer; headers: Record<string, string> } {
  const value = m.value ?? Buffer.alloc(0);
  return {
    key: m.key,
    value: value.length > MAX_DEAD_LETTER_BYTES ? value.subarray(0, MAX_DEAD_LETTER_BYTES) : value,
    headers: {
      'ztmap.origin.topic': topic,
      'ztmap.origin.partition': String(partition),
      'ztmap.origin.offset': p.offset,
      'ztmap.reason': p.reason,
      'ztmap.detail': p.detail.slice(0, 1000),
      'ztmap.original.bytes': String(value.length),
      ...(value.length > MAX_DEAD_LETTER_BYTES ? { 'ztmap.truncated': 'true' } : {}),
    },
  };
}

/** The topics must exist (ztmap creates none: who may create topics is the cluster's decision). */
async function checkTopics(admin: Admin, opts: ConsumeOptions): Promise<void> {
  let existing: string[];
  try {
    existing = await admin.listTopics();
  } catch (err) {
    throw new InputError(`consume: cannot reach Kafka at ${opts.kafka.brokers.toString()} (${(err as Error).message}). Check --brokers, TLS and SASL settings.`, { retriable: true, cause: err });
  }
  const missing = [...opts.topics.map((t) => t.topic), opts.aggregateTopic, opts.deadLetterTopic].filter((t) => !existing.includes(t));
  if (missing.length > 0) throw new ConfigError(`consume: no topic ${missing.map((t) => JSON.stringify(t)).join(', ')} on the cluster. Create ${missing.length === 1 ? 'it' : 'them'} (docs/kafka.md, "Topics"), or name others with --topic, --aggregate-topic, --dead-letter-topic.`);
}
