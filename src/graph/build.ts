// Resolved flows → graph. The hot path updates plain accumulators in place; graphology is
// built once at the end, in sorted order, so the result does not depend on input order.

import { heapPush, heapReplaceTop } from '../flow/heap.js';
import { ByteKey, ByteKeyTable } from '../flow/byte-keys.js';
import { detached, pathTemplate, writePathTemplate } from '../flow/path-template.js';
import type { Flow, L4Protocol, Mtls, RepeatedRequest, Reporter } from '../flow/flow.js';
import type { Identity, ResolvedFlow } from '../flow/identity.js';
import { compare } from '../flow/compare.js';
import {
  DAY_MS,
  edgeKey,
  FOLD_SKETCH,
  foldedOf,
  MAX_DAYS_PER_EDGE,
  MAX_DENIED_PER_EDGE,
  MAX_IPS_PER_NODE,
  MAX_METHODS_PER_EDGE,
  MAX_PATHS_PER_EDGE,
  deniedKey,
  mergeDenied,
  mergeEdgeAttributes,
  mergeNodeAttributes,
  RESPONSE_CLASSES,
  responseClassIndex,
  utcDay,
  type DeniedOperation,
  type EdgeAttributes,
  type NodeAttributes,
} from './attributes.js';
import { bucketKey, DEFAULT_MAX_EXTERNAL_ENDPOINTS, emptyEdgeLike, endpointHash, endpointOrder, foldedGraph, foldSideOf, isOtherKey, otherKey, OTHER_NAME, retargeted, type FoldSide } from './fold.js';
import type { ServiceGraph } from './graph.js';

