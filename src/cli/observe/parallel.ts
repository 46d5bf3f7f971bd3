// `observe --jobs N`: the inputs cut into parts (groups of whole files, and ranges of whole
// lines of large plain files), observed by N worker threads, and merged back in input order.
// Graph aggregation is associative and commutative (graph/build.ts, property-tested), so the
// merged graph is the graph of the whole input; tallies merge in part order, with each
// range's line numbers shifted by the lines of the ranges before it, so the summary names
// the same lines as a single reader would.

import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { mergeGraphs } from '../../graph/build.js';
import type { LearnedPod } from '../../inventory/learned.js';
import type { AccessLogDecoderOptions } from '../../sources/access-log-decoder.js';
import { layoutOf } from '../../sources/layout.js';
import { DEFAULT_SOURCE, sourceNamed } from '../../sources/registry.js';
import type { ReadProgress } from '../../sources/source.js';
import type { InputFile } from '../../sources/transports/files.js';
import { isGzip, lineRanges } from '../../sources/transports/ranges.js';
import { Tally } from '../../tally.js';
import { partResultFromData, type PartResult } from './part.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker.js';

/** Parts below this many bytes are not worth a worker's start (loading the inventory). */
export const DEFAULT_MIN_PART_BYTES = 32 * 1024 * 1024;

interface Part {
  files: InputFile[];
  bytes: number;
}

/**
 * Parts of about total / (2 × jobs) bytes, at least `minBytes`: consecutive whole files
 * grouped, and files larger than a part (plain, of the access-log container) cut into ranges.
 * Stdin is never in a plan: the caller reads it alone.
 */
export async function planParts(files: readonly InputFile[], jobs: number, minBytes: number, container: string): Promise<Part[]> {
  // A file that cannot be read is left whole: its reader reports the error and goes on, as one reader would.
  const sizes = await Promise.all(files.map(async (f) => (await stat(f.path).catch(() => undefined))?.size ?? 0));
  const total = sizes.reduce((a, b) => a + b, 0);
  const target = Math.max(minBytes, Math.ceil(total / (2 * jobs)));
  const parts: Part[] = [];
  // A source that joins records across files (traces) is read by one worker, all its files together.
  const together = new Set(files.flatMap((f, i) => ((f.source === undefined ? DEFAULT_SOURCE : sourceNamed(f.source))?.readTogether === true ? [i] : [])));
  if (together.size > 0) parts.push({ files: [...together].map((i) => files[i]!), bytes: [...together].reduce((a, i) => a + sizes[i]!, 0) });
  let group: Part = { files: [], bytes: 0 };
  const flush = () => {
    if (group.files.length > 0) parts.push(group);
    group = { files: [], bytes: 0 };
  };
  for (const [i, file] of files.entries()) {
    if (together.has(i)) continue;
    const size = sizes[i]!;
    const layout = layoutOf(file.path);
    const cuttable =
      size > target &&
      (file.source === undefined ? DEFAULT_SOURCE : sourceNamed(file.source))?.splittable === true &&
      (layout.container === undefined || layout.container === container) &&
      !(await isGzip(file.path).catch(() => true));
    if (cuttable) {
      flush();
      for (const range of await lineRanges(file.path, size, Math.ceil(size / target))) parts.push({ files: [{ ...file, range }], bytes: range.end - range.start });
      continue;
    }
    group.files.push(file);
    group.bytes += size;
    if (group.bytes >= target) flush();
  }
  flush();
  return parts;
}

/** The range a part reads, when it is one range of a file (and not the whole file). */
const rangeOf = (p: Part) => (p.files.length === 1 ? p.files[0]!.range : undefined);

/** A range and the next range of the same file as one part. */
function joined(a: Part, b: Part): Part {
  const ra = rangeOf(a);
  const rb = rangeOf(b);
  if (ra === undefined || rb === undefined || rb.start !== ra.end || b.files[0]!.path !== a.files[0]!.path) {
    throw new Error('internal: a part ended inside a CRI partial record but the next part is not the rest of its file');
  }
  return { files: [{ ...a.files[0]!, range: { start: ra.start, end: rb.end, last: rb.last } }], bytes: a.bytes + b.bytes };
}

export interface ParallelOptions {
  jobs: number;
  inventory: string[];
  learned?: LearnedPod[];
  decoder: AccessLogDecoderOptions;
  /** World/unknown endpoints kept per fold bucket (graph/fold.ts): each part folds, and so does every merge. */
  maxExternalEndpoints?: number;
  onProgress?: (p: ReadProgress) => void;
}

