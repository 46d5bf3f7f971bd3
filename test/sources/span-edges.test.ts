// SpanJoiner (sources/span-edges.ts): spans → flows. Traces written here by hand with the
// attribute names of the OpenTelemetry semantic conventions (http, rpc, messaging, k8s resource),
// stable and older ones, and Zipkin's shared spans; then properties over generated traces.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Flow } from '../../src/flow/flow.js';
import type { Span, SpanKind } from '../../src/sources/decoders/span.js';
import { compare } from '../../src/flow/compare.js';
import { pathTemplate } from '../../src/flow/path-template.js';
import { SPAN_KEYS_READ, SpanJoiner, type SpanJoinerOptions, type TopicEvidence } from '../../src/sources/span-edges.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/paths.js';
import { Tally } from '../../src/tally.js';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const WIDE: SpanJoinerOptions = { maxPending: 10_000, maxWaitMs: 3_600_000, decoder: 'otlp-json' };

function k8s(ns: string, deployment: string, pod = `${deployment}-7d9f8b6c5-x2x4q`): Record<string, string> {
  return { 'service.name': deployment, 'k8s.namespace.name': ns, 'k8s.pod.name': pod, 'k8s.deployment.name': deployment };
}

let line = 0;
function span(s: Partial<Span> & { spanId: string; kind: SpanKind }): Span {
  return {
    traceId: 'a1',
    name: s.kind,
    start: T0,
    end: T0 + 10,
    resource: {},
    attributes: {},
    status: 'unset',
    location: { file: 'trace.json', line: ++line },
    ...s,
  };
}

interface Run {
  flows: Flow[];
  skips: Tally;
  rejects: Tally;
  topics: TopicEvidence[];
  joiner: SpanJoiner;
}

function run(spans: readonly Span[], options: SpanJoinerOptions = WIDE): Run {
  const flows: Flow[] = [];
  const topics: TopicEvidence[] = [];
  const skips = new Tally();
  const rejects = new Tally();
  const joiner = new SpanJoiner(options, { flow: (f) => flows.push(f), skips, rejects, topic: (t) => topics.push(t) });
  for (const s of spans) joiner.add(s);
  joiner.flush();
  return { flows, skips, rejects, topics, joiner };
}

const counts = (t: Tally) => Object.fromEntries(t.entries().map(([r, e]) => [r, e.count]));

