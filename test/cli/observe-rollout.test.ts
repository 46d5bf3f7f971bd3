// Issue 11, part 4: pods replaced during the window. fixtures/rollout (scripts/make-rollout-fixture.ts)
// rolls cart twice and frontend once, replaces redis-0, runs a CronJob's pod on an old cart
// address and scales catalog up onto another: two snapshots and the sidecars' own lines must
// resolve every request whose endpoints left their own lines or are in a snapshot, and no
// address reused by another pod may resolve to its former holder's workload.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { observeGraph } from '../../src/cli/commands/observe.js';
import { compare } from '../../src/flow/compare.js';
import { learnBindings } from '../../src/cli/observe/bindings.js';
import { observePart } from '../../src/cli/observe/part.js';
import { loadInventory } from '../../src/inventory/inventory.js';
import { expandInputs } from '../../src/sources/transports/files.js';
import { graphToJson } from '../../src/graph/json.js';
import { tempDir, ztmap } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const DIR = join(FIXTURES, 'rollout');
const BEFORE = join(DIR, 'inventory-before.json');
const AFTER = join(DIR, 'inventory-after.json');
const LOGS = join(DIR, 'logs');

interface ExpectedEdge {
  source: string;
  target: string;
  port: number;
  protocol: string;
  requests: number;
  knowable: boolean;
}
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { requests: number; knowableRequests: number; edges: ExpectedEdge[] };

interface GraphDoc {
  nodes: { key: string; attributes: { kind: string; serviceAccounts: string[] } }[];
  edges: { key: string; attributes: { source: string; target: string; port: number; protocol: string; client: { requests: number }; server: { requests: number } } }[];
}

function edgesOf(g: GraphDoc) {
  return g.edges.map(({ attributes: a }) => ({ source: a.source, target: a.target, port: a.port, protocol: a.protocol, requests: Math.max(a.client.requests, a.server.requests) }));
}

/** Requests on edges whose both ends are workloads, of all requests; and of those the oracle calls knowable. */
function share(g: GraphDoc) {
  const kind = new Map(g.nodes.map((n) => [n.key, n.attributes.kind]));
  let resolved = 0;
  let total = 0;
  for (const e of edgesOf(g)) {
    total += e.requests;
    if (kind.get(e.source) === 'workload' && kind.get(e.target) === 'workload') resolved += e.requests;
  }
  return { resolved, total };
}

