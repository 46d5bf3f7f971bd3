// @e2e: real instrumented services export their spans to `ztmap collect` (issue 14, part 4).
//
// Four Node services of a shop (test/e2e/otel-services/shop.ts), each its own process with the
// OpenTelemetry Node SDK, the HTTP instrumentation and the gRPC instrumentation loaded first
// (`node --import telemetry.js`), call each other on 127.0.0.1 by their Kubernetes names:
//
//   test ─GET /shop/{userId}──► web ─GET /cart/{cartId}─────────► cart
//                                   ├─POST /orders/{orderId}/items─► orders ─gRPC shop.Payments/Charge─► payments
//                                   └─GET /recommendations/{userId}─► recommendations (not traced: the test serves it)
//
// Each callee has a Service whose port is not the pod's: callers connect to the Service's port
// (a relay standing in for kube-proxy) and name it, as in a cluster, so their spans carry the
// Service's port and the graph must map it to the pod's (the Service's targetPort).
//
// Their resources carry what the Collector's k8sattributes processor adds (k8s.namespace.name,
// k8s.pod.name, k8s.deployment.name) and service.name. web, cart and orders export OTLP/HTTP
// protobuf, payments OTLP/gRPC (orders and payments gzipped), so both of collect's receivers take
// a real SDK's requests. The
// SDKs send collect's bearer token (--token-file). The test drives a known set of calls, stops
// the services (SIGTERM: each SDK exports what it still holds), stops collect (SIGTERM: web's
// spans still waiting for the server spans recommendations never sends are kept in the
// checkpoint), restarts it on the same OUT and stops it with --flush-on-stop (the end of the
// collection), and checks collect's counts and the graph edge by edge against what the services
// are known to call, and that a token sent in a query string is in no output; then it writes the same calls as Istio access logs of the five sidecars, runs
// `ztmap observe --merge` over them and collect's graph, and checks one edge per call pair.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CollectStatus } from '../../src/cli/commands/collect.js';
import { compare } from '../../src/flow/compare.js';
import type { EdgeAttributes } from '../../src/graph/attributes.js';
import { readGraphFile } from '../../src/graph/json.js';
import { ztmap, tempDir, type Run } from '../support/cli.js';
import { deployment, service, writeInventory } from '../support/kube.js';
import { BIN } from '../support/paths.js';
import { TcpRelay } from '../support/tcp-relay.js';
// Types only: importing the services' modules would run them.
import type { Role, ShopEnv } from './otel-services/shop.js';
import type { TelemetryEnv } from './otel-services/telemetry.js';

const HERE = join(dirname(fileURLToPath(import.meta.url)), 'otel-services');
const SECRET = 's3cr3t';
/** collect's --token-file content, which every SDK sends. */
const BEARER = 'b3ar3r-7d1f0c';

const ROLES: readonly Role[] = ['payments', 'cart', 'orders', 'web'];
/** The shop's workloads: the four traced services and one whose pods run no SDK. */
type Workload = Role | 'recommendations';
const WORKLOADS: readonly Workload[] = [...ROLES, 'recommendations'];
/** Pod and Service addresses of the inventory (the services really listen on 127.0.0.1). */
const POD_IP: Record<Workload, string> = { web: '10.0.0.11', cart: '10.0.0.12', orders: '10.0.0.13', payments: '10.0.0.14', recommendations: '10.0.0.15' };
const CLUSTER_IP: Record<Workload, string> = { web: '10.96.0.11', cart: '10.96.0.12', orders: '10.96.0.13', payments: '10.96.0.14', recommendations: '10.96.0.15' };
const podOf = (w: Workload) => `${w}-5d8f-abcde`;

/**
 * What the test asks web for: one page per user, the cart by id, an order when there is one.
 * Distinct ids, so that only templating makes one path of them; the first carries a token.
 */
