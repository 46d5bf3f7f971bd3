// `npm run bench:stages`: the stages after ingest, by the size of the mesh. For each size it
// generates a mesh with bench/generate.ts (20 workloads per namespace, 4 (client, server,
// port) pairs per workload, every pair logged from both sides, CoreDNS and istiod in the
// inventory), observes it once (not
// measured), then runs the real CLI for each stage in its own process under /usr/bin/time,
// so that wall time and peak RSS are the command's alone:
//
//   propose                       graph.json + inventory → policies/
//   verify --no-over-permission   the proposal replayed against the observed traffic
//   verify                        the same with the over-permission search (the default)
//
//   BENCH_WORKLOADS=1000,5000,20000 (default)  BENCH_STAGES=propose,verify,verify-op
//   BENCH_TIMEOUT=900 (seconds per stage; a stage past it is reported as such)
//   BENCH_CLI=/path/to/dist/src/cli/main.js measures another build on the same data
//   BENCH_KEEP=1 keeps bench-data/stages-N/out (the proposal) between runs
//
// Prints the machine, then one line per (size, stage) and a Markdown table for
// docs/performance.md. Exit codes of the stages are reported, not judged: a proposal with
// blockers exits 5, which is still a complete run.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
// BENCH_CLI: another build's main.js (e.g. main's), to measure before and after on the same data.
const cli = process.env['BENCH_CLI'] ?? join(root, 'dist', 'src', 'cli', 'main.js');
const sizes = (process.env['BENCH_WORKLOADS'] ?? '1000,5000,20000').split(',').map((x) => Number(x.replace(/_/g, '')));
const stages = (process.env['BENCH_STAGES'] ?? 'propose,verify,verify-op').split(',');
const timeoutS = Number(process.env['BENCH_TIMEOUT'] ?? 900);
const PAIRS_PER_WORKLOAD = 4;
const LINES_PER_PAIR = 4;

interface Measured {
  seconds: number;
  /** User + system CPU time: beside wall time, what a busy machine changes least. */
  cpuSeconds: number;
  maxRssMiB: number;
  exit: number | null;
  timedOut: boolean;
}

/** One command under GNU time: its own wall time and maximum resident set. */
function timed(args: string[]): Measured {
  const r = spawnSync('/usr/bin/time', ['-f', 'ztmap-bench %e %M %U %S', process.execPath, ...args], { encoding: 'utf8', timeout: timeoutS * 1000, killSignal: 'SIGKILL', maxBuffer: 256 << 20 });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    process.stderr.write('bench:stages: needs GNU time at /usr/bin/time (apt-get install time)\n');
    process.exit(2);
  }
  if (r.signal === 'SIGKILL') return { seconds: timeoutS, cpuSeconds: NaN, maxRssMiB: NaN, exit: null, timedOut: true };
  const m = /ztmap-bench ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (m === null) throw new Error(`bench:stages: no timing from ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), cpuSeconds: Number(m[3]) + Number(m[4]), maxRssMiB: Number(m[2]) / 1024, exit: r.status, timedOut: false };
}

function run(args: string[]): void {
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 && r.status !== 3 && r.status !== 4) throw new Error(`bench:stages: ${args.join(' ')} exited ${r.status}`);
}

/** The generated mesh and its observed graph, made once per size. */
function prepare(workloads: number): { dir: string; edges: number } {
  const dir = join(root, 'bench-data', `stages-${workloads}`);
  const pairs = workloads * PAIRS_PER_WORKLOAD;
  const lines = pairs * LINES_PER_PAIR;
  const log = join(dir, `access-text-${lines}.log`);
  if (!existsSync(log) || !existsSync(join(dir, 'inventory.json'))) {
    mkdirSync(dir, { recursive: true });
    run([join(here, 'generate.js'), '--lines', String(lines), '--format', 'text', '--out', dir, '--workloads', String(workloads), '--pairs', String(pairs), '--every-pair', '--platform']);
  }
  if (!existsSync(join(dir, 'graph.json'))) run([cli, 'observe', '-q', '-i', join(dir, 'inventory.json'), '-o', dir, log]);
  const graph = JSON.parse(readFileSync(join(dir, 'graph.json'), 'utf8')) as { edges?: unknown[] };
  return { dir, edges: graph.edges?.length ?? 0 };
}

function stageArgs(stage: string, dir: string): string[] {
  const inv = join(dir, 'inventory.json');
  const graph = join(dir, 'graph.json');
  const out = join(dir, 'out');
  const policies = join(out, 'policies');
  switch (stage) {
    case 'propose':
      return [cli, 'propose', '-q', '-g', graph, '-i', inv, '-o', out];
    case 'verify':
      return [cli, 'verify', '-q', '--no-over-permission', '-p', policies, '-g', graph, '-i', inv, '--rules', join(policies, 'rules.json'), '--json', join(dir, 'verification.json')];
    case 'verify-op':
      return [cli, 'verify', '-q', '-p', policies, '-g', graph, '-i', inv, '--rules', join(policies, 'rules.json'), '--json', join(dir, 'verification-op.json')];
    default:
      throw new Error(`bench:stages: unknown stage ${stage} (propose, verify, verify-op)`);
  }
}

const cpu = cpus()[0]?.model ?? '?';
process.stdout.write(`machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
process.stdout.write(`sizes: ${sizes.join(', ')} workloads, ${PAIRS_PER_WORKLOAD} pairs per workload, ${LINES_PER_PAIR} lines per pair; stages: ${stages.join(', ')}; timeout ${timeoutS} s\n\n`);
const rows: string[] = [];
for (const workloads of sizes) {
  const { dir, edges } = prepare(workloads);
  if (process.env['BENCH_KEEP'] !== '1') rmSync(join(dir, 'out'), { recursive: true, force: true });
  for (const stage of stages) {
    if (stage !== 'propose' && !existsSync(join(dir, 'out', 'policies'))) run(stageArgs('propose', dir));
    const m = timed(stageArgs(stage, dir));
    const time = m.timedOut ? `> ${timeoutS}` : m.seconds.toFixed(1);
    const cpu = m.timedOut ? '?' : m.cpuSeconds.toFixed(1);
    const rss = m.timedOut ? '?' : m.maxRssMiB.toFixed(0);
    process.stdout.write(`${String(workloads).padStart(6)} workloads  ${String(edges).padStart(6)} edges  ${stage.padEnd(9)}  ${time.padStart(7)} s  ${cpu.padStart(7)} s CPU  ${rss.padStart(6)} MiB  exit ${m.exit ?? 'killed'}\n`);
    rows.push(`| ${workloads.toLocaleString('en')} | ${edges.toLocaleString('en')} | ${stage === 'verify-op' ? 'verify (with over-permission)' : stage === 'verify' ? 'verify --no-over-permission' : 'propose'} | ${time} s | ${cpu} s | ${rss} MiB |`);
  }
}
process.stdout.write(`\n| workloads | edges | stage | wall time | CPU time | peak RSS |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
