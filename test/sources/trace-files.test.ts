import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeJaegerJson, isJaegerJson } from '../../src/sources/decoders/jaeger-json.js';
import { decodeOtlpJson, isOtlpJson } from '../../src/sources/decoders/otlp-json.js';
import { decodeOtlpProto } from '../../src/sources/decoders/otlp-proto.js';
import { LengthPrefixedSplitter } from '../../src/sources/framing/length-prefixed.js';
import type { Decoded } from '../../src/sources/decoders/result.js';
import type { AttributeValue, Span } from '../../src/sources/decoders/span.js';
import type { SpanProblem, TraceBatch } from '../../src/sources/decoders/trace-fields.js';
import { decodeZipkinJson, isZipkinJson } from '../../src/sources/decoders/zipkin-json.js';
import { jaegerDocument, lengthPrefixed, otlpProto, otlpRequest, zipkinSpans, type SpanSpec } from '../support/traces.js';

// Documents written by test/support/traces.ts in the shapes of the published samples
// (../shared/reference/telemetry), with this test's own values; hand-written ones where a
// sample's quirk is the point (short Jaeger ids, Zipkin's skew).

const at = { file: 'traces.json', line: 3 };
const T1 = '4bf92f3577b34da6a3ce929d0e0e4736';
const T64 = '365a12035b3313b1';
const S1 = '00f067aa0ba902b7';
const S2 = 'e457b5a2e4d86bd1';
const S3 = '5b8efff798038103';
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0) * 1000; // µs

function batchOf(d: Decoded<TraceBatch>): TraceBatch {
  assert.equal(d.kind, 'ok', d.kind === 'ok' ? '' : `${d.kind}: ${d.reason}${d.kind === 'reject' ? ' ' + d.detail : ''}`);
  return (d as { value: TraceBatch }).value;
}
const reasons = (ps: readonly SpanProblem[]) => ps.map((p) => p.reason);
function oneRejected(d: Decoded<TraceBatch>, reason: string): SpanProblem {
  const b = batchOf(d);
  assert.deepEqual(reasons(b.rejected), [reason], JSON.stringify(b.rejected));
  assert.equal(b.spans.length, 0);
  return b.rejected[0] as SpanProblem;
}
const plain = (o: Readonly<Record<string, AttributeValue>>) => ({ ...o });

const spec = (over: Partial<SpanSpec> = {}): SpanSpec => ({
  traceId: T1,
  spanId: S1,
  name: 'GET /cart',
  kind: 'server',
  startMicros: T0,
  durationMicros: 1500,
  service: 'cart',
  ...over,
});

