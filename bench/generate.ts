// Writes a large synthetic Istio access log and the inventory that resolves it, for benchmarks.
//
//   node dist/bench/generate.js --lines 2000000 --format text|json --out bench-data/ [--seed N]
//                              [--workloads N] [--pairs N] [--every-pair] [--platform]
//
// Output: OUT/access-<format>-<lines>.log and OUT/inventory.json (a kubectl List of namespaces,
// service accounts, services, deployments, replicasets and pods). A mesh of 60 namespaces x 20
// workloads (one pod each) with 3000 distinct (client, server, port) pairs; --workloads and
// --pairs change the size (more namespaces of 20 workloads), and --every-pair takes the pairs
// in turn instead of by popularity, so a file of a few lines per pair has every pair in the
// graph (bench/stages.ts, which measures propose and verify by the mesh's size); --platform
// adds CoreDNS (kube-system, Service kube-dns) and istiod (istio-system) to the inventory, as a
// cluster has them, so propose can default-deny egress. Each request is logged
// once, alternately by the client's sidecar (outbound) and the server's (inbound). Paths carry
// numeric ids, UUIDs and query strings, so raw distinct paths run into the millions while the
// templated ones are few per edge. Deterministic for the same arguments; streams its output
// (memory does not grow with --lines). Prints one summary line to stderr and nothing else.

