// What a policy set allows beyond what was observed (docs/architecture.md, "Least privilege, measurably", 3): workload pairs and
// ports never seen that would be let through, and on observed HTTP edges, methods and paths
// never seen that would be let through. Each is found by replaying a request that did not
// happen, so it is measured with the same evaluators as the observed traffic.

import { compare } from '../flow/compare.js';
import type { L4Protocol } from '../flow/flow.js';
import type { Identity } from '../flow/identity.js';
import type { Pod } from '../inventory/inventory.js';
import type { PathValue } from './istio-match.js';
import { refText, replay, type Observation, type ReplayContext, type ReplayEndpoint, type ReplayIndex, type ReplayResult, type Verdict } from './replay.js';

export interface PairGrant {
  from: string;
  to: string;
  port: number;
  /** allowed: any request; partial / unknown: some requests, or it depends on what replay cannot see. */
  verdict: Verdict;
  istio: Verdict;
  networkPolicy: Verdict;
  /**
   * The policy rules that let it through, as "istio NS/NAME#RULE", "egress NS/NAME#RULE" or
   * "ingress NS/NAME#RULE". Empty: it passes only because no policy isolates either side.
   */
  allowedBy: string[];
}

export interface OperationGrant {
  edge: string;
  /** Methods not observed on the edge that would be allowed on its observed paths. */
  methods: string[];
  /** Whether a path never observed, at the root, would be allowed with an observed method. */
  anyPath: boolean;
  /**
   * Unobserved paths beside and below the observed ones (`/api/products` → `/api/ztmap-unobserved`,
   * `/api/products/ztmap-unobserved`) that would be allowed with an observed method: what a
   * prefix or suffix match admits beyond what was seen.
   */
  paths: string[];
}

export interface OverPermission {
  /** Unobserved (client, server, port) triples checked, and those not denied. */
  pairsChecked: number;
  pairs: PairGrant[];
  operations: OperationGrant[];
}

/** A client that is no workload of the cluster and has no identity: the internet. */
export const OUTSIDER: ReplayEndpoint = { key: 'world:203.0.113.1', kind: 'world', name: '203.0.113.1', ips: ['203.0.113.1'] };

/**
 * A pod inside the cluster without a sidecar and without labels, one per namespace: no
 * identity for Istio, and only namespace-wide peers for NetworkPolicy. It finds what is
 * allowed to an unauthenticated in-cluster client (docs/architecture.md, "Least privilege, measurably", 4), which the outsider's
 * address cannot show to namespaceSelector and podSelector peers.
 */
export const UNMESHED_PROBE = 'Probe/unmeshed-pod';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const UNOBSERVED = 'ztmap-unobserved';
const UNOBSERVED_PATH = `/${UNOBSERVED}-path`;
/** Observed paths per edge that get probes beside and below them. */
const MAX_PATH_PROBES = 50;

function unmeshedPod(namespace: string): Pod {
  const workload: Identity = { key: `${namespace}/${UNMESHED_PROBE}`, kind: 'workload', namespace, name: 'unmeshed-pod', workloadKind: 'Probe', serviceAccount: 'default', labels: {} };
  return { namespace, name: 'unmeshed-pod', uid: '', ips: [], hostNetwork: false, serviceAccount: 'default', labels: {}, ports: [], hasSidecar: false, workload, identity: workload };
}

/** Unobserved paths next to an observed one: its sibling and its child (for a template, beside its literal head). */
export function neighbourPaths(path: PathValue): string[] {
  const hole = path.template ? path.text.indexOf('{') : -1;
  const literal = hole >= 0 ? path.text.slice(0, hole) : path.text;
  const parent = literal.slice(0, literal.lastIndexOf('/') + 1);
  if (!literal.startsWith('/')) return [];
  const out = new Set([`${parent}${UNOBSERVED}`]);
  if (hole < 0) out.add(`${literal.replace(/\/$/, '')}/${UNOBSERVED}`);
  return [...out];
}

