// The inventory as emitters need it: every workload with its pods' labels and ports (to
// check selectors), plus the workloads a default-deny egress must still reach — cluster
// DNS and the Istio control plane — found by the Services that front them, so selectors
// come from the labels those pods really carry (docs/policies.md, NetworkPolicy).

import { selects } from '../flow/labels.js';
import { podDataplane, type Inventory, type Pod, type Service } from '../inventory/inventory.js';
import type { ClusterFacts, PodFacts, WorkloadFacts } from '../rules/access-rule.js';
import { compare } from '../flow/compare.js';

const compareKeys = (a: { key: string }, b: { key: string }) => compare(a.key, b.key);

function podFacts(p: Pod): PodFacts {
  return {
    name: p.name,
    labels: p.labels,
    ports: p.ports.map((x) => ({ ...(x.name === undefined ? {} : { name: x.name }), port: x.port, protocol: x.protocol })),
    hasSidecar: p.hasSidecar,
    ...(p.hostIP === undefined ? {} : { hostIP: p.hostIP }),
    ...(p.start === undefined ? {} : { start: p.start }),
    ...(p.end === undefined ? {} : { end: p.end }),
  };
}

function workloadFacts(inv: Inventory): WorkloadFacts[] {
  const byKey = new Map<string, WorkloadFacts>();
  for (const p of inv.pods) {
    const w = p.workload;
    let f = byKey.get(w.key);
    if (f === undefined) {
      f = { key: w.key, namespace: p.namespace, name: w.name, kind: w.workloadKind ?? 'Pod', serviceAccounts: [], labels: { ...(w.labels ?? {}) }, pods: [], hasSidecar: false, isGateway: false, dataplane: 'none', waypoints: [] };
      byKey.set(w.key, f);
    }
    f.pods.push(podFacts(p));
    // One sidecar pod makes it a sidecar workload (sidecar injection wins, as in Istio); an
    // ambient pod otherwise makes it ambient, whose weaker enforcement the emitters plan for.
    const dp = podDataplane(p);
    if (dp === 'sidecar' || (dp === 'ambient' && f.dataplane === 'none')) f.dataplane = dp;
    if (p.waypoint !== undefined && !f.waypoints.includes(p.waypoint)) f.waypoints.push(p.waypoint);
    if (!f.serviceAccounts.includes(p.serviceAccount)) f.serviceAccounts.push(p.serviceAccount);
    f.hasSidecar ||= p.hasSidecar;
  }
  for (const c of inv.controllers.values()) {
    if (!byKey.has(c.key)) byKey.set(c.key, { key: c.key, namespace: c.namespace, name: c.name, kind: c.kind, serviceAccounts: [], labels: {}, pods: [], hasSidecar: false, isGateway: false, dataplane: 'none', waypoints: [] });
  }
  for (const f of byKey.values()) {
    // Gateways run Envoy as `istio-proxy` but are not injected (`sidecar.istio.io/inject: "false"`).
    f.isGateway = f.hasSidecar && (/gateway$/.test(f.labels['istio'] ?? '') || f.labels['sidecar.istio.io/inject'] === 'false');
    f.serviceAccounts.sort(compare);
    f.waypoints.sort(compare);
    f.pods.sort((a, b) => compare(a.name, b.name));
  }
  return [...byKey.values()].sort(compareKeys);
}


/** Workloads with a pod behind any of the Services matching `isTarget`. */
function workloadsBehind(services: Service[], isTarget: (s: Service) => boolean, all: WorkloadFacts[]): WorkloadFacts[] {
  const out = new Set<WorkloadFacts>();
  for (const s of services) {
    if (!isTarget(s) || s.selector === undefined || Object.keys(s.selector).length === 0) continue;
    for (const w of all) if (w.namespace === s.namespace && w.pods.some((p) => selects(s.selector!, p.labels))) out.add(w);
  }
  return [...out].sort(compareKeys);
}

export function clusterFacts(inv: Inventory): ClusterFacts {
  const workloads = workloadFacts(inv);
  return {
    workloads,
    namespaces: inv.namespaces,
    // kube-dns is the Service name every distribution keeps for CoreDNS as well.
    dns: workloadsBehind(inv.services, (s) => s.name === 'kube-dns' || (s.name === 'coredns' && s.namespace === 'kube-system'), workloads),
    controlPlane: workloadsBehind(inv.services, (s) => s.name === 'istiod' || s.name.startsWith('istiod-'), workloads),
  };
}
