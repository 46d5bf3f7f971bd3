// One measurement in a child process (bench/run-one.ts), so that its peak RSS is its own: what
// `npm run bench` and `npm run bench:sources` share.

import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's bench-data/ (this file runs from dist/bench/). */
export const BENCH_DATA = join(here, '..', '..', 'bench-data');

/** What run-one prints: the mode, the format, time, memory and the counts of its kind of run. */
export interface Result {
  mode: string;
  format: string;
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  lines: number;
  linesPerSecond: number;
  flows?: number;
  edges?: number;
  rejected?: number;
  repeated?: number;
}

export function runOne(mode: string, format: string, file: string): Result {
  const out = execFileSync(process.execPath, [join(here, 'run-one.js'), mode, format, file, join(BENCH_DATA, 'inventory.json')], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out) as Result;
}
