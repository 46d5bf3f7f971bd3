// `ztmap materialize`: merges the partial aggregates Kafka collectors publish (`ztmap consume`)
// into the graph every other command reads — graph.json, nodes.csv, edges.csv in OUT, as observe
// writes them — checkpointed every interval and when stopped.
//
// Exactly once: the aggregate topic is read read_committed (an aborted collector transaction is
// never seen), and each checkpoint holds, all or nothing (cli/output.ts), the graph so far, the
// spans still waiting for their partner and the next offset of every partition it covers
// (materialize-status.json). A restart on the same OUT reads the checkpoint and sets the group's
// offsets to it before consuming, and passes over any record below it: what the graph holds is
// never read twice, and what it does not hold is read again. No offsets are committed to the
// group while it runs: the checkpoint is the one record of how far it is, and says so.
//
// Each partial names the input records it covers (topic, partition, offsets): a partial for
// records already merged — a second collector group reading the same topic into the same
// aggregate topic, a reset of the collectors' offsets — is counted as a duplicate, never merged.
//
// Spans that reached no partner in their collector's chunk join here, whichever partition and
// collector they came from. They wait with no clock: partials come in an order that depends on
// how fast each collector went (one partition's may all come before another's), and any clock —
// arrival, or span time — would then expire spans whose partner is merely late, so that the
// graph would depend on timing. A span gives up waiting only when more than --max-pending wait
// (the oldest by span time goes, counted as evicted) or at the end (--flush-on-stop).
//
// One materializer per aggregate topic: it must see every partition.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, type Admin, type EachBatchPayload, type KafkaConfig } from 'kafkajs';
import { ConfigError, InputError, InternalError } from '../../errors.js';
import { compare } from '../../flow/compare.js';
import { endpointKeyOf } from '../../flow/endpoint-key.js';
import type { Flow } from '../../flow/flow.js';
import { mergeEdgeAttributes, mergeNodeAttributes, type EdgeAttributes, type NodeAttributes } from '../../graph/attributes.js';
import { GraphBuilder } from '../../graph/build.js';
import { DEFAULT_MAX_EXTERNAL_ENDPOINTS, foldedGraph } from '../../graph/fold.js';
import { withAnonymousExplained, withConnectionsAbsorbed } from '../../graph/fuse.js';
import type { ServiceGraph } from '../../graph/graph.js';
import { readGraphFile } from '../../graph/json.js';
import { buildInventory } from '../../inventory/inventory.js';
import { Resolver } from '../../inventory/resolve.js';
import { loadCombined } from '../../inventory/snapshots.js';
import { SpanJoiner, type SpanCounts } from '../../sources/span-edges.js';
import { Tally } from '../../tally.js';
import { connectTo } from '../kafka/connect.js';
import { kafkaLog, kafkaLogLevel } from '../kafka/log.js';
import { decodePartial } from '../kafka/partial.js';
import { untilStopped } from '../kafka/until-stopped.js';
import { makeOutDir } from '../out-dir.js';
import { recoverOutputs } from '../output.js';
import { readPendingSpans, writeCheckpoint } from '../pending-spans.js';

const MATERIALIZE_FILES = ['nodes.csv', 'edges.csv', 'materialize-status.json', 'materialize-pending.json', 'graph.json'] as const;

export interface MaterializeOptions {
  kafka: KafkaConfig;
  group: string;
  aggregateTopic: string;
  inventory: string[];
  out: string;
  intervalSeconds: number;
  maxPending: number;
  maxExternalEndpoints?: number;
  /** Stop after this many seconds with nothing to read (a batch run; the default runs until a signal). */
  untilIdleSeconds?: number;
  /** On stop, count every span still waiting alone (the end of a collection) instead of keeping it for a restart. */
  flushOnStop?: boolean;
  onCheckpoint?(status: MaterializeStatus): void;
  log(line: string): void;
  /** Tests only: a pause after each record, so that a test can kill the materializer between checkpoints. */
  pauseAfterRecordMs?: number;
}

/** Where the graph stands in one input partition of the collectors (`TOPIC/PARTITION`). */
interface InputProgress {
  /** Records below it are in the graph. */
  next: string;
  /** The last range merged and its pieces seen: the other pieces of that range are still welcome. */
  first: string;
  last: string;
  pieces: number[];
}

