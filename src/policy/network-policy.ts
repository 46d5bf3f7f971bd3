// Access rules → Kubernetes NetworkPolicy (networking.k8s.io/v1, https://kubernetes.io/docs/concepts/services-networking/network-policies/):
//   - per managed namespace a default deny of ingress and egress, with egress to the
//     cluster's DNS (UDP and TCP 53, selectors from the DNS pods in the inventory) and,
//     where sidecars run, to istiod (15012), since a default-deny egress breaks both;
//   - per workload one allow: ingress from the sources observed reaching it, egress to the
//     destinations it reached (a connection needs both ends' allows). Peers are
//     namespaceSelector (kubernetes.io/metadata.name) AND podSelector in one element;
//     ports are target ports;
//   - external destinations as /32 ipBlocks of the addresses observed, flagged for review;
//     unresolved sources cannot be selected and are reported;
//   - ambient mode (istio.io, "Ambient and Kubernetes NetworkPolicy"): between two meshed
//     pods of which one is ambient, traffic travels in HBONE to port 15008 of the server pod,
//     so that port is allowed beside the application's; kubelet probes reach ambient pods
//     from the link-local 169.254.7.127 (SNAT by istio-cni), which is allowed in every
//     namespace with ambient pods, since a CNI may otherwise drop them.

import { compare } from '../flow/compare.js';
import { rulesBy, type AccessRule, type Peer, type PodFacts, type RuleSet, type WorkloadFacts } from '../rules/access-rule.js';
import type { Finding } from '../rules/finding.js';
import { evidenceLine, windowLine, workloadNamePart, type EmitResult, type Emitted } from './emitted.js';
import { checkLabels, checkNamespace, invalidNamespace, InvalidNameError, objectName, type Manifest } from './manifest.js';
import { podsIn, selectorFor, workloadsIn } from './selector.js';

export interface NetworkPolicyOptions {
  /** Add a temporary allow-all per workload, to switch enforcement on safely. */
  firstApply: boolean;
}

const API_VERSION = 'networking.k8s.io/v1';
const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';
/** istiod's xDS and certificate port, which every sidecar dials. */
const ISTIOD_PORT = 15012;
/** Istio's HBONE port: ztunnel, and sidecars talking to ambient pods, tunnel pod-to-pod traffic to it. */
const HBONE_PORT = 15008;
/** The address istio-cni rewrites kubelet probes of ambient pods to. */
const AMBIENT_PROBE_SOURCE = '169.254.7.127';

/** Whether a connection between the two travels in HBONE: both meshed, and one of them ambient. */
function usesHbone(from: WorkloadFacts | undefined, to: WorkloadFacts | undefined): boolean {
  if (from === undefined || to === undefined || from.dataplane === 'none' || to.dataplane === 'none') return false;
  return from.dataplane === 'ambient' || to.dataplane === 'ambient';
}

type NpPeer = Record<string, unknown>;
interface NpPort {
  protocol: 'TCP' | 'UDP';
  port: number;
}

function networkPolicy(name: string, namespace: string, spec: Record<string, unknown>, extra: Record<string, string> = {}): Manifest {
  return { apiVersion: API_VERSION, kind: 'NetworkPolicy', metadata: { name, namespace, annotations: { 'ztmap.io/generated-by': 'ztmap propose', ...extra } }, spec };
}

/** Selectors and peer elements, memoized per workload: within its own namespace, which is a pod selector's scope. */
class Selectors {
  private readonly _cache = new Map<string, Record<string, string> | string>();
  private readonly _peers = new Map<string, NpPeer | string>();
  constructor(private readonly _workloads: WorkloadFacts[]) {}

  /** The workload's peer element (one object, shared by every policy naming it), or why it cannot be selected. */
  peer(w: WorkloadFacts): NpPeer | string {
    let p = this._peers.get(w.key);
    if (p === undefined) {
      const sel = this.of(w);
      this._peers.set(w.key, (p = typeof sel === 'string' ? sel : workloadPeer(w, sel)));
    }
    return p;
  }

