// One reader's share of `observe`: some inputs (whole files, or one range of a large file)
// → the graph of those lines and the tallies of what was not used. The process runs it on
// all inputs when it reads alone; each worker runs it on the parts it is given.

import { GraphBuilder } from '../../graph/build.js';
import type { ServiceGraph } from '../../graph/graph.js';
import { graphFromJson, graphToJson } from '../../graph/json.js';
import type { Inventory } from '../../inventory/inventory.js';
import { Resolver } from '../../inventory/resolve.js';
import type { AccessLogDecoderOptions } from '../../sources/access-log-decoder.js';
import { readAccessLogs, type ReadProgress, type ReadResult } from '../../sources/read-access-logs.js';
import type { InputFile } from '../../sources/transports/files.js';
import { Tally, type TallyData } from '../../tally.js';

export interface Observation {
  read: ReadResult;
  flows: number;
  rejects: Tally;
  skips: Tally;
  unresolved: Tally;
  graph: ServiceGraph;
}

export async function observePart(
  inventory: Inventory,
  files: readonly InputFile[],
  options: AccessLogDecoderOptions,
  onProgress?: (p: ReadProgress) => void,
): Promise<Observation> {
  const rejects = new Tally();
  const skips = new Tally();
  const unresolved = new Tally();
  const resolver = new Resolver(inventory, unresolved);
  const builder = new GraphBuilder();
  let flows = 0;
  const read = await readAccessLogs(files, options, {
    flow(flow) {
      flows++;
      for (const rf of resolver.resolve(flow)) builder.add(rf);
    },
    rejects,
    skips,
    ...(onProgress ? { progress: onProgress } : {}),
  });
  return { read, flows, rejects, skips, unresolved, graph: builder.toGraph() };
}

/** An Observation as plain data, to cross a worker boundary (the graph as graph.json text). */
export interface ObservationData {
  read: ReadResult;
  flows: number;
  rejects: TallyData;
  skips: TallyData;
  unresolved: TallyData;
  graph: string;
}

export function observationToData(o: Observation): ObservationData {
  return { read: o.read, flows: o.flows, rejects: o.rejects.toData(), skips: o.skips.toData(), unresolved: o.unresolved.toData(), graph: graphToJson(o.graph) };
}

export function observationFromData(d: ObservationData): Observation {
  return {
    read: d.read,
    flows: d.flows,
    rejects: Tally.fromData(d.rejects),
    skips: Tally.fromData(d.skips),
    unresolved: Tally.fromData(d.unresolved),
    graph: graphFromJson(d.graph, '(worker result)'),
  };
}
