// The long tail of world/unknown endpoints, folded. A client can name one external host per
// request (a unique SNI, a unique address): kept as nodes, they grow the graph, and the memory
// of observe, without bound. So per bucket — one source workload's calls to one destination
// port, or one workload's inbound port from external clients — at most `cap` endpoints keep
// their own edge: those whose key has the smallest hash. The rest are folded into one edge to
// (or from) the bucket's "other" node, which counts their requests and, in a sketch, how
// many distinct endpoints were folded.
//
// Keeping the smallest hashes (not the first seen, not the busiest) makes the choice a
// function of the set of endpoints alone: the same whatever the input order, the parts or
// the merge order (`mergeGraphs` folds again after merging; property-tested).

import { compare } from '../flow/compare.js';
import { edgeKey } from '../flow/edge-key.js';
import { BEHIND_PROXY, type NodeKind } from '../flow/identity.js';
import { cappedUnion, emptySide, MAX_IPS_PER_NODE, mergeEdgeAttributes, mergeFolded, type EdgeAttributes, type NodeAttributes } from './attributes.js';
import { createGraph, type ServiceGraph } from './graph.js';

/** Endpoints kept per bucket unless `--max-external-endpoints` says otherwise. */
export const DEFAULT_MAX_EXTERNAL_ENDPOINTS = 250;

/** The name of every "other" node; `(` is no part of a host name or address. */
export const OTHER_NAME = '(other)';

export const otherKey = (kind: NodeKind): string => `${kind}:${OTHER_NAME}`;

export function isOtherKey(key: string): boolean {
  return key === 'world:(other)' || key === 'unknown:(other)';
}

function otherNode(kind: NodeKind): NodeAttributes {
  return { kind, name: OTHER_NAME, serviceAccounts: [], labels: {}, ips: [] };
}

/** Whether an endpoint of this kind and key may be folded: world and unknown, but the one behind-proxy node. */
function foldable(kind: NodeKind, key: string): boolean {
  return (kind === 'world' || kind === 'unknown') && key !== BEHIND_PROXY.key;
}

export type FoldSide = 'source' | 'target';

/** Which end of an edge is folded: the external destination, else the external client, else none. */
export function foldSideOf(sourceKind: NodeKind, sourceKey: string, targetKind: NodeKind, targetKey: string): FoldSide | undefined {
  if (foldable(targetKind, targetKey)) return 'target';
  if (foldable(sourceKind, sourceKey)) return 'source';
  return undefined;
}

/** The bucket an edge's folded end competes in: the other end, the side, the port, protocol and kind. */
export function bucketKey(side: FoldSide, anchor: string, port: number, protocol: string, kind: NodeKind): string {
  return `${side}\u0000${anchor}\u0000${port}\u0000${protocol}\u0000${kind}`;
}

/**
 * A 52-bit hash of an endpoint key (two 32-bit FNV-1a variants): an exact integer in JSON,
 * and spread evenly enough for the k-minimum-values count of folded endpoints.
 */
