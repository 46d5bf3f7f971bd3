// @e2e: trace files (OTLP JSON lines, a Jaeger API answer, Zipkin v2) through `ztmap observe`,
// against a small mesh the test writes: shop/web calls shop/cart at GET /cart/{cartId} and
// shop/orders over gRPC; web's own spans carry the Collector's k8s attributes, cart's and
// orders' only service.name + service.namespace, and `server.port` as instrumentations write it
// (the Host header's port: the Service's 9080, not the pod's 8080); a call to an external host
// is not traced. The same calls as Istio access logs fuse with the spans into one edge per pair.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { EdgeAttributes } from '../../src/graph/attributes.js';
import { readGraphFile } from '../../src/graph/json.js';
import { ztmap, tempDir, type Run } from '../support/cli.js';
import { deployment, service, writeInventory } from '../support/kube.js';
import { jaegerDocument, lengthPrefixed, otlpProto, otlpRequest, zipkinSpans, type SpanSpec } from '../support/traces.js';
import { CLIENT_LINE, SERVER_LINE } from '../support/sample-mesh.js';
import { FIXTURES } from '../support/paths.js';

const T0 = Date.UTC(2026, 10, 24, 10) * 1000; // µs
const WEB = { 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'web-5d8f-abcde', 'k8s.deployment.name': 'web' };

/** One call: web's CLIENT span, the callee's SERVER span as its child (16 hex digits of trace id, padded for OTLP). */
function call(n: number, callee: 'cart' | 'orders'): SpanSpec[] {
  const trace = `${(n + 1).toString(16).padStart(16, '0')}`;
  const client = `${(2 * n + 1).toString(16).padStart(16, '0')}`;
  const server = `${(2 * n + 2).toString(16).padStart(16, '0')}`;
  const start = T0 + n * 1_000_000;
  const http = callee === 'cart';
  return [
    {
      traceId: trace,
      spanId: client,
      name: http ? 'GET' : 'shop.Orders/Place',
      kind: 'client',
      startMicros: start,
      durationMicros: 4000,
      service: 'web',
      resource: WEB,
      attributes: http
        ? { 'http.request.method': 'GET', 'url.full': `http://cart.shop.svc.cluster.local:9080/cart/${1000 + n}?session=s3cr3t`, 'server.address': 'cart.shop.svc.cluster.local', 'server.port': 9080 }
        : { 'rpc.system': 'grpc', 'rpc.service': 'shop.Orders', 'rpc.method': 'Place', 'server.address': 'orders.shop.svc.cluster.local', 'server.port': 7070 },
    },
    {
      traceId: trace,
      spanId: server,
      parentSpanId: client,
      name: http ? 'GET /cart/{cartId}' : 'shop.Orders/Place',
      kind: 'server',
      startMicros: start + 500,
      durationMicros: 3000,
      service: callee,
      resource: { 'service.namespace': 'shop' },
      attributes: http
        ? { 'http.request.method': 'GET', 'http.route': '/cart/{cartId}', 'url.path': `/cart/${1000 + n}`, 'server.address': 'cart.shop.svc.cluster.local', 'server.port': 9080, 'http.response.status_code': 200 }
        : { 'rpc.system': 'grpc', 'rpc.service': 'shop.Orders', 'rpc.method': 'Place', 'server.port': 7070 },
    },
  ];
}

