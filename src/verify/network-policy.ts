// Kubernetes NetworkPolicy (networking.k8s.io/v1) evaluated over one connection, from the
// API reference's semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
// - a pod is isolated for ingress (egress) once any policy selecting it has Ingress (Egress)
//   in its policyTypes; then the union of those policies' rules is what is allowed;
// - a connection needs egress allowed at the client and ingress allowed at the server;
// - in a peer, namespaceSelector and podSelector in one element AND; elements OR; a
//   podSelector alone means the policy's own namespace;
// - ports are the destination pod's ports; a named port resolves against that pod's
//   containerPorts; endPort makes a range.
// Choices where implementations differ: ipBlock CIDRs match pod IPs too (Calico, and the
// Cyclonus oracle, do so); hostNetwork pods are not modelled. An endpoint given as an IP is
// outside the cluster: no policy selects it, so its own side allows.

import { parseCidr, strictSubset, type Cidr } from './cidr.js';
import { isObj, matchesSelector, parseLabelSelector, type LabelSelector } from './label-selector.js';

export type NpProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface PodEndpoint {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip?: string;
  hostIP?: string;
  ports: { name?: string; containerPort: number; protocol: NpProtocol }[];
}

export type NpEndpoint = { pod: PodEndpoint } | { ip: string };

export interface NpConnection {
  from: NpEndpoint;
  to: NpEndpoint;
  port: number;
  protocol: NpProtocol;
}

/** A policy, and for an allow the index of the rule in spec.ingress / spec.egress. */
export interface NpPolicyRef {
  namespace: string;
  name: string;
  rule?: number;
}

interface NpSideVerdict {
  /** Whether any policy selecting the pod isolates it for this direction. */
  isolated: boolean;
  allowed: boolean;
  /** The rules that allow it (empty when not isolated). */
  allowedBy: NpPolicyRef[];
  /** The policies that isolate the pod: when denied, these are what denies. */
  isolatedBy: NpPolicyRef[];
}

export interface NpVerdict {
  allowed: boolean;
  egress: NpSideVerdict;
  ingress: NpSideVerdict;
}

interface IpBlock {
  cidr: Cidr;
  except: Cidr[];
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
}

interface PortRange {
  protocol: NpProtocol;
  /** Undefined: every port of the protocol. */
  port?: number | string;
  endPort?: number;
}

interface Rule {
  /** Undefined: every peer. */
  peers?: Peer[];
  /** Undefined: every port. */
  ports?: PortRange[];
}

interface Policy {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** Undefined when the policy does not isolate for this direction. */
  ingress?: Rule[];
  egress?: Rule[];
}

/** The policies that select a pod and isolate it for each direction, in namespace order. */
interface SelectingPolicies {
  ingress: readonly Policy[];
  egress: readonly Policy[];
}

interface PolicyProblem {
  namespace: string;
  name: string;
  message: string;
}

export interface NetworkPolicyModel {
  readonly byNamespace: ReadonlyMap<string, readonly Policy[]>;
  /**
   * The policies selecting a pod, by namespace and then by the pod's labels object (pods'
   * labels are not mutated): each pod's isolating policies are found once, not per
   * connection. Filled as connections are evaluated.
   */
  readonly selecting: Map<string, WeakMap<object, SelectingPolicies>>;
  readonly namespaces: Readonly<Record<string, Record<string, string>>>;
  /** Policies the API server would reject: not applied, reported. */
  readonly problems: readonly PolicyProblem[];
}

const PROTOCOLS = new Set<string>(['TCP', 'UDP', 'SCTP']);

/**
 * Index `policies` (NetworkPolicy objects as parsed from YAML or JSON) by namespace.
 * `namespaces` maps each namespace to its labels; `kubernetes.io/metadata.name` is added,
 * as the API server does.
 */
