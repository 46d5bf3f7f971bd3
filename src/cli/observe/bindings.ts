// Before observe resolves a single line: which pods wrote the inputs, their own addresses and
// when they were writing (inventory/learned.ts says why). A pod's IP is fixed for its life and
// its log is in time order, so the head and the tail of each of its files say it all: this
// pass decodes the first and the last LEARN_WINDOW bytes of each file (of a gzip file, of its
// decompressed bytes: it is inflated, not decoded, in between), and the whole of a collector's
// file that holds many pods' records (an envelope per line). A file whose place names no pod
// is probed first: unless its first records name theirs, it teaches nothing.
//
// Learned before, not during, the main pass: a line that names an IP may be read before the
// file that binds it (files are read in sorted order, and with --jobs in parallel workers);
// with every binding known first, each flow resolves at its own time against the same
// inventory in every worker, so the output is exact and the same for any order and any --jobs.

import { open, stat } from 'node:fs/promises';
import type { Flow, RepeatedRequest } from '../../flow/flow.js';
import { detached } from '../../flow/path-template.js';
import type { LearnedPod } from '../../inventory/learned.js';
import { AccessLogDecoder, type AccessLogDecoderOptions, type DecoderSinks } from '../../sources/access-log-decoder.js';
import { LineSplitter } from '../../sources/framing/lines.js';
import { layoutOf } from '../../sources/layout.js';
import { readAccessLogs } from '../../sources/read-access-logs.js';
import { readBytes, type InputFile } from '../../sources/transports/files.js';
import { isGzip } from '../../sources/transports/ranges.js';
import { Tally } from '../../tally.js';
import { compare } from '../../flow/compare.js';

/** Bytes decoded at each end of a file: a few hundred lines, for the pod's address and its first and last times. */
export const LEARN_WINDOW = 64 * 1024;
/** Bytes decoded of a file whose location names no pod, to see whether its records do (a collector's envelopes). */
const PROBE = 16 * 1024;

