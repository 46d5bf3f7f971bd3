// Endpoint references from sources → identities (workloads, world, node, unknown).
// Identity resolution happens here once for every source (style.md, anti-pattern 1).

import type { EndpointRef, Flow } from '../flow/flow.js';
import { isPrivateIp, type Identity, type ResolvedFlow } from '../flow/identity.js';
import type { Tally } from '../tally.js';
import type { Inventory, Pod, Service } from './inventory.js';

/** Clock skew tolerated between log timestamps and pod start/finish times. */
export const LIFETIME_SLACK_MS = 60_000;

export type IpResolution = { pod: Pod } | { reason: 'unknown-ip' | 'ip-outside-pod-lifetime' | 'ip-ambiguous' };

/** The pod that held `ip` at time `t` (time-aware: pod IPs are reused). */
export function podAt(inv: Inventory, ip: string, t: number | undefined): IpResolution {
  const candidates = inv.podsByIp.get(ip);
  if (candidates === undefined) return { reason: 'unknown-ip' };
  if (t === undefined) {
    const live = candidates.filter((p) => p.end === undefined);
    const pool = live.length > 0 ? live : candidates;
    const workloads = new Set(pool.map((p) => p.workload.key));
    return workloads.size === 1 ? { pod: pool[pool.length - 1]! } : { reason: 'ip-ambiguous' };
  }
  let best: Pod | undefined;
  for (const p of candidates) {
    if (p.start !== undefined && t < p.start - LIFETIME_SLACK_MS) continue;
    if (p.end !== undefined && t > p.end + LIFETIME_SLACK_MS) continue;
    // Within the slack two lifetimes can overlap: the later-started pod wins.
    if (best === undefined || (p.start ?? 0) > (best.start ?? 0)) best = p;
  }
  return best === undefined ? { reason: 'ip-outside-pod-lifetime' } : { pod: best };
}

export class Resolver {
  /** Endpoints that became `unknown` nodes, by reason, with where they were seen. */
  readonly unresolved: Tally;
  private readonly _services = new Map<string, Service>();

  constructor(
    private readonly _inv: Inventory,
    unresolved: Tally,
  ) {
    this.unresolved = unresolved;
    for (const s of _inv.services) this._services.set(`${s.namespace}/${s.name}`, s);
  }

  resolve(flow: Flow): ResolvedFlow[] {
    const t = flow.timestamp;
    const srcPod = this._pod(flow.source, t, flow, 'source');
    const dst = this._destination(flow, t);
    const source = srcPod?.workload !== undefined ? withSa(srcPod) : this._byAddress(flow.source, t, flow, 'source');
    if (dst === undefined) return [];
    const out: ResolvedFlow[] = [
      { flow, source, destination: dst.identity, port: dst.port, reporter: flow.reporter, mtls: flow.mtls },
    ];
    // Ingress gateway: the proxy that wrote this outbound line was itself the target of the
    // downstream connection, so the line also records client → gateway on the listener port.
    if (flow.proxied !== undefined) {
      const listener = podAt(this._inv, flow.proxied.listener.ip, t);
      if ('pod' in listener) {
        const gw = listener.pod;
        const sameAsSource = srcPod !== undefined ? srcPod.uid === gw.uid : dst.pod?.uid !== gw.uid;
        if (sameAsSource) {
          if (srcPod === undefined) out[0]!.source = withSa(gw);
          out.push({
            flow,
            source: this._byAddress({ ip: flow.proxied.client.ip }, t, flow, 'source'),
            destination: withSa(gw),
            port: flow.proxied.listener.port,
            reporter: 'server',
            mtls: 'unknown',
          });
        }
      }
    }
    return out;
  }

  // The addresses in the line are the proxy's own account; where the log was collected is
  // second-hand (a mislabelled file, a shared collector), so it only fills in when they fail.
  private _pod(ref: EndpointRef, t: number | undefined, flow: Flow, side: string): Pod | undefined {
    let byIp: Pod | undefined;
    if (ref.ip !== undefined) {
      const r = podAt(this._inv, ref.ip, t);
      if ('pod' in r) byIp = r.pod;
    }
    let byName: Pod | undefined;
    if (ref.pod !== undefined) {
      const named = (this._inv.podsByName.get(ref.pod.name) ?? []).filter((p) => ref.pod!.namespace === '' || p.namespace === ref.pod!.namespace);
      if (named.length === 1) byName = named[0];
      // A file name that only looks like a pod name is not evidence; an envelope or path that names a missing pod is worth saying.
      else if (ref.pod.namespace !== '' && byIp === undefined) {
        this.unresolved.add(`${side}-pod-not-in-inventory`, flow.evidence.location, `${ref.pod.namespace}/${ref.pod.name}`);
      }
    }
    if (byIp !== undefined && byName !== undefined && byIp.uid !== byName.uid && ref.pod!.namespace !== '') {
      this.unresolved.add(`${side}-reporter-mismatch`, flow.evidence.location, `log location says ${byName.namespace}/${byName.name}, address ${ref.ip} is ${byIp.namespace}/${byIp.name}`);
    }
    return byIp ?? byName;
  }