export function overPermission(ctx: ReplayContext, index: ReplayIndex, observed: readonly Observation[]): OverPermission {
  const seen = new Set(observed.map((o) => `${o.from.key}\n${o.to.key}\n${o.port}`));
  const workloads = [...index.podsOf.keys()].sort(compare);
  const endpoint = (key: string): ReplayEndpoint => {
    const p = index.podsOf.get(key)![0]!;
    return { key, kind: 'workload', namespace: p.namespace, name: p.workload.name, ips: [] };
  };
  const portsOf = new Map<string, number[]>();
  for (const key of workloads) {
    const ports = new Set<number>();
    for (const p of index.podsOf.get(key)!) for (const c of p.ports) if (c.protocol === 'TCP') ports.add(c.port);
    for (const o of observed) if (o.to.key === key) ports.add(o.port);
    portsOf.set(key, [...ports].sort((a, b) => a - b));
  }

  const pairs: PairGrant[] = [];
  let pairsChecked = 0;
  // The unmeshed probes are clients only: their pods join an index of their own.
  const probeIndex: ReplayIndex = { ...index, podsOf: new Map(index.podsOf) };
  const probes: ReplayEndpoint[] = [];
  for (const ns of [...ctx.inventory.namespaces].sort(compare)) {
    const pod = unmeshedPod(ns);
    probeIndex.podsOf.set(pod.workload.key, [pod]);
    probes.push({ key: pod.workload.key, kind: 'workload', namespace: ns, name: pod.workload.name, ips: [] });
  }
  const serviceAccountsOf = (key: string) => [...new Set(probeIndex.podsOf.get(key)!.map((p) => p.serviceAccount))].sort(compare);
  const sources: ReplayEndpoint[] = [...workloads.map(endpoint), ...probes, OUTSIDER];
  for (const from of sources) {
    for (const toKey of workloads) {
      const to = endpoint(toKey);
      for (const port of portsOf.get(toKey)!) {
        if (seen.has(`${from.key}\n${toKey}\n${port}`)) continue;
        pairsChecked++;
        const o = probe(from, to, port, 'http', from.kind === 'workload' ? serviceAccountsOf(from.key) : []);
        const r = replay(ctx, probeIndex, o);
        if (r.verdict !== 'denied') pairs.push({ from: from.key, to: toKey, port, verdict: r.verdict, istio: r.istio.verdict, networkPolicy: r.networkPolicy.verdict, allowedBy: allowedBy(r) });
      }
    }
  }

  const operations: OperationGrant[] = [];
  const done = new Set<string>();
  for (const o of observed) {
    if (o.protocol === 'tcp' || done.has(o.edge) || o.methods.length === 0) continue;
    done.add(o.edge);
    const methods = METHODS.filter((m) => !o.methods.includes(m)).filter((m) => replay(ctx, index, { ...o, methods: [m] }).verdict !== 'denied');
    const admits = (text: string) => replay(ctx, index, { ...o, paths: [{ text, template: false }], pathsIncomplete: false }).verdict !== 'denied';
    const anyPath = admits(UNOBSERVED_PATH);
    const observedPaths = new Set(o.paths.map((p) => p.text));
    const neighbours = [...new Set(o.paths.slice(0, MAX_PATH_PROBES).flatMap(neighbourPaths))].filter((p) => !observedPaths.has(p)).sort(compare);
    const paths = anyPath ? [] : neighbours.filter(admits);
    if (methods.length > 0 || anyPath || paths.length > 0) operations.push({ edge: o.edge, methods, anyPath, paths });
  }
  return { pairsChecked, pairs, operations };
}

/** The rules of either target that admitted a replayed request, sorted and once each. */
function allowedBy(r: ReplayResult): string[] {
  const by = new Set<string>();
  for (const x of r.istio.outcomes) if (x.decision === 'allow' && x.reason === 'allowed-by') for (const p of x.policies) by.add(`istio ${refText(p)}`);
  for (const x of r.networkPolicy.outcomes) {
    if (x.decision !== 'allow') continue;
    for (const p of x.egress?.isolated ? x.egress.allowedBy : []) by.add(`egress ${refText(p)}`);
    for (const p of x.ingress?.isolated ? x.ingress.allowedBy : []) by.add(`ingress ${refText(p)}`);
  }
  return [...by].sort(compare);
}

function probe(from: ReplayEndpoint, to: ReplayEndpoint, port: number, protocol: L4Protocol, serviceAccounts: string[]): Observation {
  return {
    edge: `${from.key} -> ${to.key}:${port}`,
    from,
    to,
    port,
    protocol,
    // Not seen: replay presents the identity Istio's auto-mTLS would (none without sidecars).
    mtls: 'unknown',
    serviceAccounts,
    requests: 0,
    methods: [],
    paths: [],
    pathsIncomplete: false,
  };
}
