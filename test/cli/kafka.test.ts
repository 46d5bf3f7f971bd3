// What ztmap's Kafka commands decide without a broker: the client settings from flags, environment
// and config file (cli/… kafka-settings.ts), `--topic NAME=FORMAT`, and partial aggregates
// (cli/kafka/partial.ts): they read back to what was written, a record that is not one is refused
// with its place, and merging the partials of any cut of a graph gives the graph (the property
// the materializer rests on).

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { partialRecords, topicSpec, transactionalIdOf } from '../../src/cli/commands/consume.js';
import { decodePartial, encodePartial } from '../../src/cli/kafka/partial.js';
import { ConfigError, InputError } from '../../src/errors.js';
import { compare } from '../../src/flow/compare.js';
import { GraphBuilder, mergeGraphs } from '../../src/graph/build.js';
import { graphToJson } from '../../src/graph/json.js';
import { kafkaSettings } from '../../src/sources/transports/kafka-settings.js';
import { tempDir } from '../support/cli.js';
import type { Identity, ResolvedFlow } from '../../src/flow/identity.js';

const workload = (name: string): Identity => ({ kind: 'workload', key: `shop/Deployment/${name}`, namespace: 'shop', workloadKind: 'Deployment', name, serviceAccount: name, labels: { app: name } });

function resolvedFlow(o: { from: string; to: string; port: number; path?: string; timestamp?: number }): ResolvedFlow {
  const flow = {
    source: {},
    destination: {},
    protocol: 'http' as const,
    l7: { method: 'GET', path: o.path ?? '/' },
    mtls: 'mutual' as const,
    responseCode: 200,
    timestamp: o.timestamp ?? Date.UTC(2026, 10, 24),
    count: 1,
    reporter: 'server' as const,
    evidence: { decoder: 'envoy-text', location: { file: 'f' } },
  };
  return { flow, source: workload(o.from), destination: workload(o.to), port: o.port, reporter: 'server', mtls: 'mutual' };
}

