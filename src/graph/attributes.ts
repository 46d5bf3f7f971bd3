// Typed graph attributes and their merge laws. Every merge is associative and commutative
// (counts add, times take min/max, sets union, capped sets keep their smallest members), so
// graphs built from any partition of the input merge into the graph of the whole input.

import { compare } from '../flow/compare.js';
import type { L4Protocol, RefusedOperation } from '../flow/flow.js';
import type { NodeKind } from '../flow/identity.js';

/** Distinct path templates kept per edge; beyond it the edge is marked `pathsTruncated`. */
export const MAX_PATHS_PER_EDGE = 200;
export const MAX_METHODS_PER_EDGE = 32;
export const MAX_IPS_PER_NODE = 32;
/**
 * Distinct UTC days kept per edge. Days come from untrusted timestamps, so they are capped
 * like every other set; an edge beyond it has been seen on at least this many days, which
 * is more than any `--min-days` threshold.
 */
export const MAX_DAYS_PER_EDGE = 1000;
/** Distinct denied operations kept per edge (the smallest keys); beyond it `deniedTruncated` is set. */
export const MAX_DENIED_PER_EDGE = 200;

export interface NodeAttributes {
  kind: NodeKind;
  name: string;
  namespace?: string;
  workloadKind?: string;
  serviceAccounts: string[];
  labels: Record<string, string>;
  /** Addresses seen for world/node/unknown nodes (capped, smallest kept). */
  ips: string[];
}

/** What one reporter (client or server proxy) saw of an edge. */
export interface SideStats {
  requests: number;
  /** Server side only: requests over Istio mTLS, and in plaintext. */
  mutual: number;
  plaintext: number;
  /** Response classes: `2xx`…`5xx`, `0` for TCP or no response. */
  responses: Record<string, number>;
}

/** A refused operation on an edge, keyed by everything but the counts and times (`deniedKey`). */
export type DeniedOperation = RefusedOperation;

/** What one source counted on an edge, each reporter apart. */
export interface SourceCounts {
  client: SideStats;
  server: SideStats;
}

export interface EdgeAttributes {
  source: string;
  target: string;
  port: number;
  protocol: L4Protocol;
  /**
   * The edge's counts: those of the source that counted the most requests on it (`fusedSides`),
   * never a sum of sources that describe the same traffic.
   */
  client: SideStats;
  server: SideStats;
  /** Each source's own counts (`access-log`, `istio-metrics`, `hubble`): the provenance, and what merges. */
  sources: Record<string, SourceCounts>;
  /** Epoch ms, or null when no observation carried a timestamp. */
  firstSeen: number | null;
  lastSeen: number | null;
  /** UTC days (`YYYY-MM-DD`) on which the edge was seen, sorted, capped at MAX_DAYS_PER_EDGE. */
  days: string[];
  methods: string[];
  paths: string[];
  pathsTruncated: boolean;
  /** Kubernetes Services the client addressed. */
  services: string[];
  sourceServiceAccounts: string[];
  /** Decoders whose records contributed (envoy-text, envoy-json). */
  decoders: string[];
  /**
   * What the server's proxy itself saw allowed: when it refused some requests of the edge, the
   * client's lines of those requests look allowed (a gRPC denial is HTTP 200 there, an HTTP one
   * an upstream 403), so the server's view decides (`allowedView`).
   */
  serverMethods: string[];
  serverPaths: string[];
  serverPathsTruncated: boolean;
  /** Requests the mesh refused, by operation; sorted by key. */
  denied: DeniedOperation[];
  deniedTruncated: boolean;
  /**
   * On an edge whose one end is a world/unknown endpoint that can be folded (fold.ts): the
   * addresses that endpoint had on this edge (capped, smallest kept). Kept on the edge so that,
   * when the edge is folded, its addresses leave the node with it, whatever the merge order.
   */
  peerIps?: string[];
  /** On an edge to or from an "other" node (fold.ts): the endpoints folded into it. */
  folded?: FoldedEndpoints;
}

/**
 * The world/unknown endpoints folded into one "other" edge. `hashes` is a mergeable sketch:
 * the FOLD_SKETCH smallest endpoint hashes (k-minimum values); below that size it holds every
 * folded endpoint and `endpoints` is exact, above it `endpoints` is the k-minimum-values estimate.
 */
