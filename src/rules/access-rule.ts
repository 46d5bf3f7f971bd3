// The target-free access-rule model (docs/architecture.md, Glossary): "A may reach B on port P with methods
// M on paths S", after generalization and noise filtering, each rule with its evidence.
// Every emitter (policy/) and every verifier speaks this model, never the graph.
// Types and pure helpers only: no I/O, no dependencies beyond flow/.

import type { L4Protocol, RefusedOperation } from '../flow/flow.js';
import type { Finding } from './finding.js';
import type { NodeKind } from '../flow/identity.js';

/** A path match as Istio can express it: exact, or prefix (`/api/*` is prefix `/api/`). */
export interface PathMatch {
  kind: 'exact' | 'prefix';
  value: string;
  /** The observed path templates this match stands for (reviewers judge breadth by it). */
  covers: string[];
}

/** One side of a rule. Workload peers carry what selectors and principals are built from. */
export interface Peer {
  kind: NodeKind;
  /** The graph node key: `NS/Kind/name`, `world:HOST`, `node:IP`, `unknown:IP`. */
  key: string;
  namespace?: string;
  name: string;
  workloadKind?: string;
  /** Service accounts the peer's pods ran as (workloads only). */
  serviceAccounts: string[];
  /** Addresses observed for world/node/unknown peers. */
  ips: string[];
  /** False when the graph kept only some of the addresses observed (it caps them per node). */
  ipsComplete: boolean;
}

export interface RuleEvidence {
  requests: number;
  /** Server-observed requests over Istio mTLS, in plaintext, and not seen by a server proxy. */
  mutual: number;
  plaintext: number;
  unverified: number;
  firstSeen: number | null;
  lastSeen: number | null;
  /** Distinct UTC days on which the edge was seen (0 when no observation carried a time). */
  daysSeen: number;
  /** Decoders whose records contributed (envoy-text, envoy-json, istio-metrics, hubble-json). */
  decoders: string[];
  /** Requests each source counted (`access-log`, `istio-metrics`, `hubble`); `requests` is the largest, never their sum. */
  sources: Record<string, number>;
  methods: string[];
  paths: string[];
  pathsTruncated: boolean;
  /** Graph edge keys this rule was derived from. */
  edges: string[];
}

export type Confidence = 'high' | 'medium' | 'low';

export interface AccessRule {
  /** Stable across runs on the same input: `FROM -> TO:PORT/PROTOCOL`. */
  id: string;
  from: Peer;
  to: Peer;
  /** Destination target (pod) port. */
  port: number;
  protocol: L4Protocol;
  /** HTTP methods allowed, or `any` (TCP, or when the observed set is not complete). */
  methods: string[] | 'any';
  /** Path matches allowed, or `any`. */
  paths: PathMatch[] | 'any';
  evidence: RuleEvidence;
  confidence: Confidence;
  /** Why the confidence is what it is, and what was generalized. */
  notes: string[];
}

/** Observed traffic that is deliberately not turned into a rule, with the reason. */
export type ExclusionReason = 'kubelet-probe' | 'metrics-scrape' | 'istio-port' | 'below-threshold' | 'behind-proxy' | 'folded-endpoints' | 'unknown-port';

/**
 * Requests the mesh refused during the window, per operation (docs/observe.md, "Traffic the mesh denies today"): evidence of
 * denial. They never become allows; the review lists them as "denied today".
 */
export interface DeniedTraffic extends RefusedOperation {
  from: Peer;
  to: Peer;
  port: number;
  protocol: L4Protocol;
  /** The proposal's rule for the same pair still admits this operation (seen allowed too, or a product of methods and paths): reviewers decide. */
  admittedBy?: string;
}

export interface Exclusion {
  from: Peer;
  to: Peer;
  port: number;
  protocol: L4Protocol;
  reason: ExclusionReason;
  /** What enforcing the proposal does to this traffic, and what to do about it. */
  consequence: string;
  evidence: RuleEvidence;
}

/**
 * How Istio meshes a workload's pods: an injected sidecar (Envoy, L4 and L7), ambient mode
 * (ztunnel, which enforces AuthorizationPolicy at L4 only), or not at all.
 */
