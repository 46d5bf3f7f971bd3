// Resolved flows → graph. The hot path updates plain accumulators in place; graphology is
// built once at the end, in sorted order, so the result does not depend on input order.

import { detached, pathTemplate } from '../flow/path-template.js';
import type { Identity, ResolvedFlow } from '../flow/identity.js';
import {
  compare,
  edgeKey,
  emptySide,
  MAX_IPS_PER_NODE,
  MAX_METHODS_PER_EDGE,
  MAX_PATHS_PER_EDGE,
  mergeEdgeAttributes,
  mergeNodeAttributes,
  RESPONSE_CLASSES,
  responseClassIndex,
  type EdgeAttributes,
  type NodeAttributes,
  type SideStats,
} from './attributes.js';
import { createGraph, type ServiceGraph } from './graph.js';

const METHOD = /^[A-Za-z]{1,20}$/;
const COMMON_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE']);

interface EdgeAccumulator {
  attrs: EdgeAttributes;
  // The identities and Service last added: memoized resolutions hand back the same objects,
  // so the node and set updates below are skipped for the common repeat (hot path).
  lastSource: Identity | undefined;
  lastDestination: Identity | undefined;
  lastService: string | undefined;
  /** Response classes per reporter, indexed like RESPONSE_CLASSES: an array beats dynamic keys. */
  clientClasses: number[];
  serverClasses: number[];
  methods: Set<string>;
  paths: Set<string>;
  services: Set<string>;
  sourceServiceAccounts: Set<string>;
  sources: Set<string>;
}

interface NodeAccumulator {
  attrs: NodeAttributes;
  /** The labels object last intersected in; identities from one inventory share it. */
  labelsSeen: Readonly<Record<string, string>> | undefined;
  serviceAccounts: Set<string>;
  ips: Set<string>;
}

export class GraphBuilder {
  private readonly _edges = new Map<string, EdgeAccumulator>();
  private readonly _nodes = new Map<string, NodeAccumulator>();
  flows = 0;

  add(rf: ResolvedFlow): void {
    this.flows++;
    const { flow } = rf;
    let key = rf.edgeKey ?? edgeKey(rf.source.key, rf.destination.key, rf.port, flow.protocol);
    let acc = this._edges.get(key);
    if (acc === undefined) {
      key = detached(key);
      acc = {
        lastSource: undefined,
        lastDestination: undefined,
        lastService: undefined,
        clientClasses: [0, 0, 0, 0, 0, 0],
        serverClasses: [0, 0, 0, 0, 0, 0],
        attrs: {
          source: detached(rf.source.key),
          target: detached(rf.destination.key),
          port: rf.port,
          protocol: flow.protocol,
          client: emptySide(),
          server: emptySide(),
          firstSeen: null,
          lastSeen: null,
          methods: [],
          paths: [],
          pathsTruncated: false,
          services: [],
          sourceServiceAccounts: [],
          sources: [],
        },
        methods: new Set(),
        paths: new Set(),
        services: new Set(),
        sourceServiceAccounts: new Set(),
        sources: new Set(),
      };
      this._edges.set(key, acc);
    }
    if (rf.source !== acc.lastSource) {
      this._node(rf.source);
      const sa = rf.source.serviceAccount;
      if (sa !== undefined && !acc.sourceServiceAccounts.has(sa)) acc.sourceServiceAccounts.add(sa);
      acc.lastSource = rf.source;
    }
    if (rf.destination !== acc.lastDestination) {
      this._node(rf.destination);
      acc.lastDestination = rf.destination;
    }
    const a = acc.attrs;
    const side: SideStats = rf.reporter === 'client' ? a.client : a.server;
    side.requests += flow.count;
    if (rf.mtls === 'mutual') side.mutual += flow.count;
    else if (rf.mtls === 'plaintext') side.plaintext += flow.count;
    (rf.reporter === 'client' ? acc.clientClasses : acc.serverClasses)[responseClassIndex(flow.responseCode)]! += flow.count;
    if (flow.timestamp !== undefined) {
      if (a.firstSeen === null || flow.timestamp < a.firstSeen) a.firstSeen = flow.timestamp;
      if (a.lastSeen === null || flow.timestamp > a.lastSeen) a.lastSeen = flow.timestamp;
    }
    if (flow.l7 !== undefined) {
      const raw = flow.l7.method;
      const m = COMMON_METHODS.has(raw) ? raw : METHOD.test(raw) ? raw.toUpperCase() : '{invalid}';
      if (!acc.methods.has(m) && acc.methods.size < MAX_METHODS_PER_EDGE * 2) acc.methods.add(detached(m));
      const t = pathTemplate(flow.l7.path);
      if (!acc.paths.has(t)) {
        acc.paths.add(detached(t));
        if (acc.paths.size > 2 * MAX_PATHS_PER_EDGE) prune(acc);
      }
    }
    const svc = flow.destination.service;
    if (svc !== undefined && svc !== acc.lastService) {
      // A copy: `svc` is a slice of the read buffer, which it would keep alive.
      const copy = detached(svc);
      acc.services.add(copy);
      acc.lastService = copy;
    }
    if (!acc.sources.has(flow.evidence.source)) acc.sources.add(flow.evidence.source);
  }