  of(w: WorkloadFacts): Record<string, string> | string {
    let s = this._cache.get(w.key);
    if (s === undefined) {
      try {
        checkNamespace(w.namespace);
        const r = selectorFor(w, podsIn(this._workloads, w.namespace));
        s = r.ok ? checkLabels(r.matchLabels) : r.reason;
      } catch (err) {
        if (!(err instanceof InvalidNameError)) throw err;
        s = err.message;
      }
      this._cache.set(w.key, s);
    }
    return s;
  }
}

/** One peer element: namespace AND pods (the namespace was checked when the selector was made). */
function workloadPeer(w: WorkloadFacts, sel: Record<string, string>): NpPeer {
  return { namespaceSelector: { matchLabels: { [NAMESPACE_LABEL]: w.namespace } }, podSelector: { matchLabels: sel } };
}

function ipBlocks(p: Peer): NpPeer[] {
  return [...p.ips].sort(compare).map((ip) => ({ ipBlock: { cidr: ip.includes(':') ? `${ip}/128` : `${ip}/32` } }));
}

const peerKeys = new WeakMap<NpPeer, string>();

/** A peer element's JSON, the key peers are grouped and ordered by: made once per (shared) element. */
function peerKey(peer: NpPeer): string {
  let k = peerKeys.get(peer);
  if (k === undefined) peerKeys.set(peer, (k = JSON.stringify(peer)));
  return k;
}

const portLists = new Map<string, { ports: NpPort[]; key: string }>();

/**
 * The ports element of sorted TCP port numbers, and its JSON (the key rules are grouped and
 * ordered by): made once per distinct list and shared, since a mesh uses few port lists and
 * every workload's policy names some.
 */
function tcpPorts(numbers: number[]): { ports: NpPort[]; key: string } {
  const id = numbers.join(',');
  let list = portLists.get(id);
  if (list === undefined) {
    const ports = numbers.map((port): NpPort => ({ protocol: 'TCP', port }));
    portLists.set(id, (list = { ports, key: JSON.stringify(ports) }));
  }
  return list;
}

/** Rules with identical port lists share one NetworkPolicy rule (peers ORed). */
function groupByPorts(entries: { peers: NpPeer[]; port: number; rule: AccessRule }[]): { peers: NpPeer[]; ports: NpPort[]; rules: AccessRule[] }[] {
  const byPeer = new Map<string, { peer: NpPeer; ports: Set<number>; rules: AccessRule[] }>();
  for (const e of entries) {
    for (const peer of e.peers) {
      const k = peerKey(peer);
      const g = byPeer.get(k) ?? { peer, ports: new Set<number>(), rules: [] };
      g.ports.add(e.port);
      if (!g.rules.includes(e.rule)) g.rules.push(e.rule);
      byPeer.set(k, g);
    }
  }
  const byPorts = new Map<string, { peers: NpPeer[]; ports: NpPort[]; rules: AccessRule[] }>();
  for (const [, g] of [...byPeer.entries()].sort(([a], [b]) => compare(a, b))) {
    const { ports, key: k } = tcpPorts([...g.ports].sort((a, b) => a - b));
    const out = byPorts.get(k) ?? { peers: [], ports, rules: [] };
    out.peers.push(g.peer);
    for (const r of g.rules) if (!out.rules.includes(r)) out.rules.push(r);
    byPorts.set(k, out);
  }
  return [...byPorts.entries()].sort(([a], [b]) => compare(a, b)).map(([, g]) => g);
}

