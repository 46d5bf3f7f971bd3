// gzip bytes → the bytes of every member, as `gzip -d` gives them. Node's Gunzip stream reads
// concatenated members, but bytes after the last member that are not another member (a
// collector that appended to a finished file, a copy cut and padded) make it fail, and it
// then drops the output of its whole last write: a small file loses every line. `gzip -d`
// keeps them and warns "trailing garbage ignored". So each member is read here: its header
// parsed, its deflate body inflated raw (the engine says where the body ends), its CRC-32 and
// size checked; after the last member, zero padding is ignored and anything else is reported
// through `onTrailing`, never fatal. A member that is cut short or corrupt throws an error
// with zlib's code (Z_BUF_ERROR, Z_DATA_ERROR), after every byte inflated before it was given.

import { createInflateRaw, crc32, type InflateRaw } from 'node:zlib';

/** Compressed bytes given to the engine at once: bounds what one write can inflate to (deflate expands at most ~1032×). */
const SLICE = 64 * 1024;
const OUT_CHUNK = 256 * 1024;

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

function zlibError(code: 'Z_BUF_ERROR' | 'Z_DATA_ERROR', message: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(message);
  e.code = code;
  return e;
}

/** Bytes read ahead from an async source, consumed from the front. */
class Input {
  private _bufs: Buffer[] = [];
  private _length = 0;
  private _done = false;
  /** Compressed bytes consumed so far: where the next byte is in the file. */
  offset = 0;
  constructor(private readonly _it: AsyncIterator<Buffer>) {}

  get length(): number {
    return this._length;
  }

  /** Reads until `n` bytes are buffered or the source ends; whether there are `n`. */
  async fill(n: number): Promise<boolean> {
    while (this._length < n && !this._done) {
      const r = await this._it.next();
      if (r.done === true) this._done = true;
      else if (r.value.length > 0) {
        this._bufs.push(r.value);
        this._length += r.value.length;
      }
    }
    return this._length >= n;
  }

  byte(i: number): number {
    for (const b of this._bufs) {
      if (i < b.length) return b[i]!;
      i -= b.length;
    }
    return -1;
  }

  take(n: number): Buffer {
    const all = this._bufs.length === 1 ? this._bufs[0]! : Buffer.concat(this._bufs);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this._bufs = rest.length > 0 ? [rest] : [];
    this._length = rest.length;
    this.offset += out.length;
    return out;
  }

  /** The next buffered piece of at most `max` bytes, reading when none is buffered; undefined at the end. */
  async next(max: number): Promise<Buffer | undefined> {
    if (this._length === 0 && !(await this.fill(1))) return undefined;
    const first = this._bufs[0]!;
    const out = first.subarray(0, max);
    if (out.length === first.length) this._bufs.shift();
    else this._bufs[0] = first.subarray(out.length);
    this._length -= out.length;
    this.offset += out.length;
    return out;
  }

  /** Puts back bytes taken by `next` that the engine did not consume. */
  unshift(b: Buffer): void {
    if (b.length === 0) return;
    this._bufs.unshift(b);
    this._length += b.length;
    this.offset -= b.length;
  }
}

/**
 * The decompressed bytes of `source`, which starts with a gzip member. `onTrailing` is told,
 * once, of bytes after the last member that are neither a member nor zero padding.
 */
export async function* gunzipMembers(source: AsyncIterable<Buffer>, onTrailing: (detail: string) => void): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  try {
    yield* readMembers(new Input(it), onTrailing);
  } finally {
    // A reader that stops early (the bindings pre-pass reads a head) closes the file now, not at GC.
    await it.return?.();
  }
}

