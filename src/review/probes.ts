// The finite set of requests a semantic diff replays (docs/review.md, "Semantic diff"). Two
// policy sets are compared by what they decide, not by their text, so the requests must be
// enough to tell any two decisions apart: every value either side names (principals,
// namespaces, service accounts, selectors, address blocks, ports, methods, paths), one value
// that no side names for each kind (another namespace, another port, another method, another
// path), and, with an inventory, every workload as caller and as destination. Without an
// inventory, each selector the policies name stands for the pods it selects.
//
// Callers and destinations that are no workload of the inventory are made up here as pods
// (`Probe` workloads) so that the verifier's replay evaluates them like real ones.

import { compare } from '../flow/compare.js';
import type { Identity } from '../flow/identity.js';
import type { Inventory, Pod } from '../inventory/inventory.js';
import type { AuthorizationPolicyModel } from '../verify/istio.js';
import type { LabelSelector } from '../verify/label-selector.js';
import { parseCidr, type Cidr } from '../verify/cidr.js';
import type { NetworkPolicyModel, NpProtocol } from '../verify/network-policy.js';
import type { PolicySet } from '../verify/manifests.js';
import { OUTSIDER } from '../verify/over-permission.js';
import type { ReplayEndpoint } from '../verify/replay.js';

/** The segment a probe path puts where a policy's pattern leaves anything: read as `{other}`. */
export const OTHER_SEGMENT = 'ztmap-other';
/** A method no policy names; read as `{other method}`. */
export const OTHER_METHOD = 'ZTMAP-OTHER';
/** A namespace no policy names: where a caller from "anywhere else" lives. */
export const OTHER_NAMESPACE = 'ztmap-other-namespace';
/** The kind of made-up workloads: pods standing for a selector, a principal or a namespace. */
export const PROBE_KIND = 'Probe';

export interface Probes {
  /** The inventory with the made-up pods added (replay finds every caller's and destination's pods in it). */
  inventory: Inventory;
  callers: ReplayEndpoint[];
  /** Service accounts per caller key, as replay presents them over auto-mTLS. */
  serviceAccounts: Map<string, string[]>;
  destinations: ReplayEndpoint[];
  /**
   * Without an inventory, a made-up caller with labels → its twin without labels (same namespace
   * and service account): a change both show is the service account's, reported once, for the twin.
   */
  unlabelledTwin: Map<string, string>;
  /**
   * The ports, HTTP methods and paths tried at a destination: those named by the
   * AuthorizationPolicies that apply to it (`applicable`, on either side), by NetworkPolicies
   * that may select it or its callers, by PeerAuthentications, its container ports, and one
   * of each that nobody names. Values no applicable policy names cannot change its verdicts.
   */
  requestsFor(destination: ReplayEndpoint, applicable: readonly AuthorizationPolicyModel[]): { ports: number[]; methods: string[]; paths: string[]; datagrams: { protocol: NpProtocol; port: number }[] };
}

interface SelectorFacts {
  namespace: string;
  labels: Record<string, string>;
}

/** What both sides name, gathered once. */
interface Named {
  namespaces: Set<string>;
  /** Label sets pods are selected by (destinations, and NetworkPolicy peers), by namespace; `*` for every namespace. */
  selected: Map<string, Map<string, Record<string, string>>>;
  /** Service accounts by namespace, from principals and serviceAccounts. */
  accounts: Map<string, Set<string>>;
  ips: Set<string>;
  /** Every port any policy names (to find one nobody names). */
  ports: Set<number>;
  /** NetworkPolicy ingress ports by the policies' namespace (they select pods there only). */
  ingressPorts: Map<string, Set<number>>;
  /** Ports that may matter at any destination: NetworkPolicy egress ports, PeerAuthentication port-level modes. */
  sharedPorts: Set<number>;
  /** Addresses NetworkPolicy egress ipBlocks name, with each block's edges: destinations outside the cluster. */
  egressIps: Set<string>;
  /** UDP and SCTP ports NetworkPolicies name (and their neighbours): `UDP/53`. */
  datagrams: Set<string>;
}

const labelsKey = (l: Record<string, string>) => JSON.stringify(Object.entries(l).sort(([a], [b]) => compare(a, b)));

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s === undefined) m.set(k, new Set([v]));
  else s.add(v);
}

