// `npm run bench:traces` (also the last part of `npm run bench`): OTLP protobuf traces, one core.
//
// 1. Decoding, in a child process of its own (so that its peak RSS is its own), the same bodies
//    four ways, the modes taking turns each round, each mode's best round kept:
//      decode    ExportTraceServiceRequest.decode(body) alone (protobufjs over opentelemetry-proto's definitions)
//      toObject  decode + toObject as decodeOtlpProto calls it (ids base64, int64 as strings)
//      spans     decodeOtlpProto: the above, then the OTLP/JSON reader → TraceBatch of Span
//      graph     what `ztmap collect` does with a request: decodeOtlpProto → SpanJoiner.addBatch
//                (arrival time the clock) → Resolver.resolve → GraphBuilder.add (fresh state each
//                round, flushed at the end); without collect's heldPart, which is not exported
// 2. The receiver: `ztmap collect` as a child on loopback (port 0); this process sends the same
//    bodies, restamped (new trace ids each round, span times at the wall clock), over OTLP/HTTP
//    protobuf on K keep-alive connections, then over OTLP/gRPC with K calls in flight, each until
//    a bounded count of requests is answered or a bounded time passes. 429/UNAVAILABLE is waited
//    for and sent again. Reports the spans accepted per second, collect's CPU and peak RSS, and
//    checks that collect-status.json accepted exactly the spans this process got 200 for.
//
//   BENCH_TRACE_BODIES=128 BENCH_TRACE_SPANS=512 BENCH_RUNS=3 BENCH_TRACE_REQUESTS=2000
//   BENCH_TRACE_SECONDS=20 BENCH_TRACE_CONCURRENCY=4 BENCH_TRACE_GRPC=1; BENCH_QUICK=1 for a small run.
//   node dist/bench/traces.js decode   runs part 1 alone, in this process, and prints JSON.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { CollectStatus } from '../src/cli/commands/collect.js';
import { endpointKeyOf } from '../src/flow/endpoint-key.js';
import { GraphBuilder } from '../src/graph/build.js';
import { buildInventory } from '../src/inventory/inventory.js';
import { Resolver } from '../src/inventory/resolve.js';
import { loadCombined } from '../src/inventory/snapshots.js';
import { decodeOtlpProto } from '../src/sources/decoders/otlp-proto.js';
import { SpanJoiner } from '../src/sources/span-edges.js';
import { Tally } from '../src/tally.js';
import { buildBodies, loadGrpc, loadHttp, Request, traceInventory, type Bodies, type LoadResult } from './otlp-load.js';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', 'src', 'cli', 'main.js');
const quick = process.env['BENCH_QUICK'] === '1';
const env = (k: string, full: number, small: number) => Number(process.env[k] ?? (quick ? small : full));
const bodyCount = env('BENCH_TRACE_BODIES', 64, 16);
const spansPerBody = env('BENCH_TRACE_SPANS', 512, 512);
const runs = env('BENCH_RUNS', 3, 1);
const maxRequests = env('BENCH_TRACE_REQUESTS', 2000, 200);
const maxSeconds = env('BENCH_TRACE_SECONDS', 20, 5);
const concurrency = env('BENCH_TRACE_CONCURRENCY', 4, 4);
const withGrpc = env('BENCH_TRACE_GRPC', 1, 1) === 1;

// decodeOtlpProto's toObject options (src/sources/decoders/otlp-proto.ts, AS_JSON; not exported).
const AS_JSON = { longs: String, bytes: String, enums: Number, defaults: false, oneofs: false } as const;

function writeInventory(dir: string, b: Bodies): string {
  const file = join(dir, 'inventory.json');
  writeFileSync(file, JSON.stringify(traceInventory(b.mesh)) + '\n');
  return file;
}

/** The peak RSS (VmHWM) of a process, MiB. */
function peakRssMiB(pid: number | 'self'): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "(comm) ".
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// ---------------------------------------------------------------------------------------------
// Part 1: decoding, in this process

interface DecodeResult {
  mode: string;
  seconds: number;
  spans: number;
  bytes: number;
  spansPerSecond: number;
  mbPerSecond: number;
  edges?: number;
  pairs?: number;
  flows?: number;
  unresolved?: number;
}