describe('trace files: OTLP/JSON', () => {
  it('reads several resources and scopes, with their attributes, parents and kinds', () => {
    const doc = otlpRequest(
      [
        spec({ resource: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'cart' }, attributes: { 'http.route': '/cart/{id}', 'http.response.status_code': 200 } }),
        spec({ spanId: S2, parentSpanId: S1, kind: 'client', name: 'GET', resource: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'cart' }, attributes: { 'server.address': 'orders' } }),
        spec({ spanId: S3, parentSpanId: S2, service: 'orders', name: 'GET /orders', status: 'error', attributes: { ratio: 0.25, cached: false } }),
      ],
      { scopes: 2, ids: 'upper', times: 'number' },
    );
    assert.ok(isOtlpJson(doc) && !isJaegerJson(doc) && !isZipkinJson(doc));
    const b = batchOf(decodeOtlpJson(doc, at));
    assert.deepEqual(b.rejected, []);
    assert.deepEqual(b.notes, []);
    assert.equal(b.spans.length, 3);
    const [server, client, orders] = [S1, S2, S3].map((id) => b.spans.find((s) => s.spanId === id)) as [Span, Span, Span];
    assert.equal(server.traceId, T1);
    assert.equal(server.parentSpanId, undefined);
    assert.equal(server.kind, 'server');
    assert.deepEqual(plain(server.resource), { 'service.name': 'cart', 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'cart' });
    assert.deepEqual(plain(server.attributes), { 'http.route': '/cart/{id}', 'http.response.status_code': 200 });
    assert.equal(server.start, T0 / 1000);
    assert.equal(server.end, T0 / 1000 + 1.5);
    assert.equal(client.parentSpanId, S1);
    assert.equal(client.kind, 'client');
    assert.equal(orders.resource['service.name'], 'orders');
    assert.equal(orders.status, 'error');
    assert.deepEqual(plain(orders.attributes), { ratio: 0.25, cached: false });
    assert.deepEqual(server.location, at);
  });

  it('reads the spec example as written: uppercase ids, numeric times, numeric kind', () => {
    const doc = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'lib', version: '1.0.0' },
              spans: [{ traceId: T1.toUpperCase(), spanId: S1.toUpperCase(), parentSpanId: S2.toUpperCase(), name: 'srv', startTimeUnixNano: 1764000000000000000, endTimeUnixNano: 1764000001000000000, kind: 2, attributes: [] }],
            },
          ],
        },
      ],
    };
    const [s] = batchOf(decodeOtlpJson(doc, at)).spans as [Span];
    assert.deepEqual([s.traceId, s.spanId, s.parentSpanId, s.kind, s.start, s.end], [T1, S1, S2, 'server', 1764000000000, 1764000001000]);
  });

  it('reads base64 ids, enum names, string times beyond 2^53 exactly, and the pre-0.15 instrumentationLibrarySpans', () => {
    const doc = otlpRequest([spec({ parentSpanId: S2, subMicroNanos: 789 })], { ids: 'base64', kinds: 'name', times: 'string' });
    const ils = JSON.parse(JSON.stringify(doc).replace('"scopeSpans"', '"instrumentationLibrarySpans"')) as unknown;
    for (const d of [doc, ils]) {
      const [s] = batchOf(decodeOtlpJson(d, at)).spans as [Span];
      assert.deepEqual([s.traceId, s.spanId, s.parentSpanId, s.kind], [T1, S1, S2, 'server']);
      assert.equal(s.start, T0 / 1000); // sub-microsecond nanoseconds dropped, the rest exact
    }
    const exact = otlpRequest([spec({ startMicros: 1764000000123456, subMicroNanos: 789 })]);
    assert.equal((batchOf(decodeOtlpJson(exact, at)).spans[0] as Span).start, 1764000000123.456);
  });

  it('keeps every AnyValue: big ints as strings, arrays and kvlists as JSON, bytes as base64; cuts long values', () => {
    const attrs = [
      { key: 'small', value: { intValue: '42' } },
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'nan', value: { doubleValue: 'NaN' } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } } },
      { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
      { key: 'raw', value: { bytesValue: 'AAAwOQ==' } },
      { key: 'long', value: { stringValue: 'x'.repeat(5000) } },
      { key: '__proto__', value: { stringValue: 'polluted?' } },
      { key: 'empty', value: {} },
      { key: 'small', value: { intValue: '43' } },
    ];
    const doc = otlpRequest([spec()]);
    const span0 = ((doc['resourceSpans'] as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>)[0]?.scopeSpans[0]?.spans[0]) as Record<string, unknown>;
    span0['attributes'] = attrs;
    const b = batchOf(decodeOtlpJson(doc, at));
    const a = (b.spans[0] as Span).attributes;
    assert.equal(a['small'], 42);
    assert.equal(a['big'], '9007199254740993');
    assert.equal(a['nan'], 'NaN');
    assert.equal(a['list'], '["a",1]');
    assert.equal(a['map'], '{"k":true}');
    assert.equal(a['raw'], 'AAAwOQ==');
    assert.equal((a['long'] as string).length, 4096);
    assert.ok(Object.hasOwn(a, '__proto__') && Object.getPrototypeOf(a) === Object.prototype);
    assert.deepEqual(reasons(b.notes).sort(), ['attribute-dropped', 'duplicate-attribute', 'value-cut']);
  });

  it('keeps a span whose end is before its start, without its end, and says so', () => {
    const doc = otlpRequest([spec()]);
    const s0 = ((doc['resourceSpans'] as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>)[0]?.scopeSpans[0]?.spans[0]) as Record<string, unknown>;
    s0['endTimeUnixNano'] = String(BigInt(T0 - 1) * 1000n);
    const b = batchOf(decodeOtlpJson(doc, at));
    assert.equal((b.spans[0] as Span).end, undefined);
    assert.deepEqual(b.notes.map((n) => [n.reason, n.at]), [['end-before-start', 'resourceSpans[0].scopeSpans[0].spans[0]']]);
    s0['endTimeUnixNano'] = String(BigInt(Date.UTC(2100, 0, 2)) * 1_000_000n);
    const late = batchOf(decodeOtlpJson(doc, at));
    assert.equal((late.spans[0] as Span).end, undefined);
    assert.deepEqual(reasons(late.notes), ['end-dropped']);
  });

  it('reads an empty or all-zero parent, hex or base64, as a root span', () => {
    for (const parentSpanId of ['', '0000000000000000', 'AAAAAAAAAAA=']) {
      const doc = otlpRequest([spec()]);
      const s0 = ((doc['resourceSpans'] as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>)[0]?.scopeSpans[0]?.spans[0]) as Record<string, unknown>;
      s0['parentSpanId'] = parentSpanId;
      const b = batchOf(decodeOtlpJson(doc, at));
      assert.deepEqual([b.spans.length, (b.spans[0] as Span).parentSpanId], [1, undefined], parentSpanId);
    }
  });

  it('rejects bad spans with a reason and keeps the good ones beside them', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['missing-field', { traceId: undefined }],
      ['bad-field-type', { traceId: 12 }],
      ['invalid-trace-id', { traceId: 'abc' }],
      ['invalid-trace-id', { traceId: '0'.repeat(32) }],
      ['invalid-trace-id', { traceId: 'AAAAAAAAAAAAAAAAAAAAAA==' }], // base64 of 16 zero bytes
      ['invalid-span-id', { spanId: 'zz' + S1.slice(2) }],
      ['invalid-span-id', { spanId: T1 }],
      ['invalid-parent-span-id', { parentSpanId: 'xyz' }],
      ['invalid-start-time', { startTimeUnixNano: '0' }],
      ['invalid-start-time', { startTimeUnixNano: String(BigInt(Date.UTC(2100, 0, 1)) * 1_000_000n) }],
      ['invalid-start-time', { startTimeUnixNano: '1.5e18' }],
      ['missing-field', { startTimeUnixNano: undefined }],
      ['invalid-kind', { kind: 9 }],
      ['invalid-kind', { kind: 'SERVER' }],
      ['invalid-status', { status: { code: 'BROKEN' } }],
      ['bad-field-type', { name: ['x'] }],
    ];
    for (const [reason, change] of cases) {
      const doc = otlpRequest([spec(), spec({ spanId: S2 })]);
      const spans = (doc['resourceSpans'] as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>)[0]?.scopeSpans[0]?.spans as Array<Record<string, unknown>>;
      Object.assign(spans[1] as object, change);
      const b = batchOf(decodeOtlpJson(JSON.parse(JSON.stringify(doc)), at));
      assert.deepEqual(reasons(b.rejected), [reason], `${JSON.stringify(change)}: ${JSON.stringify(b.rejected)}`);
      assert.equal(b.rejected[0]?.at, 'resourceSpans[0].scopeSpans[0].spans[1]');
      assert.deepEqual(b.spans.map((s) => s.spanId), [S1]);
    }
  });

  it('rejects what is not a request, skips one without spans', () => {
    assert.equal(decodeOtlpJson([1], at).kind, 'reject');
    assert.equal((decodeOtlpJson({ resourceSpans: 3 }, at) as { reason: string }).reason, 'bad-field-type');
    assert.equal((decodeOtlpJson('x', at) as { reason: string }).reason, 'not-otlp-json');
    assert.deepEqual(decodeOtlpJson({ resourceSpans: [] }, at), { kind: 'skip', reason: 'no-spans' });
    assert.deepEqual(reasons(batchOf(decodeOtlpJson({ resourceSpans: [7, { scopeSpans: 'x' }] }, at)).rejected), ['bad-field-type', 'bad-field-type']);
  });
});

