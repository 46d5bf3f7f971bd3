import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { InputError } from '../../src/errors.js';
import type { Identity, ResolvedFlow } from '../../src/flow/identity.js';
import { GraphBuilder } from '../../src/graph/build.js';
import { graphFromJson, graphJsonChunks, graphToJson, readGraphFile, type GraphDocument } from '../../src/graph/json.js';

const w = (n: number): Identity => ({ kind: 'workload', key: `ns/Deployment/w${n}`, namespace: 'ns', workloadKind: 'Deployment', name: `w${n}`, labels: { app: `w${n}` } });

function sampleGraph(edges: number) {
  const b = new GraphBuilder();
  for (let i = 0; i < edges; i++) {
    const f: ResolvedFlow = {
      flow: { source: {}, destination: {}, protocol: 'http', l7: { method: 'GET', path: `/p/${i}` }, mtls: 'mutual', responseCode: 200, timestamp: 1_700_000_000_000 + i, count: 1, reporter: 'server', evidence: { decoder: 'envoy-text', location: { file: 'f' } } },
      source: w(i % 7),
      destination: w(100 + i),
      port: 8080,
      reporter: 'server',
      mtls: 'mutual',
    };
    b.add(f);
  }
  return b.toGraph();
}

/** The graph's text with the record on `line` (1-based) replaced by what `change` makes of it. */
function withLine(text: string, line: number, change: (rec: { key: string; attributes: Record<string, unknown> }) => unknown): string {
  const lines = text.split('\n');
  const raw = lines[line - 1]!;
  const comma = raw.endsWith(',');
  const changed = change(JSON.parse(comma ? raw.slice(0, -1) : raw));
  lines[line - 1] = (typeof changed === 'string' ? changed : JSON.stringify(changed)) + (comma ? ',' : '');
  return lines.join('\n');
}

