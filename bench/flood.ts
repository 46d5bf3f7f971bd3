// Bounded under floods (issue 12, part 4): what a client that names a new external host on
// every request does to observe, and what a graph of a million edges costs to write and read.
//
//   npm run bench:flood                       # 1 GiB flood, one million edges
//   FLOOD_BYTES=200000000 FLOOD_EDGES=100000 npm run bench:flood
//
// 1. Writes bench-data/flood/flood-BYTES.log once (reused after): Istio access-log lines of
//    web-1 opening TLS through PassthroughCluster to a host never seen before (a unique SNI and
//    address on each line), over three ports, and the inventory that names web-1.
// 2. Runs `ztmap observe` on it under /usr/bin/time -v, with --jobs 1 and --jobs 2: peak RSS of
//    the whole process tree (the main thread and its workers share one process).
// 3. In a process of its own (`flood.js edges N DIR`), builds a graph of N workload-to-workload
//    edges (never folded), writes graph.json, nodes.csv and edges.csv through observe's own
//    writers and staging, and reads graph.json back with readGraphFile: time and peak RSS.
//
// Prints one JSON line per measurement on stdout and a summary table on stderr. Not part of
// `npm test`: its figures are recorded in docs/performance.md.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { replaceOutputs } from '../src/cli/output.js';
import type { Identity, ResolvedFlow } from '../src/flow/identity.js';
import { GraphBuilder } from '../src/graph/build.js';
import { edgesCsvChunks, nodesCsvChunks } from '../src/graph/csv.js';
import { graphJsonChunks, readGraphFile } from '../src/graph/json.js';
import { writeSampleInventory } from '../test/support/sample-mesh.js';

const MiB = 1024 * 1024;
const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** One flood line: web-1 (10.61.2.14) to host `n` on `port`, through PassthroughCluster, named by SNI. */
function floodLine(n: number, t: number): string {
  const port = [443, 8443, 9443][n % 3]!;
  const ip = `${100 + ((n >>> 16) & 127)}.${(n >>> 8) & 255}.${n & 255}.${1 + (n % 250)}`;
  const start = new Date(t).toISOString();
  return (
    `[${start}] "- - -" 0 - - - "-" 812 5230 118 - "-" "-" "-" "-" "${ip}:${port}" PassthroughCluster ` +
    `10.61.2.14:${32768 + (n % 28000)} ${ip}:${port} 10.61.2.14:${32768 + ((n * 7) % 28000)} h${n}.flood-${n % 997}.example.com -\n`
  );
}

function writeFlood(file: string, bytes: number): number {
  const partial = file + '.partial';
  const fd = openSync(partial, 'w');
  const buf = Buffer.allocUnsafe(16 * MiB);
  let off = 0;
  let written = 0;
  let n = 0;
  const t0 = Date.UTC(2026, 2, 14, 9, 0, 0);
  while (written + off < bytes) {
    off += buf.write(floodLine(n, t0 + n), off, 'latin1');
    n++;
    if (off > buf.length - 4096) {
      writeSync(fd, buf, 0, off);
      written += off;
      off = 0;
    }
  }
  writeSync(fd, buf, 0, off);
  closeSync(fd);
  renameSync(partial, file);
  return n;
}

function maxRssOf(timeOutput: string): number {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(timeOutput);
  return m === null ? NaN : Number(m[1]) / 1024;
}