describe('trace files: Jaeger JSON', () => {
  // HotROD: frontend → customer over HTTP, one process per service.
  const hotrod = [
    spec({ traceId: T64, spanId: '6065a57f239aee5f', kind: 'client', name: 'HTTP GET', service: 'frontend', resource: { hostname: 'frontend-1', 'client-uuid': '19ba86210b28aa95' }, local: { ipv4: '10.1.0.5' }, attributes: { 'http.method': 'GET', 'peer.service': 'customer' } }),
    spec({ traceId: T64, spanId: '3e386f81a4524427', parentSpanId: '6065a57f239aee5f', kind: 'server', name: 'HTTP GET /customer', service: 'customer', resource: { hostname: 'customer-1' }, local: { ipv4: '10.1.0.7' }, attributes: { 'http.method': 'GET', 'http.status_code': 200 } }),
  ];

  it('reads the query API answer with its processes', () => {
    const doc = jaegerDocument(hotrod, 'api');
    assert.ok(isJaegerJson(doc) && !isOtlpJson(doc) && !isZipkinJson(doc));
    const b = batchOf(decodeJaegerJson(doc, at));
    assert.deepEqual(b.rejected, []);
    const [client, server] = b.spans as [Span, Span];
    assert.equal(client.traceId, T64);
    assert.equal(client.kind, 'client');
    assert.deepEqual(plain(client.resource), { 'service.name': 'frontend', hostname: 'frontend-1', 'client-uuid': '19ba86210b28aa95', ip: '10.1.0.5' });
    assert.deepEqual(client.local, { serviceName: 'frontend', ip: '10.1.0.5' });
    assert.deepEqual(client.remote, { serviceName: 'customer' });
    assert.ok(!Object.hasOwn(client.attributes, 'span.kind'));
    assert.equal(server.parentSpanId, '6065a57f239aee5f');
    assert.equal(server.kind, 'server');
    assert.equal(server.attributes['http.status_code'], 200);
    assert.equal(server.start, T0 / 1000);
    assert.equal(server.end, T0 / 1000 + 1.5);
    assert.equal(server.resource['service.name'], 'customer');
  });

  it('reads an array of traces and one trace alone (the UI download) the same way', () => {
    const api = batchOf(decodeJaegerJson(jaegerDocument(hotrod, 'api'), at)).spans;
    for (const shape of ['array', 'trace'] as const) {
      const doc = jaegerDocument(hotrod, shape);
      assert.ok(isJaegerJson(doc), shape);
      assert.deepEqual(batchOf(decodeJaegerJson(doc, at)).spans, api, shape);
    }
  });

  it("reads the UI fixture's quirks: short ids, references into other traces, FOLLOWS_FROM, typed tags", () => {
    const trace = {
      traceID: '1',
      spans: [
        { traceID: '1', spanID: '2', operationName: 'root', references: [], startTime: T0, duration: 5, tags: [], processID: 'p1', warnings: null },
        {
          traceID: '0000000000000001',
          spanID: '4',
          operationName: 'refs',
          references: [
            { refType: 'CHILD_OF', traceID: '00000000000000ff', spanID: 'ff' },
            { refType: 'FOLLOWS_FROM', traceID: '0000000000000001', spanID: '3' },
            { refType: 'CHILD_OF', traceID: '0000000000000001', spanID: '2' },
          ],
          startTime: T0,
          duration: 5,
          tags: [
            { key: 'peer.service', type: 'string', value: 'service-y' },
            { key: 'peer.ipv4', type: 'int64', value: 167772161 },
            { key: 'error', type: 'bool', value: true },
            { key: 'temperature', type: 'float64', value: 72.5 },
            { key: 'blob', type: 'binary', value: 'AAAwOQ==' },
          ],
          processID: 'p2',
        },
        { traceID: '1', spanID: '5', operationName: 'async', references: [{ refType: 'FOLLOWS_FROM', traceID: '1', spanID: '4' }], startTime: T0, duration: 4, tags: [], processID: 'p2' },
      ],
      processes: { p1: { serviceName: 'service-x', tags: [] }, p2: { serviceName: 'service-y', tags: [] } },
      warnings: ['some trace warning'],
    };
    assert.ok(isJaegerJson(trace));
    const [root, refs, async] = batchOf(decodeJaegerJson(trace, at)).spans as [Span, Span, Span];
    assert.deepEqual([root.traceId, root.spanId, root.parentSpanId], ['0000000000000001', '0000000000000002', undefined]);
    assert.equal(refs.parentSpanId, '0000000000000002'); // CHILD_OF in its own trace, before FOLLOWS_FROM
    assert.deepEqual(refs.remote, { serviceName: 'service-y', ip: '10.0.0.1' });
    assert.equal(refs.status, 'error');
    assert.deepEqual([refs.attributes['temperature'], refs.attributes['blob']], [72.5, 'AAAwOQ==']);
    assert.equal(async.parentSpanId, '0000000000000004');
    assert.equal(async.kind, 'unspecified');
  });

  it('rejects bad spans with a reason, and error answers', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['invalid-trace-id', { traceID: 'not-hex' }],
      ['invalid-trace-id', { traceID: '0'.repeat(16) }],
      ['invalid-span-id', { spanID: '1'.repeat(17) }],
      ['invalid-parent-span-id', { references: [{ refType: 'CHILD_OF', traceID: T64, spanID: 'q' }] }],
      ['invalid-start-time', { startTime: 1 }],
      ['missing-field', { startTime: undefined }],
      ['unknown-process', { processID: 'p9' }],
      ['invalid-kind', { tags: [{ key: 'span.kind', type: 'string', value: 'rpc' }] }],
      ['bad-field-type', { references: 'CHILD_OF' }],
      ['bad-field-type', { operationName: 5 }],
    ];
    for (const [reason, change] of cases) {
      const doc = jaegerDocument(hotrod, 'api') as { data: Array<{ spans: Array<Record<string, unknown>> }> };
      Object.assign(doc.data[0]?.spans[1] as object, change);
      const b = batchOf(decodeJaegerJson(JSON.parse(JSON.stringify(doc)), at));
      assert.deepEqual(reasons(b.rejected), [reason], `${JSON.stringify(change)}: ${JSON.stringify(b.rejected)}`);
      assert.equal(b.rejected[0]?.at, 'data[0].spans[1]');
      assert.equal(b.spans.length, 1);
    }
    const error = { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] };
    assert.ok(isJaegerJson(error));
    const r = decodeJaegerJson(error, at);
    assert.equal(r.kind === 'reject' && r.reason, 'jaeger-api-error');
    assert.match((r as { detail: string }).detail, /404 trace not found/);
    assert.deepEqual(decodeJaegerJson({ data: [], errors: null }, at), { kind: 'skip', reason: 'no-spans' });
    const partial = jaegerDocument(hotrod, 'api') as Record<string, unknown>;
    partial['errors'] = [{ code: 500, msg: 'storage timeout' }];
    const pb = batchOf(decodeJaegerJson(partial, at));
    assert.deepEqual([pb.spans.length, reasons(pb.notes)], [2, ['jaeger-api-error']]);
    assert.equal((decodeJaegerJson({ resourceSpans: [] }, at) as { reason: string }).reason, 'not-jaeger-json');
    assert.deepEqual(reasons(batchOf(decodeJaegerJson({ data: [{ spans: 'x' }] }, at)).rejected), ['bad-field-type']);
  });

  it('keeps a span with a negative duration without its end, and says so', () => {
    const doc = jaegerDocument([hotrod[0] as SpanSpec], 'trace') as { spans: Array<Record<string, unknown>> };
    (doc.spans[0] as Record<string, unknown>)['duration'] = -3;
    const b = batchOf(decodeJaegerJson(doc, at));
    assert.equal((b.spans[0] as Span).end, undefined);
    assert.deepEqual(reasons(b.notes), ['end-before-start']);
  });
});