/** materialize-status.json: where the graph stands in the aggregate topic, and what went into it. */
export interface MaterializeStatus {
  version: 1;
  written: string;
  checkpoints: number;
  aggregateTopic: string;
  /** The next offset to read in each partition of the aggregate topic: everything below it is in the graph. */
  offsets: Record<string, string>;
  /** Aggregate records merged, and those that were not: unreadable, or for input records already merged (counted by reason). */
  partials: number;
  badPartials: Record<string, number>;
  /** Per input partition of the collectors: how far the graph covers it. */
  inputs: Record<string, InputProgress>;
  /** What the collectors read, summed over the partials. */
  input: { records: number; flows: number; deadLetters: number; rejected: Record<string, number>; skipped: Record<string, number>; unresolved: Record<string, number> };
  /** Spans joined here (those that reached no partner in their collector's chunk). */
  spans: Omit<SpanCounts, 'spans'> & { received: number };
  graph: { nodes: number; edges: number };
}

const count = (into: Record<string, number>, reason: string) => {
  into[reason] = (into[reason] ?? 0) + 1;
};
const sumInto = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
};
const sorted = (r: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(r).sort((a, b) => compare(a[0], b[0])));

export async function materialize(opts: MaterializeOptions): Promise<MaterializeStatus> {
  await makeOutDir(opts.out, 'materialize');
  await recoverOutputs(opts.out, 'materialize', MATERIALIZE_FILES);
  const cap = opts.maxExternalEndpoints ?? DEFAULT_MAX_EXTERNAL_ENDPOINTS;
  const inventory = buildInventory((await loadCombined(opts.inventory)).objects);
  const previous = await readCheckpoint(opts.out, opts.aggregateTopic);

  // The graph so far, as maps merged into: one merge a partial, never a whole graph rebuilt.
  const nodes = new Map<string, NodeAttributes>();
  const edges = new Map<string, EdgeAttributes>();
  const mergeGraph = (g: ServiceGraph) => {
    g.forEachNode((k, a) => {
      const prev = nodes.get(k);
      nodes.set(k, prev === undefined ? a : mergeNodeAttributes(prev, a));
    });
    g.forEachEdge((k, a) => {
      const prev = edges.get(k);
      edges.set(k, prev === undefined ? a : mergeEdgeAttributes(prev, a));
    });
  };
  if (previous.graph !== undefined) mergeGraph(previous.graph);
  const status: MaterializeStatus = previous.status ?? {
    version: 1,
    written: '',
    checkpoints: 0,
    aggregateTopic: opts.aggregateTopic,
    offsets: {},
    partials: 0,
    badPartials: {},
    inputs: {},
    input: { records: 0, flows: 0, deadLetters: 0, rejected: {}, skipped: {}, unresolved: {} },
    spans: { received: 0, flows: 0, pairs: 0, pending: 0, expired: 0, evicted: 0, flushed: 0 },
    graph: { nodes: 0, edges: 0 },
  };
  const spansBefore = { ...status.spans };
  const offsets = new Map(Object.entries(status.offsets).map(([p, o]) => [Number(p), BigInt(o)]));
  const inputs = new Map(Object.entries(status.inputs));

  const spanRejects = new Tally();
  const spanSkips = new Tally();
  const unresolved = new Tally();
  const resolver = new Resolver(inventory, unresolved);
  let builder = new GraphBuilder({ source: 'traces', maxExternalEndpoints: cap });
  const joiner = new SpanJoiner(
    // No clock (see the header): a constant one, and no wait is ever over.
    { maxPending: opts.maxPending, maxWaitMs: Number.POSITIVE_INFINITY, decoder: 'otlp', now: () => 0 },
    {
      flow(f: Flow) {
        for (const rf of resolver.resolve({ ...f, endpointKey: endpointKeyOf(f) })) builder.add(rf);
      },
      rejects: spanRejects,
      skips: spanSkips,
    },
  );
  joiner.addBatch(previous.pending);
  const joinedBefore = joiner.counts;

  const kafka = new Kafka({ ...opts.kafka, logLevel: kafkaLogLevel(process.env), logCreator: kafkaLog('materialize', opts.log) });
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId: opts.group, sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: 10_000, readUncommitted: false, maxWaitTimeInMs: 500 });
  // Idle is counted from joining the group, and never while a batch is being merged.
  let lastActivity = Number.POSITIVE_INFINITY;
  let merging = false;
  const pauseMs = opts.pauseAfterRecordMs ?? 0;
  // A merge that threw part-way (a bug: records are checked before anything is merged) leaves
  // state no checkpoint may write.
  let broken: Error | undefined;

  /** Whether a partial is for input records not merged yet (or another piece of the last range merged), noted as merged if so. */
  const accepted = (p: ReturnType<typeof decodePartial>): boolean => {
    const key = `${p.input.topic}/${p.input.partition}`;
    const at = inputs.get(key);
    const first = BigInt(p.input.first);
    const last = BigInt(p.input.last);
    if (at === undefined || first >= BigInt(at.next)) {
      inputs.set(key, { next: (last + 1n).toString(), first: p.input.first, last: p.input.last, pieces: [p.piece] });
      return true;
    }
    if (at.first === p.input.first && at.last === p.input.last && !at.pieces.includes(p.piece)) {
      at.pieces.push(p.piece);
      return true;
    }
    return false;
  };

  // The maps folded in place (a fold of folds is the fold of the union, graph/fold.ts): at each
  // checkpoint, and whenever they have doubled since the last fold, so that a flood of external
  // endpoints over many partials does not grow them between checkpoints.
  let foldAt = 100_000;
  const fold = () => {
    const folded = foldedGraph(nodes, edges, cap);
    nodes.clear();
    edges.clear();
    mergeGraph(folded);
    foldAt = Math.max(100_000, 2 * edges.size);
    return folded;
  };

  const merge = (p: ReturnType<typeof decodePartial>) => {
    mergeGraph(p.graph);
    if (edges.size > foldAt) fold();
    status.partials++;
    status.input.records += p.records;
    status.input.flows += p.flows;
    status.input.deadLetters += p.deadLetters;
    for (const [key, data] of [['rejected', p.rejected], ['skipped', p.skipped], ['unresolved', p.unresolved]] as const) sumInto(status.input[key], Object.fromEntries(data.map(([r, n]) => [r, n])));
    status.spans.received += p.waitingSpans.length;
    joiner.addBatch(p.waitingSpans);
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> => {
    merging = true;
    try {
      await mergeBatch(batch, resolveOffset);
    } finally {
      merging = false;
      lastActivity = Date.now();
    }
    await heartbeat();
  };

  const mergeBatch = async (batch: EachBatchPayload['batch'], resolveOffset: EachBatchPayload['resolveOffset']): Promise<void> => {
    const floor = offsets.get(batch.partition) ?? 0n;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      // Below the checkpoint: already in the graph (the group's offsets lagged the checkpoint).
      if (offset >= floor) {
        const where = `topic ${batch.topic} partition ${batch.partition} offset ${m.offset}`;
        let p: ReturnType<typeof decodePartial> | undefined;
        try {
          p = decodePartial(m.value ?? Buffer.alloc(0), where);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          count(status.badPartials, 'unreadable-partial');
          opts.log(`ztmap materialize: ${err.message} (passed over, counted in materialize-status.json)\n`);
        }
        if (p !== undefined && !accepted(p)) {
          count(status.badPartials, 'duplicate-partial');
          opts.log(`ztmap materialize: ${where} covers records of ${p.input.topic} partition ${p.input.partition} already merged (offsets ${p.input.first}–${p.input.last}); passed over. Is a second collector group writing to this aggregate topic?\n`);
        } else if (p !== undefined) {
          try {
            merge(p);
          } catch (err) {
            broken = err as Error;
            throw err;
          }
        }
        offsets.set(batch.partition, offset + 1n);
      }
      resolveOffset(m.offset);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };

  const checkpoint = async (): Promise<MaterializeStatus> => {
    if (broken !== undefined) throw new InternalError(`materialize: a partial's merge failed part-way (${broken.message}); no checkpoint is written after it. Please report this.`, { cause: broken });
    mergeGraph(builder.toGraph());
    builder = new GraphBuilder({ source: 'traces', maxExternalEndpoints: cap });
    // Fused as observe fuses its final graph (graph/fuse.ts): Hubble's connections into the
    // requests of their pair, metrics' unnamed ends into the names other sources gave them.
    const folded = fold();
    const graph = withAnonymousExplained(withConnectionsAbsorbed(folded)).graph;
    const c = joiner.counts;
    const s: MaterializeStatus = {
      ...status,
      written: new Date().toISOString(),
      checkpoints: status.checkpoints + 1,
      offsets: Object.fromEntries([...offsets].sort((a, b) => a[0] - b[0]).map(([p, o]) => [String(p), o.toString()])),
      badPartials: sorted(status.badPartials),
      inputs: Object.fromEntries([...inputs].sort((a, b) => compare(a[0], b[0])).map(([k, v]) => [k, { ...v, pieces: [...v.pieces].sort((x, y) => x - y) }])),
      // This run's span rejects and unresolved names on top of the collectors' (and of earlier runs', which the status carries).
      input: { ...status.input, rejected: sorted(mergedCounts(status.input.rejected, spanRejects)), skipped: sorted(mergedCounts(status.input.skipped, spanSkips)), unresolved: sorted(mergedCounts(status.input.unresolved, unresolved)) },
      spans: {
        received: status.spans.received,
        flows: spansBefore.flows + c.flows - joinedBefore.flows,
        pairs: spansBefore.pairs + c.pairs - joinedBefore.pairs,
        pending: c.pending,
        expired: spansBefore.expired + c.expired - joinedBefore.expired,
        evicted: spansBefore.evicted + c.evicted - joinedBefore.evicted,
        flushed: spansBefore.flushed + c.flushed - joinedBefore.flushed,
      },
      graph: { nodes: graph.order, edges: graph.size },
    };
    const pending = joiner.pendingSpans();
    await writeCheckpoint({ out: opts.out, unit: 'materialize', owned: MATERIALIZE_FILES, graph, statusFile: 'materialize-status.json', status: s, pendingFile: 'materialize-pending.json', pending });
    status.checkpoints = s.checkpoints;
    opts.onCheckpoint?.(s);
    return s;
  };

  await connectTo(admin, 'materialize', opts.kafka);
  try {
    await startAt(admin, opts, offsets);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      lastActivity = Date.now();
    });
    await connectTo(consumer, 'materialize', opts.kafka);
    await consumer.subscribe({ topics: [opts.aggregateTopic], fromBeginning: true });
    const stopping = untilStopped({ ...(opts.untilIdleSeconds === undefined ? {} : { untilIdleSeconds: opts.untilIdleSeconds }), idleSince: () => (merging || lastActivity === Number.POSITIVE_INFINITY ? undefined : lastActivity) });
    let crashed: Error | undefined;
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) return;
      crashed = e.payload.error;
      stopping.stop();
    });
    let writing: Promise<unknown> = Promise.resolve();
    // A checkpoint takes the graph, the waiting spans and the offsets in one synchronous step,
    // which no record's merge can interleave with: what it writes agrees with itself.
    const timer = setInterval(() => {

      writing = writing.then(checkpoint).catch((err: unknown) => opts.log(`ztmap materialize: checkpoint failed, the previous one stands: ${(err as Error).message}\n`));
    }, opts.intervalSeconds * 1000);
    try {
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
      await stopping.stopped;
    } finally {
      stopping.dispose();
      clearInterval(timer);
      await writing;
      await consumer.stop().catch(() => undefined);
    }
    // After a crash, the last checkpoint written stands: the merge in hand may be incomplete.
    if (crashed !== undefined || broken !== undefined) {
      const e = broken ?? crashed!;
      throw new InputError(`materialize: the Kafka consumer stopped (${e.message}). The last checkpoint stands; start materialize again to go on from it.`, { retriable: true, cause: e });
    }
    if (opts.flushOnStop === true) joiner.flush();
    return await checkpoint();
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