function observeRun(file: string, inventory: string, out: string, jobs: number): { step: string; jobs: number; seconds: number; maxRssMiB: number; graphBytes: number } {
  rmSync(out, { recursive: true, force: true });
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, main, 'observe', '-q', '--fail-on', 'never', '-i', inventory, '--out', out, '--jobs', String(jobs), file], { encoding: 'utf8' });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`observe --jobs ${jobs} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const graphBytes = statSync(join(out, 'graph.json')).size;
  return { step: 'observe-flood', jobs, seconds: +seconds.toFixed(1), maxRssMiB: +maxRssOf(r.stderr).toFixed(0), graphBytes };
}

/** Step 3, in its own process: N edges written through observe's writers, then read back. */
async function edges(n: number, dir: string): Promise<void> {
  const written = await buildAndWrite(n, dir);
  // The graph written is garbage by now: what reading back costs is measured on its own.
  global.gc?.();
  const rssBeforeRead = process.memoryUsage().rss / MiB;
  const t = performance.now();
  const back = await readGraphFile(join(dir, 'graph.json'));
  const readSeconds = (performance.now() - t) / 1000;
  if (back.size !== written.edges || back.order !== written.nodes) throw new Error(`read back ${back.size} edges, ${back.order} nodes; wrote ${written.edges}, ${written.nodes}`);
  process.stdout.write(
    JSON.stringify({
      step: 'million-edges',
      ...written,
      graphBytes: statSync(join(dir, 'graph.json')).size,
      edgesCsvBytes: statSync(join(dir, 'edges.csv')).size,
      readSeconds: +readSeconds.toFixed(1),
      rssBeforeReadMiB: Math.round(rssBeforeRead),
      rssAfterReadMiB: Math.round(process.memoryUsage().rss / MiB),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    }) + '\n',
  );
}

async function buildAndWrite(n: number, dir: string): Promise<{ edges: number; nodes: number; buildSeconds: number; writeSeconds: number; maxRssAfterWriteMiB: number }> {
  const w = (i: number): Identity => ({ kind: 'workload', key: `ns${i % 50}/Deployment/w${i}`, namespace: `ns${i % 50}`, workloadKind: 'Deployment', name: `w${i}`, serviceAccount: `sa${i}`, labels: { app: `w${i}` } });
  const side = Math.ceil(Math.sqrt(n));
  const ids = Array.from({ length: side }, (_, i) => w(i));
  const b = new GraphBuilder();
  let t = performance.now();
  for (let k = 0; k < n; k++) {
    const f: ResolvedFlow = {
      flow: { source: {}, destination: {}, protocol: 'http', l7: { method: 'GET', path: `/api/v1/items` }, mtls: 'mutual', responseCode: 200, timestamp: 1_773_478_800_000 + k, count: 1, reporter: 'server', evidence: { decoder: 'envoy-text', location: { file: 'f' } } },
      source: ids[k % side]!,
      destination: ids[Math.floor(k / side)]!,
      port: 8080,
      reporter: 'server',
      mtls: 'mutual',
    };
    b.add(f);
  }
  const g = b.toGraph();
  const buildSeconds = (performance.now() - t) / 1000;
  rmSync(dir, { recursive: true, force: true });
  t = performance.now();
  await replaceOutputs({
    out: dir,
    unit: 'observe',
    owned: ['graph.json', 'nodes.csv', 'edges.csv'],
    write: async (s) => {
      await s.write('nodes.csv', nodesCsvChunks(g));
      await s.write('edges.csv', edgesCsvChunks(g));
      await s.write('graph.json', graphJsonChunks(g));
    },
  });
  const writeSeconds = (performance.now() - t) / 1000;
  return { edges: g.size, nodes: g.order, buildSeconds: +buildSeconds.toFixed(1), writeSeconds: +writeSeconds.toFixed(1), maxRssAfterWriteMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

async function run(): Promise<void> {
  const bytes = Number(process.env.FLOOD_BYTES ?? 1024 * MiB);
  const edgeCount = Number(process.env.FLOOD_EDGES ?? 1_000_000);
  const dir = resolve(process.env.FLOOD_DIR ?? 'bench-data/flood');
  mkdirSync(dir, { recursive: true });
  const inventory = writeSampleInventory(dir);
  const file = join(dir, `flood-${bytes}.log`);
  let t = performance.now();
  const fresh = !existsSync(file);
  const lines = fresh ? writeFlood(file, bytes) : undefined;
  process.stderr.write(`bench/flood: ${fresh ? `wrote ${lines} lines (${(statSync(file).size / MiB).toFixed(0)} MiB) in ${((performance.now() - t) / 1000).toFixed(0)} s` : `reusing ${file}`}\n`);
  process.stderr.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}\n`);
  const results: Record<string, unknown>[] = [];
  for (const jobs of [1, 2]) {
    const r = { ...observeRun(file, inventory, join(dir, `out-jobs${jobs}`), jobs), inputMiB: Math.round(statSync(file).size / MiB) };
    results.push(r);
    process.stdout.write(JSON.stringify(r) + '\n');
    process.stderr.write(`observe --jobs ${jobs}: ${r.seconds} s, peak RSS ${r.maxRssMiB} MiB, graph.json ${(r.graphBytes / MiB).toFixed(1)} MiB\n`);
  }
  t = performance.now();
  const e = spawnSync('/usr/bin/time', ['-v', process.execPath, '--expose-gc', fileURLToPath(import.meta.url), 'edges', String(edgeCount), join(dir, 'edges-out')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (e.status !== 0) throw new Error(`edges step exited ${e.status}: ${e.stderr.slice(-2000)}`);
  process.stdout.write(e.stdout);
  const m = JSON.parse(e.stdout) as Record<string, number>;
  process.stderr.write(
    `${m.edges} edges: built in ${m.buildSeconds} s; graph.json (${((m.graphBytes ?? 0) / MiB).toFixed(0)} MiB) + CSVs written in ${m.writeSeconds} s (peak RSS ${m.maxRssAfterWriteMiB} MiB); ` +
      `read back in ${m.readSeconds} s (RSS ${m.rssBeforeReadMiB} → ${m.rssAfterReadMiB} MiB); peak RSS ${maxRssOf(e.stderr).toFixed(0)} MiB overall\n`,
  );
}

if (process.argv[2] === 'edges') await edges(Number(process.argv[3]), process.argv[4]!);
else await run();