export interface FoldedEndpoints {
  endpoints: number;
  exact: boolean;
  hashes: number[];
}

/** Hashes kept in a FoldedEndpoints sketch: the count is exact up to here, an estimate (about ±6%) beyond. */
export const FOLD_SKETCH = 256;
/** Endpoint hashes are below 2^52, so they stay exact integers in JSON. */
export const HASH_SPACE = 2 ** 52;

/** The sketch of two disjoint-or-not folded sets: the union's smallest hashes, with its count. */
export function mergeFolded(a: FoldedEndpoints | undefined, b: FoldedEndpoints | undefined, more: readonly number[] = []): FoldedEndpoints | undefined {
  if (a === undefined && b === undefined && more.length === 0) return undefined;
  const all = [...new Set([...(a?.hashes ?? []), ...(b?.hashes ?? []), ...more])].sort((x, y) => x - y);
  return foldedOf(all);
}

/** A sketch from distinct hashes in ascending order. */
export function foldedOf(sortedHashes: readonly number[]): FoldedEndpoints {
  if (sortedHashes.length < FOLD_SKETCH) return { endpoints: sortedHashes.length, exact: true, hashes: [...sortedHashes] };
  const hashes = sortedHashes.slice(0, FOLD_SKETCH);
  // k-minimum values: k-1 over the k-th smallest hash as a share of the hash space.
  const kth = (hashes[FOLD_SKETCH - 1]! + 1) / HASH_SPACE;
  return { endpoints: Math.max(FOLD_SKETCH, Math.round((FOLD_SKETCH - 1) / kth)), exact: false, hashes };
}

export { edgeKey } from '../flow/edge-key.js';

export const emptySide = (): SideStats => ({ requests: 0, mutual: 0, plaintext: 0, responses: {} });

/**
 * Requests on the edge. Both proxies of a meshed call log it, so each reporter's count is
 * a full count on its own; the larger one counts requests seen by only one side too.
 */
export function requestsOf(e: Pick<EdgeAttributes, 'client' | 'server'>): number {
  return Math.max(e.client.requests, e.server.requests);
}

/**
 * Fusion of sources. Each source that saw an edge counted the same requests from its own
 * vantage point (both proxies' access logs, both reporters' metrics, Hubble at both ends), so
 * the edge's counts are those of the source that counted the most requests, ties going to the
 * first by name, never a sum. Within one source, each reporter's count is a full count on its
 * own (`requestsOf`). Each source's counts are kept and added when graphs merge, and the choice
 * is made again after every merge: so merging stays associative and commutative, and a second
 * source that describes the same requests changes no count, only the provenance.
 */
export function fusedSides(sources: Readonly<Record<string, SourceCounts>>): SourceCounts {
  let best: SourceCounts | undefined;
  let mutual = 0;
  let plaintext = 0;
  for (const name of Object.keys(sources).sort(compare)) {
    const c = sources[name]!;
    if (best === undefined || requestsOf(c) > requestsOf(best)) best = c;
    mutual = Math.max(mutual, c.server.mutual);
    plaintext = Math.max(plaintext, c.server.plaintext);
  }
  if (best === undefined) return { client: emptySide(), server: emptySide() };
  // mTLS evidence is fused apart: a source that cannot see mTLS (Hubble) must not wipe out what
  // one that can (the server's access log, metrics' destination reporter) saw. Each the most
  // any source saw; the two may then add up to more than the winner's server count.
  const s = best.server;
  if (s.mutual === mutual && s.plaintext === plaintext) return { client: best.client, server: s };
  return { client: best.client, server: { ...s, mutual, plaintext } };
}

/** Requests each source counted on the edge (per source, the larger reporter's count), by source name. */
export function requestsBySource(e: Pick<EdgeAttributes, 'sources'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(e.sources).sort(compare)) out[name] = requestsOf(e.sources[name]!);
  return out;
}

/** Response classes from the reporter that saw more of the edge. */
export function responsesOf(e: Pick<EdgeAttributes, 'client' | 'server'>): Record<string, number> {
  return e.client.requests > e.server.requests ? e.client.responses : e.server.responses;
}

