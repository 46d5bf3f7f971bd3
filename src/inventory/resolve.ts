// Endpoint references from sources → identities (workloads, world, node, unknown).
// Identity resolution happens here once for every source (docs/architecture.md, "Identity is resolved once").

import type { EndpointRef, Flow, Location } from '../flow/flow.js';
import { BEHIND_PROXY, isPrivateIp, type Identity, type ResolvedFlow } from '../flow/identity.js';
import { edgeKey as edgeKeyOf } from '../flow/edge-key.js';
import { compare } from '../flow/compare.js';
import { selects } from '../flow/labels.js';
import { detached } from '../flow/path-template.js';
import type { Tally } from '../tally.js';
import { holdsOver, type Inventory, type Pod, type Service } from './inventory.js';


/**
 * Whether `ip` is in a range Istio's DNS proxy auto-allocates to ServiceEntry hosts
 * (240.240.0.0/16, 2001:2::/48): a client-side name for the host, routed by the sidecar,
 * never the address of anything on the network.
 */
export function isAutoAllocatedIp(ip: string): boolean {
  if (!ip.includes(':')) return ip.startsWith('240.240.');
  const groups = ipv6Groups(ip);
  return groups !== undefined && groups[0] === 0x2001 && groups[1] === 0x2 && groups[2] === 0;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded; an embedded IPv4 tail is two groups), or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  const halves = ip.toLowerCase().split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const o = g.split('.').map(Number);
        if (o.length !== 4 || o.some((x) => !(x >= 0 && x <= 255))) return undefined;
        out.push(o[0]! * 256 + o[1]!, o[2]! * 256 + o[3]!);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing < 1 ? undefined : [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Clock skew tolerated between log timestamps and pod start/finish times. */
const LIFETIME_SLACK_MS = 60_000;

export type IpResolution = { pod: Pod } | { reason: 'unknown-ip' | 'ip-outside-pod-lifetime' | 'ip-ambiguous' };

/** The pod that held `ip` at time `t` (time-aware: pod IPs are reused). */
export function podAt(inv: Inventory, ip: string, t: number | undefined): IpResolution {
  const candidates = inv.podsByIp.get(ip);
  return candidates === undefined ? { reason: 'unknown-ip' } : podAmong(candidates, t);
}

/** podAt among the pods that held one IP. */
function podAmong(candidates: readonly Pod[], t: number | undefined): IpResolution {
  if (t === undefined) {
    const live = candidates.filter((p) => p.end === undefined);
    const pool = live.length > 0 ? live : candidates;
    const workloads = new Set(pool.map((p) => p.workload.key));
    if (workloads.size !== 1) return { reason: 'ip-ambiguous' };
    let best = pool[0]!;
    for (const p of pool) if (holdsOver(p, best)) best = p;
    return { pod: best };
  }
  let best: Pod | undefined;
  for (const p of candidates) {
    if (p.start !== undefined && t < p.start - LIFETIME_SLACK_MS) continue;
    if (p.end !== undefined && t > p.end + LIFETIME_SLACK_MS) continue;
    // Within the slack two lifetimes can overlap: the later-started pod wins.
    if (best === undefined || holdsOver(p, best)) best = p;
  }
  return best === undefined ? { reason: 'ip-outside-pod-lifetime' } : { pod: best };
}

/** Where a resolution holds: the lifetimes of the pods it relied on, or never reusable. */
interface Validity {
  from: number;
  to: number;
  reusable: boolean;
}

interface Route {
  source: Identity;
  destination: Identity;
  port: number;
  reporter: Flow['reporter'];
  /** The hop a gateway's line adds is always of unknown mTLS; the main hop takes the flow's. */
  gatewayHop: boolean;
  edgeKey: string;
}

/** What a resolution may be reused for: flows of the same endpoint key at a time within [from, to]. */
export interface Reuse {
  from: number;
  to: number;
  /** Unresolved notes to replay for each reuse, so that every flow is counted. */
  notes: readonly [reason: string, detail: string][] | undefined;
}

interface Memo extends Validity {
  /**
   * The edge the flow is on, and the client → gateway hop an ingress gateway's line adds.
   * Two fields, not an array: an array is two more objects (itself and its elements) that
   * every hit would reach, each a likely cache miss on a mesh of thousands of endpoint pairs.
   */
  main: Route;
  gatewayRoute: Route | undefined;
  /**
   * Unresolved notes the resolution made: replayed on every hit, so each flow is counted.
   * Undefined when there are none (most resolutions), so a hit does not touch an empty array.
   */
  notes: [reason: string, detail: string][] | undefined;
}

/** Memo entries kept; a mesh has far fewer distinct endpoint pairs, so this bounds a pathological input. */
const MEMO_LIMIT = 50_000;

export class Resolver {
  /** Endpoints that became `unknown` nodes, by reason, with where they were seen. */
  readonly unresolved: Tally;
  private readonly _services = new Map<string, Service>();
  private readonly _memo = new Map<string, Memo>();
  // State of the resolution in progress (slow path only).
  private _validity: Validity = { from: -Infinity, to: Infinity, reusable: true };
  private _notes: [string, string][] = [];

  /** The memo entry the last `resolve` used, when it is one (reusable); undefined otherwise. */
  lastReuse: Reuse | undefined;
  private _lastKey: string | undefined;

  constructor(
    private readonly _inv: Inventory,
    unresolved: Tally,
  ) {
    this.unresolved = unresolved;
    for (const s of _inv.services) this._services.set(`${s.namespace}/${s.name}`, s);
  }

  resolve(flow: Flow): ResolvedFlow[] {
    const t = flow.timestamp;
    const key = flow.endpointKey === undefined ? undefined : t === undefined ? flow.endpointKey + '#' : flow.endpointKey;
    this._lastKey = key;
    let memo = key === undefined ? undefined : this._memo.get(key);
    if (memo !== undefined && t !== undefined && (t < memo.from || t > memo.to)) memo = undefined;
    if (memo === undefined) {
      memo = this._resolveSlowly(flow);
      if (key !== undefined && memo.reusable) {
        if (this._memo.size >= MEMO_LIMIT) this._memo.clear();
        this._memo.set(detached(key), memo);
        this.lastReuse = memo;
      } else this.lastReuse = undefined;
    } else {
      this.replayNotes(memo, flow.evidence.location);
      this.lastReuse = memo;
    }
    // Arrays of exactly their length, not an empty one grown by push.
    const main = resolvedFlow(flow, memo.main);
    return memo.gatewayRoute === undefined ? [main] : [main, resolvedFlow(flow, memo.gatewayRoute)];
  }

  /**
   * Drops the memo entry of the last `resolve`: its caller knows its endpoints will not repeat
   * usefully (one of a flood of external hosts, graph/fold.ts), and kept it would hold memory.
   */
  forgetLast(): void {
    if (this._lastKey !== undefined) this._memo.delete(this._lastKey);
    this.lastReuse = undefined;
  }

  /** Counts a reused resolution's unresolved notes again, for one more flow at `location`. */
  replayNotes(reuse: Reuse, location: Location): void {
    if (reuse.notes !== undefined) for (const [reason, detail] of reuse.notes) this.unresolved.add(reason, location, detail);
  }

  private _resolveSlowly(flow: Flow): Memo {
    this._validity = { from: -Infinity, to: Infinity, reusable: true };
    this._notes = [];
    const t = flow.timestamp;
    let srcRef = flow.source;
    // An outbound line without upstream_local_address (no upstream was reached: UH, BlackHole,
    // a refusal) still names its client in downstream_remote_address, unless the proxy was
    // itself the target of that connection (a gateway, whose listener is its own pod).
    if (srcRef.ip === undefined && srcRef.behindProxy === undefined && flow.proxied !== undefined && !('pod' in this._podAt(flow.proxied.listener.ip, t))) {
      srcRef = { ...srcRef, ip: flow.proxied.client.ip };
    }
    const srcPod = this._pod(srcRef, t, flow, 'source');
    const dst = this._destination(flow, t);
    const source = srcPod !== undefined ? srcPod.identity : this._byAddress(srcRef, t, flow, 'source');
    const route = (s: Identity, d: Identity, port: number, reporter: Flow['reporter'], gatewayHop: boolean): Route => ({
      source: s,
      destination: d,
      port,
      reporter,
      gatewayHop,
      edgeKey: edgeKeyOf(s.key, d.key, port, flow.protocol),
    });
    let main = route(source, dst.identity, dst.port, flow.reporter, false);
    let gatewayRoute: Route | undefined;
    // Ingress gateway: the proxy that wrote this outbound line was itself the target of the
    // downstream connection, so the line also records client → gateway on the listener port.
    if (flow.proxied !== undefined) {
      const listener = this._podAt(flow.proxied.listener.ip, t);
      if ('pod' in listener) {
        const gw = listener.pod;
        // Pods are compared as objects: learned pods (kubectl-named logs) have no uid.
        const sameAsSource = srcPod !== undefined ? srcPod === gw : dst.pod !== gw;
        if (sameAsSource) {
          if (srcPod === undefined) main = route(gw.identity, dst.identity, dst.port, flow.reporter, false);
          // The gateway's client: a pod of the mesh (a pod calling through the gateway) or an address.
          const clientRef = { ip: flow.proxied.client.ip };
          const clientPod = this._pod(clientRef, t, flow, 'source');
          const client = clientPod !== undefined ? clientPod.identity : this._byAddress(clientRef, t, flow, 'source');
          gatewayRoute = route(client, gw.identity, flow.proxied.listener.port, 'server', true);
        }
      }
    }
    // Written out, not spread from _validity: a spread copy has in-object room for the
    // copied fields only, so `notes` went to a separate property array, one more object
    // (and cache miss) on every memo hit.
    const { from, to, reusable } = this._validity;
    return { from, to, reusable, main, gatewayRoute, notes: this._notes.length === 0 ? undefined : this._notes };
  }

  private _note(reason: string, flow: Flow, detail: string): void {
    this.unresolved.add(reason, flow.evidence.location, detail);
    this._notes.push([reason, detached(detail)]);
  }

  /** podAt, narrowing the validity of the resolution in progress to what the answer relied on. */
  private _podAt(ip: string, t: number | undefined): IpResolution {
    const candidates = this._inv.podsByIp.get(ip);
    if (candidates === undefined) return { reason: 'unknown-ip' };
    const r = podAmong(candidates, t);
    const v = this._validity;
    if (!('pod' in r) || t === undefined) {
      // Lifetime gaps, and untimed flows of reused IPs: resolve each flow afresh.
      v.reusable = v.reusable && t === undefined && candidates.length === 1;
      return r;
    }
    // A reused IP too: over a week of rollouts most are, and each holder is memoized in its turn.
    this._holdWhile(r.pod, candidates);
    return r;
  }

  /**
   * Narrows the validity of the resolution in progress to the times podAmong picks `p` among
   * `candidates`: while `p` is alive and no later-started candidate is (a later-started one
   * wins where lifetimes overlap).
   */
  private _holdWhile(p: Pod, candidates: readonly Pod[]): void {
    const v = this._validity;
    if (p.start !== undefined) v.from = Math.max(v.from, p.start - LIFETIME_SLACK_MS);
    if (p.end !== undefined) v.to = Math.min(v.to, p.end + LIFETIME_SLACK_MS);
    for (const o of candidates) if (o !== p && (o.start ?? 0) >= (p.start ?? 0)) v.to = Math.min(v.to, (o.start ?? 0) - LIFETIME_SLACK_MS - 1);
  }

  // The addresses in the line are the proxy's own account; where the log was collected is
  // second-hand (a mislabelled file, a shared collector), so it only fills in when they fail.
  private _pod(ref: EndpointRef, t: number | undefined, flow: Flow, side: string): Pod | undefined {
    let byIp: Pod | undefined;
    if (ref.ip !== undefined) {
      const r = this._podAt(ref.ip, t);
      if ('pod' in r) byIp = r.pod;
    }
    let byName: Pod | undefined;
    if (ref.pod !== undefined) {
      let named = (this._inv.podsByName.get(ref.pod.name) ?? []).filter((p) => ref.pod!.namespace === '' || p.namespace === ref.pod!.namespace);
      // One name, several pods over time (a StatefulSet's `web-0`, replaced): the one alive then,
      // and the resolution holds while it is alive and no later-started namesake is.
      if (named.length > 1 && t !== undefined) {
        const r = podAmong(named, t);
        if ('pod' in r) {
          this._holdWhile(r.pod, named);
          named = [r.pod];
        } else this._validity.reusable = false;
      }
      if (named.length === 1) byName = named[0];
      // A file name that only looks like a pod name is not evidence; an envelope or path that names a missing pod is worth saying.
      else if (ref.pod.namespace !== '' && byIp === undefined) {
        this._note(`${side}-pod-not-in-inventory`, flow, `${ref.pod.namespace}/${ref.pod.name}`);
      }
    }
    // Pods are objects of one inventory, each once (snapshots.ts): two objects are two pods.
    if (byIp !== undefined && byName !== undefined && byIp !== byName && ref.pod!.namespace !== '') {
      this._note(`${side}-reporter-mismatch`, flow, `log location says ${byName.namespace}/${byName.name}, address ${ref.ip} is ${byIp.namespace}/${byIp.name}`);
    }
    const found = byIp ?? byName;
    return ref.workload === undefined && ref.principal === undefined ? found : this._checkClaims(ref, found, t, flow, side);
  }

  /**
   * What the telemetry claims an endpoint is (a workload by name, a principal) against the
   * inventory. Where an address or a pod name resolved, the inventory's answer stands and a
   * contradiction is noted; where nothing did (metrics name no address), the claimed workload's
   * pods are looked up by name, and a claim the inventory cannot back is noted, never trusted.
   */
  private _checkClaims(ref: EndpointRef, found: Pod | undefined, t: number | undefined, flow: Flow, side: string): Pod | undefined {
    const claim = ref.workload;
    const account = ref.principal === undefined ? undefined : accountOf(ref.principal);
    if (ref.principal !== undefined && account === undefined) this._note(`${side}-principal-unreadable`, flow, ref.principal);
    const disagrees = (p: Pod) => account !== undefined && (account.namespace !== p.namespace || account.name !== p.serviceAccount);
    if (found !== undefined) {
      const w = found.workload;
      if (claim !== undefined && (claim.namespace !== w.namespace || claim.name !== w.name || (claim.kind !== undefined && claim.kind !== w.workloadKind))) {
        this._note(`${side}-claim-disagrees`, flow, `the telemetry names ${claimText(claim)}, the inventory ${w.key}`);
      }
      if (disagrees(found)) this._note(`${side}-principal-disagrees`, flow, `the telemetry names ${ref.principal!}, the inventory's pod ${found.namespace}/${found.name} runs as ${found.namespace}/${found.serviceAccount}`);
      return found;
    }
    if (claim === undefined) return undefined;
    const pods = (this._podsByWorkloadName().get(`${claim.namespace}/${claim.name}`) ?? []).filter((p) => claim.kind === undefined || p.workload.workloadKind === claim.kind);
    const workloads = [...new Set(pods.map((p) => p.workload.key))];
    if (workloads.length !== 1) {
      this._note(workloads.length === 0 ? `${side}-workload-not-in-inventory` : `${side}-workload-ambiguous`, flow, workloads.length === 0 ? claimText(claim) : `${claimText(claim)}: ${workloads.sort(compare).join(', ')}`);
      return undefined;
    }
    // The pod that ran then (its service account is the identity's), else the latest.
    let chosen = pods[0]!;
    const alive = t === undefined ? pods.filter((p) => p.end === undefined) : pods.filter((p) => (p.start === undefined || t >= p.start - LIFETIME_SLACK_MS) && (p.end === undefined || t <= p.end + LIFETIME_SLACK_MS));
    const pool = alive.length > 0 ? alive : pods;
    for (const p of pool) if (holdsOver(p, chosen) || !pool.includes(chosen)) chosen = p;
    if (account !== undefined) {
      const same = pool.find((p) => !disagrees(p));
      if (same !== undefined) chosen = same;
      else this._note(`${side}-principal-disagrees`, flow, `the telemetry names ${ref.principal!}, the pods of ${workloads[0]!} run as ${[...new Set(pods.map((p) => `${p.namespace}/${p.serviceAccount}`))].sort(compare).join(', ')}`);
    }
    // Which pod stands for the workload (its service account is the identity's) depends on the
    // time: the resolution holds while that pod does, as for an address.
    if (t !== undefined) {
      if (alive.includes(chosen)) this._holdWhile(chosen, pods);
      else this._validity.reusable = false;
    }
    return chosen;
  }

  private _byWorkloadName: Map<string, Pod[]> | undefined;

  /** Pods by `namespace/workload name`, made on first use (only sources that claim workloads need it). */
  private _podsByWorkloadName(): Map<string, Pod[]> {
    if (this._byWorkloadName === undefined) {
      this._byWorkloadName = new Map();
      for (const p of this._inv.pods) {
        const k = `${p.workload.namespace ?? ''}/${p.workload.name}`;
        const list = this._byWorkloadName.get(k);
        if (list === undefined) this._byWorkloadName.set(k, [p]);
        else list.push(p);
      }
    }
    return this._byWorkloadName;
  }

  // Identities made here are memoized: every string in them is copied off the read buffer.
  private _byAddress(ref: EndpointRef, t: number | undefined, flow: Flow, side: 'source' | 'destination'): Identity {
    const ip = ref.ip === undefined ? undefined : detached(ref.ip);
    if (ref.host !== undefined && side === 'destination') {
      const host = detached(ref.host);
      const world: Identity = { kind: 'world', key: `world:${host}`, name: host };
      // An address Istio allocated is no address of the host's: never an ipBlock.
      if (ip !== undefined && !isAutoAllocatedIp(ip)) world.ip = ip;
      return world;
    }
    if (ip === undefined && ref.workload !== undefined) {
      // A claimed workload the inventory could not back (noted by _checkClaims).
      const name = `${ref.workload.namespace}/${ref.workload.name}`;
      return { kind: 'unknown', key: `unknown:workload/${name}`, name };
    }
    if (ip === undefined) {
      // A peer behind a proxy: one identity, whatever X-Forwarded-For claimed (never read here,
      // so flows that differ only in it share a resolution, as their endpoint key says).
      if (side === 'source' && ref.behindProxy !== undefined) return BEHIND_PROXY;
      this._note(`${side}-missing`, flow, 'no address or pod names this endpoint');
      return { kind: 'unknown', key: 'unknown:-', name: '-' };
    }
    if (isAutoAllocatedIp(ip)) {
      this._note(`${side}-auto-allocated-ip`, flow, `${ip} (Istio's DNS proxy allocated it to a ServiceEntry host, and the line names no host)`);
      return { kind: 'unknown', key: `unknown:${ip}`, name: ip, ip };
    }
    if (this._inv.nodeIps.has(ip)) return { kind: 'node', key: `node:${ip}`, name: ip, ip };
    if (!isPrivateIp(ip)) return { kind: 'world', key: `world:${ip}`, name: ip, ip };
    const r = this._podAt(ip, t);
    this._note(`${side}-${'reason' in r ? r.reason : 'unknown-ip'}`, flow, ip);
    return { kind: 'unknown', key: `unknown:${ip}`, name: ip, ip };
  }

  private _destination(flow: Flow, t: number | undefined): { identity: Identity; port: number; pod?: Pod } {
    const ref = flow.destination;
    const pod = this._pod(ref, t, flow, 'destination');
    if (pod !== undefined) {
      const service = ref.service === undefined ? undefined : this._serviceOf(ref.service);
      const port =
        ref.port ??
        (ref.servicePort === undefined && service !== undefined ? this._onlyPort(service, flow, pod) : targetPort(service, ref.servicePort, pod)) ??
        (service === undefined && ref.servicePort !== undefined ? podPortFor(pod, ref.servicePort) : undefined) ??
        ref.servicePort ??
        0;
      return { identity: pod.identity, port, pod };
    }
    const service = ref.service === undefined ? undefined : this._serviceOf(ref.service);
    // A claimed workload the inventory cannot back (noted) is that unknown workload, never
    // whatever the Service fronts today.
    if (ref.workload !== undefined && ref.ip === undefined) {
      const only = service?.ports.filter((p) => p.protocol === 'TCP');
      const port = only?.length === 1 && typeof only[0]!.targetPort === 'number' ? only[0]!.targetPort : (ref.servicePort ?? 0);
      return { identity: this._byAddress(ref, t, flow, 'destination'), port };
    }
    // No upstream pod (e.g. 503 before a host was picked): the Service, if it fronts one workload.
    if (service !== undefined && ref.ip === undefined) {
      // Which pods back a Service changes over time: not memoized.
      this._validity.reusable = false;
      const backends = this._backends(service, t);
      const workloads = new Set(backends.map((p) => p.workload.key));
      if (workloads.size === 1) {
        const p = backends[0]!;
        const port = (ref.servicePort === undefined ? this._onlyPort(service, flow, p) : targetPort(service, ref.servicePort, p)) ?? ref.servicePort ?? 0;
        return { identity: p.identity, port, pod: p };
      }
      this._note(workloads.size === 0 ? 'destination-service-without-pods' : 'destination-service-ambiguous', flow, `${service.namespace}/${service.name}`);
      return { identity: { kind: 'unknown', key: `unknown:service/${service.namespace}/${service.name}`, name: `${service.namespace}/${service.name}` }, port: ref.servicePort ?? 0 };
    }
    if (ref.service !== undefined && service === undefined && ref.ip === undefined) {
      this._note('destination-service-not-in-inventory', flow, ref.service);
      const svc = detached(ref.service);
      return { identity: { kind: 'unknown', key: `unknown:service/${svc}`, name: svc }, port: ref.servicePort ?? 0 };
    }
    return { identity: this._byAddress(ref, t, flow, 'destination'), port: ref.port ?? ref.servicePort ?? 0 };
  }

  /**
   * The target port of a Service addressed without a port (Istio metrics have no port label):
   * its only TCP port, or the only one that declares the flow's protocol as Istio reads a port's
   * protocol (appProtocol, else the name's prefix: `http-…`, `grpc-…`, `tcp-…`). Anything else
   * (several, or none declared) is noted and gets port 0, which observe takes into the edge of
   * a source that saw the port, when one did (graph/fuse.ts).
   */
  private _onlyPort(service: Service, flow: Flow, pod: Pod): number | undefined {
    const tcp = service.ports.filter((p) => p.protocol === 'TCP');
    const wanted = flow.protocol === 'tcp' ? TCP_PROTOCOLS : flow.protocol === 'grpc' ? GRPC_PROTOCOLS : HTTP_PROTOCOLS;
    const declaring = tcp.filter((p) => {
      const d = declaredProtocol(p);
      return d !== undefined && wanted.has(d);
    });
    const chosen = tcp.length === 1 ? tcp : declaring;
    if (chosen.length === 1) return targetPort(service, chosen[0]!.port, pod);
    this._note('destination-port-ambiguous', flow, `${service.namespace}/${service.name} has ports ${tcp.map((p) => `${p.name ?? '-'}:${p.port}`).join(', ')} and the telemetry names none`);
    return undefined;
  }

  private _serviceOf(fqdn: string): Service | undefined {
    const [name, namespace] = fqdn.split('.');
    return this._services.get(`${namespace}/${name}`);
  }

  private _backends(service: Service, t: number | undefined): Pod[] {
    const sel = service.selector;
    if (sel === undefined || Object.keys(sel).length === 0) return [];
    return this._inv.pods.filter(
      (p) =>
        p.namespace === service.namespace &&
        selects(sel, p.labels) &&
        (t === undefined || ((p.start === undefined || t >= p.start - LIFETIME_SLACK_MS) && (p.end === undefined || t <= p.end + LIFETIME_SLACK_MS))),
    );
  }
}

function resolvedFlow(flow: Flow, r: Route): ResolvedFlow {
  return {
    flow,
    source: r.source,
    destination: r.destination,
    port: r.port,
    reporter: r.reporter,
    mtls: r.gatewayHop ? 'unknown' : flow.mtls,
    edgeKey: r.edgeKey,
  };
}

const HTTP_PROTOCOLS: ReadonlySet<string> = new Set(['http', 'http2', 'https', 'h2c', 'kubernetes.io/h2c']);
const GRPC_PROTOCOLS: ReadonlySet<string> = new Set(['grpc', 'grpc-web', 'http2', 'h2c', 'kubernetes.io/h2c']);
const TCP_PROTOCOLS: ReadonlySet<string> = new Set(['tcp', 'tls', 'mongo', 'mysql', 'redis']);
const KNOWN_PROTOCOLS: readonly string[] = [...new Set([...HTTP_PROTOCOLS, ...GRPC_PROTOCOLS, ...TCP_PROTOCOLS])];

/** A Service port's protocol as Istio selects it: appProtocol, else the name's prefix; undefined: detected. */
function declaredProtocol(p: Service['ports'][number]): string | undefined {
  if (p.appProtocol !== undefined) return p.appProtocol.toLowerCase();
  const name = p.name?.toLowerCase();
  return name === undefined ? undefined : KNOWN_PROTOCOLS.find((x) => name === x || name.startsWith(`${x}-`));
}

/** `spiffe://TRUST_DOMAIN/ns/NS/sa/SA` → the service account it names. */
function accountOf(principal: string): { namespace: string; name: string } | undefined {
  const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  return m === null ? undefined : { namespace: m[1]!, name: m[2]! };
}

function claimText(c: NonNullable<EndpointRef['workload']>): string {
  return `${c.namespace}/${c.kind === undefined ? '' : `${c.kind}/`}${c.name}`;
}

/**
 * The pod's port for a port the client addressed with no Service known (a trace's `server.port`:
 * the Host header's port, often a Service's): the pod's own port of that number, else its one
 * declared TCP port, else the number as it is.
 */
function podPortFor(pod: Pod, addressed: number): number {
  const tcp = pod.ports.filter((p) => p.protocol === 'TCP');
  if (tcp.some((p) => p.port === addressed)) return addressed;
  return tcp.length === 1 ? tcp[0]!.port : addressed;
}

/** A Service port's target port on `pod` (named target ports resolve per pod). */
function targetPort(service: Service | undefined, servicePort: number | undefined, pod: Pod): number | undefined {
  if (service === undefined || servicePort === undefined) return undefined;
  const sp = service.ports.find((p) => p.port === servicePort);
  if (sp === undefined) return undefined;
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  return pod.ports.find((p) => p.name === sp.targetPort)?.port;
}
