// The floor of line-by-line string aggregation: the least an exact access-log aggregation
// does per line in Node when it first parses every line into strings, on the same framing as
// the bare loop. Per line: the bare loop's parse, then a route key from the identity fields
// without ephemeral ports, one Map lookup, the counters, first/last seen, the method, and
// the path template into the route's set. No inventory, no Flow, no notes or evidence, no
// rejects. ztmap got under it by not parsing a repeated route's line into strings at all
// (route shapes, docs/performance.md); it stays as the yardstick of that design.

import { createReadStream } from 'node:fs';
import { detached, pathTemplate } from '../src/flow/path-template.js';
import { parseTimestamp } from '../src/sources/access-log.js';

export const TEXT_LINE = /^\[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) (\S+) (\S+) "[^"]*" (\S+) (\S+) (\S+) (\S+) "(.*?)" "(.*)" "([^"]*)" "([^"]*)" "([^"]*)" (\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?$/;

interface RouteTotals {
  requests: number;
  classes: number[];
  firstSeen: number;
  lastSeen: number;
  methods: number;
  paths: Set<string>;
}

const METHOD_BITS = new Map(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'].map((m, i) => [m, 1 << i]));

const ipOf = (address: string) => {
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
};

/** The fields the floor reads, in the TEXT expression's group order. */
interface Fields {
  start: string;
  method: string;
  path: string;
  code: number;
  upstreamHost: string;
  cluster: string;
  upstreamLocal: string;
  downstreamLocal: string;
  downstreamRemote: string;
  sni: string;
}

function textFields(line: string): Fields | undefined {
  const m = TEXT_LINE.exec(line);
  if (m === null) return undefined;
  return { start: m[1]!, method: m[2]!, path: m[3]!, code: Number(m[5]), upstreamHost: m[17]!, cluster: m[18]!, upstreamLocal: m[19]!, downstreamLocal: m[20]!, downstreamRemote: m[21]!, sni: m[22]! };
}

function jsonFields(line: string): Fields {
  const o = JSON.parse(line) as Record<string, string | number | null>;
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '-');
  return { start: s('start_time'), method: s('method'), path: s('path'), code: Number(o['response_code']), upstreamHost: s('upstream_host'), cluster: s('upstream_cluster'), upstreamLocal: s('upstream_local_address'), downstreamLocal: s('downstream_local_address'), downstreamRemote: s('downstream_remote_address'), sni: s('requested_server_name') };
}

export async function floor(file: string, format: string): Promise<Record<string, number>> {
  const routes = new Map<string, RouteTotals>();
  const fields = format === 'json' ? jsonFields : textFields;
  let lines = 0;
  let carry = '';
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  for await (const chunk of stream as AsyncIterable<string>) {
    const parts = (carry + chunk).split('\n');
    carry = parts.pop() ?? '';
    for (const l of parts) {
      lines++;
      const f = fields(l);
      if (f === undefined) continue;
      const key = f.cluster.startsWith('inbound|')
        ? 'i|' + f.downstreamLocal + '|' + ipOf(f.downstreamRemote) + '|' + (f.sni === '-' ? '' : 'm')
        : 'o|' + f.cluster + '|' + f.upstreamHost + '|' + ipOf(f.upstreamLocal) + '|' + f.downstreamLocal + '|' + ipOf(f.downstreamRemote);
      let r = routes.get(key);
      if (r === undefined) {
        r = { requests: 0, classes: [0, 0, 0, 0, 0, 0], firstSeen: Infinity, lastSeen: -Infinity, methods: 0, paths: new Set() };
        routes.set(detached(key), r);
      }
      r.requests++;
      r.classes[Math.min(5, Math.floor(f.code / 100))]!++;
      const t = parseTimestamp(f.start) ?? NaN;
      if (t < r.firstSeen) r.firstSeen = t;
      if (t > r.lastSeen) r.lastSeen = t;
      r.methods |= METHOD_BITS.get(f.method) ?? 0;
      const template = pathTemplate(f.path);
      if (!r.paths.has(template)) r.paths.add(detached(template));
    }
  }
  let paths = 0;
  for (const r of routes.values()) paths += r.paths.size;
  return { lines, routes: routes.size, paths };
}