describe('trace files: Zipkin v2 JSON', () => {
  it('reads shared spans and skew between services as they are', () => {
    // As zipkin-v2-skew.json: B's SERVER half shares A's CLIENT id and starts before it.
    const doc = zipkinSpans([
      spec({ traceId: T64, spanId: 'bf396325699c84bf', kind: 'server', name: 'get', service: 'servicea', startMicros: T0 + 62_306, durationMicros: 99_411, local: { ipv4: '192.0.2.1' } }),
      spec({ traceId: T64, spanId: '74280ae0c10d8062', parentSpanId: 'bf396325699c84bf', kind: 'client', name: 'post', service: 'servicea', startMicros: T0 + 65_440, durationMicros: 94_539, local: { ipv4: '192.0.2.1' } }),
      spec({ traceId: T64, spanId: '74280ae0c10d8062', parentSpanId: 'bf396325699c84bf', kind: 'server', name: 'post', service: 'serviceb', startMicros: T0, durationMicros: 93_577, shared: true, local: { ipv4: '192.0.2.2' } }),
      spec({ traceId: T64, spanId: '43210ae0c10d1234', parentSpanId: '74280ae0c10d8062', kind: 'unspecified', name: 'async', service: 'serviceb', startMicros: T0 + 1, durationMicros: 65_000 }),
    ]);
    assert.ok(isZipkinJson(doc) && !isJaegerJson(doc) && !isOtlpJson(doc));
    const b = batchOf(decodeZipkinJson(doc, at));
    assert.deepEqual([b.rejected, b.notes], [[], []]);
    const [, client, server, local] = b.spans as [Span, Span, Span, Span];
    assert.equal(client.spanId, server.spanId);
    assert.deepEqual([client.kind, client.shared, server.kind, server.shared], ['client', undefined, 'server', true]);
    assert.ok(server.start < client.start);
    assert.deepEqual(server.local, { serviceName: 'serviceb', ip: '192.0.2.2' });
    assert.equal(server.resource['service.name'], 'serviceb');
    assert.equal(local.kind, 'unspecified');
  });

  it('reads endpoints, tags and padded ids as the db sample has them', () => {
    const doc = [
      { traceId: '000000000000000019F84F102048E047', parentId: '19f84f102048e047', id: '5d532ef6fed52445', kind: 'CLIENT', name: 'insert', timestamp: T0, duration: 2033, localEndpoint: { serviceName: 'bootifulmeters', ipv4: '172.23.250.16' }, remoteEndpoint: { serviceName: 'app_db' }, tags: { 'sql.query': 'insert into t values (1)' } },
      { traceId: 'f84f102048e047', id: 'f84f102048e047', kind: 'SERVER', name: 'http:/book', timestamp: T0 - 100, duration: 252016, localEndpoint: { serviceName: 'bootifulmeters', ipv4: '172.23.250.16' }, remoteEndpoint: { ipv6: '::1', port: 53367 }, tags: { 'http.path': '/book', error: '' } },
    ];
    const [db, http] = batchOf(decodeZipkinJson(doc, at)).spans as [Span, Span];
    assert.equal(db.traceId, '19f84f102048e047'); // a zero high half is a 64-bit id
    assert.deepEqual(db.remote, { serviceName: 'app_db' });
    assert.deepEqual(db.local, { serviceName: 'bootifulmeters', ip: '172.23.250.16' });
    assert.deepEqual(plain(db.attributes), { 'sql.query': 'insert into t values (1)' });
    assert.deepEqual([http.traceId, http.spanId], ['00f84f102048e047', '00f84f102048e047']);
    assert.deepEqual(http.remote, { ip: '::1', port: 53367 });
    assert.equal(http.status, 'error');
  });

  it('rejects bad spans with a reason, notes what it repaired', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['invalid-trace-id', { traceId: '1'.repeat(33) }],
      ['invalid-span-id', { id: '0000000000000000' }],
      ['invalid-parent-span-id', { parentId: 'g' }],
      ['missing-field', { timestamp: undefined }],
      ['invalid-start-time', { timestamp: 946684799999999 }], // 1999-12-31T23:59:59.999999Z
      ['invalid-start-time', { timestamp: 'soon' }],
      ['invalid-kind', { kind: 'server' }],
      ['bad-field-type', { name: {} }],
      ['missing-field', { id: undefined }],
    ];
    for (const [reason, change] of cases) {
      const doc = zipkinSpans([spec({ traceId: T64 }), spec({ traceId: T64, spanId: S2 })]);
      Object.assign(doc[0] as object, change);
      const b = batchOf(decodeZipkinJson(JSON.parse(JSON.stringify(doc)), at));
      assert.deepEqual(reasons(b.rejected), [reason], `${JSON.stringify(change)}: ${JSON.stringify(b.rejected)}`);
      assert.equal(b.rejected[0]?.at, '[0]');
      assert.deepEqual(b.spans.map((s) => s.spanId), [S2]);
    }
    const repaired = zipkinSpans([spec({ traceId: T64 })]) as Array<Record<string, unknown>>;
    Object.assign(repaired[0] as object, { duration: -1, remoteEndpoint: { ipv4: '300.1.1.1', port: 70000 }, tags: { a: { nested: 1 } } });
    const b = batchOf(decodeZipkinJson(repaired, at));
    assert.equal(b.spans.length, 1);
    assert.deepEqual(reasons(b.notes).sort(), ['attribute-dropped', 'end-before-start', 'endpoint-dropped', 'endpoint-dropped']);
    assert.equal(oneRejected(decodeZipkinJson([7], at), 'bad-field-type').at, '[0]');
    assert.equal((decodeZipkinJson({}, at) as { reason: string }).reason, 'not-zipkin-json');
    assert.deepEqual(decodeZipkinJson([], at), { kind: 'skip', reason: 'no-spans' });
  });
});

