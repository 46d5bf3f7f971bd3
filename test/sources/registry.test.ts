// Which source a file's records belong to (sources/registry.ts `recogniseFile`, and each
// source's `recognises`), through real files: plain, gzip'd, empty, and a pipe, which is never
// read twice and so is always the access logs'.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { accessLogSource } from '../../src/sources/access-log-source.js';
import { hubbleSource } from '../../src/sources/hubble-source.js';
import { istioMetricsSource } from '../../src/sources/istio-metrics-source.js';
import { DEFAULT_SOURCE, recogniseFile, sourceNamed, SOURCES } from '../../src/sources/registry.js';
import { SOURCE_NAMES } from '../../src/sources/source-names.js';
import { hubbleRecord } from '../support/hubble.js';
import { jaegerDocument, otlpRequest, zipkinSpans, type SpanSpec } from '../support/traces.js';
import { tracesSource } from '../../src/sources/traces-source.js';
import { CLIENT_JSON, CLIENT_LINE, SERVER_LINE } from '../support/sample-mesh.js';

const SIDECAR = [
  '# HELP istio_requests_total ',
  '# TYPE istio_requests_total counter',
  'istio_requests_total{reporter="destination",source_workload="frontend",source_workload_namespace="shop",destination_workload="cart",destination_workload_namespace="shop",destination_service="cart.shop.svc.cluster.local",request_protocol="http",response_code="200",connection_security_policy="mutual_tls"} 1284',
  'istio_requests_total{reporter="source",source_workload="frontend",destination_workload="payments",response_code="503",connection_security_policy="unknown"} 7',
  '# TYPE envoy_cluster_upstream_cx_total counter',
  'envoy_cluster_upstream_cx_total{cluster_name="xds-grpc"} 3',
  '',
].join('\n');

const BARE = [
  'istio_requests_total{reporter="destination",source_workload="frontend",destination_workload="cart",response_code="200"} 12',
  'istio_tcp_connections_opened_total{reporter="source",source_workload="frontend",destination_workload="db"} 4',
  'process_start_time_seconds 1.7333904e+09',
  '',
].join('\n');

const OPENMETRICS = [
  '# HELP istio_tcp_sent_bytes Bytes sent during a connection.',
  '# TYPE istio_tcp_sent_bytes counter',
  '# UNIT istio_tcp_sent_bytes bytes',
  'istio_tcp_sent_bytes_total{reporter="source",source_workload="web",destination_workload="api-v1"} 40960',
  '# TYPE istio_request_duration_milliseconds histogram',
  'istio_request_duration_milliseconds_bucket{le="+Inf",response_code="200",reporter="destination"} 12 # {trace_id="4bf92f3577b34da6"} 3.5 1733390400.25',
  'istio_request_duration_milliseconds_count{response_code="200",reporter="destination"} 12',
  '# EOF',
  '',
].join('\n');

const FEDERATION = [
  '# TYPE istio_requests_total untyped',
  'istio_requests_total{connection_security_policy="mutual_tls",destination_workload="cart",instance="10.61.3.25:15020",job="kubernetes-pods",reporter="destination",response_code="200",source_workload="frontend"} 1284 1733390400123',
  'istio_requests_total{connection_security_policy="none",destination_workload="cart",instance="10.61.3.25:15020",job="kubernetes-pods",reporter="destination",response_code="200",source_workload="unknown"} 3 1733390400123',
  '',
].join('\n');

const client = { ip: '10.1.1.1', port: 41234, namespace: 'shop', pod: 'web-1' };
const server = { ip: '10.2.2.2', port: 8080, namespace: 'shop', pod: 'cart-1' };
const hubbleLines = (shape: 'observe' | 'exporter' | 'legacy') =>
  [
    JSON.stringify(hubbleRecord({ shape, verdict: 'FORWARDED', source: client, destination: server, l4: 'TCP', flags: ['SYN'] })),
    JSON.stringify(hubbleRecord({ shape, verdict: 'DROPPED', dropReason: 'POLICY_DENIED', source: client, destination: server, l4: 'TCP', flags: ['SYN'] })),
    '',
  ].join('\n');

const CRI = (line: string, i: number) => `2026-03-14T09:15:02.${String(100 + i)}456789Z stdout F ${line}`;

