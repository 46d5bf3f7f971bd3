import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createExpositionState,
  decodeExpositionLine,
  endOfExposition,
  familyType,
  MAX_FAMILIES,
  type ExpositionFormat,
  type ExpositionState,
} from '../../src/sources/decoders/prometheus-text.js';
import { LineSplitter } from '../../src/sources/framing/lines.js';
import { exposition, sampleLine, type Format, type SampleToWrite } from '../support/exposition.js';

// Lines in the shapes of a sidecar's /stats/prometheus (text 0.0.4), ztunnel's /metrics
// (OpenMetrics) and a federation dump, with this project's own values; the published samples
// are in ../shared/reference and are not copied here.

const SIDECAR = [
  '# HELP istio_requests_total ',
  '# TYPE istio_requests_total counter',
  'istio_requests_total{reporter="destination",source_workload="frontend",source_canonical_service="frontend",source_canonical_revision="latest",' +
    'source_workload_namespace="shop",source_principal="spiffe://cluster.local/ns/shop/sa/frontend",source_app="frontend",source_version="unknown",' +
    'source_cluster="Kubernetes",destination_workload="cart",destination_workload_namespace="shop",destination_principal="spiffe://cluster.local/ns/shop/sa/cart",' +
    'destination_app="cart",destination_version="",destination_service="cart.shop.svc.cluster.local",destination_canonical_service="cart",' +
    'destination_canonical_revision="latest",destination_service_name="cart",destination_service_namespace="shop",destination_cluster="Kubernetes",' +
    'request_protocol="http",response_code="200",grpc_response_status="",response_flags="-",connection_security_policy="mutual_tls"} 1284',
  'istio_requests_total{reporter="source",source_workload="frontend",destination_workload="payments",destination_version="v2",response_code="503",response_flags="UF",connection_security_policy="unknown"} 7',
  '',
].join('\n');

const ZTUNNEL = [
  '# HELP istio_tcp_sent_bytes Bytes sent during a connection.',
  '# TYPE istio_tcp_sent_bytes counter',
  '# UNIT istio_tcp_sent_bytes bytes',
  'istio_tcp_sent_bytes_total{reporter="source",source_workload="web",source_principal="spiffe://cluster1/ns/front/sa/web",destination_service="api.back.svc.cluster.local",destination_workload="api-v1",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls"} 40960',
  '# TYPE istio_request_duration_milliseconds histogram',
  'istio_request_duration_milliseconds_bucket{le="0.5",response_code="200",reporter="destination",source_workload="web",destination_workload="api-v1"} 0',
  'istio_request_duration_milliseconds_bucket{le="+Inf",response_code="200",reporter="destination",source_workload="web",destination_workload="api-v1"} 12 # {trace_id="4bf92f3577b34da6"} 3.5 1733390400.25',
  'istio_request_duration_milliseconds_sum{response_code="200",reporter="destination",source_workload="web",destination_workload="api-v1"} 31.5',
  'istio_request_duration_milliseconds_count{response_code="200",reporter="destination",source_workload="web",destination_workload="api-v1"} 12',
  '# EOF',
  '',
].join('\n');

const FEDERATION = [
  '# TYPE istio_requests_total untyped',
  'istio_requests_total{connection_security_policy="mutual_tls",destination_app="cart",destination_workload="cart",instance="10.61.3.25:15020",job="kubernetes-pods",reporter="destination",response_code="200",source_workload="frontend"} 1284 1733390400123',
  'istio_requests_total{connection_security_policy="none",destination_app="cart",destination_workload="cart",instance="10.61.3.25:15020",job="kubernetes-pods",reporter="destination",response_code="200",source_workload="unknown"} 3 1733390400123',
  '',
].join('\n');

interface Outcome {
  line: number | 'end';
  reason: string;
  detail: string;
}