// ---------------------------------------------------------------- properties

const decoders = [
  ['otlp-json', decodeOtlpJson],
  ['jaeger-json', decodeJaegerJson],
  ['zipkin-json', decodeZipkinJson],
] as const;

/** `doc` with the value at one of its paths (chosen by `pick`) replaced by `value`. */
function mutate(doc: unknown, pick: number, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as unknown;
  const slots: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (slots.push([v, i]), walk(x)));
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) (slots.push([v as Record<string, unknown>, k]), walk(x));
  };
  walk(copy);
  if (slots.length === 0) return value;
  const [holder, key] = slots[pick % slots.length] as [Record<string | number, unknown>, string | number];
  holder[key] = value;
  return copy;
}

const hex = (digits: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: digits, maxLength: digits }).filter((s) => !/^0+$/.test(s));
const traceIds = fc.tuple(hex(16), hex(16)).map(([a, b]) => a + b);
// Keys whose values the decoders change (a URL's query is cut, url.query dropped) are not arbitrary here.
const attrKey = fc.stringMatching(/^[a-z][a-z0-9_.]{0,20}$/).filter((k) => !['span.kind', 'error', 'otel.status_code', 'ip', 'url.full', 'url.original', 'http.url', 'http.target', 'http.path', 'url.path', 'url.query'].includes(k));
const attrValue = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)), fc.boolean());
const attrs = fc.dictionary(attrKey, attrValue, { maxKeys: 5 });
const minMicros = Date.UTC(2000, 0, 1) * 1000;
// The longest duration after the latest start still ends before 2100-01-01, which decoders refuse (access-log.ts startTimeInRange).
const maxMicros = Date.UTC(2100, 0, 1) * 1000 - 1_000_000_000 - 1;

