// `npm run bench:propose`: `propose` at one size of mesh, on one core, two builds taking turns.
// The one-core target of issue 12 (5,000 workloads in under 5 s) is a wall time on a VM whose
// speed drifts by a third within minutes, so one run says little and runs minutes apart compare
// the drift. Each round times a fixed reference job (bench/host-reference.ts: how fast the host is
// now), then each build's `propose` (the first of them alternating), pinned to the first core
// (taskset), written to tmpfs when there is one (/dev/shm), so that the disk's fsyncs are not
// what is measured.
//
//   BENCH_WORKLOADS=5000 (default)   BENCH_ROUNDS=10 (default)
//   BENCH_CLI=/path/to/dist/src/cli/main.js       this build by default
//   BENCH_CLI_BEFORE=/path/to/main.js             another build (e.g. main's) to take turns with
//
// Prints each run, then min / median / max of wall time, CPU time and peak RSS per build, and of
// the reference job, and in how many rounds the build was faster than the one before it.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare } from '../src/flow/compare.js';
import { CLI, prepareMesh, timed, type Measured } from './mesh.js';

const here = dirname(fileURLToPath(import.meta.url));
const workloads = Number(process.env['BENCH_WORKLOADS'] ?? 5000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 10);
const builds = [...(process.env['BENCH_CLI_BEFORE'] !== undefined ? [{ name: 'before', cli: process.env['BENCH_CLI_BEFORE'] }] : []), { name: 'this', cli: CLI }];
const TIMEOUT_S = 600;

const { dir, edges } = prepareMesh(workloads);
const scratch = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ztmap-bench-propose-'));
process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
process.stdout.write(`propose: ${workloads} workloads, ${edges} edges, ${rounds} rounds on core 0, output under ${scratch}\n`);
for (const b of builds) process.stdout.write(`  ${b.name}: ${b.cli}\n`);
process.stdout.write('\n');

const runs = new Map<string, Measured[]>([['host reference', []], ...builds.map((b): [string, Measured[]] => [b.name, []])]);
const show = (name: string, m: Measured) => process.stdout.write(`${name.padEnd(15)} ${m.seconds.toFixed(2).padStart(6)} s  ${m.cpuSeconds.toFixed(2).padStart(6)} s CPU  ${m.maxRssMiB.toFixed(0).padStart(5)} MiB  exit ${m.exit ?? 'killed'}\n`);
try {
  for (let r = 0; r < rounds; r++) {
    const ref = timed([join(here, 'host-reference.js')], TIMEOUT_S, true);
    runs.get('host reference')!.push(ref);
    show('host reference', ref);
    // Which build goes first alternates: a run right after another long one was seen slower here.
    for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
      const out = join(scratch, b.name);
      rmSync(out, { recursive: true, force: true });
      const m = timed([b.cli, 'propose', '-q', '-g', join(dir, 'graph.json'), '-i', join(dir, 'inventory.json'), '-o', out], TIMEOUT_S, true);
      runs.get(b.name)!.push(m);
      show(b.name, m);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const spread = (xs: number[], digits: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `${s[0]!.toFixed(digits)} / ${median.toFixed(digits)} / ${s[s.length - 1]!.toFixed(digits)}`;
};
process.stdout.write(`\nmin / median / max over ${rounds} rounds\n`);
for (const [name, ms] of [...runs].sort(([a], [b]) => compare(a, b))) {
  process.stdout.write(`${name.padEnd(15)} wall ${spread(ms.map((m) => m.seconds), 2)} s   CPU ${spread(ms.map((m) => m.cpuSeconds), 2)} s   peak RSS ${spread(ms.map((m) => m.maxRssMiB), 0)} MiB\n`);
}
if (builds.length === 2) {
  const [before, after] = [runs.get('before')!, runs.get('this')!];
  const faster = after.filter((m, i) => m.seconds < before[i]!.seconds).length;
  process.stdout.write(`this build was faster than the one before in ${faster} of ${rounds} rounds\n`);
}
// A run that did not complete (exit 0, or 5 for a proposal with blockers) has no time worth comparing.
const failed = builds.flatMap((b) => runs.get(b.name)!.filter((m) => m.exit !== 0 && m.exit !== 5).map(() => b.name));
if (failed.length > 0) {
  process.stderr.write(`bench:propose: ${failed.length} run(s) of ${[...new Set(failed)].sort(compare).join(', ')} did not complete (see the exit codes above); their times are not comparable.\n`);
  process.exitCode = 1;
}