export function networkPolicyModel(policies: unknown[], namespaces: Record<string, Record<string, string>>): NetworkPolicyModel {
  const byNamespace = new Map<string, Policy[]>();
  const problems: PolicyProblem[] = [];
  for (const raw of policies) {
    const p = parsePolicy(raw);
    if ('message' in p) {
      problems.push(p);
      continue;
    }
    const list = byNamespace.get(p.namespace) ?? [];
    list.push(p);
    byNamespace.set(p.namespace, list);
  }
  const withNames: Record<string, Record<string, string>> = {};
  for (const [ns, labels] of Object.entries(namespaces)) withNames[ns] = { ...labels, 'kubernetes.io/metadata.name': ns };
  return { byNamespace, selecting: new Map(), namespaces: withNames, problems };
}

export function evaluateConnection(model: NetworkPolicyModel, c: NpConnection): NpVerdict {
  const egress = 'pod' in c.from ? side(model, c.from.pod, 'egress', c) : OPEN;
  const ingress = 'pod' in c.to ? side(model, c.to.pod, 'ingress', c) : OPEN;
  return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}

const OPEN: NpSideVerdict = Object.freeze({ isolated: false, allowed: true, allowedBy: [], isolatedBy: [] }) as NpSideVerdict;

function selectingPolicies(model: NetworkPolicyModel, pod: PodEndpoint): SelectingPolicies {
  let byLabels = model.selecting.get(pod.namespace);
  if (byLabels === undefined) model.selecting.set(pod.namespace, (byLabels = new WeakMap()));
  let s = byLabels.get(pod.labels);
  if (s === undefined) {
    const selected = (model.byNamespace.get(pod.namespace) ?? []).filter((p) => matchesSelector(p.podSelector, pod.labels));
    s = { ingress: selected.filter((p) => p.ingress !== undefined), egress: selected.filter((p) => p.egress !== undefined) };
    byLabels.set(pod.labels, s);
  }
  return s;
}

function side(model: NetworkPolicyModel, pod: PodEndpoint, direction: 'ingress' | 'egress', c: NpConnection): NpSideVerdict {
  const isolatedBy: NpPolicyRef[] = [];
  const allowedBy: NpPolicyRef[] = [];
  const peer = direction === 'ingress' ? c.from : c.to;
  for (const p of selectingPolicies(model, pod)[direction]) {
    const rules = p[direction]!;
    isolatedBy.push({ namespace: p.namespace, name: p.name });
    rules.forEach((r, i) => {
      if (peerMatches(model, p, r, peer) && portMatches(r, c)) allowedBy.push({ namespace: p.namespace, name: p.name, rule: i });
    });
  }
  const isolated = isolatedBy.length > 0;
  return { isolated, allowed: !isolated || allowedBy.length > 0, allowedBy, isolatedBy };
}

/**
 * The ingress rules that could admit a connection to `pod`, each with its policy's
 * namespace; undefined when no policy isolates the pod for ingress (then anything may
 * reach it). For the over-permission search, which asks which clients a pod admits.
 */
export function ingressRulesOf(model: NetworkPolicyModel, pod: PodEndpoint): { namespace: string; peers: readonly NpPeer[] | undefined }[] | undefined {
  const policies = selectingPolicies(model, pod).ingress;
  if (policies.length === 0) return undefined;
  return policies.flatMap((p) => p.ingress!.map((r) => ({ namespace: p.namespace, peers: r.peers })));
}

/** A peer of a rule (podSelector, namespaceSelector, ipBlock), opaque outside this file. */
export type NpPeer = Readonly<Peer>;

/** What a peer reads of an endpoint: an address (ipBlock) or selectors (the other forms). */
export const peerReadsAddress = (peer: NpPeer) => peer.ipBlock !== undefined;
/** Whether a selector peer of a policy in `policyNamespace` can match pods of `namespace`. */
export function peerSelectsNamespace(model: NetworkPolicyModel, policyNamespace: string, peer: NpPeer, namespace: string): boolean {
  if (peer.ipBlock !== undefined) return false;
  return peer.namespaceSelector === undefined ? namespace === policyNamespace : matchesSelector(peer.namespaceSelector, namespaceLabels(model, namespace));
}

function peerMatches(model: NetworkPolicyModel, p: Policy, r: Rule, e: NpEndpoint): boolean {
  if (r.peers === undefined) return true;
  return r.peers.some((peer) => peerAdmits(model, p.namespace, peer, e));
}

