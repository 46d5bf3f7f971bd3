// Envoy address strings: `10.44.1.27:80`, `[fd00::1]:80`; `-`, pipes and unix sockets are not addresses.

export interface Address {
  ip: string;
  port: number;
}

const V4 = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;
const V6 = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/;

export function parseAddress(s: string | undefined): Address | undefined {
  if (s === undefined) return undefined;
  const m = V4.exec(s) ?? V6.exec(s);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { ip: m[1]!, port };
}

/** An upstream cluster name: `outbound|9080|v3|reviews.default.svc.cluster.local`, `inbound|9080||`. */
export interface Cluster {
  direction: 'inbound' | 'outbound' | 'passthrough' | 'blackhole' | 'inbound-passthrough' | 'other';
  port?: number;
  host?: string;
}

export function parseCluster(name: string | undefined): Cluster | undefined {
  if (name === undefined) return undefined;
  if (name.startsWith('outbound|') || name.startsWith('inbound|')) {
    const [dir, port, , host] = name.split('|');
    const p = Number(port);
    return {
      direction: dir === 'inbound' ? 'inbound' : 'outbound',
      port: Number.isInteger(p) && p > 0 && p <= 65535 ? p : undefined,
      host: host === undefined || host === '' ? undefined : host,
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
