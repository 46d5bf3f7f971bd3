// @e2e: the shipped Bookinfo fixtures against the graph their generator simulated
// (fixtures/bookinfo/expected-graph.json is written from the simulated requests by
// scripts/make-fixtures.ts, not by parsing logs: an independent oracle).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mtlsShareOf, requestsOf, responsesOf, type EdgeAttributes } from '../../src/graph/attributes.js';
import type { GraphDocument } from '../../src/graph/json.js';
import { ztmap, tempDir } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

interface ExpectedEdge {
  source: string;
  target: string;
  port: number;
  protocol: string;
  requests: number;
  methods: string[];
  paths: string[];
  mtls: { mutual: number; plaintext: number; unknown: number };
  responses: Record<string, number>;
  firstSeen: string;
  lastSeen: string;
}

const BOOKINFO = join(FIXTURES, 'bookinfo');
const expected = JSON.parse(readFileSync(join(BOOKINFO, 'expected-graph.json'), 'utf8')) as { nodes: string[]; edges: ExpectedEdge[] };

function observeInto(inventory: string, inputs: string[], extra: string[] = []) {
  const out = tempDir();
  const r = ztmap(['observe', '-i', join(BOOKINFO, inventory), '-o', out, ...extra, ...inputs]);
  return { r, out, graph: JSON.parse(readFileSync(join(out, 'graph.json'), 'utf8')) as GraphDocument };
}

function comparable(e: EdgeAttributes) {
  const requests = requestsOf(e);
  const mutual = e.server.mutual;
  const plaintext = e.server.plaintext;
  return {
    source: e.source,
    target: e.target,
    port: e.port,
    protocol: e.protocol,
    requests,
    methods: e.methods,
    paths: e.paths,
    mtls: { mutual, plaintext, unknown: requests - mutual - plaintext },
    responses: e.protocol === 'tcp' ? {} : responsesOf(e),
    firstSeen: new Date(e.firstSeen!).toISOString(),
    lastSeen: new Date(e.lastSeen!).toISOString(),
  };
}

describe('observe on the Bookinfo fixtures @e2e', () => {
  let whole: ReturnType<typeof observeInto>;

  // In a hook, not the describe body: mocha runs every describe body while it collects tests
  // (even when --grep selects none of these), and a throw there ends the whole run.
  before(function () {
    this.timeout(60_000);
    whole = observeInto('inventory.json', [join(BOOKINFO, 'logs')]);
  });

  it('finds exactly the simulated edges, each with its requests, methods, paths, mTLS, responses and window', () => {
    assert.equal(whole.r.status, 4, 'the unknown client is reported (exit 4), nothing is rejected:\n' + whole.r.stderr);
    assert.doesNotMatch(whole.r.stderr, /rejected/);
    assert.deepEqual(whole.graph.nodes.map((n) => n.key), expected.nodes);
    assert.deepEqual(whole.graph.edges.map((e) => comparable(e.attributes)), expected.edges);
  });

  it('reports the unknown client by file and line, and keeps it as a node', () => {
    assert.match(whole.r.stderr, /source-unknown-ip: \d+\n\s+\S+default_details-v1-\S+\.log:\d+  10\.244\.9\.99/);
  });

  it('counts a meshed request once although both sidecars logged it', () => {
    const e = whole.graph.edges.find((x) => x.attributes.source === 'default/Deployment/productpage-v1' && x.attributes.target === 'default/Deployment/details-v1')!;
    assert.equal(e.attributes.client.requests, e.attributes.server.requests, 'both sides logged every request');
    assert.equal(mtlsShareOf(e.attributes), 1);
  });

  it('resolves the reused IP by time: the CronJob early in the window, details-v1 later', () => {
    const cron = whole.graph.edges.find((x) => x.attributes.source === 'default/CronJob/ratings-report');
    assert.ok(cron, 'the CronJob runs are one workload');
    assert.ok(!whole.graph.nodes.some((n) => /ratings-report-\d+/.test(n.key)), 'not one workload per run');
  });

  it('the YAML inventory gives the same graph, byte for byte', () => {
    const yaml = observeInto('inventory.yaml', [join(BOOKINFO, 'logs')]);
    assert.equal(readFileSync(join(yaml.out, 'graph.json'), 'utf8'), readFileSync(join(whole.out, 'graph.json'), 'utf8'));
  });

  it('the three layouts observed apart and merged give the graph of the whole', () => {
    const parts = ['kubectl', 'pods', 'collector'].map((d) => observeInto('inventory.json', [join(BOOKINFO, 'logs', d)], ['--fail-on', 'never']));
    const merged = observeInto('inventory.json', [], ['--fail-on', 'never', ...parts.flatMap((p) => ['--merge', join(p.out, 'graph.json')])]);
    assert.equal(readFileSync(join(merged.out, 'graph.json'), 'utf8'), readFileSync(join(whole.out, 'graph.json'), 'utf8'));
  });
});
