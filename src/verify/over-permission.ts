// What a policy set allows beyond what was observed (design.md §4.3): workload pairs and
// ports never seen that would be let through, and on observed HTTP edges, methods and paths
// never seen that would be let through. Each is found by replaying a request that did not
// happen, so it is measured with the same evaluators as the observed traffic.

import { compare } from '../flow/compare.js';
import type { L4Protocol } from '../flow/flow.js';
import { replay, type Observation, type ReplayContext, type ReplayEndpoint, type ReplayIndex, type Verdict } from './replay.js';

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
  /** Whether a path never observed would be allowed with an observed method. */
  anyPath: boolean;
}

export interface OverPermission {
  /** Unobserved (client, server, port) triples checked, and those not denied. */
  pairsChecked: number;
  pairs: PairGrant[];
  operations: OperationGrant[];
}

/** A client that is no workload of the cluster and has no identity: the internet, a pod outside the mesh. */
export const OUTSIDER: ReplayEndpoint = { key: 'world:203.0.113.1', kind: 'world', name: '203.0.113.1', ips: ['203.0.113.1'] };

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const UNOBSERVED_PATH = '/ztmap-unobserved-path';

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
  const serviceAccountsOf = (key: string) => [...new Set(index.podsOf.get(key)!.map((p) => p.serviceAccount))].sort(compare);

  const pairs: PairGrant[] = [];
  let pairsChecked = 0;
  const sources: ReplayEndpoint[] = [...workloads.map(endpoint), OUTSIDER];
  for (const from of sources) {
    for (const toKey of workloads) {
      const to = endpoint(toKey);
      for (const port of portsOf.get(toKey)!) {
        if (seen.has(`${from.key}\n${toKey}\n${port}`)) continue;
        pairsChecked++;
        const o = probe(from, to, port, 'http', from.kind === 'workload' ? serviceAccountsOf(from.key) : []);
        const r = replay(ctx, index, o);
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
    const anyPath = replay(ctx, index, { ...o, paths: [{ text: UNOBSERVED_PATH, template: false }], pathsIncomplete: false }).verdict !== 'denied';
    if (methods.length > 0 || anyPath) operations.push({ edge: o.edge, methods, anyPath });
  }
  return { pairsChecked, pairs, operations };
}

const ref = (p: { namespace: string; name: string; rule?: number }) => `${p.namespace}/${p.name}${p.rule === undefined ? '' : `#${p.rule}`}`;

/** The rules of either target that admitted a replayed request, sorted and once each. */
function allowedBy(r: ReturnType<typeof replay>): string[] {
  const by = new Set<string>();
  for (const x of r.istio.outcomes) if (x.decision === 'allow' && x.reason === 'allowed-by') for (const p of x.policies) by.add(`istio ${ref(p)}`);
  for (const x of r.networkPolicy.outcomes) {
    if (x.decision !== 'allow') continue;
    for (const p of x.egress?.isolated ? x.egress.allowedBy : []) by.add(`egress ${ref(p)}`);
    for (const p of x.ingress?.isolated ? x.ingress.allowedBy : []) by.add(`ingress ${ref(p)}`);
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