describe('recognising which source a file holds (registry)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ztmap-registry-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function sourceOf(name: string, content: string | Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    return (await recogniseFile({ path })).name;
  }

  it('lists its sources in the order files are offered to them, access logs last and by default', () => {
    assert.deepEqual(
      SOURCES.map((s) => s.name),
      ['istio-metrics', 'hubble', 'traces', 'access-log'],
    );
    // What --help lists and --source accepts (cli/main.ts), kept apart so a start loads no decoder.
    assert.deepEqual(SOURCE_NAMES, SOURCES.map((s) => s.name));
    assert.equal(DEFAULT_SOURCE, accessLogSource);
    assert.equal(sourceNamed('hubble'), hubbleSource);
    assert.equal(sourceNamed('istio-metrics'), istioMetricsSource);
    assert.equal(sourceNamed('prometheus'), undefined);
  });

  describe('Istio metrics', () => {
    it("a sidecar's text exposition, with # HELP and # TYPE", async () => {
      assert.equal(await sourceOf('sidecar.prom', SIDECAR), 'istio-metrics');
    });

    it('an exposition with no # TYPE lines', async () => {
      assert.equal(await sourceOf('bare.prom', BARE), 'istio-metrics');
    });

    it("ztunnel's OpenMetrics, with # UNIT, exemplars and # EOF", async () => {
      assert.equal(await sourceOf('ztunnel.txt', OPENMETRICS), 'istio-metrics');
    });

    it('a federation dump, with timestamps', async () => {
      assert.equal(await sourceOf('federate', FEDERATION), 'istio-metrics');
    });

    it('an exposition with CRLF line ends and a byte order mark', async () => {
      assert.equal(await sourceOf('crlf.prom', '\uFEFF' + SIDECAR.replace(/\n/g, '\r\n')), 'istio-metrics');
    });

    it("a gzip'd exposition", async () => {
      assert.equal(await sourceOf('sidecar.prom.gz', gzipSync(SIDECAR)), 'istio-metrics');
      assert.equal(await sourceOf('federate.gz', gzipSync(FEDERATION)), 'istio-metrics');
    });

    it('an exposition whose first sample comes after blank lines', async () => {
      assert.equal(await sourceOf('blank-first.prom', '\n\n  \n' + BARE), 'istio-metrics');
    });

    // Regression (this test found it, since fixed): recogniseFile takes the file's first 8 lines and then drops the blank ones, not the
    // first 8 non-empty lines its comment (and Source.recognises) promise: an exposition after
    // 8 blank lines ('\n'.repeat(8) + 'istio_requests_total{reporter="source"} 5\n') gives
    // recognisers an empty list, and the file is read as access logs.
    it('an exposition after eight blank lines', async () => {
      assert.equal(await sourceOf('blank-8.prom', '\n'.repeat(8) + BARE), 'istio-metrics');
      assert.equal(await sourceOf('blank-8.json', '\n \n\n\n\n\n\n\n\n' + hubbleLines('observe')), 'hubble');
    });

    // Regression (this test found it, since fixed): istioMetricsSource.recognises accepts only `# HELP`/`# TYPE`/`# UNIT`/`# EOF` comments,
    // while text format 0.0.4 allows any other comment line ("Lines with a # as the first
    // non-whitespace character are comments"): a scrape saved with a note on top
    // ("# scraped from cart-7d4b5c-a1 at 2026-12-01T10:00Z") is read as access logs, and every
    // sample line is then rejected as an unreadable access-log line.
    it('an exposition with an ordinary comment line', async () => {
      assert.equal(await sourceOf('commented.prom', '# scraped from cart-7d4b5c-a1 at 2026-12-01T10:00Z\n' + SIDECAR), 'istio-metrics');
    });
  });

  describe('Hubble', () => {
    it('`hubble observe -o json` lines ({"flow":…})', async () => {
      assert.equal(await sourceOf('observe.json', hubbleLines('observe')), 'hubble');
    });

    it("the Hubble exporter's lines ({\"flow\":…,\"node_name\",\"time\"})", async () => {
      assert.equal(await sourceOf('export.log', hubbleLines('exporter')), 'hubble');
    });

    it('legacy bare flows (Hubble < 0.8)', async () => {
      assert.equal(await sourceOf('legacy.json', hubbleLines('legacy')), 'hubble');
    });

    it("gzip'd Hubble flows", async () => {
      assert.equal(await sourceOf('observe.json.gz', gzipSync(hubbleLines('observe'))), 'hubble');
    });

    // Regression (this test found it, since fixed): hubbleSource.recognises reads only the first line, though the registry hands it up
    // to eight and the decoder skips `lost_events` and `node_status` records (hubble-lost-events,
    // hubble-not-a-flow): a Hubble export that begins with
    // {"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"12"}} (the ring buffer
    // overflowed before the first flow) is read as access logs and every flow is rejected.
    it('Hubble flows after a lost_events or node_status record', async () => {
      const lost = JSON.stringify({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '12', cpu: { value: 1 } }, node_name: 'kind-worker', time: '2026-03-14T09:15:02.118Z' });
      const status = JSON.stringify({ node_status: { state_change: 'NODE_CONNECTED', node_names: ['kind-worker'] }, node_name: 'kind-worker', time: '2026-03-14T09:15:02.118Z' });
      assert.equal(await sourceOf('lost-first.json', lost + '\n' + hubbleLines('observe')), 'hubble');
      assert.equal(await sourceOf('status-first.json', status + '\n' + hubbleLines('observe')), 'hubble');
    });

    // Regression (this test found it, since fixed): a byte order mark before the first line (as Windows tools save a file) is stripped
    // by the metrics recogniser and decoder but not by Hubble's: '\uFEFF' + a {"flow":…} line
    // fails JSON.parse, the file is recognised as access logs, and every flow is rejected.
    it('Hubble flows after a byte order mark', async () => {
      assert.equal(await sourceOf('bom.json', '\uFEFF' + hubbleLines('observe')), 'hubble');
    });

    it('a JSON line that is no Hubble flow is not Hubble', async () => {
      assert.equal(await sourceOf('other.json', '{"flow":"not an object"}\n{"verdict":"FORWARDED"}\n'), 'access-log');
      assert.equal(hubbleSource.recognises(['{"verdict":"FORWARDED"}']), false, 'a bare verdict alone');
      assert.equal(hubbleSource.recognises(['[{"flow":{"verdict":"FORWARDED"}}]']), false, 'an array');
      assert.equal(hubbleSource.recognises(['{"flow":{"verdict":"FORWARDED"']), false, 'cut JSON');
      assert.equal(hubbleSource.recognises([]), false);
    });
  });

  describe('access logs', () => {
    it('Envoy text access-log lines', async () => {
      assert.equal(await sourceOf('text.log', `${CLIENT_LINE}\n${SERVER_LINE}\n`), 'access-log');
    });

    it('Envoy JSON access-log lines', async () => {
      assert.equal(await sourceOf('json.log', `${JSON.stringify(CLIENT_JSON)}\n`), 'access-log');
    });

    it('CRI-framed access logs', async () => {
      assert.equal(await sourceOf('0.log', [CLIENT_LINE, SERVER_LINE].map(CRI).join('\n') + '\n'), 'access-log');
      assert.equal(await sourceOf('1.log', CRI(JSON.stringify(CLIENT_JSON), 0) + '\n'), 'access-log');
    });

    it("gzip'd access logs", async () => {
      assert.equal(await sourceOf('text.log.gz', gzipSync(`${CLIENT_LINE}\n`)), 'access-log');
    });

    it('an empty file, and a file of blank lines', async () => {
      assert.equal(await sourceOf('empty.log', ''), 'access-log');
      assert.equal(await sourceOf('blank.log', '\n\n \t \r\n\n'), 'access-log');
      assert.equal(await sourceOf('empty.gz', gzipSync('')), 'access-log');
    });

    it('a file mixing an exposition with access-log lines is not metrics', async () => {
      assert.equal(await sourceOf('mixed.log', `${BARE}${CLIENT_LINE}\n`), 'access-log');
    });

    it('a file that cannot be read goes to the default source, which reports it', async () => {
      assert.equal((await recogniseFile({ path: join(dir, 'absent.prom') })).name, 'access-log');
    });

    it('a pipe is always access logs, and is not read', async () => {
      const path = join(dir, 'piped.prom');
      await writeFile(path, SIDECAR);
      assert.equal((await recogniseFile({ path, stream: true })).name, 'access-log');
      // Not read at all: a stream that would throw if touched.
      assert.equal((await recogniseFile({ path: join(dir, 'no-such-pipe'), stream: true })).name, 'access-log');
    });
  });

  describe('each source recognises its own first lines only', () => {
    const metricsLines = SIDECAR.split('\n').filter((l) => l !== '');
    const hubble = hubbleLines('observe').split('\n').filter((l) => l !== '');

    it('istio-metrics: exposition lines, and nothing else', () => {
      assert.equal(istioMetricsSource.recognises(metricsLines), true);
      assert.equal(istioMetricsSource.recognises([]), false);
      assert.equal(istioMetricsSource.recognises([CLIENT_LINE]), false);
      assert.equal(istioMetricsSource.recognises(hubble), false);
      assert.equal(istioMetricsSource.recognises([JSON.stringify(CLIENT_JSON)]), false);
      assert.equal(istioMetricsSource.recognises(['istio_requests_total{reporter="source"}']), false, 'no value');
      assert.equal(istioMetricsSource.recognises([...metricsLines, CLIENT_LINE]), false);
    });

    // Regression (this test found it, since fixed): EXPOSITION_LINE takes any non-blank token as a sample's value (`\S+`), not a number
    // (or NaN/±Inf), so a file whose first lines are short words is taken for an exposition:
    // recognises(['hello world']) and recognises(['Listening on :8080']) are true, and a log
    // file starting with such lines is then read line by line as Prometheus text, its access-log
    // lines all rejected.
    it('istio-metrics: a line whose value is no number is not an exposition line', async () => {
      assert.equal(istioMetricsSource.recognises(['hello world']), false);
      assert.equal(istioMetricsSource.recognises(['Listening on :8080']), false);
      // Eight short lines before the first access-log line: the head the registry reads.
      const head = ['Starting proxy', 'Listening on :15001', 'config loaded', 'ready'].join('\n');
      assert.equal(await sourceOf('app.log', `${head}\n${head}\n${CLIENT_LINE}\n`), 'access-log');
    });

    it('hubble: its records, and nothing else', () => {
      assert.equal(hubbleSource.recognises(hubble), true);
      assert.equal(hubbleSource.recognises(metricsLines), false);
      assert.equal(hubbleSource.recognises([JSON.stringify(CLIENT_JSON)]), false);
      assert.equal(hubbleSource.recognises([CLIENT_LINE]), false);
    });

    it('access-log: anything, as the last resort', () => {
      assert.equal(accessLogSource.recognises([]), true);
      assert.equal(accessLogSource.recognises(metricsLines), true);
    });
  });
});

