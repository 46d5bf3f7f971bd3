// Envoy address strings: `10.44.1.27:80`, `[fd00::1]:80`; `-`, pipes and unix sockets are not addresses.

export interface Address {
  ip: string;
  port: number;
}

// Hand-scanned rather than matched: these run several times per log line (hot path).
export function parseAddress(s: string | undefined): Address | undefined {
  if (s === undefined) return undefined;
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

/** An upstream cluster name: `outbound|9080|v3|reviews.default.svc.cluster.local`, `inbound|9080||`. */
export interface Cluster {
  direction: 'inbound' | 'outbound' | 'passthrough' | 'blackhole' | 'inbound-passthrough' | 'other';
  port?: number;
  host?: string;
}

export function parseCluster(name: string | undefined): Cluster | undefined {
  if (name === undefined) return undefined;
  const inbound = name.startsWith('inbound|');
  if (inbound || name.startsWith('outbound|')) {
    // DIRECTION|PORT|SUBSET|HOST
    const a = name.indexOf('|');
    const b = name.indexOf('|', a + 1);
    const c = b === -1 ? -1 : name.indexOf('|', b + 1);
    const p = Number(name.slice(a + 1, b === -1 ? undefined : b));
    const host = c === -1 ? '' : name.slice(c + 1);
    return {
      direction: inbound ? 'inbound' : 'outbound',
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
