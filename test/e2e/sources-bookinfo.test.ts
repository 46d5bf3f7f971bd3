// @e2e: the Bookinfo hour as Istio metrics (/federate) and Hubble flows, against the same hour as
// access logs. All three are written by scripts/make-fixtures.ts from the same simulated requests
// (never one from another), and expected-graph.json is that simulation's own account: so each
// source alone must find what it can see of those edges, and fused with the logs must change no
// count, only the provenance (`sources` in graph.json, the `sources` column of edges.csv).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { requestsOf, type EdgeAttributes } from '../../src/graph/attributes.js';
import type { GraphDocument } from '../../src/graph/json.js';
import { ztmap, tempDir, type Run } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');
const LOGS = join(BOOKINFO, 'logs');
const METRICS = join(BOOKINFO, 'metrics');
const HUBBLE = join(BOOKINFO, 'hubble');

interface ExpectedEdge {
  source: string;
  target: string;
  port: number;
  protocol: string;
  requests: number;
}
const expected = JSON.parse(readFileSync(join(BOOKINFO, 'expected-graph.json'), 'utf8')) as { edges: ExpectedEdge[] };

interface Observed {
  r: Run;
  out: string;
  graph: GraphDocument;
  edges: EdgeAttributes[];
  files: Record<string, string>;
}

function observe(inputs: string[]): Observed {
  const out = tempDir();
  const r = ztmap(['observe', '-i', INVENTORY, '-o', out, ...inputs]);
  const files: Record<string, string> = {};
  for (const f of ['graph.json', 'nodes.csv', 'edges.csv']) files[f] = readFileSync(join(out, f), 'utf8');
  const graph = JSON.parse(files['graph.json']!) as GraphDocument;
  return { r, out, graph, edges: graph.edges.map((e) => e.attributes), files };
}

const isWorkload = (key: string): boolean => /^[^:/]+\/[A-Za-z]+\/[^/]+$/.test(key);
const pairPort = (e: { source: string; target: string; port: number }): string => `${e.source} -> ${e.target}:${e.port}`;
const fullKey = (e: { source: string; target: string; port: number; protocol: string }): string => `${pairPort(e)}/${e.protocol}`;
const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The workloads whose pods run an Istio proxy (a sidecar, or the gateway's own istio-proxy):
 * only their requests carry a source workload in Istio's metrics. Read from the inventory.
 */
function proxiedWorkloads(): Set<string> {
  type Item = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] }; spec?: { containers?: { name: string; image: string }[] } };
  const items = (JSON.parse(readFileSync(INVENTORY, 'utf8')) as { items: Item[] }).items;
  const owner = new Map(items.filter((i) => i.kind === 'Job').map((j) => [`${j.metadata.namespace}/${j.metadata.name}`, j.metadata.ownerReferences?.[0]?.name ?? j.metadata.name]));
  const out = new Set<string>();
  for (const p of items.filter((i) => i.kind === 'Pod')) {
    const proxied = (p.spec?.containers ?? []).some((c) => c.name === 'istio-proxy' || c.image.includes('/proxyv2:'));
    if (!proxied) continue;
    const ns = p.metadata.namespace ?? '';
    const ref = p.metadata.ownerReferences?.[0];
    if (ref?.kind === 'ReplicaSet') out.add(`${ns}/Deployment/${ref.name.replace(new RegExp(`-${p.metadata.labels?.['pod-template-hash'] ?? ''}$`), '')}`);
    else if (ref?.kind === 'Job') out.add(`${ns}/CronJob/${owner.get(`${ns}/${ref.name}`) ?? ref.name}`);
    else if (ref?.kind === 'StatefulSet') out.add(`${ns}/StatefulSet/${ref.name}`);
  }
  return out;
}

/** Hubble's reply lines, as the fixture wrote them. */
function hubbleReplyLines(): number {
  let n = 0;
  for (const line of readFileSync(join(HUBBLE, 'flows.jsonl'), 'utf8').split('\n')) {
    if (line === '') continue;
    const rec = JSON.parse(line) as { flow: { is_reply?: boolean } };
    if (rec.flow.is_reply === true) n++;
  }
  return n;
}

