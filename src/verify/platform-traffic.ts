// Platform traffic: the connections every pod and sidecar needs and that access logs never
// show, replayed against the policy set like observed traffic (docs/verify.md, "Platform
// traffic"). A default-deny egress without an allow for them is an outage the observed
// graph cannot reveal:
// - DNS, UDP and TCP 53, from every pod to the cluster DNS pods (TCP carries answers too
//   large for UDP): denied, pods lose name resolution;
// - xDS and certificates, TCP 15012, from every Envoy (sidecars, gateways, waypoints) and
//   from ztunnel to istiod: denied, proxies lose their configuration and certificates.
// The DNS and istiod pods are found here from the inventory's Services, on purpose apart
// from the proposal's own search (src/infer), so a mistake there cannot hide itself.

import { compare } from '../flow/compare.js';
import { selects } from '../flow/labels.js';
import { podDataplane, type Inventory, type Pod, type Service } from '../inventory/inventory.js';
import { evaluateIstio } from './istio.js';
import { evaluateConnection, type NpProtocol } from './network-policy.js';
import { mtlsPolicyFor } from './peer-authentication.js';
import { combine, HBONE_PORT, podEndpoint, podShapes, principalFor, refText, type ReplayContext, type ReplayIndex, type Verdict } from './replay.js';

type PlatformKind = 'dns' | 'xds';

/** istiod's xDS and CA port, TLS: what every proxy dials (Istio, "Ports used by Istio"). */
const XDS_PORT = 15012;
const DNS_PORT = 53;

/** What stops working when the connection is denied, for messages. */
const PLATFORM_PURPOSE: Record<PlatformKind, { what: string; breaks: string }> = {
  dns: { what: 'DNS', breaks: 'its pods lose name resolution: every lookup of a Service or external name fails' },
  xds: { what: 'xDS to istiod', breaks: 'its proxies lose their configuration and certificates from istiod: new pods never become ready, running ones stop receiving updates and certificate rotations' },
};

/** A Service the platform traffic goes to, and the pods behind it. */
export interface PlatformServer {
  kind: PlatformKind;
  namespace: string;
  name: string;
  pods: Pod[];
  /** The Service ports replayed, each with its target port (a number, or a container port name). */
  ports: { protocol: NpProtocol; port: number; targetPort: number | string }[];
}

interface PlatformDenial {
  /** The client workload (one of its pod shapes was denied). */
  client: string;
  clientPod: string;
  serverPod: string;
  /** Where it was denied: NetworkPolicy egress at the client, ingress at the server, or Istio at the server. */
  at: 'egress' | 'ingress' | 'istio';
  /** `NS/NAME` of the policies that deny: those isolating the pod, or Istio's deciding ones. */
  policies: string[];
}

/** One kind of platform traffic from one namespace's pods to one Service port. */
interface PlatformCheck {
  kind: PlatformKind;
  /** The clients' namespace. */
  namespace: string;
  /** The client workloads replayed (keys), sorted. */
  clients: string[];
  /** `NS/NAME` of the Service. */
  server: string;
  protocol: NpProtocol;
  /** The Service port (53, 15012). */
  port: number;
  verdict: Verdict;
  denials: PlatformDenial[];
  /** For a denial: what is denied, by which policies, and what breaks. */
  message?: string;
}

export interface PlatformTraffic {
  /** The Services found: `dns` and `xds` targets, as `NS/NAME`. */
  servers: { kind: PlatformKind; service: string; pods: number }[];
  checks: PlatformCheck[];
  /** What could not be replayed, and why (no DNS Service in the inventory, …). */
  notes: string[];
}

/**
 * The cluster DNS Services: `kube-dns` in any namespace (the name CoreDNS installs keep,
 * and the one the kubelet's clusterDNS conventionally points at), and Services in
 * kube-system whose name says DNS and that serve port 53 (`coredns`, `rke2-coredns-…`).
 */
