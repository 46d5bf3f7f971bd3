// The graph as JSON that ztmap reads back (`--graph`), sorted so equal graphs are equal bytes.

import { InputError } from '../errors.js';
import { compare, type EdgeAttributes, type NodeAttributes } from './attributes.js';
import { createGraph, type ServiceGraph } from './graph.js';

export const GRAPH_FORMAT = 'ztmap-graph';
/** 2: edges carry `days`. 3: edges carry what the mesh denied and the server proxy's own view. */
export const GRAPH_VERSION = 3;

export interface GraphDocument {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_VERSION;
  nodes: { key: string; attributes: NodeAttributes }[];
  edges: { key: string; attributes: EdgeAttributes }[];
}

export function graphToDocument(g: ServiceGraph): GraphDocument {
  const nodes = g.mapNodes((key, attributes) => ({ key, attributes })).sort((a, b) => compare(a.key, b.key));
  const edges = g.mapEdges((key, attributes) => ({ key, attributes })).sort((a, b) => compare(a.key, b.key));
  return { format: GRAPH_FORMAT, version: GRAPH_VERSION, nodes, edges };
}

export function graphToJson(g: ServiceGraph): string {
  return JSON.stringify(graphToDocument(g), null, 1) + '\n';
}

export function graphFromJson(text: string, file: string): ServiceGraph {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`reading graph: ${file} is not JSON (${(err as Error).message}). Pass a graph.json written by \`ztmap observe\`.`);
  }
  const d = doc as Partial<GraphDocument>;
  if (d?.format !== GRAPH_FORMAT || !Array.isArray(d.nodes) || !Array.isArray(d.edges)) {
    throw new InputError(`reading graph: ${file} is not a ztmap graph (format "${String(d?.format)}"). Pass a graph.json written by \`ztmap observe\`.`);
  }
  if (d.version !== GRAPH_VERSION) {
    throw new InputError(`reading graph: ${file} has version ${String(d.version)}; this ztmap reads version ${GRAPH_VERSION}. Re-run \`ztmap observe\` with this version.`);
  }
  const g = createGraph();
  for (const [i, n] of d.nodes.entries()) {
    if (typeof n?.key !== 'string' || typeof n.attributes !== 'object') throw new InputError(`reading graph: ${file}: nodes[${i}] has no key or attributes.`);
    g.addNode(n.key, n.attributes);
  }
  for (const [i, e] of d.edges.entries()) {
    const a = e?.attributes;
    if (typeof e?.key !== 'string' || typeof a !== 'object' || !g.hasNode(a.source) || !g.hasNode(a.target)) {
      throw new InputError(`reading graph: ${file}: edges[${i}] has no key or names a node that is not in the graph.`);
    }
    g.addEdgeWithKey(e.key, a.source, a.target, a);
  }
  return g;
}
