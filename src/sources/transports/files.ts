// Files, directories, globs, pipes, .gz and stdin → chunks of bytes. Knows nothing of lines or formats.

import { constants, createReadStream, fstatSync } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describeFsError, InputError } from '../../errors.js';
import { gunzipMembers } from './gzip.js';
import { compare } from '../../flow/compare.js';

export interface InputFile {
  /** Path to open, or `-` for stdin. */
  path: string;
  /** Only these bytes of a plain (not gzip) file: whole lines, cut by `lineRanges`. */
  range?: ByteRange;
  /**
   * A pipe (stdin, `<(cmd)`, a FIFO named on the command line): read once, front to back, by
   * the main pass alone. It has no size to plan by, cannot be cut into ranges, and cannot be
   * read twice, so the bindings pre-pass does not read it (cli/observe/bindings.ts).
   */
  stream?: boolean;
  /** The source whose records it holds (sources/registry.ts), once recognised or named by `--source`; access logs when absent. */
  source?: string;
}

export interface ByteRange {
  start: number;
  /** Exclusive. */
  end: number;
  /** The range that runs to the end of the file. */
  last: boolean;
}

/** What expanding the inputs left out, for the summary: nothing is dropped silently. */
export interface InputNotes {
  /** Files reached more than once (a link, overlapping globs, another spelling): read once. `path` is the later name, `first` the one read. */
  duplicates: { path: string; first: string }[];
  /** Entries met while walking a directory or matching a glob that are not regular files (pipes, sockets, devices, dangling links, link cycles): not read. */
  skipped: { path: string; reason: string }[];
  /** Directories inside a walk that could not be listed: reported as rejected input, the rest is read. */
  unreadable: { path: string; reason: string }[];
}

const GLOB_CHARS = /[*?[\]{}]/;

/** Expand command-line inputs into files, in a stable order (directories walked sorted). */
export async function expandInputs(inputs: readonly string[]): Promise<InputFile[]> {
  return (await expandInputsWithNotes(inputs)).files;
}

/**
 * Expand command-line inputs into files, each read once: a file is known by its device and
 * inode (what the path names after every link), so a symbolic link, a link cycle, overlapping
 * globs or `./a/../a/x.log` do not read it twice. Directory walks follow links to files and
 * directories but enter each directory once, so a cycle ends.
 */
export async function expandInputsWithNotes(inputs: readonly string[]): Promise<{ files: InputFile[]; notes: InputNotes }> {
  const files: InputFile[] = [];
  const notes: InputNotes = { duplicates: [], skipped: [], unreadable: [] };
  const seen = new Map<string, string>();
  const add = (path: string, st: Stats | undefined, stream: boolean) => {
    const id = st === undefined ? 'stdin' : `${st.dev}:${st.ino}`;
    const first = seen.get(id);
    if (first !== undefined) {
      notes.duplicates.push({ path, first });
      return;
    }
    seen.set(id, path);
    files.push(stream ? { path, stream } : { path });
  };
  const walker = new Walker(notes, add);
  for (const input of inputs) {
    if (input === '-') {
      // Known by what fd 0 is, so `- /dev/stdin`, or `- FILE` with `< FILE`, reads it once.
      let st: Stats | undefined;
      try {
        st = fstatSync(0);
      } catch {
        st = undefined;
      }
      add('-', st, true);
      continue;
    }
    let st: Stats | undefined;
    let statError: NodeJS.ErrnoException | undefined;
    try {
      st = await stat(input);
    } catch (err) {
      statError = err as NodeJS.ErrnoException;
    }
    const first = st === undefined || st.isDirectory() ? undefined : seen.get(`${st.dev}:${st.ino}`);
    if (first !== undefined) {
      // Already read (e.g. /dev/stdin after -, which may be a socket under a parent that is a Node process).
      notes.duplicates.push({ path: input, first });
    } else if (st?.isDirectory()) {
      try {
        await walker.walk(input, st, true);
      } catch (err) {
        throw new InputError(`reading inputs: cannot list the directory ${input} (${describeFsError(err)}). Check its permissions, or name the files inside it.`, { cause: err });
      }
    } else if (st?.isFile()) {
      // Named by the user: one that cannot be opened is a usage error now, not a rejected record later.
      try {
        await access(input, constants.R_OK);
      } catch (err) {
        throw new InputError(`reading inputs: cannot read ${input} (${describeFsError(err)}). Check its permissions, or run as a user who can read it.`, { cause: err });
      }
      add(input, st, false);
    } else if (st?.isFIFO()) {
      add(input, st, true);
    } else if (st !== undefined) {
      throw new InputError(`reading inputs: ${input} is ${kindOf(st)}, not a file, directory or pipe. Name access-log files, or - to read stdin.`);
    } else if (GLOB_CHARS.test(input) && statError?.code === 'ENOENT') {
      // Loaded only for a pattern: every command imports this module, and fast-glob took 30 ms of each start.
      const { default: fg } = await import('fast-glob');
      const matches = (await fg(input, { onlyFiles: false, dot: false, followSymbolicLinks: false })).sort(compare);
      if (matches.length === 0) throw new InputError(`reading inputs: the pattern matches no file (${input}). Quote it so the shell does not expand it, or check the path.`);
      // Matched names are checked like a walk's entries: links followed, each file once, no pipes
      // or devices; a matched directory is walked, as it is when the shell expands the pattern.
      for (const f of matches) await walker.entry(f, true);
    } else if (statError?.code === 'ENOENT') {
      throw new InputError(`reading inputs: no such file or directory (${input}). Check the path, or pass - to read stdin.`);
    } else {
      throw new InputError(`reading inputs: cannot read ${input} (${describeFsError(statError)}). Check the path and its permissions.`, { cause: statError });
    }
  }
  return { files, notes };
}