async function decodeBench(): Promise<void> {
  const t = performance.now();
  const b = buildBodies(bodyCount, spansPerBody);
  const buildSeconds = (performance.now() - t) / 1000;
  const rssAfterBodies = peakRssMiB('self');
  const dir = mkdtempSync(join(tmpdir(), 'ztmap-bench-traces-'));
  const inventory = buildInventory((await loadCombined([writeInventory(dir, b)])).objects);
  rmSync(dir, { recursive: true });
  const totalSpans = b.spans.reduce((a, x) => a + x, 0);
  const totalBytes = b.bodies.reduce((a, x) => a + x.length, 0);
  // The bare loops are fast: several passes over the bodies make a round of ~1 s or more.
  const passes: Record<string, number> = { decode: 4, toObject: 2, spans: 1, graph: 1 };
  let sink = 0;
  const location = { receiver: 'bench', request: 0 };

  const modes: Record<string, () => Partial<DecodeResult>> = {
    decode: () => {
      for (const body of b.bodies) sink += (Request.decode(body) as unknown as { resourceSpans: unknown[] }).resourceSpans.length;
      return {};
    },
    toObject: () => {
      for (const body of b.bodies) sink += Object.keys(Request.toObject(Request.decode(body), AS_JSON)).length;
      return {};
    },
    spans: () => {
      for (const body of b.bodies) {
        const d = decodeOtlpProto(body, location);
        if (d.kind !== 'ok') throw new Error(`bench/traces: a body did not decode: ${d.kind}`);
        sink += d.value.spans.length;
      }
      return {};
    },
    graph: () => {
      // As collect wires it (src/cli/commands/collect.ts), the status bookkeeping included, but for
      // heldPart (the attributes a waiting span keeps, paths as exemplars): collect.ts does not export it.
      const rejects = new Tally();
      const skips = new Tally();
      const unresolved = new Tally();
      const resolver = new Resolver(inventory, unresolved);
      const builder = new GraphBuilder({ source: 'traces' });
      const senders = new Map<string, number>();
      const joiner = new SpanJoiner(
        { maxPending: 100_000, maxWaitMs: 30_000, decoder: 'otlp', now: Date.now },
        {
          flow(f) {
            for (const rf of resolver.resolve({ ...f, endpointKey: endpointKeyOf(f) })) builder.add(rf);
          },
          rejects,
          skips,
        },
      );
      for (const body of b.bodies) {
        const d = decodeOtlpProto(body, location);
        if (d.kind !== 'ok') throw new Error(`bench/traces: a body did not decode: ${d.kind}`);
        const batch = d.value;
        for (const r of batch.rejected) rejects.add(r.reason, location, `${r.at}: ${r.detail}`);
        for (const n of batch.notes) skips.add(`span-repaired-${n.reason}`, location, `${n.at}: ${n.detail}`);
        for (const span of batch.spans) {
          const name = String(span.resource['service.name'] ?? '(no service.name)');
          senders.set(name, (senders.get(name) ?? 0) + 1);
        }
        joiner.addBatch(batch.spans);
      }
      joiner.flush();
      if (rejects.total > 0) throw new Error(`bench/traces: ${rejects.total} spans rejected: ${rejects.entries().map(([r]) => r).join(', ')}`);
      const c = joiner.counts;
      return { edges: builder.toGraph().size, pairs: c.pairs, flows: c.flows, unresolved: unresolved.total };
    },
  };

  const run = (mode: string): DecodeResult => {
    const n = passes[mode]!;
    const t0 = performance.now();
    let extra: Partial<DecodeResult> = {};
    for (let i = 0; i < n; i++) extra = modes[mode]!();
    const seconds = (performance.now() - t0) / 1000;
    const spans = n * totalSpans;
    const bytes = n * totalBytes;
    return { mode, seconds, spans, bytes, spansPerSecond: Math.round(spans / seconds), mbPerSecond: bytes / 1e6 / seconds, ...extra };
  };
  // One warm-up round (JIT, inline caches), then the rounds that count.
  for (const mode of Object.keys(modes)) run(mode);
  const best = new Map<string, DecodeResult>();
  for (let i = 0; i < runs; i++) {
    for (const mode of Object.keys(modes)) {
      const r = run(mode);
      const prev = best.get(mode);
      if (prev === undefined || r.spansPerSecond > prev.spansPerSecond) best.set(mode, r);
    }
  }
  const usage = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({
      bodies: b.bodies.length,
      spans: totalSpans,
      bytes: totalBytes,
      buildSeconds,
      rssAfterBodiesMiB: rssAfterBodies,
      peakRssMiB: peakRssMiB('self'),
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      results: [...best.values()],
      sink,
    }) + '\n',
  );
}

// ---------------------------------------------------------------------------------------------
// Part 2: the receiver

interface ReceiverResult {
  transport: string;
  load: LoadResult;
  collectCpuSeconds: number;
  collectPeakRssMiB: number;
  status: CollectStatus;
}

