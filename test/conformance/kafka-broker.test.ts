// kafkajs against a real Apache Kafka broker (issue 15): one KRaft node on loopback, started by
// scripts/kafka.sh from Maven Central jars (test/support/kafka.ts). What ztmap's Kafka mode rests
// on, checked on the broker version the tests use (docs/kafka.md, "Test broker"): Kafka 4 removed
// old protocol versions (KIP-896), so every kafkajs request below must still be served.
//   - topics are created with the partitions asked;
//   - the two members of a consumer group split a topic's partitions, each record read once; a
//     third member joining takes its share, and its leaving gives it back;
//   - a transaction commits its records and the consumed offsets together (sendOffsets), an
//     aborted one commits neither, and a read_committed consumer sees neither aborted records nor
//     those of a transaction still open;
//   - a producer that starts with the transactionalId of one that died inside a transaction fences
//     it: the dead one's records are never committed (what a collector restarted after SIGKILL does).
// Here because it needs Java 17 and the broker's jars, which `npm test` does not: without them
// it says so in one line (bash scripts/kafka.sh --install gets the jars), and fails under CI=true.

import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { startKafka, type KafkaBroker } from '../support/kafka.js';
import { kafkaNeed, suiteNeeding } from './needs.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every 50 ms until it holds; fails with `what` and `state()` after `ms`. */
async function waitFor(what: string, done: () => boolean, state: () => unknown, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) assert.fail(`timed out after ${ms} ms waiting for ${what}; state: ${JSON.stringify(state())}`);
    await sleep(50);
  }
}

const text = (m: KafkaMessage) => m.value?.toString('utf8') ?? '';

interface Seen {
  partition: number;
  value: string;
}