/** A client span whose callee is not traced: an external host. */
const external: SpanSpec = {
  traceId: '00000000000000ff',
  spanId: '00000000000000f1',
  name: 'GET',
  kind: 'client',
  startMicros: T0 + 30_000_000,
  durationMicros: 9000,
  service: 'web',
  resource: WEB,
  attributes: { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/v1/rates?key=abc', 'server.address': 'api.example.com', 'server.port': 443 },
};

const SPANS: SpanSpec[] = [...Array.from({ length: 6 }, (_, n) => call(n, n % 3 === 2 ? 'orders' : 'cart')).flat(), external];

function inventory(dir: string): string {
  const shop = (name: string, ip: string, ports: [string, number][]) => deployment('shop', name, { ip, ports, start: '2026-03-01T00:00:00Z' });
  return writeInventory(dir, [
    ...shop('web', '10.61.2.14', []),
    ...shop('cart', '10.61.3.25', [['http', 8080]]),
    ...shop('orders', '10.61.4.7', [['grpc', 7070]]),
    service('shop', 'cart', { app: 'cart' }, [[9080, 8080]], '10.96.61.9'),
    service('shop', 'orders', { app: 'orders' }, [[7070, 7070]], '10.96.61.10'),
  ]);
}

describe('traces through observe @e2e', () => {
  let dir: string;
  const runs: Record<string, { run: Run; edges: Map<string, EdgeAttributes> }> = {};

  before(async () => {
    dir = tempDir('ztmap-traces-');
    const inv = inventory(dir);
    const files = {
      otlp: join(dir, 'spans.otlp.jsonl'),
      'otlp-proto': join(dir, 'spans.otlp.binpb'),
      jaeger: join(dir, 'traces.jaeger.json'),
      zipkin: join(dir, 'spans.zipkin.json'),
    };
    // The Collector's file exporter: one request per line (here one per call).
    writeFileSync(files.otlp, SPANS.map((s) => JSON.stringify(otlpRequest([{ ...s, traceId: s.traceId.padStart(32, '0') }]))).join('\n') + '\n');
    writeFileSync(files['otlp-proto'], lengthPrefixed(SPANS.map((s) => otlpProto(otlpRequest([{ ...s, traceId: s.traceId.padStart(32, '0') }])))));
    writeFileSync(files.jaeger, JSON.stringify(jaegerDocument(SPANS, 'api'), null, 2));
    writeFileSync(files.zipkin, JSON.stringify(zipkinSpans(SPANS), null, 2));
    // web → cart as both sidecars logged it (test/support/sample-mesh.ts: the same addresses).
    const logs = join(dir, 'mesh.log');
    writeFileSync(logs, `${CLIENT_LINE}\n${SERVER_LINE}\n`);
    const fused = join(dir, 'fused');
    const fusedRun = ztmap(['observe', '-i', inv, '-o', fused, '--fail-on', 'never', files.otlp, logs]);
    const fusedEdges = new Map<string, EdgeAttributes>();
    if (fusedRun.status === 0) (await readGraphFile(join(fused, 'graph.json'))).forEachEdge((k, a) => fusedEdges.set(k, a));
    runs['fused'] = { run: fusedRun, edges: fusedEdges };
    for (const [name, file] of Object.entries(files)) {
      const out = join(dir, name);
      const run = ztmap(['observe', '-i', inv, '-o', out, '--fail-on', 'never', file]);
      const edges = new Map<string, EdgeAttributes>();
      if (run.status === 0) (await readGraphFile(join(out, 'graph.json'))).forEachEdge((k, a) => edges.set(k, a));
      runs[name] = { run, edges };
    }
  });

  for (const format of ['otlp', 'otlp-proto', 'jaeger', 'zipkin']) {
    describe(format, () => {
      it('is recognised as traces and read without a reject', () => {
        const { run } = runs[format]!;
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stderr, /read: 1 files/);
        assert.doesNotMatch(run.stderr, /rejected records/);
      });

      it('web → cart: one edge on the pod port, with the route as the template and no query', () => {
        const e = runs[format]!.edges.get('shop/Deployment/web->shop/Deployment/cart:8080/http');
        assert.ok(e, [...runs[format]!.edges.keys()].join('\n'));
        assert.deepEqual(e.methods, ['GET']);
        assert.deepEqual(e.paths, ['/cart/{id}']);
        assert.equal(e.client.requests, 4);
        assert.deepEqual(Object.keys(e.sources), ['traces']);
        assert.doesNotMatch(readFileSync(join(dir, format, 'edges.csv'), 'utf8'), /s3cr3t|key=abc|session/);
      });

      it('web → orders over gRPC, with the service and method as the operation', () => {
        const e = runs[format]!.edges.get('shop/Deployment/web->shop/Deployment/orders:7070/grpc');
        assert.ok(e, [...runs[format]!.edges.keys()].join('\n'));
        assert.deepEqual(e.paths, ['/shop.Orders/Place']);
      });

      it('a call whose callee is not traced goes to the host it named', () => {
        assert.ok(runs[format]!.edges.has('shop/Deployment/web->world:api.example.com:443/http'), [...runs[format]!.edges.keys()].join('\n'));
      });
    });
  }

  it('stdin takes the same spans as JSON lines, as protobuf, and as gzip\'d protobuf (--source traces -)', async () => {
    const proto = readFileSync(join(dir, 'spans.otlp.binpb'));
    for (const [name, input] of [['json', readFileSync(join(dir, 'spans.otlp.jsonl'))], ['proto', proto], ['proto-gz', gzipSync(proto)]] as const) {
      const out = join(dir, `stdin-${name}`);
      const run = ztmap(['observe', '-i', inventory(dir), '-o', out, '--source', 'traces', '--fail-on', 'never', '-'], { input });
      assert.equal(run.status, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /rejected records/, name);
      const e = new Map<string, EdgeAttributes>();
      (await readGraphFile(join(out, 'graph.json'))).forEachEdge((k, a) => e.set(k, a));
      assert.deepEqual([...e.keys()].sort(), [...runs['otlp']!.edges.keys()].sort(), name);
    }
  });

  it('the same calls in access logs and spans fuse into one edge per pair, on the pod port', () => {
    const { run, edges } = runs['fused']!;
    assert.equal(run.status, 0, run.stderr);
    const toCart = [...edges.keys()].filter((k) => k.startsWith('shop/Deployment/web->shop/Deployment/cart:'));
    assert.deepEqual(toCart, ['shop/Deployment/web->shop/Deployment/cart:8080/http']);
    const e = edges.get(toCart[0]!)!;
    assert.deepEqual(Object.keys(e.sources), ['access-log', 'traces']);
    // The logs count 1 request, the spans 4: the edge counts its most complete source.
    assert.equal(e.client.requests, 4);
  });

  it("a trace's halves in two files, with other inputs between them and any --jobs, are joined", async () => {
    const { observeGraph } = await import('../../src/cli/commands/observe.js');
    const clients = join(dir, 'clients.otlp.jsonl');
    const servers = join(dir, 'servers.otlp.jsonl');
    const pad = (s: SpanSpec) => ({ ...s, traceId: s.traceId.padStart(32, '0') });
    writeFileSync(clients, SPANS.filter((s) => s.kind === 'client').map((s) => JSON.stringify(otlpRequest([pad(s)]))).join('\n') + '\n');
    writeFileSync(servers, SPANS.filter((s) => s.kind === 'server').map((s) => JSON.stringify(otlpRequest([pad(s)]))).join('\n') + '\n');
    for (const jobs of [1, 2]) {
      const r = await observeGraph({ inputs: [clients, join(dir, 'mesh.log'), servers], inventory: [join(dir, 'inventory.json')], format: 'auto', container: 'istio-proxy', maxLineLength: 1 << 20, merge: [], jobs, minPartBytes: 1 });
      const skipped = r.skips.entries().map(([k]) => k);
      assert.ok(!skipped.includes('span-unjoined-server'), `--jobs ${jobs}: ${skipped.join(', ')}`);
      assert.ok(r.graph.hasEdge('shop/Deployment/web->shop/Deployment/orders:7070/grpc'), `--jobs ${jobs}`);
    }
  });
});