const PODS_TREE_UID = /(?:^|\/)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?_[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?_([0-9a-f-]{8,})\/[^/]+\/[^/]+$/;
const LOOPBACK = /^(127\.|::1$)/;

interface Acc {
  namespace: string;
  name: string;
  uid: string | undefined;
  ips: Set<string>;
  first: number;
  last: number;
}

/**
 * The pods whose own lines the inputs hold, in a stable order. A pipe (stdin, `<(cmd)`, a FIFO)
 * is not read: it can be read only once, by the main pass, and buffering a whole stream to read
 * it twice would hold unbounded input. Its pod comes from --pod or the inventory instead.
 */
export async function learnBindings(files: readonly InputFile[], options: AccessLogDecoderOptions): Promise<LearnedPod[]> {
  const pods = new Map<string, Acc>();
  for (const file of files) {
    if (file.path === '-' || file.stream === true) continue;
    const layout = layoutOf(file.path);
    if (layout.container !== undefined && layout.container !== options.container) continue;
    const uid = PODS_TREE_UID.exec(file.path.replace(/\\/g, '/'))?.[1];
    let ends: { head: Buffer; tail: Buffer | undefined };
    try {
      // A file that names no pod, by its place or by its first records, teaches nothing.
      const located = options.pod ?? layout.reporter;
      if ((located === undefined || located.namespace === '') && !(await namesPods(file.path, options))) continue;
      ends = await headAndTail(file.path);
    } catch {
      continue; // unreadable: the main pass reports it
    }
    // A file whose records name other pods than its location (a collector's) is read whole.
    const mixed = learnFrom(file.path, ends.tail === undefined ? [ends.head] : [ends.head, ends.tail], options, pods, uid);
    if (mixed && ends.tail !== undefined) await learnFromFile(file, options, pods, uid);
  }
  return [...pods.values()]
    .map((a): LearnedPod => ({ namespace: a.namespace, name: a.name, ...(a.uid === undefined ? {} : { uid: a.uid }), ips: [...a.ips].sort(compare), first: a.first, last: a.last }))
    .filter((p) => Number.isFinite(p.first))
    .sort((a, b) => compare(`${a.namespace}/${a.name}/${a.uid ?? ''}`, `${b.namespace}/${b.name}/${b.uid ?? ''}`));
}

/**
 * The whole lines in the first LEARN_WINDOW bytes of a file (gunzipped when it is gzip), and
 * those in its last LEARN_WINDOW bytes; `tail` undefined when the head is the whole file.
 */
async function headAndTail(path: string): Promise<{ head: Buffer; tail: Buffer | undefined }> {
  const size = (await stat(path)).size;
  if (!(await isGzip(path))) {
    if (size <= 2 * LEARN_WINDOW) return { head: await readAt(path, 0, size), tail: undefined };
    const head = await readAt(path, 0, LEARN_WINDOW);
    const tail = await readAt(path, size - LEARN_WINDOW, LEARN_WINDOW);
    return { head: head.subarray(0, head.lastIndexOf(0x0a) + 1), tail: tail.subarray(tail.indexOf(0x0a) + 1) };
  }
  // Inflated as a stream, keeping the first window and a rolling last one.
  const headParts: Buffer[] = [];
  let headBytes = 0;
  let tailParts: Buffer[] = [];
  let tailBytes = 0;
  let total = 0;
  try {
    for await (const chunk of readBytes({ path })) {
      total += chunk.length;
      if (headBytes < LEARN_WINDOW) {
        const part = chunk.subarray(0, LEARN_WINDOW - headBytes);
        headParts.push(Buffer.from(part));
        headBytes += part.length;
      }
      tailParts.push(chunk);
      tailBytes += chunk.length;
      while (tailParts.length > 1 && tailBytes - tailParts[0]!.length >= LEARN_WINDOW) tailBytes -= tailParts.shift()!.length;
    }
  } catch {
    // Truncated or corrupt: learn from what inflated (the main pass reports it).
    tailParts = [];
  }
  const head = Buffer.concat(headParts);
  if (total <= LEARN_WINDOW || tailParts.length === 0) return { head: head.subarray(0, total <= LEARN_WINDOW ? head.length : head.lastIndexOf(0x0a) + 1), tail: undefined };
  const tail = Buffer.concat(tailParts).subarray(-LEARN_WINDOW);
  return { head: head.subarray(0, head.lastIndexOf(0x0a) + 1), tail: tail.subarray(tail.indexOf(0x0a) + 1) };
}

/** Whether the first records of a file (gunzipped) name the pod that wrote them. */
async function namesPods(path: string, options: AccessLogDecoderOptions): Promise<boolean> {
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of readBytes({ path })) {
    parts.push(chunk);
    bytes += chunk.length;
    if (bytes >= PROBE) break;
  }
  const head = Buffer.concat(parts).subarray(0, PROBE);
  const probe = new Map<string, Acc>();
  learnFrom(path, [bytes > PROBE ? head.subarray(0, head.lastIndexOf(0x0a) + 1) : head], options, probe, undefined);
  return probe.size > 0;
}

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The sinks that learn from a file's lines; `mixed` says whether some record named a pod other than the file's location. */
function learningSinks(path: string, options: AccessLogDecoderOptions, pods: Map<string, Acc>, uid: string | undefined): DecoderSinks<Acc> & { mixed: boolean } {
  const located = options.pod ?? layoutOf(path).reporter;
  const seen = (acc: Acc, t: number | undefined) => {
    if (t === undefined) return;
    if (t < acc.first) acc.first = t;
    if (t > acc.last) acc.last = t;
  };
  const sinks = {
    mixed: false,
    flow(flow: Flow, attach?: (value: Acc) => void) {
      const reporter = flow.reporter === 'client' ? flow.source.pod : flow.destination.pod;
      // A bare `POD.log` name is a hint, not a location.
      if (reporter === undefined || reporter.namespace === '') return;
      const fromLocation = located !== undefined && located.namespace === reporter.namespace && located.name === reporter.name;
      if (!fromLocation) sinks.mixed = true;
      const u = fromLocation ? uid : undefined;
      const key = `${reporter.namespace}/${reporter.name}/${u ?? ''}`;
      let acc = pods.get(key);
      if (acc === undefined) {
        acc = { namespace: detached(reporter.namespace), name: detached(reporter.name), uid: u, ips: new Set(), first: Infinity, last: -Infinity };
        pods.set(key, acc);
      }
      // Its own side of the connection: the sidecar's outbound local address, or the inbound listener.
      const own = flow.reporter === 'client' ? flow.source.ip : flow.destination.ip;
      if (own !== undefined && !LOOPBACK.test(own) && !acc.ips.has(own)) acc.ips.add(detached(own));
      seen(acc, flow.timestamp);
      // Later lines of this route shape have the same reporter and addresses: only their time is new.
      attach?.(acc);
    },
    repeat(acc: Acc, request: RepeatedRequest) {
      seen(acc, request.timestamp);
      return true;
    },
    rejects: new Tally(),
    skips: new Tally(),
  };
  return sinks;
}

/** Decodes whole-line `buffers` of one file as separate stretches; true when the file is a collector's (mixed). */
function learnFrom(path: string, buffers: Buffer[], options: AccessLogDecoderOptions, pods: Map<string, Acc>, uid: string | undefined): boolean {
  const sinks = learningSinks(path, options, pods, uid);
  const decoder = new AccessLogDecoder<Acc>(options, sinks);
  for (const b of buffers) {
    decoder.beginFile(path, layoutOf(path));
    const splitter = new LineSplitter(decoder, options.maxLineLength);
    splitter.push(b);
    splitter.end(true);
    decoder.endFile(false);
  }
  return sinks.mixed;
}

async function learnFromFile(file: InputFile, options: AccessLogDecoderOptions, pods: Map<string, Acc>, uid: string | undefined): Promise<void> {
  const { mixed: _, ...sinks } = learningSinks(file.path, options, pods, uid);
  await readAccessLogs<Acc>([{ path: file.path }], options, sinks);
}
