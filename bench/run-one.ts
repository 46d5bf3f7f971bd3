// One measurement in its own process, so peak RSS belongs to it alone.
//   node dist/bench/run-one.js bare|floor|ztmap|jobs text|json|metrics|hubble FILE [INVENTORY]
// (metrics: an Istio metrics exposition, hubble: Hubble flows, read by their sources)
// (`jobs`: `observe --jobs` with one worker per core, reported apart from the one-core figures)
// prints {"mode","format","lines","seconds","maxRssMiB", ...} on stdout.

import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { observeGraph } from '../src/cli/commands/observe.js';
import { observePart } from '../src/cli/observe/part.js';
import { floor, TEXT_LINE } from './floor.js';
import { buildInventory } from '../src/inventory/inventory.js';
import { loadObjects } from '../src/inventory/load.js';

const [mode, format, file, inventoryFile] = process.argv.slice(2);
if (mode === undefined || format === undefined || file === undefined) {
  process.stderr.write('usage: run-one bare|floor|ztmap|jobs text|json FILE [INVENTORY]\n');
  process.exit(2);
}

/** A sample line, its name, label text and value: what a bare loop over an exposition must find. */
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)/;

/** The source that reads a bench format (sources/registry.ts): the access-log formats are recognised as such. */
const SOURCE_OF: Record<string, string> = { metrics: 'istio-metrics', hubble: 'hubble' };

// The practical limit in Node: split lines and do the one unavoidable per-line parse.
async function bare(): Promise<Record<string, number>> {
  let lines = 0;
  let matched = 0;
  let carry = '';
  const stream = createReadStream(file!, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  for await (const chunk of stream as AsyncIterable<string>) {
    const parts = (carry + chunk).split('\n');
    carry = parts.pop() ?? '';
    for (const l of parts) {
      lines++;
      if (format === 'json') {
        const o = JSON.parse(l) as Record<string, unknown>;
        if (o['upstream_cluster'] !== undefined) matched++;
      } else if (format === 'hubble') {
        const o = JSON.parse(l) as Record<string, unknown>;
        if (o['flow'] !== undefined) matched++;
      } else if (format === 'metrics') {
        if (SAMPLE_LINE.exec(l) !== null) matched++;
      } else if (TEXT_LINE.exec(l) !== null) matched++;
    }
  }
  return { lines, matched };
}

async function ztmap(): Promise<Record<string, number>> {
  const inv = buildInventory(inventoryFile === undefined ? [] : await loadObjects(inventoryFile));
  const source = SOURCE_OF[format!];
  const r = await observePart(inv, [{ path: file!, ...(source === undefined ? {} : { source }) }], { format: 'auto', container: 'istio-proxy' });
  return { lines: r.read.lines, flows: r.flows, repeated: r.repeated, rejected: r.rejects.total, edges: r.graph.size, nodes: r.graph.order };
}

async function jobs(): Promise<Record<string, number>> {
  const r = await observeGraph({ inputs: [file!], inventory: inventoryFile === undefined ? [] : [inventoryFile], format: 'auto', container: 'istio-proxy', maxLineLength: 256 * 1024, merge: [], jobs: availableParallelism() });
  return { lines: r.read.lines, flows: r.flows, rejected: r.rejects.total, edges: r.graph.size, nodes: r.graph.order, workers: availableParallelism() };
}

const t0 = performance.now();
const counts = mode === 'bare' ? await bare() : mode === 'floor' ? await floor(file, format) : mode === 'jobs' ? await jobs() : await ztmap();
const seconds = (performance.now() - t0) / 1000;
const usage = process.resourceUsage();
const maxRssMiB = usage.maxRSS / 1024;
// CPU time of this process (all threads): beside wall time, a check on a noisy machine.
const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
process.stdout.write(JSON.stringify({ mode, format, seconds, cpuSeconds, maxRssMiB, ...counts, linesPerSecond: Math.round(counts['lines']! / seconds) }) + '\n');