describe("Istio's own tracing: Envoy's Zipkin spans through observe @e2e", () => {
  // As the sidecars write them (Envoy's Zipkin tracer, shared span context): service names are
  // the proxies' cluster names (APP.NAMESPACE), the pods are named only in node_id, the callee
  // in upstream_cluster. Pods and IPs are the Bookinfo fixture's.
  const trace = '463ac35c9f6413ad';
  const proxy = (pod: string, ip: string) => `sidecar~${ip}~${pod}.default~default.svc.cluster.local`;
  const common = { component: 'proxy', 'istio.mesh_id': 'cluster.local', 'istio.namespace': 'default', 'http.method': 'GET', 'http.protocol': 'HTTP/1.1', 'http.status_code': '200', response_flags: '-' };
  const spans = (n: number) => {
    const id = (0xa000 + n).toString(16).padStart(16, '0');
    const t = Date.UTC(2026, 10, 24, 10, 0, n) * 1000;
    return [
      {
        traceId: trace, id, parentId: 'b7ad6b7169203331', kind: 'CLIENT', name: 'reviews.default.svc.cluster.local:9080/*', timestamp: t, duration: 5100,
        localEndpoint: { serviceName: 'productpage.default', ipv4: '10.244.1.10' },
        tags: { ...common, node_id: proxy('productpage-v1-2d7djr4hhv-xbj9k', '10.244.1.10'), 'istio.canonical_service': 'productpage', upstream_cluster: 'outbound|9080||reviews.default.svc.cluster.local', 'upstream_cluster.name': 'outbound|9080||reviews.default.svc.cluster.local', 'http.url': `http://reviews:9080/reviews/${n}?u=normal`, 'peer.address': '10.244.1.10' },
      },
      {
        traceId: trace, id, parentId: 'b7ad6b7169203331', kind: 'SERVER', shared: true, name: 'reviews.default.svc.cluster.local:9080/*', timestamp: t + 900, duration: 3800,
        localEndpoint: { serviceName: 'reviews.default', ipv4: '10.244.1.11' },
        tags: { ...common, node_id: proxy('reviews-v1-lsq9224nnj-s5mks', '10.244.1.11'), 'istio.canonical_service': 'reviews', upstream_cluster: 'inbound|9080||', 'http.url': `http://reviews:9080/reviews/${n}?u=normal`, 'peer.address': '10.244.1.10' },
      },
    ];
  };

  it('each call joins into productpage-v1 → reviews-v1 on the pod port, with its path templated', async () => {
    const dir = tempDir('ztmap-envoy-spans-');
    const file = join(dir, 'zipkin.json');
    writeFileSync(file, JSON.stringify([0, 1, 2].flatMap(spans)));
    const out = join(dir, 'out');
    const run = ztmap(['observe', '-i', join(FIXTURES, 'bookinfo', 'inventory.json'), '-o', out, '--fail-on', 'unresolved', file]);
    assert.equal(run.status, 0, run.stderr);
    const edges = new Map<string, EdgeAttributes>();
    (await readGraphFile(join(out, 'graph.json'))).forEachEdge((k, a) => edges.set(k, a));
    assert.deepEqual([...edges.keys()], ['default/Deployment/productpage-v1->default/Deployment/reviews-v1:9080/http']);
    const e = [...edges.values()][0]!;
    assert.equal(e.client.requests, 3);
    assert.deepEqual(e.paths, ['/reviews/{id}']);
    assert.deepEqual(e.sourceServiceAccounts, ['bookinfo-productpage']);
    // A proposal from spans alone says so: its workloads are the spans' claims.
    const proposed = join(dir, 'proposed');
    const p = ztmap(['propose', '-g', join(out, 'graph.json'), '-i', join(FIXTURES, 'bookinfo', 'inventory.json'), '-o', proposed, '--fail-on', 'never', '--min-requests', '1', '--min-days', '1']);
    assert.equal(p.status, 0, p.stderr);
    const review = readFileSync(join(proposed, 'policies', 'review.md'), 'utf8');
    assert.match(review, /Rules that rest on trace claims alone[^\n]*\n\n- [^\n]*reviews-v1/);
  });

  it('through the ingress gateway: the port the gateway dialled (upstream_cluster), not the public Host header port', async () => {
    const dir = tempDir('ztmap-envoy-gateway-');
    const file = join(dir, 'zipkin.json');
    const t = Date.UTC(2026, 10, 24, 10, 5) * 1000;
    const id = '000000000000c001';
    const url = 'http://bookinfo.example.com/productpage';
    writeFileSync(
      file,
      JSON.stringify([
        { traceId: trace, id, kind: 'CLIENT', name: 'productpage.default.svc.cluster.local:9080/productpage', timestamp: t, duration: 9000, localEndpoint: { serviceName: 'istio-ingressgateway.istio-system', ipv4: '10.244.1.4' }, tags: { ...common, node_id: 'router~10.244.1.4~istio-ingressgateway-6cjbwwdx5x-zgkvn.istio-system~istio-system.svc.cluster.local', upstream_cluster: 'outbound|9080||productpage.default.svc.cluster.local', 'http.url': url } },
        { traceId: trace, id, kind: 'SERVER', shared: true, name: 'productpage.default.svc.cluster.local:9080/productpage', timestamp: t + 500, duration: 8000, localEndpoint: { serviceName: 'productpage.default', ipv4: '10.244.1.10' }, tags: { ...common, node_id: proxy('productpage-v1-2d7djr4hhv-xbj9k', '10.244.1.10'), upstream_cluster: 'inbound|9080||', 'http.url': url } },
      ]),
    );
    const out = join(dir, 'out');
    const run = ztmap(['observe', '-i', join(FIXTURES, 'bookinfo', 'inventory.json'), '-o', out, '--fail-on', 'unresolved', file]);
    assert.equal(run.status, 0, run.stderr);
    const keys: string[] = [];
    (await readGraphFile(join(out, 'graph.json'))).forEachEdge((k) => keys.push(k));
    assert.deepEqual(keys, ['istio-system/Deployment/istio-ingressgateway->default/Deployment/productpage-v1:9080/http']);
  });

  it("a CLIENT span alone goes to the Service its upstream_cluster names", async () => {
    const dir = tempDir('ztmap-envoy-client-');
    const file = join(dir, 'zipkin.json');
    writeFileSync(file, JSON.stringify([spans(5)[0]]));
    const out = join(dir, 'out');
    const run = ztmap(['observe', '-i', join(FIXTURES, 'bookinfo', 'inventory.json'), '-o', out, '--fail-on', 'never', file]);
    assert.equal(run.status, 0, run.stderr);
    const keys: string[] = [];
    (await readGraphFile(join(out, 'graph.json'))).forEachEdge((k) => keys.push(k));
    assert.equal(keys.length, 1, keys.join('\n'));
    // reviews has three versions behind it: which one answered, only a server's span or log says.
    assert.deepEqual(keys, ['default/Deployment/productpage-v1->unknown:service/default/reviews:9080/http']);
  });
});