/** Whether one peer of a policy in `namespace` matches the endpoint. */
export function peerAdmits(model: NetworkPolicyModel, namespace: string, peer: NpPeer, e: NpEndpoint): boolean {
  if (peer.ipBlock !== undefined) {
    const ip = 'pod' in e ? e.pod.ip : e.ip;
    return ip !== undefined && peer.ipBlock.cidr.contains(ip) && !peer.ipBlock.except.some((x) => x.contains(ip));
  }
  if (!('pod' in e)) return false;
  const pod = e.pod;
  if (peer.namespaceSelector === undefined) {
    if (pod.namespace !== namespace) return false;
  } else if (!matchesSelector(peer.namespaceSelector, namespaceLabels(model, pod.namespace))) {
    return false;
  }
  return peer.podSelector === undefined || matchesSelector(peer.podSelector, pod.labels);
}

/** A namespace's labels as selectors read them (with kubernetes.io/metadata.name). */
function namespaceLabels(model: NetworkPolicyModel, namespace: string): Readonly<Record<string, string>> {
  return model.namespaces[namespace] ?? { 'kubernetes.io/metadata.name': namespace };
}

function portMatches(r: Rule, c: NpConnection): boolean {
  if (r.ports === undefined) return true;
  return r.ports.some((pr) => {
    if (pr.protocol !== c.protocol) return false;
    if (pr.port === undefined) return true;
    if (typeof pr.port === 'number') return pr.endPort === undefined ? c.port === pr.port : c.port >= pr.port && c.port <= pr.endPort;
    // A named port means the destination pod's container port of that name and protocol.
    if (!('pod' in c.to)) return false;
    const name = pr.port;
    return c.to.pod.ports.some((cp) => cp.name === name && cp.protocol === c.protocol && cp.containerPort === c.port);
  });
}

