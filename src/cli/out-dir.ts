// The output directory, made before a command does its work, so that an --out that cannot be
// a directory is a usage error naming it, up front.

import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describeFsError, OutputError } from '../errors.js';

/**
 * Makes `out` and its missing parents one level at a time. Not `mkdir({ recursive: true })`:
 * on Node 20 it never returns where a parent refuses a new entry with ENOENT, as /proc does
 * (`--out /proc/x` spun forever).
 */
export async function makeOutDir(out: string, what: string): Promise<void> {
  const missing: string[] = [];
  for (let p = resolve(out); ; ) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const up = dirname(p);
      if (code === 'ENOENT' && up !== p) {
        missing.push(p);
        p = up;
        continue;
      }
      throw new OutputError(p, code, `${what}: cannot use ${out} as the output directory (${p}: ${describeFsError(err)}). Nothing was written. Choose another --out.`, { cause: err });
    }
    if (!isDir) throw new OutputError(p, 'ENOTDIR', `${what}: cannot use ${out} as the output directory: ${p} is a file, not a directory. Nothing was written. Choose another --out.`);
    break;
  }
  for (const p of missing.reverse()) {
    try {
      await mkdir(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw new OutputError(p, code, `${what}: cannot create the output directory ${p} (${describeFsError(err)}). Nothing was written. Choose another --out, one you can write to.`, { cause: err });
    }
  }
}