/** Observe `parts` on `jobs` workers; the merged PartResult, as one reader would make it. */
export async function observeParallel(initial: Part[], opts: ParallelOptions): Promise<PartResult> {
  let parts = initial;
  let results = await runParts(parts, opts);
  // A range that ended inside a CRI partial record is read again joined to the next range,
  // so that the record is whole; the planner avoids this, so it is rare.
  for (;;) {
    // Only a range that is not its file's last says so, and the next part is the next range.
    const i = results.findIndex((r) => r.read.endedInPartial);
    if (i === -1) break;
    const merged = joined(parts[i]!, parts[i + 1]!);
    const [again] = await runParts([merged], { ...opts, jobs: 1 });
    parts = [...parts.slice(0, i), merged, ...parts.slice(i + 2)];
    results = [...results.slice(0, i), again!, ...results.slice(i + 2)];
  }
  return mergeInOrder(parts, results, opts.maxExternalEndpoints);
}

function mergeInOrder(parts: Part[], results: PartResult[], maxExternalEndpoints?: number): PartResult {
  const rejects = new Tally();
  const skips = new Tally();
  const unresolved = new Tally();
  const read = { files: 0, filesSkipped: [] as string[], lines: 0, bytes: 0, endedInPartial: false };
  let flows = 0;
  let repeated = 0;
  let graph: PartResult['graph'] | undefined;
  // Lines of a file read by earlier ranges: the offset of the next range's line numbers.
  const linesBefore = new Map<string, number>();
  for (const [k, r] of results.entries()) {
    const range = rangeOf(parts[k]!);
    const path = parts[k]!.files[0]!.path;
    const offset = range === undefined ? 0 : (linesBefore.get(path) ?? 0);
    if (range !== undefined) linesBefore.set(path, offset + r.read.lines);
    // A cut file counts once, by its first range.
    read.files += range === undefined || range.start === 0 ? r.read.files : 0;
    read.filesSkipped.push(...r.read.filesSkipped);
    read.lines += r.read.lines;
    read.bytes += r.read.bytes;
    flows += r.flows;
    repeated += r.repeated;
    rejects.merge(r.rejects, offset);
    skips.merge(r.skips, offset);
    unresolved.merge(r.unresolved, offset);
    graph = graph === undefined ? r.graph : mergeGraphs(graph, r.graph, maxExternalEndpoints);
  }
  return { read, flows, repeated, rejects, skips, unresolved, graph: graph! };
}

/** Run each part on a pool of workers; results in part order. */
function runParts(parts: Part[], opts: ParallelOptions): Promise<PartResult[]> {
  const results: (PartResult | undefined)[] = parts.map(() => undefined);
  const progress = parts.map(() => ({ bytes: 0, lines: 0 }));
  const setup: WorkerSetup = {
    inventory: opts.inventory,
    learned: opts.learned ?? [],
    options: opts.decoder,
    ...(opts.maxExternalEndpoints === undefined ? {} : { maxExternalEndpoints: opts.maxExternalEndpoints }),
  };
  const count = Math.max(1, Math.min(opts.jobs, parts.length));
  let next = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    const fail = (err: Error) => {
      for (const w of workers) void w.terminate();
      reject(err);
    };
    const give = (w: Worker) => {
      if (next >= parts.length) {
        w.postMessage({ done: true } satisfies ToWorker);
        return;
      }
      const part = next++;
      w.postMessage({ part, files: parts[part]!.files } satisfies ToWorker);
    };
    for (let i = 0; i < count; i++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup });
      workers.push(w);
      w.on('error', fail);
      w.on('message', (msg: FromWorker) => {
        if ('error' in msg) return fail(new Error(`observe worker, part ${msg.part}: ${msg.error}`));
        if ('progress' in msg) {
          progress[msg.part] = msg.progress;
          if (opts.onProgress !== undefined) {
            const bytes = progress.reduce((a, p) => a + p.bytes, 0);
            const lines = progress.reduce((a, p) => a + p.lines, 0);
            const file = parts[msg.part]!.files[0]!.path;
            opts.onProgress({ file, filesDone: finished, filesTotal: parts.length, bytes, lines });
          }
          return;
        }
        results[msg.part] = partResultFromData(msg.result);
        progress[msg.part] = { bytes: msg.result.read.bytes, lines: msg.result.read.lines };
        if (++finished === parts.length) {
          for (const x of workers) x.postMessage({ done: true } satisfies ToWorker);
          resolve(results as PartResult[]);
        } else give(w);
      });
      give(w);
    }
  });
}