/** DNS target ports from the DNS pods' declared ports, 53 on both protocols when none are declared. */
function dnsPorts(pods: PodFacts[]): NpPort[] {
  const found = new Map<string, NpPort>();
  for (const p of pods) {
    for (const c of p.ports) {
      const isDns = c.port === 53 || (c.name !== undefined && /^dns/.test(c.name));
      if (isDns && (c.protocol === 'UDP' || c.protocol === 'TCP')) found.set(`${c.protocol}/${c.port}`, { protocol: c.protocol, port: c.port });
    }
  }
  // UDP and TCP 53 always: DNS falls back to TCP for truncated answers.
  found.set('UDP/53', { protocol: 'UDP', port: 53 });
  found.set('TCP/53', { protocol: 'TCP', port: 53 });
  return [...found.values()].sort((a, b) => compare(a.protocol, b.protocol) || a.port - b.port);
}

function peersTo(ws: WorkloadFacts[], selectors: Selectors, findings: Finding[], what: string, subject: string): NpPeer[] | undefined {
  const peers: NpPeer[] = [];
  for (const w of ws) {
    const peer = selectors.peer(w);
    if (typeof peer === 'string') {
      findings.push({ severity: 'error', target: 'networkpolicy', subject, message: `no egress to ${what} for ${subject}: ${peer}` });
      return undefined;
    }
    peers.push(peer);
  }
  return peers.length > 0 ? peers : undefined;
}

export function networkPolicies(rs: RuleSet, o: NetworkPolicyOptions): EmitResult {
  const findings: Finding[] = [];
  const manifests = [...networkPoliciesByNamespace(rs, o, findings)].flat();
  return { target: 'networkpolicy', manifests, findings };
}

/**
 * networkPolicies one namespace at a time (its findings added to `findings` as they come): a
 * caller that writes each namespace's manifests before the next are made keeps only those.
 */