const VISITS: readonly { user: string; cart: string; order?: string; token?: string }[] = [
  { user: '17', cart: '1001', order: '5001', token: SECRET },
  { user: '23', cart: '1002', order: '5002' },
  { user: '42', cart: '1003' },
];

const ORDERS = VISITS.filter((v) => v.order).length;

/** What the services are known to call, from VISITS: caller, callee, method, path template, calls. */
interface Expected {
  from: Workload;
  to: Workload;
  protocol: 'http' | 'grpc';
  method: string;
  path: string;
  calls: number;
}
const EXPECTED: readonly Expected[] = [
  // shop.ts's http.route '/cart/{cartId}': span-edges.ts reads a route's placeholder as a
  // dynamic segment, which graph/ templates to ztmap's `{id}` (docs/sources.md, Traces).
  { from: 'web', to: 'cart', protocol: 'http', method: 'GET', path: '/cart/{id}', calls: VISITS.length },
  { from: 'web', to: 'orders', protocol: 'http', method: 'POST', path: '/orders/{id}/items', calls: ORDERS },
  // gRPC: the path is /SERVICE/METHOD from rpc.service and rpc.method, the method POST.
  { from: 'orders', to: 'payments', protocol: 'grpc', method: 'POST', path: '/shop.Payments/Charge', calls: ORDERS },
  // Not traced: web's client spans alone, to the Service they name; the path is the one web sent,
  // templated (ids to `{id}`, the query dropped).
  { from: 'web', to: 'recommendations', protocol: 'http', method: 'GET', path: '/recommendations/{id}', calls: VISITS.length },
];
/** Calls whose both ends are traced: a client span joined with its server span. */
const JOINED = EXPECTED.filter((e) => e.to !== 'recommendations');

/**
 * Spans each service sends, by service.name: web's server span and its client spans to cart and
 * recommendations per visit, plus one to orders per order; one server span in cart per visit; a
 * server and a client span in orders, and a server span in payments, per order.
 */
const SENT: readonly [string, number][] = [
  ['cart', VISITS.length],
  ['orders', 2 * ORDERS],
  ['payments', ORDERS],
  ['web', 3 * VISITS.length + ORDERS],
];
const spansSent = () => SENT.reduce((n, [, k]) => n + k, 0);

/** A child process with its stderr kept (for failure messages) and its exit awaited once. */
class Child {
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGTERM, then the exit code: 0 is a clean shutdown (the SDK flushed, collect wrote its outputs). */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (this.running) this.proc.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    const r = await Promise.race([this.exited, timer]);
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of SIGTERM\n${this.stderr}`);
    }
    return r.code;
  }

  /** Resolves with the first value `match` finds in stderr; rejects if the process exits first. */
  waitFor<T>(match: (stderr: string) => T | undefined, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = match(this.stderr);
        if (v === undefined) return false;
        done();
        resolve(v);
        return true;
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`${this.name} exited (${code}) before it was ready\n${this.stderr}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name} not ready within ${timeoutMs} ms\n${this.stderr}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.proc.stderr?.off('data', check);
        this.proc.off('exit', onExit);
      };
      if (check()) return;
      this.proc.stderr?.on('data', check);
      this.proc.once('exit', onExit);
    });
  }
}

