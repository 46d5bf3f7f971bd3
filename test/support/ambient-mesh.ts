// A small mesh with an ambient namespace, for the emitter and replay tests of ambient mode:
//
//   shop (istio.io/dataplane-mode=ambient): api and web in ambient mode, batch opted out
//     (istio.io/dataplane-mode=none on its pod), admin with an injected sidecar (which wins);
//   front (sidecar namespace): frontend; legacy (not meshed): legacy-client;
//   kube-system: coredns behind kube-dns; istio-system: istiod.
//
// Observed: frontend -> api:8080 GET/POST on /api/items/{id} and /api/cart (the client's
// sidecar saw it, no server proxy did), web -> api:8080/tcp, legacy-client -> api:8080
// GET /health, frontend -> admin:9090 GET /admin/stats over mTLS, web -> frontend:8000/tcp
// (the frontend's sidecar saw it over mTLS).

import { emptySide, type EdgeAttributes, type NodeAttributes } from '../../src/graph/attributes.js';
import { createGraph, type ServiceGraph } from '../../src/graph/graph.js';
import { edgeKey } from '../../src/flow/edge-key.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { namespace, pod, service } from './kube.js';
import { NO_REFUSALS } from './edge.js';

export interface MeshWorkload {
  ns: string;
  name: string;
  sa: string;
  ip: string;
  sidecar: boolean;
  labels: Record<string, string>;
  port?: number;
}

export const W = {
  api: { ns: 'shop', name: 'api', sa: 'api', ip: '10.1.0.2', sidecar: false, labels: { app: 'api' }, port: 8080 },
  web: { ns: 'shop', name: 'web', sa: 'web', ip: '10.1.0.1', sidecar: false, labels: { app: 'web' } },
  batch: { ns: 'shop', name: 'batch', sa: 'batch', ip: '10.1.0.3', sidecar: false, labels: { app: 'batch', 'istio.io/dataplane-mode': 'none' } },
  admin: { ns: 'shop', name: 'admin', sa: 'admin', ip: '10.1.0.4', sidecar: true, labels: { app: 'admin' }, port: 9090 },
  frontend: { ns: 'front', name: 'frontend', sa: 'frontend', ip: '10.2.0.1', sidecar: true, labels: { app: 'frontend' }, port: 8000 },
  legacy: { ns: 'legacy', name: 'legacy-client', sa: 'legacy', ip: '10.3.0.1', sidecar: false, labels: { app: 'legacy-client' } },
} satisfies Record<string, MeshWorkload>;

export const HOST_IP = '192.168.0.1';
export const key = (w: MeshWorkload) => `${w.ns}/Deployment/${w.name}`;

export function ambientInventory(extra: KubeObject[] = []): KubeObject[] {
  const objs: KubeObject[] = [
    namespace('shop', { 'istio.io/dataplane-mode': 'ambient' }),
    namespace('front', { 'istio-injection': 'enabled' }),
    namespace('legacy'),
    namespace('kube-system'),
    namespace('istio-system'),
  ];
  for (const w of Object.values(W) as MeshWorkload[]) {
    objs.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.name, namespace: w.ns, labels: { app: w.labels['app']! } } });
    objs.push(
      pod(w.ns, `${w.name}-0`, {
        ip: w.ip,
        owner: ['Deployment', w.name],
        labels: w.labels,
        sa: w.sa,
        sidecar: w.sidecar,
        hostIP: HOST_IP,
        ports: w.port === undefined ? [] : [['http', w.port]],
      }),
    );
  }
  objs.push(pod('kube-system', 'coredns-0', { ip: '10.9.0.10', labels: { 'k8s-app': 'kube-dns' }, sidecar: false, ports: [['dns', 53]] }));
  objs.push(service('kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, [[53, 53]]));
  objs.push(pod('istio-system', 'istiod-0', { ip: '10.9.0.20', labels: { app: 'istiod' }, sidecar: false, ports: [['grpc', 15012]] }));
  objs.push(service('istio-system', 'istiod', { app: 'istiod' }, [[15012, 15012]], '10.96.0.20'));
  return [...objs, ...extra];
}

interface EdgeSpec {
  from: MeshWorkload;
  to: MeshWorkload;
  port: number;
  protocol: 'http' | 'tcp';
  methods?: string[];
  paths?: string[];
  /** Requests the client's proxy (or ztunnel's metrics) counted. */
  client: number;
  /** Requests the server's sidecar saw over mTLS. */
  mutual?: number;
}

const EDGES: EdgeSpec[] = [
  { from: W.frontend, to: W.api, port: 8080, protocol: 'http', methods: ['GET', 'POST'], paths: ['/api/cart', '/api/items/{id}'], client: 20 },
  { from: W.web, to: W.api, port: 8080, protocol: 'tcp', client: 12 },
  { from: W.legacy, to: W.api, port: 8080, protocol: 'http', methods: ['GET'], paths: ['/health'], client: 4 },
  { from: W.frontend, to: W.admin, port: 9090, protocol: 'http', methods: ['GET'], paths: ['/admin/stats'], client: 5, mutual: 5 },
  { from: W.web, to: W.frontend, port: 8000, protocol: 'tcp', client: 0, mutual: 6 },
];

export function ambientGraph(edges: EdgeSpec[] = EDGES): ServiceGraph {
  const g = createGraph();
  const nodes = new Set<string>();
  for (const e of edges) {
    for (const w of [e.from, e.to]) {
      if (nodes.has(key(w))) continue;
      nodes.add(key(w));
      const attrs: NodeAttributes = { kind: 'workload', name: w.name, namespace: w.ns, workloadKind: 'Deployment', serviceAccounts: [w.sa], labels: { app: w.labels['app']! }, ips: [w.ip] };
      g.addNode(key(w), attrs);
    }
    const a: EdgeAttributes = {
      source: key(e.from),
      target: key(e.to),
      port: e.port,
      protocol: e.protocol,
      client: { ...emptySide(), requests: e.client },
      server: { ...emptySide(), requests: e.mutual ?? 0, mutual: e.mutual ?? 0 },
      sources: { 'access-log': { client: { ...emptySide(), requests: e.client }, server: { ...emptySide(), requests: e.mutual ?? 0, mutual: e.mutual ?? 0 } } },
      firstSeen: Date.UTC(2026, 10, 24, 10),
      lastSeen: Date.UTC(2026, 10, 30, 11),
      days: ['2026-11-24', '2026-11-30'],
      methods: e.methods ?? [],
      paths: e.paths ?? [],
      pathsTruncated: false,
      services: [],
      sourceServiceAccounts: [e.from.sa],
      decoders: ['envoy-text'],
      ...NO_REFUSALS,
    };
    g.addEdgeWithKey(edgeKey(a.source, a.target, a.port, a.protocol), a.source, a.target, a);
  }
  return g;
}