import { closeSync, mkdirSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Arguments

interface Args {
  lines: number;
  format: 'text' | 'json';
  out: string;
  seed: number;
  workloads: number;
  pairs: number;
  everyPair: boolean;
  platform: boolean;
}

function usage(msg: string): never {
  process.stderr.write(`bench/generate: ${msg}. Usage: node dist/bench/generate.js --lines N --format text|json --out DIR [--seed N] [--workloads N] [--pairs N] [--every-pair] [--platform]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { lines: 100_000, format: 'text', out: 'bench-data', seed: 1, workloads: NS_COUNT * WL_PER_NS, pairs: PAIR_COUNT, everyPair: false, platform: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined) usage(`${k} needs a value`);
      i++;
      return v;
    };
    switch (k) {
      case '--lines': {
        const n = Number(need().replace(/_/g, ''));
        if (!Number.isInteger(n) || n < 1) usage(`--lines must be a positive integer (${v})`);
        a.lines = n;
        break;
      }
      case '--format': {
        const f = need();
        if (f !== 'text' && f !== 'json') usage(`--format must be text or json (${f})`);
        a.format = f;
        break;
      }
      case '--out':
        a.out = need();
        break;
      case '--seed': {
        const n = Number(need());
        if (!Number.isInteger(n)) usage(`--seed must be an integer (${v})`);
        a.seed = n;
        break;
      }
      case '--workloads':
      case '--pairs': {
        const n = Number(need().replace(/_/g, ''));
        if (!Number.isInteger(n) || n < 2) usage(`${k} must be an integer of at least 2 (${v})`);
        if (k === '--workloads') a.workloads = n;
        else a.pairs = n;
        break;
      }
      case '--every-pair':
        a.everyPair = true;
        break;
      case '--platform':
        a.platform = true;
        break;
      default:
        usage(`unknown argument (${k})`);
    }
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// PRNG (mulberry32) and fast formatting helpers

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed * 0x9e3779b1) >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  next(): number {
    return this.u32() / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    const x = items[Math.floor(this.next() * items.length)];
    if (x === undefined) throw new Error('pick: empty list');
    return x;
  }
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

function hex8(x: number): string {
  return (HEX[(x >>> 24) & 255] ?? '') + (HEX[(x >>> 16) & 255] ?? '') + (HEX[(x >>> 8) & 255] ?? '') + (HEX[x & 255] ?? '');
}

function uuid(r: Rng): string {
  const a = hex8(r.u32());
  const b = hex8(r.u32());
  const c = hex8(r.u32());
  const d = hex8(r.u32());
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${'89ab'[c.charCodeAt(0) & 3] ?? '8'}${c.slice(1, 4)}-${c.slice(4, 8)}${d}`;
}

function sha(seed: string, n: number): string {
  // Stable short hashes for names (FNV-1a, hex), without pulling in node:crypto per call.
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = '';
  let x = h;
  while (out.length < n) {
    x = Math.imul(x ^ (x >>> 13), 0x5bd1e995) >>> 0;
    out += hex8(x);
  }
  return out.slice(0, n);
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
function safe(seed: string, n: number): string {
  const h = sha(seed, n * 2);
  let out = '';
  for (let i = 0; i < n; i++) out += SAFE[parseInt(h.slice(i * 2, i * 2 + 2), 16) % SAFE.length];
  return out;
}

function uidOf(seed: string): string {
  const h = sha(`uid:${seed}`, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// The synthetic mesh

const TEAMS = ['payments', 'orders', 'catalog', 'search', 'checkout', 'identity', 'billing', 'shipping', 'inventory', 'pricing', 'reviews', 'recommend', 'notify', 'media', 'analytics', 'ledger', 'fraud', 'loyalty', 'support', 'partner'];
const ENVS = ['prod', 'stage', 'eu'];
const ROLES = ['api', 'web', 'worker', 'gateway', 'db-proxy', 'cache', 'scheduler', 'indexer', 'exporter', 'importer', 'auth', 'events', 'search', 'ledger', 'reports', 'notifier', 'pricing', 'stock', 'frontend', 'backend'];
const RESOURCES = ['orders', 'users', 'carts', 'items', 'payments', 'invoices', 'products', 'accounts', 'sessions', 'shipments', 'tickets', 'reports', 'events', 'documents', 'prices', 'coupons'];
const SUBRESOURCES = ['items', 'history', 'status', 'lines', 'attachments', 'events', 'notes', 'refunds'];

const CLIENT_UAS = [
  'okhttp/4.12.0',
  'Go-http-client/1.1',
  'python-requests/2.31.0',
  'python-httpx/0.27.0',
  'axios/1.7.7',
  'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
  'Apache-HttpClient/5.3.1 (Java/17.0.12)',
  'ReactorNetty/1.1.22',
  'grpc-java-netty/1.62.2',
  'grpc-go/1.66.2',
  'Java-http-client/21.0.4',
  'Envoy/HC',
  'curl/8.9.1',
  'kube-probe/1.31',
  'Ruby',
  'Faraday v2.12.0',
  'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
];

interface Wl {
  idx: number;
  ns: string;
  name: string;
  sa: string;
  ip: string;
  node: number;
  clusterIP: string;
  ports: number[];
  /** Route templates: a function of the rng producing a raw path. */
  routes: ((r: Rng) => string)[];
  ua: string;
  rsHash: string;
  podName: string;
  uid: string;
}

interface Pair {
  client: Wl;
  server: Wl;
  port: number;
  /** Precomputed per-pair strings. */
  cluster: string;
  sni: string;
  authority: string;
  svcAddr: string;
  upstreamHost: string;
}

function routeFactory(r: Rng): (rr: Rng) => string {
  const res = r.pick(RESOURCES);
  const sub = r.pick(SUBRESOURCES);
  const ver = r.pick(['v1', 'v1', 'v2']);
  switch (r.int(0, 6)) {
    case 0:
      return (rr) => `/api/${ver}/${res}/${rr.int(1, 9_999_999)}`;
    case 1:
      return (rr) => `/api/${ver}/${res}/${uuid(rr)}`;
    case 2:
      return (rr) => `/api/${ver}/${res}/${rr.int(1, 999_999)}?token=${hex8(rr.u32())}${hex8(rr.u32())}`;
    case 3:
      return (rr) => `/api/${ver}/${res}/${rr.int(1, 999_999)}/${sub}?page=${rr.int(1, 40)}&limit=50`;
    case 4:
      return (rr) => `/${res}/${uuid(rr)}/${sub}`;
    case 5:
      return (rr) => `/api/${ver}/${res}?since=${1795500000 + rr.int(0, 99999)}&cursor=${hex8(rr.u32())}`;
    default:
      return () => `/api/${ver}/${res}`;
  }
}

const NS_COUNT = 60;
const WL_PER_NS = 20;
const PODS_PER_NODE = 200;
const PAIR_COUNT = 3000;

function buildMesh(seed: number, workloads: number, pairCount: number): { namespaces: string[]; wls: Wl[]; pairs: Pair[] } {
  const r = new Rng(seed ^ 0x51ed);
  const namespaces: string[] = [];
  for (const env of ENVS) for (const team of TEAMS) namespaces.push(`${team}-${env}`);
  // Beyond the 60 named namespaces, more teams: `payments-prod-2`, … (60 more per round).
  const nsCount = Math.ceil(workloads / WL_PER_NS);
  for (let n = namespaces.length; n < nsCount; n++) namespaces.push(`${namespaces[n % NS_COUNT]}-${Math.floor(n / NS_COUNT) + 1}`);
  namespaces.length = Math.min(namespaces.length, Math.max(nsCount, 1));
  const wls: Wl[] = [];
  for (let n = 0; n < nsCount; n++) {
    const ns = namespaces[n] ?? `ns-${n}`;
    for (let w = 0; w < WL_PER_NS && wls.length < workloads; w++) {
      const idx = wls.length;
      const name = ROLES[w] ?? `svc-${w}`;
      const node = Math.floor(idx / PODS_PER_NODE);
      const ports = [r.pick([8080, 8080, 8080, 9080, 3000, 5000])];
      if (r.next() < 0.25) ports.push(9090);
      const routes: ((rr: Rng) => string)[] = [];
      const nRoutes = r.int(3, 5);
      for (let i = 0; i < nRoutes; i++) routes.push(routeFactory(r));
      const rsHash = safe(`rs:${ns}/${name}`, 10);
      const podName = `${name}-${rsHash}-${safe(`pod:${ns}/${name}`, 5)}`;
      wls.push({
        idx,
        ns,
        name,
        sa: `${name}-sa`,
        ip: `10.244.${node + 1}.${10 + (idx % PODS_PER_NODE)}`,
        node,
        clusterIP: `10.${100 + Math.floor(idx / 250)}.${Math.floor((idx % 250) / 10)}.${10 + (idx % 10) * 20 + Math.floor(idx / 2500)}`,
        ports,
        routes,
        ua: r.pick(CLIENT_UAS),
        rsHash,
        podName,
        uid: uidOf(`Pod/${ns}/${podName}`),
      });
    }
  }
  const seen = new Set<string>();
  const pairs: Pair[] = [];
  // Pairs past what the mesh holds could never all be found.
  const target = Math.min(pairCount, wls.length * (wls.length - 1));
  while (pairs.length < target) {
    const client = r.pick(wls);
    let server: Wl;
    if (r.next() < 0.75) {
      const base = client.idx - (client.idx % WL_PER_NS);
      server = wls[base + r.int(0, WL_PER_NS - 1)] ?? wls[base] ?? client;
    } else {
      server = r.pick(wls);
    }
    if (server === client) continue;
    const port = r.pick(server.ports);
    const key = `${client.idx}>${server.idx}:${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const fqdn = `${server.name}.${server.ns}.svc.cluster.local`;
    pairs.push({
      client,
      server,
      port,
      cluster: `outbound|${port}||${fqdn}`,
      sni: `outbound_.${port}_._.${fqdn}`,
      authority: server.ns === client.ns ? `${server.name}:${port}` : `${server.name}.${server.ns}:${port}`,
      svcAddr: `${server.clusterIP}:${port}`,
      upstreamHost: `${server.ip}:${port}`,
    });
  }
  return { namespaces, wls, pairs };
}

// ---------------------------------------------------------------------------------------------
// Inventory

/** CoreDNS and istiod: pods no access log names, which proposals must still let every pod reach. */
function platformItems(created: string): unknown[] {
  const items: unknown[] = [];
  const parts = [
    { ns: 'kube-system', name: 'coredns', service: 'kube-dns', ip: '10.244.250.10', clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
    { ns: 'istio-system', name: 'istiod', service: 'istiod', ip: '10.244.250.20', clusterIP: '10.96.0.20', ports: [{ name: 'grpc-xds', port: 15012, protocol: 'TCP' }, { name: 'https-webhook', port: 15017, protocol: 'TCP' }] },
  ];
  for (const p of parts) {
    const rsHash = safe(`rs:${p.ns}/${p.name}`, 10);
    const podName = `${p.name}-${rsHash}-${safe(`pod:${p.ns}/${p.name}`, 5)}`;
    const labels = { app: p.name, 'pod-template-hash': rsHash };
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        creationTimestamp: created,
        labels,
        name: podName,
        namespace: p.ns,
        ownerReferences: [{ apiVersion: 'apps/v1', controller: true, kind: 'ReplicaSet', name: `${p.name}-${rsHash}`, uid: uidOf(`ReplicaSet/${p.ns}/${p.name}`) }],
        uid: uidOf(`Pod/${p.ns}/${podName}`),
      },
      spec: { containers: [{ image: `registry.example.com/${p.name}:1`, name: p.name, ports: p.ports.map((x) => ({ containerPort: x.port, name: x.name, protocol: x.protocol })) }], nodeName: 'node-1', serviceAccount: p.name, serviceAccountName: p.name },
      status: { hostIP: '10.0.1.11', phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }], startTime: created },
    });
    items.push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { creationTimestamp: created, labels, name: `${p.name}-${rsHash}`, namespace: p.ns, ownerReferences: [{ apiVersion: 'apps/v1', controller: true, kind: 'Deployment', name: p.name, uid: uidOf(`Deployment/${p.ns}/${p.name}`) }], uid: uidOf(`ReplicaSet/${p.ns}/${p.name}`) },
      spec: { replicas: 1, selector: { matchLabels: labels } },
    });
    items.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { creationTimestamp: created, labels: { app: p.name }, name: p.name, namespace: p.ns, uid: uidOf(`Deployment/${p.ns}/${p.name}`) }, spec: { replicas: 1, selector: { matchLabels: { app: p.name } } } });
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { creationTimestamp: created, name: p.service, namespace: p.ns, uid: uidOf(`Service/${p.ns}/${p.service}`) },
      spec: { clusterIP: p.clusterIP, clusterIPs: [p.clusterIP], ports: p.ports.map((x) => ({ name: x.name, port: x.port, protocol: x.protocol, targetPort: x.port })), selector: { app: p.name }, type: 'ClusterIP' },
    });
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { creationTimestamp: created, labels: { 'kubernetes.io/metadata.name': p.ns }, name: p.ns, uid: uidOf(`Namespace/${p.ns}`) } });
  }
  return items;
}

function inventory(namespaces: string[], wls: Wl[], platform: boolean): unknown {
  const created = '2026-11-20T08:00:00Z';
  const items: unknown[] = platform ? platformItems(created) : [];
  for (const w of wls) {
    const labels = { app: w.name, 'pod-template-hash': w.rsHash, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': w.name, 'service.istio.io/canonical-revision': 'latest' };
    const nodeIP = `10.0.1.${11 + w.node}`;
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        creationTimestamp: created,
        generateName: `${w.name}-${w.rsHash}-`,
        labels,
        name: w.podName,
        namespace: w.ns,
        ownerReferences: [{ apiVersion: 'apps/v1', blockOwnerDeletion: true, controller: true, kind: 'ReplicaSet', name: `${w.name}-${w.rsHash}`, uid: uidOf(`ReplicaSet/${w.ns}/${w.name}`) }],
        uid: w.uid,
      },
      spec: {
        containers: [
          { image: `registry.example.com/${w.ns}/${w.name}:1.0.0`, name: w.name, ports: w.ports.map((p) => ({ containerPort: p, name: p === 9090 ? 'grpc' : 'http', protocol: 'TCP' })) },
          { image: 'docker.io/istio/proxyv2:1.24.2', name: 'istio-proxy', ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }] },
        ],
        nodeName: `node-${w.node + 1}`,
        serviceAccount: w.sa,
        serviceAccountName: w.sa,
      },
      status: {
        containerStatuses: [w.name, 'istio-proxy'].map((n) => ({ name: n, ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2026-11-20T08:00:04Z' } } })),
        hostIP: nodeIP,
        hostIPs: [{ ip: nodeIP }],
        phase: 'Running',
        podIP: w.ip,
        podIPs: [{ ip: w.ip }],
        startTime: created,
      },
    });
  }
  for (const w of wls) {
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { creationTimestamp: created, labels: { app: w.name }, name: w.name, namespace: w.ns, uid: uidOf(`Service/${w.ns}/${w.name}`) },
      spec: {
        clusterIP: w.clusterIP,
        clusterIPs: [w.clusterIP],
        ports: w.ports.map((p) => ({ name: p === 9090 ? 'grpc' : 'http', port: p, protocol: 'TCP', targetPort: p })),
        selector: { app: w.name },
        type: 'ClusterIP',
      },
    });
  }
  for (const w of wls) {
    items.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { creationTimestamp: created, name: w.sa, namespace: w.ns, uid: uidOf(`ServiceAccount/${w.ns}/${w.sa}`) } });
  }
  for (const ns of namespaces) {
    items.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { creationTimestamp: created, labels: { 'istio-injection': 'enabled', 'kubernetes.io/metadata.name': ns }, name: ns, uid: uidOf(`Namespace/${ns}`) },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  for (const w of wls) {
    items.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { creationTimestamp: created, labels: { app: w.name }, name: w.name, namespace: w.ns, uid: uidOf(`Deployment/${w.ns}/${w.name}`) },
      spec: { replicas: 1, selector: { matchLabels: { app: w.name } } },
      status: { availableReplicas: 1, readyReplicas: 1, replicas: 1 },
    });
  }
  for (const w of wls) {
    items.push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        creationTimestamp: created,
        labels: { app: w.name, 'pod-template-hash': w.rsHash },
        name: `${w.name}-${w.rsHash}`,
        namespace: w.ns,
        ownerReferences: [{ apiVersion: 'apps/v1', blockOwnerDeletion: true, controller: true, kind: 'Deployment', name: w.name, uid: uidOf(`Deployment/${w.ns}/${w.name}`) }],
        uid: uidOf(`ReplicaSet/${w.ns}/${w.name}`),
      },
      spec: { replicas: 1, selector: { matchLabels: { app: w.name, 'pod-template-hash': w.rsHash } } },
      status: { availableReplicas: 1, readyReplicas: 1, replicas: 1 },
    });
  }
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

// ---------------------------------------------------------------------------------------------
// Log lines

const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'];

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const t0 = process.hrtime.bigint();
  const { namespaces, wls, pairs } = buildMesh(args.seed, args.workloads, args.pairs);
  const outDir = resolve(args.out);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'inventory.json'), JSON.stringify(inventory(namespaces, wls, args.platform), null, 4) + '\n');

  const file = join(outDir, `access-${args.format}-${args.lines}.log`);
  // Written under a temporary name and renamed when complete: an interrupted run must not
  // leave a short file that the benchmark would take for a whole one.
  const partial = file + '.partial';
  const fd = openSync(partial, 'w');
  const r = new Rng(args.seed);
  const json = args.format === 'json';
  const START = Date.UTC(2026, 10, 24, 10, 0, 0);
  const stepMs = 3_600_000 / args.lines;
  let tFloat = START;
  let curSecond = -1;
  let secPrefix = '';
  // Lines are ASCII: encode each straight into one large reusable buffer and write it out when
  // nearly full (appending to a JS string instead builds ropes that keep the GC busy).
  const BUF_SIZE = 16 * 1024 * 1024;
  const MAX_LINE = 64 * 1024;
  const out = Buffer.allocUnsafe(BUF_SIZE);
  let off = 0;
  const nPairs = pairs.length;

  for (let i = 0; i < args.lines; i++) {
    tFloat += r.next() * 2 * stepMs;
    const ms = Math.floor(tFloat);
    const sec = Math.floor(ms / 1000);
    if (sec !== curSecond) {
      curSecond = sec;
      secPrefix = new Date(sec * 1000).toISOString().slice(0, 20);
    }
    const start = `${secPrefix}${String(ms % 1000).padStart(3, '0')}Z`;
    // Skewed pair popularity: a few hot edges, a long tail.
    const u = r.next();
    const pair = args.everyPair ? pairs[i % nPairs] : (pairs[Math.floor(u * u * nPairs)] ?? pairs[0]);
    if (!pair) throw new Error('no pairs');
    const c = pair.client;
    const s = pair.server;
    const route = s.routes[r.int(0, s.routes.length - 1)];
    const path = route ? route(r) : '/';
    const method = METHODS[r.int(0, METHODS.length - 1)] ?? 'GET';
    const roll = r.next();
    const code = roll < 0.86 ? 200 : roll < 0.9 ? (method === 'POST' ? 201 : 204) : roll < 0.93 ? 404 : roll < 0.95 ? 400 : roll < 0.975 ? 503 : roll < 0.99 ? 500 : 403;
    const bytesIn = method === 'GET' || method === 'DELETE' ? 0 : r.int(40, 4000);
    const bytesOut = code === 204 ? 0 : r.int(19, 24000);
    const sd = r.int(0, 250);
    const ua = r.next() < 0.85 ? c.ua : (CLIENT_UAS[r.int(0, CLIENT_UAS.length - 1)] ?? c.ua);
    const rid = uuid(r);
    const clientPort = 32768 + (r.u32() % 28232);
    // Every pair in turn: alternate the reporting side by round, so each pair gets both.
    const outbound = ((args.everyPair ? Math.floor(i / nPairs) : i) & 1) === 0;
    let duration: number;
    let ust: number;
    let upstreamLocal: string;
    let downstreamLocal: string;
    let downstreamRemote: string;
    let cluster: string;
    let sni: string | null;
    if (outbound) {
      duration = sd + (r.u32() & 3);
      ust = sd;
      upstreamLocal = `${c.ip}:${clientPort}`;
      downstreamLocal = pair.svcAddr;
      downstreamRemote = `${c.ip}:${32768 + (r.u32() % 28232)}`;
      cluster = pair.cluster;
      sni = null;
    } else {
      duration = sd;
      ust = sd > 0 ? sd - (r.u32() & 1) : 0;
      upstreamLocal = `127.0.0.6:${32768 + (r.u32() % 28232)}`;
      downstreamLocal = pair.upstreamHost;
      downstreamRemote = `${c.ip}:${clientPort}`;
      cluster = `inbound|${pair.port}||`;
      sni = pair.sni;
    }
    const details = code === 503 && r.next() < 0.3 ? 'upstream_reset_before_response_started{connection_termination}' : 'via_upstream';
    const flags = details === 'via_upstream' ? '-' : 'UC';
    let line: string;
    if (json) {
      line =
        `{"response_flags":"${flags}","x_forwarded_for":null,"start_time":"${start}","connection_termination_details":null,` +
        `"path":"${path}","upstream_cluster":"${cluster}","user_agent":"${ua}","upstream_transport_failure_reason":null,` +
        `"response_code_details":"${details}","requested_server_name":${sni === null ? 'null' : `"${sni}"`},"response_code":${code},` +
        `"upstream_host":"${pair.upstreamHost}","duration":${duration},"route_name":"default","upstream_local_address":"${upstreamLocal}",` +
        `"bytes_received":${bytesIn},"protocol":"HTTP/1.1","authority":"${pair.authority}","downstream_remote_address":"${downstreamRemote}",` +
        `"method":"${method}","bytes_sent":${bytesOut},"request_id":"${rid}","downstream_local_address":"${downstreamLocal}",` +
        `"upstream_service_time":"${ust}"}\n`;
    } else {
      line =
        `[${start}] "${method} ${path} HTTP/1.1" ${code} ${flags} ${details} - "-" ${bytesIn} ${bytesOut} ${duration} ${ust} "-" "${ua}" "${rid}" ` +
        `"${pair.authority}" "${pair.upstreamHost}" ${cluster} ${upstreamLocal} ${downstreamLocal} ${downstreamRemote} ${sni ?? '-'} default\n`;
    }
    off += out.write(line, off, 'latin1');
    if (off > BUF_SIZE - MAX_LINE) {
      writeSync(fd, out, 0, off);
      off = 0;
    }
  }
  if (off > 0) writeSync(fd, out, 0, off);
  closeSync(fd);
  renameSync(partial, file);

  const size = statSync(file).size;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stderr.write(
    `bench/generate: wrote ${args.lines} ${args.format} lines (${(size / 1e6).toFixed(1)} MB, ${Math.round(size / args.lines)} B/line) to ${file} ` +
      `in ${secs.toFixed(1)} s; inventory: ${namespaces.length} namespaces, ${wls.length} pods, ${pairs.length} (client, server, port) pairs\n`,
  );
}

main();
