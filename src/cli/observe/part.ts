// One reader's share of `observe`: some inputs (whole files, or one range of a large file)
// → the graph of those lines and the tallies of what was not used. The process runs it on
// all inputs when it reads alone; each worker runs it on the parts it is given.

import { InternalError } from '../../errors.js';
import type { Mtls, RepeatedRequest, Reporter } from '../../flow/flow.js';
import { compare } from '../../flow/compare.js';
import { GraphBuilder, mergeGraphs, type EdgeTally } from '../../graph/build.js';
import type { ServiceGraph } from '../../graph/graph.js';
import { graphFromRecords, graphToRecords, type GraphRecords } from '../../graph/json.js';
import type { Inventory } from '../../inventory/inventory.js';
import { Resolver, type Reuse } from '../../inventory/resolve.js';
import { DEFAULT_SOURCE, sourceNamed } from '../../sources/registry.js';
import { addReadResult, emptyReadResult, type FileReadOptions, type FlowSinks, type ReadProgress, type ReadResult } from '../../sources/source.js';
import type { InputFile } from '../../sources/transports/files.js';
import { Tally, type TallyData } from '../../tally.js';

export interface PartResult {
  read: ReadResult;
  flows: number;
  /** Of the flows, those counted as repeats of a known route shape, from their lines' bytes. */
  repeated: number;
  rejects: Tally;
  skips: Tally;
  unresolved: Tally;
  graph: ServiceGraph;
}

/**
 * What a route's first flow left for the later lines of its shape: the resolution's window
 * (reused while their time is within it) and notes, and the edges it added to, one per hop.
 * One flat object: a repeat reads it for every line, and each further object it reached
 * would be one more likely cache miss (docs/performance.md).
 */
interface RouteRepeat {
  reuse: Reuse;
  from: number;
  to: number;
  hasNotes: boolean;
  edge: EdgeTally;
  reporter: Reporter;
  mtls: Mtls;
  gatewayEdge: EdgeTally | undefined;
  gatewayReporter: Reporter;
  gatewayMtls: Mtls;
}

/**
 * Observes `files`. Lines of a route already seen are counted from their bytes (route
 * shapes, sources/access-log-decoder.ts); `repeats: false` decodes every line instead, which
 * gives the same PartResult (but `repeated`) and is what tests compare against.
 */
export async function observePart(
  inventory: Inventory,
  files: readonly InputFile[],
  options: FileReadOptions,
  onProgress?: (p: ReadProgress) => void,
  { repeats = true, maxExternalEndpoints }: { repeats?: boolean; maxExternalEndpoints?: number } = {},
): Promise<PartResult> {
  const rejects = new Tally();
  const skips = new Tally();
  const unresolved = new Tally();
  const resolver = new Resolver(inventory, unresolved);
  // One builder per source: each keeps its source's own counts, and merging their graphs fuses
  // them (graph/attributes.ts, fusedSides). Route shapes are per source too.
  const builders = new Map<string, GraphBuilder>();
  let builder!: GraphBuilder;
  let flows = 0;
  let repeated = 0;
  const sinks: FlowSinks<RouteRepeat> = {
    flow(flow, attach) {
      flows++;
      const [main, gateway] = resolver.resolve(flow);
      const mainEdge = builder.add(main!);
      const gatewayEdge = gateway === undefined ? undefined : builder.add(gateway);
      // A folded endpoint (graph/fold.ts) is one of a flood, as likely as not: its resolution is
      // not kept, nor attached to its route shape, or memory would grow with the flood.
      if (builder.isFolded(mainEdge)) resolver.forgetLast();
      const reuse = resolver.lastReuse;
      // A refused request's shape never counts repeats: its refusal is no part of the shape.
      if (attach !== undefined && reuse !== undefined && flow.denial === undefined) {
        attach({
          reuse,
          from: reuse.from,
          to: reuse.to,
          hasNotes: reuse.notes !== undefined,
          edge: mainEdge,
          reporter: main!.reporter,
          mtls: main!.mtls,
          gatewayEdge,
          gatewayReporter: gateway?.reporter ?? 'server',
          gatewayMtls: gateway?.mtls ?? 'unknown',
        });
      }
    },
    // A line of a known route: counted on its edges as `flow` would, while the resolution holds.
    ...(repeats
      ? {
          repeat(r: RouteRepeat, request: RepeatedRequest): boolean {
            const t = request.timestamp;
            if (t < r.from || t > r.to) return false;
            flows++;
            repeated++;
            if (r.hasNotes) resolver.replayNotes(r.reuse, { file: request.file, line: request.line });
            builder.repeat(r.edge, r.reporter, r.mtls, request);
            if (r.gatewayEdge !== undefined) builder.repeat(r.gatewayEdge, r.gatewayReporter, r.gatewayMtls, request);
            return true;
          },
        }
      : {}),
    rejects,
    skips,
    ...(onProgress ? { progress: onProgress } : {}),
  };
  // Each source's files are read together, in input order, sources in the order they first
  // appear: one reader per source, so that what one source joins across files (a trace's client
  // and server spans) is joined whatever other inputs lie between them.
  const read = emptyReadResult();
  const bySource = new Map<string | undefined, InputFile[]>();
  for (const f of files) (bySource.get(f.source) ?? bySource.set(f.source, []).get(f.source)!).push(f);
  for (const [name, group] of bySource) {
    const source = name === undefined ? DEFAULT_SOURCE : sourceNamed(name);
    if (source === undefined) throw new InternalError(`observe: no source named ${JSON.stringify(name)}`);
    builder = builders.get(source.name) ?? new GraphBuilder({ source: source.name, ...(maxExternalEndpoints === undefined ? {} : { maxExternalEndpoints }) });
    builders.set(source.name, builder);
    addReadResult(read, await source.readFiles(group, options, sinks));
  }
  let graph: ServiceGraph | undefined;
  for (const name of [...builders.keys()].sort(compare)) {
    const g = builders.get(name)!.toGraph();
    graph = graph === undefined ? g : mergeGraphs(graph, g, maxExternalEndpoints);
  }
  return { read, flows, repeated, rejects, skips, unresolved, graph: graph ?? new GraphBuilder().toGraph() };
}

/** An PartResult as plain data, to cross a worker boundary (the graph as records, never one JSON string: it may be longer than a string can be). */
export interface PartResultData {
  read: ReadResult;
  flows: number;
  repeated: number;
  rejects: TallyData;
  skips: TallyData;
  unresolved: TallyData;
  graph: GraphRecords;
}

export function partResultToData(o: PartResult): PartResultData {
  return { read: o.read, flows: o.flows, repeated: o.repeated, rejects: o.rejects.toData(), skips: o.skips.toData(), unresolved: o.unresolved.toData(), graph: graphToRecords(o.graph) };
}

export function partResultFromData(d: PartResultData): PartResult {
  return {
    read: d.read,
    flows: d.flows,
    repeated: d.repeated,
    rejects: Tally.fromData(d.rejects),
    skips: Tally.fromData(d.skips),
    unresolved: Tally.fromData(d.unresolved),
    graph: graphFromRecords(d.graph),
  };
}
