// Outputs are never half-written. A command writes its whole output into a staging directory
// beside the destination (same filesystem), fsyncs it, and only then puts it in place; a
// failure or a kill before that leaves the previous output as it was.
//
//   OUT/.ztmap-UNIT.tmp-PID-XXXXXX/   staging: written file by file (O_EXCL, never through a link)
//   OUT/.ztmap-UNIT.commit/           the same directory, renamed once complete: the commit point
//
// A unit is the set of entries one command owns in OUT (observe: graph.json, nodes.csv,
// edges.csv, learned-pods.json; propose: the policies/ directory). rename() replaces a file
// atomically but not a directory, and several entries cannot be swapped in one call, so after
// the commit point the entries are moved in one by one ("roll forward"): a file is renamed
// over its predecessor, a directory's predecessor is first renamed aside into the commit
// directory, and an owned entry this run did not write (a stale learned-pods.json) is moved
// aside too. Only then is the commit directory, with everything moved aside, removed.
//
// Between those renames a reader may see some entries new and others old, or (for a
// directory) the entry missing, never a file half-written. If the process dies there, the
// commit directory is still present and the next run of the same command finishes the
// roll forward before anything else (`recoverOutputs`), so the settled state is always the
// whole old output or the whole new one. Staging directories of processes that are gone are
// removed at the same time. Concurrent runs into one OUT are not supported.

import { randomBytes } from 'node:crypto';
import { close, closeSync, constants, fsync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { describeFsError, OutputError, ZtmapError } from '../errors.js';
import { compare } from '../flow/compare.js';

const ENTRIES = '.ztmap-entries.json';
const ASIDE = '.replaced';
const stagingPrefix = (unit: string) => `.ztmap-${unit}.tmp-`;
const commitName = (unit: string) => `.ztmap-${unit}.commit`;

let beforeStep: (() => void) | undefined;

/**
 * Called before every step that changes the disk (a write, an fsync'd close, a rename, a
 * removal). Only the CLI sets it, for the kill tests (ZTMAP_TEST_KILL_AFTER_WRITES).
 */
export function setOutputStepHook(hook: (() => void) | undefined): void {
  beforeStep = hook;
}
const step = () => beforeStep?.();

/**
 * What a file is written from: its whole text, or its pieces in order (a generator, so that a
 * large output is never one string: V8 caps a string at about 512 MiB).
 */
export type FileContent = string | Buffer | Iterable<string | Buffer> | AsyncIterable<string | Buffer>;

interface Staging {
  /** Write `content` at `rel` (its first segment one of the unit's entries); returns the path it will have in OUT. */
  write(rel: string, content: FileContent, options?: { private?: boolean }): Promise<string>;
}

export interface ReplaceOptions<T> {
  /** The output directory (created if missing; following a link to it is fine). */
  out: string;
  /** Names the staging and commit directories: one unit per command. */
  unit: string;
  /** Every entry of OUT this unit owns: what it writes, and what a later run removes when it does not write it again. */
  owned: readonly string[];
  /** Writes the whole output through `staging`; its result is returned once the output is in place. */
  write: (staging: Staging) => Promise<T>;
}

const reasons: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  ENOENT: 'no such file or directory',
};

/** An fs error → OutputError naming the path and what to do; ztmap's own errors pass through. */
function outputError(err: unknown, op: string, path: string, intact: string, flag = '--out'): ZtmapError {
  if (err instanceof ZtmapError) return err;
  if (err instanceof SyncFailure) return outputError(err.failure, `${op.replace(/: .*$/, '')}: syncing ${basename(err.path)} to disk`, err.path, intact, flag);
  const code = (err as NodeJS.ErrnoException).code;
  const reason = (code !== undefined ? reasons[code] : undefined) ?? (err as Error).message;
  const todo =
    code === 'ENOSPC' || code === 'EDQUOT' ? `Free some space or choose another ${flag}, then run again.`
    : code === 'ENOENT' || code === 'ENOTDIR' ? `Check that the directory exists, or choose another ${flag}.`
    : `Fix the permissions or choose another ${flag}, then run again.`;
  return new OutputError(path, code, `${op}: ${reason} (${path}). ${intact} ${todo}`, { cause: err });
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The UTF-8 bytes of `text`. A text of ASCII alone (nearly all that ztmap writes) is copied as
 * Latin-1, which gives the same bytes: Node's UTF-8 encoder took ~65 ms for 33 MB of ASCII (the
 * size of a 5,000-workload rules.json), counting and copying ~40. Only ASCII encodes to one byte
 * per code unit. Other text is encoded once counted, not counted again.
 */
function utf8(text: string): Buffer {
  const length = Buffer.byteLength(text);
  if (length === text.length) return Buffer.from(text, 'latin1');
  // rules.json, for one, holds a few em dashes.
  const bytes = Buffer.allocUnsafe(length);
  bytes.write(text, 0, length, 'utf8');
  return bytes;
}

