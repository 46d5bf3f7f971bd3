// The Prometheus API transport (src/sources/transports/prometheus-api.ts) against a real
// Prometheus (test/support/prometheus.ts: series backfilled with promtool, served on loopback).
// Here because it needs prometheus and promtool, which `npm test` does not: without them it
// says so in one line (bash scripts/prometheus.sh --install gets them), and fails under CI=true.
//
// The series are Istio's istio_requests_total as sidecars report them, counters over four
// hours: two pods of one workload (summed into one answer), a counter reset (a restarted
// pod), a workload name with a quote and a newline, a series that ended before the window,
// one that started inside it, and another metric the query must not see. Values are checked
// against Prometheus' own extrapolation of increase(), written out below (prometheusIncrease).

import assert from 'node:assert/strict';
import { InputError, type QueryLocation } from '../../src/errors.js';
import { compare } from '../../src/flow/compare.js';
import { queryInstant, type PrometheusClientOptions } from '../../src/sources/transports/prometheus-api.js';
import type { MetricSample } from '../../src/sources/decoders/metric-sample.js';
import { bearerProxy, startPrometheus, TEST_PASSWORD, TEST_USER, type BearerProxy, type PrometheusServer, type Series } from '../support/prometheus.js';
import { opensslNeed, prometheusNeed, suiteNeeding } from './needs.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Start of the series: a fixed date, so the answers do not depend on the day the test runs. */
const T0 = Date.UTC(2025, 0, 1);
/** The window's end, where the query is evaluated: the series go on an hour after it, unseen. */
const AT = T0 + 3 * HOUR;
const WINDOW = 2 * HOUR;
const GROUPING = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_service',
  'connection_security_policy',
  'request_protocol',
  'response_code',
  'grpc_response_status',
];
const QUERY = `sum by (${GROUPING.join(', ')}) (increase(istio_requests_total[${WINDOW / 1000}s]))`;
const HOSTILE_WORKLOAD = 'evil"name\nx';
const TOKEN = 'ztmap-test-bearer-token';

/** A sample every minute, half a minute off the window's edges, so that whether a range includes its start (Prometheus 2 does, 3 does not) does not matter. */
function points(from: number, to: number, value: (k: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0, t = from + 30_000; t < to; k++, t += MINUTE) out.push([t, value(k)]);
  return out;
}

/** Counts that grow by 1 to 5 a minute, from `start`. */
const growing = (start: number) => (k: number) => start + 3 * k + ((k * k) % 3);

const reviewsV1 = {
  reporter: 'destination',
  source_workload: 'productpage-v1',
  source_workload_namespace: 'bookinfo',
  source_principal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
  destination_workload: 'reviews-v1',
  destination_workload_namespace: 'bookinfo',
  destination_principal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
  destination_service: 'reviews.bookinfo.svc.cluster.local',
  connection_security_policy: 'mutual_tls',
  request_protocol: 'http',
  response_code: '200',
};

const SERIES: Series[] = [
  // Two pods of reviews-v1: one answer, their sum.
  { metric: 'istio_requests_total', labels: { ...reviewsV1, pod: 'reviews-v1-7d9c-a', request_method: 'GET' }, points: points(T0, T0 + 4 * HOUR, growing(10)) },
  { metric: 'istio_requests_total', labels: { ...reviewsV1, pod: 'reviews-v1-7d9c-b', request_method: 'GET' }, points: points(T0, T0 + 4 * HOUR, growing(500)) },
  // A pod restarted at 2 h: its counter starts again from 0.
  {
    metric: 'istio_requests_total',
    labels: { ...reviewsV1, response_code: '503', pod: 'reviews-v1-7d9c-a' },
    points: points(T0, T0 + 4 * HOUR, (k) => (k < 120 ? 40 + 2 * k : 2 * (k - 120))),
  },
  // A name no workload should have, as the client reported it; and a gRPC call.
  {
    metric: 'istio_requests_total',
    labels: { ...reviewsV1, reporter: 'source', source_workload: HOSTILE_WORKLOAD, request_protocol: 'grpc', response_code: '200', grpc_response_status: '0' },
    points: points(T0, T0 + 4 * HOUR, growing(0)),
  },
  // Ended 50 minutes in: nothing in the window.
  { metric: 'istio_requests_total', labels: { ...reviewsV1, destination_workload: 'reviews-v0' }, points: points(T0, T0 + 50 * MINUTE, growing(0)) },
  // Started 100 minutes in, inside the window, already at 1000: Prometheus extrapolates half a minute back.
  { metric: 'istio_requests_total', labels: { ...reviewsV1, destination_workload: 'reviews-v3' }, points: points(T0 + 100 * MINUTE, T0 + 4 * HOUR, growing(1000)) },
  // Another metric, same labels: not the query's.
  { metric: 'istio_tcp_connections_opened_total', labels: { ...reviewsV1, request_protocol: 'tcp' }, points: points(T0, T0 + 4 * HOUR, growing(0)) },
];

