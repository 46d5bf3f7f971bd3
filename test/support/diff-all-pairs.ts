// The semantic diff without its pruning, for tests: every caller against every destination
// (itself included) on every port any destination tries and every port the policies name
// and its neighbours, worked out here from the policies rather than from probes.ts, over TCP,
// HTTP (every method and path any policy names), UDP and SCTP; none left out by the bounds of
// what a destination's policies could admit (verify/over-permission.ts Admission) or by which
// policies apply to it. What it finds is what policyDiff must find.
import type { L4Protocol } from '../../src/flow/flow.js';
import type { Inventory } from '../../src/inventory/inventory.js';
import { probesOf } from '../../src/review/probes.js';
import { networkPolicies, type PolicySet } from '../../src/verify/manifests.js';
import type { NpProtocol } from '../../src/verify/network-policy.js';
import { replay, replayIndex, type Observation, type ReplayContext, type ReplayResult } from '../../src/verify/replay.js';

/** `destination caller port protocol` of every pair some request of which the two sets decide differently, sorted. */
export function changedPairs(before: PolicySet, after: PolicySet, o: { inventory?: Inventory; trustDomain: string; rootNamespace: string }): string[] {
  const namespaces: Record<string, Record<string, string>> = {};
  for (const ns of o.inventory?.namespaces ?? []) namespaces[ns] = o.inventory?.namespaceLabels.get(ns) ?? {};
  const models = [before, after].map((s) => {
    const set = { ...s, problems: [...s.problems] };
    return { policies: set, networkPolicies: networkPolicies(set, namespaces) };
  });
  const probes = probesOf({ ...(o.inventory === undefined ? {} : { inventory: o.inventory }), rootNamespace: o.rootNamespace, models });
  const sides = models.map((m) => {
    const ctx: ReplayContext = { inventory: probes.inventory, policies: m.policies, networkPolicies: m.networkPolicies, trustDomain: o.trustDomain, rootNamespace: o.rootNamespace };
    return { ctx, index: replayIndex(ctx) };
  });
  const everything = [...before.authorization, ...after.authorization];
  const ports = new Set<number>();
  const methods = new Set<string>();
  const paths = new Set<string>();
  for (const d of probes.destinations) {
    const r = probes.requestsFor(d, everything);
    for (const x of r.ports) ports.add(x);
    for (const x of r.methods) methods.add(x);
    for (const x of r.paths) paths.add(x);
  }
  // Every port a NetworkPolicy or AuthorizationPolicy names, and its neighbours.
  for (const m of models) {
    for (const policies of m.networkPolicies.byNamespace.values()) {
      for (const p of policies) {
        for (const r of [...(p.ingress ?? []), ...(p.egress ?? [])]) {
          for (const pr of r.ports ?? []) {
            if (typeof pr.port !== 'number') continue;
            for (const x of [pr.port - 1, pr.port, pr.port + 1, ...(pr.endPort === undefined ? [] : [pr.endPort, pr.endPort + 1])]) if (x >= 1 && x <= 65535) ports.add(x);
          }
        }
      }
    }
    for (const p of m.policies.authorization) for (const r of p.rules) for (const op of r.to ?? []) for (const x of [...(op.ports ?? []), ...(op.notPorts ?? [])]) for (const y of [x - 1, x, x + 1]) ports.add(y);
  }
  const signature = (r: ReplayResult) =>
    JSON.stringify([r.verdict, r.verdict === 'allowed' || r.verdict === 'denied' ? [] : [...r.istio.outcomes.map((x) => `${x.principal ?? ''} ${x.method ?? ''} ${x.path ?? ''} ${x.decision}`), ...r.networkPolicy.outcomes.map((x) => `${x.fromPod ?? ''} ${x.toPod ?? ''} ${x.decision}`)].sort()]);
  const out: string[] = [];
  for (const to of probes.destinations) {
    for (const from of probes.callers) {
      for (const port of ports) {
        const probe = (protocol: L4Protocol, method?: string, path?: string, transport?: NpProtocol): Observation => ({
          edge: 'probe', from, to, port, protocol, mtls: 'unknown', serviceAccounts: probes.serviceAccounts.get(from.key) ?? [], requests: 1,
          methods: method === undefined ? [] : [method], paths: path === undefined ? [] : [{ text: path, template: false }], pathsIncomplete: false,
          ...(transport === undefined ? {} : { transport }),
        });
        const differs = (obs: Observation) => signature(replay(sides[0]!.ctx, sides[0]!.index, obs)) !== signature(replay(sides[1]!.ctx, sides[1]!.index, obs));
        if (differs(probe('tcp'))) out.push(`${to.key} ${from.key} ${port} tcp`);
        let http = differs(probe('http'));
        for (const m of methods) for (const p of paths) http ||= differs(probe('http', m, p));
        if (http) out.push(`${to.key} ${from.key} ${port} http`);
        // Datagrams: NetworkPolicy alone decides them.
        for (const transport of ['UDP', 'SCTP'] as const) {
          const npOf = (i: number) => replay(sides[i]!.ctx, sides[i]!.index, probe('tcp', undefined, undefined, transport)).networkPolicy;
          const [x, y] = [npOf(0), npOf(1)];
          if (x.verdict !== y.verdict || JSON.stringify(x.outcomes.map((z) => z.decision)) !== JSON.stringify(y.outcomes.map((z) => z.decision))) out.push(`${to.key} ${from.key} ${port} ${transport.toLowerCase()}`);
        }
      }
    }
  }
  return out.sort();
}
