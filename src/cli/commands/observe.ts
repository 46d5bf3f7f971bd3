// `ztmap observe`: access logs + inventory → service dependency graph (graph.json, nodes.csv, edges.csv).

import { join } from 'node:path';
import { ConfigError, InputError } from '../../errors.js';
import { compare } from '../../flow/compare.js';
import type { PrometheusRead } from '../../sources/istio-metrics-window.js';
import type { PodRef } from '../../flow/flow.js';
import { edgesCsvChunks, nodesCsvChunks } from '../../graph/csv.js';
import { mergeGraphs } from '../../graph/build.js';
import { withAnonymousExplained, withConnectionsAbsorbed, type AnonymousExplained } from '../../graph/fuse.js';
import { DEFAULT_MAX_EXTERNAL_ENDPOINTS } from '../../graph/fold.js';
import type { ServiceGraph } from '../../graph/graph.js';
import { graphJsonChunks, readGraphFile } from '../../graph/json.js';
import { buildInventory, type Inventory, type IpConflict } from '../../inventory/inventory.js';
import { loadCombined, type ChurnReport } from '../../inventory/snapshots.js';
import type { AccessLogDecoderOptions, AccessLogFormat } from '../../sources/access-log-decoder.js';
import type { ReadProgress } from '../../sources/source.js';
import { DEFAULT_SOURCE, recogniseFile, sourceNamed, SOURCES } from '../../sources/registry.js';
import { checkNamedFile, expandInputsWithNotes, type InputFile, type InputNotes } from '../../sources/transports/files.js';
import { learnBindings } from '../observe/bindings.js';
import { DEFAULT_MIN_PART_BYTES, observeParallel, planParts } from '../observe/parallel.js';
import { observePart, type PartResult } from '../observe/part.js';
import { observePrometheus, type PrometheusInput } from '../observe/prometheus.js';
import { makeOutDir } from '../out-dir.js';
import { recoverOutputs, replaceOutputs, type FileContent } from '../output.js';

/**
 * Every file observe writes in OUT; one it does not write again (learned-pods.json) is removed
 * once the new output is in place. They are put in place in this order, graph.json last: a
 * reader that finds the new graph.json finds the new CSVs and learned pods beside it.
 */
export const OBSERVE_FILES = ['nodes.csv', 'edges.csv', 'learned-pods.json', 'graph.json'] as const;

export interface ObserveOptions {
  inputs: string[];
  inventory: string[];
  out: string;
  format: AccessLogFormat;
  container: string;
  pod?: string;
  maxLineLength: number;
  merge: string[];
  /** Worker threads to read with; 1 reads in this process. The output does not depend on it. */
  jobs?: number;
  /** The smallest part a worker is given (DEFAULT_MIN_PART_BYTES); tests set it low to cut small files. */
  minPartBytes?: number;
  /** World/unknown endpoints kept per (workload, port) bucket; the rest are folded into "other" (graph/fold.ts). */
  maxExternalEndpoints?: number;
  /** The source of every input (sources/registry.ts); by default each file's is recognised from its first lines. */
  source?: string;
  /** Also read Istio's standard metrics from a live Prometheus over a window. */
  prometheus?: PrometheusInput;
  onProgress?: (p: ReadProgress) => void;
}

export interface ObserveResult extends PartResult {
  files: string[];
  inventory: { pods: number; workloads: number; services: number; ipConflicts: IpConflict[] };
  /** The snapshots combined, pods found ended between them, and pods learned from the logs' own lines. */
  churn: ChurnReport;
  /** Inputs named twice (read once) and entries of directories and globs that were not read. */
  inputs: InputNotes;
  /** Nothing usable was read and no graph was merged: observe wrote nothing and left OUT as it was. */
  empty: boolean;
  /** Input files by the source that read them, sorted by name. */
  filesBySource: Record<string, number>;
  /** Edges of an address-less source (metrics) to or from an unnamed end that other sources named, taken out (graph/fuse.ts). */
  anonymousExplained: AnonymousExplained[];
  /** What was asked of a Prometheus server (--prometheus). */
  prometheus?: PrometheusRead;
}

