// Fusion across protocols. Hubble's L3/L4 flows are TCP connections; the access logs (and
// Hubble's own L7 records) of the same connections are HTTP or gRPC requests on the same port.
// An edge key holds the protocol, so they would be two edges, and the TCP one, with no method or
// path, would become a rule allowing every path. So a TCP edge that only connection-level
// sources saw (CONNECTION_SOURCES) is taken into the HTTP/gRPC edge of the same pair and port,
// when there is one: its counts become that edge's counts for its source (the larger per
// reporter, when that source also counted requests there: one source's connections and its
// own requests describe the same traffic), and its days, times, decoders and refusals join.
// Applied once, to observe's final graph, after every merge.

import { compare } from '../flow/compare.js';
import { fusedSides, mergeEdgeAttributes, type EdgeAttributes, type SideStats, type SourceCounts } from './attributes.js';
import { createGraph, type ServiceGraph } from './graph.js';

/** Sources that see connections, not requests. */
const CONNECTION_SOURCES: ReadonlySet<string> = new Set(['hubble']);

const pairOf = (e: EdgeAttributes) => `${e.source}\u0000${e.target}\u0000${e.port}`;

const larger = (a: SideStats, b: SideStats): SideStats => (b.requests > a.requests ? b : a);

function absorbed(into: EdgeAttributes, tcp: EdgeAttributes): EdgeAttributes {
  const sources: Record<string, SourceCounts> = { ...into.sources };
  for (const [name, c] of Object.entries(tcp.sources)) {
    const mine = sources[name];
    sources[name] = mine === undefined ? c : { client: larger(mine.client, c.client), server: larger(mine.server, c.server) };
  }
  const ordered: Record<string, SourceCounts> = {};
  for (const k of Object.keys(sources).sort(compare)) ordered[k] = sources[k]!;
  // Everything else (times, days, decoders, refusals) merges as edges do.
  const merged = mergeEdgeAttributes(into, { ...tcp, protocol: into.protocol, sources: {}, methods: [], paths: [], serverMethods: [], serverPaths: [] });
  const fused = fusedSides(ordered);
  return { ...merged, sources: ordered, client: fused.client, server: fused.server };
}

export function withConnectionsAbsorbed(g: ServiceGraph): ServiceGraph {
  const l7 = new Map<string, string>();
  g.forEachEdge((k, a) => {
    if (a.protocol === 'tcp') return;
    const prev = l7.get(pairOf(a));
    if (prev === undefined || compare(k, prev) < 0) l7.set(pairOf(a), k);
  });
  const edges = new Map<string, EdgeAttributes>();
  g.forEachEdge((k, a) => edges.set(k, a));
  let changed = false;
  for (const k of [...edges.keys()].sort(compare)) {
    const a = edges.get(k)!;
    const names = Object.keys(a.sources);
    if (a.protocol !== 'tcp' || a.folded !== undefined || names.length === 0 || !names.every((n) => CONNECTION_SOURCES.has(n))) continue;
    const into = l7.get(pairOf(a));
    if (into === undefined) continue;
    edges.set(into, absorbed(edges.get(into)!, a));
    edges.delete(k);
    changed = true;
  }
  if (!changed) return g;
  const out = createGraph();
  g.forEachNode((k, n) => out.addNode(k, n));
  for (const k of [...edges.keys()].sort(compare)) {
    const e = edges.get(k)!;
    out.addEdgeWithKey(k, e.source, e.target, e);
  }
  return out;
}