/** GET on web's port, as an ingress would call it (the test itself is not traced). */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** Every file under `dir` that contains `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...filesContaining(p, needle));
    else if (readFileSync(p).includes(needle)) found.push(p);
  }
  return found;
}

/** A JSON file, or undefined while it is not there yet. */
function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Polls `done` every 100 ms; fails with `child`'s stderr after `timeoutMs`. */
async function until(done: () => boolean, child: Child, timeoutMs = 15_000): Promise<void> {
  for (const start = Date.now(); !done(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() - start > timeoutMs) throw new Error(`${child.name}: not there within ${timeoutMs} ms\n${child.stderr}`);
    if (!child.running) throw new Error(`${child.name} exited\n${child.stderr}`);
  }
}

async function edgesOf(graphFile: string): Promise<Map<string, EdgeAttributes>> {
  const edges = new Map<string, EdgeAttributes>();
  (await readGraphFile(graphFile)).forEachEdge((k, a) => edges.set(k, a));
  return edges;
}

describe('@e2e instrumented services export real spans to ztmap collect', function () {
  this.timeout(60_000);

  const children: Child[] = [];
  const relays: TcpRelay[] = [];
  const closers: (() => Promise<void>)[] = [];
  let dir: string;
  let out: string;
  let inventory: string;
  /** The port each workload's pod listens on (its containerPort, the Service's targetPort). */
  const ports = {} as Record<Workload, number>;
  /** Each Service's own port: a relay to the pod's port, as kube-proxy forwards a ClusterIP's. */
  const servicePorts = {} as Record<Workload, number>;
  /** The first collect's last checkpoint: web's calls to recommendations still waiting, kept for a restart. */
  let firstRun: { exit: number | null; status: CollectStatus | undefined; pending: string; pendingMode: number; edges: Map<string, EdgeAttributes> };
  /** The restart on the same OUT with --flush-on-stop: the end of the collection. */
  let collect: Child;
  let collectExit: number | null;
  let serviceExits: Record<string, number | null>;
  let edges: Map<string, EdgeAttributes>;

  const key = (e: Expected) => `shop/Deployment/${e.from}->shop/Deployment/${e.to}:${ports[e.to]}/${e.protocol}`;

  function startService(role: Role, exporter: { protocol: 'http/protobuf' | 'grpc'; endpoint: string; compression: 'gzip' | 'none' }): Promise<number> {
    const env: TelemetryEnv & ShopEnv & { PATH: string } = {
      PATH: process.env['PATH'] ?? '',
      OTEL_SERVICE_NAME: role,
      // The Collector's k8sattributes processor would add these; the pod spec gives them here.
      OTEL_RESOURCE_ATTRIBUTES: `k8s.namespace.name=shop,k8s.pod.name=${podOf(role)},k8s.deployment.name=${role}`,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: exporter.protocol,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: exporter.endpoint,
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: exporter.compression,
      // The SDK's header list is W3C-baggage-like: values percent-decoded.
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: `authorization=Bearer%20${BEARER}`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_LOG_LEVEL: 'error',
    };
    // Callers are told their callees' Services' ports.
    const callees = [['cart', 'SHOP_CART_PORT'], ['orders', 'SHOP_ORDERS_PORT'], ['payments', 'SHOP_PAYMENTS_PORT'], ['recommendations', 'SHOP_RECOMMENDATIONS_PORT']] as const;
    for (const [callee, name] of callees) if (servicePorts[callee] !== undefined) env[name] = String(servicePorts[callee]);
    const child = new Child(role, spawn(process.execPath, ['--import', join(HERE, 'telemetry.js'), join(HERE, 'shop.js'), role], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
    children.push(child);
    return new Promise((resolve, reject) => {
      child.proc.once('message', (m: { port?: number }) => (typeof m.port === 'number' ? resolve(m.port) : reject(new Error(`${role}: ${JSON.stringify(m)}`))));
      child.proc.once('exit', (code) => reject(new Error(`${role} exited (${code}) before listening\n${child.stderr}`)));
    });
  }

  /** `ztmap collect` on OUT, both receivers on ports the system chooses; resolves once they listen. */
  async function startCollect(name: string, flags: string[]): Promise<{ child: Child; receivers: { http: number; grpc: number } }> {
    const args = ['collect', '--inventory', inventory, '--out', out, '--otlp-http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0'];
    args.push('--interval', '1', '--join-wait', '120', '--token-file', join(dir, 'token'), ...flags);
    const child = new Child(name, spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] }));
    children.push(child);
    const receivers = await child.waitFor((s) => {
      const m = /^collect: listening otlp-http=http:\/\/127\.0\.0\.1:(\d+) otlp-grpc=127\.0\.0\.1:(\d+)$/m.exec(s);
      return m === null ? undefined : { http: Number(m[1]), grpc: Number(m[2]) };
    });
    return { child, receivers };
  }

  before(async () => {
    dir = tempDir('ztmap-otel-services-');
    // Only senders with this token are heard (Authorization: Bearer over HTTP, gRPC metadata).
    writeFileSync(join(dir, 'token'), `${BEARER}\n`);
    out = join(dir, 'collected');
    // The SDKs read their endpoint at start, and collect can only start once the inventory names
    // the ports the services chose: the services export to relays that lead to collect once it listens.
    const httpRelay = await TcpRelay.open();
    const grpcRelay = await TcpRelay.open();
    relays.push(httpRelay, grpcRelay);
    const overHttp = { protocol: 'http/protobuf' as const, endpoint: `http://127.0.0.1:${httpRelay.port}/v1/traces` };
    const overGrpc = { protocol: 'grpc' as const, endpoint: `http://127.0.0.1:${grpcRelay.port}` };
    // Each receiver takes both plain and gzipped requests: web and cart send them plain, orders
    // (OTLP/HTTP, Content-Encoding: gzip) and payments (OTLP/gRPC, gzip messages) compressed.
    const exporters: Record<Role, Parameters<typeof startService>[1]> = {
      web: { ...overHttp, compression: 'none' },
      cart: { ...overHttp, compression: 'none' },
      orders: { ...overHttp, compression: 'gzip' },
      payments: { ...overGrpc, compression: 'gzip' },
    };
    // recommendations: a plain server in this (uninstrumented) process.
    const recommendations = http.createServer((req, res) => {
      res.writeHead(req.method === 'GET' && /^\/recommendations\/[^/?]+(\?|$)/.test(req.url ?? '') ? 200 : 404, { 'content-type': 'application/json' });
      res.end('[]');
    });
    await new Promise<void>((resolve) => recommendations.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => recommendations.close(() => resolve())));
    ports.recommendations = (recommendations.address() as { port: number }).port;
    // The Services' ports first, so that every service starts knowing its callees' (all at once),
    // each led to its pod's port once the pod listens.
    const serviceRelays = {} as Record<Workload, TcpRelay>;
    for (const w of WORKLOADS) {
      serviceRelays[w] = await TcpRelay.open();
      relays.push(serviceRelays[w]);
      servicePorts[w] = serviceRelays[w].port;
    }
    const listening = await Promise.all(ROLES.map((r) => startService(r, exporters[r])));
    ROLES.forEach((r, i) => (ports[r] = listening[i]!));
    for (const w of WORKLOADS) serviceRelays[w].connect(ports[w]);

    inventory = writeInventory(dir, [
      ...WORKLOADS.flatMap((w) => deployment('shop', w, { ip: POD_IP[w], ports: [[w === 'payments' ? 'grpc' : 'http', ports[w]]], start: '2026-01-01T00:00:00Z' })),
      // Each Service's port leads to the port its pod really listens on.
      ...WORKLOADS.map((w) => service('shop', w, { app: w }, [[servicePorts[w], ports[w]]], CLUSTER_IP[w])),
    ]);

    const first = await startCollect('collect', []);
    httpRelay.connect(first.receivers.http);
    grpcRelay.connect(first.receivers.grpc);

    for (const v of VISITS) {
      const query = new URLSearchParams({ cart: v.cart, ...(v.order ? { order: v.order } : {}), ...(v.token ? { token: v.token } : {}) });
      const r = await get(ports.web, `/shop/${v.user}?${query.toString()}`);
      assert.equal(r.status, 200, `web /shop/${v.user}: ${r.body}`);
    }

    // Services first (each SDK exports what its processor still holds before exiting), then collect.
    serviceExits = {};
    for (const c of children.filter((c) => c.name !== 'collect')) serviceExits[c.name] = await c.stop();
    // Every span is in now. web's calls to recommendations wait for server spans that never come
    // (--join-wait outlasts the test). SIGTERM keeps them for a restart: the last checkpoint
    // writes them to collect-pending.json, an output like any other.
    const firstExit = await first.child.stop();
    firstRun = {
      exit: firstExit,
      status: readJson<CollectStatus>(join(out, 'collect-status.json')),
      pending: firstExit === 0 ? readFileSync(join(out, 'collect-pending.json'), 'utf8') : '',
      pendingMode: firstExit === 0 ? statSync(join(out, 'collect-pending.json')).mode & 0o777 : 0,
      edges: firstExit === 0 ? await edgesOf(join(out, 'graph.json')) : new Map(),
    };
    // A restart on the same OUT goes on from that checkpoint; stopped with --flush-on-stop (the
    // end of the collection), the waiting spans go alone, each an edge to the Service it named.
    collect = (await startCollect('collect (restarted)', ['--flush-on-stop'])).child;
    // Stopped once it has written a checkpoint of its own. (A SIGTERM right after the listening
    // line kills it by the signal's default action, before its handlers are installed: reported,
    // not worked around here beyond waiting for its first checkpoint.)
    await until(() => readJson<CollectStatus>(join(out, 'collect-status.json'))?.started !== firstRun.status?.started, collect);
    collectExit = await collect.stop();
    edges = collectExit === 0 ? await edgesOf(join(out, 'graph.json')) : new Map();
  });

  after(async () => {
    // Whatever failed above: no child outlives the test.
    for (const c of children) if (c.running) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await Promise.all(relays.map((r) => r.close()));
    await Promise.all(closers.map((c) => c()));
  });

  it('every service exported all its spans and shut down cleanly; collect exited 0 after SIGTERM, both times', () => {
    // A failed export is an error on the SDK's diag logger (stderr) or a failed shutdown (exit 1):
    // without this, a receiver that lost one service's spans could go unseen, as a client span
    // whose server span never came is still an edge.
    for (const c of children.filter((c) => (ROLES as readonly string[]).includes(c.name))) {
      assert.equal(serviceExits[c.name], 0, `${c.name}\n${c.stderr}`);
      assert.equal(c.stderr, '', c.name);
    }
    assert.equal(firstRun.exit, 0, children.find((c) => c.name === 'collect')?.stderr);
    assert.equal(collectExit, 0, collect.stderr);
    for (const f of ['graph.json', 'nodes.csv', 'edges.csv', 'collect-status.json', 'collect-pending.json']) assert.ok(statSync(join(out, f)).isFile(), f);
  });

  it("collect's status: every span read, every traced call a joined pair, each service's spans through its own receiver", () => {
    const status = firstRun.status!;
    // payments exports over OTLP/gRPC only, the others over OTLP/HTTP only: both receivers took a real SDK's requests.
    assert.deepEqual([...status.senders].sort((a, b) => compare(a[0], b[0])), SENT);
    const spans = spansSent();
    assert.deepEqual(
      { ...status.spans },
      {
        received: spans,
        accepted: spans,
        rejected: {},
        // The test's own calls to web: web's server spans, from a loopback peer, are no edge.
        skipped: { 'span-loopback': VISITS.length },
        flows: JOINED.reduce((n, e) => n + e.calls, 0),
        pairs: JOINED.reduce((n, e) => n + e.calls, 0),
        // web's calls to recommendations, kept for a restart.
        pending: VISITS.length,
        expired: 0,
        evicted: 0,
        flushed: 0,
      },
    );
    assert.ok(status.requests.accepted >= ROLES.length, JSON.stringify(status.requests));
    assert.deepEqual([status.requests.partial, status.requests.badData, status.requests.refused], [0, {}, {}]);
    assert.deepEqual(status.unresolved, {});
    assert.deepEqual([...firstRun.edges.keys()].sort(), JOINED.map(key).sort());
  });

  it('the spans still waiting at SIGTERM are in the checkpoint (owner-only), without their query strings', () => {
    const pending = JSON.parse(firstRun.pending) as { spans: { kind: string; attributes: Record<string, unknown> }[] };
    assert.equal(pending.spans.length, VISITS.length, firstRun.pending);
    for (const span of pending.spans) {
      assert.equal(span.kind, 'client');
      assert.equal(span.attributes['server.address'], 'recommendations.shop.svc.cluster.local');
      // The port web addressed: the Service's, not the pod's.
      assert.equal(span.attributes['server.port'], servicePorts.recommendations);
    }
    assert.ok(!firstRun.pending.includes(SECRET), firstRun.pending);
    assert.equal(firstRun.pendingMode.toString(8), '600');
  });

  it('the restart went on from that checkpoint and, stopped with --flush-on-stop, counted the waiting spans alone', () => {
    const status = readJson<CollectStatus>(join(out, 'collect-status.json'))!;
    assert.deepEqual(status.resumed, { edges: JOINED.length, pendingSpans: VISITS.length });
    assert.equal(status.spans.flushed, VISITS.length);
    assert.equal(status.spans.pending, 0);
    assert.deepEqual(status.graph, { nodes: WORKLOADS.length, edges: EXPECTED.length });
    assert.equal(JSON.parse(readFileSync(join(out, 'collect-pending.json'), 'utf8')).spans.length, 0);
  });

  it('the graph has exactly the edges the services are known to call, and no other', () => {
    // test → web is not an edge: web's server spans come from a loopback peer (span-loopback).
    assert.deepEqual([...edges.keys()].sort(), EXPECTED.map(key).sort(), collect.stderr);
  });

  for (const e of EXPECTED) {
    it(`${e.from} → ${e.to}: ${e.method} ${e.path} on ${e.to}'s pod port (its Service's targetPort), from the spans alone${JOINED.includes(e) ? '' : " (the caller's: the callee is not traced)"}`, () => {
      const a = edges.get(key(e));
      assert.ok(a, [...edges.keys()].join('\n'));
      // The spans name the Service's port (the client's server.port, the Host header's); the edge
      // is on the pod's, through the Service.
      assert.notEqual(servicePorts[e.to], ports[e.to]);
      assert.equal(a.port, ports[e.to]);
      assert.equal(a.protocol, e.protocol);
      assert.deepEqual(a.methods, [e.method]);
      assert.deepEqual(a.paths, [e.path]);
      // One request per call: a joined pair, or a client span alone, counted as the client's report.
      assert.equal(a.client.requests, e.calls);
      assert.deepEqual(Object.keys(a.sources), ['traces']);
      // The client addressed the Service by name (server.address), which the edge keeps.
      assert.deepEqual(a.services, [`${e.to}.shop.svc.cluster.local`]);
      assert.deepEqual(a.sourceServiceAccounts, [e.from]);
    });
  }

  it(`the token in a query string (?token=${SECRET}) is in no output file, nor collect's bearer token`, () => {
    assert.deepEqual(filesContaining(out, SECRET), []);
    assert.deepEqual(filesContaining(out, BEARER), []);
  });

  describe('the same calls as Istio access logs, merged with collect\'s graph', () => {
    let run: Run;
    let fused: Map<string, EdgeAttributes>;
    let out2: string;

    before(async function () {
      if (collectExit !== 0) this.skip();
      const logs = join(dir, 'logs');
      mkdirSync(logs);
      writeAccessLogs(logs, ports, servicePorts);
      out2 = join(dir, 'fused');
      run = ztmap(['observe', '--inventory', inventory, '--out', out2, '--fail-on', 'never', '--merge', join(out, 'graph.json'), logs], { timeoutMs: 30_000 });
      fused = run.status === 0 ? await edgesOf(join(out2, 'graph.json')) : new Map();
    });

    it('observe reads every line', () => {
      assert.equal(run.status, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /rejected/);
    });

    it('one edge per call pair, each seen by both sources, with the same operations', () => {
      assert.deepEqual([...fused.keys()].sort(), EXPECTED.map(key).sort(), run.stderr);
      for (const e of EXPECTED) {
        const a = fused.get(key(e))!;
        assert.deepEqual(Object.keys(a.sources).sort(), ['access-log', 'traces'], key(e));
        assert.deepEqual(a.methods, [e.method], key(e));
        assert.deepEqual(a.paths, [e.path], key(e));
        // Both sources counted every call: fused, the edge counts them once.
        assert.equal(a.sources['access-log']!.client.requests, e.calls, key(e));
        assert.equal(a.sources['traces']!.client.requests, e.calls, key(e));
        assert.equal(a.client.requests, e.calls, key(e));
      }
    });

    it(`the token is in no output file of the fused run either`, () => {
      assert.deepEqual(filesContaining(out2, SECRET), []);
    });
  });
});