function mergedCounts(a: Record<string, number>, t: Tally): Record<string, number> {
  const out = { ...a };
  sumInto(out, t.counts());
  return out;
}

/**
 * The group's offsets set to the checkpoint's (or to the start of partitions it has none for),
 * before the consumer joins. A materializer killed a moment ago may still be a member until its
 * session times out: then the group is not empty and setting fails, so it is tried again.
 */
async function startAt(admin: Admin, opts: MaterializeOptions, offsets: Map<number, bigint>): Promise<void> {
  let topicOffsets: { partition: number; low: string; high: string }[];
  try {
    topicOffsets = await admin.fetchTopicOffsets(opts.aggregateTopic);
  } catch (err) {
    throw new ConfigError(`materialize: cannot read the aggregate topic ${JSON.stringify(opts.aggregateTopic)} on ${opts.kafka.brokers.toString()} (${(err as Error).message}). Check --brokers and --aggregate-topic; create the topic if it does not exist (docs/kafka.md, "Topics").`, { cause: err });
  }
  // The checkpoint must still be inside the topic: below its start, partials were deleted unread
  // (retention); past its end, the topic is not the one the checkpoint was made from.
  for (const [partition, offset] of offsets) {
    const t = topicOffsets.find((x) => x.partition === partition);
    if (t === undefined || offset > BigInt(t.high)) {
      throw new InputError(`materialize: the checkpoint in ${opts.out} is at offset ${offset} of ${opts.aggregateTopic} partition ${partition}, past the topic's end (${t?.high ?? 'no such partition'}): the topic was recreated, or is another one. Start over with an empty --out.`);
    }
    if (offset < BigInt(t.low)) {
      throw new InputError(`materialize: ${opts.aggregateTopic} partition ${partition} now starts at offset ${t.low}, but the checkpoint in ${opts.out} is at ${offset}: partials in between were deleted (retention) before they were merged, and the graph would miss them. Give the aggregate topic a longer retention; to go on without them, start over with an empty --out and a replay of the telemetry.`);
    }
  }
  const partitions = topicOffsets.map((p) => ({ partition: p.partition, offset: (offsets.get(p.partition) ?? BigInt(p.low)).toString() }));
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      await admin.setOffsets({ groupId: opts.group, topic: opts.aggregateTopic, partitions });
      return;
    } catch (err) {
      const message = (err as Error).message;
      // A killed materializer stays a member until its session ends; anything else is not waited out.
      const busy = /running instances|not empty|rebalanc/i.test(message);
      if (!busy || Date.now() > until) {
        throw new InputError(`materialize: cannot set group ${JSON.stringify(opts.group)}'s offsets on ${opts.aggregateTopic} (${message}).${busy ? ' Is another materializer running with this group? Only one may.' : ' Check that ztmap may describe and alter this group\'s offsets (Kafka ACLs).'}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

interface Checkpoint {
  graph?: ServiceGraph;
  status?: MaterializeStatus;
  pending: Awaited<ReturnType<typeof readPendingSpans>>;
}

async function readCheckpoint(out: string, topic: string): Promise<Checkpoint> {
  const statusFile = join(out, 'materialize-status.json');
  let text: string;
  try {
    text = await readFile(statusFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`materialize: cannot read ${statusFile} (${(err as Error).message}).`);
    try {
      await readFile(join(out, 'graph.json'));
    } catch {
      return { pending: [] };
    }
    throw new ConfigError(`materialize: ${out} holds a graph.json that materialize did not write (no materialize-status.json beside it). Choose another --out, or move that graph away.`);
  }
  let status: MaterializeStatus;
  try {
    status = JSON.parse(text) as MaterializeStatus;
  } catch (err) {
    throw new InputError(`materialize: ${statusFile} is not JSON (${(err as Error).message}); it holds the offsets the graph covers, so materialize cannot go on from it. Remove OUT's files to start over from the topic's start.`);
  }
  const isOffset = (o: unknown) => typeof o === 'string' && /^[0-9]{1,19}$/.test(o);
  const isProgress = (v: unknown) => {
    const i = v as Partial<InputProgress> | null;
    return typeof i === 'object' && i !== null && isOffset(i.next) && isOffset(i.first) && isOffset(i.last) && Array.isArray(i.pieces) && i.pieces.every((n) => Number.isSafeInteger(n) && n >= 0);
  };
  if (
    status.version !== 1 || typeof status.offsets !== 'object' || status.offsets === null || !Object.values(status.offsets).every(isOffset) ||
    typeof status.inputs !== 'object' || status.inputs === null || !Object.values(status.inputs).every(isProgress)
  ) {
    throw new InputError(`materialize: ${statusFile} is not a materialize status of version 1. Remove OUT's files to start over from the topic's start.`);
  }
  if (status.aggregateTopic !== topic) throw new ConfigError(`materialize: ${out} holds the graph of aggregate topic ${JSON.stringify(status.aggregateTopic)}, not ${JSON.stringify(topic)}. Choose another --out.`);
  const graph = await readGraphFile(join(out, 'graph.json'));
  const pending = await readPendingSpans(join(out, 'materialize-pending.json'), 'materialize');
  return { graph, status, pending };
}