const spanSpecs = (kinds: SpanSpec['kind'][]) =>
  fc.record({
    traceId: traceIds,
    spanId: hex(16),
    parentSpanId: fc.option(hex(16), { nil: undefined }),
    name: fc.string({ maxLength: 30 }),
    kind: fc.constantFrom(...kinds),
    startMicros: fc.integer({ min: minMicros, max: maxMicros }),
    durationMicros: fc.option(fc.integer({ min: 0, max: 1_000_000_000 }), { nil: undefined }),
    subMicroNanos: fc.integer({ min: 0, max: 999 }),
    service: fc.string({ minLength: 1, maxLength: 20 }),
    resource: fc.dictionary(attrKey.filter((k) => k !== 'service.name'), attrValue, { maxKeys: 3 }),
    attributes: attrs,
    status: fc.constantFrom('unset' as const, 'ok' as const, 'error' as const),
  });

function sameSpan(got: Span, want: SpanSpec, attributes: Record<string, AttributeValue>, resource: Record<string, AttributeValue>): void {
  assert.deepEqual(
    [got.traceId, got.spanId, got.parentSpanId, got.kind, got.start, got.name],
    [want.traceId, want.spanId, want.parentSpanId, want.kind, want.startMicros / 1000, want.name],
  );
  assert.equal(got.end, want.durationMicros === undefined ? undefined : (want.startMicros + want.durationMicros) / 1000);
  assert.equal(got.resource['service.name'], want.service);
  assert.deepEqual(plain(got.resource), plain(resource));
  assert.deepEqual(plain(got.attributes), plain(attributes));
  assert.equal(got.status, want.status);
}

