// Fusion across protocols and ports. Hubble's L3/L4 flows are TCP connections; the access logs (and
// Hubble's own L7 records) of the same connections are HTTP or gRPC requests on the same port.
// An edge key holds the protocol, so they would be two edges, and the TCP one, with no method or
// path, would become a rule allowing every path. So a TCP edge that only connection-level
// sources saw (CONNECTION_SOURCES) is taken into the HTTP/gRPC edge of the same pair and port,
// when there is one: its counts become that edge's counts for its source (the larger per
// reporter, when that source also counted requests there: one source's connections and its
// own requests describe the same traffic), and its days, times, decoders and refusals join.
// Likewise a metrics edge on port 0 (no port label, and a Service with several candidate ports)
// is taken into the one edge of the same pair and protocol that has a port, when there is one.
// Applied once, to observe's final graph, after every merge.
//
// Fusion of anonymous ends. Istio metrics name no address: a client without a sidecar (a
// plaintext caller, the kubelet, a scraper) is `unknown` in every label, and so is a passthrough
// destination, so they become one `unknown:-` node. Where another source (access logs, Hubble)
// saw the same traffic it named those ends: an `unknown:-` edge only such sources saw is then
// explained by the other sources' edges and taken out, and observe says so
// (`AnonymousExplained`); where nothing else saw it, it stays, as evidence that someone did.

import { compare } from '../flow/compare.js';
import { fusedSides, mergeEdgeAttributes, requestsOf, type EdgeAttributes, type SideStats, type SourceCounts } from './attributes.js';
import { createGraph, type ServiceGraph } from './graph.js';

/** Sources that name no address, so their unnamed ends are one anonymous node. */
const ADDRESSLESS_SOURCES: ReadonlySet<string> = new Set(['istio-metrics']);
const ANONYMOUS = 'unknown:-';

/** An anonymous edge taken out because other sources named its ends. */
export interface AnonymousExplained {
  edge: string;
  requests: number;
  /** The edges of other sources that describe the same traffic. */
  by: string[];
}

/**
 * Sources whose TCP edges count connections that may be an HTTP edge's: Hubble's L3/L4 flows,
 * and Istio's connection counter (ztunnel reports only that one, at L4).
 */
const CONNECTION_SOURCES: ReadonlySet<string> = new Set(['hubble', 'istio-metrics']);

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
  const merged = mergeEdgeAttributes(into, { ...tcp, port: into.port, protocol: into.protocol, sources: {}, methods: [], paths: [], serverMethods: [], serverPaths: [] });
  const fused = fusedSides(ordered);
  return { ...merged, sources: ordered, client: fused.client, server: fused.server };
}

export function withConnectionsAbsorbed(g: ServiceGraph): ServiceGraph {
  const l7 = new Map<string, string>();
  // Edges with a port by pair and protocol, for the port-0 edges of metrics (no port label, a
  // Service with several ports that could be it): the one such edge another source saw is it.
  const ported = new Map<string, string[]>();
  g.forEachEdge((k, a) => {
    if (a.port !== 0) {
      const pp = `${a.source}\u0000${a.target}\u0000${a.protocol}`;
      ported.set(pp, [...(ported.get(pp) ?? []), k]);
    }
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
    if (a.folded !== undefined || names.length === 0) continue;
    let into: string | undefined;
    if (a.port === 0 && names.every((n) => n === 'istio-metrics')) {
      const candidates = ported.get(`${a.source}\u0000${a.target}\u0000${a.protocol}`) ?? [];
      if (candidates.length === 1) into = candidates[0];
    } else if (a.protocol === 'tcp' && names.every((n) => CONNECTION_SOURCES.has(n))) into = l7.get(pairOf(a));
    if (into === undefined || !edges.has(into)) continue;
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


/**
 * `g` without the anonymous edges other sources explain: into T:P/X, any edge of another source
 * into T:P/X; out of S over X, any edge of another source from S over X to a node that is no
 * workload (the passthrough destination metrics cannot name).
 */
export function withAnonymousExplained(g: ServiceGraph): { graph: ServiceGraph; explained: AnonymousExplained[] } {
  const explained: AnonymousExplained[] = [];
  const others = (a: EdgeAttributes) => Object.keys(a.sources).some((n) => !ADDRESSLESS_SOURCES.has(n));
  // Edges other sources saw, by what an anonymous edge is explained by.
  const into = new Map<string, string[]>();
  const outOf = new Map<string, string[]>();
  const push = (m: Map<string, string[]>, k: string, v: string) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  const anonymous: string[] = [];
  for (const k of g.edges().sort(compare)) {
    const a = g.getEdgeAttributes(k);
    if (others(a)) {
      // Metrics say `unknown` only for a caller without a sidecar: a caller that is no workload,
      // or one seen in plaintext. A meshed workload's mTLS calls are never that traffic.
      if (g.getNodeAttributes(a.source).kind !== 'workload' || a.server.plaintext > 0) push(into, `${a.target}\u0000${a.port}\u0000${a.protocol}`, k);
      if (g.getNodeAttributes(a.target).kind !== 'workload') push(outOf, `${a.source}\u0000${a.protocol}`, k);
    } else if (Object.keys(a.sources).length > 0 && (a.source === ANONYMOUS || a.target === ANONYMOUS)) anonymous.push(k);
  }
  const drop = new Set<string>();
  for (const k of anonymous) {
    const a = g.getEdgeAttributes(k);
    const by =
      a.source === ANONYMOUS
        ? (into.get(`${a.target}\u0000${a.port}\u0000${a.protocol}`) ?? [])
        : (outOf.get(`${a.source}\u0000${a.protocol}`) ?? []).filter((o) => a.port === 0 || g.getEdgeAttributes(o).port === a.port);
    if (by.length === 0) continue;
    drop.add(k);
    explained.push({ edge: k, requests: requestsOf(a), by });
  }
  if (drop.size === 0) return { graph: g, explained };
  const out = createGraph();
  const used = new Set<string>();
  g.forEachEdge((k, a) => {
    if (drop.has(k)) return;
    used.add(a.source);
    used.add(a.target);
  });
  g.forEachNode((k, n) => {
    if (k !== ANONYMOUS || used.has(k)) out.addNode(k, n);
  });
  g.forEachEdge((k, a) => {
    if (!drop.has(k)) out.addEdgeWithKey(k, a.source, a.target, a);
  });
  return { graph: out, explained };
}