describe('recognising trace files (registry)', () => {
  const spans: SpanSpec[] = [
    { traceId: '0000000000000001', spanId: '0000000000000002', name: 'GET', kind: 'client', startMicros: Date.UTC(2026, 10, 24) * 1000, service: 'web', attributes: { 'http.request.method': 'GET' } },
  ];
  const cases: [string, string][] = [
    ['OTLP JSON lines, as the Collector\'s file exporter writes them', JSON.stringify(otlpRequest([{ ...spans[0]!, traceId: spans[0]!.traceId.padStart(32, '0') }])) + '\n'],
    ['a pretty-printed OTLP request', JSON.stringify(otlpRequest([{ ...spans[0]!, traceId: spans[0]!.traceId.padStart(32, '0') }]), null, 2)],
    ['a Jaeger query API answer, pretty-printed', JSON.stringify(jaegerDocument(spans, 'api'), null, 2)],
    ['a Jaeger trace on one line', JSON.stringify(jaegerDocument(spans, 'trace'))],
    ['Zipkin v2 spans, pretty-printed', JSON.stringify(zipkinSpans(spans), null, 2)],
    ['Zipkin v2 spans on one line', JSON.stringify(zipkinSpans(spans))],
  ];
  for (const [what, text] of cases) {
    it(`${what} → traces`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ztmap-registry-traces-'));
      try {
        const file = join(dir, 'x.json');
        await writeFile(file, text);
        assert.equal((await recogniseFile({ path: file })).name, 'traces');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('an Envoy JSON access log and a Hubble capture are not traces', () => {
    assert.equal(tracesSource.recognises([JSON.stringify(CLIENT_JSON)]), false);
    assert.equal(tracesSource.recognises(hubbleLines('observe').split('\n').filter((l) => l !== '')), false);
  });
});
