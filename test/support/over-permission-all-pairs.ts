// The over-permission search as it was before it was indexed: every source against every
// workload and port, each replayed. Kept as the oracle the indexed search
// (src/verify/over-permission.ts) is checked against in test/verify/over-permission-index.test.ts.
// Only the pair search is here; the operation search is shared.

import { compare } from '../../src/flow/compare.js';
import type { L4Protocol } from '../../src/flow/flow.js';
import type { Identity } from '../../src/flow/identity.js';
import type { Pod } from '../../src/inventory/inventory.js';
import { OUTSIDER, UNMESHED_PROBE, type PairGrant } from '../../src/verify/over-permission.js';
import { refText, replay, type Observation, type ReplayContext, type ReplayEndpoint, type ReplayIndex, type ReplayResult } from '../../src/verify/replay.js';

function unmeshedPod(namespace: string): Pod {
  const workload: Identity = { key: `${namespace}/${UNMESHED_PROBE}`, kind: 'workload', namespace, name: 'unmeshed-pod', workloadKind: 'Probe', serviceAccount: 'default', labels: {} };
  return { namespace, name: 'unmeshed-pod', uid: '', ips: [], hostNetwork: false, serviceAccount: 'default', labels: {}, ports: [], hasSidecar: false, workload, identity: workload };
}

export function allPairsOverPermission(ctx: ReplayContext, index: ReplayIndex, observed: readonly Observation[]): { pairsChecked: number; pairs: PairGrant[] } {
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

  return { pairsChecked, pairs };
}

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