suiteNeeding('Kafka broker (KRaft on loopback) with kafkajs (issue 15)', [kafkaNeed('the Kafka broker suite')], function () {
  this.timeout(120_000);
  let broker: KafkaBroker | undefined;
  let kafka: Kafka;
  let admin: Admin;
  // kafkajs logs to memory, not the console: expected retries (a coordinator still loading,
  // "concurrent transactions" while the broker finishes the previous one) would read as failures.
  // A failing test prints the last lines.
  const logs: string[] = [];
  const open: (Consumer | Producer)[] = [];

  const consumer = (config: Parameters<Kafka['consumer']>[0]) => {
    const c = kafka.consumer({ sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: 10_000, maxWaitTimeInMs: 250, ...config });
    open.push(c);
    return c;
  };
  const producer = (config?: Parameters<Kafka['producer']>[0]) => {
    const p = kafka.producer(config);
    open.push(p);
    return p;
  };

  before(async function () {
    // A cold start fetches the jars first (bash scripts/kafka.sh --install ahead of the tests avoids it).
    this.timeout(300_000);
    broker = await startKafka();
    kafka = new Kafka({
      clientId: 'ztmap-test',
      brokers: broker.brokers,
      logLevel: logLevel.INFO,
      logCreator: () => ({ namespace, level, log }) => {
        const { message, ...rest } = log;
        logs.push(`${logLevel[level]} ${namespace} ${message} ${JSON.stringify(rest)}`);
        if (logs.length > 2000) logs.splice(0, logs.length - 1000);
      },
    });
    admin = kafka.admin();
    await admin.connect();
  });

  afterEach(async function () {
    for (const c of open.splice(0).reverse()) await c.disconnect();
    if (this.currentTest?.state === 'failed') console.log(`kafkajs, last lines:\n${logs.slice(-40).join('\n')}`);
  });

  after(async () => {
    await admin?.disconnect();
    await broker?.stop();
  });

  it('creates topics with the partitions asked', async () => {
    const created = await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'created', numPartitions: 3 }] });
    assert.equal(created, true);
    const { topics } = await admin.fetchTopicMetadata({ topics: ['created'] });
    assert.deepEqual(topics.map((t) => [t.name, t.partitions.map((p) => p.partitionId).sort((a, b) => a - b)]), [['created', [0, 1, 2]]]);
  });

  it('splits a topic\'s partitions between the two members of a consumer group, each record read once', async () => {
    const topic = 'split';
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 4 }] });
    const members = [consumer({ groupId: 'split-group' }), consumer({ groupId: 'split-group' })];
    const assigned: number[][] = [[], []];
    const seen: Seen[][] = [[], []];
    for (const [k, c] of members.entries()) {
      c.on(c.events.GROUP_JOIN, (e) => {
        assigned[k] = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      });
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({
        eachMessage: async ({ partition, message }) => {
          seen[k]!.push({ partition, value: text(message) });
        },
      });
    }
    // Records only once the group is stable, so that none is read before a rebalance and again after it.
    await waitFor('two partitions for each member', () => assigned.every((a) => a.length === 2), () => assigned);
    assert.deepEqual([...assigned[0]!, ...assigned[1]!].sort((a, b) => a - b), [0, 1, 2, 3]);

    const p = producer();
    await p.connect();
    const values = Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, value: `r${i}` }));
    await p.send({ topic, messages: values });
    await waitFor('all 40 records', () => seen[0]!.length + seen[1]!.length >= 40, () => seen.map((s) => s.length));
    await sleep(500); // a record read twice would come now

    for (const k of [0, 1]) {
      assert.ok(seen[k]!.length > 0, `member ${k} read records`);
      for (const r of seen[k]!) assert.ok(assigned[k]!.includes(r.partition), `member ${k} read ${r.value} from partition ${r.partition}, not its own`);
    }
    const all = [...seen[0]!, ...seen[1]!].map((r) => r.value).sort();
    assert.deepEqual(all, values.map((v) => v.value).sort(), 'each record once');
  });

  it('rebalances when a third member joins and when it leaves: the partitions always split among the members', async () => {
    const topic = 'rebalance';
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
    const assigned = new Map<number, number[]>();
    const join = async (k: number) => {
      const c = consumer({ groupId: 'rebalance-group' });
      c.on(c.events.GROUP_JOIN, (e) => {
        assigned.set(k, [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b));
      });
      await c.connect();
      await c.subscribe({ topics: [topic] });
      await c.run({ eachMessage: async () => undefined });
      return c;
    };
    /** The members' partitions, when each of `members` has one and together they are every partition once. */
    const split = (members: number[]) => members.every((k) => (assigned.get(k)?.length ?? 0) > 0) && members.flatMap((k) => assigned.get(k) ?? []).sort((a, b) => a - b).join() === '0,1,2';
    const state = () => Object.fromEntries(assigned);
    await join(0);
    await join(1);
    await waitFor('two members splitting three partitions', () => split([0, 1]), state);
    const third = await join(2);
    await waitFor('three members with a partition each', () => split([0, 1, 2]), state);
    await third.disconnect();
    assigned.delete(2);
    await waitFor('the two members splitting the three partitions again', () => split([0, 1]), state);
  });

  it('commits a transaction\'s records with the consumed offsets (sendOffsets); read_committed sees no aborted or open record', async () => {
    const [input, output, group] = ['txn-in', 'txn-out', 'txn-group'];
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: input, numPartitions: 2 }, { topic: output, numPartitions: 2 }] });
    const plain = producer();
    await plain.connect();
    const inputs = Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `in${i}` }));
    await plain.send({ topic: input, messages: inputs });

    const tx = producer({ transactionalId: 'ztmap-test-txn', idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    const committedOffsets = async () => (await admin.fetchOffsets({ groupId: group, topics: [input] }))[0]!.partitions.map((p) => [p.partition, p.offset]).sort((a, b) => Number(a[0]) - Number(b[0]));

    // An aborted transaction commits neither its records nor its offsets.
    const aborted = await tx.transaction();
    await aborted.send({ topic: output, messages: [{ partition: 0, value: 'aborted-1' }, { partition: 1, value: 'aborted-1' }] });
    await aborted.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }] });
    await aborted.abort();
    assert.deepEqual(await committedOffsets(), [[0, '-1'], [1, '-1']], 'no offset committed by the aborted transaction');

    // Consume, transform, produce: each batch's output and its offsets in one transaction.
    const c = consumer({ groupId: group });
    await c.connect();
    await c.subscribe({ topics: [input], fromBeginning: true });
    let processed = 0;
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const t = await tx.transaction();
        try {
          await t.send({ topic: output, messages: batch.messages.map((m) => ({ partition: batch.partition, value: `out-${text(m)}` })) });
          await t.sendOffsets({ consumerGroupId: group, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }] });
          await t.commit();
        } catch (e) {
          await t.abort();
          throw e;
        }
        for (const m of batch.messages) resolveOffset(m.offset);
        processed += batch.messages.length;
      },
    });
    await waitFor('the 20 input records processed', () => processed >= 20, () => processed);
    await c.stop();
    assert.equal(processed, 20);
    assert.deepEqual(await committedOffsets(), [[0, '10'], [1, '10']], 'offsets committed by the transactions, with autoCommit off');

    const again = await tx.transaction();
    await again.send({ topic: output, messages: [{ partition: 0, value: 'aborted-2' }, { partition: 1, value: 'aborted-2' }] });
    await again.abort();
    // Left open while the reader reads: its record, and everything after it, must wait.
    const pending = await tx.transaction();
    await pending.send({ topic: output, messages: [{ partition: 0, value: 'open' }] });

    const read = async (readUncommitted: boolean, into: Seen[]) => {
      const r = consumer({ groupId: `reader-${readUncommitted ? 'uncommitted' : 'committed'}`, readUncommitted });
      await r.connect();
      await r.subscribe({ topics: [output], fromBeginning: true });
      await r.run({
        eachMessage: async ({ partition, message }) => {
          into.push({ partition, value: text(message) });
        },
      });
    };
    const committed: Seen[] = [];
    const uncommitted: Seen[] = [];
    await read(false, committed);
    await read(true, uncommitted);
    await waitFor('the 20 committed records', () => committed.length >= 20, () => committed);
    await waitFor('the open transaction\'s record, read uncommitted', () => uncommitted.some((r) => r.value === 'open'), () => uncommitted);
    await sleep(1_000);
    assert.ok(!committed.some((r) => r.value === 'open'), 'read_committed does not see a record of an open transaction');

    // Close it by aborting, then commit a last record on each partition to know when the reader is done.
    await pending.abort();
    const last = await tx.transaction();
    await last.send({ topic: output, messages: [{ partition: 0, value: 'end' }, { partition: 1, value: 'end' }] });
    await last.commit();
    const ended = (rs: Seen[]) => rs.filter((r) => r.value === 'end').length === 2;
    await waitFor('the end of both partitions, read committed', () => ended(committed), () => committed);
    await waitFor('the end of both partitions, read uncommitted', () => ended(uncommitted), () => uncommitted);

    const values = (rs: Seen[]) => rs.map((r) => r.value).sort();
    const expected = [...inputs.map((i) => `out-${i.value}`), 'end', 'end'].sort();
    assert.deepEqual(values(committed), expected, 'read_committed: the committed records, each once, nothing aborted or open');
    for (const r of committed.filter((x) => x.value.startsWith('out-'))) {
      assert.equal(r.partition, Number(r.value.slice('out-in'.length)) % 2, `${r.value} on the partition of its input`);
    }
    // The aborted records were written, and only the isolation level hides them.
    assert.deepEqual(values(uncommitted), [...expected, 'aborted-1', 'aborted-1', 'aborted-2', 'aborted-2', 'open'].sort());
  });

  it('fences a producer that died inside a transaction: a new one with its transactionalId aborts it', async () => {
    const topic = 'fenced';
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const config = { transactionalId: 'ztmap-test-fenced', idempotent: true, maxInFlightRequests: 1 };
    const dead = producer(config);
    await dead.connect();
    const zombie = await dead.transaction();
    await zombie.send({ topic, messages: [{ value: 'zombie' }] });
    // As after SIGKILL: never committed nor aborted. The restart's InitProducerId bumps the epoch.
    const restarted = producer(config);
    await restarted.connect();
    const t = await restarted.transaction();
    await t.send({ topic, messages: [{ value: 'restarted' }] });
    await t.commit();
    await assert.rejects(zombie.commit(), (e: Error & { type?: string }) => e.type === 'INVALID_PRODUCER_EPOCH' || e.type === 'PRODUCER_FENCED', 'the old producer cannot commit');

    const seen: string[] = [];
    const r = consumer({ groupId: 'fenced-reader' });
    await r.connect();
    await r.subscribe({ topics: [topic], fromBeginning: true });
    await r.run({
      eachMessage: async ({ message }) => {
        seen.push(text(message));
      },
    });
    await waitFor('the restarted producer\'s record', () => seen.includes('restarted'), () => seen);
    await sleep(500);
    assert.deepEqual(seen, ['restarted']);
  });
});
