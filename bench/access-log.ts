// `npm run bench`: ztmap's access-log pipeline against the bare loop on the same files.
//   BENCH_LINES=2000000 (default) BENCH_FORMATS=text,json BENCH_RUNS=1
// Generates bench-data/ on first use (bench/generate.ts), then runs each measurement in a
// child process and prints lines/s, peak RSS and the ratio to the bare loop, for the bare
// loop, the floor (bench/floor.ts: the least an aggregation that parses every line into
// strings can do), ztmap on one core and ztmap on all cores (`--jobs`).

import { execFileSync } from 'node:child_process';
import { BENCH_DATA, runOne, type Result } from './child.js';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const data = BENCH_DATA;
const lines = Number(process.env['BENCH_LINES'] ?? 2_000_000);
const formats = (process.env['BENCH_FORMATS'] ?? 'text,json').split(',');
const runs = Number(process.env['BENCH_RUNS'] ?? 1);


/**
 * Each mode's best of `runs`, the modes taking turns within each round: the VM's speed drifts
 * over minutes, and a ratio of runs made minutes apart would measure the drift.
 */
function measure(modes: string[], format: string, file: string): Result[] {
  const best = new Map<string, Result>();
  for (let i = 0; i < runs; i++) {
    for (const mode of modes) {
      const r = runOne(mode, format, file);
      const prev = best.get(mode);
      if (prev === undefined || r.linesPerSecond > prev.linesPerSecond) best.set(mode, { ...r, maxRssMiB: Math.max(r.maxRssMiB, prev?.maxRssMiB ?? 0) });
      else prev.maxRssMiB = Math.max(prev.maxRssMiB, r.maxRssMiB);
    }
  }
  return modes.map((m) => best.get(m)!);
}

process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
process.stdout.write(`lines per file: ${lines}, best of ${runs} run(s) of each mode, the modes taking turns\n\n`);
process.stdout.write('format  mode   lines/s    peak RSS MiB  seconds  edges  ratio\n');
for (const format of formats) {
  const file = join(data, `access-${format}-${lines}.log`);
  if (!existsSync(file) || !existsSync(join(data, 'inventory.json'))) {
    execFileSync(process.execPath, [join(here, 'generate.js'), '--lines', String(lines), '--format', format, '--out', data], { stdio: 'inherit' });
  }
  const [bare, fl, z, j] = measure(['bare', 'floor', 'ztmap', 'jobs'], format, file) as [Result, Result, Result, Result];
  for (const r of [bare, fl, z, j]) {
    process.stdout.write(
      `${format.padEnd(7)} ${r.mode.padEnd(6)} ${String(r.linesPerSecond).padStart(8)}  ${r.maxRssMiB.toFixed(0).padStart(12)}  ${r.seconds.toFixed(1).padStart(7)}  ${String(r.edges ?? '').padStart(5)}  ${r.mode === 'bare' ? '' : (r.linesPerSecond / bare.linesPerSecond).toFixed(2) + '×'}\n`,
    );
  }
  process.stdout.write(`  (floor: the least a line-by-line string aggregation does, bench/floor.ts; jobs: observe --jobs ${cpus().length}, all cores, not the one-core target)\n`);
  if (z.repeated !== undefined && z.lines > 0) process.stdout.write(`  ztmap counted ${((100 * z.repeated) / z.lines).toFixed(1)}% of lines as repeats of a known route, from their bytes\n`);
  if ((z.rejected ?? 0) > 0) process.stdout.write(`  note: ztmap rejected ${z.rejected} lines of the generated ${format} file\n`);
}
