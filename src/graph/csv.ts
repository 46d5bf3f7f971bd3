// nodes.csv and edges.csv in the shape Gephi's spreadsheet import and Neo4j's LOAD CSV take
// as they are: `Id`/`Label` for nodes, `Source`/`Target`/`Type`/`Weight` for edges. List
// cells are joined with `;`. Names come from untrusted telemetry: a cell that a spreadsheet
// would run as a formula (starting with = + - @, tab or CR) is prefixed with a quote.

import { stringify } from 'csv-stringify/sync';
import { allowedView, compare, deniedRequestsOf, mtlsShareOf, responsesOf, type DeniedOperation } from './attributes.js';
import type { ServiceGraph } from './graph.js';

export const NODE_COLUMNS = ['Id', 'Label', 'kind', 'namespace', 'workload_kind', 'workload', 'service_accounts', 'labels', 'ips'] as const;
export const EDGE_COLUMNS = [
  'Id', 'Source', 'Target', 'Type', 'Weight', 'Label', 'port', 'protocol', 'requests', 'client_reported', 'server_reported',
  'mtls_share', 'methods', 'paths', 'paths_truncated', 'responses', 'services', 'source_service_accounts', 'first_seen', 'last_seen', 'days_seen', 'sources',
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

export function nodesCsv(g: ServiceGraph): string {
  const rows: string[][] = [];
  for (const key of g.nodes().sort(compare)) {
    const a = g.getNodeAttributes(key);
    rows.push([
      key,
      a.kind === 'workload' ? `${a.namespace}/${a.name}` : key,
      a.kind,
      a.namespace ?? '',
      a.workloadKind ?? '',
      a.name,
      list(a.serviceAccounts),
      list(Object.keys(a.labels).sort().map((k) => `${k}=${a.labels[k]}`)),
      list(a.ips),
    ]);
  }
  return toCsv([...NODE_COLUMNS], rows);
}

export function edgesCsv(g: ServiceGraph): string {
  const rows: string[][] = [];
  for (const key of g.edges().sort(compare)) {
    const a = g.getEdgeAttributes(key);
    const responses = responsesOf(a);
    const share = mtlsShareOf(a);
    // Requests, methods and paths the mesh let through; what it refused is in the last columns.
    const allowed = allowedView(a);
    rows.push([
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
      list(Object.keys(responses).sort().map((k) => `${k}=${responses[k]}`)),
      list(a.services),
      list(a.sourceServiceAccounts),
      iso(a.firstSeen),
      iso(a.lastSeen),
      String(a.days.length),
      list(a.sources),
      String(deniedRequestsOf(a)),
      list(a.denied.map(deniedText)),
    ]);
  }
  return toCsv([...EDGE_COLUMNS], rows);
}

function toCsv(header: string[], rows: string[][]): string {
  return stringify([header, ...rows.map((r) => r.map(neutralizeCell))], { eof: true, record_delimiter: 'unix' });
}