describe('Kafka settings, topics and partial aggregates', () => {
  it('takes flags over the environment over the config file, and reads secrets from files', () => {
    const dir = tempDir('ztmap-kafka-settings-');
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.pem'), 'CA');
    writeFileSync(join(dir, 'pw'), 's3cret\n');
    const file = join(dir, 'kafka.yaml');
    writeFileSync(file, 'brokers: [file:9092]\nclientId: from-file\ntls: {ca: certs/ca.pem}\nsasl: {mechanism: SCRAM-SHA-512, username: u, passwordFile: pw}\n');
    const fromFile = kafkaSettings({ config: file }, {}, 'dflt');
    assert.deepEqual(fromFile.brokers, ['file:9092']);
    assert.equal(fromFile.clientId, 'from-file');
    assert.deepEqual(fromFile.ssl, { rejectUnauthorized: true, ca: [Buffer.from('CA')] });
    assert.deepEqual(fromFile.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 's3cret' });
    const env = kafkaSettings({ config: file }, { KAFKA_BROKERS: 'env:1,env:2', KAFKA_SASL_USERNAME: 'v' }, 'dflt');
    assert.deepEqual(env.brokers, ['env:1', 'env:2']);
    assert.equal((env.sasl as { username: string }).username, 'v');
    assert.deepEqual(kafkaSettings({ config: file, brokers: 'flag:9' }, { KAFKA_BROKERS: 'env:1' }, 'dflt').brokers, ['flag:9']);
    assert.equal(kafkaSettings({ brokers: 'a:1' }, {}, 'dflt').ssl, undefined);
    assert.throws(() => kafkaSettings({}, {}, 'x'), ConfigError);
    assert.throws(() => kafkaSettings({ brokers: 'no-port' }, {}, 'x'), ConfigError);
    assert.throws(() => kafkaSettings({ brokers: 'a:1', saslMechanism: 'gssapi' }, {}, 'x'), /plain, scram-sha-256, scram-sha-512/);
    assert.throws(() => kafkaSettings({ brokers: 'a:1', saslMechanism: 'plain', saslUsername: 'u' }, {}, 'x'), /password/);
    assert.throws(() => kafkaSettings({ brokers: 'a:1', tlsCert: 'c.pem' }, {}, 'x'), /needs its key/);
    assert.throws(() => kafkaSettings({ config: join(dir, 'missing.yaml') }, {}, 'x'), InputError);
    // A value of the wrong type in the file is the file's fault, said so, never a TypeError.
    const wrongTypes: [string, string][] = [['brokers: 9092\n', 'brokers'], ['brokers: [a:1]\nsasl: {mechanism: 5}\n', 'sasl.mechanism'], ['brokers: [a:1]\ntls: {ca: [x]}\n', 'tls.ca'], ['brokers: [a:1]\nsasl: [plain]\n', 'sasl'], ['brokers: [a:1]\nssl: true\n', 'ssl']];
    for (const [text, field] of wrongTypes) {
      writeFileSync(file, text);
      assert.throws(() => kafkaSettings({ config: file }, {}, 'x'), (e: Error) => e instanceof ConfigError && e.message.includes(field), text);
    }
  });

  it('gives each (group, topic, partition) its own transactional id, whatever dots the names hold', () => {
    assert.notEqual(transactionalIdOf('a.b', 'c', 0), transactionalIdOf('a', 'b.c', 0));
    assert.notEqual(transactionalIdOf('g', 't', 1), transactionalIdOf('g', 't', 10));
  });

  it('reads --topic NAME=FORMAT, and the Collector exporter\'s default topic bare', () => {
    assert.deepEqual(topicSpec('otlp_spans'), { topic: 'otlp_spans', format: 'otlp_proto' });
    assert.deepEqual(topicSpec('mesh.logs=access-log'), { topic: 'mesh.logs', format: 'access-log' });
    assert.throws(() => topicSpec('logs'), /say the topic's format/);
    assert.throws(() => topicSpec('logs=syslog'), /unknown format/);
    assert.throws(() => topicSpec('bad topic=hubble'), /not a Kafka topic name/);
  });

  const meta = { input: { topic: 't', partition: 2, first: '10', last: '19' }, piece: 0, pieces: 1, records: 10, flows: 9, deadLetters: 1, rejected: [['x', 1, []]] as [string, number, never[]][], skipped: [], unresolved: [], waitingSpans: [] };

  it('reads a partial back as written, and refuses what is not one, naming where it came from', () => {
    const b = new GraphBuilder({ source: 'access-log' });
    b.add(resolvedFlow({ from: 'web', to: 'cart', port: 8080 }));
    const g = b.toGraph();
    const back = decodePartial(encodePartial({ ...meta, graph: g }), 'topic a partition 0 offset 5');
    assert.equal(graphToJson(back.graph), graphToJson(g));
    assert.deepEqual(back.input, meta.input);
    assert.equal(back.records, 10);
    for (const bad of ['', 'not json\n{}', '{"format":"ztmap-partial","version":2}\n', JSON.stringify({ format: 'ztmap-partial', version: 1, ...meta, records: -1 }) + '\n' + graphToJson(g), JSON.stringify({ format: 'ztmap-partial', version: 1, ...meta }) + '\n{"format":"ztmap-graph"']) {
      assert.throws(() => decodePartial(Buffer.from(bad), 'topic a partition 0 offset 5'), (e: Error) => e instanceof InputError && e.message.includes('topic a partition 0 offset 5'));
    }
  });

  it('cuts a partial too large for one record into pieces that each fit and merge back to it (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1500, max: 20_000 }), (edges, spans, limit) => {
        const b = new GraphBuilder({ source: 'access-log' });
        for (let i = 0; i < edges; i++) b.add(resolvedFlow({ from: `w${i % 7}`, to: `v${i}`, port: 8000 + i, path: `/p/${i}` }));
        const span = (i: number) => ({ traceId: `t${i}`, spanId: `s${i}`, name: '', kind: 'client' as const, start: i, resource: { 'service.name': `svc-${i}`.repeat(20) }, attributes: {}, status: 'unset' as const, location: { file: 'f' } });
        const p = { ...meta, waitingSpans: Array.from({ length: spans }, (_, i) => span(i)), graph: b.toGraph() };
        const records = partialRecords(p, limit);
        const decoded = records.map((r, i) => decodePartial(r, `piece ${i}`));
        for (const r of records) assert.ok(r.length <= limit || decoded.length === edges + spans, `a piece of ${r.length} bytes over ${limit}`);
        assert.deepEqual(decoded.map((d) => d.piece), records.map((_, i) => i));
        assert.ok(decoded.every((d) => d.pieces === records.length));
        assert.equal(graphToJson(decoded.map((d) => d.graph).reduce((x, y) => mergeGraphs(x, y))), graphToJson(p.graph));
        assert.deepEqual(decoded.flatMap((d) => d.waitingSpans.map((s) => s.spanId)).sort(compare), p.waitingSpans.map((s) => s.spanId).sort(compare));
        assert.equal(decoded.reduce((n, d) => n + d.records, 0), meta.records, 'the counts travel once');
      }),
      { numRuns: 40 },
    );
  });

  it('merges the partials of any split of the flows into the graph of all of them (property)', () => {
    const flows = Array.from({ length: 40 }, (_, i) => resolvedFlow({ from: `w${i % 5}`, to: `w${(i * 3) % 7}`, port: 8000 + (i % 3), path: `/p/${i % 4}`, timestamp: Date.UTC(2026, 10, 24) + i * 1000 }));
    const graphOf = (fs: typeof flows) => {
      const b = new GraphBuilder({ source: 'access-log' });
      for (const f of fs) b.add(f);
      return b.toGraph();
    };
    const whole = graphToJson(graphOf(flows));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: flows.length, maxLength: flows.length }), fc.boolean(), (owner, reverse) => {
        const parts = [0, 1, 2, 3].map((k) => graphOf(flows.filter((_, i) => owner[i] === k)));
        const decoded = parts.map((g, k) => decodePartial(encodePartial({ ...meta, graph: g }), `p${k}`).graph);
        const ordered = reverse ? decoded.reverse() : decoded;
        const merged = ordered.reduce((a, b) => mergeGraphs(a, b));
        assert.equal(graphToJson(merged), whole);
      }),
      { numRuns: 40 },
    );
  });
});