/**
 * increase(v[end-start]) of one counter as Prometheus computes it (promql/functions.go,
 * extrapolatedRate): the change over the samples in the range, counter resets added back,
 * extrapolated to the range's edges when the first and last samples are within 1.1 average
 * intervals of them (else by half an interval), and at the start never below zero. Prometheus
 * 2.x applies the zero bound before the 1.1 test and 3.x after; they agree on these series
 * (the one that starts inside the window starts far from zero).
 */
function prometheusIncrease(ps: readonly (readonly [number, number])[], start: number, end: number): number | undefined {
  const inRange = ps.filter(([t]) => t > start && t <= end);
  const first = inRange[0];
  const last = inRange[inRange.length - 1];
  if (first === undefined || last === undefined || inRange.length < 2) return undefined;
  let result = last[1] - first[1];
  for (let i = 1; i < inRange.length; i++) if (inRange[i]![1] < inRange[i - 1]![1]) result += inRange[i - 1]![1];
  const sampled = (last[0] - first[0]) / 1000;
  const average = sampled / (inRange.length - 1);
  let toStart = (first[0] - start) / 1000;
  let toEnd = (end - last[0]) / 1000;
  if (toStart >= average * 1.1) toStart = average / 2;
  if (result > 0 && first[1] >= 0) toStart = Math.min(toStart, sampled * (first[1] / result));
  if (toEnd >= average * 1.1) toEnd = average / 2;
  return result * ((sampled + toStart + toEnd) / sampled);
}

/** What `sum by (GROUPING) (increase(istio_requests_total[WINDOW]))` at `at` must answer: grouping labels (an empty value is no label) → value. */
function expectedAnswer(at: number): Map<string, { labels: Record<string, string>; value: number }> {
  const out = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const s of SERIES.filter((x) => x.metric === 'istio_requests_total')) {
    const v = prometheusIncrease(s.points, at - WINDOW, at);
    if (v === undefined) continue;
    const labels = Object.fromEntries(GROUPING.flatMap((k) => (s.labels[k] === undefined || s.labels[k] === '' ? [] : [[k, s.labels[k]] as const])));
    const key = JSON.stringify(Object.entries(labels).sort((a, b) => compare(a[0], b[0])));
    const group = out.get(key) ?? { labels, value: 0 };
    group.value += v;
    out.set(key, group);
  }
  return out;
}

/** Where a sample came from: always a query here. */
function where(s: MetricSample): QueryLocation {
  assert.ok('url' in s.location, 'a query location');
  return s.location;
}

const keyOf = (s: MetricSample) => JSON.stringify(Object.entries(s.labels).sort((a, b) => compare(a[0], b[0])));