function parsePodRef(s: string): PodRef {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(s);
  if (m === null) throw new ConfigError(`--pod: expected NAMESPACE/POD (got ${JSON.stringify(s)}). For example --pod default/productpage-v1-6b746f74dc-9stvm.`);
  return { namespace: m[1]!, name: m[3]! };
}

function countBySource(files: readonly InputFile[]): Record<string, number> {
  const n = new Map<string, number>();
  for (const f of files) n.set(f.source ?? DEFAULT_SOURCE.name, (n.get(f.source ?? DEFAULT_SOURCE.name) ?? 0) + 1);
  return Object.fromEntries([...n].sort((a, b) => compare(a[0], b[0])));
}

/** Each input with the name of its source: the one `--source` names, else the one that recognises its first lines. */
async function withSources(files: readonly InputFile[], name: string | undefined): Promise<InputFile[]> {
  if (name !== undefined) {
    const source = sourceNamed(name);
    if (source === undefined) throw new ConfigError(`--source: unknown source ${JSON.stringify(name)}. Choose from ${SOURCES.map((s) => s.name).join(', ')}.`);
    return files.map((f) => ({ ...f, source: source.name }));
  }
  const out: InputFile[] = [];
  for (const f of files) out.push({ ...f, source: (await recogniseFile(f)).name });
  return out;
}

/** The graph of the inputs, in memory (what `observe` writes, and what `verify` replays). */
export async function observeGraph(opts: Omit<ObserveOptions, 'out'>): Promise<Omit<ObserveResult, 'files'>> {
  const pod = opts.pod === undefined ? undefined : parsePodRef(opts.pod);
  const { files: expanded, notes } = await expandInputsWithNotes(opts.inputs);
  const files = await withSources(expanded, opts.source);
  const saved: ServiceGraph[] = [];
  for (const f of opts.merge) {
    await checkNamedFile(f, '--merge graph', 'Pass a graph.json written by `ztmap observe`.');
    saved.push(await readGraphFile(f));
  }
  if (files.length === 0 && saved.length === 0 && opts.prometheus === undefined) {
    const named = opts.inputs.length === 0 ? '' : ` (${opts.inputs.join(', ')} hold${opts.inputs.length === 1 ? 's' : ''} no regular file)`;
    throw new ConfigError(`observe: no input${named}. Name telemetry files, directories or globs, - for stdin, --prometheus URL, or --merge saved graphs.`);
  }
  const decoder: AccessLogDecoderOptions = { format: opts.format, container: opts.container, maxLineLength: opts.maxLineLength, ...(pod ? { pod } : {}) };
  // Which pods wrote the inputs, at which addresses, when: known before any line is resolved,
  // so that the result does not depend on the order of reading (observe/bindings.ts).
  const learned = await learnBindings(
    files.filter((f) => f.source === DEFAULT_SOURCE.name),
    decoder,
  );
  const combined = await loadCombined(opts.inventory, learned);
  const inventory: Inventory = buildInventory(combined.objects);
  const jobs = opts.jobs ?? 1;
  const cap = opts.maxExternalEndpoints ?? DEFAULT_MAX_EXTERNAL_ENDPOINTS;
  // A pipe (stdin, <(cmd), a FIFO) is read by this process alone, once: it has no size to cut
  // by and cannot be read again; so is an input too small to be worth workers.
  const parts = jobs > 1 && !files.some((f) => f.stream === true) ? await planParts(files, jobs, opts.minPartBytes ?? DEFAULT_MIN_PART_BYTES, opts.container) : [];
  const observed =
    parts.length > 1
      ? await observeParallel(parts, { jobs, inventory: opts.inventory, learned, decoder, maxExternalEndpoints: cap, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) })
      : await observePart(inventory, files, decoder, opts.onProgress, { maxExternalEndpoints: cap });
  let { graph } = observed;
  let prometheus: PrometheusRead | undefined;
  if (opts.prometheus !== undefined) {
    const p = await observePrometheus(inventory, opts.prometheus, observed, cap);
    prometheus = p.read;
    observed.flows += p.flows;
    graph = mergeGraphs(graph, p.graph, cap);
  }
  for (const g of saved) graph = mergeGraphs(graph, g, cap);
  graph = withConnectionsAbsorbed(graph);
  const anonymous = withAnonymousExplained(graph);
  graph = anonymous.graph;
  // A directory inside a walk that could not be listed is input that was not read.
  for (const u of notes.unreadable) observed.rejects.add('unreadable-directory', { file: u.path }, u.reason);
  return {
    ...observed,
    graph,
    inputs: notes,
    empty: observed.flows === 0 && saved.length === 0,
    filesBySource: countBySource(files),
    anonymousExplained: anonymous.explained,
    ...(prometheus === undefined ? {} : { prometheus }),
    inventory: { pods: inventory.pods.length, workloads: inventory.workloads.size, services: inventory.services.length, ipConflicts: inventory.ipConflicts },
    churn: combined.report,
  };
}