  private _byAddress(ref: EndpointRef, t: number | undefined, flow: Flow, side: 'source' | 'destination'): Identity {
    const ip = ref.ip;
    if (ref.host !== undefined && side === 'destination') return { kind: 'world', key: `world:${ref.host}`, name: ref.host, ...(ip ? { ip } : {}) };
    if (ip === undefined) {
      this.unresolved.add(`${side}-missing`, flow.evidence.location, 'no address or pod names this endpoint');
      return { kind: 'unknown', key: 'unknown:-', name: '-' };
    }
    if (this._inv.nodeIps.has(ip)) return { kind: 'node', key: `node:${ip}`, name: ip, ip };
    if (!isPrivateIp(ip)) return { kind: 'world', key: `world:${ip}`, name: ip, ip };
    const r = podAt(this._inv, ip, t);
    this.unresolved.add(`${side}-${'reason' in r ? r.reason : 'unknown-ip'}`, flow.evidence.location, ip);
    return { kind: 'unknown', key: `unknown:${ip}`, name: ip, ip };
  }

  private _destination(flow: Flow, t: number | undefined): { identity: Identity; port: number; pod?: Pod } | undefined {
    const ref = flow.destination;
    const pod = this._pod(ref, t, flow, 'destination');
    const service = ref.service === undefined ? undefined : this._serviceOf(ref.service);
    if (pod !== undefined) {
      const port = ref.port ?? targetPort(service, ref.servicePort, pod) ?? ref.servicePort ?? 0;
      return { identity: withSa(pod), port, pod };
    }
    // No upstream pod (e.g. 503 before a host was picked): the Service, if it fronts one workload.
    if (service !== undefined && ref.ip === undefined) {
      const backends = this._backends(service, t);
      const workloads = new Set(backends.map((p) => p.workload.key));
      if (workloads.size === 1) {
        const p = backends[0]!;
        return { identity: withSa(p), port: targetPort(service, ref.servicePort, p) ?? ref.servicePort ?? 0, pod: p };
      }
      this.unresolved.add(workloads.size === 0 ? 'destination-service-without-pods' : 'destination-service-ambiguous', flow.evidence.location, `${service.namespace}/${service.name}`);
      return { identity: { kind: 'unknown', key: `unknown:service/${service.namespace}/${service.name}`, name: `${service.namespace}/${service.name}` }, port: ref.servicePort ?? 0 };
    }
    if (ref.service !== undefined && service === undefined && ref.ip === undefined) {
      this.unresolved.add('destination-service-not-in-inventory', flow.evidence.location, ref.service);
      return { identity: { kind: 'unknown', key: `unknown:service/${ref.service}`, name: ref.service }, port: ref.servicePort ?? 0 };
    }
    return { identity: this._byAddress(ref, t, flow, 'destination'), port: ref.port ?? ref.servicePort ?? 0 };
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
        Object.entries(sel).every(([k, v]) => p.labels[k] === v) &&
        (t === undefined || ((p.start === undefined || t >= p.start - LIFETIME_SLACK_MS) && (p.end === undefined || t <= p.end + LIFETIME_SLACK_MS))),
    );
  }
}

function withSa(pod: Pod): Identity {
  return { ...pod.workload, serviceAccount: pod.serviceAccount };
}

/** A Service port's target port on `pod` (named target ports resolve per pod). */
function targetPort(service: Service | undefined, servicePort: number | undefined, pod: Pod): number | undefined {
  if (service === undefined || servicePort === undefined) return undefined;
  const sp = service.ports.find((p) => p.port === servicePort);
  if (sp === undefined) return undefined;
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  return pod.ports.find((p) => p.name === sp.targetPort)?.port;
}