const METHOD = /^[A-Za-z]{1,20}$/;
/** The usual methods, each a bit of EdgeAccumulator.commonMethods. */
const COMMON_METHODS = new Map(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE'].map((m, i) => [m, 1 << i]));

/**
 * One edge's running totals. Counters are plain fields of this one object, not nested
 * attribute objects, arrays and sets: on a mesh of thousands of edges each line touches a
 * cold edge, and every further object it reaches is another cache miss (hot path). The
 * EdgeAttributes are assembled once, in toGraph.
 */
interface EdgeAccumulator {
  /** Order of creation: the edge's part of template keys, never reused. */
  index: number;
  /** The edge's row in `_counts`; a folded edge's row is reused. */
  row: number;
  /** Which end is a world/unknown endpoint that may be folded (fold.ts), and its addresses here. */
  foldSide: FoldSide | undefined;
  peerIps: Set<string> | undefined;
  /** Set once the edge is folded: later repeats of its routes count on its bucket's "other" edge. */
  redirect: EdgeAccumulator | undefined;
  /** On an "other" edge: its bucket. */
  bucket: Bucket | undefined;
  source: string;
  target: string;
  port: number;
  protocol: L4Protocol;
  // The identities and Service last added: memoized resolutions hand back the same objects,
  // so the node and set updates below are skipped for the common repeat.
  lastSource: Identity | undefined;
  lastDestination: Identity | undefined;
  lastService: string | undefined;
  /** The decoder name last added; decoders pass the same string object every time. */
  lastDecoder: string | undefined;
  /** UTC day numbers (epoch days) seen, and the last one added: most flows repeat it. */
  days: Set<number>;
  lastDay: number;
  /** COMMON_METHODS seen, as bits; other methods are in `methods`. */
  commonMethods: number;
  /** Distinct methods seen, common or not: the cap counts both. */
  methodCount: number;
  methods: Set<string>;
  paths: Set<string>;
  pathsTruncated: boolean;
  /** The same, of the server proxy's lines only (EdgeAttributes.serverMethods). */
  serverMethods: MethodSet;
  serverPaths: PathSet;
  /** Refused requests by operation (deniedKey); rare, so a plain map. */
  denied: Map<string, DeniedOperation>;
  deniedTruncated: boolean;
  services: Set<string>;
  sourceServiceAccounts: Set<string>;
  decoders: Set<string>;
}

/** Methods seen: COMMON_METHODS as bits, the others in a set; the cap counts both. */
interface MethodSet {
  commonMethods: number;
  methodCount: number;
  methods: Set<string>;
}

interface PathSet {
  paths: Set<string>;
  pathsTruncated: boolean;
}

declare const edgeTally: unique symbol;
/** An edge's running totals as `add` hands them out, for `repeat`: opaque outside the builder. */
export interface EdgeTally {
  readonly [edgeTally]: true;
}

/** The endpoints of one fold bucket (fold.ts) that keep their own edge, and what was folded. */
interface Bucket {
  side: FoldSide;
  anchor: string;
  port: number;
  protocol: L4Protocol;
  kind: Identity['kind'];
  /** Kept endpoints, a max-heap by (hash, key): the root is the next to fold. */
  kept: KeptEndpoint[];
  /** Hashes of folded endpoints: at least the FOLD_SKETCH smallest (pruned past twice that). */
  sketch: Set<number>;
  /** Hashes above this are not among the smallest any more (set once pruned). */
  sketchAbove: number;
  other: EdgeAccumulator | undefined;
  /** The folded edges' attributes, merged. */
  evicted: EdgeAttributes | undefined;
}

interface KeptEndpoint {
  h: number;
  endpoint: string;
  edge: string;
}

const otherIdentities = new Map<string, Identity>();
const otherIdentity = (kind: Identity['kind']): Identity => {
  let id = otherIdentities.get(kind);
  if (id === undefined) otherIdentities.set(kind, (id = Object.freeze({ kind, key: otherKey(kind), name: OTHER_NAME })));
  return id;
};

/** What a folded edge's sets become: never added to again (its routes count on the "other" edge). */
const NONE = new Set<never>() as Set<never>;

interface NodeAccumulator {
  attrs: NodeAttributes;
  /** Edges that name it, for world/unknown nodes: one that no edge names any more is dropped. */
  edges: number;
  /** The labels object last intersected in; identities from one inventory share it. */
  labelsSeen: Readonly<Record<string, string>> | undefined;
  serviceAccounts: Set<string>;
  ips: Set<string>;
}

// What every request adds to, per edge: one row of GraphBuilder._counts, at the edge's index.
// In one typed array rather than fields and arrays of each accumulator, so that counting a
// request reaches one cache line or two instead of an object per counter group (a heap
// number each for the two times, an array per response-class list).
const FIRST_SEEN = 0; // +Infinity until a time is seen
const LAST_SEEN = 1; // -Infinity until a time is seen
const CLIENT = 2;
const SERVER = 11;
// Within a side:
const REQUESTS = 0;
const MUTUAL = 1;
const PLAINTEXT = 2;
const CLASSES = 3; // RESPONSE_CLASSES.length counts, indexed like it
const ROW = 20;

/** Which proxies reported a template, in `_templatesSeen`'s values. */
const SEEN_BY_CLIENT = 1;
const SEEN_BY_SERVER = 2;

/** (edge, path template) pairs added to their edge's path set while it was whole, kept for `repeat`. */
const TEMPLATES_KEPT = 200_000;

export interface GraphBuilderOptions {
  /** World/unknown endpoints kept per fold bucket (fold.ts); the rest are folded. */
  maxExternalEndpoints?: number;
  /** The source every flow added comes from (its counts are kept under this name: attributes.ts, fusion); `access-log` by default. */
  source?: string;
}

export class GraphBuilder {
  private readonly _edges = new Map<string, EdgeAccumulator>();
  private readonly _nodes = new Map<string, NodeAccumulator>();
  private readonly _buckets = new Map<string, Bucket>();
  private readonly _cap: number;
  private _nextIndex = 0;
  private _nextRow = 0;
  private readonly _freeRows: number[] = [];
  // `repeat` templates a path into bytes and finds it here: a template the edge's set holds
  // costs no string and no look into the (cold) set.
  private readonly _templatesSeen = new ByteKeyTable<number>(TEMPLATES_KEPT);
  private _counts = new Float64Array(ROW * 256);
  private readonly _template = new ByteKey();
  flows = 0;

  private readonly _source: string;

  constructor(opts: GraphBuilderOptions = {}) {
    this._cap = opts.maxExternalEndpoints ?? DEFAULT_MAX_EXTERNAL_ENDPOINTS;
    this._source = opts.source ?? 'access-log';
  }

  /** Adds a resolved flow; returns its edge, for `repeat`. */
  add(rf: ResolvedFlow): EdgeTally {
    this.flows++;
    const { flow } = rf;
    // The resolver's edge key is the same string object for every flow of a route, so the
    // lookup compares pointers; it is built from identity keys, never cut from a read buffer.
    const key = rf.edgeKey ?? edgeKey(rf.source.key, rf.destination.key, rf.port, flow.protocol);
    let acc = this._edges.get(key);
    let source = rf.source;
    let destination = rf.destination;
    if (acc === undefined) {
      const side = foldSideOf(source.kind, source.key, destination.kind, destination.key);
      const other = side === undefined ? undefined : this._placeEndpoint(rf, side);
      if (other !== undefined) {
        // Folded: counted on the bucket's "other" edge, and the endpoint is no node.
        acc = other;
        if (side === 'target') destination = otherIdentity(destination.kind);
        else source = otherIdentity(source.kind);
      } else {
        acc = this._newEdge(source.key, destination.key, rf.port, flow.protocol, side);
        this._edges.set(rf.edgeKey ?? detached(key), acc);
      }
    }
    if (source !== acc.lastSource) {
      this._node(source, acc.foldSide !== 'source');
      if (acc.foldSide === 'source' && source.ip !== undefined) addPeerIp(acc, source.ip);
      const sa = source.serviceAccount;
      if (sa !== undefined && !acc.sourceServiceAccounts.has(sa)) acc.sourceServiceAccounts.add(sa);
      acc.lastSource = source;
    }
    if (destination !== acc.lastDestination) {
      this._node(destination, acc.foldSide !== 'target');
      if (acc.foldSide === 'target' && destination.ip !== undefined) addPeerIp(acc, destination.ip);
      acc.lastDestination = destination;
    }
    if (flow.denial !== undefined) addDenied(acc, rf.reporter, flow);
    else {
      // A count over an interval (metrics over a window) says nothing of the days inside it:
      // its edge is seen within the interval, on no known day.
      if (flow.until === undefined) countRequest(acc, this._counts, rf.reporter, rf.mtls, flow.count, flow.responseCode, flow.timestamp);
      else {
        countRequest(acc, this._counts, rf.reporter, rf.mtls, flow.count, flow.responseCode, undefined);
        countInterval(acc, this._counts, flow.timestamp ?? flow.until, flow.until);
      }
      if (flow.l7 !== undefined) {
        const template = pathTemplate(flow.l7.path);
        addMethod(acc, flow.l7.method);
        addPath(acc, template);
        if (rf.reporter === 'server') {
          addMethod(acc.serverMethods, flow.l7.method);
          addPath(acc.serverPaths, template);
        }
      }
    }
    const svc = flow.destination.service;
    if (svc !== undefined && svc !== acc.lastService) {
      // A copy: `svc` is a slice of the read buffer, which it would keep alive.
      const copy = detached(svc);
      acc.services.add(copy);
      acc.lastService = copy;
    }
    const decoder = flow.evidence.decoder;
    if (decoder !== acc.lastDecoder) {
      if (!acc.decoders.has(decoder)) acc.decoders.add(detached(decoder));
      acc.lastDecoder = decoder;
    }
    return acc as unknown as EdgeTally;
  }

  /**
   * One more flow on `edge` that differs from one `add` gave it only in these fields: the
   * same endpoints, Service and decoder, whose sets and nodes hold them already.
   * `request.method` undefined means no L7 detail (TCP).
   */
  repeat(edge: EdgeTally, reporter: Reporter, mtls: Mtls, request: RepeatedRequest): void {
    this.flows++;
    let acc = edge as unknown as EdgeAccumulator; // what `add` handed out
    if (acc.redirect !== undefined) acc = acc.redirect; // folded since
    countRequest(acc, this._counts, reporter, mtls, 1, request.responseCode, request.timestamp);
    if (request.method === undefined) return;
    const server = reporter === 'server';
    const method = request.method;
    // A common method the edge (and, for the server's line, the server's set) has already costs
    // a bit test; anything else goes to addMethod.
    const bit = COMMON_METHODS.get(method);
    if (bit === undefined || (acc.commonMethods & bit) === 0) addMethod(acc, method);
    if (server && (bit === undefined || (acc.serverMethods.commonMethods & bit) === 0)) addMethod(acc.serverMethods, method);
    // The key is the edge's index, then the template; its value, which proxies reported the
    // template (a bit each): a template the reporter's sets hold already costs no string.
    const template = this._template;
    template.reset();
    template.uint32(acc.index);
    if (request.pathStart < 0) template.byte(47 /* / */);
    else writePathTemplate(request.raw, request.pathStart, request.pathEnd, template);
    // Once an edge's paths are pruned, a template it had may be gone: the sets decide again.
    if (!acc.pathsTruncated && !(server && acc.serverPaths.pathsTruncated)) {
      const seen = this._templatesSeen;
      const entry = seen.find(template);
      const reported = seen.value(entry) ?? 0;
      const side = server ? SEEN_BY_SERVER : SEEN_BY_CLIENT;
      if ((reported & side) !== 0) return;
      seen.set(entry, reported | side);
    }
    const text = template.text(4);
    addPath(acc, text);
    if (server) addPath(acc.serverPaths, text);
  }

  private _newRow(): number {
    const row = this._freeRows.pop() ?? this._nextRow++;
    if ((row + 1) * ROW > this._counts.length) {
      const next = new Float64Array(this._counts.length * 2);
      next.set(this._counts);
      this._counts = next;
    }
    this._counts[row * ROW + FIRST_SEEN] = Infinity;
    this._counts[row * ROW + LAST_SEEN] = -Infinity;
    return row;
  }

  private _newEdge(source: string, target: string, port: number, protocol: L4Protocol, side: FoldSide | undefined): EdgeAccumulator {
    const acc = newEdge(source, target, port, protocol, this._nextIndex++, this._newRow(), side);
    if (side !== undefined || isOtherKey(source) || isOtherKey(target)) {
      this._ref(acc.source, 1);
      this._ref(acc.target, 1);
    }
    return acc;
  }

  /** Counts edges naming a world/unknown node (both ends of every foldable edge); drops the node at zero. */
  private _ref(key: string, by: 1 | -1): void {
    const n = this._nodes.get(key);
    if (n === undefined) {
      // Not made yet: `add` makes it next, and it starts counted.
      if (by === 1) this._pendingRefs.set(key, (this._pendingRefs.get(key) ?? 0) + 1);
      return;
    }
    n.edges += by;
    if (n.edges === 0 && n.attrs.kind !== 'workload' && n.attrs.kind !== 'node') this._nodes.delete(key);
  }

  private readonly _pendingRefs = new Map<string, number>();

  private _bucketOf(side: FoldSide, rf: ResolvedFlow, endpoint: Identity): Bucket {
    const anchor = side === 'target' ? rf.source.key : rf.destination.key;
    const bk = bucketKey(side, anchor, rf.port, rf.flow.protocol, endpoint.kind);
    let b = this._buckets.get(bk);
    if (b === undefined) {
      b = { side, anchor: detached(anchor), port: rf.port, protocol: rf.flow.protocol, kind: endpoint.kind, kept: [], sketch: new Set(), sketchAbove: Infinity, other: undefined, evicted: undefined };
      this._buckets.set(detached(bk), b);
    }
    return b;
  }

  /**
   * A new edge to (or from) a foldable endpoint: kept when its hash is among the bucket's
   * `cap` smallest (the largest kept one is folded to make room), else folded. Returns the
   * bucket's "other" edge when the flow is to be counted there, undefined when the caller
   * makes the endpoint's own edge.
   */
  private _placeEndpoint(rf: ResolvedFlow, side: FoldSide): EdgeAccumulator | undefined {
    const endpoint = side === 'target' ? rf.destination : rf.source;
    const b = this._bucketOf(side, rf, endpoint);
    const key = endpoint.key;
    if (isOtherKey(key)) return this._otherOf(b); // a host that names itself "(other)" is no host of its own
    const h = endpointHash(key);
    const heap = b.kept;
    if (heap.length < this._cap) {
      heapPush(heap, { h, endpoint: detached(key), edge: rf.edgeKey ?? detached(edgeKey(rf.source.key, rf.destination.key, rf.port, rf.flow.protocol)) }, above);
      return undefined;
    }
    const root = heap[0];
    if (root === undefined || endpointOrder(h, key, root.h, root.endpoint) > 0) {
      this._sketch(b, h);
      return this._otherOf(b);
    }
    const other = this._otherOf(b);
    heapReplaceTop(heap, { h, endpoint: detached(key), edge: rf.edgeKey ?? detached(edgeKey(rf.source.key, rf.destination.key, rf.port, rf.flow.protocol)) }, above);
    this._fold(b, root, other);
    return undefined;
  }

  private _sketch(b: Bucket, h: number): void {
    if (h > b.sketchAbove || b.sketch.has(h)) return;
    b.sketch.add(h);
    if (b.sketch.size > 2 * FOLD_SKETCH) {
      const kept = [...b.sketch].sort((x, y) => x - y).slice(0, FOLD_SKETCH);
      b.sketch = new Set(kept);
      b.sketchAbove = kept[kept.length - 1]!;
    }
  }

  private _otherOf(b: Bucket): EdgeAccumulator {
    if (b.other === undefined) {
      const other = otherKey(b.kind);
      const [source, target] = b.side === 'target' ? [b.anchor, other] : [other, b.anchor];
      const acc = this._newEdge(source, target, b.port, b.protocol, undefined);
      acc.bucket = b;
      this._edges.set(edgeKey(source, target, b.port, b.protocol), acc);
      // The "other" node is made here; the anchor exists (its edge is being added or folded).
      this._node(otherIdentity(b.kind), false);
      b.other = acc;
    }
    return b.other;
  }

  /** Folds a kept endpoint's edge into the bucket's "other" edge. */
  private _fold(b: Bucket, endpoint: KeptEndpoint, other: EdgeAccumulator): void {
    const acc = this._edges.get(endpoint.edge)!;
    const attrs = edgeAttributesOf(acc, this._counts, this._source);
    const moved = retargeted(attrs, b.side === 'target' ? acc.target : acc.source, b.side === 'target' ? other.target : other.source);
    b.evicted = mergeEdgeAttributes(b.evicted ?? emptyEdgeLike(moved), moved);
    this._sketch(b, endpoint.h);
    this._edges.delete(endpoint.edge);
    this._counts.fill(0, acc.row * ROW, acc.row * ROW + ROW);
    this._freeRows.push(acc.row);
    this._ref(acc.source, -1);
    this._ref(acc.target, -1);
    // Route shapes may still hold this edge: their repeats count on the "other" edge.
    acc.redirect = other;
    acc.days = acc.methods = acc.paths = acc.services = acc.sourceServiceAccounts = acc.decoders = NONE;
    acc.serverPaths = { paths: NONE, pathsTruncated: false };
    acc.serverMethods = { commonMethods: 0, methodCount: 0, methods: NONE };
    acc.denied = new Map();
    acc.peerIps = undefined;
    acc.lastSource = acc.lastDestination = undefined;
  }

  /** Whether `edge` is a bucket's "other" edge, where folded endpoints are counted (fold.ts). */
  isFolded(edge: EdgeTally): boolean {
    return (edge as unknown as EdgeAccumulator).bucket !== undefined;
  }

  /** Number of distinct edges so far. */
  get edgeCount(): number {
    return this._edges.size;
  }

  /** The node of `id`; `withIp`: its address is the node's own (not the folded end of an edge, whose addresses the edge keeps). */
  private _node(id: Identity, withIp: boolean): NodeAccumulator {
    let n = this._nodes.get(id.key);
    if (n === undefined) {
      const pending = this._pendingRefs.get(id.key);
      if (pending !== undefined) this._pendingRefs.delete(id.key);
      n = {
        edges: pending ?? 0,
        attrs: {
          kind: id.kind,
          name: detached(id.name),
          ...(id.namespace === undefined ? {} : { namespace: id.namespace }),
          ...(id.workloadKind === undefined ? {} : { workloadKind: id.workloadKind }),
          serviceAccounts: [],
          labels: { ...(id.labels ?? {}) },
          ips: [],
        },
        labelsSeen: id.labels,
        serviceAccounts: new Set(),
        ips: new Set(),
      };
      this._nodes.set(detached(id.key), n);
    } else if (id.labels !== n.labelsSeen) {
      // Keep the labels every observation agrees on, as mergeNodeAttributes does.
      const mine = n.attrs.labels;
      for (const k of Object.keys(mine)) if (id.labels?.[k] !== mine[k]) delete mine[k];
      n.labelsSeen = id.labels;
    }
    if (id.serviceAccount !== undefined && !n.serviceAccounts.has(id.serviceAccount)) n.serviceAccounts.add(id.serviceAccount);
    if (withIp && id.kind !== 'workload' && id.ip !== undefined && !n.ips.has(id.ip) && n.ips.size < MAX_IPS_PER_NODE * 4) n.ips.add(detached(id.ip));
    return n;
  }

  toGraph(): ServiceGraph {
    const nodes = new Map<string, NodeAttributes>();
    for (const [key, n] of this._nodes) nodes.set(key, mergeNodeAttributes(n.attrs, { ...n.attrs, serviceAccounts: [...n.serviceAccounts], ips: [...n.ips] }));
    const edges = new Map<string, EdgeAttributes>();
    for (const [key, acc] of this._edges) {
      const collected = edgeAttributesOf(acc, this._counts, this._source);
      // Merging with an empty edge applies the caps and sorts every set.
      let attrs = mergeEdgeAttributes(emptyEdgeLike(collected), collected);
      const b = acc.bucket;
      if (b !== undefined) {
        if (b.evicted !== undefined) attrs = mergeEdgeAttributes(attrs, b.evicted);
        attrs.folded = foldedOf([...b.sketch].sort((x, y) => x - y));
      }
      edges.set(key, attrs);
    }
    return foldedGraph(nodes, edges, this._cap);
  }
}

/** Extends an edge's first and last seen to an interval a count covered, adding no day. */
function countInterval(acc: EdgeAccumulator, counts: Float64Array, from: number, until: number): void {
  const row = acc.row * ROW;
  if (from < counts[row + FIRST_SEEN]!) counts[row + FIRST_SEEN] = from;
  if (until > counts[row + LAST_SEEN]!) counts[row + LAST_SEEN] = until;
}

/** The counters and times every flow of an edge adds to. */
function countRequest(acc: EdgeAccumulator, counts: Float64Array, reporter: Reporter, mtls: Mtls, n: number, responseCode: number, t: number | undefined): void {
  const row = acc.row * ROW;
  const side = row + (reporter === 'client' ? CLIENT : SERVER);
  counts[side + REQUESTS]! += n;
  if (mtls === 'mutual') counts[side + MUTUAL]! += n;
  else if (mtls === 'plaintext') counts[side + PLAINTEXT]! += n;
  counts[side + CLASSES + responseClassIndex(responseCode)]! += n;
  if (t !== undefined) {
    if (t < counts[row + FIRST_SEEN]!) counts[row + FIRST_SEEN] = t;
    if (t > counts[row + LAST_SEEN]!) counts[row + LAST_SEEN] = t;
    const day = Math.floor(t / DAY_MS);
    if (day !== acc.lastDay) {
      acc.lastDay = day;
      acc.days.add(day);
      if (acc.days.size > 2 * MAX_DAYS_PER_EDGE) acc.days = new Set(smallestDays(acc.days));
    }
  }
}

function addPath(acc: PathSet, template: string): void {
  if (!acc.paths.has(template)) {
    acc.paths.add(detached(template));
    if (acc.paths.size > 2 * MAX_PATHS_PER_EDGE) prune(acc);
  }
}

/** A refused request: evidence of denial on its operation, not an allowed request. */
function addDenied(acc: EdgeAccumulator, reporter: Reporter, flow: Flow): void {
  const denial = flow.denial!;
  const d: DeniedOperation = {
    reporter,
    kind: denial.kind,
    policy: denial.policy === undefined ? '' : detached(denial.policy),
    method: flow.l7 === undefined ? '' : METHOD.test(flow.l7.method) ? flow.l7.method.toUpperCase() : '{invalid}',
    path: flow.l7 === undefined ? '' : pathTemplate(flow.l7.path),
    requests: flow.count,
    firstSeen: flow.timestamp ?? null,
    lastSeen: flow.until ?? flow.timestamp ?? null,
  };
  const key = deniedKey(d);
  const prev = acc.denied.get(key);
  if (prev === undefined) {
    // Beyond twice the cap the smallest keys are kept, as mergeDenied keeps them.
    acc.denied.set(detached(key), { ...d, path: detached(d.path), method: detached(d.method) });
    if (acc.denied.size > 2 * MAX_DENIED_PER_EDGE) {
      const kept = mergeDenied([...acc.denied.values()], []);
      acc.denied = new Map(kept.values.map((x) => [deniedKey(x), x]));
      acc.deniedTruncated = true;
    }
  } else {
    prev.requests += d.requests;
    if (d.firstSeen !== null && (prev.firstSeen === null || d.firstSeen < prev.firstSeen)) prev.firstSeen = d.firstSeen;
    if (d.lastSeen !== null && (prev.lastSeen === null || d.lastSeen > prev.lastSeen)) prev.lastSeen = d.lastSeen;
  }
}

function newEdge(source: string, target: string, port: number, protocol: L4Protocol, index: number, row: number, foldSide: FoldSide | undefined): EdgeAccumulator {
  return {
    index,
    row,
    foldSide,
    peerIps: foldSide === undefined ? undefined : new Set(),
    redirect: undefined,
    bucket: undefined,
    source: detached(source),
    target: detached(target),
    port,
    protocol,
    lastSource: undefined,
    lastDestination: undefined,
    lastService: undefined,
    lastDecoder: undefined,
    days: new Set(),
    lastDay: NaN,
    commonMethods: 0,
    methodCount: 0,
    methods: new Set(),
    paths: new Set(),
    pathsTruncated: false,
    serverMethods: { commonMethods: 0, methodCount: 0, methods: new Set() },
    serverPaths: { paths: new Set(), pathsTruncated: false },
    denied: new Map(),
    deniedTruncated: false,
    services: new Set(),
    sourceServiceAccounts: new Set(),
    decoders: new Set(),
  };
}

/** Methods are upper-cased; beyond twice the cap the rest are not collected (the cap keeps the smallest). */
function addMethod(acc: MethodSet, raw: string): void {
  const bit = COMMON_METHODS.get(raw);
  if (bit !== undefined) {
    if ((acc.commonMethods & bit) === 0 && acc.methodCount < MAX_METHODS_PER_EDGE * 2) {
      acc.commonMethods |= bit;
      acc.methodCount++;
    }
    return;
  }
  const m = METHOD.test(raw) ? raw.toUpperCase() : '{invalid}';
  const common = COMMON_METHODS.get(m);
  if (common !== undefined ? (acc.commonMethods & common) !== 0 : acc.methods.has(m)) return;
  if (acc.methodCount >= MAX_METHODS_PER_EDGE * 2) return;
  if (common !== undefined) acc.commonMethods |= common;
  else acc.methods.add(detached(m));
  acc.methodCount++;
}

function edgeAttributesOf(acc: EdgeAccumulator, counts: Float64Array, source: string): EdgeAttributes {
  const row = acc.row * ROW;
  const side = (at: number) => ({
    requests: counts[row + at + REQUESTS]!,
    mutual: counts[row + at + MUTUAL]!,
    plaintext: counts[row + at + PLAINTEXT]!,
    responses: classCounts(counts.subarray(row + at + CLASSES, row + at + CLASSES + RESPONSE_CLASSES.length)),
  });
  const first = counts[row + FIRST_SEEN]!;
  const last = counts[row + LAST_SEEN]!;
  return {
    source: acc.source,
    target: acc.target,
    port: acc.port,
    protocol: acc.protocol,
    client: side(CLIENT),
    server: side(SERVER),
    sources: { [source]: { client: side(CLIENT), server: side(SERVER) } },
    firstSeen: first === Infinity ? null : first,
    lastSeen: last === -Infinity ? null : last,
    days: smallestDays(acc.days).map((d) => utcDay(d * DAY_MS)),
    methods: methodsOf(acc),
    paths: [...acc.paths],
    pathsTruncated: acc.pathsTruncated,
    services: [...acc.services],
    sourceServiceAccounts: [...acc.sourceServiceAccounts],
    decoders: [...acc.decoders],
    serverMethods: methodsOf(acc.serverMethods),
    serverPaths: [...acc.serverPaths.paths],
    serverPathsTruncated: acc.serverPaths.pathsTruncated,
    denied: [...acc.denied.values()].map((d) => ({ ...d })),
    deniedTruncated: acc.deniedTruncated,
    ...(acc.peerIps === undefined ? {} : { peerIps: [...acc.peerIps] }),
  };
}

function addPeerIp(acc: EdgeAccumulator, ip: string): void {
  const ips = acc.peerIps!;
  if (!ips.has(ip) && ips.size < MAX_IPS_PER_NODE * 4) ips.add(detached(ip));
}

// A max-heap of kept endpoints by (hash, key): the root is the one folded first.
const above = (a: KeptEndpoint, b: KeptEndpoint) => endpointOrder(a.h, a.endpoint, b.h, b.endpoint) > 0;

function methodsOf(set: MethodSet): string[] {
  const methods = [...set.methods];
  for (const [m, bit] of COMMON_METHODS) if ((set.commonMethods & bit) !== 0) methods.push(m);
  return methods;
}

function classCounts(counts: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  counts.forEach((n, i) => {
    if (n > 0) out[RESPONSE_CLASSES[i]!] = n;
  });
  return out;
}

/** The MAX_DAYS_PER_EDGE days whose `utcDay` texts sort first: the members a capped union keeps. */
function smallestDays(days: Set<number>): number[] {
  return [...days]
    .map((d) => ({ d, text: utcDay(d * DAY_MS) }))
    .sort((a, b) => compare(a.text, b.text))
    .slice(0, MAX_DAYS_PER_EDGE)
    .map((x) => x.d);
}

function prune(acc: PathSet): void {
  const kept = [...acc.paths].sort(compare).slice(0, MAX_PATHS_PER_EDGE);
  acc.paths = new Set(kept);
  acc.pathsTruncated = true;
}

/** The graph of the union of the inputs of `a` and `b`. */
export function mergeGraphs(a: ServiceGraph, b: ServiceGraph, maxExternalEndpoints = DEFAULT_MAX_EXTERNAL_ENDPOINTS): ServiceGraph {
  const nodes = new Map<string, NodeAttributes>();
  for (const src of [a, b]) {
    src.forEachNode((key, attrs) => {
      const prev = nodes.get(key);
      nodes.set(key, prev === undefined ? attrs : mergeNodeAttributes(prev, attrs));
    });
  }
  const edges = new Map<string, EdgeAttributes>();
  for (const src of [a, b]) {
    src.forEachEdge((key, attrs) => {
      const prev = edges.get(key);
      edges.set(key, prev === undefined ? attrs : mergeEdgeAttributes(prev, attrs));
    });
  }
  // Folded again: endpoints each side kept may be too many together.
  return foldedGraph(nodes, edges, maxExternalEndpoints);
}