/** A whole file through the line framing (cut into chunks at `cuts`), as a reader would decode it. */
function decodeFile(text: string, format: ExpositionFormat | 'auto' = 'auto', cuts: number[] = []) {
  const state = createExpositionState(format);
  const samples: { name: string; labels: Record<string, string>; value: number; timestamp?: number; line?: number }[] = [];
  const rejects: Outcome[] = [];
  const splitter = new LineSplitter({
    line(t, n) {
      const d = decodeExpositionLine(t, 'metrics.prom', n, state);
      if (d === undefined) return;
      if (d.kind === 'ok') {
        const { name, labels, value, timestamp, location } = d.value;
        samples.push({ name, labels: { ...labels }, value, ...(timestamp === undefined ? {} : { timestamp }), line: 'line' in location ? location.line : undefined });
      } else rejects.push({ line: n, reason: d.reason, detail: d.kind === 'reject' ? d.detail : '' });
    },
    oversize: (n) => rejects.push({ line: n, reason: 'oversize', detail: '' }),
  });
  const buf = Buffer.from(text);
  let prev = 0;
  for (const c of [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)) {
    splitter.push(buf.subarray(prev, c));
    prev = c;
  }
  splitter.push(buf.subarray(prev));
  splitter.end();
  const end = endOfExposition(state);
  if (end !== undefined) rejects.push({ line: 'end', reason: end.kind === 'reject' ? end.reason : end.kind, detail: end.kind === 'reject' ? end.detail : '' });
  return { samples, rejects, state };
}

/** One line with a fresh state (or the one given). */
function decode(line: string, format: ExpositionFormat | 'auto' = 'auto', state: ExpositionState = createExpositionState(format)) {
  return decodeExpositionLine(line, 'metrics.prom', 1, state);
}

function okValue(line: string, format: ExpositionFormat | 'auto' = 'auto') {
  const d = decode(line, format);
  assert.ok(d !== undefined && d.kind === 'ok', `${line}: ${JSON.stringify(d)}`);
  return { ...d.value, labels: { ...d.value.labels } };
}

function reasonOf(line: string, format: ExpositionFormat | 'auto' = 'auto', state?: ExpositionState): string {
  const d = decode(line, format, state);
  assert.ok(d !== undefined && d.kind === 'reject', `${JSON.stringify(line)} should be rejected: ${JSON.stringify(d)}`);
  assert.ok(d.detail.length > 0);
  return d.reason;
}