function isDnsService(s: Service): boolean {
  if (s.name === 'kube-dns') return true;
  return s.namespace === 'kube-system' && s.name.includes('dns') && s.ports.some((p) => p.port === DNS_PORT);
}

/** istiod, and its revisions (`istiod-1-24`), by the Service that serves xDS on 15012. */
function isIstiodService(s: Service): boolean {
  return (s.name === 'istiod' || s.name.startsWith('istiod-')) && s.ports.some((p) => p.port === XDS_PORT);
}

const protocolOf = (p: string): NpProtocol => (p === 'UDP' || p === 'SCTP' ? p : 'TCP');

function podsBehind(s: Service, pods: readonly Pod[]): Pod[] {
  // A Service without selector has hand-managed endpoints the inventory does not describe.
  if (s.selector === undefined || Object.keys(s.selector).length === 0) return [];
  return pods.filter((p) => p.namespace === s.namespace && selects(s.selector!, p.labels)).sort((a, b) => compare(a.name, b.name));
}

/** The platform servers in the inventory, with notes for what is missing. */
export function platformServers(inventory: Inventory): { servers: PlatformServer[]; notes: string[] } {
  const notes: string[] = [];
  const servers: PlatformServer[] = [];
  const services = [...inventory.services].sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
  const found = (kind: PlatformKind, s: Service, port: number) => {
    const pods = podsBehind(s, inventory.pods);
    if (pods.length === 0) {
      notes.push(`platform traffic: ${s.namespace}/${s.name} has no pods in the inventory: ${PLATFORM_PURPOSE[kind].what} to it was not replayed. Include its pods in the inventory dump.`);
      return;
    }
    const ports = s.ports.filter((p) => p.port === port).map((p) => ({ protocol: protocolOf(p.protocol), port: p.port, targetPort: p.targetPort }));
    servers.push({ kind, namespace: s.namespace, name: s.name, pods, ports });
    // Only kubernetes.io/metadata.name is known of a namespace the dump has no Namespace object
    // of: a namespaceSelector on any other of its labels matches nothing here, which would read as
    // a denial the cluster does not make.
    if (!inventory.namespaceLabels.has(s.namespace) && !unlabelled.has(s.namespace)) {
      unlabelled.add(s.namespace);
      notes.push(`platform traffic: the inventory has no Namespace object for ${s.namespace}, so of its labels only kubernetes.io/metadata.name is known: a policy that selects it by another label is judged as not selecting it, and a denial of ${PLATFORM_PURPOSE[kind].what} to it below may be one the cluster does not make. Include namespaces in the dump (kubectl get namespaces,pods,services -A -o json).`);
    }
  };
  const unlabelled = new Set<string>();
  const dns = services.filter(isDnsService);
  for (const s of dns) {
    if (s.ports.some((p) => p.port === DNS_PORT)) found('dns', s, DNS_PORT);
    else notes.push(`platform traffic: the DNS Service ${s.namespace}/${s.name} declares no port ${DNS_PORT}: DNS to it was not replayed`);
  }
  if (dns.length === 0) {
    notes.push('platform traffic: no cluster DNS Service (kube-dns) in the inventory, so DNS from every pod was not replayed: a policy set that denies it would pass unnoticed. Include kube-system in the dump (kubectl get namespaces,pods,services -A -o json).');
  }
  const istiod = services.filter(isIstiodService);
  for (const s of istiod) found('xds', s, XDS_PORT);
  const proxies = inventory.pods.some(isXdsClient);
  if (istiod.length === 0 && proxies) {
    notes.push(`platform traffic: the inventory has Istio proxies but no istiod Service (port ${XDS_PORT}), so xDS from them was not replayed: a policy set that denies it would pass unnoticed. Include istio-system in the dump.`);
  }
  return { servers, notes };
}

/**
 * Proxies that dial istiod: every Envoy (a sidecar, or a gateway or waypoint whose main
 * container is istio-proxy) and ztunnel (Istio's chart labels its pods `app: ztunnel`).
 * Ambient application pods have no proxy of their own: ztunnel dials for them.
 */
