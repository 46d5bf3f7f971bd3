// Files, directories, globs, .gz and stdin → chunks of bytes. Knows nothing of lines or formats.

import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import fg from 'fast-glob';
import { InputError } from '../../errors.js';

export interface InputFile {
  /** Path to open, or `-` for stdin. */
  path: string;
  /** Only these bytes of a plain (not gzip) file: whole lines, cut by `lineRanges`. */
  range?: ByteRange;
}

export interface ByteRange {
  start: number;
  /** Exclusive. */
  end: number;
  /** The range that runs to the end of the file. */
  last: boolean;
}

const GLOB_CHARS = /[*?[\]{}]/;

/** Expand command-line inputs into files, in a stable order (directories walked sorted). */
export async function expandInputs(inputs: readonly string[]): Promise<InputFile[]> {
  const out: InputFile[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (!seen.has(path)) {
      seen.add(path);
      out.push({ path });
    }
  };
  for (const input of inputs) {
    if (input === '-') {
      add('-');
      continue;
    }
    let st;
    try {
      st = await stat(input);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) {
      for (const f of await walk(input)) add(f);
    } else if (st?.isFile()) {
      add(input);
    } else if (GLOB_CHARS.test(input)) {
      const matches = (await fg(input, { onlyFiles: true, dot: false })).sort();
      if (matches.length === 0) throw new InputError(`reading inputs: the pattern matches no file (${input}). Quote it so the shell does not expand it, or check the path.`);
      for (const f of matches) add(f);
    } else {
      throw new InputError(`reading inputs: no such file or directory (${input}). Check the path, or pass - to read stdin.`);
    }
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await walk(p)));
    else if (e.isFile() || e.isSymbolicLink()) files.push(p);
  }
  return files;
}

/** The bytes of a file or stdin, gunzipped when they start with the gzip magic number. */
export async function* readBytes(file: InputFile, stdin: Readable = process.stdin): AsyncGenerator<Buffer> {
  const r = file.range;
  if (r !== undefined) {
    // A range starts at a line: no gzip header there, and an empty range reads nothing.
    if (r.end > r.start) yield* createReadStream(file.path, { highWaterMark: 256 * 1024, start: r.start, end: r.end - 1 }) as AsyncIterable<Buffer>;
    return;
  }
  const raw: AsyncIterable<Buffer> =
    file.path === '-' ? stdin : createReadStream(file.path, { highWaterMark: 256 * 1024 });
  const it = raw[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) return;
  const head = first.value as Buffer;
  const rest = async function* () {
    yield head;
    for (;;) {
      const n = await it.next();
      if (n.done === true) return;
      yield n.value as Buffer;
    }
  };
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const source = Readable.from(rest());
    source.on('error', (err) => gunzip.destroy(err));
    source.pipe(gunzip);
    yield* gunzip as AsyncIterable<Buffer>;
  } else {
    yield* rest();
  }
}