describe('trace files: queries never kept', () => {
  const urls = { 'url.full': 'https://user:s3cr3t@api.example.com/v1/pay?token=s3cr3t#frag', 'http.target': '/cart/1?session=abc', 'http.url': 'http://cart/x?key=k', 'url.query': 'token=s3cr3t', 'url.path': '/cart/1' };
  const docs = [
    ['otlp-json', decodeOtlpJson(otlpRequest([spec({ attributes: urls })]), at)],
    ['otlp-proto', decodeOtlpProto(otlpProto(otlpRequest([spec({ attributes: urls })])), at)],
    ['jaeger-json', decodeJaegerJson(jaegerDocument([spec({ traceId: T64, attributes: urls })]), at)],
    ['zipkin-json', decodeZipkinJson(zipkinSpans([spec({ traceId: T64, attributes: urls })]), at)],
  ] as const;
  for (const [name, d] of docs) {
    it(`${name}: a URL's query and fragment are cut as the span is read, url.query is dropped`, () => {
      const attrs = plain(batchOf(d).spans[0]!.attributes);
      assert.deepEqual(
        Object.fromEntries(Object.entries(attrs).filter(([k]) => k.startsWith('url.') || k.startsWith('http.'))),
        { 'url.full': 'https://api.example.com/v1/pay', 'http.target': '/cart/1', 'http.url': 'http://cart/x', 'url.path': '/cart/1' },
      );
      assert.doesNotMatch(JSON.stringify(batchOf(d)), /s3cr3t|session=|key=k|frag/);
    });
  }
});

