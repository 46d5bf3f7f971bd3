// @e2e: a reader that stops early (`ztmap propose --help | head -3`) is no failure of ztmap's:
// what it would still print is dropped quietly, without a stack trace, and the exit code is
// the command's own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BIN, FIXTURES } from '../support/paths.js';

/** `ztmap ARGS | true`: `true` exits without reading, so ztmap writes into a closed pipe. */
function intoClosedPipe(args: string[]): { status: number; stderr: string } {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  // ztmap starts long after `true` has exited; its stderr goes to a file the shell prints after.
  const r = spawnSync('bash', ['-c', `${quoted} 2>"$ERR" | true; s=\${PIPESTATUS[0]}; cat "$ERR"; exit $s`], {
    env: { PATH: process.env['PATH'] ?? '', ERR: `${process.env['TMPDIR'] ?? '/tmp'}/ztmap-closed-pipe-${process.pid}.txt` },
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, stderr: r.stdout };
}

describe('output into a pipe nobody reads @e2e', () => {
  for (const args of [['propose', '--help'], ['--help'], ['pr', '--help']]) {
    it(`ztmap ${args.join(' ')} ends quietly with exit 0`, () => {
      const r = intoClosedPipe(args);
      assert.equal(r.stderr, '');
      assert.equal(r.status, 0);
    });
  }

  it('keeps the exit code of a command whose report nobody reads (diff --exit-code: 9)', () => {
    const cidr = join(FIXTURES, 'review-cases', 'cidr');
    const r = intoClosedPipe(['diff', '-q', '--exit-code', join(cidr, 'a.yaml'), join(cidr, 'b.yaml')]);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 9);
  });
});
