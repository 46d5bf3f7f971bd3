// Which sidecar workloads still receive plaintext, from whom, how much: the list that must
// be empty before STRICT mTLS (docs/policies.md, "STRICT mTLS readiness"). Excluded traffic counts too: a kubelet probe
// through the sidecar breaks under STRICT just as a plaintext client does.

import type { AccessRule, Exclusion, RuleSet, WorkloadFacts } from './access-rule.js';

export interface PlaintextInbound {
  workload: string;
  from: string;
  port: number;
  requests: number;
}

/** Plaintext requests received by sidecar workloads of `namespace`, by (workload, source, port). */
export function plaintextInbound(rs: RuleSet, namespace: string): PlaintextInbound[] {
  const sidecar = new Set(rs.cluster.workloads.filter((w) => w.hasSidecar && w.namespace === namespace).map((w) => w.key));
  const all: (AccessRule | Exclusion)[] = [...rs.rules, ...rs.excluded];
  return all
    .filter((r) => r.to.kind === 'workload' && sidecar.has(r.to.key) && r.evidence.plaintext > 0)
    .map((r) => ({ workload: r.to.key, from: r.from.key, port: r.port, requests: r.evidence.plaintext }))
    .sort((a, b) => (a.workload < b.workload ? -1 : a.workload > b.workload ? 1 : a.from < b.from ? -1 : a.from > b.from ? 1 : a.port - b.port));
}

/** Why a source reaches ztunnel without mTLS, or undefined when it is in the mesh. */
function outsideMesh(r: AccessRule | Exclusion, byKey: ReadonlyMap<string, WorkloadFacts>): string | undefined {
  if (r.from.kind !== 'workload') return `${r.from.kind} address`;
  const w = byKey.get(r.from.key);
  return w !== undefined && w.pods.length > 0 && w.dataplane === 'none' ? 'no sidecar, not in ambient mode' : undefined;
}

/** Observed requests into ambient workloads of `namespace` that reach ztunnel in plaintext. */
export function ambientPlaintextInbound(rs: RuleSet, namespace: string): (PlaintextInbound & { why: string })[] {
  const byKey = new Map(rs.cluster.workloads.map((w) => [w.key, w]));
  const all: (AccessRule | Exclusion)[] = [...rs.rules, ...rs.excluded.filter((x) => x.reason !== 'kubelet-probe' && x.reason !== 'istio-port')];
  const out: (PlaintextInbound & { why: string })[] = [];
  for (const r of all) {
    const to = byKey.get(r.to.key);
    if (to === undefined || to.namespace !== namespace || to.dataplane !== 'ambient') continue;
    const why = outsideMesh(r, byKey);
    if (why !== undefined) out.push({ workload: r.to.key, from: r.from.key, port: r.port, requests: r.evidence.requests, why });
  }
  return out.sort((a, b) => (a.workload < b.workload ? -1 : a.workload > b.workload ? 1 : a.from < b.from ? -1 : a.from > b.from ? 1 : a.port - b.port));
}
