// `ztmap consume` and `ztmap materialize` against a real Apache Kafka broker (issue 15): the
// collectors as a consumer group, partial aggregates and offsets committed together, the
// materializer's checkpoint. What must hold (docs/kafka.md, "Delivery"):
//   - one collector and two give the same graph, and it is the graph observe makes of the same lines;
//   - a collector killed with SIGKILL mid-stream and started again: the same graph, each record counted once;
//   - the materializer killed mid-stream and started again from its checkpoint: the same graph;
//   - a collector joining mid-stream (a rebalance): the same graph, the records split between them;
//   - poison records (undecodable, another format, too large) go to the dead-letter topic with
//     their origin and reason, and the partition goes on; a trace whose client and server spans
//     are in different partitions is joined by the materializer.
// Needs Java 17 and the broker's jars (scripts/kafka.sh), as the broker suite.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin, type IHeaders, type Producer } from 'kafkajs';
import { compare } from '../../src/flow/compare.js';
import { throwawayCertificates, type Certificates } from '../support/certificates.js';
import { tempDir } from '../support/cli.js';
import { deployment, service, writeInventory } from '../support/kube.js';
import { startKafka, type KafkaBroker } from '../support/kafka.js';
import { BIN, ROOT } from '../support/paths.js';
import { otlpProto, otlpRequest, type SpanSpec } from '../support/traces.js';
import { kafkaNeed, opensslNeed, suiteNeeding } from './needs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | string>;
}

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', ...env } });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, stderr: () => err, exited };
}

async function finished(p: Proc, what: string): Promise<string> {
  const code = await p.exited;
  assert.equal(code, 0, `${what} exited ${code}:\n${p.stderr().slice(-3000)}`);
  return p.stderr();
}

/** Records a collector says it committed (its last line). */
const committed = (stderr: string) => Number(/consume: stopped; (\d+) records/.exec(stderr)?.[1] ?? NaN);

