import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './paths.js';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real ztmap binary. `timeoutMs` kills it (status null) if it runs longer: spawnSync
 * blocks mocha's own timeout, so a test of something that once hung should set it.
 */
export function ztmap(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: opts.input ?? '',
    ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs, killSignal: 'SIGKILL' as const }),
    env: { PATH: process.env['PATH'] ?? '', ...opts.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'ztmap-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
