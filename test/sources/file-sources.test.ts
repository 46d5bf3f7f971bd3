// The Istio metrics and Hubble sources reading real files (sources/istio-metrics-source.ts,
// sources/hubble-source.ts `readFiles`): every record line ends as a flow or as a counted skip
// or reject at its file and line (docs/architecture.md, "Untrusted input": nothing is dropped
// silently), through plain, OpenMetrics, over-long, malformed and truncated gzip input.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { Flow } from '../../src/flow/flow.js';
import { hubbleSource } from '../../src/sources/hubble-source.js';
import { istioMetricsSource } from '../../src/sources/istio-metrics-source.js';
import type { FileReadOptions, FlowSinks, ReadResult, Source } from '../../src/sources/source.js';
import { Tally } from '../../src/tally.js';
import { exposition, type SampleToWrite } from '../support/exposition.js';
import { hubbleRecord } from '../support/hubble.js';

interface Read {
  flows: Flow[];
  skips: Tally;
  rejects: Tally;
  result: ReadResult;
}

const OPTIONS: FileReadOptions = { format: 'auto', container: 'istio-proxy' };

async function readWith(source: Source, paths: string[], options: FileReadOptions = OPTIONS): Promise<Read> {
  const flows: Flow[] = [];
  const sinks: FlowSinks = { flow: (f) => flows.push(f), skips: new Tally(), rejects: new Tally() };
  const result = await source.readFiles(
    paths.map((path) => ({ path })),
    options,
    sinks,
  );
  return { flows, skips: sinks.skips, rejects: sinks.rejects, result };
}

/** reason → [count, locations of the first examples]. */
function tallied(t: Tally): Record<string, [number, string[]]> {
  return Object.fromEntries(t.entries().map(([reason, e]) => [reason, [e.count, e.examples.map((x) => x.location)]]));
}

const lineOf = (f: Flow): number | undefined => ('line' in f.evidence.location ? f.evidence.location.line : undefined);