/** The InputError `p` rejects with; its message names no credential. */
async function inputError(p: Promise<unknown>, url: string): Promise<InputError> {
  const err = await p.then(
    () => assert.fail('expected an InputError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
  assert.ok(err.message.includes(`${url}/api/v1/query`), `the message names the URL: ${err.message}`);
  assert.ok(!err.message.includes('\n    at '), 'no stack trace in the message');
  for (const secret of [TEST_PASSWORD, TOKEN, 'wrong-password', 'wrong-token']) assert.ok(!err.message.includes(secret), 'no credential in the message');
  return err;
}

suiteNeeding('Prometheus HTTP API transport against a real Prometheus (issue 13)', [prometheusNeed('the Prometheus API suite'), opensslNeed('the Prometheus API suite')], function () {
  this.timeout(60_000);
  let plain: PrometheusServer;
  let secured: PrometheusServer;
  let mutual: PrometheusServer;
  let proxy: BearerProxy;
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    // Started one after another so that each stop is registered before the next can fail.
    plain = await startPrometheus({ series: SERIES });
    stops.push(plain.stop);
    secured = await startPrometheus({ series: SERIES, basicAuth: true, tls: {} });
    stops.push(secured.stop);
    mutual = await startPrometheus({ series: SERIES, tls: { clientCertificate: true } });
    stops.push(mutual.stop);
    proxy = await bearerProxy(plain.url, TOKEN);
    stops.push(proxy.stop);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  describe('the answer', () => {
    it('is exactly the expected series, with the values of Prometheus\' increase()', async () => {
      const answer = await queryInstant({ url: plain.url }, QUERY, AT);
      const expected = expectedAnswer(AT);
      assert.equal(expected.size, 4, 'the test data gives four groups: reviews-v1 200 and 503, the gRPC one, reviews-v3');
      assert.deepEqual(answer.warnings, []);
      assert.deepEqual(answer.samples.map(keyOf).sort(compare), [...expected.keys()].sort(compare));
      for (const s of answer.samples) {
        const e = expected.get(keyOf(s))!;
        assert.ok(Math.abs(s.value - e.value) <= 1e-9 * e.value, `${where(s).item ?? ''}: ${s.value}, expected ${e.value}`);
        assert.equal(s.name, '', 'sum by drops the metric name');
        assert.equal(s.timestamp, AT);
        assert.deepEqual(s.location, { url: `${plain.url}/api/v1/query`, query: QUERY, item: where(s).item });
      }
    });

    it('counts a counter reset back in, and extrapolates a series that starts inside the window', async () => {
      // Worked by hand, to check prometheusIncrease too. The window holds minutes 60.5 to 179.5
      // (120 samples, 7140 s apart end to end, 30 s from each edge: extrapolated to 7200 s).
      // The restarted pod: 160 at 60.5, 278 at 119.5, 0 at 120.5, 118 at 179.5: 118 - 160 + 278.
      const { samples } = await queryInstant({ url: plain.url }, QUERY, AT);
      const reset = samples.find((s) => s.labels['response_code'] === '503')!;
      assert.ok(Math.abs(reset.value - (236 * 7200) / 7140) < 1e-9, String(reset.value));
      // reviews-v3: 1000 at 100.5 to 1238 at 179.5 (80 samples, 4740 s); its start is 40.5 min
      // from the window's, so Prometheus extrapolates back half an interval only: 30 s each side.
      const started = samples.find((s) => s.labels['destination_workload'] === 'reviews-v3')!;
      assert.ok(Math.abs(started.value - (238 * 4800) / 4740) < 1e-9, String(started.value));
    });

    it('keeps a label value with a quote and a newline as it is, and escapes it in the location', async () => {
      const { samples } = await queryInstant({ url: plain.url }, QUERY, AT);
      const hostile = samples.filter((s) => s.labels['source_workload'] === HOSTILE_WORKLOAD);
      assert.equal(hostile.length, 1);
      assert.ok(where(hostile[0]!).item?.includes('source_workload="evil\\"name\\nx"'), where(hostile[0]!).item);
      assert.ok(!where(hostile[0]!).item?.includes('\n'));
      assert.equal(hostile[0]!.labels['grpc_response_status'], '0');
    });

    it('keeps the metric name when the query does', async () => {
      const { samples } = await queryInstant({ url: plain.url }, 'istio_tcp_connections_opened_total', AT);
      assert.equal(samples.length, 1);
      assert.equal(samples[0]!.name, 'istio_tcp_connections_opened_total');
      assert.equal(samples[0]!.labels['__name__'], undefined);
      assert.ok(where(samples[0]!).item?.startsWith('istio_tcp_connections_opened_total{'));
    });

    it('is empty, not an error, for a window with no data', async () => {
      assert.deepEqual((await queryInstant({ url: plain.url }, QUERY, T0 - 10 * HOUR)).samples, []);
      assert.deepEqual((await queryInstant({ url: plain.url }, QUERY, T0 + 10 * HOUR)).samples, []);
    });

    it('reads a base URL with a trailing slash as without', async () => {
      const { samples } = await queryInstant({ url: `${plain.url}/` }, QUERY, AT);
      assert.equal(samples.length, 4);
      assert.equal(where(samples[0]!).url, `${plain.url}/api/v1/query`);
    });
  });

  describe('errors', () => {
    it('a bad query: an InputError with Prometheus\' errorType, not retriable', async () => {
      const err = await inputError(queryInstant({ url: plain.url }, 'sum by (', AT), plain.url);
      assert.equal(err.retriable, false);
      assert.ok(err.message.includes('bad_data'), err.message);
      assert.ok(err.message.includes(JSON.stringify('sum by (')), 'the message names the query');
    });

    it('a path that is not the API (no route prefix there): an InputError', async () => {
      const err = await inputError(queryInstant({ url: `${plain.url}/prometheus` }, QUERY, AT), `${plain.url}/prometheus`);
      assert.equal(err.retriable, false);
    });

    it('nothing listening: a retriable InputError', async () => {
      const url = plain.url.replace(/:\d+$/, ':1');
      const err = await inputError(queryInstant({ url }, QUERY, AT), url);
      assert.equal(err.retriable, true);
    });
  });

  describe('basic auth and TLS', () => {
    const auth = { username: TEST_USER, password: TEST_PASSWORD };

    it('answers with the right password and the CA', async () => {
      const { samples } = await queryInstant({ url: secured.url, basicAuth: auth, caFile: secured.caFile! }, QUERY, AT);
      assert.equal(samples.length, 4);
      assert.equal(where(samples[0]!).url, `${secured.url}/api/v1/query`);
    });

    it('takes a user and password written in the URL, and names the URL without them', async () => {
      const url = secured.url.replace('https://', `https://${TEST_USER}:${encodeURIComponent(TEST_PASSWORD)}@`);
      const { samples } = await queryInstant({ url, caFile: secured.caFile! }, QUERY, AT);
      assert.equal(samples.length, 4);
      assert.ok(!JSON.stringify(samples[0]!.location).includes(TEST_PASSWORD));
      const wrong = url.replace(encodeURIComponent(TEST_PASSWORD), 'wrong-password');
      await inputError(queryInstant({ url: wrong, caFile: secured.caFile! }, QUERY, AT), secured.url);
    });

    it('a wrong password or none: 401, an InputError naming the URL', async () => {
      const wrong = await inputError(queryInstant({ url: secured.url, basicAuth: { username: TEST_USER, password: 'wrong-password' }, caFile: secured.caFile! }, QUERY, AT), secured.url);
      assert.equal(wrong.retriable, false);
      assert.ok(wrong.message.includes('401'));
      await inputError(queryInstant({ url: secured.url, caFile: secured.caFile! }, QUERY, AT), secured.url);
    });

    it('without the CA: a TLS InputError, not retriable; with insecureSkipVerify: an answer', async () => {
      const err = await inputError(queryInstant({ url: secured.url, basicAuth: auth }, QUERY, AT), secured.url);
      assert.equal(err.retriable, false);
      assert.ok(err.cause !== undefined);
      const { samples } = await queryInstant({ url: secured.url, basicAuth: auth, insecureSkipVerify: true }, QUERY, AT);
      assert.equal(samples.length, 4);
    });

    it('a host name the certificate does not name: a TLS InputError', async () => {
      const url = secured.url.replace('127.0.0.1', 'localhost');
      const err = await inputError(queryInstant({ url, basicAuth: auth, caFile: secured.caFile! }, QUERY, AT), url);
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('http:// to a server that speaks https: an InputError', async () => {
      const url = secured.url.replace('https://', 'http://');
      await inputError(queryInstant({ url, basicAuth: auth }, QUERY, AT), url);
    });

    it('a server that asks for a client certificate: answers with one, an InputError without', async () => {
      const tls: PrometheusClientOptions = { url: mutual.url, caFile: mutual.caFile!, certFile: mutual.clientCertFile!, keyFile: mutual.clientKeyFile! };
      assert.equal((await queryInstant(tls, QUERY, AT)).samples.length, 4);
      await inputError(queryInstant({ url: mutual.url, caFile: mutual.caFile! }, QUERY, AT), mutual.url);
    });
  });

  describe('a bearer token (through an auth proxy)', () => {
    it('answers as Prometheus does behind it', async () => {
      const direct = await queryInstant({ url: plain.url }, QUERY, AT);
      const through = await queryInstant({ url: proxy.url, bearerToken: TOKEN }, QUERY, AT);
      assert.deepEqual(
        through.samples.map((s) => [keyOf(s), s.value]).sort((a, b) => compare(String(a[0]), String(b[0]))),
        direct.samples.map((s) => [keyOf(s), s.value]).sort((a, b) => compare(String(a[0]), String(b[0]))),
      );
      assert.equal(where(through.samples[0]!).url, `${proxy.url}/api/v1/query`);
    });

    it('a wrong token or none: 401, an InputError naming the URL', async () => {
      const err = await inputError(queryInstant({ url: proxy.url, bearerToken: 'wrong-token' }, QUERY, AT), proxy.url);
      assert.equal(err.retriable, false);
      await inputError(queryInstant({ url: proxy.url }, QUERY, AT), proxy.url);
    });
  });
});