  /** Number of distinct edges so far. */
  get edgeCount(): number {
    return this._edges.size;
  }

  private _node(id: Identity): NodeAccumulator {
    let n = this._nodes.get(id.key);
    if (n === undefined) {
      n = {
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
    if (id.kind !== 'workload' && id.ip !== undefined && !n.ips.has(id.ip) && n.ips.size < MAX_IPS_PER_NODE * 4) n.ips.add(detached(id.ip));
    return n;
  }

  toGraph(): ServiceGraph {
    const g = createGraph();
    for (const key of [...this._nodes.keys()].sort(compare)) {
      const n = this._nodes.get(key)!;
      g.addNode(key, mergeNodeAttributes(n.attrs, { ...n.attrs, serviceAccounts: [...n.serviceAccounts], ips: [...n.ips] }));
    }
    for (const key of [...this._edges.keys()].sort(compare)) {
      const acc = this._edges.get(key)!;
      const collected: EdgeAttributes = {
        ...acc.attrs,
        client: { ...acc.attrs.client, responses: classCounts(acc.clientClasses) },
        server: { ...acc.attrs.server, responses: classCounts(acc.serverClasses) },
        methods: [...acc.methods],
        paths: [...acc.paths],
        services: [...acc.services],
        sourceServiceAccounts: [...acc.sourceServiceAccounts],
        sources: [...acc.sources],
      };
      // Merging with an empty edge applies the caps and sorts every set.
      const attrs = mergeEdgeAttributes(emptyLike(collected), collected);
      g.addEdgeWithKey(key, attrs.source, attrs.target, attrs);
    }
    return g;
  }
}

function classCounts(counts: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  counts.forEach((n, i) => {
    if (n > 0) out[RESPONSE_CLASSES[i]!] = n;
  });
  return out;
}

function prune(acc: EdgeAccumulator): void {
  const kept = [...acc.paths].sort(compare).slice(0, MAX_PATHS_PER_EDGE);
  acc.paths = new Set(kept);
  acc.attrs.pathsTruncated = true;
}

function emptyLike(e: EdgeAttributes): EdgeAttributes {
  return {
    ...e,
    client: emptySide(),
    server: emptySide(),
    firstSeen: null,
    lastSeen: null,
    methods: [],
    paths: [],
    pathsTruncated: false,
    services: [],
    sourceServiceAccounts: [],
    sources: [],
  };
}

/** The graph of the union of the inputs of `a` and `b`. */
export function mergeGraphs(a: ServiceGraph, b: ServiceGraph): ServiceGraph {
  const g = createGraph();
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
  for (const key of [...nodes.keys()].sort(compare)) g.addNode(key, nodes.get(key)!);
  for (const key of [...edges.keys()].sort(compare)) {
    const e = edges.get(key)!;
    g.addEdgeWithKey(key, e.source, e.target, e);
  }
  return g;
}