/** Share of server-observed requests that were Istio mTLS, or null when no server proxy saw the edge. */
export function mtlsShareOf(e: Pick<EdgeAttributes, 'server'>): number | null {
  const seen = e.server.mutual + e.server.plaintext;
  return seen === 0 ? null : e.server.mutual / seen;
}

/** Response classes by hundreds digit; `0` for TCP and missing codes. */
export const RESPONSE_CLASSES = ['0', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The index in RESPONSE_CLASSES of a response code's class. */
export function responseClassIndex(code: number): number {
  return code >= 100 && code <= 599 ? Math.floor(code / 100) : 0;
}

function mergeCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys({ ...a, ...b }).sort(compare)) out[k] = (a[k] ?? 0) + (b[k] ?? 0);
  return out;
}

function mergeSides(a: SideStats, b: SideStats): SideStats {
  return {
    requests: a.requests + b.requests,
    mutual: a.mutual + b.mutual,
    plaintext: a.plaintext + b.plaintext,
    responses: mergeCounts(a.responses, b.responses),
  };
}

function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort(compare);
}

/** Union capped at `max` members: keeps the smallest, which is the same whatever the merge order. */
export function cappedUnion(a: readonly string[], b: readonly string[], max: number): { values: string[]; truncated: boolean } {
  const all = sortedUnion(a, b);
  return all.length > max ? { values: all.slice(0, max), truncated: true } : { values: all, truncated: false };
}

export const DAY_MS = 86_400_000;

/** The UTC day of an epoch-ms time, as `YYYY-MM-DD` (a wider year for dates beyond 9999). */
export function utcDay(t: number): string {
  return new Date(Math.floor(t / DAY_MS) * DAY_MS).toISOString().slice(0, -14);
}

const minNull = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxNull = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** The key of a denied operation: every field but the counts and times, in sort order. */
export function deniedKey(d: Omit<DeniedOperation, 'requests' | 'firstSeen' | 'lastSeen'>): string {
  return `${d.reporter}\u0000${d.kind}\u0000${d.policy}\u0000${d.method}\u0000${d.path}`;
}

/**
 * Union of denied operations, counts added per key, capped at MAX_DENIED_PER_EDGE smallest
 * keys. Exact while under the cap; past it, which operations are kept does not depend on the
 * merge order, and `deniedTruncated` says that counts of the rest were not kept.
 */
export function mergeDenied(a: readonly DeniedOperation[], b: readonly DeniedOperation[]): { values: DeniedOperation[]; truncated: boolean } {
  const byKey = new Map<string, DeniedOperation>();
  for (const d of [...a, ...b]) {
    const k = deniedKey(d);
    const prev = byKey.get(k);
    byKey.set(
      k,
      prev === undefined
        ? { ...d }
        : { ...prev, requests: prev.requests + d.requests, firstSeen: minNull(prev.firstSeen, d.firstSeen), lastSeen: maxNull(prev.lastSeen, d.lastSeen) },
    );
  }
  const keys = [...byKey.keys()].sort(compare);
  return { values: keys.slice(0, MAX_DENIED_PER_EDGE).map((k) => byKey.get(k)!), truncated: keys.length > MAX_DENIED_PER_EDGE };
}

/** What an edge shows as allowed traffic: what policies must keep allowing. */
export interface AllowedView {
  requests: number;
  methods: string[];
  paths: string[];
  pathsTruncated: boolean;
  /** True when the server's own view was used because it refused some of the edge's requests. */
  serverView: boolean;
}

/**
 * The allowed traffic of an edge. When the server's proxy refused some of its requests, the
 * client's lines of those requests read as allowed (gRPC: 200; HTTP: the upstream's 403), so
 * the server's own account of what it let through decides: its requests, methods and paths.
 * Otherwise the larger of the two accounts, as everywhere else.
 */
/** Refusals a server's own access log states, whose client line reads as allowed: metrics' `refused` and Hubble's `policy-drop` name no operation and no client view. */
const SERVER_LOG_REFUSALS: ReadonlySet<string> = new Set(['rbac', 'ext-authz', 'no-filter-chain', 'no-route']);

