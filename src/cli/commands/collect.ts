// `ztmap collect`: a long-running OTLP receiver (sources/transports/otlp-receiver.ts) that builds
// the graph as spans arrive and writes it — graph.json, nodes.csv, edges.csv — every interval and
// when stopped, for propose, verify and observe --merge to read.
//
// What a crash may cost: one interval. Each checkpoint writes, all or nothing (cli/output.ts),
// the graph so far and the spans still waiting for their partner (collect-pending.json); a
// restart on the same OUT reads both and goes on from there, so the graph it writes next holds
// everything up to the last checkpoint. SIGTERM or SIGINT: the receiver stops taking requests
// (503), answers those it holds, and a last checkpoint is written, the spans still waiting kept
// for the restart (with --flush-on-stop, the end of a collection, they go by the unjoined rules).
//
// Memory is bounded by the graph's edges, not by spans: spans wait for their partner at most
// --join-wait (from their arrival, on a monotonic clock) and at most --max-pending at once, each
// holding only what edges are made of; what leaves unjoined is counted (expired, evicted,
// flushed). Bodies held are bounded in bytes (429 / UNAVAILABLE past it).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, formatLocation, InputError, type ReceivedLocation } from '../../errors.js';
import { compare } from '../../flow/compare.js';
import { endpointKeyOf } from '../../flow/endpoint-key.js';
import type { Flow } from '../../flow/flow.js';
import { GraphBuilder, mergeGraphs } from '../../graph/build.js';
import { DEFAULT_MAX_EXTERNAL_ENDPOINTS } from '../../graph/fold.js';
import type { ServiceGraph } from '../../graph/graph.js';
import { readGraphFile } from '../../graph/json.js';
import { buildInventory } from '../../inventory/inventory.js';
import { Resolver } from '../../inventory/resolve.js';
import { loadCombined } from '../../inventory/snapshots.js';
import { decodeOtlpJson } from '../../sources/decoders/otlp-json.js';
import { decodeOtlpProto } from '../../sources/decoders/otlp-proto.js';
import type { Decoded } from '../../sources/decoders/result.js';
import type { Span } from '../../sources/decoders/span.js';
import type { TraceBatch } from '../../sources/decoders/trace-fields.js';
import { heldPart } from '../../sources/held-span.js';
import { SpanJoiner, type SpanCounts } from '../../sources/span-edges.js';
import { OtlpReceiver, type ExportAnswer, type ListenAddress, type OtlpExport } from '../../sources/transports/otlp-receiver.js';
import { Tally } from '../../tally.js';
import { excerpt } from '../../text.js';
import { makeOutDir } from '../out-dir.js';
import { readPendingSpans, writeCheckpoint } from '../pending-spans.js';
import { recoverOutputs } from '../output.js';
import { COLLECT_DEFAULTS } from './defaults.js';

/** What collect writes in OUT, graph.json last (as observe: a reader finding it finds the rest). */
const COLLECT_FILES = ['nodes.csv', 'edges.csv', 'collect-status.json', 'collect-pending.json', 'graph.json'] as const;

export interface CollectOptions {
  inventory: string[];
  out: string;
  /** `HOST:PORT`, or undefined for none. */
  http?: ListenAddress;
  grpc?: ListenAddress;
  intervalSeconds: number;
  joinWaitSeconds: number;
  maxPending: number;
  maxBodyBytes: number;
  maxQueuedBytes: number;
  maxExternalEndpoints?: number;
  /** On SIGTERM/SIGINT, count every span still waiting alone (the end of collection) instead of keeping it for a restart. */
  flushOnStop?: boolean;
  /** Required of every request as `Authorization: Bearer TOKEN`. */
  token?: string;
  /** TLS for both listeners (PEM). */
  tls?: { cert: Buffer; key: Buffer };
  /** Told once the receiver listens, with the addresses bound. */
  onListening?(addresses: { http?: string; grpc?: string }): void;
  /** Told after each checkpoint. */
  onCheckpoint?(status: CollectStatus): void;
}

/** collect-status.json: what this process received and made of it, since it started. */
export interface CollectStatus {
  version: 1;
  started: string;
  written: string;
  checkpoints: number;
  /** The checkpoint this process went on from, if any: the graph and waiting spans it read at start. */
  resumed?: { edges: number; pendingSpans: number };
  listening: { http?: string; grpc?: string };
  /** Requests answered 200 (partial: some spans rejected), 400 (badData, by reason) or refused before reading (413, 415, 429, 503…, by reason). */
  requests: { accepted: number; partial: number; badData: Record<string, number>; refused: Record<string, number> };
  spans: Omit<SpanCounts, 'spans'> & {
    /** Spans in requests that could be read: accepted (joined or counted alone, or waiting) plus rejected. */
    received: number;
    accepted: number;
    rejected: Record<string, number>;
    skipped: Record<string, number>;
  };
  /** Spans received per `service.name` (the 20 largest senders): a span storm shows here. */
  senders: [string, number][];
  unresolved: Record<string, number>;
  graph: { nodes: number; edges: number };
}

