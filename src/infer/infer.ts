// graph + inventory → the target-free RuleSet: one rule per observed edge that is not
// noise, with its generalized operations, evidence and confidence (design.md §1, §4).

import { MAX_IPS_PER_NODE, MAX_METHODS_PER_EDGE, compare, requestsOf, type EdgeAttributes, type NodeAttributes } from '../graph/attributes.js';
import type { ServiceGraph } from '../graph/graph.js';
import type { Inventory } from '../inventory/inventory.js';
import { ruleId, type AccessRule, type Confidence, type Exclusion, type Peer, type RuleEvidence, type RuleSet } from '../rules/access-rule.js';
import { clusterFacts } from './cluster-facts.js';
import { DEFAULT_SIBLING_LIMIT, generalizePaths } from './generalize-paths.js';
import { noiseOf } from './noise.js';

export interface InferOptions {
  /** Edges with fewer requests are excluded as below threshold. */
  minRequests: number;
  /** Edges seen over fewer UTC days (first to last seen) are excluded as below threshold. */
  minDays: number;
  siblingLimit: number;
  includeScrapes: boolean;
  /** Namespaces that only appear as peers: their own policies are not proposed. */
  systemNamespaces: string[];
}

export const DEFAULT_SYSTEM_NAMESPACES = ['istio-system', 'kube-node-lease', 'kube-public', 'kube-system'];

export const DEFAULT_INFER_OPTIONS: InferOptions = {
  minRequests: 1,
  minDays: 1,
  siblingLimit: DEFAULT_SIBLING_LIMIT,
  includeScrapes: false,
  systemNamespaces: DEFAULT_SYSTEM_NAMESPACES,
};

/** Requests at or above which an edge with verified identity is high confidence. */
const HIGH_CONFIDENCE_REQUESTS = 10;

function peerOf(key: string, n: NodeAttributes, serviceAccounts: readonly string[] = n.serviceAccounts): Peer {
  return {
    kind: n.kind,
    key,
    ...(n.namespace === undefined ? {} : { namespace: n.namespace }),
    name: n.name,
    ...(n.workloadKind === undefined ? {} : { workloadKind: n.workloadKind }),
    serviceAccounts: [...serviceAccounts].sort(compare),
    ips: [...n.ips],
    ipsComplete: n.ips.length < MAX_IPS_PER_NODE,
  };
}

export function evidenceOf(key: string, e: EdgeAttributes): RuleEvidence {
  const requests = requestsOf(e);
  return {
    requests,
    mutual: e.server.mutual,
    plaintext: e.server.plaintext,
    unverified: Math.max(0, requests - e.server.mutual - e.server.plaintext),
    firstSeen: e.firstSeen,
    lastSeen: e.lastSeen,
    daysSeen: e.days.length,
    sources: [...e.sources],
    methods: [...e.methods],
    paths: [...e.paths],
    pathsTruncated: e.pathsTruncated,
    edges: [key],
  };
}

function confidenceOf(from: Peer, to: Peer, ev: RuleEvidence): { confidence: Confidence; notes: string[] } {
  const notes: string[] = [];
  let confidence: Confidence = 'high';
  if (ev.requests <= 1) {
    notes.push('seen once');
    confidence = 'low';
  } else if (ev.requests < HIGH_CONFIDENCE_REQUESTS) {
    notes.push(`seen ${ev.requests} times`);
    confidence = 'medium';
  }
  if (from.kind === 'workload' && to.kind === 'workload' && ev.mutual === 0 && ev.plaintext === 0) {
    notes.push('no server-side proxy observed it: the client identity is not verified by mTLS');
    confidence = 'low';
  }
  if (ev.daysSeen === 0) notes.push('no record carried a time: the days it was seen on are unknown');
  if (ev.plaintext > 0) notes.push(`${ev.plaintext} request(s) in plaintext: the source has no authenticated identity for them`);
  return { confidence, notes };
}