/**
 * Addresses that tell a block from its neighbours: its first and last address and the ones
 * just outside (a block keeping its address but changing its prefix changes only those).
 * IPv6 blocks give their address only.
 */
export function cidrEdges(c: Cidr): string[] {
  if (c.family !== 'ipv4') return [c.address];
  const n = c.address.split('.').reduce((x, o) => x * 256n + BigInt(o), 0n);
  const size = 1n << BigInt(32 - c.prefix);
  const first = (n / size) * size;
  const last = first + size - 1n;
  const text = (x: bigint) => [24n, 16n, 8n, 0n].map((b) => String((x >> b) & 255n)).join('.');
  return [first - 1n, first, c.address === text(first) ? first : n, last, last + 1n].filter((x) => x >= 0n && x <= 0xffffffffn).map(text);
}

/**
 * Label sets that tell a selector's pods from its neighbours: the pod it selects (matchLabels,
 * a value of each In, a value for each Exists; NotIn and DoesNotExist met by leaving
 * the key out), and beside it pods that break one requirement or meet it another way: each
 * In and NotIn value, a value none of them names, the key of a DoesNotExist present, an
 * Exists key absent.
 * Two selectors that some pod tells apart are then told apart by one of their sets (a
 * property test checks it), so a selector changed from `NotIn [a]` to `{}` shows pods `a`.
 */
export function labelSetsFor(s: LabelSelector): Record<string, string>[] {
  const base = selectedLabels(s);
  const out = [base];
  const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));
  for (const r of s.matchExpressions) {
    if (r.operator === 'In' || r.operator === 'NotIn') for (const v of r.values) out.push({ ...base, [r.key]: v });
    if (r.operator !== 'Exists') out.push({ ...base, [r.key]: freshValue(r.values) });
    if (r.operator === 'Exists') out.push(without(r.key));
  }
  return [...new Map(out.map((l) => [labelsKey(l), l])).values()];
}

/** Labels of a pod the selector selects, when one can: each key's requirements met together. */
function selectedLabels(s: LabelSelector): Record<string, string> {
  const keys = new Map<string, { allowed?: string[]; forbidden: string[]; exists: boolean; absent: boolean }>();
  const of = (k: string) => keys.get(k) ?? keys.set(k, { forbidden: [], exists: false, absent: false }).get(k)!;
  const allow = (k: string, values: string[]) => {
    const c = of(k);
    c.allowed = c.allowed === undefined ? values : c.allowed.filter((v) => values.includes(v));
    c.exists = true;
  };
  for (const [k, v] of Object.entries(s.matchLabels)) allow(k, [v]);
  for (const r of s.matchExpressions) {
    if (r.operator === 'In') allow(r.key, r.values);
    else if (r.operator === 'NotIn') of(r.key).forbidden.push(...r.values);
    else if (r.operator === 'Exists') of(r.key).exists = true;
    else of(r.key).absent = true;
  }
  const out: Record<string, string> = {};
  for (const [k, c] of keys) {
    // A DoesNotExist beside a requirement of a value selects nothing: any pod will do.
    if (!c.exists || c.absent) continue;
    out[k] = c.allowed === undefined ? freshValue(c.forbidden) : (c.allowed.find((v) => !c.forbidden.includes(v)) ?? c.allowed[0] ?? freshValue(c.forbidden));
  }
  return out;
}

/** A label value no policy names: the probes' filler, numbered past the values to avoid. */
function freshValue(avoid: readonly string[]): string {
  let v = OTHER_SEGMENT;
  for (let i = 2; avoid.includes(v); i++) v = `${OTHER_SEGMENT}-${i}`;
  return v;
}

/** Namespaces a namespaceSelector names by `kubernetes.io/metadata.name` (matchLabels, In or NotIn). */
function namespacesNamed(s: LabelSelector): string[] {
  const key = 'kubernetes.io/metadata.name';
  const named = s.matchExpressions.filter((r) => r.key === key).flatMap((r) => r.values);
  return s.matchLabels[key] === undefined ? named : [s.matchLabels[key], ...named];
}

function select(named: Named, f: SelectorFacts): void {
  let m = named.selected.get(f.namespace);
  if (m === undefined) named.selected.set(f.namespace, (m = new Map()));
  m.set(labelsKey(f.labels), f.labels);
}