function isXdsClient(p: Pod): boolean {
  return podDataplane(p) === 'sidecar' || p.labels['app'] === 'ztunnel';
}

/** The target port of a Service port on one pod: a number, or a named container port resolved. */
function targetPortOn(pod: Pod, target: number | string, protocol: NpProtocol): number | undefined {
  if (typeof target === 'number') return target;
  return pod.ports.find((c) => c.name === target && protocolOf(c.protocol) === protocol)?.port;
}

/**
 * Replay the platform traffic of every namespace's pods against the policy set. Pods are
 * grouped by what policies can tell apart (podShapes), so the cost is one evaluation per
 * distinct client shape, server shape and port.
 */
export function checkPlatformTraffic(ctx: ReplayContext, index: ReplayIndex): PlatformTraffic {
  const { servers, notes } = platformServers(ctx.inventory);
  const serverPods = new Map<PlatformKind, Set<Pod>>([
    ['dns', new Set(servers.filter((s) => s.kind === 'dns').flatMap((s) => s.pods))],
    ['xds', new Set(servers.filter((s) => s.kind === 'xds').flatMap((s) => s.pods))],
  ]);
  // NetworkPolicy does not apply to hostNetwork pods (not modelled): their traffic is the node's.
  const hostNetwork = ctx.inventory.pods.filter((p) => p.hostNetwork).length;
  if (hostNetwork > 0) notes.push(`platform traffic: ${hostNetwork} hostNetwork pod(s) not replayed: NetworkPolicy does not select them`);
  const byNamespace = new Map<string, Pod[]>();
  for (const p of ctx.inventory.pods) {
    if (p.hostNetwork) continue;
    const list = byNamespace.get(p.namespace) ?? [];
    list.push(p);
    byNamespace.set(p.namespace, list);
  }
  const checks: PlatformCheck[] = [];
  for (const ns of [...byNamespace.keys()].sort(compare)) {
    const pods = byNamespace.get(ns)!.sort((a, b) => compare(a.name, b.name));
    for (const server of servers) {
      // A server does not resolve through itself; istiod does not dial itself.
      const clients = pods.filter((p) => !serverPods.get(server.kind)!.has(p) && (server.kind === 'dns' || isXdsClient(p)));
      if (clients.length === 0) continue;
      const clientShapes = podShapes(clients, index.addressSensitive, false);
      const serverShapes = podShapes(server.pods, index.addressSensitive, false);
      const workloads = [...new Set(clients.map((p) => p.workload.key))].sort(compare);
      for (const port of server.ports) {
        const decisions: ('allow' | 'deny' | 'unknown')[] = [];
        const denials: PlatformDenial[] = [];
        for (const c of clientShapes) {
          for (const s of serverShapes) {
            const d = platformConnection(ctx, c.pod, s.pod, port);
            decisions.push(d.decision);
            if (d.denial !== undefined) denials.push(d.denial);
          }
        }
        denials.sort((a, b) => compare(a.client, b.client) || compare(a.clientPod, b.clientPod) || compare(a.serverPod, b.serverPod));
        const verdict = combine(decisions);
        const check: PlatformCheck = { kind: server.kind, namespace: ns, clients: workloads, server: `${server.namespace}/${server.name}`, protocol: port.protocol, port: port.port, verdict, denials };
        if (verdict === 'denied' || verdict === 'partial') check.message = platformMessage(check);
        checks.push(check);
      }
    }
  }
  return { servers: servers.map((s) => ({ kind: s.kind, service: `${s.namespace}/${s.name}`, pods: s.pods.length })), checks, notes };
}