export function inferRules(graph: ServiceGraph, inventory: Inventory, opts: InferOptions = DEFAULT_INFER_OPTIONS): RuleSet {
  const rules: AccessRule[] = [];
  const excluded: Exclusion[] = [];
  const cluster = clusterFacts(inventory);
  const facts = new Map(cluster.workloads.map((w) => [w.key, w]));
  let first: number | null = null;
  let last: number | null = null;
  const edgeKeys = graph.edges().sort(compare);
  for (const key of edgeKeys) {
    const e = graph.getEdgeAttributes(key);
    const fromNode = graph.getNodeAttributes(e.source);
    const toNode = graph.getNodeAttributes(e.target);
    if (e.firstSeen !== null) first = first === null ? e.firstSeen : Math.min(first, e.firstSeen);
    if (e.lastSeen !== null) last = last === null ? e.lastSeen : Math.max(last, e.lastSeen);
    const from = peerOf(e.source, fromNode, e.sourceServiceAccounts.length > 0 ? e.sourceServiceAccounts : fromNode.serviceAccounts);
    const to = peerOf(e.target, toNode);
    const evidence = evidenceOf(key, e);
    const hostIPs = new Set(facts.get(e.target)?.pods.flatMap((p) => (p.hostIP === undefined ? [] : [p.hostIP])) ?? []);
    const noise = noiseOf(e, fromNode, hostIPs, evidence, opts);
    if (noise !== undefined) {
      excluded.push({ from, to, port: e.port, protocol: e.protocol, reason: noise.reason, consequence: noise.consequence, evidence });
      continue;
    }
    const { confidence, notes } = confidenceOf(from, to, evidence);
    let methods: AccessRule['methods'] = 'any';
    let paths: AccessRule['paths'] = 'any';
    if (e.protocol !== 'tcp') {
      // `{invalid}` stands for a method the decoder could not read: no exact list is safe then.
      if (e.methods.some((m) => m.includes('{'))) notes.push('methods not restricted: some observed methods were not valid HTTP methods');
      else if (e.methods.length > 0 && e.methods.length < MAX_METHODS_PER_EDGE) methods = [...e.methods];
      else if (e.methods.length > 0) notes.push('methods not restricted: the observed set reached the cap the graph keeps');
      const g = generalizePaths(e.paths, e.pathsTruncated, opts.siblingLimit);
      paths = g.paths;
      notes.push(...g.notes);
    }
    rules.push({ id: ruleId(e.source, e.target, e.port, e.protocol), from, to, port: e.port, protocol: e.protocol, methods, paths, evidence, confidence, notes });
  }

  const system = new Set(opts.systemNamespaces);
  const gateways = new Set(cluster.workloads.filter((w) => w.isGateway).map((w) => w.namespace));
  const touched = new Set<string>();
  for (const r of rules) for (const p of [r.from, r.to]) if (p.kind === 'workload' && p.namespace !== undefined) touched.add(p.namespace);
  const all = [...new Set([...cluster.namespaces, ...touched])].sort(compare);
  const managedNamespaces = all.filter((ns) => touched.has(ns) && !system.has(ns) && !gateways.has(ns));
  const unmanagedNamespaces = all
    .filter((ns) => !managedNamespaces.includes(ns))
    .map((namespace) => ({
      namespace,
      reason: system.has(namespace)
        ? 'system namespace (--system-namespaces): its own traffic — xDS, webhooks, DNS, probes — is not in access logs, so ztmap does not propose its policies; its workloads appear only as peers'
        : gateways.has(namespace)
          ? 'runs an Istio gateway: its internet-facing traffic is not something access logs can bound, so ztmap proposes no policies here; write them by hand'
          : 'no allowed traffic was observed into or out of it (at most excluded traffic): no policies proposed, so nothing here is restricted',
    }));

  return {
    window: { first, last },
    rules,
    excluded,
    cluster,
    managedNamespaces,
    unmanagedNamespaces,
    settings: { minRequests: opts.minRequests, minDays: opts.minDays, siblingLimit: opts.siblingLimit, includeScrapes: opts.includeScrapes },
  };
}