async function receiverBench(transport: 'http' | 'grpc', b: Bodies, dir: string, inventory: string): Promise<ReceiverResult> {
  const out = join(dir, `out-${transport}`);
  const child = spawn(process.execPath, [BIN, 'collect', '-i', inventory, '-o', out, '--otlp-http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0', '--interval', '5'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', ...(process.env['NODE_PATH'] === undefined ? {} : { NODE_PATH: process.env['NODE_PATH'] }) } });
  let err = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const listening = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /collect: listening otlp-http=(\S+) otlp-grpc=(\S+)/.exec(err);
      if (m !== null) resolve(m);
    });
    void exited.then((code) => reject(new Error(`collect exited (${code}) before listening:\n${err}`)));
  });
  const pid = child.pid!;
  const cpu0 = cpuSecondsOf(pid);
  const opts = { concurrency, maxRequests, maxSeconds };
  const load = transport === 'http' ? await loadHttp(listening[1]!, b, opts) : await loadGrpc(listening[2]!, b, opts);
  const collectCpuSeconds = cpuSecondsOf(pid) - cpu0;
  const collectPeakRssMiB = peakRssMiB(pid);
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`collect exited with ${code}:\n${err}`);
  const status = JSON.parse(readFileSync(join(out, 'collect-status.json'), 'utf8')) as CollectStatus;
  // What the generator got 200 for is what collect says it accepted, no more, no less.
  const rejected = Object.values(status.spans.rejected).reduce((a, x) => a + x, 0);
  if (status.spans.accepted !== load.okSpans || status.requests.accepted !== load.ok || rejected !== 0) {
    throw new Error(`bench/traces: ${transport}: collect accepted ${status.spans.accepted} spans in ${status.requests.accepted} requests (${rejected} rejected), the load generator got 200 for ${load.okSpans} spans in ${load.ok}:\n${err}`);
  }
  return { transport, load, collectCpuSeconds, collectPeakRssMiB, status };
}

// ---------------------------------------------------------------------------------------------

function decodeInChild(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'decode'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(text) as Record<string, unknown>) : reject(new Error(`bench/traces decode exited with ${code}`))));
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
  const d = (await decodeInChild()) as { bodies: number; spans: number; bytes: number; buildSeconds: number; rssAfterBodiesMiB: number; peakRssMiB: number; results: DecodeResult[] };
  process.stdout.write(`\nOTLP protobuf decoding, one core: ${d.bodies} bodies × ${spansPerBody} spans (${fmt(d.spans)} spans, ${(d.bytes / 1e6).toFixed(1)} MB, ${Math.round(d.bytes / d.spans)} B/span), best of ${runs} round(s) after a warm-up\n`);
  process.stdout.write('mode       spans/s      MB/s   ÷ decode  seconds\n');
  const bare = d.results[0]!;
  for (const r of d.results) {
    process.stdout.write(`${r.mode.padEnd(9)} ${fmt(r.spansPerSecond).padStart(10)}  ${r.mbPerSecond.toFixed(1).padStart(7)}  ${(r.spansPerSecond / bare.spansPerSecond).toFixed(3).padStart(8)}  ${r.seconds.toFixed(2).padStart(7)}\n`);
  }
  const g = d.results.find((r) => r.mode === 'graph')!;
  process.stdout.write(`  graph: ${g.flows} flows (${g.pairs} joined pairs), ${g.edges} edges, ${g.unresolved} endpoints unresolved; peak RSS ${d.peakRssMiB.toFixed(0)} MiB (${d.rssAfterBodiesMiB.toFixed(0)} MiB once the bodies were built in ${d.buildSeconds.toFixed(1)} s)\n`);

  const b = buildBodies(bodyCount, spansPerBody);
  const dir = mkdtempSync(join(tmpdir(), 'ztmap-bench-traces-'));
  try {
    const inventory = writeInventory(dir, b);
    process.stdout.write(`\nreceiver: ztmap collect on loopback, ${concurrency} connections (HTTP, keep-alive) or calls in flight (gRPC), up to ${maxRequests} requests or ${maxSeconds} s\n`);
    process.stdout.write('transport  requests  spans/s    MB/s   429  collect CPU  peak RSS MiB  load-gen CPU  edges\n');
    for (const transport of withGrpc ? (['http', 'grpc'] as const) : (['http'] as const)) {
      const r = await receiverBench(transport, b, dir, inventory);
      const l = r.load;
      process.stdout.write(
        `${transport.padEnd(9)} ${String(l.ok).padStart(9)}  ${fmt(l.okSpans / l.seconds).padStart(7)}  ${(l.okBytes / 1e6 / l.seconds).toFixed(1).padStart(6)}  ${String(l.busy).padStart(4)}  ${((100 * r.collectCpuSeconds) / l.seconds).toFixed(0).padStart(10)}%  ${r.collectPeakRssMiB.toFixed(0).padStart(12)}  ${((100 * l.cpuSeconds) / l.seconds).toFixed(0).padStart(11)}%  ${String(r.status.graph.edges).padStart(5)}\n`,
      );
      const others = Object.entries(l.other);
      if (l.errors > 0 || others.length > 0) process.stdout.write(`  ${transport}: ${l.errors} failed and sent again; other answers: ${others.map(([k, v]) => `${k} × ${v}`).join(', ') || 'none'}\n`);
      process.stdout.write(`  ${transport}: ${fmt(l.okSpans)} spans in ${l.seconds.toFixed(1)} s, collect-status.json agrees; ${r.status.spans.pairs} joined pairs, ${r.status.spans.expired + r.status.spans.evicted} gave up waiting, ${r.status.spans.flushed} flushed at stop, ${r.status.spans.pending} waiting at stop (kept for a restart)\n`);
    }
    process.stdout.write('  (CPU: % of one core over the load; collect decodes on one thread, so ~100% means decode-bound)\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'decode') await decodeBench();
else await main();
