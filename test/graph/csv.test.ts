import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import type { ResolvedFlow } from '../../src/flow/identity.js';
import { GraphBuilder } from '../../src/graph/build.js';
import { EDGE_COLUMNS, edgesCsv, NODE_COLUMNS, nodesCsv, neutralizeCell } from '../../src/graph/csv.js';

describe('CSV export', () => {
  it('neutralises cells a spreadsheet would run as formulas', () => {
    for (const s of ['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)', '\tx']) assert.equal(neutralizeCell(s), `'${s}`);
    assert.equal(neutralizeCell('reviews'), 'reviews');
  });

  it('property: hostile names and paths survive a CSV round trip, with formula cells neutralised', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 20 }), (name, path) => {
        const rf: ResolvedFlow = {
          flow: { source: {}, destination: {}, protocol: 'http', l7: { method: 'GET', path: '/' + path }, mtls: 'unknown', responseCode: 200, count: 1, reporter: 'client', evidence: { decoder: 's', location: { file: 'f' } } },
          source: { kind: 'world', key: `world:${name}`, name },
          destination: { kind: 'workload', key: 'ns/Deployment/x', namespace: 'ns', workloadKind: 'Deployment', name: 'x' },
          port: 80,
          reporter: 'client',
          mtls: 'unknown',
        };
        const b = new GraphBuilder();
        b.add(rf);
        const g = b.toGraph();
        const nodes = parse(nodesCsv(g), { columns: true }) as Record<string, string>[];
        const edges = parse(edgesCsv(g), { columns: true }) as Record<string, string>[];
        assert.deepEqual(Object.keys(nodes[0]!), [...NODE_COLUMNS]);
        assert.deepEqual(Object.keys(edges[0]!), [...EDGE_COLUMNS]);
        const world = nodes.find((n) => n['kind'] === 'world')!;
        assert.equal(world['workload'], neutralizeCell(name));
        assert.equal(edges[0]!['Weight'], '1');
        for (const row of [...nodes, ...edges]) for (const v of Object.values(row)) assert.ok(!/^[=+\-@\t\r]/.test(v), v);
      }),
      { seed: 21, numRuns: 300 },
    );
  });
});