export function allowedView(e: EdgeAttributes): AllowedView {
  if (e.denied.some((d) => d.reporter === 'server' && SERVER_LOG_REFUSALS.has(d.kind))) {
    return { requests: e.server.requests, methods: e.serverMethods, paths: e.serverPaths, pathsTruncated: e.serverPathsTruncated, serverView: true };
  }
  return { requests: requestsOf(e), methods: e.methods, paths: e.paths, pathsTruncated: e.pathsTruncated, serverView: false };
}

/** Requests refused on the edge, all operations and reporters together (per reporter, the larger). */
export function deniedRequestsOf(e: Pick<EdgeAttributes, 'denied'>): number {
  let client = 0;
  let server = 0;
  for (const d of e.denied) {
    if (d.reporter === 'client') client += d.requests;
    else server += d.requests;
  }
  return Math.max(client, server);
}

function mergeSources(a: Readonly<Record<string, SourceCounts>>, b: Readonly<Record<string, SourceCounts>>): Record<string, SourceCounts> {
  const out: Record<string, SourceCounts> = {};
  for (const k of Object.keys({ ...a, ...b }).sort(compare)) {
    const x = a[k];
    const y = b[k];
    out[k] = x === undefined ? y! : y === undefined ? x : { client: mergeSides(x.client, y.client), server: mergeSides(x.server, y.server) };
  }
  return out;
}

export function mergeEdgeAttributes(a: EdgeAttributes, b: EdgeAttributes): EdgeAttributes {
  const sources = mergeSources(a.sources, b.sources);
  const fused = fusedSides(sources);
  const paths = cappedUnion(a.paths, b.paths, MAX_PATHS_PER_EDGE);
  const serverPaths = cappedUnion(a.serverPaths, b.serverPaths, MAX_PATHS_PER_EDGE);
  const denied = mergeDenied(a.denied, b.denied);
  return {
    source: a.source,
    target: a.target,
    port: a.port,
    protocol: a.protocol,
    client: fused.client,
    server: fused.server,
    sources,
    firstSeen: minNull(a.firstSeen, b.firstSeen),
    lastSeen: maxNull(a.lastSeen, b.lastSeen),
    days: cappedUnion(a.days, b.days, MAX_DAYS_PER_EDGE).values,
    methods: cappedUnion(a.methods, b.methods, MAX_METHODS_PER_EDGE).values,
    paths: paths.values,
    pathsTruncated: a.pathsTruncated || b.pathsTruncated || paths.truncated,
    services: sortedUnion(a.services, b.services),
    sourceServiceAccounts: sortedUnion(a.sourceServiceAccounts, b.sourceServiceAccounts),
    decoders: sortedUnion(a.decoders, b.decoders),
    serverMethods: cappedUnion(a.serverMethods, b.serverMethods, MAX_METHODS_PER_EDGE).values,
    serverPaths: serverPaths.values,
    serverPathsTruncated: a.serverPathsTruncated || b.serverPathsTruncated || serverPaths.truncated,
    denied: denied.values,
    deniedTruncated: a.deniedTruncated || b.deniedTruncated || denied.truncated,
    ...optionalFoldFields(a, b),
  };
}

function optionalFoldFields(a: EdgeAttributes, b: EdgeAttributes): Pick<EdgeAttributes, 'peerIps' | 'folded'> {
  const out: Pick<EdgeAttributes, 'peerIps' | 'folded'> = {};
  if (a.peerIps !== undefined || b.peerIps !== undefined) out.peerIps = cappedUnion(a.peerIps ?? [], b.peerIps ?? [], MAX_IPS_PER_NODE).values;
  const folded = mergeFolded(a.folded, b.folded);
  if (folded !== undefined) out.folded = folded;
  return out;
}

export function mergeNodeAttributes(a: NodeAttributes, b: NodeAttributes): NodeAttributes {
  // Labels: those both sides agree on (intersection is associative and commutative).
  const labels: Record<string, string> = {};
  for (const k of Object.keys(a.labels).sort(compare)) if (b.labels[k] === a.labels[k]) labels[k] = a.labels[k]!;
  return {
    ...a,
    serviceAccounts: sortedUnion(a.serviceAccounts, b.serviceAccounts),
    labels,
    ips: cappedUnion(a.ips, b.ips, MAX_IPS_PER_NODE).values,
  };
}