describe('reading Istio metrics and Hubble files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ztmap-file-sources-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, content: string | Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  }

  describe('istio-metrics', () => {
    // A sidecar's /stats/prometheus, with a line of each outcome; the comment names the expected one.
    const SIDECAR = [
      /* 1 */ '# HELP istio_requests_total ',
      /* 2 */ '# TYPE istio_requests_total counter',
      /* 3 flow */ 'istio_requests_total{reporter="destination",source_workload="frontend",source_workload_namespace="shop",source_principal="spiffe://cluster.local/ns/shop/sa/frontend",destination_workload="cart",destination_workload_namespace="shop",destination_principal="spiffe://cluster.local/ns/shop/sa/cart",destination_service="cart.shop.svc.cluster.local",destination_service_name="cart",request_protocol="http",response_code="200",grpc_response_status="",response_flags="-",connection_security_policy="mutual_tls"} 1284',
      /* 4 flow */ 'istio_requests_total{reporter="source",source_workload="frontend",source_workload_namespace="shop",destination_workload="payments",destination_workload_namespace="shop",destination_service="payments.shop.svc.cluster.local",request_protocol="grpc",response_code="200",grpc_response_status="7",connection_security_policy="unknown"} 7',
      /* 5 skip metric-zero */ 'istio_requests_total{reporter="destination",source_workload="frontend",source_workload_namespace="shop",destination_workload="cart",destination_workload_namespace="shop",response_code="503"} 0',
      /* 6 reject metric-bad-reporter */ 'istio_requests_total{reporter="gateway",source_workload="frontend"} 3',
      /* 7 */ '# TYPE istio_tcp_connections_opened_total counter',
      /* 8 flow */ 'istio_tcp_connections_opened_total{reporter="source",source_workload="cart",source_workload_namespace="shop",destination_workload="db",destination_workload_namespace="shop",destination_service="db.shop.svc.cluster.local",request_protocol="tcp",connection_security_policy="unknown"} 4',
      /* 9 */ '# TYPE istio_request_bytes histogram',
      /* 10 skip metric-not-traffic */ 'istio_request_bytes_bucket{reporter="destination",le="+Inf"} 12',
      /* 11 skip metric-not-traffic */ 'envoy_cluster_upstream_cx_total{cluster_name="xds-grpc"} 3',
      /* 12 reject exposition-bad-value */ 'istio_requests_total{reporter="destination"} lots',
      /* 13 reject metric-bad-protocol */ 'istio_requests_total{reporter="destination",request_protocol="websocket"} 2',
      /* 14 reject metric-bad-value */ 'istio_requests_total{reporter="destination"} NaN',
      /* 15 */ '',
      /* 16 flow */ 'istio_requests_total{reporter="waypoint",source_workload="web",source_workload_namespace="front",destination_workload="api",destination_workload_namespace="back",request_protocol="http2",response_code="403",connection_security_policy="mutual_tls"} 2.6',
      '',
    ].join('\n');

    it('turns every sample line of a sidecar exposition into a flow or a counted skip or reject at its line', async () => {
      const path = await file('sidecar.prom', SIDECAR);
      const r = await readWith(istioMetricsSource, [path]);
      assert.deepEqual(r.flows.map(lineOf), [3, 4, 8, 16]);
      assert.deepEqual(tallied(r.skips), {
        'metric-not-traffic': [2, [`${path}:10`, `${path}:11`]],
        'metric-zero': [1, [`${path}:5`]],
      });
      assert.deepEqual(tallied(r.rejects), {
        'exposition-bad-value': [1, [`${path}:12`]],
        'metric-bad-protocol': [1, [`${path}:13`]],
        'metric-bad-reporter': [1, [`${path}:6`]],
        'metric-bad-value': [1, [`${path}:14`]],
      });
      assert.equal(r.result.files, 1);
      assert.equal(r.result.lines, 16);
      assert.equal(r.result.bytes, Buffer.byteLength(SIDECAR));
    });

    it('reads what each flow line says', async () => {
      const path = await file('sidecar-values.prom', SIDECAR);
      const [a, b, c, d] = (await readWith(istioMetricsSource, [path])).flows;
      assert.deepEqual(
        [a, b, c, d].map((f) => [f!.reporter, f!.protocol, f!.mtls, f!.count, f!.source.workload?.name, f!.destination.workload?.name, f!.destination.service, f!.denial?.kind]),
        [
          ['server', 'http', 'mutual', 1284, 'frontend', 'cart', 'cart.shop.svc.cluster.local', undefined],
          ['client', 'grpc', 'unknown', 7, 'frontend', 'payments', 'payments.shop.svc.cluster.local', 'refused'],
          ['client', 'tcp', 'unknown', 4, 'cart', 'db', 'db.shop.svc.cluster.local', undefined],
          ['server', 'http', 'mutual', 3, 'web', 'api', undefined, 'refused'],
        ],
      );
      for (const f of [a, b, c, d]) assert.equal(f!.evidence.decoder, 'istio-metrics');
      // A scrape gives totals at no known time.
      for (const f of [a, b, c, d]) assert.equal(f!.timestamp, undefined);
    });

    it("gives a federation dump's flows their samples' time", async () => {
      const path = await file('federate', exposition([{ name: 'istio_requests_total', labels: { reporter: 'destination', source_workload: 'a', source_workload_namespace: 'n' }, value: 3, timestamp: 1733390400123 }], 'text'));
      const [f] = (await readWith(istioMetricsSource, [path])).flows;
      assert.equal(f!.timestamp, 1733390400123);
    });

    it('rejects an OpenMetrics file without # EOF (cut short), after using its samples', async () => {
      const text = exposition([{ name: 'istio_requests_total', labels: { reporter: 'source', source_workload: 'web', source_workload_namespace: 'front' }, value: 9 }], 'openmetrics');
      const cut = text.replace('# EOF\n', '');
      const path = await file('ztunnel-cut.txt', '# UNIT istio_tcp_sent_bytes bytes\n' + cut);
      const r = await readWith(istioMetricsSource, [path]);
      assert.equal(r.flows.length, 1);
      assert.equal(r.flows[0]!.count, 9);
      assert.deepEqual(Object.keys(tallied(r.rejects)), ['exposition-missing-eof']);
      assert.deepEqual(tallied(r.rejects)['exposition-missing-eof'], [1, [`${path}:3`]]);
      // The whole file: no such reject.
      const whole = await file('ztunnel.txt', '# UNIT istio_tcp_sent_bytes bytes\n' + text);
      assert.deepEqual(tallied((await readWith(istioMetricsSource, [whole])).rejects), {});
    });

    it('rejects a line over maxLineLength by its number, and reads the lines around it', async () => {
      const long = `istio_requests_total{reporter="destination",source_workload="${'w'.repeat(300)}",source_workload_namespace="shop"} 5`;
      const short = 'istio_requests_total{reporter="destination",source_workload="web",source_workload_namespace="shop"} 5';
      const path = await file('long.prom', [short, long, short, ''].join('\n'));
      const r = await readWith(istioMetricsSource, [path], { ...OPTIONS, maxLineLength: 200 });
      assert.deepEqual(r.flows.map(lineOf), [1, 3]);
      const rejects = tallied(r.rejects);
      assert.deepEqual(Object.keys(rejects), ['line-too-long']);
      assert.deepEqual(rejects['line-too-long'], [1, [`${path}:2`]]);
      assert.match(r.rejects.entries()[0]![1].examples[0]!.detail, /the limit is 200/);
    });

    it("counts a truncated .gz and uses the lines before the break", async () => {
      const samples: SampleToWrite[] = [];
      for (let i = 0; i < 4000; i++) samples.push({ name: 'istio_requests_total', labels: { reporter: 'destination', source_workload: `w${i}`, source_workload_namespace: 'shop', destination_workload: `d${(i * 7919) % 4001}`, destination_workload_namespace: 'shop' }, value: i + 1 });
      const gz = gzipSync(exposition(samples, 'text'));
      const path = await file('scrape.prom.gz', gz.subarray(0, Math.floor(gz.length / 2)));
      const r = await readWith(istioMetricsSource, [path]);
      assert.ok(r.flows.length > 100, `${r.flows.length} flows from the first half`);
      assert.ok(r.flows.length < 4000);
      // The flows are the file's first samples, in order (line 1 is the # TYPE).
      assert.deepEqual(r.flows.map(lineOf), r.flows.map((_, i) => i + 2));
      assert.deepEqual(r.flows.map((f) => f.count), r.flows.map((_, i) => i + 1));
      const rejects = tallied(r.rejects);
      assert.equal(rejects['truncated-gzip']?.[0], 1, JSON.stringify(rejects));
      // Nothing else but the fragment of the line the break cut.
      assert.deepEqual(Object.keys(rejects).filter((k) => k !== 'truncated-gzip' && k !== 'truncated-line'), []);
      assert.deepEqual(tallied(r.skips), {});
    });

    it('reads several files, each with its own state and line numbers', async () => {
      const om = await file('a.om', '# UNIT x bytes\nistio_requests_total{reporter="source",source_workload="a",source_workload_namespace="n"} 2\n');
      const text = await file('b.prom', 'istio_requests_total{reporter="source",source_workload="b",source_workload_namespace="n"} 3 1733390400123\n');
      const r = await readWith(istioMetricsSource, [om, text]);
      assert.deepEqual(
        r.flows.map((f) => [f.evidence.location, f.count]),
        [
          [{ file: om, line: 2 }, 2],
          [{ file: text, line: 1 }, 3],
        ],
      );
      // The first is OpenMetrics without # EOF; the second's integer timestamp is not read against the first's format.
      assert.deepEqual(tallied(r.rejects), { 'exposition-missing-eof': [1, [`${om}:2`]] });
      assert.equal(r.result.files, 2);
    });

    describe('property: nothing is dropped silently', () => {
      const labelValue = fc.oneof(fc.constantFrom('unknown', '', 'shop', 'mutual_tls', 'none', 'grpc', 'http', 'tcp', 'websocket', '403', '7', 'BlackHoleCluster'), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }));
      const labelName = fc.oneof(
        fc.constantFrom('reporter', 'source_workload', 'source_workload_namespace', 'destination_workload', 'destination_workload_namespace', 'destination_service', 'request_protocol', 'response_code', 'grpc_response_status', 'connection_security_policy', '__proto__', 'constructor'),
        fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/),
      );
      const reporter = fc.constantFrom('source', 'destination', 'waypoint', 'unknown', '');
      const value = fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.double({ min: -10, max: 1e6, noNaN: false }), fc.constantFrom(0, NaN, Infinity, -Infinity, -1, 0.4));
      const sampleArb = fc.record({
        labels: fc.dictionary(labelName, labelValue, { maxKeys: 6 }),
        reporter: fc.option(reporter, { nil: undefined }),
        value,
        timestamp: fc.option(fc.integer({ min: 0, max: 2_000_000_000_000 }), { nil: undefined }),
      });

      it('flows + skips + rejects = the sample lines of any generated exposition of istio_requests_total', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(sampleArb, { maxLength: 40 }), fc.constantFrom('text', 'openmetrics'), fc.boolean(), async (specs, format, timed) => {
            const samples: SampleToWrite[] = specs.map((s) => {
              const labels: Record<string, string> = {};
              for (const [k, v] of Object.entries(s.labels)) Object.defineProperty(labels, k, { value: v, enumerable: true, configurable: true, writable: true });
              if (s.reporter !== undefined) labels['reporter'] = s.reporter;
              return { name: 'istio_requests_total', labels, value: s.value, ...(timed && s.timestamp !== undefined ? { timestamp: s.timestamp } : {}) };
            });
            const path = await file(`gen-${++run}.prom`, exposition(samples, format));
            const r = await readWith(istioMetricsSource, [path]);
            const accounted = r.flows.length + r.skips.total + r.rejects.total;
            assert.equal(accounted, samples.length, `flows ${r.flows.length}, skips ${JSON.stringify(tallied(r.skips))}, rejects ${JSON.stringify(tallied(r.rejects))}`);
            // Each flow is one sample, at its own line, with a count of at least 1.
            for (const f of r.flows) assert.ok(f.count >= 1 && (lineOf(f) ?? 0) >= 2);
            assert.equal(new Set(r.flows.map(lineOf)).size, r.flows.length);
          }),
          { numRuns: 60 },
        );
      });
    });
  });

  describe('hubble', () => {
    const client = { ip: '10.1.1.1', port: 41234, namespace: 'shop', pod: 'web-1', labels: ['k8s:app=web'] };
    const server = { ip: '10.2.2.2', port: 8080, namespace: 'shop', pod: 'cart-1', labels: ['k8s:app=cart'] };
    const line = (verdict = 'FORWARDED') => JSON.stringify(hubbleRecord({ verdict, ...(verdict === 'DROPPED' ? { dropReason: 'POLICY_DENIED' } : {}), source: client, destination: server, l4: 'TCP', flags: ['SYN'], time: '2026-03-14T09:15:02.118Z' }));

    it('rejects a malformed JSON line with its line number, and reads the others', async () => {
      const path = await file('observe.json', [line(), '{"flow":{"verdict":"FORWARDED",', line('DROPPED'), 'not json at all', ''].join('\n'));
      const r = await readWith(hubbleSource, [path]);
      assert.deepEqual(r.flows.map(lineOf), [1, 3]);
      assert.deepEqual(r.flows.map((f) => f.denial?.kind), [undefined, 'policy-drop']);
      assert.deepEqual(tallied(r.rejects), { 'malformed-hubble-json': [2, [`${path}:2`, `${path}:4`]] });
      assert.match(r.rejects.entries()[0]![1].examples[1]!.detail, /not json at all/);
    });

    // Regression (this test found it, since fixed): hubble-source JSON.parses the first line with its byte order mark, so a file saved
    // with one ('\uFEFF' + a {"flow":…} line) loses its first flow as malformed-hubble-json
    // ("Unexpected token '\uFEFF'"); the metrics decoder skips a BOM on line 1.
    it('reads the first line after a byte order mark', async () => {
      const path = await file('bom.json', '\uFEFF' + [line(), line(), ''].join('\n'));
      const r = await readWith(hubbleSource, [path]);
      assert.deepEqual(r.flows.map(lineOf), [1, 2]);
      assert.deepEqual(tallied(r.rejects), {});
    });

    it('rejects a Hubble line over maxLineLength by its number', async () => {
      const long = JSON.stringify({ ...hubbleRecord({ verdict: 'FORWARDED', source: client, destination: server, l4: 'TCP', flags: ['SYN'] }), padding: 'x'.repeat(5000) });
      const path = await file('long.json', [line(), long, line(), ''].join('\n'));
      const r = await readWith(hubbleSource, [path], { ...OPTIONS, maxLineLength: 4096 });
      assert.deepEqual(r.flows.map(lineOf), [1, 3]);
      assert.deepEqual(tallied(r.rejects), { 'line-too-long': [1, [`${path}:2`]] });
    });

    it('counts a truncated .gz of Hubble flows and uses the lines before the break', async () => {
      const lines: string[] = [];
      for (let i = 0; i < 3000; i++) lines.push(JSON.stringify(hubbleRecord({ verdict: 'FORWARDED', source: { ...client, port: 30000 + i }, destination: server, l4: 'TCP', flags: ['SYN'] })));
      const gz = gzipSync(lines.join('\n') + '\n');
      const path = await file('observe.json.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
      const r = await readWith(hubbleSource, [path]);
      assert.ok(r.flows.length > 100 && r.flows.length < 3000, `${r.flows.length} flows`);
      assert.deepEqual(r.flows.map(lineOf), r.flows.map((_, i) => i + 1));
      const rejects = tallied(r.rejects);
      assert.equal(rejects['truncated-gzip']?.[0], 1, JSON.stringify(rejects));
      assert.deepEqual(Object.keys(rejects).filter((k) => k !== 'truncated-gzip' && k !== 'truncated-line'), []);
    });
  });
});