export async function observe(opts: ObserveOptions): Promise<ObserveResult> {
  await makeOutDir(opts.out, 'observe');
  // First, so that --merge OUT/graph.json reads a settled output, not one an interrupted run left mid-replacement.
  await recoverOutputs(opts.out, 'observe', OBSERVE_FILES);
  const built = await observeGraph(opts);
  // No usable record (and nothing merged): an empty graph must not replace the previous one.
  if (built.empty) return { ...built, files: [] };
  const { graph } = built;
  // Generators: each file is written piece by piece, never as one string (a graph of millions
  // of edges is longer than a string can be).
  const written: Record<string, FileContent> = {
    'graph.json': graphJsonChunks(graph),
    'nodes.csv': nodesCsvChunks(graph),
    'edges.csv': edgesCsvChunks(graph),
  };
  // Pods no snapshot holds, as the logs showed them: for propose and verify (-i), whose
  // selectors must match workloads whose every pod is gone (a CronJob's cleaned-up runs).
  const added = built.churn.addedPods;
  if (added.length > 0) written['learned-pods.json'] = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: added }, null, 1) + '\n';
  // All of them, or none of them: written beside, then put in place together (cli/output.ts).
  const files = await replaceOutputs({
    out: opts.out,
    unit: 'observe',
    owned: OBSERVE_FILES,
    write: async (staging) => {
      for (const [name, content] of Object.entries(written)) await staging.write(name, content);
      return Object.keys(written).map((n) => join(opts.out, n));
    },
  });
  return { ...built, files };
}

/**
 * The graph a command that replays traffic reads (verify, drift): a saved graph.json, or its
 * telemetry inputs observed here. No usable record is an error: replaying nothing would pass.
 */
export async function graphToReplay(o: { graph?: string; inputs: string[]; inventory: string[]; observe: Omit<ObserveOptions, 'inputs' | 'inventory' | 'out' | 'merge'> }, command: string): Promise<ServiceGraph> {
  if (o.graph !== undefined) {
    await checkNamedFile(o.graph, 'graph', 'Pass a graph.json written by `ztmap observe` (for example output/graph.json).');
    return readGraphFile(o.graph);
  }
  const observed = await observeGraph({ ...o.observe, inputs: o.inputs, inventory: o.inventory, merge: [] });
  if (observed.empty) {
    throw new InputError(`${command}: no usable record in the telemetry inputs (${observed.read.files} files, ${observed.read.lines} lines: ${observed.skips.total} skipped, ${observed.rejects.total} rejected). Check that they are istio-proxy access logs or another source's records, or pass --source, --container, --format or --pod.`);
  }
  return observed.graph;
}
