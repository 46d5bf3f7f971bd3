// Generates fixtures/rollout/: four hours of a small shop whose pods are replaced by rollouts
// mid-window, the istio-proxy logs its sidecars wrote (a node's /var/log/pods tree, CRI
// format), two inventory snapshots (before and after), and the graph the traffic must yield.
//
// An independent oracle, like make-fixtures.ts: it imports nothing from src/. The expected
// graph comes from the simulated requests, never from the logs it writes. Deterministic.
//
// Usage: node dist/scripts/make-rollout-fixture.js [--out DIR]   (default: <repo>/fixtures/rollout)
//
// Namespace shop, window 2026-11-24T08:00:00Z .. 12:00:00Z; snapshots at 09:00 and 11:30.
// - frontend (Deployment) → cart:80 (targetPort 9090) → catalog:80 (7070); cart → redis:6379 (TCP).
// - cart rolls twice: A → B at 09:30, B → C at 11:00; revisionHistoryLimit 0, so no old
//   ReplicaSet survives: B's pods are in no snapshot and no ReplicaSet of theirs either (their
//   Deployment's naming says whose they are).
// - frontend rolls A → B at 10:00; one B pod is evicted at 10:50 and replaced: the evicted pod
//   is in no snapshot, its ReplicaSet is in the second.
// - redis-0 (StatefulSet) is replaced at 10:45: same name, new uid, new IP.
// - CronJob reindex's 10:30 run: a Job pod at cart A's old 10.20.2.11, calling catalog; the
//   Job is deleted when done (only the CronJob is in the snapshots).
// - catalog scales up at 11:15: the new pod gets cart A's old 10.20.1.11. Its node's logs were
//   not collected: it is known from the second snapshot only, and cart's calls to it must not
//   resolve to cart.
// - debug (no sidecar, in no snapshot, at 10.20.2.99) calls catalog in plaintext: only
//   catalog's inbound lines show it; it cannot be resolved, and is not counted as resolvable.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare } from '../src/flow/compare.js';
import { Mulberry32 } from './mulberry32.js';

