// Random policy sets over a small mesh (two namespaces, four workloads and a pod without a
// sidecar), for the property tests of review/: each generated policy is a meaning (scope,
// action, rules) that tests may write in several forms.
import fc from 'fast-check';
import { buildInventory } from '../../src/inventory/inventory.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { deployment, namespace, pod } from './kube.js';

export const OPTS = { trustDomain: 'cluster.local', rootNamespace: 'istio-system' };
export const WORKLOADS = [
  ['shop', 'orders'],
  ['shop', 'payments'],
  ['shop', 'catalog'],
  ['ops', 'backup'],
] as const;
export const inventory = buildInventory([
  namespace('shop'),
  namespace('ops'),
  ...WORKLOADS.flatMap(([ns, name], i) => deployment(ns, name, { ip: `10.1.0.${i + 1}`, ports: [['http', 8080]] })),
  pod('shop', 'debug', { ip: '10.1.0.99', sidecar: false, labels: { run: 'debug' } }),
]);
export const principal = (ns: string, sa: string) => `cluster.local/ns/${ns}/sa/${sa}`;

export interface RuleSpec {
  from: string[];
  ports: string[];
  methods: string[];
  paths: string[];
}
/** One AuthorizationPolicy's meaning: its scope, action and rules (each may become its own policy). */
export interface PolicySpec {
  ns: string;
  app?: string;
  action: 'ALLOW' | 'DENY';
  rules: RuleSpec[];
}
export interface NetSpec {
  ns: string;
  app: string;
  ingress: { fromApps: string[]; ports: number[] }[];
}

const sub = <T>(xs: readonly T[]) => fc.subarray([...xs]);
export const ruleArb: fc.Arbitrary<RuleSpec> = fc.record({
  from: sub(WORKLOADS.map(([ns, name]) => principal(ns, name))),
  ports: sub(['8080', '9090']),
  methods: sub(['GET', 'POST']),
  paths: sub(['/api/orders', '/api/items/*', '*.css']),
});
const policyArb: fc.Arbitrary<PolicySpec> = fc.record(
  {
    ns: fc.constantFrom('shop', 'ops'),
    app: fc.constantFrom('orders', 'payments', 'catalog', 'backup'),
    action: fc.constantFrom('ALLOW' as const, 'DENY' as const),
    rules: fc.array(ruleArb, { minLength: 1, maxLength: 3 }),
  },
  { requiredKeys: ['ns', 'action', 'rules'] },
);
const netArb: fc.Arbitrary<NetSpec> = fc.record({
  ns: fc.constantFrom('shop', 'ops'),
  app: fc.constantFrom('orders', 'payments', 'catalog', 'backup'),
  ingress: fc.array(fc.record({ fromApps: sub(['orders', 'payments', 'catalog', 'debug']), ports: sub([8080, 9090]) }), { minLength: 1, maxLength: 3 }),
});
export const setArb = fc.record({ istio: fc.array(policyArb, { maxLength: 4 }), net: fc.array(netArb, { maxLength: 2 }) });

const list = <T>(xs: T[]) => (xs.length === 0 ? undefined : xs);
function ruleObject(r: RuleSpec): Record<string, unknown> {
  const op = { ports: list(r.ports), methods: list(r.methods), paths: list(r.paths) };
  const to = Object.values(op).some((v) => v !== undefined) ? [{ operation: JSON.parse(JSON.stringify(op)) as object }] : undefined;
  return JSON.parse(JSON.stringify({ from: r.from.length === 0 ? undefined : [{ source: { principals: r.from } }], to })) as Record<string, unknown>;
}
export function authorizationPolicy(name: string, p: PolicySpec, rules: RuleSpec[]): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: p.ns },
    spec: { ...(p.app === undefined ? {} : { selector: { matchLabels: { app: p.app } } }), action: p.action, rules: rules.map(ruleObject) },
  };
}
export function networkPolicy(name: string, n: NetSpec, rules: NetSpec['ingress']): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: n.ns },
    spec: {
      podSelector: { matchLabels: { app: n.app } },
      policyTypes: ['Ingress'],
      ingress: rules.map((r) => ({
        ...(r.fromApps.length === 0 ? {} : { from: r.fromApps.map((a) => (a === 'debug' ? { podSelector: { matchLabels: { run: 'debug' } } } : { podSelector: { matchLabels: { app: a } } })) }),
        ...(r.ports.length === 0 ? {} : { ports: r.ports.map((port) => ({ protocol: 'TCP', port })) }),
      })),
    },
  };
}

/** Each policy whole: its rules in one object. */
export function merged(s: { istio: PolicySpec[]; net: NetSpec[] }): KubeObject[] {
  return [...s.istio.map((p, i) => authorizationPolicy(`p${i}`, p, p.rules)), ...s.net.map((n, i) => networkPolicy(`n${i}`, n, n.ingress))];
}

