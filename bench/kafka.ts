// `npm run bench:kafka`: records/s of `ztmap consume` through a real Kafka broker (KRaft on
// loopback, scripts/kafka.sh), for one collector and for two in one group, on a topic of access-log
// records (bench/generate.ts' mesh). Each run is a fresh group and aggregate topic over the same
// input topic; its time runs from the collectors' start to the moment the group's committed offsets
// cover every record (polled every 100 ms), so the idle wait at the end is not counted; group
// joining is. Then the materializer merges the partials, and its graph is checked to be the same
// for both runs.
//
//   BENCH_KAFKA_RECORDS=1000000 (default)  BENCH_KAFKA_PARTITIONS=4  BENCH_KAFKA_COLLECTORS=1,2
//
// Needs Java 17 and the broker's jars (bash scripts/kafka.sh --install). Prints one line per run
// and a Markdown table for docs/performance.md.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, existsSync, createReadStream } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { startKafka } from '../test/support/kafka.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const records = Number(process.env['BENCH_KAFKA_RECORDS'] ?? 1_000_000);
const partitions = Number(process.env['BENCH_KAFKA_PARTITIONS'] ?? 4);
const collectorCounts = (process.env['BENCH_KAFKA_COLLECTORS'] ?? '1,2').split(',').map(Number);

const dir = join(root, 'bench-data', `kafka-${records}`);
const log = join(dir, `access-text-${records}.log`);
if (!existsSync(log)) {
  mkdirSync(dir, { recursive: true });
  const g = spawnSync(process.execPath, [join(here, 'generate.js'), '--lines', String(records), '--format', 'text', '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (g.status !== 0) throw new Error('bench:kafka: generate failed');
}
const inventory = join(dir, 'inventory.json');

process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}\n`);
const broker = await startKafka();
const kafka = new Kafka({ clientId: 'ztmap-bench', brokers: broker.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
try {
  await admin.createTopics({ topics: [{ topic: 'logs', numPartitions: partitions }, { topic: 'dead', numPartitions: 1 }, ...collectorCounts.map((n) => ({ topic: `agg-${n}`, numPartitions: 1 }))], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const t0 = performance.now();
  let batch: { value: string; partition: number }[] = [];
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(log), crlfDelay: Infinity })) {
    batch.push({ value: line, partition: n++ % partitions });
    if (batch.length === 20_000) {
      await producer.send({ topic: 'logs', compression: CompressionTypes.GZIP, messages: batch });
      batch = [];
    }
  }
  if (batch.length > 0) await producer.send({ topic: 'logs', compression: CompressionTypes.GZIP, messages: batch });
  await producer.disconnect();
  process.stdout.write(`topic: ${n} access-log records in ${partitions} partitions, produced in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const rows: string[] = [];
  const graphs: string[] = [];
  for (const count of collectorCounts) {
    const group = `bench-${count}`;
    const started = performance.now();
    const procs = Array.from({ length: count }, () =>
      spawn('/usr/bin/time', ['-f', 'ztmap-bench %M', process.execPath, cli, 'consume', '--brokers', broker.brokers.join(','), '-i', inventory, '--topic', 'logs=access-log', '-g', group, '--aggregate-topic', `agg-${count}`, '--dead-letter-topic', 'dead', '--until-idle', '5', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] }),
    );
    const errs = procs.map(() => '');
    procs.forEach((p, i) => p.stderr!.on('data', (b: Buffer) => (errs[i] += b.toString())));
    const exits = procs.map((p) => new Promise<number | null>((r) => p.once('exit', r)));
    let doneAt = 0;
    for (;;) {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: ['logs'] });
      const committed = (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      if (committed >= n) {
        doneAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(exits);
    const seconds = (doneAt - started) / 1000;
    const rss = errs.map((e) => Number(/ztmap-bench (\d+)/.exec(e)?.[1] ?? NaN) / 1024);
    const out = join(dir, `materialized-${count}`);
    rmSync(out, { recursive: true, force: true });
    const m = spawnSync(process.execPath, [cli, 'materialize', '--brokers', broker.brokers.join(','), '-i', inventory, '--aggregate-topic', `agg-${count}`, '-g', `m-${count}`, '-o', out, '--until-idle', '3', '-q'], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`bench:kafka: materialize exited ${m.status}: ${m.stderr}`);
    graphs.push(readFileSync(join(out, 'graph.json'), 'utf8'));
    const line = `${count} collector${count === 1 ? '' : 's'}: ${n} records in ${seconds.toFixed(1)} s = ${Math.round(n / seconds).toLocaleString('en')} records/s; peak RSS ${rss.map((r) => r.toFixed(0)).join(' + ')} MiB`;
    process.stdout.write(line + '\n');
    rows.push(`| ${count} | ${n.toLocaleString('en')} | ${seconds.toFixed(1)} s | **${Math.round(n / seconds).toLocaleString('en')}** | ${rss.map((r) => r.toFixed(0)).join(', ')} MiB |`);
  }
  process.stdout.write(`graphs identical across runs: ${graphs.every((g) => g === graphs[0])}\n\n| collectors | records | time to all committed | records/s | peak RSS per collector |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
} finally {
  await admin.disconnect();
  await broker.stop();
}