const sha = (s: string) => createHash('sha256').update(s).digest();
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
const safe = (seed: string, n: number) => [...sha(`safe:${seed}`).subarray(0, n)].map((b) => SAFE[b % SAFE.length]).join('');
const uidFor = (seed: string) => {
  const x = sha(`uid:${seed}`).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-a${x.slice(17, 20)}-${x.slice(20, 32)}`;
};
class Rng extends Mulberry32 {
  constructor(seed: string) {
    super(sha(`rng:${seed}`).readUInt32BE(0));
  }
}

const SEC = 1000;
const MIN = 60 * SEC;
const at = (h: number, m: number, s = 0) => Date.UTC(2026, 10, 24, h, m, s);
const T0 = at(8, 0);
const T_END = at(12, 0);
const BEFORE = at(9, 0);
const AFTER = at(11, 30);
const CREATED = Date.UTC(2026, 10, 23, 15, 0, 0);
const k8sTime = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const NS = 'shop';
const W1 = { name: 'worker-1', ip: '10.0.0.11' };
const W2 = { name: 'worker-2', ip: '10.0.0.12' };

interface Pod {
  name: string;
  uid: string;
  ip: string;
  node: typeof W1;
  start: number;
  /** Exclusive; Infinity while running at the window's end. */
  end: number;
  /** Workload key the graph must name it by. */
  workload: string;
  sa: string;
  labels: Record<string, string>;
  owner?: { kind: string; name: string };
  port: number;
  sidecar: boolean;
  /** Its istio-proxy log is in the fixture. */
  collected: boolean;
  lines: { t: number; text: string }[];
}

const pods: Pod[] = [];
function addPod(p: Omit<Pod, 'uid' | 'lines' | 'sidecar' | 'collected'> & { sidecar?: boolean; collected?: boolean; uidSeed?: string }): Pod {
  const pod: Pod = { sidecar: true, collected: true, ...p, uid: uidFor(p.uidSeed ?? p.name), lines: [] };
  pods.push(pod);
  return pod;
}

interface Rs {
  deployment: string;
  name: string;
  hash: string;
}
const rsOf = (deployment: string, rev: string): Rs => {
  const hash = safe(`${deployment}-${rev}`, 10);
  return { deployment, name: `${deployment}-${hash}`, hash };
};
const deploymentPod = (rs: Rs, i: number, ip: string, node: typeof W1, start: number, end: number, port: number, extra: Partial<Pod> = {}): Pod =>
  addPod({
    name: `${rs.name}-${safe(`${rs.name}-${i}`, 5)}`,
    ip,
    node,
    start,
    end,
    workload: `${NS}/Deployment/${rs.deployment}`,
    sa: rs.deployment,
    labels: { app: rs.deployment, 'pod-template-hash': rs.hash },
    owner: { kind: 'ReplicaSet', name: rs.name },
    port,
    ...extra,
  });

const frontendA = rsOf('frontend', 'a');
const frontendB = rsOf('frontend', 'b');
const cartA = rsOf('cart', 'a');
const cartB = rsOf('cart', 'b');
const cartC = rsOf('cart', 'c');
const catalogRs = rsOf('catalog', 'a');

const fa1 = deploymentPod(frontendA, 1, '10.20.1.10', W1, CREATED, at(10, 0, 20), 8080);
const fa2 = deploymentPod(frontendA, 2, '10.20.2.10', W2, CREATED, at(10, 0, 45), 8080);
const fb1 = deploymentPod(frontendB, 1, '10.20.1.40', W1, at(10, 0, 5), Infinity, 8080);
const fb2 = deploymentPod(frontendB, 2, '10.20.2.40', W2, at(10, 0, 30), at(10, 50, 0), 8080); // evicted
const fb3 = deploymentPod(frontendB, 3, '10.20.2.45', W2, at(10, 50, 10), Infinity, 8080);
const ca1 = deploymentPod(cartA, 1, '10.20.1.11', W1, CREATED, at(9, 30, 20), 9090);
const ca2 = deploymentPod(cartA, 2, '10.20.2.11', W2, CREATED, at(9, 30, 45), 9090);
const cb1 = deploymentPod(cartB, 1, '10.20.1.41', W1, at(9, 30, 5), at(11, 0, 20), 9090);
const cb2 = deploymentPod(cartB, 2, '10.20.2.41', W2, at(9, 30, 30), at(11, 0, 45), 9090);
const cc1 = deploymentPod(cartC, 1, '10.20.1.42', W1, at(11, 0, 5), Infinity, 9090);
const cc2 = deploymentPod(cartC, 2, '10.20.2.42', W2, at(11, 0, 30), Infinity, 9090);
const cat1 = deploymentPod(catalogRs, 1, '10.20.1.12', W1, CREATED, Infinity, 7070);
// Scaled up onto cart A's old address; its node's logs were not collected.
const cat2 = deploymentPod(catalogRs, 2, '10.20.1.11', W1, at(11, 15, 0), Infinity, 7070, { collected: false });
const redisPod = (ip: string, node: typeof W1, start: number, end: number, seed: string) =>
  addPod({ name: 'redis-0', uidSeed: seed, ip, node, start, end, workload: `${NS}/StatefulSet/redis`, sa: 'redis', labels: { app: 'redis', 'statefulset.kubernetes.io/pod-name': 'redis-0' }, owner: { kind: 'StatefulSet', name: 'redis' }, port: 6379 });
const r0a = redisPod('10.20.2.20', W2, CREATED, at(10, 45, 0), 'redis-0-a');
const r0b = redisPod('10.20.2.50', W2, at(10, 45, 20), Infinity, 'redis-0-b');
const JOB = `reindex-${Math.floor(at(10, 30) / MIN)}`;
const reindex = addPod({
  name: `${JOB}-${safe(JOB, 5)}`,
  ip: '10.20.2.11',
  node: W2,
  start: at(10, 30, 2),
  end: at(10, 34, 0),
  workload: `${NS}/CronJob/reindex`,
  sa: 'reindex',
  labels: { app: 'reindex', 'job-name': JOB },
  owner: { kind: 'Job', name: JOB },
  port: 0,
});
const debug = addPod({ name: 'debug', ip: '10.20.2.99', node: W2, start: at(10, 9, 0), end: at(10, 13, 0), workload: 'unknown:10.20.2.99', sa: 'default', labels: { run: 'debug' }, port: 0, sidecar: false, collected: false });
// Nothing in any snapshot or log names debug: it is the one endpoint nothing can resolve.
const knowable = (p: Pod, snapshots: Set<Pod>) => (p.sidecar && p.collected) || snapshots.has(p);

const alive = (p: Pod, t: number) => t >= p.start + 5 * SEC && t < p.end - 5 * SEC;

// ---------------------------------------------------------------------------------------------
// Services and lines

const SERVICES: Record<string, { ip: string; port: number; target: number; protocol: 'http' | 'tcp' }> = {
  frontend: { ip: '10.96.10.10', port: 80, target: 8080, protocol: 'http' },
  cart: { ip: '10.96.10.11', port: 80, target: 9090, protocol: 'http' },
  catalog: { ip: '10.96.10.12', port: 80, target: 7070, protocol: 'http' },
  redis: { ip: '10.96.10.13', port: 6379, target: 6379, protocol: 'tcp' },
};

interface Expected {
  source: string;
  target: string;
  port: number;
  protocol: 'http' | 'tcp';
  requests: number;
  /** Requests whose both endpoints left their own lines or are in a snapshot. */
  knowable: boolean;
}
const expected = new Map<string, Expected>();
let requestsTotal = 0;

const rng = new Rng('rollout');
let requestId = 0;
const reqId = () => uidFor(`req-${requestId++}`);
const eph = () => rng.int(32768, 60999);

function call(client: Pod, server: Pod, svc: string, t: number, method: string, path: string, mtls: boolean): void {
  const s = SERVICES[svc]!;
  const dur = rng.int(2, 40);
  const clientPort = eph();
  const id = reqId();
  const cluster = `outbound|${s.port}||${svc}.${NS}.svc.cluster.local`;
  const sni = `outbound_.${s.port}_._.${svc}.${NS}.svc.cluster.local`;
  const start = new Date(t).toISOString();
  const head = s.protocol === 'http' ? `"${method} ${path} HTTP/1.1" 200 - via_upstream - "-" 0 ${rng.int(40, 900)} ${dur} ${dur - 1}` : `"- - -" 0 - - - "-" ${rng.int(40, 900)} ${rng.int(40, 900)} ${dur} -`;
  const l7 = s.protocol === 'http' ? `"-" "shop/1.4" "${id}" "${svc}:${s.port}"` : `"-" "-" "-" "-"`;
  if (client.sidecar) {
    client.lines.push({ t: t + dur, text: `[${start}] ${head} ${l7} "${server.ip}:${s.target}" ${cluster} ${client.ip}:${clientPort} ${s.ip}:${s.port} ${client.ip}:${eph()} - ${s.protocol === 'http' ? 'default' : '-'}` });
  }
  // Without a client sidecar the server sees the client's own connection, in plaintext.
  const peer = client.sidecar ? `${client.ip}:${clientPort}` : `${client.ip}:${eph()}`;
  server.lines.push({ t: t + dur, text: `[${start}] ${head} ${l7} "${server.ip}:${s.target}" inbound|${s.target}|| 127.0.0.6:${eph()} ${server.ip}:${s.target} ${peer} ${mtls ? sni : '-'} ${s.protocol === 'http' ? 'default' : '-'}` });
  const key = `${client.workload}|${server.workload}|${s.target}|${s.protocol}`;
  const e = expected.get(key) ?? { source: client.workload, target: server.workload, port: s.target, protocol: s.protocol, requests: 0, knowable: true };
  e.requests++;
  expected.set(key, e);
  requestsTotal++;
}

const frontends = [fa1, fa2, fb1, fb2, fb3];
const carts = [ca1, ca2, cb1, cb2, cc1, cc2];
const catalogs = [cat1, cat2];
const redises = [r0a, r0b];
let rr = 0;
const pick = (list: Pod[], t: number) => {
  const up = list.filter((p) => alive(p, t));
  return up.length === 0 ? undefined : up[rr++ % up.length];
};

for (const f of frontends) {
  for (let t = Math.max(T0, f.start) + rng.int(0, 20 * SEC); t < Math.min(T_END, f.end); t += rng.int(20, 40) * SEC) {
    if (!alive(f, t)) continue;
    const cart = pick(carts, t);
    if (cart === undefined) continue;
    const item = rng.int(1, 500);
    call(f, cart, 'cart', t, rng.next() < 0.8 ? 'GET' : 'POST', rng.next() < 0.8 ? `/cart/${item}` : `/cart/${item}/items`, true);
    const catalog = pick(catalogs, t + 5);
    if (catalog !== undefined && alive(cart, t + 5)) call(cart, catalog, 'catalog', t + 5, 'GET', `/items/${item}`, true);
  }
}
for (const c of carts) {
  for (let t = Math.max(T0, c.start) + 60 * SEC; t < Math.min(T_END, c.end); t += 5 * MIN) {
    const r = pick(redises, t);
    if (r !== undefined && alive(c, t)) call(c, r, 'redis', t, '', '', true);
  }
}
for (let t = reindex.start + 20 * SEC; t < reindex.end - 20 * SEC; t += 15 * SEC) {
  const catalog = pick(catalogs, t);
  if (catalog !== undefined) call(reindex, catalog, 'catalog', t, 'POST', '/reindex', true);
}
for (let t = debug.start + 30 * SEC; t < debug.end - 30 * SEC; t += 20 * SEC) call(debug, cat1, 'catalog', t, 'GET', '/items', false);

// ---------------------------------------------------------------------------------------------
// Snapshots

type Obj = Record<string, unknown>;
const meta = (name: string, created: number, extra: Obj = {}): Obj => ({ name, namespace: NS, uid: uidFor(`obj-${name}`), creationTimestamp: k8sTime(created), ...extra });

function podObject(p: Pod, now: number): Obj {
  const containers: Obj[] = [{ name: p.labels['app'] ?? 'app', image: `registry.example.com/${p.labels['app'] ?? 'app'}:1`, ...(p.port === 0 ? {} : { ports: [{ name: 'http', containerPort: p.port, protocol: 'TCP' }] }) }];
  if (p.sidecar) containers.push({ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.24.2', ports: [{ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' }] });
  const started = Math.min(now, p.start + 4 * SEC);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta(p.name, p.start - 2 * SEC),
      uid: p.uid,
      labels: p.labels,
      ...(p.owner === undefined ? {} : { ownerReferences: [{ apiVersion: p.owner.kind === 'Job' ? 'batch/v1' : 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: uidFor(`obj-${p.owner.name}`), controller: true, blockOwnerDeletion: true }] }),
    },
    spec: { serviceAccountName: p.sa, nodeName: p.node.name, containers },
    status: {
      phase: 'Running',
      hostIP: p.node.ip,
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      startTime: k8sTime(p.start),
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: k8sTime(started) }],
      containerStatuses: containers.map((c) => ({ name: c['name'], ready: true, state: { running: { startedAt: k8sTime(started) } } })),
    },
  };
}

const template = (app: string, sa: string, port: number, labels: Record<string, string> = {}): Obj => ({
  metadata: { labels: { app, ...labels } },
  spec: { serviceAccountName: sa, containers: [{ name: app, image: `registry.example.com/${app}:1`, ...(port === 0 ? {} : { ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] }) }] },
});

function snapshot(now: number): Obj {
  const items: Obj[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, uid: uidFor('ns'), creationTimestamp: k8sTime(CREATED - 3600 * SEC), labels: { 'istio-injection': 'enabled', 'kubernetes.io/metadata.name': NS } } }];
  for (const sa of ['default', 'frontend', 'cart', 'catalog', 'redis', 'reindex']) items.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(sa, CREATED - 60 * SEC) });
  for (const [name, s] of Object.entries(SERVICES)) {
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(name, CREATED - 60 * SEC, { labels: { app: name } }), spec: { clusterIP: s.ip, clusterIPs: [s.ip], selector: { app: name }, ports: [{ name: s.protocol === 'http' ? 'http' : 'tcp-redis', port: s.port, targetPort: s.target, protocol: 'TCP' }] } });
  }
  const deployments: [string, number, number][] = [['frontend', 8080, 10], ['cart', 9090, 0], ['catalog', 7070, 10]];
  for (const [name, port, history] of deployments) {
    items.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(name, CREATED - 30 * SEC, { labels: { app: name } }), spec: { replicas: 2, revisionHistoryLimit: history, selector: { matchLabels: { app: name } }, template: template(name, name, port) } });
  }
  const liveRs = new Set(pods.filter((p) => p.start <= now && now < p.end && p.owner?.kind === 'ReplicaSet').map((p) => p.owner!.name));
  for (const rs of [frontendA, frontendB, cartA, cartB, cartC, catalogRs]) {
    // frontend keeps its old ReplicaSets (scaled to 0); cart keeps none (revisionHistoryLimit 0).
    const created = rs === frontendB ? at(10, 0, 0) : rs === cartB ? at(9, 30, 0) : rs === cartC ? at(11, 0, 0) : CREATED - 20 * SEC;
    if (created > now) continue;
    if (!liveRs.has(rs.name) && rs.deployment === 'cart') continue;
    items.push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: meta(rs.name, created, { labels: { app: rs.deployment, 'pod-template-hash': rs.hash }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: rs.deployment, uid: uidFor(`obj-${rs.deployment}`), controller: true }] }),
      spec: { replicas: liveRs.has(rs.name) ? 2 : 0, selector: { matchLabels: { app: rs.deployment, 'pod-template-hash': rs.hash } }, template: template(rs.deployment, rs.deployment, rs.deployment === 'cart' ? 9090 : rs.deployment === 'frontend' ? 8080 : 7070, { 'pod-template-hash': rs.hash }) },
    });
  }
  items.push({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('redis', CREATED - 30 * SEC, { labels: { app: 'redis' } }), spec: { replicas: 1, serviceName: 'redis', selector: { matchLabels: { app: 'redis' } }, template: template('redis', 'redis', 6379) } });
  items.push({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta('reindex', CREATED - 30 * SEC, { labels: { app: 'reindex' } }), spec: { schedule: '30 */6 * * *', jobTemplate: { spec: { ttlSecondsAfterFinished: 60, template: template('reindex', 'reindex', 0) } } } });
  for (const p of pods) if (p.start <= now && now < p.end && p.name !== 'debug') items.push(podObject(p, now));
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

const inSnapshots = new Set(pods.filter((p) => p.name !== 'debug' && [BEFORE, AFTER].some((t) => p.start <= t && t < p.end)));
for (const e of expected.values()) {
  const ends = [e.source, e.target].map((w) => pods.filter((p) => p.workload === w));
  // debug's requests are the only ones with an endpoint no snapshot and no log of its own shows.
  e.knowable = ends.every((list) => list.length > 0 && list.every((p) => knowable(p, inSnapshots)));
}

// ---------------------------------------------------------------------------------------------
// Write

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outFlag = args.indexOf('--out');
const out = resolve(outFlag !== -1 && args[outFlag + 1] !== undefined ? args[outFlag + 1]! : join(here, '..', '..', 'fixtures', 'rollout'));
/** CRI timestamp: nanoseconds, the last digits a line counter so that lines of one millisecond stay in order. */
const criTime = (t: number, i: number) => `${new Date(t).toISOString().slice(0, 23)}${String(i % 1_000_000).padStart(6, '0')}Z`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'inventory-before.json'), JSON.stringify(snapshot(BEFORE), null, 1) + '\n');
writeFileSync(join(out, 'inventory-after.json'), JSON.stringify(snapshot(AFTER), null, 1) + '\n');
let files = 0;
for (const p of pods) {
  if (!p.sidecar || !p.collected || p.lines.length === 0) continue;
  const dir = join(out, 'logs', 'pods', `${NS}_${p.name}_${p.uid}`, 'istio-proxy');
  mkdirSync(dir, { recursive: true });
  const ready = Math.max(p.start, T0 - MIN) + 2 * SEC;
  const agent = `${criTime(ready, 0)} stdout F ${new Date(ready).toISOString().replace('Z', '000Z')}\tinfo\tEnvoy proxy is ready\n`;
  const lines = p.lines
    .sort((a, b) => a.t - b.t)
    .map((l, i) => `${criTime(l.t, i)} stdout F ${l.text}\n`)
    .join('');
  writeFileSync(join(dir, '0.log'), agent + lines);
  files++;
}
const sorted = [...expected.values()].sort((a, b) => compare(`${a.source}|${a.target}|${a.port}`, `${b.source}|${b.target}|${b.port}`));
const knowableRequests = sorted.filter((e) => e.knowable).reduce((n, e) => n + e.requests, 0);
writeFileSync(
  join(out, 'expected.json'),
  JSON.stringify({ window: [new Date(T0).toISOString(), new Date(T_END).toISOString()], snapshots: { before: new Date(BEFORE).toISOString(), after: new Date(AFTER).toISOString() }, requests: requestsTotal, knowableRequests, edges: sorted }, null, 1) + '\n',
);
process.stdout.write(`make-rollout-fixture: ${requestsTotal} requests (${knowableRequests} with both endpoints knowable), ${files} pod logs, ${sorted.length} edges → ${out}\n`);
