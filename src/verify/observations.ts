// Graph edges → replay observations: one per edge and mTLS class that has requests.

import { compare, requestsOf } from '../graph/attributes.js';
import type { ServiceGraph } from '../graph/graph.js';
import type { Observation, ReplayEndpoint } from './replay.js';

export function endpointOf(graph: ServiceGraph, key: string): ReplayEndpoint {
  const n = graph.getNodeAttributes(key);
  return { key, kind: n.kind, ...(n.namespace === undefined ? {} : { namespace: n.namespace }), name: n.name, ips: [...n.ips] };
}

/** Edges in key order; within an edge, mTLS, then plaintext, then unseen by a server proxy. */
export function observationsOf(graph: ServiceGraph): Observation[] {
  const out: Observation[] = [];
  for (const edge of graph.edges().sort(compare)) {
    const e = graph.getEdgeAttributes(edge);
    const from = endpointOf(graph, e.source);
    const to = endpointOf(graph, e.target);
    const requests = requestsOf(e);
    const serviceAccounts = e.sourceServiceAccounts.length > 0 ? e.sourceServiceAccounts : graph.getNodeAttributes(e.source).serviceAccounts;
    const http = e.protocol !== 'tcp';
    const classes = [
      ['mutual', e.server.mutual],
      ['plaintext', e.server.plaintext],
      ['unknown', requests - e.server.mutual - e.server.plaintext],
    ] as const;
    for (const [mtls, n] of classes) {
      if (n <= 0) continue;
      out.push({
        edge,
        from,
        to,
        port: e.port,
        protocol: e.protocol,
        mtls,
        serviceAccounts: [...serviceAccounts],
        requests: n,
        methods: http ? [...e.methods] : [],
        paths: http ? e.paths.map((text) => ({ text, template: true })) : [],
        pathsIncomplete: e.pathsTruncated,
      });
    }
  }
  return out;
}
