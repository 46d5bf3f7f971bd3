// nodes.csv and edges.csv in the shape Gephi's spreadsheet import and Neo4j's LOAD CSV take
// as they are: `Id`/`Label` for nodes, `Source`/`Target`/`Type`/`Weight` for edges. List
// cells are joined with `;`. Names come from untrusted telemetry: a cell that a spreadsheet
// would run as a formula (starting with = + - @, tab or CR) is prefixed with a quote.

import { stringify } from 'csv-stringify/sync';
import { allowedView, deniedRequestsOf, mtlsShareOf, requestsBySource, responsesOf, type DeniedOperation } from './attributes.js';
import { compare } from '../flow/compare.js';
import type { ServiceGraph } from './graph.js';

export const NODE_COLUMNS = ['Id', 'Label', 'kind', 'namespace', 'workload_kind', 'workload', 'service_accounts', 'labels', 'ips'] as const;
export const EDGE_COLUMNS = [
  'Id', 'Source', 'Target', 'Type', 'Weight', 'Label', 'port', 'protocol', 'requests', 'client_reported', 'server_reported',
  'mtls_share', 'methods', 'paths', 'paths_truncated', 'responses', 'services', 'source_service_accounts', 'first_seen', 'last_seen', 'days_seen', 'decoders', 'sources',
  'denied_requests', 'denied',
] as const;

export function neutralizeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const iso = (t: number | null) => (t === null ? '' : new Date(t).toISOString());
const list = (xs: readonly string[]) => xs.join(';');
/** `kind [policy] METHOD PATH ×N by reporter`, one per denied operation. */
const deniedText = (d: DeniedOperation) =>
  [d.kind, d.policy === '' ? '' : `[${d.policy}]`, d.method, d.path, `x${d.requests}`, `by ${d.reporter}`].filter((x) => x !== '').join(' ');

/** nodes.csv in pieces of about `chunk` characters: never one string of the whole graph. */
export function* nodesCsvChunks(g: ServiceGraph, chunk = 1 << 16): Generator<string> {
  yield* csvChunks([...NODE_COLUMNS], nodeRows(g), chunk);
}

export function nodesCsv(g: ServiceGraph): string {
  return [...nodesCsvChunks(g)].join('');
}

function* nodeRows(g: ServiceGraph): Generator<string[]> {
  for (const key of g.nodes().sort(compare)) {
    const a = g.getNodeAttributes(key);
    yield [
      key,
      a.kind === 'workload' ? `${a.namespace}/${a.name}` : key,
      a.kind,
      a.namespace ?? '',
      a.workloadKind ?? '',
      a.name,
      list(a.serviceAccounts),
      list(Object.keys(a.labels).sort(compare).map((k) => `${k}=${a.labels[k]}`)),
      list(a.ips),
    ];
  }
}

/** edges.csv in pieces of about `chunk` characters. */
export function* edgesCsvChunks(g: ServiceGraph, chunk = 1 << 16): Generator<string> {
  yield* csvChunks([...EDGE_COLUMNS], edgeRows(g), chunk);
}

export function edgesCsv(g: ServiceGraph): string {
  return [...edgesCsvChunks(g)].join('');
}

function* edgeRows(g: ServiceGraph): Generator<string[]> {
  for (const key of g.edges().sort(compare)) {
    const a = g.getEdgeAttributes(key);
    const responses = responsesOf(a);
    const share = mtlsShareOf(a);
    // Requests, methods and paths the mesh let through; what it refused is in the last columns.
    const allowed = allowedView(a);
    yield [
      key,
      a.source,
      a.target,
      'Directed',
      String(allowed.requests),
      `${a.port}/${a.protocol}`,
      String(a.port),
      a.protocol,
      String(allowed.requests),
      String(a.client.requests),
      String(a.server.requests),
      share === null ? '' : share.toFixed(4),
      list(allowed.methods),
      list(allowed.paths),
      String(allowed.pathsTruncated),
      list(Object.keys(responses).sort(compare).map((k) => `${k}=${responses[k]}`)),
      list(a.services),
      list(a.sourceServiceAccounts),
      iso(a.firstSeen),
      iso(a.lastSeen),
      String(a.days.length),
      list(a.decoders),
      list(Object.entries(requestsBySource(a)).map(([name, n]) => `${name}=${n}`)),
      String(deniedRequestsOf(a)),
      list(a.denied.map(deniedText)),
    ];
  }
}

/** The header and rows as CSV, rows stringified in batches (each batch's text ends with a record delimiter). */
function* csvChunks(header: string[], rows: Iterable<string[]>, chunk: number): Generator<string> {
  const opts = { eof: true, record_delimiter: 'unix' } as const;
  let batch: string[][] = [header];
  let size = 0;
  for (const r of rows) {
    const cells = r.map(neutralizeCell);
    batch.push(cells);
    for (const c of cells) size += c.length + 1;
    if (size >= chunk) {
      yield stringify(batch, opts);
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield stringify(batch, opts);
}
