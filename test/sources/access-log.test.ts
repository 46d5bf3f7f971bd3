import assert from 'node:assert/strict';
import { layoutOf } from '../../src/sources/layout.js';
import { decodeText } from '../support/decode.js';
import { CLIENT_LINE, GATEWAY_LINE, PASSTHROUGH_TCP_LINE, SERVER_JSON, SERVER_JSON_STRINGS, SERVER_LINE } from '../support/sample-mesh.js';

// Lines of the project's own sample mesh (test/support/sample-mesh.ts); the published samples
// are checked by test/conformance/reference-samples.test.ts.

describe('access-log entries to flows', () => {
  it('the client line is an outbound flow naming the server by upstream host and Service', () => {
    const { flows } = decodeText(`${CLIENT_LINE}\n${SERVER_LINE}\n`);
    assert.equal(flows.length, 2);
    const [c, s] = flows;
    assert.equal(c!.reporter, 'client');
    assert.deepEqual(c!.source, { ip: '10.61.2.14' });
    assert.deepEqual(c!.destination, { ip: '10.61.3.25', port: 8080, service: 'cart.shop.svc.cluster.local', servicePort: 9080 });
    assert.equal(c!.mtls, 'unknown');
    assert.equal(s!.reporter, 'server');
    assert.deepEqual(s!.source, { ip: '10.61.2.14', port: 51234 });
    assert.deepEqual(s!.destination, { ip: '10.61.3.25', port: 8080 });
    assert.equal(s!.mtls, 'mutual', 'an outbound_ SNI on the inbound line is Istio mTLS');
    assert.deepEqual(s!.l7, { method: 'GET', path: '/cart/items', host: 'cart:9080' });
  });

  it('an inbound line without SNI is plaintext', () => {
    for (const record of [SERVER_JSON_STRINGS, { ...SERVER_JSON, requested_server_name: null }]) {
      const { flows } = decodeText(JSON.stringify(record));
      assert.equal(flows[0]!.mtls, 'plaintext');
      assert.equal(flows[0]!.reporter, 'server');
    }
  });

  it('passthrough TCP goes to the external address and SNI host', () => {
    const { flows } = decodeText(PASSTHROUGH_TCP_LINE);
    const external = flows.find((f) => f.destination.host === 'payments.example.com');
    assert.ok(external);
    assert.equal(external.protocol, 'tcp');
    assert.equal(external.destination.ip, '203.0.113.40');
    assert.equal(external.destination.port, 443);
  });

  it('a gateway line records the downstream listener for the ingress hop', () => {
    const { flows } = decodeText(GATEWAY_LINE);
    assert.deepEqual(flows[0]!.proxied, { listener: { ip: '10.61.1.5', port: 8080 }, client: { ip: '198.51.100.23', port: 61544 } });
    const refused = decodeText(GATEWAY_LINE.replace('10.61.1.5:52410', '-'));
    assert.deepEqual(refused.flows[0]!.proxied, { listener: { ip: '10.61.1.5', port: 8080 }, client: { ip: '198.51.100.23', port: 61544 } });
  });

  it('skips loopback clients and counts them', () => {
    const line = '[2020-10-29T03:22:16.126Z] "GET /headers HTTP/1.1" 200 - via_upstream - "-" 0 547 5 4 "-" "curl" "id" "httpbin:8000" "127.0.0.1:80" inbound|8000|| 127.0.0.1:51680 172.17.0.7:80 127.0.0.1:59022 - default';
    const { flows, skips } = decodeText(line);
    assert.equal(flows.length, 0);
    assert.equal(skips.entries()[0]![0], 'loopback');
  });

  it('recognises gRPC by HTTP/2 POST /package.Service/Method', () => {
    const line = '[2020-10-29T03:22:16.126Z] "POST /hipstershop.CartService/GetCart HTTP/2" 200 - via_upstream - "-" 0 547 5 4 "-" "grpc-go" "id" "cart:7070" "10.0.0.9:7070" outbound|7070||cartservice.shop.svc.cluster.local 10.0.0.8:1 10.96.0.9:7070 10.0.0.8:2 - default';
    assert.equal(decodeText(line).flows[0]!.protocol, 'grpc');
  });
});