describe('trace files: properties', () => {
  for (const [name, decode] of decoders) {
    it(`${name}: arbitrary JSON, and valid documents with one part replaced by it, never throw`, () => {
      const valid = [otlpRequest([spec()], { scopes: 1 }), jaegerDocument([spec({ traceId: T64 })]), zipkinSpans([spec({ traceId: T64, remote: { ipv4: '10.0.0.1', port: 80 } })])];
      fc.assert(
        fc.property(fc.jsonValue(), fc.nat(), fc.nat(2), (value, pick, which) => {
          for (const doc of [value, mutate(valid[which], pick, value)]) {
            const d = decode(doc, at);
            assert.ok(['ok', 'skip', 'reject'].includes(d.kind));
            if (d.kind === 'ok') for (const s of d.value.spans) assert.ok(Number.isFinite(s.start));
          }
        }),
        { numRuns: 400 },
      );
    });
  }

  it('otlp-json: writer → decoder gives back every span', () => {
    fc.assert(
      fc.property(fc.array(spanSpecs(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']), { minLength: 1, maxLength: 6 }), fc.constantFrom('hex' as const, 'upper' as const, 'base64' as const), fc.constantFrom('number' as const, 'name' as const), fc.integer({ min: 1, max: 3 }), (specs, ids, kinds, scopes) => {
        // One resource per service: the first span's resource stands for its service's.
        const resources = new Map<string, Record<string, AttributeValue>>();
        for (const s of specs) if (!resources.has(s.service)) resources.set(s.service, s.resource ?? {});
        const b = batchOf(decodeOtlpJson(otlpRequest(specs, { ids, kinds, scopes, times: 'string' }), at));
        assert.deepEqual([b.rejected, b.notes], [[], []]);
        assert.equal(b.spans.length, specs.length);
        for (const got of b.spans) {
          const want = specs.find((s) => s.spanId === got.spanId && s.traceId === got.traceId && s.service === got.resource['service.name'] && s.startMicros / 1000 === got.start) as SpanSpec;
          assert.ok(want);
          sameSpan(got, want, want.attributes ?? {}, { 'service.name': want.service, ...resources.get(want.service) });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('otlp-proto: the protobuf of a request decodes to exactly the batch its OTLP/JSON gives', () => {
    fc.assert(
      fc.property(fc.array(spanSpecs(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']), { minLength: 1, maxLength: 6 }), fc.constantFrom('hex' as const, 'base64' as const), fc.integer({ min: 1, max: 3 }), (specs, ids, scopes) => {
        const request = otlpRequest(specs, { ids, scopes, times: 'string' });
        assert.deepEqual(decodeOtlpProto(otlpProto(request), at), decodeOtlpJson(request, at));
      }),
      { numRuns: 150 },
    );
  });

  it('otlp-proto: any bytes, and a valid body cut or with a byte changed, never throw; a cut body is rejected, named', () => {
    const body = otlpProto(otlpRequest([spec(), spec({ spanId: 'b'.repeat(16) })]));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (bytes, pick, value) => {
        const changed = Buffer.from(body);
        changed[pick % changed.length] = value;
        for (const b of [bytes, changed, body.subarray(0, pick % body.length)]) {
          const d = decodeOtlpProto(b, at);
          assert.ok(['ok', 'skip', 'reject'].includes(d.kind));
          if (d.kind === 'ok') for (const s of d.value.spans) assert.ok(Number.isFinite(s.start));
        }
      }),
      { numRuns: 500 },
    );
    const cut = decodeOtlpProto(body.subarray(0, body.length - 3), at);
    assert.equal(cut.kind, 'reject');
    assert.equal(cut.kind === 'reject' && cut.reason, 'malformed-otlp-protobuf');
  });

  it('otlp-proto: fields a newer opentelemetry-proto adds (unknown here) are passed over', () => {
    const body = otlpProto(otlpRequest([spec()]));
    // Field 99 (length-delimited, 3 bytes) appended to the request: proto3 keeps reading past it.
    const unknown = Buffer.concat([body, Buffer.from([0x9a, 0x06, 0x03, 0x61, 0x62, 0x63])]);
    assert.deepEqual(decodeOtlpProto(unknown, at), decodeOtlpProto(body, at));
  });

  it('length-prefixed framing: the same messages and offsets however the bytes are cut; oversize ones are passed over, named', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), (messages, cuts) => {
        const bytes = lengthPrefixed(messages.map((m) => Buffer.from(m)));
        const got: [string, number][] = [];
        const over: [number, number][] = [];
        const splitter = new LengthPrefixedSplitter({ message: (b, o) => got.push([b.toString('hex'), o]), oversize: (l, o) => over.push([l, o]) }, 20);
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length]!;
          splitter.push(bytes.subarray(at, at + n));
          at += n;
        }
        const want: [string, number][] = [];
        const wantOver: [number, number][] = [];
        let offset = 0;
        for (const m of messages) {
          if (m.length > 20) wantOver.push([m.length, offset]);
          else want.push([Buffer.from(m).toString('hex'), offset]);
          offset += 4 + m.length;
        }
        assert.deepEqual([got, over, splitter.end()], [want, wantOver, { fragmentBytes: 0, offset }]);
      }),
      { numRuns: 300 },
    );
    const cut = new LengthPrefixedSplitter({ message: () => undefined, oversize: () => undefined }, 100);
    cut.push(lengthPrefixed([Buffer.from('abcdef')]).subarray(0, 7));
    assert.deepEqual(cut.end(), { fragmentBytes: 7, offset: 0 });
  });

  it('jaeger-json: writer → decoder gives back every span, in each of the three shapes', () => {
    fc.assert(
      fc.property(fc.array(spanSpecs(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']), { minLength: 1, maxLength: 6 }), fc.constantFrom('api' as const, 'array' as const), (specs, shape) => {
        const b = batchOf(decodeJaegerJson(jaegerDocument(specs, shape), at));
        assert.deepEqual([b.rejected, b.notes], [[], []]);
        const ordered = [...new Set(specs.map((s) => s.traceId))].flatMap((t) => specs.filter((s) => s.traceId === t));
        b.spans.forEach((got, i) => {
          const want = ordered[i] as SpanSpec;
          const statusTag: Record<string, AttributeValue> = want.status === 'unset' ? {} : { 'otel.status_code': want.status === 'ok' ? 'OK' : 'ERROR' };
          sameSpan(got, { ...want, durationMicros: want.durationMicros ?? 0 }, { ...want.attributes, ...statusTag }, { 'service.name': want.service, ...want.resource });
        });
      }),
      { numRuns: 150 },
    );
  });

  it('zipkin-json: writer → decoder gives back every span', () => {
    fc.assert(
      fc.property(fc.array(spanSpecs(['unspecified', 'server', 'client', 'producer', 'consumer']).map((s) => ({ ...s, status: s.status === 'ok' ? ('unset' as const) : s.status, resource: {} })), { minLength: 1, maxLength: 6 }), (specs) => {
        const b = batchOf(decodeZipkinJson(zipkinSpans(specs), at));
        assert.deepEqual([b.rejected, b.notes], [[], []]);
        b.spans.forEach((got, i) => {
          const want = specs[i] as SpanSpec;
          const tags: Record<string, AttributeValue> = {};
          for (const [k, v] of Object.entries(want.attributes ?? {})) tags[k] = String(v);
          if (want.status === 'error') tags['error'] = 'true';
          sameSpan(got, want, tags, { 'service.name': want.service });
        });
      }),
      { numRuns: 150 },
    );
  });
});