/** A streamed content's pieces as bytes. */
async function* piecesOf(content: AsyncIterable<string | Buffer> | Iterable<string | Buffer>): AsyncGenerator<Buffer> {
  for await (const piece of content) yield typeof piece === 'string' ? utf8(piece) : piece;
}

/** A relative path of names alone (no `.` or `..` segment, none empty, no NUL): path.resolve leaves it as it is. */
const PLAIN_RELATIVE = /^[^/.\0][^/\0]*(?:\/[^/.\0][^/\0]*)*$/;

function firstSegment(rel: string): string {
  const slash = rel.indexOf('/');
  return slash === -1 ? rel : rel.slice(0, slash);
}

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Create `path` (never an existing file, never through a link), write it, fsync, close. A whole
 * text goes through `writeWhole`, with its fsync awaited here; pieces are written as they come.
 */
async function writeNew(path: string, content: FileContent, mode = 0o666): Promise<void> {
  if (typeof content === 'string' || Buffer.isBuffer(content)) {
    const fd = writeWhole(path, content, mode);
    try {
      await fsyncFd(fd);
    } finally {
      await closeFd(fd);
    }
    return;
  }
  step();
  const fh = await open(path, CREATE_NEW, mode);
  try {
    let at = 0;
    for await (const bytes of piecesOf(content)) {
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, at);
        done += bytesWritten;
        at += bytesWritten;
      }
      // A disk-changing step each: a kill between pieces leaves a file cut short in staging.
      step();
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Create `path` and write a whole text in synchronous calls; returns the still open descriptor
 * for `PendingSyncs`. A proposal's thousands of small manifests otherwise cost four thread-pool
 * round trips each (open, two writes, close): 1.4 s of 5.5 at 5,000 workloads. Under the kill
 * tests' hook the text is written in two halves, with a step between them, so that a kill also
 * leaves half-written files behind; otherwise in one call.
 */
function writeWhole(path: string, content: string | Buffer, mode = 0o666): number {
  const bytes = typeof content === 'string' ? utf8(content) : content;
  step();
  const fd = openSync(path, CREATE_NEW, mode);
  try {
    const half = beforeStep === undefined ? bytes.length : bytes.length >> 1;
    writeAllSync(fd, bytes, 0, half);
    step();
    writeAllSync(fd, bytes, half, bytes.length);
    step();
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

function writeAllSync(fd: number, bytes: Buffer, from: number, to: number): void {
  for (let at = from; at < to; ) at += writeSync(fd, bytes, at, to - at, at);
}

const fsyncFd = promisify(fsync);
const closeFd = promisify(close);

/** An fsync that failed, with the file it was for (PendingSyncs throws it while handling another). */
class SyncFailure extends Error {
  constructor(
    readonly path: string,
    readonly failure: unknown,
  ) {
    super(`syncing ${path}: ${describeFsError(failure)}`);
  }
}

/**
 * An fsync longer than this (50 µs) waited on a disk: on tmpfs they take ~1 µs, on this
 * machine's ext4 100 µs or more. A few such (not one preempted call) end the fsyncs in place.
 */
const IN_PLACE_SYNC_NS = 50_000n;
const SLOW_SYNCS_IN_PLACE = 8;

/**
 * fsyncs of files already written: made in place while they return at once (tmpfs), else run
 * on the thread pool while the next files are made, at most `limit` at a time (each holds a
 * descriptor). Waiting on the disk once per manifest made propose wait 13 s of 31 s for the
 * 16,000 files of a 5,000-workload proposal; concurrent fsyncs share journal commits, and
 * overlapping them with the writing hides the rest. The first failure is thrown by the next
 * `add` or by `drain`.
 */
class PendingSyncs {
  private readonly _inFlight: Promise<void>[] = [];
  private _failure: { err: unknown } | undefined;
  /** fsyncs are made in place while fewer than SLOW_SYNCS_IN_PLACE waited on a disk (see add). */
  private _slowInPlace = 0;

  constructor(private readonly _limit = 64) {}

  async add(fd: number, path: string): Promise<void> {
    if (this._slowInPlace < SLOW_SYNCS_IN_PLACE) {
      // Where an fsync returns at once (tmpfs), a thread-pool round trip per file cost more
      // than the call: 0.1–0.5 s of a 5,000-workload proposal's CPU. Where they wait on a disk,
      // the pool's concurrent fsyncs share journal commits: a few slow ones send every later
      // file of this output there.
      const start = process.hrtime.bigint();
      try {
        fsyncSync(fd);
      } catch (err) {
        this._failure ??= { err: new SyncFailure(path, err) };
      } finally {
        closeSync(fd);
      }
      if (process.hrtime.bigint() - start > IN_PLACE_SYNC_NS) this._slowInPlace++;
      this._throwFailure();
      return;
    }
    // The close is synchronous: a regular file's close after its fsync has nothing left to
    // wait for, and a second thread-pool round trip per file cost more than the call.
    const done = fsyncFd(fd)
      .finally(() => closeSync(fd))
      .catch((err: unknown) => {
        // Thrown later, while another file is handled: it keeps its own file's path.
        this._failure ??= { err: new SyncFailure(path, err) };
      });
    this._inFlight.push(done);
    if (this._inFlight.length >= this._limit) await this._inFlight.shift();
    this._throwFailure();
  }

  /**
   * fsync a directory: in place while file fsyncs are (see add), else on the thread pool.
   * A proposal has 750 namespace directories, three thread-pool round trips each.
   */
  async dir(path: string): Promise<void> {
    if (this._slowInPlace >= SLOW_SYNCS_IN_PLACE) return fsyncDir(path);
    const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  async drain(): Promise<void> {
    await Promise.all(this._inFlight.splice(0));
    this._throwFailure();
  }

  private _throwFailure(): void {
    if (this._failure !== undefined) throw this._failure.err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Move the committed entries of `unit` into OUT (idempotent: each step checks what is left to do). */
async function rollForward(out: string, unit: string, owned: readonly string[]): Promise<void> {
  const commit = join(out, commitName(unit));
  let written: string[] | undefined;
  try {
    const doc = JSON.parse(await readFile(join(commit, ENTRIES), 'utf8')) as { written?: unknown };
    if (Array.isArray(doc.written)) written = doc.written.filter((n): n is string => typeof n === 'string');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  // No entry list: either every move was done and the removal below was interrupted, or the
  // list itself was never complete; in both cases there is nothing left to move.
  if (written !== undefined) {
    const aside = join(commit, ASIDE);
    await mkdir(aside, { recursive: true });
    for (const name of owned) {
      const next = join(commit, name);
      const dest = join(out, name);
      const nextSt = await lstatOrNull(next);
      const destSt = await lstatOrNull(dest);
      if (written.includes(name)) {
        if (nextSt === null) continue; // moved already
        if (destSt !== null && (destSt.isDirectory() || nextSt.isDirectory())) {
          step();
          await rename(dest, join(aside, name));
        }
        step();
        await rename(next, dest);
      } else if (destSt !== null) {
        // Stale: an entry this unit owns that the new output does not have.
        step();
        await rename(dest, join(aside, name));
      }
    }
    await fsyncDir(out);
  }
  step();
  await rm(commit, { recursive: true, force: true });
}

/**
 * Finish what an interrupted run of `unit` left in OUT: roll a committed output forward,
 * remove staging directories whose process is gone. Runs first in every replaceOutputs.
 */
export async function recoverOutputs(out: string, unit: string, owned: readonly string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw outputError(err, `${unit}: reading the output directory`, out, 'Nothing was changed.');
  }
  try {
    if (names.includes(commitName(unit))) await rollForward(out, unit, owned);
    const prefix = stagingPrefix(unit);
    for (const n of names) {
      if (!n.startsWith(prefix)) continue;
      const pid = Number(/^(\d+)-/.exec(n.slice(prefix.length))?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue; // another run's, in progress
      step();
      await rm(join(out, n), { recursive: true, force: true });
    }
  } catch (err) {
    throw outputError(err, `${unit}: finishing an interrupted earlier run`, out, 'Its output is kept where it was.');
  }
}

/** Directories by depth, deepest first (then by name, so that the order is the same every run). */
function deepestFirst(dirs: Iterable<string>): string[] {
  const depth = (d: string) => d.split(sep).length;
  return [...dirs].map((d) => ({ d, n: depth(d) })).sort((a, b) => b.n - a.n || compare(a.d, b.d)).map((x) => x.d);
}

/**
 * Write a unit's whole output beside OUT's entries and put it in place: the previous output
 * stays intact on any failure, stale entries are removed only on success.
 */
export async function replaceOutputs<T>(o: ReplaceOptions<T>): Promise<T> {
  const out = resolve(o.out);
  const intact = `Nothing in ${o.out} was changed: the previous output is intact.`;
  try {
    await mkdir(out, { recursive: true });
  } catch (err) {
    throw outputError(err, `${o.unit}: creating the output directory`, o.out, 'Nothing was written.');
  }
  await recoverOutputs(out, o.unit, o.owned);
  for (const name of o.owned) {
    const dest = join(out, name);
    const st = await lstatOrNull(dest).catch((err: unknown) => {
      throw outputError(err, `${o.unit}: checking the output`, dest, intact);
    });
    if (st?.isSymbolicLink() === true) {
      throw new OutputError(
        dest,
        undefined,
        `${o.unit}: ${join(o.out, name)} is a symbolic link; ztmap replaces its outputs by renaming and never writes through a link. Remove the link, or pass --out the directory you want written.`,
      );
    }
  }

  let staging: string;
  try {
    step();
    staging = await mkdtemp(join(out, `${stagingPrefix(o.unit)}${process.pid}-`));
  } catch (err) {
    throw outputError(err, `${o.unit}: creating a staging directory`, o.out, intact);
  }
  const written = new Set<string>();
  const syncs = new PendingSyncs();
  const madeDirs = new Set<string>([staging]);
  const inStaging = staging + sep;
  // What join(o.out, rel) starts with, for a plain rel.
  const outPrefix = join(o.out, '_').slice(0, -1);
  const api: Staging = {
    write: async (rel, content, options) => {
      // Private files (what may hold a sender's data as it came) are readable by the owner alone.
      const mode = options?.private === true ? 0o600 : 0o666;
      const plain = sep === '/' && PLAIN_RELATIVE.test(rel);
      // A plain path is what path.resolve would make of it: the 11,000 files of a 5,000-workload
      // proposal spent ~40 ms resolving, relativizing and splitting them.
      const abs = plain ? inStaging + rel : resolve(staging, rel);
      const top = plain ? firstSegment(rel) : relative(staging, abs).split(sep)[0]!;
      if (!abs.startsWith(inStaging) || !o.owned.includes(top)) {
        throw new OutputError(abs, undefined, `${o.unit}: refusing to write ${JSON.stringify(rel)}: outside the entries this command owns in ${o.out} (${o.owned.join(', ')}). Please report this.`);
      }
      try {
        const parent = plain ? abs.slice(0, abs.lastIndexOf('/')) : dirname(abs);
        if (!madeDirs.has(parent)) {
          step();
          // Synchronous, as the files are written: a thread-pool round trip per directory cost
          // more than the call (750 namespace directories at 5,000 workloads).
          mkdirSync(parent, { recursive: true });
          for (let d = parent; d.startsWith(inStaging); d = dirname(d)) madeDirs.add(d);
        }
        if (typeof content === 'string' || Buffer.isBuffer(content)) await syncs.add(writeWhole(abs, content, mode), abs);
        else await writeNew(abs, content, mode);
      } catch (err) {
        throw outputError(err, `${o.unit}: writing ${rel}`, abs, intact);
      }
      written.add(top);
      return plain ? outPrefix + rel : join(o.out, rel);
    },
  };

  const commit = join(out, commitName(o.unit));
  let result: T;
  try {
    result = await o.write(api);
    try {
      await writeNew(join(staging, ENTRIES), JSON.stringify({ unit: o.unit, written: [...written].sort(compare) }) + '\n');
      step();
      await syncs.drain();
      // Deepest first, each after what it holds: every directory of staging was made by write.
      for (const d of deepestFirst(madeDirs)) {
        step();
        await syncs.dir(d);
      }
      step();
      try {
        await rename(staging, commit);
      } catch (err) {
        // A commit directory appeared since recovery (another run): finish it, then ours wins.
        if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        await rollForward(out, o.unit, o.owned);
        await rename(staging, commit);
      }
    } catch (err) {
      throw outputError(err, `${o.unit}: completing the output`, staging, intact);
    }
  } catch (err) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  // Committed: from here on, a failure or a kill is finished by the next run.
  try {
    await fsyncDir(out);
    await rollForward(out, o.unit, o.owned);
  } catch (err) {
    throw outputError(err, `${o.unit}: putting the new output in place`, o.out, `The new output is complete in ${commit}; the next \`ztmap ${o.unit}\` into ${o.out} finishes putting it in place.`);
  }
  return result;
}

/**
 * Replace one file the user named (verify --json FILE) atomically: a temporary file in the
 * same directory, fsync'd, renamed over it. A link or a device there is refused, never written through.
 */
export async function writeFileAtomic(path: string, content: FileContent, what: string): Promise<void> {
  const st = await lstatOrNull(path).catch((err: unknown) => {
    throw outputError(err, `${what}: checking ${path}`, path, 'Nothing was written.', '--json');
  });
  if (st !== null && !st.isFile()) {
    const kind = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a directory' : 'not a regular file';
    throw new OutputError(path, undefined, `${what}: ${path} is ${kind}; ztmap replaces the file by renaming and never writes through it. Name a regular file (or - for stdout).`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.ztmap-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeNew(tmp, content);
    step();
    await rename(tmp, path);
    await fsyncDir(dirname(path) === '' ? '.' : dirname(path));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw outputError(err, `${what}: writing ${path}`, path, st === null ? 'Nothing was written.' : `The previous ${path} is intact.`, '--json');
  }
}