export function* networkPoliciesByNamespace(rs: RuleSet, o: NetworkPolicyOptions, findings: Finding[]): Generator<Emitted[]> {
  const byKey = new Map(rs.cluster.workloads.map((w) => [w.key, w]));
  const selectors = new Selectors(rs.cluster.workloads);
  const inboundOf = rulesBy(rs.rules, 'to');
  const outboundOf = rulesBy(rs.rules, 'from');

  for (const ns of rs.managedNamespaces) {
    const invalid = invalidNamespace('networkpolicy', ns);
    if (invalid !== undefined) {
      findings.push(invalid);
      continue;
    }
    const nsWorkloads = workloadsIn(rs.cluster.workloads, ns);
    const out: Emitted[] = [];

    // DNS first: without it a default-deny egress would break every lookup.
    const dnsPeers = rs.cluster.dns.length === 0 ? undefined : peersTo(rs.cluster.dns, selectors, findings, 'cluster DNS', ns);
    if (dnsPeers === undefined) {
      findings.push({ severity: 'error', target: 'networkpolicy', subject: ns, message: `no DNS pods could be selected in the inventory (Service kube-dns): egress is not default-denied in ${ns}, since that would break name resolution. Include kube-system's pods and Services in the inventory.` });
    } else {
      out.push({
        manifest: networkPolicy(objectName('allow-dns'), ns, { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: dnsPeers, ports: dnsPorts(rs.cluster.dns.flatMap((w) => w.pods)) }] }),
        header: [`Egress from every pod of ${ns} to the cluster DNS pods (${rs.cluster.dns.map((w) => w.key).join(', ')}): a default-deny egress breaks name resolution without it.`],
        comments: [],
      });
    }
    if (nsWorkloads.some((w) => w.hasSidecar)) {
      const cp = rs.cluster.controlPlane.length === 0 ? undefined : peersTo(rs.cluster.controlPlane, selectors, findings, 'istiod', ns);
      if (cp === undefined) {
        findings.push({ severity: 'blocker', target: 'networkpolicy', subject: ns, message: `${ns} runs sidecars but no istiod pods could be selected in the inventory (Service istiod): its sidecars lose their configuration and certificates under default-deny egress.` });
      } else {
        out.push({
          manifest: networkPolicy(objectName('allow-istiod'), ns, { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: cp, ports: [{ protocol: 'TCP', port: ISTIOD_PORT }] }] }),
          header: [`Egress from every pod of ${ns} to istiod on ${ISTIOD_PORT} (xDS and certificates): sidecars stop working without it.`],
          comments: [],
        });
      }
    }
    const ambient = nsWorkloads.filter((w) => w.dataplane === 'ambient' && w.pods.length > 0);
    if (ambient.length > 0) {
      // Every pod of the namespace, not only the ambient ones: the address is link-local and
      // written by the node's own iptables, and one selector cannot follow pods that opt out.
      out.push({
        manifest: networkPolicy(objectName('allow-ambient-probes'), ns, { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: `${AMBIENT_PROBE_SOURCE}/32` } }] }] }),
        header: [
          `Ingress to the pods of ${ns} from ${AMBIENT_PROBE_SOURCE}: in ambient mode the kubelet's probes arrive from that link-local address (istio-cni rewrites them),`,
          `which a CNI may drop under a default deny (${ambient.map((w) => w.key).join(', ')} run in ambient mode).`,
        ],
        comments: [],
      });
      findings.push({
        severity: 'warning',
        target: 'networkpolicy',
        subject: ns,
        message: `ambient mode in ${ns} (${ambient.map((w) => w.key).join(', ')}): meshed traffic to and from these pods travels in HBONE to port ${HBONE_PORT}, which is allowed for the observed peers beside the application port. NetworkPolicy cannot see which port a tunnel carries, so for these connections the port restriction rests on the Istio AuthorizationPolicy.`,
      });
    }
    out.unshift({
      manifest: networkPolicy(objectName('default-deny'), ns, { podSelector: {}, policyTypes: dnsPeers === undefined ? ['Ingress'] : ['Ingress', 'Egress'] }),
      header: [
        `Default deny for namespace ${ns}: once applied, its pods accept and open only what the ztmap-* allows name.`,
        `Workloads of ${ns} with no observed traffic are cut off entirely: see review.md, "Coverage and risk".`,
      ],
      comments: [],
    });

    for (const w of nsWorkloads) {
      if (w.pods.length === 0) continue;
      const sel = selectors.of(w);
      const inbound = inboundOf.get(w.key) ?? [];
      const outbound = outboundOf.get(w.key) ?? [];
      if (typeof sel === 'string') {
        if (inbound.length + outbound.length > 0) findings.push({ severity: 'error', target: 'networkpolicy', subject: w.key, message: `no policy for ${w.key}: ${sel}. The default deny would cut its observed traffic.` });
        continue;
      }
      const name = workloadNamePart(w, rs.cluster.workloads);
      const ingress = ingressEntries(w, inbound, byKey, selectors, findings);
      // Without DNS there is no egress default deny (above), so no egress allows either.
      const egress = dnsPeers === undefined ? [] : egressEntries(w, outbound, byKey, selectors, findings);
      const allow = workloadPolicy(w, sel, name, ingress, egress, rs);
      if (allow !== undefined) out.push(allow);
      if (o.firstApply) {
        out.push({
          manifest: networkPolicy(objectName('temporary-allow-all', workloadNamePart(w, rs.cluster.workloads)), ns, { podSelector: { matchLabels: sel }, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] }, { 'ztmap.io/temporary': 'true' }),
          header: [`TEMPORARY: allows all traffic to and from ${w.key} while enforcement is switched on. Delete this object to enforce the proposal for it.`],
          comments: [],
        });
      }
    }
    yield out;
  }
}

/** One rule's peers on the port it was observed on, before rules with equal port sets are grouped. */
interface Entry {
  peers: NpPeer[];
  port: number;
  rule: AccessRule;
}

/** The peer element for the workload at one end of a rule, or why it cannot be selected. */
function workloadPeerOf(p: Peer, byKey: Map<string, WorkloadFacts>, selectors: Selectors): NpPeer | string {
  const w = byKey.get(p.key);
  return w === undefined ? `${p.key} is not in the inventory` : selectors.peer(w);
}

