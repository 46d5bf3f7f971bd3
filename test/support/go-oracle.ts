// A Go oracle from TypeScript: built once per process by its script (scripts/*-oracle.sh, which
// share scripts/go-oracle.sh), then run once per input: the input as JSON on stdin, one JSON
// result per line on stdout. Used by cyclonus.ts and istio-validation.ts.

import { execFile, spawn } from 'node:child_process';
import { ROOT } from './paths.js';

/** `binary()` builds the oracle if needed and returns its path, once per process (a failed build is retried). */
export function goOracleBinary(name: string, script: string): () => Promise<string> {
  let built: Promise<string> | undefined;
  return () => {
    if (built === undefined) {
      const p = new Promise<string>((resolve, reject) => {
        execFile('bash', [script], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          const path = stdout.trim().split('\n').pop() ?? '';
          if (err || path === '') reject(new Error(`${name}: ${script} failed (${err?.message ?? 'no path printed'}).\n${stderr}`));
          else resolve(path);
        });
      });
      p.catch(() => {
        if (built === p) built = undefined;
      });
      built = p;
    }
    return built;
  };
}

/** Runs the oracle at `bin` on `input`; its output's non-empty lines, each parsed as JSON. */
export async function runGoOracle(name: string, bin: string, input: unknown): Promise<unknown[]> {
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (c) => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code: c }));
    child.stdin.on('error', () => {}); // an early exit shows in the status and stderr
    child.stdin.end(JSON.stringify(input));
  });
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${stderr.trim()}`);
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}
