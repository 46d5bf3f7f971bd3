import graphology from 'graphology';
import { BEHIND_PROXY } from '../flow/identity.js';
import { type EdgeAttributes, type NodeAttributes } from './attributes.js';
import { compare } from '../flow/compare.js';

// graphology ships CommonJS-style default exports; take the class off the default.
const { MultiDirectedGraph } = graphology as unknown as { MultiDirectedGraph: typeof import('graphology').MultiDirectedGraph };

export type ServiceGraph = import('graphology').MultiDirectedGraph<NodeAttributes, EdgeAttributes>;

export function createGraph(): ServiceGraph {
  return new MultiDirectedGraph<NodeAttributes, EdgeAttributes>();
}

/**
 * Workloads whose own (client-side) lines show them calling `to` on `port`: where requests
 * reached `to` from behind a proxy, these are the hops that may have forwarded them. Sorted.
 */
export function forwardingCallers(graph: ServiceGraph, to: string, port: number, protocol: string): string[] {
  return graph
    .inEdges(to)
    .map((k) => graph.getEdgeAttributes(k))
    .filter((a) => a.port === port && a.protocol === protocol && a.source !== BEHIND_PROXY.key && a.client.requests > 0 && graph.getNodeAttributes(a.source).kind === 'workload')
    .map((a) => a.source)
    .sort(compare);
}