async function* readMembers(input: Input, onTrailing: (detail: string) => void): AsyncGenerator<Buffer> {
  for (let members = 0; ; members++) {
    if (!(await input.fill(1))) return;
    const at = input.offset;
    if (members > 0 && !((await input.fill(2)) && input.byte(0) === 0x1f && input.byte(1) === 0x8b)) {
      let bytes = 0;
      let zeros = true;
      for (let b = await input.next(OUT_CHUNK); b !== undefined; b = await input.next(OUT_CHUNK)) {
        bytes += b.length;
        if (zeros && b.some((x) => x !== 0)) zeros = false;
      }
      if (!zeros) onTrailing(`${bytes} bytes after the last of ${members} gzip member${members === 1 ? '' : 's'} (at byte ${at}) are not gzip data: ignored, as gzip -d ignores them`);
      return;
    }
    await skipHeader(input, members);
    yield* inflateMember(input);
  }
}

/** Consumes a member's header (RFC 1952 §2.3), checking what can be checked. */
async function skipHeader(input: Input, members: number): Promise<void> {
  const cut = () => zlibError('Z_BUF_ERROR', 'unexpected end of file');
  if (!(await input.fill(10))) throw cut();
  if (input.byte(0) !== 0x1f || input.byte(1) !== 0x8b) throw zlibError('Z_DATA_ERROR', 'incorrect header check');
  if (input.byte(2) !== 8) throw zlibError('Z_DATA_ERROR', `unknown compression method in gzip member ${members + 1}`);
  const flags = input.byte(3);
  input.take(10);
  if (flags & FEXTRA) {
    if (!(await input.fill(2))) throw cut();
    const xlen = input.byte(0) | (input.byte(1) << 8);
    if (!(await input.fill(2 + xlen))) throw cut();
    input.take(2 + xlen);
  }
  for (const f of [FNAME, FCOMMENT]) {
    if (!(flags & f)) continue;
    // A zero-terminated string.
    for (;;) {
      if (!(await input.fill(1))) throw cut();
      if (input.take(1)[0] === 0) break;
    }
  }
  if (flags & FHCRC) {
    if (!(await input.fill(2))) throw cut();
    input.take(2);
  }
}

/** Inflates one member's body, then checks its trailer (CRC-32 and size of what it inflated to). */
async function* inflateMember(input: Input): AsyncGenerator<Buffer> {
  const inflate = createInflateRaw({ chunkSize: OUT_CHUNK });
  try {
    yield* inflateBody(input, inflate);
  } finally {
    inflate.destroy();
  }
}

/** inflateMember's work, with `inflate` destroyed by the caller however it ends. */
async function* inflateBody(input: Input, inflate: InflateRaw): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  inflate.on('data', (b: Buffer) => out.push(b));
  let failure: Error | undefined;
  const failed = new Promise<never>((_, reject) => inflate.once('error', (err) => reject((failure = err))));
  failed.catch(() => undefined);
  let crc = 0;
  let size = 0;
  const drain = function* () {
    for (const b of out.splice(0)) {
      crc = crc32(b, crc);
      size = (size + b.length) >>> 0;
      yield b;
    }
  };
  for (;;) {
    const piece = await input.next(SLICE);
    if (piece === undefined) {
      // The source ended: the body must end here too.
      const ended = new Promise<void>((resolve) => inflate.once('end', resolve));
      inflate.end();
      try {
        await Promise.race([ended, failed]);
      } finally {
        yield* drain();
      }
      if (failure === undefined) throw zlibError('Z_BUF_ERROR', 'unexpected end of file');
      return;
    }
    const before = inflate.bytesWritten;
    try {
      await Promise.race([new Promise<void>((resolve) => inflate.write(piece, () => resolve())), failed]);
    } finally {
      yield* drain();
    }
    const consumed = inflate.bytesWritten - before;
    if (consumed < piece.length) {
      // The body ended inside this piece: the rest is the trailer and what follows.
      input.unshift(piece.subarray(consumed));
      break;
    }
  }
  if (!(await input.fill(8))) throw zlibError('Z_BUF_ERROR', 'unexpected end of file');
  const trailer = input.take(8);
  if (trailer.readUInt32LE(0) !== crc >>> 0) throw zlibError('Z_DATA_ERROR', 'incorrect data check');
  if (trailer.readUInt32LE(4) !== size) throw zlibError('Z_DATA_ERROR', 'incorrect length check');
}
