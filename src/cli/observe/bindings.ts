// Before observe resolves a single line: which pods wrote the inputs, their own addresses and
// when they were writing (inventory/learned.ts says why). A pod's IP is fixed for its life and
// its log is in time order, so the head and the tail of each of its files say it all: this
// pass reads the first and the last LEARN_WINDOW bytes of a plain file (a few hundred KiB
// per file, whatever its size), and the whole of a gzip file (which cannot be entered in the
// middle) or of a collector's file that holds many pods' records (an envelope per line).
//
// Learned before, not during, the main pass: a line that names an IP may be read before the
// file that binds it (files are read in sorted order, and with --jobs in parallel workers);
// with every binding known first, each flow resolves at its own time against the same
// inventory in every worker, so the output is exact and the same for any order and any --jobs.

import { open, stat } from 'node:fs/promises';
import type { Flow } from '../../flow/flow.js';
import { detached } from '../../flow/path-template.js';
import type { LearnedPod } from '../../inventory/learned.js';
import type { AccessLogDecoderOptions } from '../../sources/access-log-decoder.js';
import { layoutOf } from '../../sources/layout.js';
import { readAccessLogs } from '../../sources/read-access-logs.js';
import type { InputFile } from '../../sources/transports/files.js';
import { isGzip } from '../../sources/transports/ranges.js';
import { Tally } from '../../tally.js';

/** Bytes read at each end of a plain file. */
export const LEARN_WINDOW = 256 * 1024;

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

/** The pods whose own lines the inputs hold, in a stable order. Stdin is not read (it cannot be read twice). */
export async function learnBindings(files: readonly InputFile[], options: AccessLogDecoderOptions): Promise<LearnedPod[]> {
  const pods = new Map<string, Acc>();
  for (const file of files) {
    if (file.path === '-') continue;
    const layout = layoutOf(file.path);
    if (layout.container !== undefined && layout.container !== options.container) continue;
    const uid = PODS_TREE_UID.exec(file.path.replace(/\\/g, '/'))?.[1];
    const size = (await stat(file.path).catch(() => undefined))?.size ?? 0;
    const whole = size <= 2 * LEARN_WINDOW || (await isGzip(file.path).catch(() => true));
    if (whole) {
      await learnFrom([file], options, pods, uid);
      continue;
    }
    const head: InputFile = { path: file.path, range: { start: 0, end: await lineStartAfter(file.path, LEARN_WINDOW, size), last: false } };
    const tail: InputFile = { path: file.path, range: { start: await lineStartAfter(file.path, size - LEARN_WINDOW, size), end: size, last: true } };
    // A file whose records name other pods than its location (a collector's) is read whole.
    const mixed = await learnFrom([head], options, pods, uid);
    await learnFrom(mixed ? [{ path: file.path }] : [tail], options, pods, uid);
  }
  return [...pods.values()]
    .map((a): LearnedPod => ({ namespace: a.namespace, name: a.name, ...(a.uid === undefined ? {} : { uid: a.uid }), ips: [...a.ips].sort(), first: a.first, last: a.last }))
    .filter((p) => Number.isFinite(p.first))
    .sort((a, b) => cmp(`${a.namespace}/${a.name}/${a.uid ?? ''}`, `${b.namespace}/${b.name}/${b.uid ?? ''}`));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Reads `files` through the access-log decoder; true when some record named a pod other than the file's location. */
async function learnFrom(files: InputFile[], options: AccessLogDecoderOptions, pods: Map<string, Acc>, uid: string | undefined): Promise<boolean> {
  const located = options.pod ?? layoutOf(files[0]!.path).reporter;
  let mixed = false;
  const accOf = (flow: Flow): Acc | undefined => {
    const reporter = flow.reporter === 'client' ? flow.source.pod : flow.destination.pod;
    // A bare `POD.log` name is a hint, not a location.
    if (reporter === undefined || reporter.namespace === '') return undefined;
    const fromLocation = located !== undefined && located.namespace === reporter.namespace && located.name === reporter.name;
    if (!fromLocation) mixed = true;
    const u = fromLocation ? uid : undefined;
    const key = `${reporter.namespace}/${reporter.name}/${u ?? ''}`;
    let acc = pods.get(key);
    if (acc === undefined) {
      acc = { namespace: reporter.namespace, name: reporter.name, uid: u, ips: new Set(), first: Infinity, last: -Infinity };
      pods.set(key, acc);
    }
    // Its own side of the connection: the sidecar's outbound local address, or the inbound listener.
    const own = flow.reporter === 'client' ? flow.source.ip : flow.destination.ip;
    if (own !== undefined && !LOOPBACK.test(own) && !acc.ips.has(own)) acc.ips.add(detached(own));
    return acc;
  };
  const seen = (acc: Acc, t: number | undefined) => {
    if (t === undefined) return;
    if (t < acc.first) acc.first = t;
    if (t > acc.last) acc.last = t;
  };
  await readAccessLogs<Acc>(files, options, {
    flow(flow, attach) {
      const acc = accOf(flow);
      if (acc === undefined) return;
      seen(acc, flow.timestamp);
      // Later lines of this route shape have the same reporter and addresses: only their time is new.
      attach?.(acc);
    },
    repeat(acc, request) {
      seen(acc, request.timestamp);
      return true;
    },
    rejects: new Tally(),
    skips: new Tally(),
  });
  return mixed;
}

/** The first line start at or after `pos` (the file's size when there is none). */
async function lineStartAfter(path: string, pos: number, size: number): Promise<number> {
  if (pos <= 0) return 0;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let at = pos - 1; at < size; at += buf.length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
      if (bytesRead === 0) break;
      const i = buf.subarray(0, bytesRead).indexOf(0x0a);
      if (i !== -1) return at + i + 1;
    }
    return size;
  } finally {
    await fh.close();
  }
}
