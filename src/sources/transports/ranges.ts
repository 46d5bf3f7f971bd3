// A large plain file → byte ranges of whole lines, so that workers can read one file in
// parallel. A line belongs to the range its first byte is in; a boundary is never placed
// after a CRI partial (`P`) record, so that a record and its continuation stay together
// (readers still report a range that ends inside one, and the caller reads it again joined
// to the next: see `endedInPartial`).

import { open, type FileHandle } from 'node:fs/promises';
import type { ByteRange } from './files.js';

const WINDOW = 64 * 1024;
const CRI_PARTIAL = /^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d) (?:stdout|stderr) P/;
const GZIP_MAGIC = [0x1f, 0x8b];

/** Whether the file starts with the gzip magic number (such files are never cut). */
export async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await fh.close();
  }
}

/** About `parts` ranges of whole lines covering the file's `size` bytes, in order. */
export async function lineRanges(path: string, size: number, parts: number): Promise<ByteRange[]> {
  const fh = await open(path, 'r');
  try {
    const cuts: number[] = [];
    for (let k = 1; k < parts; k++) {
      // At or after pos, so past the previous cut: cuts increase.
      const b = await boundaryFrom(fh, Math.max(Math.floor((size * k) / parts), (cuts.at(-1) ?? 0) + 1), size);
      if (b >= size) break;
      cuts.push(b);
    }
    const edges = [0, ...cuts, size];
    return edges.slice(1).map((end, i) => ({ start: edges[i]!, end, last: i === edges.length - 2 }));
  } finally {
    await fh.close();
  }
}

/** The first line start at or after `pos` (or `size`) that does not follow a CRI partial record. */
async function boundaryFrom(fh: FileHandle, pos: number, size: number): Promise<number> {
  for (let from = pos; ; ) {
    const nl = await indexOfNewline(fh, from - 1, size);
    if (nl === -1) return size;
    const b = nl + 1;
    if (b >= size || !(await endsCriPartial(fh, nl))) return b;
    from = b + 1;
  }
}

async function indexOfNewline(fh: FileHandle, from: number, size: number): Promise<number> {
  const buf = Buffer.alloc(WINDOW);
  for (let at = from; at < size; at += WINDOW) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(WINDOW, size - at), at);
    if (bytesRead === 0) return -1;
    const i = buf.subarray(0, bytesRead).indexOf(0x0a);
    if (i !== -1) return at + i;
  }
  return -1;
}

/** Whether the line that ends with the newline at `nl` is a CRI partial record. */
async function endsCriPartial(fh: FileHandle, nl: number): Promise<boolean> {
  // The record's head is at its line's start: find it, then read enough to match the prefix.
  const buf = Buffer.alloc(WINDOW);
  let start = 0;
  for (let at = nl; at > 0; ) {
    const from = Math.max(0, at - WINDOW);
    const { bytesRead } = await fh.read(buf, 0, at - from, from);
    const i = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (i !== -1) {
      start = from + i + 1;
      break;
    }
    at = from;
  }
  const len = Math.min(256, nl - start);
  const { bytesRead } = await fh.read(buf, 0, len, start);
  return CRI_PARTIAL.test(buf.subarray(0, bytesRead).toString('latin1'));
}
