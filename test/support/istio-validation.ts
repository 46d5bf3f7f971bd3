// Istio's own webhook validation (test/oracle/istio-validation, built with Go by
// scripts/istio-validation-oracle.sh) from TypeScript: one run judges a list of objects.

import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.js';

const ISTIO_VALIDATION_SCRIPT = join(ROOT, 'scripts', 'istio-validation-oracle.sh');

export interface IstioJudgement {
  index: number;
  ok: boolean;
  error?: string;
}

let built: Promise<string> | undefined;

/** Builds the oracle if needed (about two minutes cold) and returns its path; once per process. */
export function istioValidationBinary(): Promise<string> {
  if (built === undefined) {
    const p = new Promise<string>((resolve, reject) => {
      execFile('bash', [ISTIO_VALIDATION_SCRIPT], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const path = stdout.trim().split('\n').pop() ?? '';
        if (err || path === '') reject(new Error(`istio validation oracle: ${ISTIO_VALIDATION_SCRIPT} failed (${err?.message ?? 'no path printed'}).\n${stderr}`));
        else resolve(path);
      });
    });
    p.catch(() => {
      if (built === p) built = undefined;
    });
    built = p;
  }
  return built;
}

/** Istio's verdict on each object (AuthorizationPolicy, PeerAuthentication), in order. */
export async function istioValidate(objects: readonly unknown[]): Promise<IstioJudgement[]> {
  const bin = await istioValidationBinary();
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (c) => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code: c }));
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(objects));
  });
  if (code !== 0) throw new Error(`istio validation oracle exited with ${code}: ${stderr.trim()}`);
  const results = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as IstioJudgement);
  if (results.length !== objects.length || results.some((r, i) => r.index !== i || typeof r.ok !== 'boolean')) {
    throw new Error(`istio validation oracle: ${results.length} results for ${objects.length} objects, or out of order`);
  }
  return results;
}