/** One client pod to one server pod: NetworkPolicy both ways, then Istio at a meshed server over TCP. */
function platformConnection(
  ctx: ReplayContext,
  client: Pod,
  server: Pod,
  port: { protocol: NpProtocol; targetPort: number | string },
): { decision: 'allow' | 'deny' | 'unknown'; denial?: PlatformDenial } {
  const target = targetPortOn(server, port.targetPort, port.protocol);
  if (target === undefined) return { decision: 'unknown' };
  const names = { client: client.workload.key, clientPod: `${client.namespace}/${client.name}`, serverPod: `${server.namespace}/${server.name}` };
  const from = podDataplane(client);
  const to = podDataplane(server);
  // Between meshed pods of which one is ambient, TCP travels in HBONE (see replay.ts). UDP is never captured.
  const hbone = port.protocol === 'TCP' && from !== 'none' && to !== 'none' && (from === 'ambient' || to === 'ambient');
  const np = evaluateConnection(ctx.networkPolicies, {
    from: { pod: podEndpoint(client) },
    to: { pod: podEndpoint(server) },
    port: hbone ? HBONE_PORT : target,
    protocol: port.protocol,
  });
  if (!np.egress.allowed) return { decision: 'deny', denial: { ...names, at: 'egress', policies: np.egress.isolatedBy.map(refText) } };
  if (!np.ingress.allowed) return { decision: 'deny', denial: { ...names, at: 'ingress', policies: np.ingress.isolatedBy.map(refText) } };
  // Istio authorizes TCP at a meshed server; a sidecar does not intercept inbound UDP.
  if (to === 'none' || port.protocol !== 'TCP') return { decision: 'allow' };
  const principal = from === 'none' ? null : principalFor(ctx.trustDomain, client.namespace, client.serviceAccount);
  const mtls = mtlsPolicyFor(ctx.policies.peerAuthentication, server.namespace, server.labels, target, ctx.rootNamespace);
  if (mtls.mode === 'STRICT' && principal === null) return { decision: 'deny', denial: { ...names, at: 'istio', policies: mtls.by === undefined ? [] : [refText(mtls.by)] } };
  const v = evaluateIstio(
    ctx.policies.authorization,
    {
      source: { principal: mtls.mode === 'DISABLE' && to === 'sidecar' ? null : principal, ...(client.ips[0] === undefined ? {} : { ip: client.ips[0] }) },
      destination: { namespace: server.namespace, labels: server.labels, ...(server.ips[0] === undefined ? {} : { ip: server.ips[0] }), port: target },
    },
    { rootNamespace: ctx.rootNamespace, trustDomain: ctx.trustDomain, enforceDryRun: false, ztunnel: to === 'ambient' },
  );
  if (v.decision === 'deny') return { decision: 'deny', denial: { ...names, at: 'istio', policies: v.policies.map(refText) } };
  return { decision: v.decision };
}

const AT: Record<PlatformDenial['at'], string> = { egress: "at the client's egress", ingress: "at the server's ingress", istio: 'by Istio at the server' };

/** "platform traffic: DNS (UDP 53) from namespace default to kube-system/kube-dns denied at …: what breaks". */
function platformMessage(c: PlatformCheck): string {
  const by = new Map<PlatformDenial['at'], Set<string>>();
  for (const d of c.denials) {
    const set = by.get(d.at) ?? new Set<string>();
    for (const p of d.policies) set.add(p);
    by.set(d.at, set);
  }
  const deciders = [...by.entries()]
    .map(([at, ps]) => {
      const list = [...ps].sort(compare).join(', ');
      return at === 'istio' ? `${AT[at]}${list === '' ? '' : ` (${list})`}` : `${AT[at]} (isolated by ${list}; no rule allows it)`;
    })
    .join(' and ');
  const whom = c.verdict === 'partial' ? ` for ${[...new Set(c.denials.map((d) => d.client))].sort(compare).join(', ')}` : '';
  const p = PLATFORM_PURPOSE[c.kind];
  return `platform traffic: ${p.what} (${c.protocol} ${c.port}) from namespace ${c.namespace} to ${c.server} ${c.verdict === 'partial' ? 'partly denied' : 'denied'}${whom} ${deciders}: ${p.breaks}`;
}
