// Graph edges → replay observations: one per edge and mTLS class that has requests.

import { allowedView } from '../graph/attributes.js';
import { compare } from '../flow/compare.js';
import { forwardingCallers, type ServiceGraph } from '../graph/graph.js';
import { BEHIND_PROXY } from '../flow/identity.js';
import type { Observation, ReplayEndpoint } from './replay.js';

function endpointOf(graph: ServiceGraph, key: string): ReplayEndpoint {
  const n = graph.getNodeAttributes(key);
  return { key, kind: n.kind, ...(n.namespace === undefined ? {} : { namespace: n.namespace }), name: n.name, ips: [...n.ips] };
}

/**
 * Edges in key order; within an edge, mTLS, then plaintext, then unseen by a server proxy.
 * Requests from behind a proxy are left out where the proxy's own edge replays them.
 */
export function observationsOf(graph: ServiceGraph): Observation[] {
  const out: Observation[] = [];
  for (const edge of graph.edges().sort(compare)) {
    const e = graph.getEdgeAttributes(edge);
    // The proxy's own edge (a gateway's outbound line) replays these requests.
    if (e.source === BEHIND_PROXY.key && forwardingCallers(graph, e.target, e.port, e.protocol).length > 0) continue;
    const from = endpointOf(graph, e.source);
    const to = endpointOf(graph, e.target);
    // What the mesh let through; what it refused today is not traffic a policy must keep allowing.
    const allowed = allowedView(e);
    const requests = allowed.requests;
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
        methods: http ? [...allowed.methods] : [],
        paths: http ? allowed.paths.map((text) => ({ text, template: true })) : [],
        pathsIncomplete: allowed.pathsTruncated,
      });
    }
  }
  return out;
}

/** One operation the mesh refused in the window, replayed to check a policy set still refuses it. */
export interface Refusal {
  observation: Observation;
  kind: string;
  policy: string;
}

/**
 * The refused operations of every edge (docs/observe.md, "Traffic the mesh denies today"): each replayed as its own observation.
 * mTLS as the refusing proxy saw it: a server-side refusal came over mTLS unless it was a
 * plaintext client without a filter chain; a client-side one never reached a server.
 */
export function refusalsOf(graph: ServiceGraph): Refusal[] {
  const out: Refusal[] = [];
  for (const edge of graph.edges().sort(compare)) {
    const e = graph.getEdgeAttributes(edge);
    if (e.denied.length === 0) continue;
    const from = endpointOf(graph, e.source);
    const to = endpointOf(graph, e.target);
    const serviceAccounts = e.sourceServiceAccounts.length > 0 ? e.sourceServiceAccounts : graph.getNodeAttributes(e.source).serviceAccounts;
    for (const d of e.denied) {
      out.push({
        kind: d.kind,
        policy: d.policy,
        observation: {
          edge,
          from,
          to,
          port: e.port,
          protocol: e.protocol,
          mtls: d.kind === 'no-filter-chain' ? 'plaintext' : d.reporter === 'server' ? 'mutual' : 'unknown',
          serviceAccounts: [...serviceAccounts],
          requests: d.requests,
          methods: d.method === '' ? [] : [d.method],
          paths: d.path === '' ? [] : [{ text: d.path, template: true }],
          pathsIncomplete: false,
        },
      });
    }
  }
  return out;
}
