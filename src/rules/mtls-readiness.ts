// Which sidecar workloads still receive plaintext, from whom, how much: the list that must
// be empty before STRICT mTLS (docs/policies.md, "STRICT mTLS readiness"). Excluded traffic counts too: a kubelet probe
// through the sidecar breaks under STRICT just as a plaintext client does.

import type { AccessRule, Exclusion, RuleSet, WorkloadFacts } from './access-rule.js';
import { compare } from '../flow/compare.js';

export interface PlaintextInbound {
  workload: string;
  from: string;
  port: number;
  requests: number;
}

/** Plaintext requests received by sidecar workloads of `namespace`, by (workload, source, port). */
export function plaintextInbound(rs: RuleSet, namespace: string): PlaintextInbound[] {
  return [...(readiness(rs).plaintext.get(namespace) ?? [])];
}

const byPosition = (a: PlaintextInbound, b: PlaintextInbound) => compare(a.workload, b.workload) || compare(a.from, b.from) || a.port - b.port;

interface Readiness {
  plaintext: Map<string, PlaintextInbound[]>;
  ambient: Map<string, (PlaintextInbound & { why: string })[]>;
}

const memo = new WeakMap<RuleSet, Readiness>();

/**
 * Both lists for every namespace in one pass over the rules: emitters and the review ask per
 * namespace, and a pass per namespace grew with namespaces × rules. Callers get copies.
 */
function readiness(rs: RuleSet): Readiness {
  const known = memo.get(rs);
  if (known !== undefined) return known;
  const byKey = new Map(rs.cluster.workloads.map((w) => [w.key, w]));
  const sidecar = new Map(rs.cluster.workloads.filter((w) => w.hasSidecar).map((w) => [w.key, w.namespace]));
  const r: Readiness = { plaintext: new Map(), ambient: new Map() };
  const add = <T>(m: Map<string, T[]>, ns: string, x: T) => {
    const list = m.get(ns);
    if (list === undefined) m.set(ns, [x]);
    else list.push(x);
  };
  for (const x of [...rs.rules, ...rs.excluded]) {
    const ns = x.to.kind === 'workload' ? sidecar.get(x.to.key) : undefined;
    if (ns !== undefined && x.evidence.plaintext > 0) add(r.plaintext, ns, { workload: x.to.key, from: x.from.key, port: x.port, requests: x.evidence.plaintext });
  }
  for (const x of [...rs.rules, ...rs.excluded.filter((e) => e.reason !== 'kubelet-probe' && e.reason !== 'istio-port')]) {
    const to = byKey.get(x.to.key);
    if (to === undefined || to.dataplane !== 'ambient') continue;
    const why = outsideMesh(x, byKey);
    if (why !== undefined) add(r.ambient, to.namespace, { workload: x.to.key, from: x.from.key, port: x.port, requests: x.evidence.requests, why });
  }
  for (const list of r.plaintext.values()) list.sort(byPosition);
  for (const list of r.ambient.values()) list.sort(byPosition);
  memo.set(rs, r);
  return r;
}

/** Why a source reaches ztunnel without mTLS, or undefined when it is in the mesh. */
function outsideMesh(r: AccessRule | Exclusion, byKey: ReadonlyMap<string, WorkloadFacts>): string | undefined {
  if (r.from.kind !== 'workload') return `${r.from.kind} address`;
  const w = byKey.get(r.from.key);
  return w !== undefined && w.pods.length > 0 && w.dataplane === 'none' ? 'no sidecar, not in ambient mode' : undefined;
}

/** Observed requests into ambient workloads of `namespace` that reach ztunnel in plaintext. */
export function ambientPlaintextInbound(rs: RuleSet, namespace: string): (PlaintextInbound & { why: string })[] {
  return [...(readiness(rs).ambient.get(namespace) ?? [])];
}