export function endpointHash(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

/** Order of the endpoints of a bucket: by hash, ties by key. The `cap` first are kept. */
export function endpointOrder(ha: number, ka: string, hb: number, kb: string): number {
  return ha !== hb ? ha - hb : compare(ka, kb);
}

/**
 * The graph of `nodes` and `edges` with at most `cap` endpoints per bucket: the rest folded into
 * their bucket's "other" edge (attributes merged, hashes into its sketch), nodes that no kept
 * edge names dropped, and each world/unknown node's addresses taken from its kept edges
 * (`peerIps`), so that they do not depend on which edges were folded where.
 */
export function foldedGraph(nodes: ReadonlyMap<string, NodeAttributes>, edges: ReadonlyMap<string, EdgeAttributes>, cap: number): ServiceGraph {
  const buckets = new Map<string, { kind: NodeKind; members: { h: number; endpoint: string; key: string }[] }>();
  const kept = new Map<string, EdgeAttributes>();
  const kindOf = (key: string) => nodes.get(key)?.kind ?? (isOtherKey(key) ? (key.slice(0, key.indexOf(':')) as NodeKind) : 'unknown');
  for (const [key, e] of edges) {
    const side = foldSideOf(kindOf(e.source), e.source, kindOf(e.target), e.target);
    const endpoint = side === 'target' ? e.target : e.source;
    if (side === undefined || isOtherKey(endpoint)) {
      kept.set(key, e);
      continue;
    }
    const kind = kindOf(endpoint);
    const bk = bucketKey(side, side === 'target' ? e.source : e.target, e.port, e.protocol, kind);
    let b = buckets.get(bk);
    if (b === undefined) buckets.set(bk, (b = { kind, members: [] }));
    b.members.push({ h: endpointHash(endpoint), endpoint, key });
  }
  for (const b of buckets.values()) {
    b.members.sort((x, y) => endpointOrder(x.h, x.endpoint, y.h, y.endpoint));
    for (const m of b.members.slice(0, cap)) kept.set(m.key, edges.get(m.key)!);
    for (const m of b.members.slice(cap)) {
      const e = retargeted(edges.get(m.key)!, m.endpoint, otherKey(b.kind));
      const ok = edgeKey(e.source, e.target, e.port, e.protocol);
      const prev = kept.get(ok);
      const folded = mergeFolded(prev?.folded, undefined, [m.h]);
      const merged = prev === undefined ? mergeEdgeAttributes(emptyEdgeLike(e), e) : mergeEdgeAttributes(prev, e);
      kept.set(ok, { ...merged, folded: folded! });
    }
  }
  // Which nodes the kept edges name, and the addresses their folded ends had on them.
  const named = new Map<string, { anchor: boolean; ips: string[] }>();
  const note = (key: string, anchor: boolean, ips: readonly string[]) => {
    const n = named.get(key) ?? { anchor: false, ips: [] };
    n.anchor ||= anchor;
    if (ips.length > 0) n.ips = cappedUnion(n.ips, ips, MAX_IPS_PER_NODE).values;
    named.set(key, n);
  };
  for (const e of kept.values()) {
    const side = foldSideOf(kindOf(e.source), e.source, kindOf(e.target), e.target);
    note(e.source, side !== 'source', side === 'source' ? (e.peerIps ?? []) : []);
    note(e.target, side !== 'target', side === 'target' ? (e.peerIps ?? []) : []);
  }
  const g = createGraph();
  const keys = new Set([...nodes.keys(), ...named.keys()]);
  for (const key of [...keys].sort(compare)) {
    const n = nodes.get(key);
    const use = named.get(key);
    if (isOtherKey(key)) {
      if (use !== undefined) g.addNode(key, otherNode(kindOf(key)));
      continue;
    }
    if (n === undefined) continue; // an edge names a node the input lacks: the readers refuse such input
    if (!foldable(n.kind, key)) {
      g.addNode(key, n);
      continue;
    }
    if (use === undefined) continue;
    // An anchor's addresses are its own (an address-keyed node has just that one); a folded end's come from its edges.
    g.addNode(key, { ...n, ips: cappedUnion(use.anchor ? n.ips : [], use.ips, MAX_IPS_PER_NODE).values });
  }
  for (const key of [...kept.keys()].sort(compare)) {
    const e = kept.get(key)!;
    g.addEdgeWithKey(key, e.source, e.target, e);
  }
  return g;
}

/** `e` with its folded end `from` replaced by the "other" node `to`; its addresses stay behind. */
export function retargeted(e: EdgeAttributes, from: string, to: string): EdgeAttributes {
  const { peerIps: _ips, folded: _folded, ...rest } = e;
  return { ...rest, source: e.source === from ? to : e.source, target: e.target === from ? to : e.target };
}

/** An edge with `e`'s endpoints and nothing counted: merging into it applies the caps and sorts every set. */
export function emptyEdgeLike(e: EdgeAttributes): EdgeAttributes {
  const { peerIps: _ips, folded: _folded, ...rest } = e;
  return {
    ...rest,
    client: emptySide(),
    server: emptySide(),
    sources: {},
    firstSeen: null,
    lastSeen: null,
    days: [],
    methods: [],
    paths: [],
    pathsTruncated: false,
    services: [],
    sourceServiceAccounts: [],
    decoders: [],
    serverMethods: [],
    serverPaths: [],
    serverPathsTruncated: false,
    denied: [],
    deniedTruncated: false,
  };
}

/** What was folded in a graph: "other" edges, the endpoints folded into them (sketch estimates added up) and their requests. */
export function foldedTotals(g: ServiceGraph): { edges: number; endpoints: number; exact: boolean; requests: number } {
  const t = { edges: 0, endpoints: 0, exact: true, requests: 0 };
  g.forEachEdge((_k, a) => {
    if (a.folded === undefined) return;
    t.edges++;
    t.endpoints += a.folded.endpoints;
    t.exact &&= a.folded.exact;
    t.requests += Math.max(a.client.requests, a.server.requests);
  });
  return t;
}
