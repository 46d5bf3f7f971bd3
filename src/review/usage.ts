// Least privilege over time (docs/review.md, "Unused allows"): which allow rules of a policy set
// the observed traffic used, and which none did. A rule is used when replay names it as what
// admitted an observation: Istio names the rule that allowed a request (the first matching
// rule of the first matching ALLOW policy, in the set's order), NetworkPolicy every rule that
// admits the connection on each side. Removing every unused rule at once therefore keeps
// every observed request allowed: each one keeps the rule that admitted it.
//
// DNS and xDS to istiod are needed by every pod and proxy and never appear in access logs:
// rules that admit them are "platform", never candidates for removal.

import { compare } from '../flow/compare.js';
import type { Inventory, Pod } from '../inventory/inventory.js';
import type { AuthorizationPolicyModel } from '../verify/istio.js';
import type { LabelSelector } from '../verify/label-selector.js';
import type { PolicySet } from '../verify/manifests.js';
import { evaluateConnection, type NetworkPolicyModel, type NpProtocol } from '../verify/network-policy.js';
import { platformServers } from '../verify/platform-traffic.js';
import { podEndpoint, podShapes, refText, type ReplayResult } from '../verify/replay.js';
import { printable } from '../text.js';

type RuleKind = 'istio' | 'ingress' | 'egress';

export interface RuleUsage {
  /** `istio NS/NAME#RULE`, `ingress NS/NAME#RULE` or `egress NS/NAME#RULE`: as verify's over-permission names rules. */
  id: string;
  kind: RuleKind;
  /** `AuthorizationPolicy NS/NAME` or `NetworkPolicy NS/NAME`. */
  policy: string;
  /** The file the policy was read from, when known. */
  file?: string;
  /** Index in spec.rules, spec.ingress or spec.egress. */
  rule: number;
  /** The rule as people read it. */
  text: string;
  /**
   * used: admitted observed traffic in the window; platform: admits DNS or xDS to istiod, which
   * every pod needs and logs never show; maybe: a verdict that depends on what the telemetry
   * does not show named its policy; unused: none of these.
   */
  status: 'used' | 'platform' | 'maybe' | 'unused';
  /** Observed requests it admitted in the window. */
  requests: number;
  /** The latest time traffic it admitted was seen (ISO 8601), in the window or before it; null when never in the data. */
  lastUsed: string | null;
}

/** What one replayed observation says about rules: those that admitted it, those that may have. */
export function rulesUsedBy(r: ReplayResult): { used: string[]; maybePolicies: string[] } {
  const used = new Set<string>();
  const maybe = new Set<string>();
  for (const x of [...r.istio.outcomes, ...(r.istioDryRun?.outcomes ?? [])]) {
    if (x.decision === 'allow' && x.reason === 'allowed-by') for (const p of x.policies) used.add(`istio ${refText(p)}`);
    if (x.decision === 'unknown') for (const p of x.policies) maybe.add(`istio ${p.namespace}/${p.name}`);
  }
  for (const x of r.networkPolicy.outcomes) {
    if (x.egress?.isolated === true) for (const p of x.egress.allowedBy) used.add(`egress ${refText(p)}`);
    if (x.ingress?.isolated === true) for (const p of x.ingress.allowedBy) used.add(`ingress ${refText(p)}`);
  }
  return { used: [...used], maybePolicies: [...maybe] };
}

const selectorText = (s: LabelSelector) => {
  const parts = [
    ...Object.entries(s.matchLabels).sort(([a], [b]) => compare(a, b)).map(([k, v]) => `${k}=${v}`),
    ...s.matchExpressions.map((e) => `${e.key} ${e.operator}${e.values.length === 0 ? '' : ` (${e.values.join(', ')})`}`),
  ];
  return parts.length === 0 ? 'all' : parts.join(',');
};

/** The order a rule's fields are written in: who, then where, then what. */
const FIELD_ORDER = ['principals', 'serviceAccounts', 'namespaces', 'trustDomains', 'requestPrincipals', 'ipBlocks', 'remoteIpBlocks', 'ports', 'methods', 'paths', 'hosts'];

function istioRuleText(r: AuthorizationPolicyModel['rules'][number]): string {
  const rank = (k: string) => (FIELD_ORDER.indexOf(k.replace(/^not(.)/, (_, c: string) => c.toLowerCase())) + 1 || FIELD_ORDER.length + 1) * 2 + (k.startsWith('not') ? 1 : 0);
  const fields = (o: object) =>
    Object.entries(o)
      .sort(([a], [b]) => rank(a) - rank(b) || compare(a, b))
      .map(([k, v]) => `${k} ${(v as unknown[]).map((x) => (typeof x === 'object' && x !== null && 'text' in x ? String((x as { text: string }).text) : String(x))).join(', ')}`)
      .join('; ');
  const from = r.from === undefined ? 'from anyone' : `from ${r.from.map(fields).join(' | ')}`;
  const to = r.to === undefined ? 'to any request' : `to ${r.to.map(fields).join(' | ')}`;
  const when = r.when === undefined ? '' : ` when ${r.when.map((c) => `${c.key}${c.values === undefined ? '' : ` in (${c.values.join(', ')})`}${c.notValues === undefined ? '' : ` not in (${c.notValues.join(', ')})`}`).join(' and ')}`;
  return `${from}, ${to}${when}`;
}