describe('graph.json: streamed, and checked when read', () => {
  const g = sampleGraph(3);
  const text = graphToJson(g);
  // Line 1 the header, 2 `"nodes":[`, then a line per node, `],`, `"edges":[`, a line per edge, `]}`.
  const nodeCount = g.order;
  const firstNode = 3;
  const firstEdge = firstNode + nodeCount + 2;
  const edit = (line: number, change: Parameters<typeof withLine>[2]) => withLine(text, line, change);

  it('is one JSON document, one node or edge a line, and reads back byte for byte', () => {
    const doc = JSON.parse(text) as GraphDocument;
    assert.equal(doc.nodes.length, nodeCount);
    assert.equal(doc.edges.length, 3);
    assert.equal(text.split('\n').length, 1 + 1 + nodeCount + 2 + 3 + 1 + 1);
    assert.equal(graphToJson(graphFromJson(text, 'g.json')), text);
  });

  it('property: the pieces of any chunk size join to the same text, and a file is read back line by line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztmap-json-'));
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 5000 }), async (edges, chunk) => {
          const graph = sampleGraph(edges);
          const whole = graphToJson(graph);
          const pieces = [...graphJsonChunks(graph, chunk)];
          assert.equal(pieces.join(''), whole);
          if (whole.length > 2 * chunk + 200) assert.ok(pieces.length > 1, 'a large graph is written in several pieces');
          const file = join(dir, `g-${edges}-${chunk}.json`);
          writeFileSync(file, whole);
          assert.equal(graphToJson(await readGraphFile(file)), whole);
        }),
        { seed: 7, numRuns: 40 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Each case: what was done to the file, the text, and what the message must name besides the file.
  const cases: [string, () => string, RegExp][] = [
    ['paths: [null]', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, paths: [null] } })), /line \d+: edges\[0\] field paths\[0\] is not a string/],
    ['a port that is a string', () => edit(firstEdge + 1, (r) => ({ ...r, attributes: { ...r.attributes, port: '8080' } })), /edges\[1\] field port/],
    ['a port out of range', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, port: 70000 } })), /edges\[0\] field port is not an integer from 0 to 65535/],
    ['a negative count', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, server: { requests: -1, mutual: 0, plaintext: 0, responses: {} } } })), /edges\[0\] field server.requests/],
    ['a count that is no integer', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, client: { requests: 1.5, mutual: 0, plaintext: 0, responses: {} } } })), /field client.requests/],
    ['a response class that is no class', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, server: { requests: 1, mutual: 1, plaintext: 0, responses: { '9xx': 1 } } } })), /server.responses/],
    ['a time out of range', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, lastSeen: 1e300 } })), /field lastSeen is not a time/],
    ['a time that is a string', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, firstSeen: '2026-01-01' } })), /field firstSeen/],
    ['first seen after last seen', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, firstSeen: 1_800_000_000_000 } })), /firstSeen after lastSeen/],
    ['a day that is no day', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, days: ['yesterday'] } })), /field days\[0\]/],
    ['a duplicate edge', () => edit(firstEdge + 1, (r) => ({ ...r, key: JSON.parse(text.split('\n')[firstEdge - 1]!.slice(0, -1)).key, attributes: JSON.parse(text.split('\n')[firstEdge - 1]!.slice(0, -1)).attributes })), /edges\[1\]: edge .* appears twice/],
    ['a duplicate node', () => edit(firstNode + 1, () => text.split('\n')[firstNode - 1]!.slice(0, -1)), /nodes\[1\]: node .* appears twice/],
    ['an edge key that is not its own', () => edit(firstEdge, (r) => ({ ...r, key: 'a->b:1/tcp' })), /edges\[0\]: key .* is not the key/],
    ['an edge to a node not in the graph', () => edit(firstEdge, (r) => ({ ...r, key: 'ns/Deployment/w0->ns/Deployment/gone:8080/http', attributes: { ...r.attributes, target: 'ns/Deployment/gone' } })), /edges\[0\] names node .*gone/],
    ['a node kind that is no kind', () => edit(firstNode, (r) => ({ ...r, attributes: { ...r.attributes, kind: 'pod' } })), /nodes\[0\] field kind/],
    ['labels that are not strings', () => edit(firstNode, (r) => ({ ...r, attributes: { ...r.attributes, labels: { app: 1 } } })), /nodes\[0\] field labels.app/],
    ['a record that is not JSON', () => edit(firstNode, () => '{"key": '), /nodes\[0\] is not JSON/],
    ['a record that is a list', () => edit(firstNode, () => '[]'), /nodes\[0\] is not an object/],
    ['a denied operation with a negative count', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, denied: [{ reporter: 'server', kind: 'rbac', policy: '', method: 'GET', path: '/', requests: -2, firstSeen: null, lastSeen: null }] } })), /denied\[0\].requests/],
    ['a folded sketch out of order', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, folded: { endpoints: 2, exact: true, hashes: [5, 3] } } })), /folded.hashes is not an ascending list/],
    ['a file cut short', () => text.split('\n').slice(0, firstEdge + 1).join('\n') + '\n', /ends at line \d+ before the graph does/],
    ['text after the end', () => text + 'more\n', /text after the end/],
    ['a missing comma between records', () => edit(firstNode, (r) => r).replace(/^(\{"key":"ns\/Deployment\/w0".*),$/m, '$1'), /nodes\[0\] is not followed by a comma/],
    ['the graph of an older version', () => '{\n "format": "ztmap-graph",\n "version": 3,\n "nodes": [],\n "edges": []\n}\n', /older ztmap/],
    ['another version on line 1', () => text.replace('"version":5', '"version":9'), /has version 9; this ztmap reads version 5/],
    ['counts that are not those of the source that counted the most', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, server: { requests: 999, mutual: 0, plaintext: 0, responses: {} } } })), /edges\[0\]: client and server are not the counts of the source that counted the most/],
    ['a source name that is no name', () => edit(firstEdge, (r) => ({ ...r, attributes: { ...r.attributes, sources: { 'Access Log!': (r.attributes.sources as Record<string, unknown>)['access-log'] } } })), /edges\[0\] field sources/],
    ['an empty file', () => '', /is empty/],
  ];

  for (const [what, make, message] of cases) {
    it(`refuses ${what} with an InputError naming the file and the record`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ztmap-json-'));
      const file = join(dir, 'graph.json');
      try {
        writeFileSync(file, make());
        await assert.rejects(readGraphFile(file), (err: unknown) => {
          assert.ok(err instanceof InputError, `an InputError, not ${String(err)}`);
          assert.ok(err.message.includes(file), err.message);
          assert.match(err.message, message);
          assert.match(err.message, /observe/, 'says what to do');
          return true;
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a label named __proto__ is a label, not a prototype', () => {
    const t = edit(firstNode, (r) => ({ ...r, attributes: { ...r.attributes, labels: JSON.parse('{"__proto__":"x","app":"w0"}') } }));
    const read = graphFromJson(t, 'g.json');
    const key = read.nodes().sort()[0]!;
    const labels = read.getNodeAttributes(key).labels;
    assert.deepEqual(Object.keys(labels), ['__proto__', 'app']);
    assert.equal(Object.getPrototypeOf(labels), Object.prototype);
  });

  it('a missing file is an InputError that names it', async () => {
    await assert.rejects(readGraphFile('/nonexistent/graph.json'), (err: unknown) => err instanceof InputError && /\/nonexistent\/graph.json \(no such file\)/.test(err.message));
  });
});