describe('layouts and framing', () => {
  it('reads the reporter from where the log was collected', () => {
    assert.deepEqual(layoutOf('/var/log/pods/default_reviews-v1-5b8f4d6c9-x2x7z_0f3a9b1c-1111-2222-3333-444455556666/istio-proxy/0.log'), {
      layout: 'pods-tree',
      reporter: { namespace: 'default', name: 'reviews-v1-5b8f4d6c9-x2x7z' },
      container: 'istio-proxy',
    });
    const c = layoutOf('/var/log/containers/ratings-v1-abc_default_istio-proxy-' + 'a'.repeat(64) + '.log');
    assert.deepEqual(c.reporter, { namespace: 'default', name: 'ratings-v1-abc' });
    assert.equal(c.container, 'istio-proxy');
    assert.deepEqual(layoutOf('logs/default_productpage-v1-123.log.gz').reporter, { namespace: 'default', name: 'productpage-v1-123' });
    assert.equal(layoutOf('logs/access.log').layout, 'unknown');
  });

  it('skips a whole file of another container', () => {
    const r = decodeText('hello\n', '/var/log/pods/default_reviews-v1-abc_0f3a9b1c-1111/reviews/0.log');
    assert.equal(r.read, false);
  });

  it('joins CRI partial records and takes the line number of the first', () => {
    const line = CLIENT_LINE;
    const cut = 80;
    const text =
      `2026-11-24T10:00:00.000000001Z stdout F 2026-11-24T10:00:00.000Z\tinfo\tproxy starting\n` +
      `2026-11-24T10:00:01.000000001Z stdout P ${line.slice(0, cut)}\n` +
      `2026-11-24T10:00:01.000000001Z stdout P ${line.slice(cut, 2 * cut)}\n` +
      `2026-11-24T10:00:01.000000001Z stdout F ${line.slice(2 * cut)}\n`;
    const { flows, rejects, skips } = decodeText(text, 'x/default_sleep-1_0f3a9b1c-1111/istio-proxy/0.log');
    assert.equal(rejects.total, 0);
    assert.equal(skips.total, 1);
    assert.equal(flows.length, 1);
    assert.deepEqual(flows[0]!.evidence.location, { file: 'x/default_sleep-1_0f3a9b1c-1111/istio-proxy/0.log', line: 2 });
    assert.deepEqual(flows[0]!.source.pod, { namespace: 'default', name: 'sleep-1' });
  });

  it('reports an unterminated CRI partial at end of file', () => {
    const { rejects } = decodeText('2026-11-24T10:00:01Z stdout P [2020-11-25T21:26:18.409Z] "GET\n');
    assert.equal(rejects.entries()[0]![0], 'unterminated-cri-partial');
  });

  it('reads Fluent Bit and Vector envelopes and takes the pod from them', () => {
    const [text, json] = [SERVER_LINE, JSON.stringify(SERVER_JSON)];
    const fluent = JSON.stringify({ log: text + '\n', stream: 'stdout', kubernetes: { pod_name: 'httpbin-1', namespace_name: 'foo', container_name: 'istio-proxy' } });
    const vector = JSON.stringify({ message: json, kubernetes: { pod_name: 'httpbin-2', pod_namespace: 'demo', container_name: 'istio-proxy' } });
    const other = JSON.stringify({ message: 'app says hi', kubernetes: { pod_name: 'httpbin-2', pod_namespace: 'demo', container_name: 'httpbin' } });
    const { flows, skips, rejects } = decodeText([fluent, vector, other].join('\n'));
    assert.equal(rejects.total, 0);
    assert.deepEqual(flows.map((f) => f.destination.pod), [{ namespace: 'foo', name: 'httpbin-1' }, { namespace: 'demo', name: 'httpbin-2' }]);
    assert.deepEqual(flows.map((f) => f.evidence.decoder), ['envoy-text', 'envoy-json']);
    assert.equal(skips.entries()[0]![0], 'other-container');
  });

  it('strips a kubectl logs --timestamps prefix', () => {
    assert.equal(decodeText(`2026-03-14T09:15:02.500000000Z ${CLIENT_LINE}`).flows.length, 1);
  });

  it('counts proxy logging as skipped and garbage as rejected with its line', () => {
    const text = '2026-11-24T10:00:00.123456Z\tinfo\txdsproxy\tconnected\n[2026-11-24 10:00:00.000][12][warning][config] x\nhello world\n{"a":1}\n{bad json\n';
    const { rejects, skips } = decodeText(text, 'f.log');
    assert.equal(skips.total, 2);
    assert.deepEqual(
      rejects.entries().map(([r, e]) => [r, e.examples.map((x) => x.location)]),
      [['malformed-json', ['f.log:5']], ['unrecognized-json', ['f.log:4']], ['unrecognized-line', ['f.log:3']]],
    );
  });

  it('--format envoy-json rejects text lines instead of guessing', () => {
    const { rejects } = decodeText(`${CLIENT_LINE}\n${SERVER_LINE}\n`, 't.log', { format: 'envoy-json' });
    assert.equal(rejects.entries()[0]![0], 'wrong-format');
    assert.equal(rejects.total, 2);
  });
});
