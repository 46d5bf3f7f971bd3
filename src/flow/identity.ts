// Who an endpoint is, once inventory/ has resolved it. Graph nodes are keyed by `key`.

import type { Flow } from './flow.js';

export type NodeKind = 'workload' | 'world' | 'node' | 'unknown';

export interface Identity {
  kind: NodeKind;
  /** `NS/Kind/name` for workloads; `world:HOST_OR_IP`, `node:IP`, `unknown:IP` otherwise. */
  key: string;
  namespace?: string;
  workloadKind?: string;
  name: string;
  /** The service account of the pod this observation came from. */
  serviceAccount?: string;
  /** Labels every pod of the workload carries (hash labels excluded). */
  labels?: Readonly<Record<string, string>>;
  /** For world/node/unknown: the address observed. */
  ip?: string;
}

export interface ResolvedFlow {
  flow: Flow;
  source: Identity;
  destination: Identity;
  /** Destination target (pod) port. */
  port: number;
  /** Which proxy reported this hop (a gateway's line reports two hops). */
  reporter: Flow['reporter'];
  mtls: Flow['mtls'];
  /**
   * The graph edge key, when the resolver has it computed already (memoized routes): the same
   * string object for every flow of a route, built from identity keys, so the graph keeps it
   * as it is (it never shares a read buffer).
   */
  edgeKey?: string;
}

/**
 * The peer of requests a server received through a proxy that set X-Forwarded-For: its line
 * names only the original client (port 0), never the peer. One node for all of them; the
 * forwarded address is never a node, an IP of one, or a principal.
 */
export const BEHIND_PROXY: Identity = Object.freeze({ kind: 'unknown', key: 'unknown:behind-proxy', name: 'mTLS peer behind a proxy' });

export function workloadKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

/** A private, link-local or CGNAT address is inside someone's network: `unknown`, not `world`. */
export function isPrivateIp(ip: string): boolean {
  if (ip.includes(':')) {
    const lower = ip.toLowerCase();
    return lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80') || lower === '::1';
  }
  const o = ip.split('.').map(Number);
  const [a = -1, b = -1] = o;
  return (
    a === 10 ||
    a === 127 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254)
  );
}