/** Observed traffic of `w` that this emitter cannot allow. */
function blocker(w: WorkloadFacts, r: AccessRule, message: string): Finding {
  return { severity: 'blocker', target: 'networkpolicy', subject: w.key, message, requests: r.evidence.requests, flows: [r.id] };
}

/**
 * Meshed traffic to a workload behind a waypoint goes client → waypoint → workload, each
 * hop in HBONE on 15008, between pods this proposal does not select: the waypoint's. Not
 * modelled yet, so said as a blocker on each side of the observed connection.
 */
function throughWaypoint(subject: WorkloadFacts, r: AccessRule, server: WorkloadFacts): Finding {
  return blocker(
    subject,
    r,
    `${r.evidence.requests} request(s) from ${r.from.key} to ${r.to.key}:${r.port} go through the waypoint ${server.waypoints.join(', ')} (istio.io/use-waypoint): the client reaches the waypoint's pods and they reach ${r.to.key}, both on ${HBONE_PORT}, which these NetworkPolicies do not allow. ztmap does not model waypoints yet: allow those hops by hand before applying the default deny.`,
  );
}

/** The sources allowed into `w`: workloads by selector, node and internet addresses by ipBlock. */
function ingressEntries(w: WorkloadFacts, rules: AccessRule[], byKey: Map<string, WorkloadFacts>, selectors: Selectors, findings: Finding[]): Entry[] {
  const entries: Entry[] = [];
  for (const r of rules) {
    const n = r.evidence.requests;
    if (r.from.kind === 'workload') {
      const peer = workloadPeerOf(r.from, byKey, selectors);
      if (typeof peer === 'string') findings.push(blocker(w, r, `${n} request(s) from ${r.from.key} on port ${r.port} would be denied: ${peer}.`));
      else {
        entries.push({ peers: [peer], port: r.port, rule: r });
        if (usesHbone(byKey.get(r.from.key), w)) entries.push({ peers: [peer], port: HBONE_PORT, rule: r });
        if (w.waypoints.length > 0 && (byKey.get(r.from.key)?.dataplane ?? 'none') !== 'none') findings.push(throughWaypoint(w, r, w));
      }
    } else if ((r.from.kind === 'world' || r.from.kind === 'node') && r.from.ips.length > 0 && r.from.ipsComplete) {
      const where = r.from.kind === 'node' ? 'from a node address that is not the pod\'s own node (API server, NodePort, hostNetwork pods)' : 'from outside the cluster';
      findings.push({ severity: 'warning', target: 'networkpolicy', subject: w.key, message: `${r.from.key} reaches ${w.key} on port ${r.port} ${where}: allowed from the ${r.from.ips.length} address(es) observed only; review whether other clients need it.`, flows: [r.id] });
      entries.push({ peers: ipBlocks(r.from), port: r.port, rule: r });
    } else if (r.from.kind === 'world' || r.from.kind === 'node') {
      findings.push(blocker(w, r, `${n} request(s) from ${r.from.key} on port ${r.port} would be denied: more addresses were observed than the graph keeps, so no ipBlock list is complete. Review and allow them by hand.`));
    } else {
      findings.push(blocker(w, r, `${n} request(s) from ${r.from.key} on port ${r.port} would be denied: an unresolved address cannot be selected. Add the workload behind it to the inventory.`));
    }
  }
  return entries;
}

