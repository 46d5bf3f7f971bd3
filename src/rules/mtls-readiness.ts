// Which sidecar workloads still receive plaintext, from whom, how much: the list that must
// be empty before STRICT mTLS (design.md §2). Excluded traffic counts too: a kubelet probe
// through the sidecar breaks under STRICT just as a plaintext client does.

import type { AccessRule, Exclusion, RuleSet } from './access-rule.js';

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