function parsePolicy(raw: unknown): Policy | PolicyProblem {
  const meta = isObj(raw) && isObj(raw['metadata']) ? raw['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '(unnamed)';
  const namespace = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
  const fail = (message: string): PolicyProblem => ({ namespace, name, message });
  if (!isObj(raw)) return fail('not an object');
  // No spec is an empty one (spec is omitempty in the API): an empty podSelector, Ingress only,
  // so the API server accepts it as a deny-all-ingress policy for the namespace.
  const spec = raw['spec'] ?? {};
  if (!isObj(spec)) return fail('spec is not an object');
  const podSelector = parseLabelSelector(spec['podSelector'], 'spec.podSelector');
  if (typeof podSelector === 'string') return fail(podSelector);
  const ingress = parseRules(spec['ingress'], 'ingress');
  if (typeof ingress === 'string') return fail(ingress);
  const egress = parseRules(spec['egress'], 'egress');
  if (typeof egress === 'string') return fail(egress);
  // policyTypes, when absent, default as the API server does: Ingress always, Egress when
  // the policy has egress rules.
  let types = spec['policyTypes'];
  if (types === undefined || types === null || (Array.isArray(types) && types.length === 0)) {
    types = egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  if (!Array.isArray(types) || !types.every((t) => t === 'Ingress' || t === 'Egress')) return fail('spec.policyTypes may hold only Ingress and Egress');
  return {
    namespace,
    name,
    podSelector,
    ...(types.includes('Ingress') ? { ingress } : {}),
    ...(types.includes('Egress') ? { egress } : {}),
  };
}

function parseRules(v: unknown, direction: 'ingress' | 'egress'): Rule[] | string {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return `spec.${direction} is not a list`;
  const peersField = direction === 'ingress' ? 'from' : 'to';
  const rules: Rule[] = [];
  for (const [i, r] of v.entries()) {
    const at = `spec.${direction}[${i}]`;
    if (r === null) {
      rules.push({});
      continue;
    }
    if (!isObj(r)) return `${at} is not an object`;
    const rule: Rule = {};
    const peers = r[peersField];
    // An empty or absent list matches everything.
    if (Array.isArray(peers) && peers.length > 0) {
      rule.peers = [];
      for (const [j, peer] of peers.entries()) {
        const parsed = parsePeer(peer, `${at}.${peersField}[${j}]`);
        if (typeof parsed === 'string') return parsed;
        rule.peers.push(parsed);
      }
    } else if (peers !== undefined && peers !== null && !Array.isArray(peers)) {
      return `${at}.${peersField} is not a list`;
    }
    const ports = r['ports'];
    if (Array.isArray(ports) && ports.length > 0) {
      rule.ports = [];
      for (const [j, port] of ports.entries()) {
        const parsed = parsePort(port, `${at}.ports[${j}]`);
        if (typeof parsed === 'string') return parsed;
        rule.ports.push(parsed);
      }
    } else if (ports !== undefined && ports !== null && !Array.isArray(ports)) {
      return `${at}.ports is not a list`;
    }
    rules.push(rule);
  }
  return rules;
}

function parsePeer(v: unknown, at: string): Peer | string {
  if (!isObj(v)) return `${at} is not an object`;
  const peer: Peer = {};
  const has = (k: string) => v[k] !== undefined && v[k] !== null;
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) return `${at}: ipBlock cannot be combined with a selector`;
    const b = v['ipBlock'];
    if (!isObj(b) || typeof b['cidr'] !== 'string') return `${at}.ipBlock has no cidr`;
    const cidr = parseCidr(b['cidr']);
    if (cidr === undefined) return `${at}.ipBlock.cidr "${b['cidr']}" is not a CIDR`;
    const except: Cidr[] = [];
    const ex = b['except'] ?? [];
    if (!Array.isArray(ex)) return `${at}.ipBlock.except is not a list`;
    for (const x of ex) {
      const c = typeof x === 'string' ? parseCidr(x) : undefined;
      if (c === undefined || c.family !== cidr.family) return `${at}.ipBlock.except "${String(x)}" is not a CIDR of the same family`;
      if (!strictSubset(c, cidr)) return `${at}.ipBlock.except "${c.text}" must be a strict subset of cidr ${cidr.text}`;
      except.push(c);
    }
    peer.ipBlock = { cidr, except };
    return peer;
  }
  if (!has('podSelector') && !has('namespaceSelector')) return `${at} names no peer (podSelector, namespaceSelector or ipBlock)`;
  if (has('podSelector')) {
    const s = parseLabelSelector(v['podSelector'], `${at}.podSelector`);
    if (typeof s === 'string') return s;
    peer.podSelector = s;
  }
  if (has('namespaceSelector')) {
    const s = parseLabelSelector(v['namespaceSelector'], `${at}.namespaceSelector`);
    if (typeof s === 'string') return s;
    peer.namespaceSelector = s;
  }
  return peer;
}

function parsePort(v: unknown, at: string): PortRange | string {
  if (!isObj(v)) return `${at} is not an object`;
  const protocol = v['protocol'] ?? 'TCP';
  if (typeof protocol !== 'string' || !PROTOCOLS.has(protocol)) return `${at}.protocol must be TCP, UDP or SCTP`;
  const out: PortRange = { protocol: protocol as NpProtocol };
  const port = v['port'];
  if (port !== undefined && port !== null) {
    if (typeof port === 'number') {
      if (!Number.isInteger(port) || port < 1 || port > 65535) return `${at}.port ${port} is not a port number`;
    } else if (typeof port === 'string') {
      // A quoted number is a string, which the API server refuses as a port name.
      if (!isPortName(port)) return `${at}.port "${port}" is not a port name (IANA_SVC_NAME: at most 15 of a-z, 0-9 and -, with a letter)`;
    } else {
      return `${at}.port is neither a number nor a name`;
    }
    out.port = port;
  }
  const endPort = v['endPort'];
  if (endPort !== undefined && endPort !== null) {
    if (typeof out.port !== 'number') return `${at}.endPort needs a numeric port`;
    if (typeof endPort !== 'number' || !Number.isInteger(endPort) || endPort < out.port || endPort > 65535) return `${at}.endPort must be a port number at least port`;
    out.endPort = endPort;
  }
  return out;
}

/** IANA_SVC_NAME, as the API server checks container port names and named ports. */
function isPortName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(s) && /[a-z]/.test(s);
}