suiteNeeding('ztmap consume and materialize on a real Kafka broker (issue 15)', [kafkaNeed('the Kafka collector suite'), opensslNeed('the Kafka collector suite')], function () {
  this.timeout(240_000);
  let broker: KafkaBroker | undefined;
  let certs: Certificates;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let dir: string;
  let inventory: string;
  let lines: string[];
  let observed: string;
  const kafkaArgs = () => ['--brokers', broker!.brokers.join(',')];

  const createTopics = (topics: [string, number][]) => admin.createTopics({ topics: topics.map(([topic, numPartitions]) => ({ topic, numPartitions })), waitForLeaders: true });

  /** Every line a record, spread over the topic's partitions in turn. */
  async function produceLines(topic: string, partitions: number): Promise<void> {
    for (let i = 0; i < lines.length; i += 1000) {
      await producer.send({ topic, messages: lines.slice(i, i + 1000).map((value, j) => ({ value, partition: (i + j) % partitions })) });
    }
  }

  /** Committed offsets of the group summed over the topic's partitions. */
  async function committedRecords(group: string, topic: string): Promise<number> {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  }

  const consumeArgs = (topic: string, group: string, aggregate: string, extra: string[] = []) => [
    'consume', ...kafkaArgs(), '-i', inventory, '--topic', `${topic}=access-log`, '-g', group, '--aggregate-topic', aggregate, '--dead-letter-topic', 'dead', '-q', ...extra,
  ];
  const materializeArgs = (group: string, aggregate: string, out: string, extra: string[] = [], inv = inventory) => [
    'materialize', ...kafkaArgs(), '-i', inv, '-g', group, '--aggregate-topic', aggregate, '-o', out, '-q', '--until-idle', '3', ...extra,
  ];

  async function materialized(aggregate: string, extra: string[] = [], inv = inventory): Promise<string> {
    const out = join(dir, `out-${aggregate}-${Math.random().toString(36).slice(2, 8)}`);
    await finished(start(materializeArgs(`m-${aggregate}-${out.slice(-6)}`, aggregate, out, extra, inv)), 'materialize');
    return out;
  }

  const graphOf = (out: string) => readFileSync(join(out, 'graph.json'), 'utf8');

  before(async function () {
    this.timeout(300_000);
    // With a SASL_SSL listener beside the plain one: TLS from a throwaway CA, SASL PLAIN.
    certs = throwawayCertificates(tempDir('ztmap-kafka-tls-'));
    broker = await startKafka({ cert: certs.serverCert, key: certs.serverKey, password: 's3cret' });
    kafka = new Kafka({ clientId: 'ztmap-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    // Idempotent: a retried send must not write a batch twice (the graphs are compared by count).
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    dir = tempDir('ztmap-kafka-');
    // A mesh of 40 workloads, 160 (client, server, port) pairs, 8,000 access-log lines.
    const gen = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'generate.js'), '--lines', '8000', '--format', 'text', '--out', dir, '--workloads', '40', '--pairs', '160', '--seed', '7'], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    inventory = join(dir, 'inventory.json');
    lines = readFileSync(join(dir, 'access-text-8000.log'), 'utf8').split('\n').filter((l) => l !== '');
    const obs = spawnSync(process.execPath, [BIN, 'observe', '-q', '-i', inventory, '-o', join(dir, 'observed'), '--fail-on', 'never', join(dir, 'access-text-8000.log')], { encoding: 'utf8' });
    assert.equal(obs.status, 0, obs.stderr);
    observed = graphOf(join(dir, 'observed'));
    await createTopics([['logs', 4], ['dead', 1], ['agg1', 1], ['agg2', 1], ['agg3', 1], ['agg4', 2]]);
    await produceLines('logs', 4);
  });

  after(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.stop();
  });

  it('gives the same graph from one collector and from two, and it is the graph observe makes of the same lines', async () => {
    const one = await finished(start(consumeArgs('logs', 'g1', 'agg1', ['--until-idle', '3'])), 'consume');
    assert.equal(committed(one), lines.length);
    const [a, b] = [start(consumeArgs('logs', 'g2', 'agg2', ['--until-idle', '4'])), start(consumeArgs('logs', 'g2', 'agg2', ['--until-idle', '4']))];
    const two = [await finished(a, 'consume a'), await finished(b, 'consume b')];
    assert.equal(committed(two[0]!) + committed(two[1]!), lines.length);
    const g1 = graphOf(await materialized('agg1'));
    const g2 = graphOf(await materialized('agg2'));
    assert.ok(JSON.parse(g1).edges.length > 100, 'the graph has the mesh\'s edges');
    assert.equal(g2, g1);
    assert.equal(g1, observed);
  });

  it('counts every record once when a collector is killed mid-stream and started again', async () => {
    const first = start(consumeArgs('logs', 'g3', 'agg3', ['--chunk-records', '50']));
    const until = Date.now() + 60_000;
    while ((await committedRecords('g3', 'logs')) < lines.length / 4) {
      if (Date.now() > until) assert.fail(`no progress: ${first.stderr()}`);
      await sleep(20);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const before = await committedRecords('g3', 'logs');
    assert.ok(before < lines.length, `killed mid-stream (${before} of ${lines.length} committed)`);
    const second = await finished(start(consumeArgs('logs', 'g3', 'agg3', ['--chunk-records', '50', '--until-idle', '3'])), 'consume after SIGKILL');
    assert.equal(committed(second), lines.length - before, 'the restart reads exactly what was not committed');
    const out = await materialized('agg3');
    assert.equal(graphOf(out), observed);
    const status = JSON.parse(readFileSync(join(out, 'materialize-status.json'), 'utf8')) as { input: { records: number } };
    assert.equal(status.input.records, lines.length);
  });

  it('goes on from its checkpoint when the materializer is killed mid-stream', async () => {
    // agg3 holds 160+ partials; a pause between them (a test knob) keeps the materializer busy past a checkpoint.
    const out = join(dir, 'out-killed');
    const group = 'm-killed';
    const m = start(materializeArgs(group, 'agg3', out, ['--interval', '1']), { ZTMAP_TEST_MATERIALIZE_PAUSE_MS: '60' });
    const statusFile = join(out, 'materialize-status.json');
    const until = Date.now() + 60_000;
    let offset = 0;
    while (offset === 0) {
      if (Date.now() > until) assert.fail(`no checkpoint: ${m.stderr()}`);
      await sleep(20);
      try {
        offset = Number((JSON.parse(readFileSync(statusFile, 'utf8')) as { offsets: Record<string, string> }).offsets['0'] ?? 0);
      } catch {
        // not yet written
      }
    }
    m.child.kill('SIGKILL');
    await m.exited;
    const [end] = await admin.fetchTopicOffsets('agg3');
    assert.ok(offset < Number(end!.high) - 1, `killed mid-stream (checkpoint at offset ${offset} of ${end!.high})`);
    await finished(start(materializeArgs(group, 'agg3', out)), 'materialize after SIGKILL');
    assert.equal(graphOf(out), observed);
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as { input: { records: number } };
    assert.equal(status.input.records, lines.length, 'no partial merged twice');
  });

  it('splits the partitions with a collector that joins mid-stream, and the graph stays the same', async () => {
    const a = start(consumeArgs('logs', 'g4', 'agg4', ['--chunk-records', '50', '--until-idle', '4']));
    const until = Date.now() + 60_000;
    while ((await committedRecords('g4', 'logs')) < lines.length / 8) {
      if (Date.now() > until) assert.fail(`no progress: ${a.stderr()}`);
      await sleep(20);
    }
    const b = start(consumeArgs('logs', 'g4', 'agg4', ['--chunk-records', '50', '--until-idle', '4']));
    const [sa, sb] = [await finished(a, 'consume a'), await finished(b, 'consume b')];
    assert.ok(committed(sb) > 0, `the second collector took partitions: ${sb}`);
    assert.equal(committed(sa) + committed(sb), lines.length);
    assert.equal(graphOf(await materialized('agg4')), observed);
  });

  it('reads over TLS with SASL, and says what to fix when the CA or the password is wrong', async () => {
    await createTopics([['secure', 1], ['agg6', 1]]);
    await producer.send({ topic: 'secure', messages: lines.slice(0, 500).map((value) => ({ value })) });
    const secure = (group: string, password: string, tls: string[]) =>
      start(['consume', '--brokers', broker!.secureBrokers!.join(','), ...tls, '--sasl-mechanism', 'plain', '--sasl-username', 'ztmap', '-i', inventory, '--topic', 'secure=access-log', '-g', group, '--aggregate-topic', 'agg6', '--dead-letter-topic', 'dead', '--until-idle', '2', '-q'], { KAFKA_SASL_PASSWORD: password });
    const ok = await finished(secure('g6', 's3cret', ['--tls-ca', certs.ca]), 'consume over SASL_SSL');
    assert.equal(committed(ok), 500);
    const badPassword = secure('g6-bad', 'wrong', ['--tls-ca', certs.ca]);
    assert.equal(await badPassword.exited, 2);
    assert.match(badPassword.stderr(), /ztmap: consume: cannot connect to Kafka at .*The brokers refused the SASL credentials/);
    const noCa = secure('g6-noca', 's3cret', ['--tls']);
    assert.equal(await noCa.exited, 2);
    assert.match(noCa.stderr(), /TLS failed: give the brokers' CA with --tls-ca/);
    assert.doesNotMatch(badPassword.stderr() + noCa.stderr(), /s3cret|internal error/);
  });

  it('publishes a partial larger than a record in pieces, and merges no partial twice: not a second group\'s, not one that is no partial', async () => {
    await createTopics([['big', 1], ['agg7', 1]]);
    const t0 = Date.UTC(2026, 10, 24, 10) * 1000;
    // 40 requests of 200 client spans each, to hosts that are not traced: none joins in the
    // chunk, so the chunk's partial carries all 8,000 spans (several MB) to the materializer.
    const request = (r: number) =>
      otlpProto(otlpRequest(Array.from({ length: 200 }, (_, i): SpanSpec => ({
        traceId: (r * 1000 + i + 1).toString(16).padStart(32, '0'), spanId: (r * 1000 + i + 1).toString(16).padStart(16, '0'), name: 'GET', kind: 'client', startMicros: t0 + (r * 200 + i) * 1000, durationMicros: 10, service: 'web',
        resource: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'web' },
        attributes: { 'http.request.method': 'GET', 'url.full': `https://api${i % 5}.example.com/v1/items/${r}-${i}`, 'server.address': `api${i % 5}.example.com`, 'server.port': 443 },
      }))));
    for (let r = 0; r < 40; r += 10) await producer.send({ topic: 'big', messages: Array.from({ length: 10 }, (_, k) => ({ value: request(r + k) })) });
    const consumeBig = (group: string) => start(['consume', ...kafkaArgs(), '-i', inventory, '--topic', 'big=otlp_proto', '-g', group, '--aggregate-topic', 'agg7', '--dead-letter-topic', 'dead', '--until-idle', '3', '-q']);
    assert.equal(committed(await finished(consumeBig('g7'), 'consume big')), 40);
    // A second group over the same topic into the same aggregate topic: its partials are duplicates.
    assert.equal(committed(await finished(consumeBig('g7-again'), 'consume big again')), 40);
    // And a record that looks like a partial but holds a span that is none.
    const bad = JSON.stringify({ format: 'ztmap-partial', version: 1, input: { topic: 'big', partition: 0, first: '1000', last: '1000' }, piece: 0, pieces: 1, records: 1, flows: 0, deadLetters: 0, rejected: [], skipped: [], unresolved: [], waitingSpans: [{ traceId: 'a', spanId: 'b', name: '', kind: 'client', start: 1, resource: null, attributes: null, status: 'unset', location: {} }] });
    await producer.send({ topic: 'agg7', messages: [{ value: bad + '\n' + graphOf(join(dir, 'observed')) }] });
    const [end] = await admin.fetchTopicOffsets('agg7');
    assert.ok(Number(end!.high) > 4, `the partial went in pieces (${end!.high} records in the aggregate topic)`);
    const out = join(dir, 'out-big');
    const run = () => finished(start(materializeArgs('m-big', 'agg7', out, ['--flush-on-stop'])), 'materialize big');
    await run();
    type Status = { partials: number; badPartials: Record<string, number>; input: { records: number }; spans: { received: number; flushed: number } };
    const status = () => JSON.parse(readFileSync(join(out, 'materialize-status.json'), 'utf8')) as Status;
    const first = status();
    assert.equal(first.input.records, 40, 'each record counted once, though two groups read it');
    assert.equal(first.spans.received, 8000);
    assert.equal(first.badPartials['unreadable-partial'], 1);
    assert.ok((first.badPartials['duplicate-partial'] ?? 0) >= 1, JSON.stringify(first.badPartials));
    const graph = graphOf(out);
    assert.equal((JSON.parse(graph) as { edges: unknown[] }).edges.length, 5, 'web → the five external hosts');
    // Started again on the same OUT: nothing is merged twice.
    await run();
    assert.equal(status().input.records, 40);
    assert.equal(graphOf(out), graph);
  });

  it('sends poison records to the dead-letter topic with their origin, and joins a trace split over partitions', async () => {
    await createTopics([['spans', 2], ['agg5', 1], ['dead5', 1]]);
    const invDir = join(dir, 'spans');
    mkdirSync(invDir);
    const inv = writeInventory(invDir, [
      ...deployment('shop', 'web', { ip: '10.61.2.14', ports: [], start: '2026-03-01T00:00:00Z' }),
      ...deployment('shop', 'cart', { ip: '10.61.3.25', ports: [['http', 8080]], start: '2026-03-01T00:00:00Z' }),
      service('shop', 'cart', { app: 'cart' }, [[9080, 8080]], '10.96.61.9'),
    ]);
    const t0 = Date.UTC(2026, 10, 24, 10) * 1000;
    const client: SpanSpec = {
      traceId: '0000000000000000000000000000abcd', spanId: '00000000000000c1', name: 'GET', kind: 'client', startMicros: t0, durationMicros: 4000, service: 'web',
      resource: { 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'web-5d8f-abcde', 'k8s.deployment.name': 'web' },
      attributes: { 'http.request.method': 'GET', 'url.full': 'http://cart.shop.svc.cluster.local:9080/cart/17', 'server.address': 'cart.shop.svc.cluster.local', 'server.port': 9080 },
    };
    const server: SpanSpec = {
      traceId: client.traceId, spanId: '00000000000000c2', parentSpanId: client.spanId, name: 'GET /cart/{id}', kind: 'server', startMicros: t0 + 500, durationMicros: 3000, service: 'cart',
      resource: { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'cart' },
      attributes: { 'http.request.method': 'GET', 'http.route': '/cart/{id}', 'url.path': '/cart/17', 'server.port': 8080, 'http.response.status_code': 200 },
    };
    await producer.send({
      topic: 'spans',
      messages: [
        { partition: 0, value: otlpProto(otlpRequest([client])) },
        { partition: 0, value: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]) },
        { partition: 1, value: Buffer.from('{"resourceSpans":[]}') },
        { partition: 1, value: Buffer.alloc(5000, 0x0a) },
        { partition: 1, value: otlpProto(otlpRequest([server])) },
      ],
    });
    const c = await finished(start(['consume', ...kafkaArgs(), '-i', inv, '--topic', 'spans=otlp_proto', '-g', 'g5', '--aggregate-topic', 'agg5', '--dead-letter-topic', 'dead5', '--max-record-bytes', '4096', '--until-idle', '3', '-q']), 'consume spans');
    assert.match(c, /5 records in \d+ chunks committed .* 3 dead letters/);
    const out = await materialized('agg5', ['--flush-on-stop'], inv);
    const status = JSON.parse(readFileSync(join(out, 'materialize-status.json'), 'utf8')) as { input: { deadLetters: number }; spans: { pairs: number } };
    assert.equal(status.input.deadLetters, 3);
    assert.equal(status.spans.pairs, 1, 'the client span (partition 0) and its server span (partition 1) joined');
    const graph = JSON.parse(graphOf(out)) as { edges: { attributes: { source: string; target: string; port: number } }[] };
    assert.deepEqual(graph.edges.map((e) => [e.attributes.source, e.attributes.target, e.attributes.port]), [['shop/Deployment/web', 'shop/Deployment/cart', 8080]]);

    // The dead letters, read_committed: each with its origin and why.
    const reader = kafka.consumer({ groupId: 'dead-reader', maxWaitTimeInMs: 200 });
    const seen: { value: Buffer; headers: IHeaders }[] = [];
    await reader.connect();
    await reader.subscribe({ topics: ['dead5'], fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void seen.push({ value: message.value!, headers: message.headers ?? {} }) });
    const until = Date.now() + 20_000;
    while (seen.length < 3 && Date.now() < until) await sleep(50);
    await reader.disconnect();
    const h = (m: { headers: IHeaders }, k: string) => String(m.headers[k]);
    const letters = seen.map((m) => [h(m, 'ztmap.origin.topic'), h(m, 'ztmap.origin.partition'), h(m, 'ztmap.origin.offset'), h(m, 'ztmap.reason'), m.value.length]).sort((x, y) => compare(`${x[1]}/${x[2]}`, `${y[1]}/${y[2]}`));
    assert.equal(letters.length, 3);
    assert.deepEqual(letters[0]!.slice(0, 3), ['spans', '0', '1']);
    assert.deepEqual(letters[1]!.slice(0, 3), ['spans', '1', '0']);
    assert.deepEqual(letters[2]!.slice(0, 4), ['spans', '1', '1', 'record-too-large']);
    assert.equal(letters[2]![4], 5000, 'the record itself, whole');
  });
});