type Dataplane = 'sidecar' | 'ambient' | 'none';

/** A pod as the selectors see it. */
export interface PodFacts {
  name: string;
  labels: Record<string, string>;
  ports: { name?: string; port: number; protocol: string }[];
  hasSidecar: boolean;
  /** The node the pod ran on: its kubelet's probes come from this address. */
  hostIP?: string;
  /** Epoch ms the pod held its IP, when known. */
  start?: number;
  end?: number;
}

/** What emitters need to know about a workload beyond the rules: its pods and labels. */
export interface WorkloadFacts {
  key: string;
  namespace: string;
  name: string;
  kind: string;
  serviceAccounts: string[];
  /** Labels every pod carries, per-revision hashes excluded. */
  labels: Record<string, string>;
  /** Empty for a controller with no pod in the inventory (a CronJob that has not run, a Deployment at zero). */
  pods: PodFacts[];
  hasSidecar: boolean;
  /** An Istio gateway: an Envoy with an istio-proxy container, but internet-facing, not a sidecar. */
  isGateway: boolean;
  /**
   * The dataplane of its pods: `sidecar` when any pod has one, else `ambient` when any pod
   * is in ambient mode, else `none` (also for a controller with no pod in the inventory).
   */
  dataplane: Dataplane;
  /** The waypoints (`istio.io/use-waypoint`) its ambient pods name, sorted; empty when none. */
  waypoints: string[];
}

export interface ClusterFacts {
  /** Every workload of the inventory, sorted by key. */
  workloads: WorkloadFacts[];
  namespaces: string[];
  /** Workloads serving cluster DNS (CoreDNS / kube-dns), found by their Service. */
  dns: WorkloadFacts[];
  /** The Istio control plane (istiod), found by its Service. */
  controlPlane: WorkloadFacts[];
}

/** Everything an emitter or the review report reads. */
export interface RuleSet {
  window: { first: number | null; last: number | null };
  rules: AccessRule[];
  excluded: Exclusion[];
  cluster: ClusterFacts;
  /** Namespaces whose workloads get policies; the others are only peers. */
  managedNamespaces: string[];
  unmanagedNamespaces: { namespace: string; reason: string }[];
  /** Requests the mesh refused in the window: never allowed, listed for review. */
  denied: DeniedTraffic[];
  /** What inference itself found a reviewer must know (traffic it cannot name, allows it could not narrow). */
  findings: Finding[];
  /** Settings that shaped the rules, echoed into the review. */
  settings: { minRequests: number; minDays: number; siblingLimit: number; includeScrapes: boolean };
}

export function ruleId(from: string, to: string, port: number, protocol: L4Protocol): string {
  return `${from} -> ${to}:${port}/${protocol}`;
}

/** Rules by the key of their source (`from`) or destination (`to`), in rule order: grouped once, read per workload. */
export function rulesBy(rules: readonly AccessRule[], side: 'from' | 'to'): Map<string, AccessRule[]> {
  const out = new Map<string, AccessRule[]>();
  for (const r of rules) {
    const list = out.get(r[side].key);
    if (list === undefined) out.set(r[side].key, [r]);
    else list.push(r);
  }
  return out;
}

/** Whether a path match admits a concrete request path (Istio semantics: exact or prefix). */
export function pathMatches(m: PathMatch, path: string): boolean {
  return m.kind === 'exact' ? m.value === path : path.startsWith(m.value);
}

/** The Istio string form: `/a/b` exact, `/a/*` prefix. */
export function istioPath(m: PathMatch): string {
  return m.kind === 'exact' ? m.value : `${m.value}*`;
}

/** Whether the rule admits a request (the evaluation the verifier will generalize). */
export function ruleAdmits(rule: AccessRule, req: { from: string; to: string; port: number; method?: string; path?: string }): boolean {
  if (rule.from.key !== req.from || rule.to.key !== req.to || rule.port !== req.port) return false;
  if (rule.methods !== 'any' && (req.method === undefined || !rule.methods.includes(req.method))) return false;
  if (rule.paths !== 'any' && (req.path === undefined || !rule.paths.some((m) => pathMatches(m, req.path!)))) return false;
  return true;
}