/** What a non-regular file is, in words. */
function kindOf(st: Stats): string {
  return st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : 'not a regular file';
}

class Walker {
  /** Directories entered, by device and inode: a link cycle reaches one again and stops there. */
  private readonly _dirs = new Map<string, string>();
  constructor(
    private readonly _notes: InputNotes,
    private readonly _add: (path: string, st: Stats, stream: boolean) => void,
  ) {}

  /** Walk `dir` sorted by name; `top` errors are thrown (the user named it), others noted. */
  async walk(dir: string, st: Stats, top: boolean): Promise<void> {
    const id = `${st.dev}:${st.ino}`;
    const first = this._dirs.get(id);
    if (first !== undefined) {
      if (top) this._notes.duplicates.push({ path: dir, first });
      else this._notes.skipped.push({ path: dir, reason: `the directory ${first} again (a link cycle or another name for it)` });
      return;
    }
    this._dirs.set(id, dir);
    let names: string[];
    try {
      names = (await readdir(dir)).sort(compare);
    } catch (err) {
      if (top) throw err;
      this._notes.unreadable.push({ path: dir, reason: describeFsError(err) });
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      await this.entry(join(dir, name), true);
    }
  }

  /** One entry of a walk or a glob match: files added, directories walked (in a walk), others skipped with a note. */
  async entry(path: string, descend: boolean): Promise<void> {
    let st: Stats;
    try {
      st = await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this._notes.skipped.push({ path, reason: code === 'ENOENT' ? 'a link to nothing' : code === 'ELOOP' ? 'a link cycle' : describeFsError(err) });
      return;
    }
    if (st.isFile()) this._add(path, st, false);
    else if (st.isDirectory()) {
      if (descend) await this.walk(path, st, false);
    } else this._notes.skipped.push({ path, reason: `${kindOf(st)}, not a regular file` });
  }
}

/**
 * The bytes of a file, a pipe or stdin, gunzipped when they start with the gzip magic number
 * (every member, as `gzip -d` reads them: transports/gzip.ts). `onNote` hears of what was
 * read but not used and is no error: bytes after the last gzip member.
 */
export async function* readBytes(file: InputFile, stdin: Readable = process.stdin, onNote?: (reason: string, detail: string) => void): AsyncGenerator<Buffer> {
  const r = file.range;
  if (r !== undefined) {
    // A range starts at a line: no gzip header there, and an empty range reads nothing.
    if (r.end > r.start) yield* createReadStream(file.path, { highWaterMark: 256 * 1024, start: r.start, end: r.end - 1 }) as AsyncIterable<Buffer>;
    return;
  }
  const raw: AsyncIterable<Buffer> =
    file.path === '-' ? stdin : createReadStream(file.path, { highWaterMark: 256 * 1024 });
  const it = raw[Symbol.asyncIterator]();
  try {
    // A pipe may deliver its first byte alone: the magic number needs two.
    let head: Buffer = Buffer.alloc(0);
    while (head.length < 2) {
      const n = await it.next();
      if (n.done === true) break;
      head = head.length === 0 ? (n.value as Buffer) : Buffer.concat([head, n.value as Buffer]);
    }
    if (head.length === 0) return;
    const rest = async function* () {
      yield head;
      for (;;) {
        const n = await it.next();
        if (n.done === true) return;
        yield n.value as Buffer;
      }
    };
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      yield* gunzipMembers(rest(), (detail) => onNote?.('gzip-trailing-garbage', detail));
    } else {
      yield* rest();
    }
  } finally {
    // A reader that stops early (the bindings pre-pass reads a file's head) must close the
    // file, or a directory of a thousand logs runs out of descriptors (EMFILE). Stdin is not ours to close.
    if (file.path !== '-') await it.return?.();
  }
}

/**
 * The first `bytes` bytes of a file (at least; decompressed when it is gzip), read to recognise
 * what it holds; undefined when it cannot be read (its reader reports why, as it would have).
 */
export async function readHead(file: InputFile, bytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let read = 0;
  try {
    for await (const chunk of readBytes(file, undefined, () => undefined)) {
      chunks.push(chunk);
      read += chunk.length;
      if (read >= bytes) break;
    }
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks);
}

/**
 * Checks that a path the user named (a graph, rules) is a file that can be read: a missing
 * path, a dangling link, a directory, a device or a pipe is an InputError that names it, says
 * what `what` is and what to pass instead.
 */
export async function checkNamedFile(path: string, what: string, instead: string): Promise<void> {
  let st: Stats;
  try {
    st = await stat(path);
    await access(path, constants.R_OK);
  } catch (err) {
    throw new InputError(`reading ${what}: cannot read ${path} (${describeFsError(err)}). ${instead}`, { cause: err });
  }
  if (st.isDirectory()) throw new InputError(`reading ${what}: ${path} is a directory. ${instead}`);
  if (!st.isFile()) throw new InputError(`reading ${what}: ${path} is ${kindOf(st)}, not a file. ${instead}`);
}

/** The whole text of a file the user named, after checkNamedFile. */
export async function readNamedText(path: string, what: string, instead: string): Promise<string> {
  await checkNamedFile(path, what, instead);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`reading ${what}: cannot read ${path} (${describeFsError(err)}). ${instead}`, { cause: err });
  }
}