const SENDERS_SHOWN = 20;
/** Distinct sender names counted; past it the rest go under one name, or a flood of names would grow memory. */
const SENDERS_KEPT = 10_000;

/** Parses `HOST:PORT` (IPv6 as `[::1]:4318`); `off` (or empty) is none. */
export function listenAddress(v: string, flag: string): ListenAddress | undefined {
  if (v === '' || v === 'off') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(v);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new ConfigError(`${flag}: expected HOST:PORT (e.g. 127.0.0.1:4318, [::1]:4318, 0.0.0.0:4318) or off, got ${JSON.stringify(v)}.`);
  return { host: m[1] ?? m[2]!, port };
}


/** Runs until SIGTERM or SIGINT; resolves with the last status once the last checkpoint is written. */
export async function collect(opts: CollectOptions): Promise<CollectStatus> {
  await makeOutDir(opts.out, 'collect');
  await recoverOutputs(opts.out, 'collect', COLLECT_FILES);
  const cap = opts.maxExternalEndpoints ?? DEFAULT_MAX_EXTERNAL_ENDPOINTS;
  const inventory = buildInventory((await loadCombined(opts.inventory)).objects);
  const previous = await readCheckpoint(opts.out);

  // Spans rejected as they were decoded (never given to the joiner), and by the joiner itself.
  const decodeRejects = new Tally();
  const rejects = new Tally();
  const skips = new Tally();
  // Bodies that were no request at all (400), apart from the spans rejected in requests that were.
  const badBodies = new Tally();
  const unresolved = new Tally();
  const refused = new Tally();
  const resolver = new Resolver(inventory, unresolved);
  const builder = new GraphBuilder({ source: 'traces', maxExternalEndpoints: cap });
  const requests = { accepted: 0, partial: 0 };
  const senders = new Map<string, number>();
  const joiner = new SpanJoiner(
    // Arrival time is the clock (span-edges.ts, SpanJoinerOptions.now): late or skewed spans still join.
    // Monotonic: a wall clock stepped back (NTP, a restored VM) would expire every new span.
    { maxPending: opts.maxPending, maxWaitMs: opts.joinWaitSeconds * 1000, decoder: 'otlp', now: () => performance.timeOrigin + performance.now() },
    {
      flow(f: Flow) {
        for (const rf of resolver.resolve({ ...f, endpointKey: endpointKeyOf(f) })) builder.add(rf);
      },
      rejects,
      skips,
    },
  );
  joiner.addBatch(previous.pending);

  const onExport = (e: OtlpExport): ExportAnswer => {
    let d: Decoded<TraceBatch>;
    if (e.encoding === 'protobuf') d = decodeOtlpProto(e.body, e.location);
    else {
      let doc: unknown;
      try {
        doc = JSON.parse(e.body.toString('utf8'));
      } catch (err) {
        badBodies.add('malformed-otlp-json', e.location, `${(err as Error).message}: ${excerpt(e.body.subarray(0, 200).toString('utf8'))}`);
        return { kind: 'bad-data', message: `the body is not JSON: ${(err as Error).message}` };
      }
      // `{}` is the JSON of an empty request (proto3 omits empty lists): a success, as in protobuf.
      if (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && !Object.hasOwn(doc, 'resourceSpans')) doc = { resourceSpans: [] };
      d = decodeOtlpJson(doc, e.location);
    }
    if (d.kind === 'reject') {
      badBodies.add(d.reason, e.location, d.detail);
      return { kind: 'bad-data', message: `${d.reason}: ${d.detail}` };
    }
    // An empty request is a success (the spec): nothing to do.
    if (d.kind === 'skip') {
      requests.accepted++;
      return { kind: 'accepted', rejectedSpans: 0 };
    }
    const batch = d.value;
    for (const r of batch.rejected) decodeRejects.add(r.reason, e.location, `${r.at}: ${r.detail}`);
    for (const n of batch.notes) skips.add(`span-repaired-${n.reason}`, e.location, `${n.at}: ${n.detail}`);
    for (const span of batch.spans) {
      const name = String(span.resource['service.name'] ?? '(no service.name)');
      const key = senders.has(name) || senders.size < SENDERS_KEPT ? name : '(other)';
      senders.set(key, (senders.get(key) ?? 0) + 1);
    }
    // Only what edges are made of is held while a span waits (and kept in the checkpoint).
    joiner.addBatch(batch.spans.map(heldPart));
    if (batch.rejected.length === 0) {
      requests.accepted++;
      return { kind: 'accepted', rejectedSpans: 0 };
    }
    requests.partial++;
    const reasons = [...new Set(batch.rejected.map((r) => r.reason))].sort(compare);
    const first = batch.rejected[0]!;
    return { kind: 'accepted', rejectedSpans: batch.rejected.length, message: `${batch.rejected.length} spans rejected (${reasons.join(', ')}); first: ${first.at}: ${first.detail}` };
  };

  const receiver = new OtlpReceiver({
    ...(opts.http === undefined ? {} : { http: opts.http }),
    ...(opts.grpc === undefined ? {} : { grpc: opts.grpc }),
    maxBodyBytes: opts.maxBodyBytes,
    maxQueuedBytes: opts.maxQueuedBytes,
    retryAfterSeconds: COLLECT_DEFAULTS.retryAfterSeconds,
    ...(opts.token === undefined ? {} : { token: opts.token }),
    ...(opts.tls === undefined ? {} : { tls: opts.tls }),
    onExport,
    onInternalError: (err: unknown, location: ReceivedLocation) =>
      process.stderr.write(`ztmap collect: internal error on ${formatLocation(location)} (answered 500, collect goes on): ${(err as Error).stack ?? String(err)}\nPlease report this.\n`),
    // A body that came whole but is no gzip is bad data, as a body that is no request.
    onRefused: (reason: string, location: ReceivedLocation, detail: string) => (reason === 'bad-gzip' ? badBodies : refused).add(reason, location, detail),
  });
  // Signals are caught before the listeners open: a stop that comes as soon as collect says it
  // listens must still write the last checkpoint, not end the process.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      // A second signal while stopping ends the process at once; the last checkpoint stands.
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  let listening: { http?: string; grpc?: string };
  try {
    listening = await receiver.start();
  } catch (err) {
    await receiver.stop();
    const e = err as NodeJS.ErrnoException;
    throw new InputError(`collect: cannot listen (${e.code ?? e.message}): ${e.message}. Pick free addresses with --otlp-http and --otlp-grpc (port 0 takes any free port), or stop what holds them.`);
  }
  opts.onListening?.(listening);

  const started = new Date().toISOString();
  let checkpoints = 0;
  const status = (): CollectStatus => {
    const c = joiner.counts;
    return {
      version: 1,
      started,
      written: new Date().toISOString(),
      checkpoints,
      ...(previous.resumed === undefined ? {} : { resumed: previous.resumed }),
      listening,
      requests: { ...requests, badData: badBodies.counts(), refused: refused.counts() },
      spans: { received: c.spans + decodeRejects.total, accepted: c.spans, rejected: mergedTally(decodeRejects, rejects).counts(), skipped: skips.counts(), flows: c.flows, pairs: c.pairs, pending: c.pending, expired: c.expired, evicted: c.evicted, flushed: c.flushed },
      senders: [...senders].sort((a, b) => b[1] - a[1] || compare(a[0], b[0])).slice(0, SENDERS_SHOWN),
      unresolved: unresolved.counts(),
      graph: { nodes: 0, edges: 0 },
    };
  };

  const checkpoint = async (): Promise<CollectStatus> => {
    joiner.advance(performance.timeOrigin + performance.now());
    const graph = previous.graph === undefined ? builder.toGraph() : mergeGraphs(previous.graph, builder.toGraph(), cap);
    checkpoints++;
    const s = { ...status(), graph: { nodes: graph.order, edges: graph.size } };
    const pending = joiner.pendingSpans();
    await writeCheckpoint({ out: opts.out, unit: 'collect', owned: COLLECT_FILES, graph, statusFile: 'collect-status.json', status: s, pendingFile: 'collect-pending.json', pending });
    opts.onCheckpoint?.(s);
    return s;
  };

  // Checkpoints never overlap: a slow disk makes the next one wait, not pile up.
  let writing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    writing = writing.then(checkpoint).catch((err: unknown) => process.stderr.write(`ztmap collect: checkpoint failed, the previous one stands: ${(err as Error).message}\n`));
  }, opts.intervalSeconds * 1000);

  await stopped;
  clearInterval(timer);
  await receiver.stop();
  await writing;
  // Spans still waiting stay in the checkpoint, to join after a restart (a rolling restart must
  // not break joins); a last stop says so and counts them alone.
  if (opts.flushOnStop === true) joiner.flush();
  return checkpoint();
}

