// `npm start`'s last step: the Bookinfo graph observed from access logs, Istio metrics and
// Hubble flows together, as a table of each edge's requests and what each source counted
// (docs/sources.md, "Fusion"). Usage: node dist/scripts/show-fused.js OUT/graph.json

import { requestsBySource, requestsOf } from '../src/graph/attributes.js';
import { readGraphFile } from '../src/graph/json.js';
import { compare } from '../src/flow/compare.js';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: show-fused GRAPH.json\n');
  process.exit(2);
}
const g = await readGraphFile(file);
const rows = g
  .edges()
  .sort(compare)
  .map((k) => {
    const a = g.getEdgeAttributes(k);
    const by = requestsBySource(a);
    return [k, String(requestsOf(a)), Object.keys(by).map((n) => `${n} ${by[n]}`).join(', ')] as const;
  });
const width = Math.max(...rows.map((r) => r[0].length), 4);
process.stdout.write(`\nfused graph ${file}: ${g.order} nodes, ${g.size} edges; each edge counts its most complete source, never the sum\n\n`);
process.stdout.write(`${'edge'.padEnd(width)}  requests  seen by (requests each source counted)\n`);
for (const [k, n, s] of rows) process.stdout.write(`${k.padEnd(width)}  ${n.padStart(8)}  ${s}\n`);