/**
 * The calls of VISITS as the four sidecars would have logged them (Envoy's default text format,
 * as test/support/sample-mesh.ts's CLIENT_LINE and SERVER_LINE): the caller's outbound entry and
 * the callee's inbound entry over mTLS, one file per pod (`NS_POD.log`, as `kubectl logs` saved).
 */
function writeAccessLogs(logs: string, ports: Record<Workload, number>, servicePorts: Record<Workload, number>): void {
  const lines: Record<Workload, string[]> = { web: [], cart: [], orders: [], payments: [], recommendations: [] };
  let n = 0;
  const call = (from: Workload, to: Workload, method: string, path: string, protocol: 'HTTP/1.1' | 'HTTP/2', status = 200) => {
    n++;
    const t = new Date(Date.UTC(2026, 11, 5, 9, 0, n)).toISOString();
    const id = `7d3c${n.toString(16).padStart(4, '0')}-1b2a-4c5d-8e9f-0a1b2c3d4e5f`;
    // The client addresses the Service (authority, outbound cluster, ClusterIP:port); its sidecar
    // picks the pod (upstream host), whose sidecar takes it on the pod's port over mTLS.
    const svc = servicePorts[to];
    const host = `${to}.shop.svc.cluster.local:${svc}`;
    const upstream = `${POD_IP[to]}:${ports[to]}`;
    const clientPort = 40000 + n;
    const head = `"${method} ${path} ${protocol}" ${status} - via_upstream - "-" 0 64 3 2 "-" "node" "${id}" "${host}" "${upstream}"`;
    lines[from].push(`[${t}] ${head} outbound|${svc}||${to}.shop.svc.cluster.local ${POD_IP[from]}:${clientPort} ${CLUSTER_IP[to]}:${svc} ${POD_IP[from]}:${50000 + n} - default`);
    lines[to].push(`[${t}] ${head} inbound|${ports[to]}|| 127.0.0.6:${30000 + n} ${upstream} ${POD_IP[from]}:${clientPort} outbound_.${svc}_._.${to}.shop.svc.cluster.local default`);
  };
  for (const v of VISITS) {
    const query = v.token ? `?token=${v.token}` : '';
    call('web', 'cart', 'GET', `/cart/${v.cart}${query}`, 'HTTP/1.1');
    if (v.order) {
      call('web', 'orders', 'POST', `/orders/${v.order}/items`, 'HTTP/1.1', 201);
      call('orders', 'payments', 'POST', '/shop.Payments/Charge', 'HTTP/2');
    }
    // recommendations runs no SDK, but its pod has a sidecar like every other.
    call('web', 'recommendations', 'GET', `/recommendations/${v.user}${query}`, 'HTTP/1.1');
  }
  for (const r of WORKLOADS) writeFileSync(join(logs, `shop_${podOf(r)}.log`), lines[r].join('\n') + '\n');
}
