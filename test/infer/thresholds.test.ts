import assert from 'node:assert/strict';
import { emptySide, type EdgeAttributes, type NodeAttributes } from '../../src/graph/attributes.js';
import { evidenceOf } from '../../src/infer/infer.js';
import { noiseOf } from '../../src/infer/noise.js';

const client: NodeAttributes = { kind: 'workload', name: 'batch', namespace: 'd', workloadKind: 'Deployment', serviceAccounts: ['batch'], labels: { app: 'batch' }, ips: [] };

function edge(days: string[], first: number | null, last: number | null): EdgeAttributes {
  const server = { ...emptySide(), requests: 40, mutual: 40 };
  return {
    source: 'd/Deployment/batch',
    target: 'd/Deployment/db',
    port: 5432,
    protocol: 'tcp',
    client: emptySide(),
    server,
    sources: { 'access-log': { client: emptySide(), server } },
    firstSeen: first,
    lastSeen: last,
    days,
    methods: [],
    paths: [],
    pathsTruncated: false,
    services: [],
    sourceServiceAccounts: ['batch'],
    decoders: ['envoy-text'],
    serverMethods: [], serverPaths: [], serverPathsTruncated: false, denied: [], deniedTruncated: false,
  };
}

const thresholds = (minDays: number) => ({ minRequests: 1, minDays, includeScrapes: false });

describe('--min-days', () => {
  // Seen on Nov 1, 2 and 9: three distinct days over a nine-day span. Counting the span
  // would keep this edge at --min-days 4..9, where it was seen on only three days.
  const weekly = edge(['2026-11-01', '2026-11-02', '2026-11-09'], Date.UTC(2026, 10, 1, 3), Date.UTC(2026, 10, 9, 3));

  it('counts distinct UTC days seen, not the days between first and last seen', () => {
    const ev = evidenceOf('k', weekly);
    assert.equal(ev.daysSeen, 3);
    assert.equal(noiseOf(weekly, client, new Set(), ev, thresholds(3)), undefined);
    const below = noiseOf(weekly, client, new Set(), ev, thresholds(4));
    assert.equal(below?.reason, 'below-threshold');
    assert.match(below!.consequence, /on 3 distinct UTC day\(s\), below --min-requests 1 \/ --min-days 4/);
  });

  it('keeps an edge whose records carried no time, since its days are unknown', () => {
    const untimed = edge([], null, null);
    const ev = evidenceOf('k', untimed);
    assert.equal(ev.daysSeen, 0);
    assert.equal(noiseOf(untimed, client, new Set(), ev, thresholds(2)), undefined);
  });
});
