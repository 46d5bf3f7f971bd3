// Envoy address strings: `10.44.1.27:80`, `[fd00::1]:80`; `-`, pipes and unix sockets are not addresses.
//
// Ambient waypoints also write Envoy internal addresses (`envoy://…`):
//   envoy://connect_originate/10.244.0.32:9080    upstream_host: the HBONE tunnel's target, the real pod address
//   envoy://inbound-pod|9080||10.244.2.9/          upstream_host of 2022 waypoints: the same, written as a listener name
//   envoy://internal_client_address/              a peer behind an internal listener: no address at all
//   envoy://inbound-vip|9080||productpage…/       the Service (VIP) listener: no address either
// The first two are read as the pod address they carry; the others are not addresses.

export interface Address {
  ip: string;
  port: number;
}

// Hand-scanned rather than matched: these run several times per log line (hot path).
export function parseAddress(s: string | undefined): Address | undefined {
  if (s === undefined) return undefined;
  if (s.charCodeAt(0) === 101 /* e */ && s.startsWith('envoy://')) return internalAddress(s);
  const colon = s.lastIndexOf(':');
  if (colon <= 0 || colon === s.length - 1 || s.length - colon > 6) return undefined;
  let port = 0;
  for (let i = colon + 1; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    port = port * 10 + c;
  }
  if (port > 65535) return undefined;
  let ip: string;
  if (s.charCodeAt(0) === 91 /* [ */) {
    if (s.charCodeAt(colon - 1) !== 93 /* ] */) return undefined;
    ip = s.slice(1, colon - 1);
    if (!/^[0-9a-fA-F:.]+$/.test(ip)) return undefined;
  } else {
    ip = s.slice(0, colon);
    if (!isIPv4(ip)) return undefined;
  }
  return { ip, port };
}

const CONNECT_ORIGINATE = 'envoy://connect_originate/';
const INBOUND_POD = 'envoy://inbound-pod|';

/** The pod address inside an Envoy internal address, when it carries one (see above). */
function internalAddress(s: string): Address | undefined {
  if (s.startsWith(CONNECT_ORIGINATE)) {
    const rest = s.slice(CONNECT_ORIGINATE.length);
    return rest.startsWith('envoy://') ? undefined : parseAddress(rest);
  }
  if (s.startsWith(INBOUND_POD) && s.endsWith('/')) {
    // inbound-pod|PORT||IP/
    const parts = s.slice(INBOUND_POD.length, -1).split('|');
    if (parts.length !== 3 || parts[1] !== '') return undefined;
    const ip = parts[2]!;
    return ip.includes(':') ? parseAddress(`[${ip}]:${parts[0]}`) : parseAddress(`${ip}:${parts[0]}`);
  }
  return undefined;
}

function isIPv4(s: string): boolean {
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return false;
      dots++;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return false;
    } else return false;
  }
  return dots === 3 && digits > 0;
}

/**
 * An upstream cluster name: `outbound|9080|v3|reviews.default.svc.cluster.local`, `inbound|9080||`,
 * and an ambient waypoint's `inbound-vip|9080|http|productpage.default.svc.cluster.local` (the
 * waypoint serving the Service's VIP: its line is the server side of the request, on behalf of
 * the Service's pods, which the upstream host names as `envoy://connect_originate/POD_IP:PORT`).
 */
export interface Cluster {
  direction: 'inbound' | 'outbound' | 'inbound-vip' | 'passthrough' | 'blackhole' | 'inbound-passthrough' | 'other';
  port?: number;
  host?: string;
}

export function parseCluster(name: string | undefined): Cluster | undefined {
  if (name === undefined) return undefined;
  const inbound = name.startsWith('inbound|');
  const vip = !inbound && name.startsWith('inbound-vip|');
  if (inbound || vip || name.startsWith('outbound|')) {
    // DIRECTION|PORT|SUBSET|HOST
    const a = name.indexOf('|');
    const b = name.indexOf('|', a + 1);
    const c = b === -1 ? -1 : name.indexOf('|', b + 1);
    const p = Number(name.slice(a + 1, b === -1 ? undefined : b));
    const host = c === -1 ? '' : name.slice(c + 1);
    return {
      direction: inbound ? 'inbound' : vip ? 'inbound-vip' : 'outbound',
      port: Number.isInteger(p) && p > 0 && p <= 65535 ? p : undefined,
      host: host === '' ? undefined : host,
    };
  }
  if (name === 'PassthroughCluster') return { direction: 'passthrough' };
  if (name === 'BlackHoleCluster') return { direction: 'blackhole' };
  if (name.startsWith('InboundPassthroughCluster')) return { direction: 'inbound-passthrough' };
  return { direction: 'other', host: name };
}

/** `reviews.default.svc.cluster.local` → the Service's name and namespace. */
export function kubernetesServiceOf(host: string): { name: string; namespace: string } | undefined {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.|$)/.exec(host);
  return m === null ? undefined : { name: m[1]!, namespace: m[3]! };
}
