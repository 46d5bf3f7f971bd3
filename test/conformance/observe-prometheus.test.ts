// `ztmap observe --prometheus` against a real Prometheus (test/support/prometheus.ts): Istio's
// standard metrics over a window become the graph, edge by edge, with the aggregation done by
// Prometheus. Here because it needs prometheus and promtool (bash scripts/prometheus.sh --install).
//
// The mesh (namespace shop): web calls cart (Service cart 9080 → 8080, one port) over mTLS, and
// orders over gRPC (Service orders with two ports, http-api 8080 and grpc 9090: the gRPC one is
// meant); a client without a sidecar calls cart in plaintext; cart refuses some of web's calls
// (403: refused, never an allow); orders calls cart once inside the window (one sample: a
// rare edge increase() cannot see); web called orders over HTTP only before the window; a
// workload no inventory holds calls cart.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EdgeAttributes } from '../../src/graph/attributes.js';
import { readGraphFile } from '../../src/graph/json.js';
import { ztmap, tempDir, type Run } from '../support/cli.js';
import { deployment, writeInventory } from '../support/kube.js';
import { startPrometheus, TEST_PASSWORD, TEST_USER, type PrometheusServer, type Series } from '../support/prometheus.js';
import { prometheusNeed, suiteNeeding } from './needs.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2025, 2, 1);
const FROM = T0 + HOUR;
const TO = T0 + 3 * HOUR;

/** A sample every 30 s, 15 s off the minute, from `from` to `to`: value(k) for the k-th. */
function points(from: number, to: number, value: (k: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0, t = from + 15_000; t < to; k++, t += 30_000) out.push([t, value(k)]);
  return out;
}

const principal = (sa: string) => `spiffe://cluster.local/ns/shop/sa/${sa}`;
const call = (from: string, to: string, o: Record<string, string> = {}) => ({
  source_workload: from,
  source_workload_namespace: 'shop',
  source_principal: principal(from),
  destination_workload: to,
  destination_workload_namespace: 'shop',
  destination_principal: principal(to),
  destination_service: `${to}.shop.svc.cluster.local`,
  destination_service_name: to,
  request_protocol: 'http',
  response_code: '200',
  grpc_response_status: '',
  ...o,
});
const both = (labels: Record<string, string>, value: (k: number) => number, from = T0, to = T0 + 4 * HOUR): Series[] => [
  { metric: 'istio_requests_total', labels: { ...labels, reporter: 'source', connection_security_policy: 'unknown', pod: `${labels['source_workload']}-a` }, points: points(from, to, value) },
  { metric: 'istio_requests_total', labels: { ...labels, reporter: 'destination', connection_security_policy: 'mutual_tls', pod: `${labels['destination_workload']}-a` }, points: points(from, to, value) },
];

const SERIES: Series[] = [
  ...both(call('web', 'cart'), (k) => 2 * k),
  ...both(call('web', 'orders', { request_protocol: 'grpc', grpc_response_status: '0' }), (k) => k),
  ...both(call('web', 'cart', { response_code: '403' }), (k) => Math.floor(k / 10)),
  // Only before the window: not in the graph.
  ...both(call('web', 'orders'), (k) => k, T0, T0 + 30 * MINUTE),
  // One sample, 40 minutes before the window's end.
  ...both(call('orders', 'cart'), () => 1, TO - 40 * MINUTE, TO - 40 * MINUTE + 20_000),
  {
    metric: 'istio_requests_total',
    labels: { ...call('unknown', 'cart', { source_workload_namespace: 'unknown', source_principal: 'unknown' }), reporter: 'destination', connection_security_policy: 'none', pod: 'cart-a' },
    points: points(T0, T0 + 4 * HOUR, (k) => k),
  },
  ...both(call('ghost', 'cart'), (k) => k),
];

function inventory(dir: string): string {
  const shop = (name: string, ports: [string, number][]) => deployment('shop', name, { ip: `10.61.${name.length}.7`, start: '2025-02-28T00:00:00Z', ports });
  const svc = (name: string, ports: { name: string; port: number; targetPort: number }[]) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { clusterIP: `10.96.0.${name.length}`, selector: { app: name }, ports: ports.map((p) => ({ ...p, protocol: 'TCP' })) },
  });
  return writeInventory(dir, [
    ...shop('web', []),
    ...shop('cart', [['http', 8080]]),
    ...shop('orders', [['http-api', 8080], ['grpc', 9090]]),
    svc('cart', [{ name: 'http', port: 9080, targetPort: 8080 }]),
    svc('orders', [{ name: 'http-api', port: 8080, targetPort: 8080 }, { name: 'grpc', port: 9090, targetPort: 9090 }]),
  ]);
}