type NpPolicyOf<M> = M extends { byNamespace: ReadonlyMap<string, readonly (infer P)[]> } ? P : never;
type NpRule = NonNullable<NpPolicyOf<NetworkPolicyModel>['ingress']>[number];

function npRuleText(direction: 'ingress' | 'egress', policyNamespace: string, r: NpRule): string {
  const peers =
    r.peers === undefined
      ? 'anyone'
      : r.peers
          .map((p) => {
            if (p.ipBlock !== undefined) return `ipBlock ${p.ipBlock.cidr.text}${p.ipBlock.except.length === 0 ? '' : ` except ${p.ipBlock.except.map((x) => x.text).join(', ')}`}`;
            const ns = p.namespaceSelector === undefined ? `namespace ${policyNamespace}` : `namespaces ${selectorText(p.namespaceSelector)}`;
            return `pods ${p.podSelector === undefined ? 'all' : selectorText(p.podSelector)} in ${ns}`;
          })
          .join(' | ');
  const ports = r.ports === undefined ? 'any port' : r.ports.map((p) => `${p.protocol}/${p.port ?? 'any'}${p.endPort === undefined ? '' : `-${p.endPort}`}`).join(', ');
  return `${direction === 'ingress' ? 'from' : 'to'} ${peers}, on ${ports}`;
}

/** Every ALLOW rule of the set: AuthorizationPolicy rules (enforced or dry-run), NetworkPolicy ingress and egress rules. */
export function allowRules(set: PolicySet, model: NetworkPolicyModel): Omit<RuleUsage, 'status' | 'requests' | 'lastUsed'>[] {
  const out: Omit<RuleUsage, 'status' | 'requests' | 'lastUsed'>[] = [];
  const file = (kind: string, ns: string, name: string) => set.fileOf.get(`${kind} ${ns}/${name}`);
  for (const p of set.authorization) {
    if (p.action !== 'ALLOW' || p.targetRef) continue;
    const f = file('AuthorizationPolicy', p.namespace, p.name);
    p.rules.forEach((r, i) => {
      out.push({ id: `istio ${p.namespace}/${p.name}#${i}`, kind: 'istio', policy: `AuthorizationPolicy ${p.namespace}/${p.name}`, ...(f === undefined ? {} : { file: f }), rule: i, text: istioRuleText(r) });
    });
  }
  for (const [ns, policies] of [...model.byNamespace].sort(([a], [b]) => compare(a, b))) {
    for (const p of policies) {
      const f = file('NetworkPolicy', ns, p.name);
      for (const direction of ['ingress', 'egress'] as const) {
        (p[direction] ?? []).forEach((r, i) => {
          out.push({ id: `${direction} ${ns}/${p.name}#${i}`, kind: direction, policy: `NetworkPolicy ${ns}/${p.name}`, ...(f === undefined ? {} : { file: f }), rule: i, text: npRuleText(direction, ns, r) });
        });
      }
    }
  }
  return out.map((x) => ({ ...x, text: printable(x.text), policy: printable(x.policy), ...(x.file === undefined ? {} : { file: printable(x.file) }) }));
}

const protocolOf = (p: string): NpProtocol => (p === 'UDP' || p === 'SCTP' ? p : 'TCP');

/** The NetworkPolicy rules that admit DNS or xDS to istiod from some pod (platform traffic, verify/platform-traffic.ts). */
export function platformRules(inventory: Inventory, model: NetworkPolicyModel): Set<string> {
  const out = new Set<string>();
  const { servers } = platformServers(inventory);
  const clients = podShapes(inventory.pods.filter((p) => !p.hostNetwork), false, false);
  for (const server of servers) {
    for (const s of podShapes(server.pods, false, false)) {
      for (const port of server.ports) {
        const target = typeof port.targetPort === 'number' ? port.targetPort : s.pod.ports.find((c: Pod['ports'][number]) => c.name === port.targetPort && protocolOf(c.protocol) === port.protocol)?.port;
        if (target === undefined) continue;
        for (const c of clients) {
          if (c.pod === s.pod) continue;
          const v = evaluateConnection(model, { from: { pod: podEndpoint(c.pod) }, to: { pod: podEndpoint(s.pod) }, port: target, protocol: port.protocol });
          if (v.egress.isolated) for (const p of v.egress.allowedBy) out.add(`egress ${refText(p)}`);
          if (v.ingress.isolated) for (const p of v.ingress.allowedBy) out.add(`ingress ${refText(p)}`);
        }
      }
    }
  }
  return out;
}
