// Kafka records through the decoders (sources/topic-records.ts), without a broker: which records
// are poison and why, what travels on as waiting spans, and that chunking changes nothing — the
// flows of a partition read in chunks of any size are the flows of reading it whole.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Flow } from '../../src/flow/flow.js';
import type { FlowSinks } from '../../src/sources/source.js';
import { readTopicChunk, type TopicRecord } from '../../src/sources/topic-records.js';
import { Tally } from '../../src/tally.js';
import { FIXTURES } from '../support/paths.js';
import { otlpProto, otlpRequest, type SpanSpec } from '../support/traces.js';

const options = { maxRecordBytes: 4096, accessLog: { format: 'auto' as const, container: 'istio-proxy' } };

function sinks(): FlowSinks & { flows: Flow[] } {
  const flows: Flow[] = [];
  return { flows, flow: (f) => void flows.push(f), rejects: new Tally(), skips: new Tally() };
}

const records = (values: (string | Buffer | null)[]): TopicRecord[] => values.map((v, i) => ({ offset: String(100 + i), value: typeof v === 'string' ? Buffer.from(v) : v }));

/** Fluent Bit and Vector records of the Bookinfo fixture: each names its pod in its envelope. */
const collectorLines = ['fluent-bit.jsonl', 'vector.jsonl'].flatMap((f) => readFileSync(join(FIXTURES, 'bookinfo', 'logs', 'collector', f), 'utf8').split('\n').filter((l) => l !== ''));

describe('Kafka records into flows (topic-records)', () => {
  it('names poison records by offset and reason, and reads the rest', () => {
    const s = sinks();
    const r = readTopicChunk('access-log', 'envoy', 3, records([collectorLines[0]!, 'not an access log', null, 'x'.repeat(5000), '{"log": 1}']), options, s);
    assert.deepEqual(r.poison.map((p) => [p.offset, p.reason]), [['101', 'unrecognized-line'], ['103', 'record-too-large'], ['104', 'unrecognized-json']]);
    assert.equal(r.records, 5);
    assert.equal(s.skips.entries().find(([k]) => k === 'empty-record')?.[1].count, 1);
    // Every poison record is counted as rejected too.
    assert.equal(s.rejects.total, 3);
  });

  it('takes the reporting pod from a collector record\'s kubernetes envelope', () => {
    const s = sinks();
    readTopicChunk('access-log', 'envoy', 0, records(collectorLines.slice(0, 20)), options, s);
    assert.ok(s.flows.length > 0);
    for (const f of s.flows) assert.ok(f.reporter === 'client' || f.reporter === 'server');
    assert.ok(s.flows.some((f) => (f.reporter === 'server' ? f.destination.pod : f.source.pod) !== undefined), 'the envelope named a pod');
  });

  it('joins a trace within a chunk, and sends a lone half on as a waiting span', () => {
    const t0 = Date.UTC(2026, 10, 24, 10) * 1000;
    const client: SpanSpec = { traceId: '0'.repeat(28) + 'abcd', spanId: '00000000000000c1', name: 'GET', kind: 'client', startMicros: t0, durationMicros: 10, service: 'web', resource: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'web' }, attributes: { 'server.address': 'cart', 'server.port': 80, 'http.request.method': 'GET' } };
    const server: SpanSpec = { ...client, spanId: '00000000000000c2', parentSpanId: client.spanId, kind: 'server', service: 'cart', resource: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'cart' }, attributes: { 'http.request.method': 'GET', 'server.port': 8080 } };
    const together = sinks();
    const joined = readTopicChunk('otlp_proto', 'spans', 0, records([otlpProto(otlpRequest([client])), otlpProto(otlpRequest([server]))]), options, together);
    assert.equal(joined.waitingSpans.length, 0);
    assert.equal(together.flows.length, 1);
    const apart = sinks();
    const alone = readTopicChunk('otlp_proto', 'spans', 0, records([otlpProto(otlpRequest([client]))]), options, apart);
    assert.equal(apart.flows.length, 0, 'nothing is decided about a lone half inside a chunk');
    assert.deepEqual(alone.waitingSpans.map((s) => s.spanId), [client.spanId]);
    // JSON on a protobuf topic is poison; a bad span inside a readable request is not.
    const wrong = readTopicChunk('otlp_proto', 'spans', 0, records(['{"resourceSpans":[]}']), options, sinks());
    assert.equal(wrong.poison.length, 1);
  });

  it('makes the same flows of a partition whatever the chunk size (property)', () => {
    const lines = collectorLines.slice(0, 60);
    const whole = sinks();
    readTopicChunk('access-log', 'envoy', 0, records(lines), options, whole);
    const key = (f: Flow) => JSON.stringify([f.source, f.destination, f.timestamp, f.l7?.path ?? null]);
    const expected = whole.flows.map(key);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), (size) => {
        const got: string[] = [];
        for (let i = 0; i < lines.length; i += size) {
          const s = sinks();
          readTopicChunk('access-log', 'envoy', 0, records(lines.slice(i, i + size)).map((r, j) => ({ ...r, offset: String(i + j) })), options, s);
          got.push(...s.flows.map(key));
        }
        assert.deepEqual(got, expected);
      }),
      { numRuns: 30 },
    );
  });
});