describe('observe over a rolling deploy mid-window @e2e', () => {
  it('resolves every request whose endpoints left their own lines or are in a snapshot, each to its own workload', function () {
    this.timeout(60_000);
    const out = tempDir();
    const r = ztmap(['observe', '-i', `${BEFORE}@2026-11-24T09:00:00Z`, '-i', `${AFTER}@2026-11-24T11:30:00Z`, '-o', out, LOGS]);
    // Only debug's requests stay unresolved (no sidecar, no snapshot): exit 4, counted exactly.
    assert.equal(r.status, 4, r.stderr);
    const g = JSON.parse(readFileSync(join(out, 'graph.json'), 'utf8')) as GraphDoc;
    const { resolved, total } = share(g);
    assert.equal(total, expected.requests);
    assert.equal(resolved, expected.knowableRequests, `resolved ${resolved} of ${expected.knowableRequests} knowable requests`);
    // Every edge as the simulation made it: no request moved to a former holder of its address
    // (cart's old 10.20.1.11 is catalog's after 11:15, its old 10.20.2.11 the CronJob's at 10:30).
    const byKey = (e: { source: string; target: string; port: number }) => `${e.source}|${e.target}|${e.port}`;
    assert.deepEqual(
      edgesOf(g).sort((a, b) => compare(byKey(a), byKey(b))),
      expected.edges.map(({ knowable: _, ...e }) => e).sort((a, b) => compare(byKey(a), byKey(b))),
    );
    assert.match(r.stderr, /unresolved endpoints \(kept as unknown nodes\): 9\n  source-unknown-ip: 9\n/);
    assert.match(r.stderr, /learned from the pods' own lines: 15 pods/);
    assert.match(r.stderr, /2 through their Deployment's naming \(ReplicaSet gone\), 1 through their ReplicaSet, 1 through their CronJob's naming \(Job gone\)/);
    // Service accounts of pods no snapshot holds come from their controllers' templates.
    const sa = new Map(g.nodes.map((n) => [n.key, n.attributes.serviceAccounts]));
    assert.deepEqual(sa.get('shop/CronJob/reindex'), ['reindex']);
    assert.deepEqual(sa.get('shop/Deployment/cart'), ['cart']);
  });

  it('writes the pods it learned as an inventory file, for propose to select workloads whose pods are all gone', function () {
    this.timeout(60_000);
    const out = tempDir();
    const snapshots = ['-i', `${BEFORE}@2026-11-24T09:00:00Z`, '-i', `${AFTER}@2026-11-24T11:30:00Z`];
    ztmap(['observe', '-q', ...snapshots, '-o', out, LOGS]);
    const learned = JSON.parse(readFileSync(join(out, 'learned-pods.json'), 'utf8')) as { items: { metadata: { name: string; labels: Record<string, string> }; spec: { serviceAccountName: string } }[] };
    assert.deepEqual(learned.items.map((p) => p.metadata.name.replace(/-[a-z0-9]+$/, '')).sort(), ['cart-qskjvdwtv9', 'cart-qskjvdwtv9', 'frontend-v6xkkr2vdr', 'reindex-29925270'].sort());
    const reindex = learned.items.find((p) => p.metadata.name.startsWith('reindex-'))!;
    assert.deepEqual([reindex.metadata.labels, reindex.spec.serviceAccountName], [{ app: 'reindex' }, 'reindex']);
    // Given back to observe, it is no snapshot: it ends no pod and changes nothing.
    const again = tempDir();
    ztmap(['observe', '-q', ...snapshots, '-i', join(out, 'learned-pods.json'), '-o', again, LOGS]);
    assert.equal(readFileSync(join(again, 'graph.json'), 'utf8'), readFileSync(join(out, 'graph.json'), 'utf8'));
    // Without it, propose cannot select the CronJob whose Jobs were cleaned up; with it, it can.
    const without = ztmap(['propose', '-g', join(out, 'graph.json'), ...snapshots, '-o', join(out, 'p1')]);
    assert.match(without.stderr, /shop\/CronJob\/reindex has no pods in the inventory/);
    const withLearned = ztmap(['propose', '-g', join(out, 'graph.json'), ...snapshots, '-i', join(out, 'learned-pods.json'), '-o', join(out, 'p2')]);
    assert.doesNotMatch(withLearned.stderr, /reindex has no pods/, withLearned.stderr);
  });

  it('without a time per snapshot, takes the newest time inside each dump, and resolves the same', function () {
    this.timeout(60_000);
    const timed = tempDir();
    const untimed = tempDir();
    ztmap(['observe', '-q', '-i', `${BEFORE}@2026-11-24T09:00:00Z`, '-i', `${AFTER}@2026-11-24T11:30:00Z`, '-o', timed, LOGS]);
    // Given after, then before: the order of -i does not matter, the times do.
    const r = ztmap(['observe', '-i', AFTER, '-i', BEFORE, '-o', untimed, LOGS]);
    assert.match(r.stderr, /inventory-after\.json at 2026-11-24T11:\d\d:\d\d\.000Z \(newest time in the dump\)/);
    assert.equal(readFileSync(join(untimed, 'graph.json'), 'utf8'), readFileSync(join(timed, 'graph.json'), 'utf8'));
  });

  it('learns the same whatever the order of the files and the number of workers', async function () {
    this.timeout(120_000);
    const inventory = [`${BEFORE}@2026-11-24T09:00:00Z`, `${AFTER}@2026-11-24T11:30:00Z`];
    const run = async (inputs: string[], jobs: number) =>
      graphToJson((await observeGraph({ inputs, inventory, format: 'auto', container: 'istio-proxy', maxLineLength: 262144, merge: [], jobs, minPartBytes: 1 })).graph);
    const one = await run([LOGS], 1);
    const files = readdirSync(join(LOGS, 'pods')).map((d) => join(LOGS, 'pods', d, 'istio-proxy', '0.log'));
    assert.equal(await run([...files].reverse(), 1), one, 'files in reverse order');
    assert.equal(await run([LOGS], 3), one, '--jobs 3, every file its own part');
  });

  it('counts repeats of a route from bytes exactly as decoding every line, across learned lifetimes and replaced namesakes', async function () {
    this.timeout(60_000);
    const files = await expandInputs([LOGS]);
    const options = { format: 'auto' as const, container: 'istio-proxy', maxLineLength: 262144 };
    const inventory = await loadInventory([`${BEFORE}@2026-11-24T09:00:00Z`, `${AFTER}@2026-11-24T11:30:00Z`], await learnBindings(files, options));
    const [decoded, repeated] = await Promise.all([false, true].map((repeats) => observePart(inventory, files, options, undefined, { repeats })));
    assert.ok(repeated!.repeated > 1000, `repeats counted from bytes: ${repeated!.repeated}`);
    assert.equal(graphToJson(repeated!.graph), graphToJson(decoded!.graph));
    assert.deepEqual(repeated!.unresolved.entries(), decoded!.unresolved.entries());
  });

  it('without the logs of the pods that are in no snapshot, their peers stay unknown, and nothing is misattributed', function () {
    this.timeout(60_000);
    // One snapshot only, and only the logs of pods it holds: what ztmap did before learning.
    const out = tempDir();
    const kept = readdirSync(join(LOGS, 'pods')).filter((d) => /^shop_(catalog|redis)/.test(d)).map((d) => join(LOGS, 'pods', d));
    ztmap(['observe', '-q', '-i', `${AFTER}@2026-11-24T11:30:00Z`, '-o', out, ...kept]);
    const g = JSON.parse(readFileSync(join(out, 'graph.json'), 'utf8')) as GraphDoc;
    for (const e of edgesOf(g)) {
      // Requests from cart's old addresses before 11:15 must not become catalog's (it only got 10.20.1.11 then).
      assert.ok(!(e.source === 'shop/Deployment/catalog' && e.target === 'shop/Deployment/catalog'), JSON.stringify(e));
    }
  });
});