describe('SpanJoiner', () => {
  describe('joined client and server spans', () => {
    // frontend → cart → orders: a three-service chain of HTTP calls with route templates.
    const chain = [
      span({ spanId: 'f1', kind: 'server', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'http.route': '/', 'url.path': '/' } }),
      span({
        spanId: 'f2',
        parentSpanId: 'f1',
        kind: 'client',
        resource: k8s('shop', 'frontend'),
        attributes: { 'http.request.method': 'GET', 'url.full': 'http://cart:8080/carts/42?session=secret#x', 'server.address': 'cart', 'server.port': 8080, 'http.response.status_code': 200 },
      }),
      span({
        spanId: 'c1',
        parentSpanId: 'f2',
        kind: 'server',
        resource: k8s('shop', 'cart'),
        attributes: { 'http.request.method': 'GET', 'http.route': '/carts/{cartId}', 'url.path': '/carts/42', 'url.query': 'session=secret', 'server.port': 8080, 'network.local.port': 8081 },
      }),
      span({
        spanId: 'c2',
        parentSpanId: 'c1',
        kind: 'client',
        resource: k8s('shop', 'cart'),
        attributes: { 'http.method': 'POST', 'http.url': 'http://orders.billing:9090/orders/7?token=abc', 'net.peer.name': 'orders.billing', 'net.peer.port': 9090, 'http.status_code': 201 },
      }),
      span({
        spanId: 'o1',
        parentSpanId: 'c2',
        kind: 'server',
        resource: { 'service.name': 'orders', 'k8s.namespace.name': 'billing', 'k8s.pod.name': 'orders-0', 'k8s.statefulset.name': 'orders' },
        attributes: { 'http.method': 'POST', 'http.route': 'orders/:orderId?', 'http.target': '/orders/7?token=abc', 'net.host.port': 9090 },
      }),
    ];

    it('turns a three-service chain into one flow per call, with the servers’ route templates', () => {
      const { flows, skips, rejects } = run(chain);
      assert.equal(flows.length, 2);
      assert.equal(rejects.total, 0);
      // Nothing of a query string leaves the joiner.
      assert.ok(!/secret|token|abc|frag|[?#]/.test(JSON.stringify(flows)), JSON.stringify(flows));
      // The two root/leaf server spans of frontend: f1 has no parent (caller not traced, no peer).
      assert.deepEqual(counts(skips), { 'span-unjoined-server': 1 });
      const [toCart, toOrders] = [flows.find((f) => f.destination.workload?.name === 'cart')!, flows.find((f) => f.destination.workload?.name === 'orders')!];
      assert.deepEqual(toCart.source, { pod: { namespace: 'shop', name: 'frontend-7d9f8b6c5-x2x4q' }, workload: { namespace: 'shop', name: 'frontend', kind: 'Deployment' } });
      // The server's socket port is the target port; the Service the client addressed comes along.
      assert.deepEqual(toCart.destination, {
        pod: { namespace: 'shop', name: 'cart-7d9f8b6c5-x2x4q' },
        workload: { namespace: 'shop', name: 'cart', kind: 'Deployment' },
        service: 'cart.shop.svc.cluster.local',
        port: 8081,
      });
      assert.equal(toCart.protocol, 'http');
      assert.deepEqual(toCart.l7, { method: 'GET', path: '/carts/0' });
      assert.equal(toCart.responseCode, 200);
      assert.equal(toCart.reporter, 'client');
      assert.equal(toCart.count, 1);
      assert.equal(toCart.mtls, 'unknown');
      assert.equal(toCart.timestamp, T0);
      assert.deepEqual(toCart.evidence, { decoder: 'otlp-json', location: chain[1]!.location });
      // Older attribute names; no socket port: the Host header's port is the Service's port.
      assert.deepEqual(toOrders.destination, {
        pod: { namespace: 'billing', name: 'orders-0' },
        workload: { namespace: 'billing', name: 'orders', kind: 'StatefulSet' },
        service: 'orders.billing.svc.cluster.local',
        servicePort: 9090,
      });
      assert.deepEqual(toOrders.l7, { method: 'POST', path: '/orders/0' });
      assert.equal(toOrders.responseCode, 201);
    });

    it('joins the same way when children arrive before their parents', () => {
      const forward = run(chain).flows;
      const backward = run([...chain].reverse()).flows;
      assert.deepEqual(sortFlows(backward), sortFlows(forward));
    });

    it('keeps the raw path without its query when no route is given, and never a query or fragment', () => {
      const { flows } = run([
        span({ spanId: 'x1', kind: 'client', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'url.full': 'https://cart.shop.svc.cluster.local/carts/42?token=abc#frag' } }),
        span({ spanId: 'x2', parentSpanId: 'x1', kind: 'server', resource: k8s('shop', 'cart'), attributes: { 'http.request.method': 'GET' } }),
      ]);
      assert.deepEqual(flows[0]!.l7, { method: 'GET', path: '/carts/42' });
      // https: port 443 from the scheme, the Service's port.
      assert.equal(flows[0]!.destination.servicePort, 443);
      // Jaeger's HotROD writes a bare path with its query in http.url on server spans.
      const hotrod = run([
        span({ spanId: 'h1', kind: 'client', resource: k8s('hotrod', 'frontend'), attributes: { 'http.method': 'GET', 'peer.service': 'customer' } }),
        span({ spanId: 'h2', parentSpanId: 'h1', kind: 'server', resource: k8s('hotrod', 'customer'), attributes: { 'http.method': 'GET', 'http.url': '/customer?customer=123', 'http.status_code': 200 } }),
      ]).flows;
      assert.deepEqual(hotrod[0]!.l7, { method: 'GET', path: '/customer' });
    });

    it('hands graph/ route templates it turns into the same placeholders as raw paths', () => {
      const route = (r: string) => run([
        span({ spanId: 'r1', kind: 'client', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET' } }),
        span({ spanId: 'r2', parentSpanId: 'r1', kind: 'server', resource: k8s('shop', 'cart'), attributes: { 'http.request.method': 'GET', 'http.route': r } }),
      ]).flows[0]!.l7!.path;
      const templates = ['/users/{id}', '/users/:userId', '/users/<int:id>/posts/{postId:int}', 'api/{*rest}', '/files/[...slug]', '/users/:id?', '/orders/{id?}'].map((r) => pathTemplate(route(r)));
      assert.deepEqual(templates, ['/users/{id}', '/users/{id}', '/users/{id}/posts/{id}', '/api/{id}', '/files/{id}', '/users/{id}', '/orders/{id}']);
      assert.equal(pathTemplate(route('/health')), '/health');
    });

    it('reads a gRPC call as POST /SERVICE/METHOD', () => {
      const { flows } = run([
        span({
          spanId: 'g1',
          kind: 'client',
          resource: k8s('shop', 'checkout'),
          attributes: { 'rpc.system': 'grpc', 'rpc.service': 'hipstershop.PaymentService', 'rpc.method': 'Charge', 'server.address': 'payment', 'server.port': 50051 },
        }),
        span({ spanId: 'g2', parentSpanId: 'g1', kind: 'server', resource: k8s('shop', 'payment'), attributes: { 'rpc.system': 'grpc', 'rpc.service': 'hipstershop.PaymentService', 'rpc.method': 'Charge' } }),
        // Newer conventions: rpc.system.name and a fully qualified rpc.method, callee not traced.
        span({ spanId: 'g3', kind: 'client', resource: k8s('shop', 'checkout'), attributes: { 'rpc.system.name': 'grpc', 'rpc.method': 'hipstershop.CartService/GetCart', 'server.address': '10.0.3.7', 'server.port': 7070 } }),
      ]);
      assert.equal(flows.length, 2);
      const [payment, cart] = [flows.find((f) => f.destination.workload !== undefined)!, flows.find((f) => f.destination.ip !== undefined)!];
      assert.equal(payment.protocol, 'grpc');
      assert.deepEqual(payment.l7, { method: 'POST', path: '/hipstershop.PaymentService/Charge' });
      assert.equal(payment.destination.servicePort, 50051);
      assert.deepEqual(cart.l7, { method: 'POST', path: '/hipstershop.CartService/GetCart' });
      assert.deepEqual(cart.destination, { ip: '10.0.3.7', port: 7070 });
    });

    it('joins a Zipkin shared server span, which carries its client’s span id', () => {
      const { flows, skips } = run([
        span({ spanId: 'z1', kind: 'client', resource: { 'service.name': 'frontend' }, local: { serviceName: 'frontend', ip: '10.0.1.5' }, attributes: { 'http.method': 'GET', 'http.path': '/api/items' } }),
        span({ spanId: 'z1', parentSpanId: 'z0', kind: 'server', shared: true, resource: { 'service.name': 'items' }, local: { serviceName: 'items', ip: '10.0.2.9', port: 8080 }, attributes: { 'http.method': 'GET', 'http.route': '/api/items' } }),
      ]);
      assert.equal(skips.total, 0);
      assert.equal(flows.length, 1);
      // No namespace: no workload claim, but the endpoints' addresses are kept.
      assert.deepEqual(flows[0]!.source, { ip: '10.0.1.5' });
      assert.deepEqual(flows[0]!.destination, { ip: '10.0.2.9', port: 8080 });
      assert.deepEqual(flows[0]!.l7, { method: 'GET', path: '/api/items' });
    });

    it('claims a workload by service.name without a kind when no controller is named', () => {
      const { flows } = run([
        span({ spanId: 's1', kind: 'client', resource: { 'service.name': 'web', 'service.namespace': 'front' }, attributes: { 'http.request.method': 'GET', 'server.address': 'api.back' } }),
        span({ spanId: 's2', parentSpanId: 's1', kind: 'server', resource: { 'service.name': 'api', 'k8s.namespace.name': 'back', 'service.namespace': 'platform' }, attributes: { 'http.request.method': 'GET', 'url.path': '/v1' } }),
      ]);
      assert.deepEqual(flows[0]!.source, { workload: { namespace: 'front', name: 'web' } });
      // k8s.namespace.name (where the pod runs) wins over service.namespace (a logical grouping).
      assert.deepEqual(flows[0]!.destination.workload, { namespace: 'back', name: 'api' });
    });
  });

  describe('a client span whose callee is not traced', () => {
    const client = (attributes: Span['attributes'], extra: Partial<Span> = {}) => span({ spanId: `u${++line}`, kind: 'client', resource: k8s('shop', 'frontend'), attributes, ...extra });

    it('names a Kubernetes Service by FQDN, NAME.NS or a bare name in the client’s namespace', () => {
      const { flows } = run([
        client({ 'http.request.method': 'GET', 'server.address': 'ads.shop.svc.cluster.local', 'server.port': 80 }),
        client({ 'http.request.method': 'GET', 'server.address': 'ads.marketing', 'server.port': 80 }),
        client({ 'http.request.method': 'GET', 'url.full': 'http://ads:9555/x' }),
      ]);
      assert.deepEqual(
        flows.map((f) => f.destination),
        [
          { service: 'ads.shop.svc.cluster.local', servicePort: 80 },
          { service: 'ads.marketing.svc.cluster.local', servicePort: 80 },
          { service: 'ads.shop.svc.cluster.local', servicePort: 9555 },
        ],
      );
      assert.ok(flows.every((f) => f.reporter === 'client' && f.source.workload?.name === 'frontend'));
    });

    it('names an IP by ip and port, any other host as external, loopback as nothing', () => {
      const { flows, skips } = run([
        client({ 'http.request.method': 'GET', 'server.address': '10.96.0.12', 'server.port': 8080 }),
        client({ 'http.request.method': 'POST', 'url.full': 'https://api.stripe.com/v1/charges?key=sk_live_x' }),
        client({ 'http.request.method': 'GET', 'server.address': 'example.com' }),
        client({ 'http.request.method': 'GET', 'server.address': 'localhost', 'server.port': 15000 }),
        client({ 'http.request.method': 'GET' }, { remote: { ip: '10.0.9.9', port: 6379 } }),
        client({ 'http.request.method': 'GET', 'peer.service': 'inventory' }),
        client({ 'http.request.method': 'GET' }),
        // No host name: not an external host, and nothing else names the callee.
        client({ 'http.request.method': 'GET', 'server.address': 'evil.com?token=x' }),
      ]);
      assert.deepEqual(
        flows.map((f) => f.destination),
        [{ ip: '10.96.0.12', port: 8080 }, { host: 'api.stripe.com', port: 443 }, { host: 'example.com' }, { ip: '10.0.9.9', port: 6379 }, { workload: { namespace: 'shop', name: 'inventory' } }],
      );
      assert.deepEqual(flows[1]!.l7, { method: 'POST', path: '/v1/charges' });
      assert.deepEqual(counts(skips), { 'span-loopback': 1, 'span-unjoined-client': 2 });
      assert.ok(!JSON.stringify(skips.entries()).includes('token=x'));
    });
  });

  describe('messaging', () => {
    it('makes producer → broker and consumer → broker edges, the topic as evidence only', () => {
      const { flows, topics } = run([
        span({
          spanId: 'p1',
          kind: 'producer',
          resource: k8s('shop', 'checkout'),
          attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'server.address': 'kafka.data.svc.cluster.local', 'server.port': 9092 },
        }),
        // The consumer's span is the producer's child: a link, never an edge.
        span({
          spanId: 'q1',
          parentSpanId: 'p1',
          kind: 'consumer',
          resource: k8s('shop', 'email'),
          attributes: { 'messaging.system': 'kafka', 'messaging.destination': 'orders', 'net.peer.name': 'kafka.data', 'net.peer.port': 9092 },
        }),
      ]);
      assert.deepEqual(
        flows.map((f) => [f.source.workload?.name, f.destination, f.protocol, f.reporter, f.l7]),
        [
          ['checkout', { service: 'kafka.data.svc.cluster.local', servicePort: 9092 }, 'tcp', 'client', undefined],
          ['email', { service: 'kafka.data.svc.cluster.local', servicePort: 9092 }, 'tcp', 'client', undefined],
        ],
      );
      assert.deepEqual(
        topics.map((t) => [t.system, t.topic, t.role, t.endpoint.workload?.name]),
        [
          ['kafka', 'orders', 'producer', 'checkout'],
          ['kafka', 'orders', 'consumer', 'email'],
        ],
      );
    });

    it('counts a messaging span that names no broker', () => {
      const { flows, skips, topics } = run([span({ spanId: 'p2', kind: 'producer', resource: k8s('shop', 'checkout'), attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': 'mail' } })]);
      assert.equal(flows.length, 0);
      assert.equal(topics.length, 1);
      assert.deepEqual(counts(skips), { 'span-messaging-no-broker': 1 });
    });
  });

  describe('what is counted instead', () => {
    it('counts duplicate ids, INTERNAL spans and calls within one service', () => {
      const c = span({ spanId: 'd1', kind: 'client', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'server.address': 'cart' } });
      const s = span({ spanId: 'd2', parentSpanId: 'd1', kind: 'server', resource: k8s('shop', 'cart'), attributes: { 'http.request.method': 'GET' } });
      const { flows, skips } = run([
        c,
        s,
        { ...c },
        { ...s },
        span({ spanId: 'i1', kind: 'internal', resource: k8s('shop', 'cart') }),
        // One pod calling itself stays inside the process; two pods of one workload cross the network.
        span({ spanId: 'm1', kind: 'client', resource: k8s('shop', 'cart', 'cart-a'), attributes: { 'http.request.method': 'GET' } }),
        span({ spanId: 'm2', parentSpanId: 'm1', kind: 'server', resource: k8s('shop', 'cart', 'cart-a'), attributes: { 'http.request.method': 'GET' } }),
        span({ spanId: 'p1', kind: 'client', resource: k8s('shop', 'cart', 'cart-a'), attributes: { 'http.request.method': 'GET' } }),
        span({ spanId: 'p2', parentSpanId: 'p1', kind: 'server', resource: k8s('shop', 'cart', 'cart-b'), attributes: { 'http.request.method': 'GET' } }),
      ]);
      assert.equal(flows.length, 2);
      assert.deepEqual(flows[1]!.destination.pod, { namespace: 'shop', name: 'cart-b' });
      assert.deepEqual(counts(skips), { 'span-duplicate': 2, 'span-internal': 1, 'span-same-service': 2 });
    });

    it('makes a root server span an edge from its socket peer, never from client.address', () => {
      const { flows, skips } = run([
        span({ spanId: 'r1', kind: 'server', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'http.route': '/', 'network.peer.address': '10.0.0.4', 'client.address': '203.0.113.9', 'server.port': 8080 } }),
        span({ spanId: 'r2', kind: 'server', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'client.address': '203.0.113.9' } }),
      ]);
      assert.equal(flows.length, 1);
      assert.deepEqual(flows[0]!.source, { ip: '10.0.0.4' });
      // server.port is the Host header's port (often a Service's): the resolver maps it to the pod's.
      assert.equal(flows[0]!.destination.port, undefined);
      assert.equal(flows[0]!.destination.servicePort, 8080);
      assert.equal(flows[0]!.reporter, 'server');
      assert.deepEqual(counts(skips), { 'span-unjoined-server': 1 });
    });

    it('SPAN_KEYS_READ holds every attribute key this module names (a receiver keeps only those of a waiting span)', () => {
      const text = readFileSync(join(ROOT, 'src', 'sources', 'span-edges.ts'), 'utf8');
      const named = new Set([...text.matchAll(/'([a-z_0-9]+(\.[a-z_0-9]+)+)'/g)].map((m) => m[1]!));
      for (const k of ['node_id', 'upstream_cluster']) named.add(k);
      assert.deepEqual([...named].filter((k) => !SPAN_KEYS_READ.has(k)), []);
    });

    it('an Envoy client span that Envoy sent to BlackHoleCluster is a refusal (REGISTRY_ONLY), never an edge to allow', () => {
      const { flows } = run([span({ spanId: 'e1', kind: 'client', resource: { 'service.name': 'web.shop' }, attributes: { node_id: 'sidecar~10.0.0.5~web-5d8f-abcde.shop~shop.svc.cluster.local', upstream_cluster: 'BlackHoleCluster', 'http.method': 'GET', 'http.url': 'http://evil.example.com/upload', 'http.status_code': '502' } })]);
      assert.equal(flows.length, 1);
      assert.deepEqual([flows[0]!.denial, flows[0]!.source.pod], [{ kind: 'registry-only' }, { namespace: 'shop', name: 'web-5d8f-abcde' }]);
    });

    it('a client that addressed a loopback port (a tunnel, a sidecar) still gives its server the port it addressed', () => {
      const { flows } = run([
        span({ spanId: 'd1', kind: 'client', resource: k8s('shop', 'orders'), attributes: { 'rpc.system': 'grpc', 'rpc.service': 'shop.Payments', 'rpc.method': 'Charge', 'server.address': '127.0.0.1', 'server.port': 7000 } }),
        span({ spanId: 'd2', parentSpanId: 'd1', kind: 'server', resource: k8s('shop', 'payments'), attributes: { 'rpc.system': 'grpc', 'rpc.service': 'shop.Payments', 'rpc.method': 'Charge' } }),
      ]);
      assert.equal(flows.length, 1);
      assert.deepEqual([flows[0]!.destination.servicePort, flows[0]!.destination.port], [7000, undefined]);
    });

    it('percent-encodes control characters and spaces of a route or path: a newline never reaches a report', () => {
      const { flows } = run([
        span({ spanId: 'c1', kind: 'client', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'server.address': 'cart' } }),
        span({ spanId: 'c2', parentSpanId: 'c1', kind: 'server', resource: k8s('shop', 'cart'), attributes: { 'http.request.method': 'GET', 'http.route': '/a\nb/{id}/\t x' } }),
        span({ spanId: 'c3', kind: 'client', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'url.full': 'http://cart.shop:80/x\ry z' } }),
      ]);
      assert.deepEqual(flows.map((f) => f.l7?.path ?? '').sort(compare), ['/a%0Ab/0/%09%20x', '/x%0Dy%20z']);
    });

    it('rejects an HTTP method that is no token', () => {
      const { flows, rejects } = run([span({ spanId: 'b1', kind: 'client', resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET /x', 'server.address': 'cart' } })]);
      assert.equal(flows.length, 0);
      assert.deepEqual(counts(rejects), { 'span-invalid-method': 1 });
      // One bad side rejects the pair: never read as TCP, which would admit every path.
      const pair = run([
        span({ spanId: 'b2', kind: 'client', resource: k8s('shop', 'frontend'), attributes: { 'server.address': 'cart' } }),
        span({ spanId: 'b3', parentSpanId: 'b2', kind: 'server', resource: k8s('shop', 'cart'), attributes: { 'http.request.method': 'G\nET' } }),
      ]);
      assert.equal(pair.flows.length, 0);
      assert.deepEqual(counts(pair.rejects), { 'span-invalid-method': 2 });
    });
  });

  describe('bounds', () => {
    const c = (id: string, t: number) => span({ spanId: id, kind: 'client', start: t, end: t + 5, resource: k8s('shop', 'frontend'), attributes: { 'http.request.method': 'GET', 'server.address': 'cart', 'server.port': 80 } });
    const s = (id: string, parent: string, t: number) => span({ spanId: id, parentSpanId: parent, kind: 'server', start: t, end: t + 4, resource: k8s('shop', 'cart'), attributes: { 'http.request.method': 'GET', 'http.route': '/c' } });

    it('lets a client go alone after maxWaitMs of span time; a server older than the bound leaves at once', () => {
      // One span moves the clock at most maxWaitMs: e2 and e4 take it to T0 + 60 s in two steps.
      const late = [c('e1', T0), c('e2', T0 + 30_000), c('e4', T0 + 60_000), s('e3', 'e1', T0 + 1)];
      const { flows, skips, joiner } = run(late, { ...WIDE, maxWaitMs: 30_000 });
      // e1 left when e4 moved the watermark past it: the Service the client named.
      const cart = { service: 'cart.shop.svc.cluster.local', servicePort: 80 };
      assert.deepEqual(flows.map((f) => f.destination), [cart, cart, cart]);
      // e3 is itself older than the bound allows: it waits for nothing, its client's id is forgotten.
      assert.deepEqual(counts(skips), { 'span-unjoined-server': 1 });
      // e1 and e3 gave up waiting; e2 and e4 were still waiting when the input ended.
      assert.deepEqual(joiner.counts, { spans: 4, flows: 3, pairs: 0, pending: 0, expired: 2, evicted: 0, flushed: 2 });
      // Within the bound, the same spans join.
      assert.equal(run(late).joiner.counts.pairs, 1);
    });

    it('keeps at most maxPending spans waiting, the oldest leaving first', () => {
      const spans = [c('n1', T0), c('n2', T0 + 1), c('n3', T0 + 2), s('n4', 'n1', T0 + 3), s('n5', 'n3', T0 + 3)];
      const { joiner, skips } = run(spans, { ...WIDE, maxPending: 2 });
      // n3 pushed out n1 (the oldest), so n1's server came too late; n3 and n5 joined.
      assert.deepEqual(joiner.counts, { spans: 5, flows: 3, pairs: 1, pending: 0, expired: 0, evicted: 1, flushed: 1 });
      assert.deepEqual(counts(skips), { 'span-partner-gone': 1 });
    });

    it('a batch (one request) is bounded once it is in: a client and its server sent together join even past maxPending', () => {
      const older = [c('m1', T0 + 10), c('m2', T0 + 11)];
      const rejects = new Tally();
      const skips = new Tally();
      const flows: unknown[] = [];
      const joiner = new SpanJoiner({ ...WIDE, maxPending: 2 }, { flow: (f) => flows.push(f), rejects, skips });
      joiner.addBatch(older);
      // The oldest span of the batch: added one by one, m3 would leave before its server came.
      joiner.addBatch([c('m3', T0), s('m4', 'm3', T0 + 1)]);
      assert.deepEqual(joiner.counts, { spans: 4, flows: 1, pairs: 1, pending: 2, expired: 0, evicted: 0, flushed: 0 });
      joiner.addBatch([c('m5', T0 + 12)]);
      assert.deepEqual([joiner.counts.evicted, joiner.counts.pending], [1, 2]);
      assert.deepEqual(joiner.pendingSpans().map((p) => p.spanId), ['m2', 'm5']);
    });

    it('a span stamped far ahead moves the clock one bound, not to its own time', () => {
      const spans = [c('f1', T0), span({ spanId: 'f9', kind: 'server', resource: k8s('shop', 'email'), attributes: { 'http.request.method': 'GET' }, start: T0 + 60 * 365 * 86_400_000 }), s('f2', 'f1', T0 + 1)];
      assert.equal(run(spans, { ...WIDE, maxWaitMs: 30_000 }).joiner.counts.pairs, 1);
    });

    it('waits for a server before its client, up to the same bound', () => {
      const { joiner } = run([s('w2', 'w1', T0 + 1), c('w1', T0)], { ...WIDE, maxWaitMs: 100 });
      assert.equal(joiner.counts.pairs, 1);
    });
  });

  describe('properties', () => {
    // Traces of a few services with client/server pairs, lone clients and servers, internal and
    // messaging spans, duplicates, Zipkin shared spans and hostile paths.
    const services = ['frontend', 'cart', 'orders', 'email'];
    const pathArb = fc.oneof(
      fc.constantFrom('/a', '/users/42', '/x?y=1', '/p#frag', '/q?#', '/?', '/users/:id?', '/{id?}/x?q=1'),
      fc.string({ maxLength: 12 }).map((x) => `/${x}`),
    );
    interface Pair {
      from: string;
      to: string;
      route: string | undefined;
      url: string | undefined;
      t: number;
      withClient: boolean;
      withServer: boolean;
      shared: boolean;
      grpc: boolean;
      extra: 'none' | 'internal' | 'producer' | 'dup';
    }
    const pairArb: fc.Arbitrary<Pair> = fc.record({
      from: fc.constantFrom(...services),
      to: fc.constantFrom(...services),
      route: fc.option(pathArb, { nil: undefined }),
      url: fc.option(pathArb, { nil: undefined }),
      t: fc.integer({ min: 0, max: 10_000 }),
      withClient: fc.boolean(),
      withServer: fc.boolean(),
      shared: fc.boolean(),
      grpc: fc.boolean(),
      extra: fc.constantFrom('none', 'internal', 'producer', 'dup'),
    });

    function traceOf(pairs: readonly Pair[]): Span[] {
      const spans: Span[] = [];
      pairs.forEach((p, i) => {
        const id = `s${i}`;
        const attrs: Record<string, string | number> = p.grpc ? { 'rpc.system': 'grpc', 'rpc.service': 'pkg.Svc', 'rpc.method': 'M' } : { 'http.request.method': 'GET' };
        if (p.url !== undefined) attrs['url.full'] = `http://${p.to}:8080${p.url}`;
        else attrs['server.address'] = p.to;
        const client = span({ traceId: `t${i % 3}`, spanId: id, kind: 'client', start: T0 + p.t, end: T0 + p.t + 9, resource: k8s('shop', p.from), attributes: attrs });
        const sattrs: Record<string, string | number> = { ...attrs };
        if (p.route !== undefined) sattrs['http.route'] = p.route;
        const server = span({ traceId: `t${i % 3}`, spanId: p.shared ? id : `${id}s`, parentSpanId: p.shared ? 'root' : id, shared: p.shared, kind: 'server', start: T0 + p.t + 1, end: T0 + p.t + 8, resource: k8s('shop', p.to), attributes: sattrs });
        if (p.withClient || !p.withServer) spans.push(client);
        if (p.withServer) spans.push(server);
        if (p.extra === 'internal') spans.push(span({ traceId: `t${i % 3}`, spanId: `${id}i`, kind: 'internal', resource: k8s('shop', p.from) }));
        if (p.extra === 'producer') spans.push(span({ traceId: `t${i % 3}`, spanId: `${id}p`, kind: 'producer', resource: k8s('shop', p.from), attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'topic', 'server.address': 'kafka.data' } }));
        if (p.extra === 'dup') spans.push({ ...spans[spans.length - 1]! });
      });
      return spans;
    }

    const traceArb = fc.array(pairArb, { maxLength: 25 }).map(traceOf);

    it('emits the same flows whatever order the spans arrive in (within the bounds)', () => {
      fc.assert(
        fc.property(
          traceArb.chain((spans) => fc.tuple(fc.constant(spans), fc.shuffledSubarray(spans, { minLength: spans.length, maxLength: spans.length }))),
          ([spans, shuffled]) => {
            const a = run(spans);
            const b = run(shuffled);
            assert.deepEqual(sortFlows(b.flows), sortFlows(a.flows));
            assert.deepEqual(counts(b.skips), counts(a.skips));
            assert.deepEqual(counts(b.rejects), counts(a.rejects));
          },
        ),
        { numRuns: 300 },
      );
    });

    it('accounts for every span: in exactly one flow, or counted', () => {
      fc.assert(
        fc.property(traceArb, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 20_000 }), (spans, maxPending, maxWaitMs) => {
          for (const options of [WIDE, { ...WIDE, maxPending, maxWaitMs }]) {
            const { flows, skips, rejects, joiner } = run(spans, options);
            const c = joiner.counts;
            assert.equal(c.flows, flows.length);
            assert.equal(c.pending, 0);
            assert.equal(c.spans, spans.length);
            assert.equal(2 * c.pairs + (c.flows - c.pairs) + skips.total + rejects.total, spans.length);
          }
        }),
        { numRuns: 300 },
      );
    });

    it('never lets a query or fragment into a flow’s path', () => {
      fc.assert(
        fc.property(traceArb, fc.integer({ min: 1, max: 8 }), (spans, maxPending) => {
          for (const f of run(spans, { ...WIDE, maxPending }).flows) {
            if (f.l7 !== undefined) assert.ok(!/[?#]/.test(f.l7.path), f.l7.path);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});

function sortFlows(flows: readonly Flow[]): string[] {
  // Locations differ by arrival only in which duplicate came first; the rest must be equal.
  return flows.map((f) => JSON.stringify({ ...f, evidence: { decoder: f.evidence.decoder } })).sort(compare);
}
