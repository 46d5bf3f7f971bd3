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

import { existsSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CLI as cli, LINES_PER_PAIR, PAIRS_PER_WORKLOAD, prepareMesh as prepare, run, timed as timedFor } from './mesh.js';

const sizes = (process.env['BENCH_WORKLOADS'] ?? '1000,5000,20000').split(',').map((x) => Number(x.replace(/_/g, '')));
const stages = (process.env['BENCH_STAGES'] ?? 'propose,verify,verify-op').split(',');
const timeoutS = Number(process.env['BENCH_TIMEOUT'] ?? 900);
const timed = (args: string[]) => timedFor(args, timeoutS);

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