/** A concrete value an Istio string pattern matches: the pattern itself, or its `*` filled in. */
function instanceOf(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  if (pattern.startsWith('*')) return `${OTHER_SEGMENT}${pattern.slice(1)}`;
  if (pattern.endsWith('*')) return `${pattern.slice(0, -1)}${OTHER_SEGMENT}`;
  return pattern;
}

/** `TD/ns/NS/sa/SA` (a pattern filled in) → the namespace and service account, when it has that shape. */
function accountOf(principal: string): { namespace: string; sa: string } | undefined {
  const m = /(?:^|\/)ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  return m === null ? undefined : { namespace: m[1]!, sa: m[2]! };
}

/** Paths that tell a path pattern's matches from its neighbours': inside it, beside it, below it. */
export function pathProbes(pattern: string): string[] {
  const o = OTHER_SEGMENT;
  if (pattern === '*') return [];
  if (pattern.includes('{*}') || pattern.includes('{**}')) {
    const filled = pattern.replaceAll('{**}', `${o}/${o}`).replaceAll('{*}', o);
    // Zero, one and two segments where a template stands: `{*}` takes one, `{**}` any number,
    // and `*/admin` any: only these tell the three apart.
    const variants = [pattern.replaceAll('{**}', o).replaceAll('{*}', `${o}/${o}`), pattern.replaceAll('/{**}', '').replaceAll('/{*}', '')].filter((x) => !x.includes('{'));
    return [filled, ...variants, ...pathProbes(filled)];
  }
  if (pattern.startsWith('*')) {
    // Two fillings that end differently: a longer suffix (`*r.json` against `*.json`) cannot
    // match both; and the suffix alone when it is a path (`*/admin` matches `/admin`).
    const suffix = pattern.slice(1);
    // And two paths that end differently without it, one of which it does not match.
    return [`/${o}${suffix}`, `/${o}0${suffix}`, `/${o}0`, ...(suffix.startsWith('/') ? [suffix] : [])];
  }
  const literal = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  if (!literal.startsWith('/')) return [literal];
  const parent = literal.slice(0, literal.lastIndexOf('/') + 1);
  const out = [literal, `${parent}${o}`];
  if (pattern.endsWith('*')) out.push(`${literal}${o}`);
  else out.push(`${literal.replace(/\/$/, '')}/${o}`);
  return out;
}

interface IstioValues {
  ports: Set<number>;
  methods: Set<string>;
  paths: Set<string>;
}
const valuesMemo = new WeakMap<AuthorizationPolicyModel, IstioValues>();

/** The ports, methods and paths (as probe paths) a policy names. */
function istioValues(p: AuthorizationPolicyModel): IstioValues {
  let v = valuesMemo.get(p);
  if (v !== undefined) return v;
  v = { ports: new Set(), methods: new Set(), paths: new Set() };
  for (const r of p.rules) {
    for (const o of r.to ?? []) {
      for (const port of [...(o.ports ?? []), ...(o.notPorts ?? [])]) v.ports.add(port);
      for (const m of [...(o.methods ?? []), ...(o.notMethods ?? [])]) {
        const x = instanceOf(m);
        if (x !== undefined) v.methods.add(x);
      }
      for (const path of [...(o.paths ?? []), ...(o.notPaths ?? [])]) for (const x of pathProbes(path)) v.paths.add(x);
    }
    for (const c of r.when ?? []) if (c.key === 'destination.port') for (const x of [...(c.values ?? []), ...(c.notValues ?? [])]) v.ports.add(Number(x));
  }
  valuesMemo.set(p, v);
  return v;
}

