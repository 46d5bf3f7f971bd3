// The semantic diff without its pruning, for tests: every caller against every destination on
// every port any destination tries, with every method and path any policy names, none left out
// by the bounds of what a destination's policies could admit (verify/over-permission.ts
// Admission) or by which policies apply to it. What it finds is what policyDiff must find.
import type { L4Protocol } from '../../src/flow/flow.js';
import type { Inventory } from '../../src/inventory/inventory.js';
import { probesOf } from '../../src/review/probes.js';
import { networkPolicies, type PolicySet } from '../../src/verify/manifests.js';
import { replay, replayIndex, type Observation, type ReplayContext } from '../../src/verify/replay.js';

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
  const out: string[] = [];
  for (const to of probes.destinations) {
    for (const from of probes.callers) {
      if (from.key === to.key) continue;
      for (const port of ports) {
        const probe = (protocol: L4Protocol, method?: string, path?: string): Observation => ({
          edge: 'probe', from, to, port, protocol, mtls: 'unknown', serviceAccounts: probes.serviceAccounts.get(from.key) ?? [], requests: 1,
          methods: method === undefined ? [] : [method], paths: path === undefined ? [] : [{ text: path, template: false }], pathsIncomplete: false,
        });
        const differs = (obs: Observation) => replay(sides[0]!.ctx, sides[0]!.index, obs).verdict !== replay(sides[1]!.ctx, sides[1]!.index, obs).verdict;
        if (differs(probe('tcp'))) out.push(`${to.key} ${from.key} ${port} tcp`);
        let http = differs(probe('http'));
        for (const m of methods) for (const p of paths) http ||= differs(probe('http', m, p));
        if (http) out.push(`${to.key} ${from.key} ${port} http`);
      }
    }
  }
  return out.sort();
}