/**
 * Connections in the Hubble fixture, per `source -> target:port` as graph keys name them: the
 * distinct 4-tuples whose opening SYN (no ACK, not a reply) was traced, a tuple seen again more
 * than a second later being a new connection (the prober's ephemeral ports repeat), and the L7
 * pairs apart (their connections end at Cilium's proxy). Read from the file, not from ztmap.
 */
function hubbleConnections(): { connections: Map<string, number>; l7Pairs: Set<string> } {
  type End = { namespace?: string; labels?: string[]; workloads?: { name: string; kind: string }[] };
  type Flow = { flow: { time: string; Type: string; is_reply?: boolean; verdict: string; IP: { source: string; destination: string }; l4?: { TCP?: { source_port: number; destination_port: number; flags?: { SYN?: boolean; ACK?: boolean } } }; source: End; destination: End; destination_names?: string[] } };
  const keyOf = (e: End, ip: string, names?: string[]): string => {
    const w = e.workloads?.[0];
    if (w && e.namespace) return `${e.namespace}/${w.kind}/${w.name}`;
    if (e.labels?.includes('reserved:host')) return `node:${ip}`;
    if (names?.[0]) return `world:${names[0]}`;
    return ip.startsWith('10.') ? `unknown:${ip}` : `world:${ip}`;
  };
  const lastSyn = new Map<string, number>();
  const connections = new Map<string, number>();
  const l7Pairs = new Set<string>();
  for (const line of readFileSync(join(HUBBLE, 'flows.jsonl'), 'utf8').split('\n')) {
    if (line === '') continue;
    const f = (JSON.parse(line) as Flow).flow;
    const tcp = f.l4?.TCP;
    if (!tcp) continue;
    const pair = `${keyOf(f.source, f.IP.source)} -> ${keyOf(f.destination, f.IP.destination, f.destination_names)}:${tcp.destination_port}`;
    if (f.Type === 'L7') {
      if (f.is_reply === false) l7Pairs.add(pair);
      continue;
    }
    if (f.verdict !== 'FORWARDED' || f.is_reply !== false || tcp.flags?.SYN !== true || tcp.flags.ACK === true) continue;
    const tuple = `${f.IP.source}:${tcp.source_port}>${f.IP.destination}:${tcp.destination_port}`;
    const t = Date.parse(f.time);
    const prev = lastSyn.get(tuple);
    lastSyn.set(tuple, t);
    if (prev !== undefined && t - prev < 1000) continue;
    connections.set(pair, (connections.get(pair) ?? 0) + 1);
  }
  return { connections, l7Pairs };
}