function nameIstio(named: Named, p: AuthorizationPolicyModel): void {
  named.namespaces.add(p.namespace);
  if (p.selector !== undefined) for (const labels of labelSetsFor(p.selector)) select(named, { namespace: p.namespace, labels });
  for (const r of p.rules) {
    for (const s of r.from ?? []) {
      for (const x of [...(s.principals ?? []), ...(s.notPrincipals ?? [])]) {
        // A suffix principal (`*/sa/admin`) names an account in any namespace: made up in one no policy names.
        const suffixed = /^\*.*\/sa\/([^/*]+)$/.exec(x);
        if (suffixed !== null && accountOf(instanceOf(x) ?? '') === undefined) addTo(named.accounts, OTHER_NAMESPACE, suffixed[1]!);
        const a = accountOf(instanceOf(x) ?? '');
        if (a === undefined) continue;
        named.namespaces.add(a.namespace);
        addTo(named.accounts, a.namespace, a.sa);
      }
      for (const x of [...(s.namespaces ?? []), ...(s.notNamespaces ?? [])]) {
        const ns = instanceOf(x);
        if (ns !== undefined && /^[a-z0-9-]+$/.test(ns)) named.namespaces.add(ns);
      }
      for (const x of [...(s.serviceAccounts ?? []), ...(s.notServiceAccounts ?? [])]) {
        const [ns, sa] = x.split('/');
        named.namespaces.add(ns!);
        addTo(named.accounts, ns!, sa!);
      }
      for (const c of [...(s.ipBlocks ?? []), ...(s.notIpBlocks ?? []), ...(s.remoteIpBlocks ?? []), ...(s.notRemoteIpBlocks ?? [])]) for (const ip of cidrEdges(c)) named.ips.add(ip);
    }
    for (const port of istioValues(p).ports) named.ports.add(port);
    for (const c of r.when ?? []) {
      const values = [...(c.values ?? []), ...(c.notValues ?? [])];
      if (c.key === 'source.ip' || c.key === 'remote.ip') {
        for (const v of values) {
          const cidr = parseCidr(v, true);
          for (const ip of cidr === undefined ? [v.split('/')[0]!] : cidrEdges(cidr)) named.ips.add(ip);
        }
      }
      if (c.key === 'source.namespace') for (const v of values) if (instanceOf(v) !== undefined) named.namespaces.add(instanceOf(v)!);
      if (c.key === 'source.principal') {
        for (const v of values) {
          const a = accountOf(instanceOf(v) ?? '');
          if (a !== undefined) addTo(named.accounts, a.namespace, a.sa);
        }
      }
    }
  }
}

function nameNetworkPolicies(named: Named, model: NetworkPolicyModel): void {
  for (const [ns, policies] of model.byNamespace) {
    named.namespaces.add(ns);
    for (const p of policies) {
      for (const labels of labelSetsFor(p.podSelector)) select(named, { namespace: ns, labels });
      for (const [direction, r] of [...(p.ingress ?? []).map((x) => ['ingress', x] as const), ...(p.egress ?? []).map((x) => ['egress', x] as const)]) {
        for (const pr of r.ports ?? []) {
          if (typeof pr.port !== 'number') continue;
          const ports = [pr.port, ...(pr.port > 1 ? [pr.port - 1] : []), ...(pr.endPort === undefined ? [pr.port + 1] : [pr.endPort, pr.endPort + 1])];
          if (pr.protocol !== 'TCP') {
            for (const port of ports) named.datagrams.add(`${pr.protocol}/${port}`);
            continue;
          }
          for (const port of ports) {
            named.ports.add(port);
            if (direction === 'egress') named.sharedPorts.add(port);
            else addTo(named.ingressPorts, ns, port);
          }
        }
        for (const peer of r.peers ?? []) {
          if (peer.ipBlock !== undefined) {
            for (const c of [peer.ipBlock.cidr, ...peer.ipBlock.except]) {
              for (const ip of cidrEdges(c)) {
                named.ips.add(ip);
                if (direction === 'egress') named.egressIps.add(ip);
              }
            }
            continue;
          }
          const nsNames = peer.namespaceSelector === undefined ? [] : namespacesNamed(peer.namespaceSelector);
          for (const x of nsNames) named.namespaces.add(x);
          const nsName = peer.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'];
          for (const labels of peer.podSelector === undefined ? [{}] : labelSetsFor(peer.podSelector)) {
            if (peer.namespaceSelector === undefined) select(named, { namespace: ns, labels });
            else if (nsName !== undefined) select(named, { namespace: nsName, labels });
            else select(named, { namespace: '*', labels });
          }
        }
      }
    }
  }
}

function probePod(namespace: string, name: string, labels: Record<string, string>, serviceAccount: string, meshed: boolean, ports: { port: number; protocol: string }[] = []): Pod {
  const key = `${namespace}/${PROBE_KIND}/${name}`;
  const workload: Identity = { key, kind: 'workload', namespace, name, workloadKind: PROBE_KIND, serviceAccount, labels };
  return { namespace, name, uid: '', ips: [], hostNetwork: false, serviceAccount, labels, ports, hasSidecar: meshed, dataplane: meshed ? 'sidecar' : 'none', workload, identity: workload };
}

const labelText = (l: Record<string, string>) => {
  const entries = Object.entries(l).sort(([a], [b]) => compare(a, b));
  return entries.length === 0 ? 'any pod' : entries.map(([k, v]) => `${k}=${v}`).join(',');
};

const endpointOf = (p: Pod): ReplayEndpoint => ({ key: p.workload.key, kind: 'workload', namespace: p.namespace, name: p.workload.name, ips: [] });

export interface ProbeOptions {
  /** The cluster's workloads as callers and destinations; without it, selectors stand for pods. */
  inventory?: Inventory;
  rootNamespace: string;
  models: readonly { policies: PolicySet; networkPolicies: NetworkPolicyModel }[];
}

const EMPTY_INVENTORY = (): Inventory => ({
  pods: [],
  controllers: new Map(),
  services: [],
  namespaces: [],
  namespaceLabels: new Map(),
  workloads: new Map(),
  podsByIp: new Map(),
  podsByName: new Map(),
  nodeIps: new Set(),
  ipConflicts: [],
});

export function probesOf(o: ProbeOptions): Probes {
  const named: Named = { namespaces: new Set(), selected: new Map(), accounts: new Map(), ips: new Set(), ports: new Set(), ingressPorts: new Map(), sharedPorts: new Set(), egressIps: new Set(), datagrams: new Set() };
  for (const m of o.models) {
    for (const p of m.policies.authorization) nameIstio(named, p);
    for (const p of m.policies.peerAuthentication) {
      named.namespaces.add(p.namespace);
      for (const port of p.portLevel.keys()) {
        named.ports.add(port);
        named.sharedPorts.add(port);
      }
    }
    nameNetworkPolicies(named, m.networkPolicies);
  }
  const base = o.inventory ?? EMPTY_INVENTORY();
  for (const ns of base.namespaces) named.namespaces.add(ns);
  named.namespaces.add(OTHER_NAMESPACE);
  const namespaces = [...named.namespaces].sort(compare);
  // A root-namespace policy's selector selects pods in every namespace: made up in each.
  for (const labels of named.selected.get(o.rootNamespace)?.values() ?? []) for (const ns of namespaces) select(named, { namespace: ns, labels });
  const made: Pod[] = [];
  const destinations: ReplayEndpoint[] = [];
  const callers: ReplayEndpoint[] = [];
  const serviceAccounts = new Map<string, string[]>();
  const unlabelledTwin = new Map<string, string>();

  if (o.inventory !== undefined) {
    const keys = [...new Set(o.inventory.pods.map((p) => p.workload.key))].sort(compare);
    for (const key of keys) {
      const pods = o.inventory.pods.filter((p) => p.workload.key === key);
      const e = endpointOf(pods[0]!);
      destinations.push(e);
      callers.push(e);
      serviceAccounts.set(key, [...new Set(pods.map((p) => p.serviceAccount))].sort(compare));
    }
    // Identities the policies name that no meshed workload presents: a workload that may come.
    const presented = new Set(o.inventory.pods.filter((p) => p.hasSidecar).map((p) => `${p.namespace}/${p.serviceAccount}`));
    for (const ns of namespaces) {
      for (const sa of [...(named.accounts.get(ns) ?? [])].sort(compare)) {
        if (!presented.has(`${ns}/${sa}`)) made.push(probePod(ns, `sa=${sa}`, {}, sa, true));
      }
      if (!o.inventory.namespaces.includes(ns)) made.push(probePod(ns, 'any pod', {}, 'default', true));
    }
  } else {
    // Each selector stands for its pods: one made-up pod per (namespace, labels, service account).
    for (const ns of namespaces) {
      const sets = new Map([...(named.selected.get(ns) ?? new Map<string, Record<string, string>>()), ...(named.selected.get('*') ?? new Map<string, Record<string, string>>())]);
      sets.set(labelsKey({}), {});
      const accounts = [...new Set(['default', ...(named.accounts.get(ns) ?? [])])].sort(compare);
      for (const [, labels] of [...sets].sort(([a], [b]) => compare(a, b))) {
        const dest = probePod(ns, labelText(labels), labels, 'default', true);
        // Which service account a destination runs as does not change what reaches it.
        if ((named.selected.get(ns)?.has(labelsKey(labels)) ?? false) || Object.keys(labels).length === 0) {
          made.push(dest);
          destinations.push(endpointOf(dest));
        }
        for (const sa of accounts) {
          const name = `${labelText(labels)} sa=${sa}`;
          const caller = probePod(ns, name, labels, sa, true);
          made.push(caller);
          callers.push(endpointOf(caller));
          serviceAccounts.set(caller.workload.key, [sa]);
          if (Object.keys(labels).length > 0) unlabelledTwin.set(caller.workload.key, probePod(ns, `${labelText({})} sa=${sa}`, {}, sa, true).workload.key);
        }
      }
    }
  }
  // A pod without a sidecar in each namespace: no identity, only what NetworkPolicy and PeerAuthentication decide.
  for (const ns of namespaces) {
    const unmeshed = probePod(ns, 'unmeshed pod', {}, 'default', false);
    made.push(unmeshed);
  }
  for (const p of made) {
    const e = endpointOf(p);
    if (!callers.some((c) => c.key === e.key) && !destinations.some((d) => d.key === e.key)) {
      callers.push(e);
      serviceAccounts.set(e.key, [p.serviceAccount]);
    } else if (!serviceAccounts.has(e.key)) serviceAccounts.set(e.key, [p.serviceAccount]);
  }
  const world = (ip: string): ReplayEndpoint => ({ key: `world:${ip}`, kind: 'world', name: ip, ips: [ip] });
  for (const ip of [...named.ips].sort(compare)) callers.push(world(ip));
  if (!named.ips.has(OUTSIDER.ips[0]!)) callers.push(OUTSIDER);
  // Egress to addresses outside the cluster: each address egress blocks name, and one no block names.
  for (const ip of [...named.egressIps].sort(compare)) destinations.push(world(ip));
  if (!named.egressIps.has(OUTSIDER.ips[0]!)) destinations.push(OUTSIDER);
  callers.sort((a, b) => compare(a.key, b.key));
  destinations.sort((a, b) => compare(a.key, b.key));

  const inventory: Inventory = {
    ...base,
    pods: [...base.pods, ...made],
    namespaces: [...new Set([...base.namespaces, ...namespaces])].sort(compare),
  };
  // A port no policy names: the first free one from 65000 (some always is: a policy names finitely many).
  let otherPort = 65000;
  while (named.ports.has(otherPort) || named.datagrams.has(`UDP/${otherPort}`) || named.datagrams.has(`SCTP/${otherPort}`)) otherPort = otherPort === 65535 ? 1024 : otherPort + 1;
  const podsOf = new Map<string, Pod[]>();
  for (const p of inventory.pods) podsOf.set(p.workload.key, [...(podsOf.get(p.workload.key) ?? []), p]);
  const requestsFor = (d: ReplayEndpoint, applicable: readonly AuthorizationPolicyModel[]) => {
    const own = (podsOf.get(d.key) ?? []).flatMap((p) => p.ports.filter((c) => c.protocol === 'TCP').map((c) => c.port));
    const ports = new Set([...named.sharedPorts, ...(named.ingressPorts.get(d.namespace ?? '') ?? []), ...own, otherPort]);
    const methods = new Set(['GET', OTHER_METHOD]);
    const paths = new Set([`/${OTHER_SEGMENT}`]);
    for (const p of applicable) {
      const v = istioValues(p);
      for (const x of v.ports) ports.add(x);
      for (const x of v.methods) methods.add(x);
      for (const x of v.paths) paths.add(x);
    }
    // UDP on a port nobody names too: a rule for every port of every protocol differs from one for TCP there.
    const datagrams = [...named.datagrams, `UDP/${otherPort}`, `SCTP/${otherPort}`].map((x) => {
      const [protocol, port] = x.split('/');
      return { protocol: protocol as NpProtocol, port: Number(port) };
    });
    return {
      ports: [...ports].filter((p) => p >= 1 && p <= 65535).sort((a, b) => a - b),
      methods: [...methods].sort(compare),
      paths: [...paths].sort(compare),
      datagrams: [...new Map(datagrams.filter((d) => d.port >= 1 && d.port <= 65535).map((d) => [`${d.protocol}/${d.port}`, d])).values()].sort((x, y) => compare(x.protocol, y.protocol) || x.port - y.port),
    };
  };
  return { inventory, callers, serviceAccounts, unlabelledTwin, destinations, requestsFor };
}