function mergedTally(a: Tally, b: Tally): Tally {
  const t = new Tally();
  t.merge(a);
  t.merge(b);
  return t;
}

interface Checkpoint {
  graph?: ServiceGraph;
  pending: Span[];
  resumed?: { edges: number; pendingSpans: number };
}

/** The last checkpoint in OUT, if any: its graph and the spans that were waiting. */
async function readCheckpoint(out: string): Promise<Checkpoint> {
  const graphFile = join(out, 'graph.json');
  const pendingFile = join(out, 'collect-pending.json');
  let graph: ServiceGraph | undefined;
  // Only collect's own checkpoint is gone on from: a graph.json another command wrote (observe's)
  // would be published again as collect's.
  const marker = join(out, 'collect-status.json');
  try {
    await readFile(marker);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`collect: cannot read ${marker} (${(err as Error).message}).`);
    try {
      await readFile(graphFile);
    } catch {
      return { pending: [] };
    }
    throw new ConfigError(`collect: ${out} holds a graph.json that collect did not write (no collect-status.json beside it). Choose another --out for collect, or move that graph away; to combine both, use observe --merge.`);
  }
  try {
    graph = await readGraphFile(graphFile);
  } catch (err) {
    // No graph yet: a first start. Any other problem (damaged, unreadable) stops collect, named.
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return { pending: [] };
    throw err;
  }
  const pending = await readPendingSpans(pendingFile, 'collect');
  return { graph, pending, resumed: { edges: graph.size, pendingSpans: pending.length } };
}