describe('Bookinfo as Istio metrics and Hubble flows, against the access logs @e2e', () => {
  let logs: Observed;
  let metrics: Observed;
  let hubble: Observed;
  let logsMetrics: Observed;
  let logsHubble: Observed;
  let all: Observed;
  let allAgain: Observed;

  before(function () {
    this.timeout(120_000);
    logs = observe([LOGS]);
    metrics = observe([METRICS]);
    hubble = observe([HUBBLE]);
    logsMetrics = observe([LOGS, METRICS]);
    logsHubble = observe([LOGS, HUBBLE]);
    all = observe([LOGS, METRICS, HUBBLE]);
    allAgain = observe([LOGS, METRICS, HUBBLE]);
  });

  it('reads every input without rejecting a line', () => {
    for (const o of [logs, metrics, hubble, logsMetrics, logsHubble, all]) {
      assert.ok(o.r.status === 0 || o.r.status === 4, `exit ${o.r.status}:\n${o.r.stderr}`);
      assert.doesNotMatch(o.r.stderr, /rejected/, o.r.stderr);
    }
  });

  it('the logs alone still give the simulated edges (the baseline the other sources are held to)', () => {
    assert.deepEqual(
      logs.edges.map((e) => `${fullKey(e)}=${requestsOf(e)}`),
      expected.edges.map((e) => `${fullKey(e)}=${e.requests}`),
    );
  });

  describe('metrics alone', () => {
    it('find exactly the workload-to-workload edges whose client has an Istio proxy, on the Service port', () => {
      const proxied = proxiedWorkloads();
      const want = expected.edges.filter((e) => isWorkload(e.source) && isWorkload(e.target) && proxied.has(e.source)).map(fullKey);
      const got = metrics.edges.filter((e) => isWorkload(e.source) && isWorkload(e.target)).map(fullKey);
      assert.deepEqual(sorted(got), sorted(want));
    });

    it('count, per edge, the requests the simulation made (sources.istio-metrics)', () => {
      const byKey = new Map(expected.edges.map((e) => [fullKey(e), e.requests]));
      for (const e of metrics.edges.filter((x) => isWorkload(x.source) && isWorkload(x.target))) {
        const counts = e.sources['istio-metrics'];
        assert.ok(counts, `${fullKey(e)}: no istio-metrics counts`);
        assert.equal(requestsOf(counts), byKey.get(fullKey(e)), fullKey(e));
        assert.equal(requestsOf(e), byKey.get(fullKey(e)), fullKey(e));
      }
    });

    it('list what they cannot resolve (clients without a proxy, the passthrough destination) instead of dropping it', () => {
      assert.equal(metrics.r.status, 4, metrics.r.stderr);
      assert.match(metrics.r.stderr, /source-missing: \d+\n\s+\S+federate\.prom:\d+/);
      assert.match(metrics.r.stderr, /destination-missing: 1\n\s+\S+federate\.prom:\d+/);
      // The requests of clients without a sidecar are still counted, on an unknown source.
      const unnamed = metrics.edges.filter((e) => !isWorkload(e.source)).reduce((s, e) => s + requestsOf(e), 0);
      const simulated = expected.edges.filter((e) => e.target !== 'istio-system/Deployment/istio-ingressgateway' && e.source !== 'unknown:behind-proxy' && e.protocol === 'http' && !proxiedWorkloads().has(e.source)).reduce((s, e) => s + e.requests, 0);
      assert.equal(unnamed, simulated);
    });
  });

  describe('logs + metrics', () => {
    it('count every logs edge exactly as the logs alone do (fusion, never a sum)', () => {
      const fused = new Map(logsMetrics.edges.map((e) => [fullKey(e), e]));
      for (const e of logs.edges) {
        const f = fused.get(fullKey(e));
        assert.ok(f, `${fullKey(e)} is missing`);
        assert.equal(f.client.requests, e.client.requests, `${fullKey(e)} client`);
        assert.equal(requestsOf(f), requestsOf(e), `${fullKey(e)} requests`);
      }
    });

    it('name both sources on every edge both saw, in graph.json and in edges.csv', () => {
      const metricOnly = new Set(metrics.edges.filter((e) => isWorkload(e.source) && isWorkload(e.target)).map(fullKey));
      const rows = parseCsv(logsMetrics.files['edges.csv']!, { columns: true }) as Record<string, string>[];
      const csvSources = new Map(rows.map((r) => [`${r['Source']} -> ${r['Target']}:${r['port']}/${r['protocol']}`, r['sources'] ?? '']));
      for (const e of logsMetrics.edges.filter((x) => metricOnly.has(fullKey(x)))) {
        assert.deepEqual(Object.keys(e.sources).sort(), ['access-log', 'istio-metrics'], fullKey(e));
        const csv = csvSources.get(fullKey(e)) ?? '';
        assert.match(csv, /access-log=\d+/, fullKey(e));
        assert.match(csv, /istio-metrics=\d+/, fullKey(e));
      }
    });
  });

  describe('Hubble alone', () => {
    it('finds the pairs and ports of the logs (the gateway by name, not behind a proxy)', () => {
      const want = expected.edges.filter((e) => e.source !== 'unknown:behind-proxy').map(pairPort);
      assert.deepEqual(sorted(hubble.edges.map(pairPort)), sorted(want));
    });

    it('counts connections: never more than the requests, one for the kept-alive scrape, one per probe', () => {
      const requests = new Map(expected.edges.map((e) => [pairPort(e), e.requests]));
      const perPair = new Map<string, number>();
      // Where L7 visibility gives a pair http records beside its connections (reviews -> ratings),
      // the connections are taken into the http edge (graph/fuse.ts): one edge, Hubble's larger count.
      for (const e of hubble.edges) perPair.set(pairPort(e), Math.max(perPair.get(pairPort(e)) ?? 0, requestsOf(e)));
      for (const [pair, n] of perPair) {
        assert.ok(n > 0, pair);
        assert.ok(n <= (requests.get(pair) ?? 0), `${pair}: ${n} connections for ${requests.get(pair)} requests`);
      }
      assert.equal(perPair.get('monitoring/Deployment/prometheus-server -> default/Deployment/productpage-v1:9080'), 1);
      assert.equal(perPair.get('node:10.0.0.12 -> default/Deployment/ratings-v1:9080'), requests.get('node:10.0.0.12 -> default/Deployment/ratings-v1:9080'));
    });

    it('counts, on every pair without L7 records, the connections the fixture opened', () => {
      const { connections, l7Pairs } = hubbleConnections();
      const counted = new Map<string, number>();
      for (const e of hubble.edges) if (!l7Pairs.has(pairPort(e))) counted.set(pairPort(e), (counted.get(pairPort(e)) ?? 0) + requestsOf(e));
      for (const p of l7Pairs) connections.delete(p);
      assert.deepEqual([...counted].sort(), [...connections].sort());
    });

    it('keeps the dropped SYN as a denied operation of kind policy-drop', () => {
      const e = hubble.edges.find((x) => x.source === 'unknown:10.244.9.99' && x.target === 'default/Deployment/details-v1');
      assert.ok(e);
      assert.deepEqual(
        e.denied.map((d) => [d.kind, d.requests]),
        [['policy-drop', 1]],
      );
    });

    it('skips every reply the fixture holds, and counts them', () => {
      const m = /hubble-reply (\d+)/.exec(hubble.r.stderr);
      assert.ok(m, hubble.r.stderr);
      assert.equal(Number(m[1]), hubbleReplyLines());
    });
  });

  describe('logs + Hubble', () => {
    it('keep every logs edge with its counts', () => {
      const fused = new Map(logsHubble.edges.map((e) => [fullKey(e), e]));
      for (const e of logs.edges) {
        const f = fused.get(fullKey(e));
        assert.ok(f, `${fullKey(e)} is missing`);
        assert.equal(requestsOf(f), requestsOf(e), `${fullKey(e)} requests`);
      }
    });

    // Hubble's L3/L4 flows are tcp, the logs' lines of the same connections http: observe takes
    // a tcp edge only connection-level sources saw into the http edge of the pair (graph/fuse.ts).
    it('fuse into the logs edges: no edge beyond the logs, both sources named where both saw it', () => {
      assert.deepEqual(sorted(logsHubble.edges.map(fullKey)), sorted(logs.edges.map(fullKey)));
      const seen = new Set(hubble.edges.map(pairPort));
      for (const e of logsHubble.edges.filter((x) => seen.has(pairPort(x)))) {
        assert.deepEqual(Object.keys(e.sources).sort(), ['access-log', 'hubble'], fullKey(e));
        const l = logs.edges.find((x) => fullKey(x) === fullKey(e));
        assert.equal(requestsOf(e), l === undefined ? undefined : requestsOf(l), fullKey(e));
      }
    });

    it('keep the policy drop on the unknown client edge', () => {
      const denied = logsHubble.edges.flatMap((e) => e.denied.map((d) => `${pairPort(e)} ${d.kind}`));
      assert.deepEqual(denied, ['unknown:10.244.9.99 -> default/Deployment/details-v1:9080 policy-drop']);
    });
  });

  it('writes byte-identical outputs for the same inputs', () => {
    for (const f of ['graph.json', 'nodes.csv', 'edges.csv']) assert.equal(allAgain.files[f], all.files[f], f);
    assert.ok(all.edges.length > 0);
  });
});
