// metricFlow (sources/decoders/istio-metrics.ts): one Istio standard-metric sample → a Flow with
// claims (workload, principal), the Service that gives the port, a count and a time, or a
// counted skip or reject. Labels as Istio's reference names them
// (https://istio.io/latest/docs/reference/config/metrics/), values of this project's own.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Flow } from '../../src/flow/flow.js';
import { metricFlow, type SampleTime } from '../../src/sources/decoders/istio-metrics.js';
import type { MetricSample } from '../../src/sources/decoders/metric-sample.js';
import type { Decoded } from '../../src/sources/decoders/result.js';

const LOCATION = { file: 'metrics.prom', line: 3 };

const BASE: Record<string, string> = {
  reporter: 'destination',
  source_workload: 'frontend',
  source_workload_namespace: 'shop',
  source_principal: 'spiffe://cluster.local/ns/shop/sa/frontend',
  destination_workload: 'cart',
  destination_workload_namespace: 'shop',
  destination_principal: 'spiffe://cluster.local/ns/shop/sa/cart',
  destination_service: 'cart.shop.svc.cluster.local',
  destination_service_name: 'cart',
  connection_security_policy: 'mutual_tls',
  request_protocol: 'http',
  response_code: '200',
  grpc_response_status: '',
};

function sample(labels: Record<string, string | undefined> = {}, o: { name?: string; value?: number; timestamp?: number } = {}): MetricSample {
  const merged: Record<string, string> = { ...BASE };
  for (const [k, v] of Object.entries(labels)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return { name: o.name ?? 'istio_requests_total', labels: merged, value: o.value ?? 12, ...(o.timestamp === undefined ? {} : { timestamp: o.timestamp }), location: LOCATION };
}

function flowOf(d: Decoded<Flow>): Flow {
  assert.equal(d.kind, 'ok', `expected a flow, got ${JSON.stringify(d)}`);
  return (d as { kind: 'ok'; value: Flow }).value;
}

const decode = (labels: Record<string, string | undefined> = {}, o: { name?: string; value?: number; timestamp?: number } = {}, time?: SampleTime) =>
  time === undefined ? metricFlow(sample(labels, o)) : metricFlow(sample(labels, o), time);

describe('istio metrics → flows (metricFlow)', () => {
  describe('reporter', () => {
    it('source → client, destination and waypoint → server', () => {
      assert.equal(flowOf(decode({ reporter: 'source' })).reporter, 'client');
      assert.equal(flowOf(decode({ reporter: 'destination' })).reporter, 'server');
      assert.equal(flowOf(decode({ reporter: 'waypoint' })).reporter, 'server');
    });

    it('rejects a sample with no reporter or another one, naming it', () => {
      for (const r of [undefined, '', 'unknown', 'Source', 'proxy']) {
        const d = decode({ reporter: r });
        assert.equal(d.kind, 'reject', String(r));
        assert.equal((d as { reason: string }).reason, 'metric-bad-reporter');
      }
    });
  });

  describe('claims', () => {
    it('reads workload + namespace into EndpointRef.workload and the principals into principal', () => {
      const f = flowOf(decode());
      assert.deepEqual(f.source.workload, { namespace: 'shop', name: 'frontend' });
      assert.deepEqual(f.destination.workload, { namespace: 'shop', name: 'cart' });
      assert.equal(f.source.principal, 'spiffe://cluster.local/ns/shop/sa/frontend');
      assert.equal(f.destination.principal, 'spiffe://cluster.local/ns/shop/sa/cart');
      // Metrics name no address, port, method or path.
      assert.equal(f.source.ip, undefined);
      assert.equal(f.destination.ip, undefined);
      assert.equal(f.destination.port, undefined);
      assert.equal(f.l7, undefined);
      assert.deepEqual(f.evidence, { decoder: 'istio-metrics', location: LOCATION });
    });

    it('claims nothing for `unknown`, empty or missing labels', () => {
      for (const v of ['unknown', '', undefined]) {
        const f = flowOf(decode({ source_workload: v, destination_principal: v, source_principal: v }));
        assert.equal(f.source.workload, undefined, `source_workload=${String(v)}`);
        assert.equal(f.source.principal, undefined);
        assert.equal(f.destination.principal, undefined);
        assert.deepEqual(f.destination.workload, { namespace: 'shop', name: 'cart' });
      }
    });

    it('claims no workload when the namespace is unknown, even with a name', () => {
      for (const v of ['unknown', '', undefined]) {
        const f = flowOf(decode({ destination_workload_namespace: v, source_workload_namespace: v }));
        assert.equal(f.destination.workload, undefined, String(v));
        assert.equal(f.source.workload, undefined, String(v));
      }
    });
  });

  describe('mTLS', () => {
    it('connection_security_policy mutual_tls → mutual, none → plaintext, anything else → unknown', () => {
      assert.equal(flowOf(decode({ connection_security_policy: 'mutual_tls' })).mtls, 'mutual');
      assert.equal(flowOf(decode({ connection_security_policy: 'none' })).mtls, 'plaintext');
      for (const v of ['unknown', '', undefined, 'MUTUAL_TLS', 'permissive']) assert.equal(flowOf(decode({ connection_security_policy: v })).mtls, 'unknown', String(v));
    });
  });

  describe('protocol', () => {
    it('http and http2 → http, grpc → grpc, missing or unknown → http', () => {
      assert.equal(flowOf(decode({ request_protocol: 'http' })).protocol, 'http');
      assert.equal(flowOf(decode({ request_protocol: 'http2' })).protocol, 'http');
      assert.equal(flowOf(decode({ request_protocol: 'grpc' })).protocol, 'grpc');
      assert.equal(flowOf(decode({ request_protocol: undefined })).protocol, 'http');
      assert.equal(flowOf(decode({ request_protocol: 'unknown' })).protocol, 'http');
    });

    it('istio_tcp_connections_opened_total is tcp whatever request_protocol says', () => {
      for (const p of ['tcp', 'http', undefined]) {
        const f = flowOf(decode({ request_protocol: p, response_code: '0' }, { name: 'istio_tcp_connections_opened_total', value: 4 }));
        assert.equal(f.protocol, 'tcp', String(p));
        assert.equal(f.count, 4);
      }
    });

    it('rejects a request count with a protocol it does not know', () => {
      const d = decode({ request_protocol: 'websocket' });
      assert.equal(d.kind, 'reject');
      assert.equal((d as { reason: string }).reason, 'metric-bad-protocol');
    });
  });

  describe('denials', () => {
    it('response_code 403 → refused', () => {
      const f = flowOf(decode({ response_code: '403' }));
      assert.deepEqual(f.denial, { kind: 'refused' });
      assert.equal(f.responseCode, 403);
    });

    it('grpc_response_status 7 (PERMISSION_DENIED) → refused, even under HTTP 200', () => {
      const f = flowOf(decode({ request_protocol: 'grpc', response_code: '200', grpc_response_status: '7' }));
      assert.deepEqual(f.denial, { kind: 'refused' });
      assert.equal(f.responseCode, 200);
    });

    it('other codes and statuses are no denial', () => {
      for (const [code, grpc] of [['200', '0'], ['401', ''], ['503', '14'], ['404', '5'], ['0', '']] as const) {
        assert.equal(flowOf(decode({ response_code: code, grpc_response_status: grpc })).denial, undefined, `${code}/${grpc}`);
      }
    });

    it('BlackHoleCluster → registry-only, with no Service or host, even when the code is 403', () => {
      for (const code of ['502', '403', '0']) {
        const f = flowOf(decode({ destination_service_name: 'BlackHoleCluster', destination_service: 'BlackHoleCluster', destination_workload: 'unknown', response_code: code }));
        assert.deepEqual(f.denial, { kind: 'registry-only' }, code);
        assert.equal(f.destination.service, undefined);
        assert.equal(f.destination.host, undefined);
      }
    });

    it('reads an unreadable response code as 0', () => {
      for (const code of ['abc', '1000', '-1', '4.5', '']) assert.equal(flowOf(decode({ response_code: code })).responseCode, 0, code);
    });

    // Regression (this test found it, since fixed): response_code is read with Number(), which accepts hexadecimal, exponents and
    // surrounding blanks, so labels Envoy never writes read as a status: response_code="0x193",
    // "4.03e2" or " 403" → responseCode 403 and denial 'refused'. Expected 0, as for 'abc'.
    it('reads only decimal digits as a response code', () => {
      for (const code of ['0x193', '4.03e2', ' 403', '403 ', '+403']) {
        const f = flowOf(decode({ response_code: code }));
        assert.equal(f.responseCode, 0, JSON.stringify(code));
        assert.equal(f.denial, undefined, JSON.stringify(code));
      }
    });
  });

  describe('destination service', () => {
    it('a cluster Service FQDN → destination.service', () => {
      const f = flowOf(decode());
      assert.equal(f.destination.service, 'cart.shop.svc.cluster.local');
      assert.equal(f.destination.host, undefined);
      // A cluster domain other than cluster.local, and the short `NAME.NS.svc`.
      assert.equal(flowOf(decode({ destination_service: 'cart.shop.svc.corp.internal' })).destination.service, 'cart.shop.svc.corp.internal');
      assert.equal(flowOf(decode({ destination_service: 'cart.shop.svc' })).destination.service, 'cart.shop.svc');
    });

    it('PassthroughCluster → neither a Service nor a host', () => {
      const f = flowOf(decode({ destination_service_name: 'PassthroughCluster', destination_service: 'api.example.com', destination_workload: 'unknown' }));
      assert.equal(f.destination.service, undefined);
      assert.equal(f.destination.host, undefined);
      assert.equal(f.denial, undefined);
    });

    it('a non-cluster destination_service with an unknown workload → an external host', () => {
      const f = flowOf(decode({ destination_service: 'api.example.com', destination_service_name: 'api.example.com', destination_workload: 'unknown', destination_workload_namespace: 'unknown' }));
      assert.equal(f.destination.host, 'api.example.com');
      assert.equal(f.destination.service, undefined);
      assert.equal(f.destination.workload, undefined);
    });

    it('a non-cluster destination_service of a known workload (a ServiceEntry for a mesh workload) → no host', () => {
      const f = flowOf(decode({ destination_service: 'cart.example.com', destination_service_name: 'cart.example.com' }));
      assert.equal(f.destination.host, undefined);
      assert.equal(f.destination.service, undefined);
      assert.deepEqual(f.destination.workload, { namespace: 'shop', name: 'cart' });
    });

    it('an unknown destination_service → neither', () => {
      for (const v of ['unknown', '', undefined]) {
        const f = flowOf(decode({ destination_service: v, destination_workload: 'unknown' }));
        assert.equal(f.destination.service, undefined, String(v));
        assert.equal(f.destination.host, undefined, String(v));
      }
    });
  });

  describe('values', () => {
    it('rejects NaN, negative and infinite counts', () => {
      for (const v of [NaN, -1, -0.5, Infinity, -Infinity]) {
        const d = decode({}, { value: v });
        assert.equal(d.kind, 'reject', String(v));
        assert.equal((d as { reason: string }).reason, 'metric-bad-value');
      }
    });

    it('skips a zero count (and -0)', () => {
      for (const v of [0, -0]) assert.deepEqual(decode({}, { value: v }), { kind: 'skip', reason: 'metric-zero' });
    });

    it('rounds a fractional increase to whole requests, at least one', () => {
      assert.equal(flowOf(decode({}, { value: 0.01 })).count, 1);
      assert.equal(flowOf(decode({}, { value: 0.5 })).count, 1);
      assert.equal(flowOf(decode({}, { value: 1.49 })).count, 1);
      assert.equal(flowOf(decode({}, { value: 2.5 })).count, 3);
      assert.equal(flowOf(decode({}, { value: 41.7 })).count, 42);
      assert.equal(flowOf(decode({}, { value: 1284 })).count, 1284);
    });

    it('skips every other metric as not traffic, whatever its labels and value', () => {
      for (const name of ['istio_request_duration_milliseconds_bucket', 'istio_tcp_sent_bytes_total', 'istio_tcp_connections_closed_total', 'envoy_cluster_upstream_rq', 'istio_requests']) {
        assert.deepEqual(decode({}, { name, value: NaN }), { kind: 'skip', reason: 'metric-not-traffic' }, name);
      }
    });

    // Regression (this test found it, since fixed): COUNTED_METRICS is an object literal read with `COUNTED_METRICS[sample.name]`, so a
    // metric named after an Object.prototype member (`toString`, `constructor`, `__proto__`,
    // `hasOwnProperty`, all legal Prometheus metric names) is found there and decoded as traffic:
    // metricFlow({ name: 'toString', labels: {reporter: 'destination', …}, value: 5 }) returns
    // kind 'ok' with count 5 instead of skip 'metric-not-traffic'.
    it('skips metrics named after Object.prototype members as not traffic', () => {
      for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
        assert.deepEqual(decode({}, { name, value: 5 }), { kind: 'skip', reason: 'metric-not-traffic' }, name);
      }
    });
  });

  describe('time', () => {
    const FROM = Date.parse('2026-11-24T00:00:00Z');
    const TO = Date.parse('2026-12-01T00:00:00Z');

    it('a window {from, to} → timestamp = from, until = to', () => {
      const f = flowOf(decode({}, {}, { from: FROM, to: TO }));
      assert.equal(f.timestamp, FROM);
      assert.equal(f.until, TO);
    });

    it("a sample's own timestamp alone → timestamp, no until", () => {
      const f = flowOf(decode({}, { timestamp: TO }));
      assert.equal(f.timestamp, TO);
      assert.equal(f.until, undefined);
    });

    it('a window answered at its end (a query answer carries the evaluation time) → until = to', () => {
      const f = flowOf(decode({}, { timestamp: TO }, { from: FROM, to: TO }));
      assert.equal(f.timestamp, FROM);
      assert.equal(f.until, TO);
    });

    it("a scrape's time alone ({to}) → timestamp, no until", () => {
      const f = flowOf(decode({}, {}, { to: TO }));
      assert.equal(f.timestamp, TO);
      assert.equal(f.until, undefined);
    });

    it('no time at all → neither', () => {
      const f = flowOf(decode());
      assert.equal(f.timestamp, undefined);
      assert.equal(f.until, undefined);
    });
  });

  describe('property: never throws', () => {
    const weird = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('', 'unknown', 'source', 'destination', 'waypoint', 'mutual_tls', 'none', 'grpc', 'http2', 'tcp', '403', '7', 'BlackHoleCluster', 'PassthroughCluster', 'a.b.svc.cluster.local', '\u0000\u001b[31m\n', 'x'.repeat(100_000)),
    );
    const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype', 'reporter', 'response_code'), fc.string(), fc.constantFrom(...Object.keys(BASE)));
    const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 0.49, 0.5, 2 ** 53 + 1));

    it('gives ok, skip or reject for arbitrary labels (prototype names, huge and control-character values) and numbers', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(key, weird), { maxLength: 20 }),
          fc.boolean(),
          fc.constantFrom('istio_requests_total', 'istio_tcp_connections_opened_total', 'istio_tcp_sent_bytes_total', 'other'),
          number,
          fc.option(number, { nil: undefined }),
          fc.record({ from: fc.option(number, { nil: undefined }), to: fc.option(number, { nil: undefined }) }, { requiredKeys: [] }),
          (pairs, withBase, name, value, timestamp, time) => {
            // Own properties named __proto__ etc., as a decoder that builds labels with defineProperty would hand them over.
            const labels: Record<string, string> = withBase ? { ...BASE } : {};
            for (const [k, v] of pairs) Object.defineProperty(labels, k, { value: v, enumerable: true, configurable: true, writable: true });
            const s: MetricSample = { name, labels, value, location: LOCATION, ...(timestamp === undefined ? {} : { timestamp }) };
            const t: SampleTime = {};
            if (time.from !== undefined) t.from = time.from;
            if (time.to !== undefined) t.to = time.to;
            const d = metricFlow(s, t);
            assert.ok(d.kind === 'ok' || d.kind === 'skip' || d.kind === 'reject');
            if (d.kind === 'ok') {
              const f = d.value;
              assert.ok(Number.isSafeInteger(f.count) || f.count === Math.round(value), `count ${f.count}`);
              assert.ok(f.count >= 1);
              assert.ok(f.reporter === 'client' || f.reporter === 'server');
              assert.ok(['http', 'grpc', 'tcp'].includes(f.protocol));
              assert.ok(['mutual', 'plaintext', 'unknown'].includes(f.mtls));
              assert.ok(Number.isInteger(f.responseCode) && f.responseCode >= 0 && f.responseCode < 1000);
            } else if (d.kind === 'reject') {
              assert.equal(typeof d.detail, 'string');
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
