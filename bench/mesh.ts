// The generated meshes of the after-ingest benches (bench:stages, bench:propose), and a command
// timed in its own process: what both share.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GRAPH_VERSION } from '../src/graph/json.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository (this file runs from dist/bench/). */
export const ROOT = join(here, '..', '..');
/** This build's CLI, or another build's main.js (BENCH_CLI), to measure before and after on the same data. */
export const CLI = process.env['BENCH_CLI'] ?? join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const PAIRS_PER_WORKLOAD = 4;
export const LINES_PER_PAIR = 4;

export interface Measured {
  seconds: number;
  /** User + system CPU time: beside wall time, what a busy machine changes least. */
  cpuSeconds: number;
  maxRssMiB: number;
  exit: number | null;
  timedOut: boolean;
}

/**
 * One command under GNU time: its own wall time and maximum resident set. `pinned` runs it on
 * the first core alone (taskset), as the one-core targets are stated.
 */
export function timed(args: string[], timeoutS: number, pinned = false): Measured {
  const time = ['/usr/bin/time', '-f', 'ztmap-bench %e %M %U %S', process.execPath, ...args];
  const [cmd, ...rest] = pinned ? ['taskset', '-c', '0', ...time] : time;
  const r = spawnSync(cmd!, rest, { encoding: 'utf8', timeout: timeoutS * 1000, killSignal: 'SIGKILL', maxBuffer: 256 << 20 });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    process.stderr.write(`bench: needs ${cmd} (apt-get install ${cmd === 'taskset' ? 'util-linux' : 'time'})\n`);
    process.exit(2);
  }
  if (r.signal === 'SIGKILL') return { seconds: timeoutS, cpuSeconds: NaN, maxRssMiB: NaN, exit: null, timedOut: true };
  const m = /ztmap-bench ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (m === null) throw new Error(`bench: no timing from ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), cpuSeconds: Number(m[3]) + Number(m[4]), maxRssMiB: Number(m[2]) / 1024, exit: r.status, timedOut: false };
}

/** Run a preparing command (not measured); exits 0, 3 or 4 are complete runs. */
export function run(args: string[]): void {
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 && r.status !== 3 && r.status !== 4) throw new Error(`bench: ${args.join(' ')} exited ${r.status}`);
}

/**
 * The generated mesh of `workloads` workloads (20 per namespace, 4 (client, server, port) pairs
 * per workload, every pair logged from both sides, CoreDNS and istiod in the inventory) and its
 * observed graph, made once per size under bench-data/stages-N.
 */
export function prepareMesh(workloads: number): { dir: string; edges: number } {
  const dir = join(ROOT, 'bench-data', `stages-${workloads}`);
  const pairs = workloads * PAIRS_PER_WORKLOAD;
  const lines = pairs * LINES_PER_PAIR;
  const log = join(dir, `access-text-${lines}.log`);
  if (!existsSync(log) || !existsSync(join(dir, 'inventory.json'))) {
    mkdirSync(dir, { recursive: true });
    run([join(here, 'generate.js'), '--lines', String(lines), '--format', 'text', '--out', dir, '--workloads', String(workloads), '--pairs', String(pairs), '--every-pair', '--platform']);
  }
  const read = () => JSON.parse(readFileSync(join(dir, 'graph.json'), 'utf8')) as { version?: unknown; edges?: unknown[] };
  let graph = existsSync(join(dir, 'graph.json')) ? read() : undefined;
  // A graph.json an older ztmap wrote (another version) is observed again: propose would refuse it.
  if (graph?.version !== GRAPH_VERSION) {
    run([CLI, 'observe', '-q', '-i', join(dir, 'inventory.json'), '-o', dir, log]);
    graph = read();
  }
  return { dir, edges: graph.edges?.length ?? 0 };
}