describe('prometheus-text decoder', () => {
  it('reads a sidecar exposition: every label, an empty destination_version, integer values', () => {
    const { samples, rejects, state } = decodeFile(SIDECAR);
    assert.deepEqual(rejects, []);
    assert.equal(samples.length, 2);
    const [first, second] = samples;
    assert.equal(first!.name, 'istio_requests_total');
    assert.equal(Object.keys(first!.labels).length, 25);
    assert.equal(first!.labels.destination_version, '');
    assert.equal(first!.labels.grpc_response_status, '');
    assert.equal(first!.labels.source_principal, 'spiffe://cluster.local/ns/shop/sa/frontend');
    assert.equal(first!.value, 1284);
    assert.equal(first!.timestamp, undefined);
    assert.equal(first!.line, 3);
    assert.deepEqual(second!.labels, {
      reporter: 'source',
      source_workload: 'frontend',
      destination_workload: 'payments',
      destination_version: 'v2',
      response_code: '503',
      response_flags: 'UF',
      connection_security_policy: 'unknown',
    });
    assert.equal(familyType(state, 'istio_requests_total'), 'counter');
    assert.equal(state.format, undefined, 'nothing in a sidecar exposition says which format it is, and nothing needs to');
    assert.equal(endOfExposition(state), undefined);
  });

  it('reads a ztunnel OpenMetrics exposition: _total samples of a counter family, # UNIT, an exemplar, # EOF', () => {
    const { samples, rejects, state } = decodeFile(ZTUNNEL);
    assert.deepEqual(rejects, []);
    assert.equal(state.format, 'openmetrics');
    assert.equal(state.eofLine, 10);
    assert.deepEqual(
      samples.map((s) => [s.name, s.value]),
      [
        ['istio_tcp_sent_bytes_total', 40960],
        ['istio_request_duration_milliseconds_bucket', 0],
        ['istio_request_duration_milliseconds_bucket', 12],
        ['istio_request_duration_milliseconds_sum', 31.5],
        ['istio_request_duration_milliseconds_count', 12],
      ],
    );
    assert.equal(samples[2]!.labels.le, '+Inf');
    assert.equal(samples[2]!.timestamp, undefined, 'the exemplar\'s timestamp is not the sample\'s');
    assert.equal(state.malformedExemplars, 0);
    assert.equal(familyType(state, 'istio_tcp_sent_bytes_total'), 'counter');
    assert.equal(familyType(state, 'istio_request_duration_milliseconds_bucket'), 'histogram');
    assert.equal(familyType(state, 'istio_request_duration_milliseconds_count'), 'histogram');
    assert.equal(familyType(state, 'istio_request_duration_milliseconds_total'), undefined);
    assert.equal(familyType(state, 'unknown_metric'), undefined);
  });

  it('reads a federation dump: a millisecond timestamp after each value', () => {
    const { samples, rejects, state } = decodeFile(FEDERATION);
    assert.deepEqual(rejects, []);
    assert.equal(state.format, 'text');
    assert.deepEqual(
      samples.map((s) => [s.labels.source_workload, s.value, s.timestamp]),
      [
        ['frontend', 1284, 1733390400123],
        ['unknown', 3, 1733390400123],
      ],
    );
    assert.equal(familyType(state, 'istio_requests_total'), 'untyped');
  });

  it('reads CRLF line endings, with or without the framing', () => {
    const { samples, rejects } = decodeFile(FEDERATION.replace(/\n/g, '\r\n'));
    assert.deepEqual(rejects, []);
    assert.equal(samples[0]!.timestamp, 1733390400123);
    assert.equal(okValue('up{job="a"} 1 1733390400123\r').timestamp, 1733390400123);
    assert.equal(okValue('up 1\r').value, 1);
    assert.equal(decode('\r'), undefined);
  });

  it('reads a byte order mark before the first line only', () => {
    assert.deepEqual(decodeFile('\ufeff# TYPE m gauge\nm 1\n').rejects, []);
    assert.equal(okValue('\ufeffm 1').name, 'm');
    assert.equal(decodeExpositionLine('\ufeffm 1', 'f', 2, createExpositionState())?.kind, 'reject');
  });

  it('unescapes \\\\, \\" and \\n, and keeps everything else in a value as data: UTF-8, control characters, empty values', () => {
    const s = okValue(String.raw`m{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\"",empty="",utf="ünïcödé ✓ 🚀",ctl="` + '\u0001\u001b[31m\t' + String.raw`"} 1`);
    assert.deepEqual(s.labels, {
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
      empty: '',
      utf: 'ünïcödé ✓ 🚀',
      ctl: '\u0001\u001b[31m\t',
    });
    // A value may hold "}", "," and "=": only the quotes end it.
    assert.deepEqual(okValue('m{a="x},y=\\"z",b="#"} 2').labels, { a: 'x},y="z', b: '#' });
  });

  it('keeps __proto__ and constructor as ordinary label names', () => {
    const d = decode('m{__proto__="p",constructor="c",toString="t"} 1');
    assert.ok(d?.kind === 'ok');
    assert.equal(Object.getPrototypeOf(d.value.labels), null);
    assert.deepEqual(Object.entries(d.value.labels), [
      ['__proto__', 'p'],
      ['constructor', 'c'],
      ['toString', 't'],
    ]);
  });

  it('accepts what the text format allows between tokens: blanks and tabs, a trailing comma, empty braces', () => {
    for (const line of ['m{a="1",b="2"} 3', '  m { a = "1" , b="2" , } \t 3 ', 'm\t{a="1",b="2",}\t3', 'm{a="1",b="2"}3']) {
      const s = okValue(line);
      assert.deepEqual([s.name, s.labels, s.value], ['m', { a: '1', b: '2' }, 3], line);
    }
    assert.deepEqual(okValue('m{} 3').labels, {});
    assert.deepEqual(okValue('m 3').labels, {});
    assert.equal(okValue('job:rate5m:sum 3').name, 'job:rate5m:sum');
  });

  it('reads quoted UTF-8 metric and label names', () => {
    const s = okValue('{"my.dotted.metric", "error.message"="Not Found", code="404"} 1');
    assert.equal(s.name, 'my.dotted.metric');
    assert.deepEqual(s.labels, { 'error.message': 'Not Found', code: '404' });
    assert.equal(okValue('{"only.a.name"} 2').name, 'only.a.name');
    assert.deepEqual(okValue('m{"ä ö"="1"} 2').labels, { 'ä ö': '1' });
  });

  it('reads values as Go ParseFloat does (expfmt: no hex, no underscores), NaN and ±Inf in any case', () => {
    const cases: [string, number][] = [
      ['1.', 1],
      ['.5', 0.5],
      ['1e3', 1000],
      ['1E+03', 1000],
      ['1.458255915e9', 1458255915],
      ['+5', 5],
      ['-0', -0],
      ['007', 7],
      ['1e-400', 0],
      ['NaN', NaN],
      ['nan', NaN],
      ['+Inf', Infinity],
      ['-Inf', -Infinity],
      ['inf', Infinity],
      ['-infinity', -Infinity],
    ];
    for (const [text, value] of cases) assert.ok(Object.is(okValue(`m ${text}`).value, value), text);
  });

  it('reads timestamps as text 0.0.4 milliseconds or OpenMetrics seconds', () => {
    assert.equal(okValue('m 1 -3982045', 'text').timestamp, -3982045);
    assert.equal(okValue('m 1 +1733390400123', 'text').timestamp, 1733390400123);
    assert.equal(okValue('m 1 1733390400.5', 'openmetrics').timestamp, 1733390400500);
    assert.equal(okValue('m 1 1733390400', 'openmetrics').timestamp, 1733390400000);
    assert.equal(okValue('m 1 1.7333904e9', 'openmetrics').timestamp, 1733390400000);
    assert.equal(okValue('m 1 1.733390400123E+09', 'openmetrics').timestamp, 1733390400123);
    assert.equal(okValue('m 1 -1.5', 'openmetrics').timestamp, -1500);
    assert.equal(okValue('m 1 1733390400.000001', 'openmetrics').timestamp, 1733390400000.001);
  });

  it('learns the format from the file when it is not given', () => {
    // A decimal timestamp is OpenMetrics; an integer one, seen first, is text 0.0.4.
    let state = createExpositionState();
    assert.equal(decode('m 1 1733390400.5', 'auto', state)?.kind, 'ok');
    assert.equal(state.format, 'openmetrics');
    state = createExpositionState();
    assert.equal(decode('m 1 1733390400123', 'auto', state)?.kind, 'ok');
    assert.equal(state.format, 'text');
    // A counter family `x` whose sample is `x_total` is OpenMetrics: its integer timestamp is seconds.
    const { samples, state: s2 } = decodeFile('# TYPE requests counter\nrequests_total 5 1733390400\n# EOF\n');
    assert.equal(s2.format, 'openmetrics');
    assert.equal(samples[0]!.timestamp, 1733390400000);
    // A garbage timestamp says nothing about the format.
    state = createExpositionState();
    assert.equal(reasonOf('m 1 soon', 'auto', state), 'exposition-bad-timestamp');
    assert.equal(state.format, undefined);
    // An OpenMetrics-only type.
    state = createExpositionState();
    assert.equal(decode('# TYPE m unknown', 'auto', state), undefined);
    assert.equal(state.format, 'openmetrics');
  });

  it('ignores exemplars, and counts a malformed one without losing its sample', () => {
    const state = createExpositionState('openmetrics');
    for (const line of ['a_total 1 # {trace_id="x"} 1', 'a_total 1 1733390400.5 # {trace_id="x",span_id="y"} 0.5 1733390400.4', 'a_total 1 # {} 1']) {
      const d = decodeExpositionLine(line, 'f', 1, state);
      assert.ok(d?.kind === 'ok', line);
      assert.equal(d.value.value, 1);
    }
    assert.equal(state.malformedExemplars, 0);
    const bad = ['a_total 2 # {trace_id="x} 1', 'a_total 2 # trace_id 1', 'a_total 2 #', 'a_total 2 # {a="1"}', 'a_total 2 # {a="1"} x', 'a_total 2 # {a="1"} 1 2 3', 'a_total 2 # {a="\\q"} 1'];
    bad.forEach((line, k) => {
      const d = decodeExpositionLine(line, 'f', 10 + k, state);
      assert.ok(d?.kind === 'ok', line);
      assert.equal(d.value.value, 2);
    });
    assert.equal(state.malformedExemplars, bad.length);
    assert.equal(state.firstMalformedExemplarLine, 10);
  });

  it('ignores comments, HELP (any text, even unknown escapes), blank lines', () => {
    const state = createExpositionState();
    for (const line of ['', '   ', '\t', '# a comment', '#', '# HELP m a \\q help', '# HELP', '# TYPE', '# TYPE m', '#TYPE m counter', '# EOF trailing words']) {
      assert.equal(decodeExpositionLine(line, 'f', 1, state), undefined, line);
    }
    assert.equal(state.format, undefined);
    assert.equal(state.eofLine, undefined);
  });

  it('rejects, with a reason, each malformed thing', () => {
    const cases: [string, string, (ExpositionFormat | 'auto')?][] = [
      ['1abc 3', 'exposition-bad-name'],
      ['foo-bar 3', 'exposition-bad-name'],
      ['foo.bar 3', 'exposition-bad-name'],
      ['{} 3', 'exposition-bad-name'],
      ['{a="b"} 3', 'exposition-bad-name'],
      ['{""} 3', 'exposition-bad-name'],
      ['"quoted" 3', 'exposition-bad-name'],
      ['m{1a="b"} 1', 'exposition-bad-label'],
      ['m{a-b="c"} 1', 'exposition-bad-label'],
      ['m{a"b"} 1', 'exposition-bad-label'],
      ['m{a=b} 1', 'exposition-bad-label'],
      ['m{a="b" c="d"} 1', 'exposition-bad-label'],
      ['m{,} 1', 'exposition-bad-label'],
      ['m{a="b",,} 1', 'exposition-bad-label'],
      ['m{__name__="x"} 1', 'exposition-bad-label'],
      ['m{"name.inside"} 1', 'exposition-bad-label'],
      ['{"a", "b"} 1', 'exposition-bad-label'],
      ['m{""="x"} 1', 'exposition-bad-label'],
      ['m{a="1",a="2"} 1', 'exposition-duplicate-label'],
      ['m{a="1","a"="2"} 1', 'exposition-duplicate-label'],
      ['m{a="\\t"} 1', 'exposition-bad-escape'],
      ['m{a="\\u0041"} 1', 'exposition-bad-escape'],
      ['{"m\\x"} 1', 'exposition-bad-escape'],
      ['m{a="b} 1', 'exposition-unterminated'],
      ['m{a="b"', 'exposition-unterminated'],
      ['m{a="b",', 'exposition-unterminated'],
      ['m{a', 'exposition-unterminated'],
      ['m{a=', 'exposition-unterminated'],
      ['m{a="b\\', 'exposition-unterminated'],
      ['m', 'exposition-bad-value'],
      ['m{a="b"}', 'exposition-bad-value'],
      ['m 0x1A', 'exposition-bad-value'],
      ['m 0x1p3', 'exposition-bad-value'],
      ['m 1_000', 'exposition-bad-value'],
      ['m 1e400', 'exposition-bad-value'],
      ['m -1e400', 'exposition-bad-value'],
      ['m +NaN', 'exposition-bad-value'],
      ['m Infinityy', 'exposition-bad-value'],
      ['m abc', 'exposition-bad-value'],
      ['m .', 'exposition-bad-value'],
      ['m 1e', 'exposition-bad-value'],
      ['m +', 'exposition-bad-value'],
      ['m 1,5', 'exposition-bad-value'],
      ['m 1 1.5', 'exposition-bad-timestamp', 'text'],
      ['m 1 abc', 'exposition-bad-timestamp', 'text'],
      ['m 1 99999999999999999999', 'exposition-bad-timestamp', 'text'],
      ['m 1 NaN', 'exposition-bad-timestamp', 'openmetrics'],
      ['m 1 +Inf', 'exposition-bad-timestamp', 'openmetrics'],
      ['m 1 1e999', 'exposition-bad-timestamp', 'openmetrics'],
      ['m 1 2 3', 'exposition-trailing-text'],
      ['m 1 # {a="b"} 1', 'exposition-trailing-text', 'text'],
      ['# TYPE m countr', 'exposition-bad-metadata'],
      ['# TYPE m counter extra', 'exposition-bad-metadata'],
      ['# TYPE m.x counter', 'exposition-bad-metadata'],
      ['# HELP 1m help', 'exposition-bad-metadata'],
      ['# UNIT "m', 'exposition-unterminated'],
      ['# EOF', 'exposition-format-conflict', 'text'],
      ['# UNIT m seconds', 'exposition-format-conflict', 'text'],
      ['# TYPE m stateset', 'exposition-format-conflict', 'text'],
    ];
    for (const [line, reason, format] of cases) {
      assert.equal(reasonOf(line, format ?? 'auto'), reason, line);
    }
  });

  it('quotes the offending text in a reject, masked and printable', () => {
    const d = decode('m{token="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",a="\u001b[2J\\q"} 1');
    assert.ok(d?.kind === 'reject');
    assert.equal(d.reason, 'exposition-bad-escape');
    assert.doesNotMatch(d.detail, /[\u0000-\u001f]/);
    const e = decode('m{a="1",a="2"} 1');
    assert.ok(e?.kind === 'reject');
    assert.match(e.detail, /"a"/);
  });

  it('rejects every line after # EOF, and reports a missing # EOF at the end of an OpenMetrics file', () => {
    const after = decodeFile('a 1\n# EOF\nb 2\n\n# EOF\n');
    assert.deepEqual(
      after.rejects.map((r) => [r.line, r.reason]),
      [
        [3, 'exposition-after-eof'],
        [4, 'exposition-after-eof'],
        [5, 'exposition-after-eof'],
      ],
    );
    assert.deepEqual(after.samples.map((s) => s.name), ['a']);
    const cut = decodeFile(ZTUNNEL.slice(0, ZTUNNEL.indexOf('# EOF')));
    assert.deepEqual(cut.rejects.map((r) => [r.line, r.reason]), [['end', 'exposition-missing-eof']]);
    assert.match(cut.rejects[0]!.detail, /line 9/);
    assert.equal(endOfExposition(createExpositionState('openmetrics'))?.kind, 'reject');
    assert.equal(endOfExposition(createExpositionState('text')), undefined);
  });

  it('reports a file read as text whose later lines show it is OpenMetrics', () => {
    const { samples, rejects } = decodeFile('m 1 1733390400\n# UNIT m seconds\nm 2 1733390401.5\nm 3 1733390402 # {a="b"} 1\n# EOF\nn 1\n');
    assert.deepEqual(samples.map((s) => s.timestamp), [1733390400]);
    assert.deepEqual(
      rejects.map((r) => [r.line, r.reason]),
      [
        [2, 'exposition-format-conflict'],
        [3, 'exposition-bad-timestamp'],
        [4, 'exposition-trailing-text'],
        [5, 'exposition-format-conflict'],
        [6, 'exposition-after-eof'],
      ],
    );
    assert.match(rejects[1]!.detail, /OpenMetrics/);
  });

  it('keeps at most MAX_FAMILIES type declarations', () => {
    const state = createExpositionState();
    for (let k = 0; k < MAX_FAMILIES; k++) assert.equal(decodeExpositionLine(`# TYPE f${k} gauge`, 'f', k + 1, state), undefined);
    assert.equal(decodeExpositionLine('# TYPE f0 gauge', 'f', 0, state), undefined, 'a family already declared costs nothing');
    assert.equal(reasonOf('# TYPE one_more gauge', 'auto', state), 'exposition-too-many-families');
    assert.equal(state.types.size, MAX_FAMILIES);
    assert.equal(decodeExpositionLine('one_more 1', 'f', 1, state)?.kind, 'ok');
  });

  it('streams: a truncated last line is the framing\'s to report, or a reject when it is offered whole', () => {
    const text = SIDECAR.trimEnd().slice(0, -40);
    const lines: string[] = [];
    const splitter = new LineSplitter({ line: (t) => lines.push(t), oversize: () => assert.fail() });
    splitter.push(Buffer.from(text));
    const { fragmentLength } = splitter.end(false);
    assert.ok(fragmentLength > 0);
    assert.equal(lines.length, 3);
    const { rejects, samples } = decodeFile(text);
    assert.equal(samples.length, 1);
    assert.deepEqual(rejects.map((r) => [r.line, r.reason]), [[4, 'exposition-unterminated']]);
  });

  describe('properties', () => {
    const legacyName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,15}$/);
    const anyText = fc.string({ unit: 'binary', maxLength: 12 });
    const metricName = fc.oneof({ weight: 4, arbitrary: legacyName }, { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) });
    const labelName = fc
      .oneof(
        { weight: 8, arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/) },
        { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) },
        { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'le', 'a.b') },
      )
      .filter((n) => n !== '__name__');
    const labelValue = fc.oneof(anyText, fc.constantFrom('', '"', '\\', '\n', '\\n', '}', ',', '=', '#', ' # ', '\r', 'spiffe://cluster.local/ns/a/sa/b'));
    const sampleArb = (timestamps: boolean): fc.Arbitrary<SampleToWrite> =>
      fc.record(
        {
          name: metricName,
          labels: fc.dictionary(labelName, labelValue, { maxKeys: 6 }),
          value: fc.double(),
          timestamp: timestamps ? fc.maxSafeInteger() : fc.constant(undefined),
        },
        { requiredKeys: timestamps ? ['name', 'labels', 'value', 'timestamp'] : ['name', 'labels', 'value'] },
      );
    const plain = (s: SampleToWrite) => ({ name: s.name, labels: Object.fromEntries(Object.entries(s.labels)), value: s.value, ...(s.timestamp === undefined ? {} : { timestamp: s.timestamp }) });

    it('a written exposition reads back to the same names, labels, values and timestamps, in both formats', () => {
      fc.assert(
        fc.property(
          fc.constantFrom<Format>('text', 'openmetrics'),
          fc.boolean(),
          fc.boolean(),
          fc.boolean().chain((ts) => fc.array(sampleArb(ts), { maxLength: 8 })),
          fc.array(fc.nat(), { maxLength: 4 }),
          (format, given, crlf, samples, cuts) => {
            const text = exposition(samples, format, crlf ? '\r\n' : '\n');
            const { samples: got, rejects } = decodeFile(text, given ? format : 'auto', cuts);
            assert.deepEqual(rejects, []);
            assert.deepStrictEqual(
              got.map(({ line: _line, ...s }) => s),
              samples.map(plain),
            );
          },
        ),
        { numRuns: 400 },
      );
    });

    it('reads text 0.0.4 lines whatever blanks and tabs separate the tokens', () => {
      fc.assert(
        fc.property(sampleArb(true), fc.constantFrom(' ', '\t', '  ', ' \t '), (s, blanks) => {
          const d = decode(blanks + sampleLine(s, 'text', blanks) + blanks, 'text');
          assert.ok(d?.kind === 'ok');
          assert.deepStrictEqual({ name: d.value.name, labels: { ...d.value.labels }, value: d.value.value, timestamp: d.value.timestamp }, plain(s));
        }),
      );
    });

    const special = fc.constantFrom('{', '}', '"', ',', '=', '\\', '#', '\n', '\r', ' ', '\t', '# EOF', '# TYPE ', '# UNIT ', 'counter', 'e', '.', '+Inf', 'NaN', '_total', 'm', '1');
    const noise = fc.array(fc.oneof(special, fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ unit: 'grapheme-ascii', maxLength: 6 })), { maxLength: 24 }).map((p) => p.join(''));
    // Noise alone, and noise after the start of a real line, so the scanner is met deep inside a label set too.
    const hostile = fc.oneof(
      noise,
      fc.tuple(sampleArb(true), fc.constantFrom<Format>('text', 'openmetrics'), fc.nat(), noise).map(([s, f, at, rest]) => {
        const line = sampleLine(s, f);
        return line.slice(0, at % (line.length + 1)) + rest;
      }),
    );

    /** What every answer must look like; rejects quote input printably. */
    function wellFormed(d: ReturnType<typeof decodeExpositionLine>): void {
      if (d === undefined) return;
      assert.ok(d.kind === 'ok' || d.kind === 'reject', d.kind);
      if (d.kind === 'reject') {
        assert.match(d.reason, /^exposition-[a-z-]+$/);
        assert.ok(d.detail.length > 0);
        assert.doesNotMatch(d.detail, /[\u0000-\u001f\u007f]/);
      } else {
        assert.equal(typeof d.value.name, 'string');
        assert.ok(d.value.name.length > 0);
        for (const v of Object.values(d.value.labels)) assert.equal(typeof v, 'string');
        assert.equal(typeof d.value.value, 'number');
        if (d.value.timestamp !== undefined) assert.ok(Number.isFinite(d.value.timestamp));
      }
    }

    it('never throws on arbitrary lines, in any format and after any lines', () => {
      fc.assert(
        fc.property(fc.constantFrom<ExpositionFormat | 'auto'>('auto', 'text', 'openmetrics'), fc.array(hostile, { minLength: 1, maxLength: 6 }), (format, lines) => {
          const state = createExpositionState(format);
          lines.forEach((l, k) => wellFormed(decodeExpositionLine(l, 'f', k + 1, state)));
          wellFormed(endOfExposition(state));
        }),
        { numRuns: 2000 },
      );
    });

    it('a sample line with any one character deleted is read or rejected with a reason', () => {
      const exemplar = fc.constantFrom('', ' # {trace_id="a\\"b"} 1.5', ' # {} 1 1733390400.5');
      fc.assert(
        fc.property(fc.constantFrom<Format>('text', 'openmetrics'), sampleArb(true), fc.boolean(), exemplar, fc.nat(), (format, s, withTimestamp, ex, at) => {
          const line = sampleLine({ ...s, timestamp: withTimestamp ? s.timestamp : undefined }, format) + (format === 'openmetrics' ? ex : '');
          const k = at % line.length;
          for (const f of [format, 'auto'] as const) {
            const d = decode(line.slice(0, k) + line.slice(k + 1), f);
            wellFormed(d);
            wellFormed(decode(line, f));
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
});
