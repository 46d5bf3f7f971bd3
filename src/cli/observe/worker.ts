// A worker thread of `observe --jobs N`: loads the inventory once, then observes each part
// the main thread sends and posts back its PartResult as plain data.

import { parentPort, workerData } from 'node:worker_threads';
import { loadInventory } from '../../inventory/inventory.js';
import type { LearnedPod } from '../../inventory/learned.js';
import type { AccessLogDecoderOptions } from '../../sources/access-log-decoder.js';
import type { InputFile } from '../../sources/transports/files.js';
import { partResultToData, observePart, type PartResultData } from './part.js';

export interface WorkerSetup {
  inventory: string[];
  /** Pods the main thread learned from the inputs (bindings.ts): every worker resolves with the same inventory. */
  learned: LearnedPod[];
  options: AccessLogDecoderOptions;
  /** World/unknown endpoints kept per fold bucket (graph/fold.ts). */
  maxExternalEndpoints?: number;
}

export type ToWorker = { part: number; files: InputFile[] } | { done: true };
export type FromWorker =
  | { part: number; result: PartResultData }
  | { part: number; progress: { bytes: number; lines: number } }
  | { part: number; error: string };

const port = parentPort!;
const setup = workerData as WorkerSetup;
const inventory = await loadInventory(setup.inventory, setup.learned);

port.on('message', (msg: ToWorker) => {
  if ('done' in msg) {
    port.close();
    return;
  }
  const { part, files } = msg;
  const opts = setup.maxExternalEndpoints === undefined ? {} : { maxExternalEndpoints: setup.maxExternalEndpoints };
  observePart(inventory, files, setup.options, (p) => port.postMessage({ part, progress: { bytes: p.bytes, lines: p.lines } } satisfies FromWorker), opts)
    .then((o) => port.postMessage({ part, result: partResultToData(o) } satisfies FromWorker))
    .catch((err: unknown) => port.postMessage({ part, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromWorker));
});