suiteNeeding('observe --prometheus: Istio metrics from a real Prometheus, edge by edge', [prometheusNeed('the observe --prometheus tests')], function () {
  this.timeout(120_000);
  let server: PrometheusServer;
  let dir: string;
  let run: Run;
  const edges = new Map<string, EdgeAttributes>();
  const window = ['--from', new Date(FROM).toISOString(), '--to', new Date(TO).toISOString()];

  before(async () => {
    server = await startPrometheus({ series: SERIES, basicAuth: true });
    dir = tempDir('ztmap-observe-prometheus-');
    const config = join(dir, 'http.yaml');
    writeFileSync(join(dir, 'password'), `${TEST_PASSWORD}\n`);
    writeFileSync(config, `basic_auth:\n  username: ${TEST_USER}\n  password_file: password\n`);
    run = ztmap(['observe', '-i', inventory(dir), '-o', join(dir, 'out'), '--fail-on', 'never', '--prometheus', server.url, '--prometheus-http-config', config, ...window]);
    const g = await readGraphFile(join(dir, 'out', 'graph.json'));
    g.forEachEdge((k, a) => edges.set(k, a));
  });

  after(async () => {
    await server?.stop();
  });

  it('exits 0 and says what it asked', () => {
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /prometheus: \d+ series from http:\/\/127\.0\.0\.1:\d+ \(5 queries\)/);
  });

  it('web → cart: the window\'s requests from both reporters, counted once, over mTLS, from istio-metrics', () => {
    const e = edges.get('shop/Deployment/web->shop/Deployment/cart:8080/http');
    assert.ok(e, [...edges.keys()].join('\n'));
    // 2 a sample, 240 samples in 2 h: Prometheus extrapolates to the window's edges.
    assert.ok(e.server.requests >= 478 && e.server.requests <= 482, String(e.server.requests));
    assert.equal(e.client.requests, e.server.requests);
    assert.equal(e.server.mutual, e.server.requests);
    assert.deepEqual(Object.keys(e.sources), ['istio-metrics']);
    assert.deepEqual(e.decoders, ['istio-metrics']);
    assert.equal(e.firstSeen, FROM);
    assert.equal(e.lastSeen, TO);
  });

  it('the 403s are refused operations, never allowed requests', () => {
    const e = edges.get('shop/Deployment/web->shop/Deployment/cart:8080/http')!;
    const refused = e.denied.filter((d) => d.kind === 'refused');
    assert.deepEqual(refused.map((d) => d.reporter).sort(), ['client', 'server']);
    for (const d of refused) assert.ok(d.requests >= 23 && d.requests <= 25, String(d.requests));
    assert.equal(e.server.responses['4xx'] ?? 0, 0);
  });

  it('web → orders over gRPC goes to the Service port named grpc', () => {
    assert.ok(edges.has('shop/Deployment/web->shop/Deployment/orders:9090/grpc'), [...edges.keys()].join('\n'));
    assert.ok(![...edges.keys()].some((k) => k.startsWith('shop/Deployment/web->shop/Deployment/orders:8080')), 'the HTTP calls ended before the window');
  });

  it('a rare edge born inside the window is kept', () => {
    const e = edges.get('shop/Deployment/orders->shop/Deployment/cart:8080/http');
    assert.ok(e, [...edges.keys()].join('\n'));
    assert.ok(e.server.requests >= 1);
  });

  it('a client without a sidecar is plaintext from an unknown source', () => {
    const e = [...edges.values()].find((a) => a.target === 'shop/Deployment/cart' && a.source.startsWith('unknown:') && !a.source.includes('ghost'));
    assert.ok(e, [...edges.keys()].join('\n'));
    assert.equal(e.server.plaintext, e.server.requests);
    assert.equal(e.client.requests, 0);
  });

  it('a workload no inventory holds is reported, and kept as an unknown node', () => {
    assert.match(run.stderr, /source-workload-not-in-inventory: \d+\n\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query .*shop\/ghost/);
    assert.ok(edges.has('unknown:workload/shop/ghost->shop/Deployment/cart:8080/http'));
  });

  it('the same window twice gives byte-identical output', async () => {
    const again = ztmap(['observe', '-i', join(dir, 'inventory.json'), '-o', join(dir, 'again'), '--fail-on', 'never', '--prometheus', server.url, '--prometheus-http-config', join(dir, 'http.yaml'), ...window]);
    assert.equal(again.status, 0, again.stderr);
    const { readFileSync } = await import('node:fs');
    for (const f of ['graph.json', 'edges.csv', 'nodes.csv']) assert.equal(readFileSync(join(dir, 'again', f), 'utf8'), readFileSync(join(dir, 'out', f), 'utf8'), f);
  });

  it('a wrong password is exit 2 with a message naming the URL, and nothing written', () => {
    const config = join(dir, 'wrong.yaml');
    writeFileSync(config, `basic_auth:\n  username: ${TEST_USER}\n  password: nope\n`);
    const r = ztmap(['observe', '-i', join(dir, 'inventory.json'), '-o', join(dir, 'wrong'), '--prometheus', server.url, '--prometheus-http-config', config, ...window]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /127\.0\.0\.1:\d+\/api\/v1\/query/);
    assert.doesNotMatch(r.stderr, /nope|\n\s+at /);
  });
});
