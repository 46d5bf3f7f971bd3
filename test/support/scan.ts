// The byte scanners' offsets as the entry fields they stand for, to compare a scanner's reading
// of a line with the string decoder's (test/sources/byte-scanners.test.ts, test/conformance/).
import { dash, type AccessLogEntry } from '../../src/sources/decoders/access-log-entry.js';
import type { scanEnvoyText } from '../../src/sources/decoders/envoy-text-scan.js';
import * as S from '../../src/sources/decoders/field-offsets.js';

const FIELDS: [number, keyof AccessLogEntry][] = [
  [S.START, 'startTime'],
  [S.METHOD, 'method'],
  [S.PATH, 'path'],
  [S.PROTOCOL, 'protocol'],
  [S.AUTHORITY, 'authority'],
  [S.UPSTREAM_HOST, 'upstreamHost'],
  [S.CLUSTER, 'upstreamCluster'],
  [S.UPSTREAM_LOCAL, 'upstreamLocalAddress'],
  [S.DOWNSTREAM_LOCAL, 'downstreamLocalAddress'],
  [S.DOWNSTREAM_REMOTE, 'downstreamRemoteAddress'],
  [S.SNI, 'requestedServerName'],
  [S.FLAGS, 'responseFlags'],
  [S.DETAILS, 'responseCodeDetails'],
];

/** What a scanner read, as the entry fields it stands for. */
export function scanned(line: string, scan: typeof scanEnvoyText): Partial<AccessLogEntry> | undefined {
  // The line sits inside a larger buffer, newline after it, as the framing passes it.
  const buf = Buffer.from('xx\n' + line + '\nyy', 'utf8');
  const start = 3;
  const end = buf.length - 3;
  const offsets = S.newFieldOffsets();
  if (!scan(buf, start, end, offsets)) return undefined;
  S.dropDashes(buf, offsets);
  const out: Partial<AccessLogEntry> = { responseCode: offsets[S.RESPONSE_CODE]! };
  for (const [f, name] of FIELDS) {
    const text = S.fieldText(buf, offsets, f);
    if (text !== undefined) (out as Record<string, unknown>)[name] = text;
  }
  return out;
}

export function decodedFields(entry: AccessLogEntry): Partial<AccessLogEntry> {
  const out: Partial<AccessLogEntry> = { responseCode: entry.responseCode };
  // envoy-text.ts keeps a `-` start time as written; parseTimestamp makes it undefined all the same.
  const e = { ...entry, startTime: dash(entry.startTime) };
  for (const [, name] of FIELDS) if (e[name] !== undefined) (out as Record<string, unknown>)[name] = e[name];
  return out;
}