/** The destinations `w` may open: workloads by selector, external hosts by the addresses observed. */
function egressEntries(w: WorkloadFacts, rules: AccessRule[], byKey: Map<string, WorkloadFacts>, selectors: Selectors, findings: Finding[]): Entry[] {
  const entries: Entry[] = [];
  for (const r of rules) {
    const n = r.evidence.requests;
    if (r.to.kind === 'workload') {
      const peer = workloadPeerOf(r.to, byKey, selectors);
      if (typeof peer === 'string') findings.push(blocker(w, r, `${n} request(s) to ${r.to.key} on port ${r.port} would be denied at the client: ${peer}.`));
      else {
        entries.push({ peers: [peer], port: r.port, rule: r });
        if (usesHbone(w, byKey.get(r.to.key))) entries.push({ peers: [peer], port: HBONE_PORT, rule: r });
        const to = byKey.get(r.to.key);
        if (to !== undefined && to.waypoints.length > 0 && w.dataplane !== 'none') findings.push(throughWaypoint(w, r, to));
      }
    } else if (r.to.kind === 'unknown') {
      findings.push(blocker(w, r, `${n} request(s) to ${r.to.key}:${r.port} would be denied: an unresolved in-cluster address cannot be selected, and an ipBlock does not match pod traffic reliably. Add the workload behind it to the inventory.`));
    } else if (r.to.ips.length > 0 && r.to.ipsComplete) {
      findings.push({ severity: 'warning', target: 'networkpolicy', subject: w.key, message: `egress to ${r.to.key}:${r.port} is allowed to the ${r.to.ips.length} address(es) observed (${r.to.ips.join(', ')}); an external host's addresses change, so review it (an egress gateway or a CNI with FQDN policies expresses it by name).`, flows: [r.id] });
      entries.push({ peers: ipBlocks(r.to), port: r.port, rule: r });
    } else {
      const why = r.to.ips.length === 0 ? 'no address of it was observed' : 'more addresses were observed than the graph keeps';
      findings.push(blocker(w, r, `${n} request(s) to ${r.to.key}:${r.port} would be denied: ${why}, so no ipBlock can allow it. Listed for review.`));
    }
  }
  return entries;
}

/**
 * The allows of one workload: its sources (ingress) and its destinations (egress) in one
 * NetworkPolicy, as Kubernetes' own examples write a workload's policy; a direction with
 * nothing observed is left out of policyTypes (the namespace's default deny isolates it).
 * The evidence of each rule is a comment naming the other end.
 */
function workloadPolicy(w: WorkloadFacts, sel: Record<string, string>, name: string, ingressEntries: Entry[], egressEntries: Entry[], rs: RuleSet): Emitted | undefined {
  if (ingressEntries.length + egressEntries.length === 0) return undefined;
  const ingress = ingressEntries.length === 0 ? [] : groupByPorts(ingressEntries);
  const egress = egressEntries.length === 0 ? [] : groupByPorts(egressEntries);
  const spec: Record<string, unknown> = { podSelector: { matchLabels: sel }, policyTypes: [...(ingress.length > 0 ? ['Ingress'] : []), ...(egress.length > 0 ? ['Egress'] : [])] };
  if (ingress.length > 0) spec['ingress'] = ingress.map((g) => ({ from: g.peers, ports: g.ports }));
  if (egress.length > 0) spec['egress'] = egress.map((g) => ({ to: g.peers, ports: g.ports }));
  return {
    manifest: networkPolicy(objectName('workload', name), w.namespace, spec),
    header: [
      ...(ingress.length > 0 ? [`Ingress to ${w.key}: the sources observed reaching it, ${windowLine(rs)}.`] : []),
      ...(egress.length > 0 ? [`Egress from ${w.key}: the destinations it was observed reaching, ${windowLine(rs)}.`] : []),
      ...([...ingress, ...egress].some((g) => g.ports.some((p) => p.port === HBONE_PORT)) ? [`Port ${HBONE_PORT} is Istio's HBONE tunnel: ambient mode carries the observed connections to it.`] : []),
    ],
    comments: [
      ...ingress.map((g, i) => ({ path: ['spec', 'ingress', i], text: g.rules.map((r) => evidenceLine(r, 'from')).join('\n') })),
      ...egress.map((g, i) => ({ path: ['spec', 'egress', i], text: g.rules.map((r) => evidenceLine(r, 'to')).join('\n') })),
    ],
  };
}
