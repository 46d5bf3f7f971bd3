// The graph as JSON that ztmap reads back (`--graph`, `--merge`), sorted so equal graphs are
// equal bytes. One JSON document, written one node or edge per line:
//
//   {"format":"ztmap-graph","version":5,
//   "nodes":[
//   {"key":"…","attributes":{…}},
//   …
//   ],
//   "edges":[
//   {"key":"…","attributes":{…}}
//   ]}
//
// so that it is written and read as a stream (a graph of millions of edges is longer than the
// longest string JSON.stringify can make), and still one document for jq and JSON.parse. The
// file is input like any other (design.md §6): every record is checked before it is used.

import { createReadStream } from 'node:fs';
import { InputError } from '../errors.js';
import { edgeKey } from '../flow/edge-key.js';
import { DENIAL_KINDS } from '../flow/flow.js';
import { FOLD_SKETCH, fusedSides, HASH_SPACE, RESPONSE_CLASSES, type EdgeAttributes, type NodeAttributes } from './attributes.js';
import { compare } from '../flow/compare.js';
import { createGraph, type ServiceGraph } from './graph.js';
import { StringDecoder } from 'node:string_decoder';

const GRAPH_FORMAT = 'ztmap-graph';
/** 2: edges carry `days`. 3: what the mesh denied and the server proxy's own view. 4: one record a line; folded endpoints. */
export const GRAPH_VERSION = 5;

/** graph.json parsed as one document (jq, JSON.parse): the shape the lines make together. */
export interface GraphDocument {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_VERSION;
  nodes: { key: string; attributes: NodeAttributes }[];
  edges: { key: string; attributes: EdgeAttributes }[];
}

const HEADER = `{"format":"${GRAPH_FORMAT}","version":${GRAPH_VERSION},`;

/** graph.json in pieces of about `chunk` characters: never one string of the whole graph. */
export function* graphJsonChunks(g: ServiceGraph, chunk = 1 << 16): Generator<string> {
  let buf = `${HEADER}\n"nodes":[\n`;
  const nodes = g.nodes().sort(compare);
  for (const [i, key] of nodes.entries()) {
    buf += JSON.stringify({ key, attributes: g.getNodeAttributes(key) }) + (i === nodes.length - 1 ? '\n' : ',\n');
    if (buf.length >= chunk) {
      yield buf;
      buf = '';
    }
  }
  buf += '],\n"edges":[\n';
  const edges = g.edges().sort(compare);
  for (const [i, key] of edges.entries()) {
    buf += JSON.stringify({ key, attributes: g.getEdgeAttributes(key) }) + (i === edges.length - 1 ? '\n' : ',\n');
    if (buf.length >= chunk) {
      yield buf;
      buf = '';
    }
  }
  yield buf + ']}\n';
}

/** The whole graph.json as one string: for small graphs (tests); files are written from graphJsonChunks. */
export function graphToJson(g: ServiceGraph): string {
  return [...graphJsonChunks(g)].join('');
}

/** Reads graph.json text (a small graph, or a test's); files are read with readGraphFile. */
export function graphFromJson(text: string, file: string): ServiceGraph {
  const reader = new GraphReader(file);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) reader.line(line);
  return reader.end();
}

/** Reads a graph.json file line by line: memory follows the graph, never the file as one string. */
export async function readGraphFile(file: string): Promise<ServiceGraph> {
  const reader = new GraphReader(file);
  // Lines end at \n, as graphFromJson splits them (readline also ended one at a lone \r, and
  // its per-line events cost twice this loop).
  const decoder = new StringDecoder('utf8');
  let carry = '';
  // Large reads: each read of the stream costs a round trip to the thread pool, and 64 KiB ones cost more than the lines in them.
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) carry = eachLine(carry, decoder.write(chunk as Buffer), (line) => reader.line(line));
    const last = carry + decoder.end();
    if (last !== '') reader.line(last);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (code ?? (err as Error).message);
    throw new InputError(`reading graph: cannot read ${file} (${reason}). Pass the graph.json written by \`ztmap observe\` (run observe first if there is none).`, { cause: err });
  } finally {
    stream.destroy();
  }
  return reader.end();
}

/**
 * Calls `onLine` with each line of `carry + text` that a \n ends; returns the rest (the start of
 * the next line). The carry is joined to the first line only, not to the whole text: that would
 * copy every chunk of the file once more.
 */
function eachLine(carry: string, text: string, onLine: (line: string) => void): string {
  let nl = text.indexOf('\n');
  if (nl === -1) return carry + text;
  onLine(carry + text.slice(0, nl));
  let start = nl + 1;
  for (nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
    onLine(text.slice(start, nl));
    start = nl + 1;
  }
  return text.slice(start);
}

const AGAIN = 'Re-run `ztmap observe` to write it again; a graph.json is only read as ztmap wrote it.';

type Section = 'header' | 'nodes-open' | 'nodes' | 'edges-open' | 'edges' | 'done';

/** A graph.json, one line at a time: each line is checked as it comes, with its number in any error. */
class GraphReader {
  private readonly _g = createGraph();
  private _section: Section = 'header';
  private _lineNo = 0;
  private _index = 0;
  /** The last record line ended with a comma: another record must follow. */
  private _more = false;
  /** One for the whole file, not one per record (a closure and an object each): it names the record only when one fails. */
  private readonly _check = new Check((what) => this._fail(`${this._at()} ${what}`));

  constructor(private readonly _file: string) {}

  /** The record being read, as errors name it: `nodes[3]`. */
  private _at(): string {
    return `${this._section}[${this._index}]`;
  }

  private _fail(what: string): never {
    throw new InputError(`reading graph: ${this._file} line ${this._lineNo}: ${what}. ${AGAIN}`);
  }

  line(raw: string): void {
    this._lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    switch (this._section) {
      case 'header':
        return this._header(line);
      case 'nodes-open':
        if (line !== '"nodes":[') this._fail('expected `"nodes":[`');
        this._section = 'nodes';
        return;
      case 'nodes':
        if (line === '],' && !this._more) {
          this._section = 'edges-open';
          this._index = 0;
          return;
        }
        return this._node(this._record(line, 'nodes'));
      case 'edges-open':
        if (line !== '"edges":[') this._fail('expected `"edges":[`');
        this._section = 'edges';
        return;
      case 'edges':
        if (line === ']}' && !this._more) {
          this._section = 'done';
          return;
        }
        return this._edge(this._record(line, 'edges'));
      case 'done':
        if (line.trim() !== '') this._fail('text after the end of the graph');
    }
  }

  end(): ServiceGraph {
    if (this._section !== 'done') {
      if (this._lineNo === 0) throw new InputError(`reading graph: ${this._file} is empty. ${AGAIN}`);
      throw new InputError(`reading graph: ${this._file} ends at line ${this._lineNo} before the graph does (cut short?). ${AGAIN}`);
    }
    return this._g;
  }

  private _header(line: string): void {
    if (line === HEADER) {
      this._section = 'nodes-open';
      return;
    }
    // What else it is, said as precisely as the first line allows.
    const m = /"format"\s*:\s*"([^"]*)"\s*,\s*"version"\s*:\s*(\d+)/.exec(line);
    if (m !== null && m[1] === GRAPH_FORMAT) {
      throw new InputError(`reading graph: ${this._file} has version ${m[2]}; this ztmap reads version ${GRAPH_VERSION}. Re-run \`ztmap observe\` with this version.`);
    }
    if (line.trim() === '{') {
      throw new InputError(`reading graph: ${this._file} is not a graph.json this ztmap reads (written by an older ztmap, or not by ztmap). Re-run \`ztmap observe\` with this version.`);
    }
    throw new InputError(`reading graph: ${this._file} is not a ztmap graph (line 1 is not its header). Pass a graph.json written by \`ztmap observe\`.`);
  }

  private _record(line: string, section: 'nodes' | 'edges'): Record<string, unknown> {
    const more = line.endsWith(',');
    let value: unknown;
    try {
      value = JSON.parse(more ? line.slice(0, -1) : line);
    } catch (err) {
      this._fail(`${section}[${this._index}] is not JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this._fail(`${section}[${this._index}] is not an object`);
    if (this._index > 0 && !this._more) this._fail(`${section}[${this._index - 1}] is not followed by a comma`);
    this._more = more;
    return value as Record<string, unknown>;
  }

  private _node(rec: Record<string, unknown>): void {
    const check = this._check;
    const key = check.string(rec.key, 'key');
    if (this._g.hasNode(key)) this._fail(`${this._at()}: node ${JSON.stringify(key)} appears twice`);
    const a = check.object(rec.attributes, 'attributes');
    const kind = check.oneOf(a.kind, 'kind', ['workload', 'world', 'node', 'unknown'] as const);
    const attrs: NodeAttributes = {
      kind,
      name: check.string(a.name, 'name'),
      ...(a.namespace === undefined ? {} : { namespace: check.string(a.namespace, 'namespace') }),
      ...(a.workloadKind === undefined ? {} : { workloadKind: check.string(a.workloadKind, 'workloadKind') }),
      serviceAccounts: check.strings(a.serviceAccounts, 'serviceAccounts'),
      labels: check.stringMap(a.labels, 'labels'),
      ips: check.strings(a.ips, 'ips'),
    };
    this._g.addNode(key, attrs);
    this._index++;
  }

  private _edge(rec: Record<string, unknown>): void {
    const check = this._check;
    const key = check.string(rec.key, 'key');
    const a = check.object(rec.attributes, 'attributes');
    const source = check.string(a.source, 'source');
    const target = check.string(a.target, 'target');
    for (const n of [source, target]) if (!this._g.hasNode(n)) this._fail(`${this._at()} names node ${JSON.stringify(n)}, which is not in the graph`);
    const port = check.integer(a.port, 'port', 0, 65535);
    const protocol = check.oneOf(a.protocol, 'protocol', ['http', 'grpc', 'tcp'] as const);
    if (key !== edgeKey(source, target, port, protocol)) this._fail(`${this._at()}: key ${JSON.stringify(key)} is not the key of its source, target, port and protocol`);
    if (this._g.hasEdge(key)) this._fail(`${this._at()}: edge ${JSON.stringify(key)} appears twice`);
    const firstSeen = check.time(a.firstSeen, 'firstSeen');
    const lastSeen = check.time(a.lastSeen, 'lastSeen');
    if ((firstSeen === null) !== (lastSeen === null) || (firstSeen !== null && lastSeen !== null && firstSeen > lastSeen)) this._fail(`${this._at()} has firstSeen after lastSeen, or only one of them`);
    const attrs: EdgeAttributes = {
      source,
      target,
      port,
      protocol,
      client: check.side(a.client, 'client'),
      server: check.side(a.server, 'server'),
      sources: check.sources(a.sources, 'sources'),
      firstSeen,
      lastSeen,
      days: check.strings(a.days, 'days', /^\d{4,}-\d{2}-\d{2}$/),
      methods: check.strings(a.methods, 'methods'),
      paths: check.strings(a.paths, 'paths'),
      pathsTruncated: check.boolean(a.pathsTruncated, 'pathsTruncated'),
      services: check.strings(a.services, 'services'),
      sourceServiceAccounts: check.strings(a.sourceServiceAccounts, 'sourceServiceAccounts'),
      decoders: check.strings(a.decoders, 'decoders'),
      serverMethods: check.strings(a.serverMethods, 'serverMethods'),
      serverPaths: check.strings(a.serverPaths, 'serverPaths'),
      serverPathsTruncated: check.boolean(a.serverPathsTruncated, 'serverPathsTruncated'),
      denied: check.array(a.denied, 'denied').map((d, i) => {
        const o = check.object(d, `denied[${i}]`);
        return {
          reporter: check.oneOf(o.reporter, `denied[${i}].reporter`, ['client', 'server'] as const),
          kind: check.oneOf(o.kind, `denied[${i}].kind`, DENIAL_KINDS),
          policy: check.string(o.policy, `denied[${i}].policy`),
          method: check.string(o.method, `denied[${i}].method`),
          path: check.string(o.path, `denied[${i}].path`),
          requests: check.count(o.requests, `denied[${i}].requests`),
          firstSeen: check.time(o.firstSeen, `denied[${i}].firstSeen`),
          lastSeen: check.time(o.lastSeen, `denied[${i}].lastSeen`),
        };
      }),
      deniedTruncated: check.boolean(a.deniedTruncated, 'deniedTruncated'),
    };
    const fused = fusedSides(attrs.sources);
    if (!sameSide(attrs.client, fused.client) || !sameSide(attrs.server, fused.server)) {
      this._fail(`${this._at()}: client and server are not the counts of the source that counted the most requests (fusion: docs/sources.md)`);
    }
    if (a.peerIps !== undefined) attrs.peerIps = check.strings(a.peerIps, 'peerIps');
    if (a.folded !== undefined) {
      const f = check.object(a.folded, 'folded');
      const hashes = check.array(f.hashes, 'folded.hashes').map((h, i) => check.integer(h, `folded.hashes[${i}]`, 0, HASH_SPACE - 1));
      if (hashes.length > FOLD_SKETCH || hashes.some((h, i) => i > 0 && h <= hashes[i - 1]!)) this._fail(`${this._at()}: folded.hashes is not an ascending list of at most ${FOLD_SKETCH}`);
      attrs.folded = { endpoints: check.count(f.endpoints, 'folded.endpoints'), exact: check.boolean(f.exact, 'folded.exact'), hashes };
    }
    this._g.addEdgeWithKey(key, source, target, attrs);
    this._index++;
  }
}

/** Whether two sides would be written as the same JSON (responses in the same order too), without writing them. */
function sameSide(a: EdgeAttributes['client'], b: EdgeAttributes['client']): boolean {
  if (a.requests !== b.requests || a.mutual !== b.mutual || a.plaintext !== b.plaintext) return false;
  const ka = Object.keys(a.responses);
  const kb = Object.keys(b.responses);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.responses[k] === b.responses[k]);
}

/** Field checks of one record; `fail` names the record and throws. */
class Check {
  constructor(private readonly _fail: (what: string) => never) {}

  private _bad(name: string, expected: string, v: unknown): never {
    const shown = JSON.stringify(v);
    return this._fail(`field ${name} is not ${expected} (got ${shown === undefined ? 'nothing' : shown.length > 60 ? shown.slice(0, 60) + '…' : shown})`);
  }

  string(v: unknown, name: string): string {
    return typeof v === 'string' ? v : this._bad(name, 'a string', v);
  }

  boolean(v: unknown, name: string): boolean {
    return typeof v === 'boolean' ? v : this._bad(name, 'true or false', v);
  }

  object(v: unknown, name: string): Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : this._bad(name, 'an object', v);
  }

  array(v: unknown, name: string): unknown[] {
    return Array.isArray(v) ? v : this._bad(name, 'a list', v);
  }

  strings(v: unknown, name: string, shape?: RegExp): string[] {
    const xs = this.array(v, name);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (typeof x !== 'string' || (shape !== undefined && !shape.test(x))) this._bad(`${name}[${i}]`, shape === undefined ? 'a string' : `a string like ${shape.source}`, x);
    }
    return xs as string[];
  }

  stringMap(v: unknown, name: string): Record<string, string> {
    const o = this.object(v, name);
    const out: Record<string, string> = {};
    for (const k of Object.keys(o)) {
      const x = this.string(o[k], `${name}.${k}`);
      // Defined, not assigned: a label named __proto__ is a label, not the object's prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
      else out[k] = x;
    }
    return out;
  }

  oneOf<T extends string>(v: unknown, name: string, values: readonly T[]): T {
    return values.includes(v as T) ? (v as T) : this._bad(name, `one of ${values.join(', ')}`, v);
  }

  integer(v: unknown, name: string, min: number, max: number): number {
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : this._bad(name, `an integer from ${min} to ${max}`, v);
  }

  /** A request count: a non-negative integer. */
  count(v: unknown, name: string): number {
    return this.integer(v, name, 0, Number.MAX_SAFE_INTEGER);
  }

  /** Epoch milliseconds a Date can hold, or null. */
  time(v: unknown, name: string): number | null {
    return v === null ? null : typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 8.64e15 ? v : this._bad(name, 'a time in epoch milliseconds (or null)', v);
  }

  sources(v: unknown, name: string): EdgeAttributes['sources'] {
    const o = this.object(v, name);
    const out: EdgeAttributes['sources'] = {};
    for (const k of Object.keys(o)) {
      if (!/^[a-z][a-z0-9-]*$/.test(k)) this._bad(name, 'keyed by source names', k);
      const counts = this.object(o[k], `${name}.${k}`);
      out[k] = { client: this.side(counts.client, `${name}.${k}.client`), server: this.side(counts.server, `${name}.${k}.server`) };
    }
    return out;
  }

  side(v: unknown, name: string): EdgeAttributes['client'] {
    const o = this.object(v, name);
    const responses: Record<string, number> = {};
    const given = this.object(o.responses, `${name}.responses`);
    for (const k of Object.keys(given)) {
      if (!(RESPONSE_CLASSES as readonly string[]).includes(k)) this._bad(`${name}.responses`, `keyed by ${RESPONSE_CLASSES.join(', ')}`, k);
      responses[k] = this.count(given[k], `${name}.responses.${k}`);
    }
    return { requests: this.count(o.requests, `${name}.requests`), mutual: this.count(o.mutual, `${name}.mutual`), plaintext: this.count(o.plaintext, `${name}.plaintext`), responses };
  }
}

/** A graph as plain records, to cross a worker boundary by structured clone (no JSON text, no string limit). */
export interface GraphRecords {
  nodes: [key: string, attributes: NodeAttributes][];
  edges: [key: string, attributes: EdgeAttributes][];
}

export function graphToRecords(g: ServiceGraph): GraphRecords {
  return { nodes: g.mapNodes((k, a) => [k, a]), edges: g.mapEdges((k, a) => [k, a]) };
}

/** The graph of records graphToRecords made (ztmap's own, so not checked again), in sorted order. */
export function graphFromRecords(r: GraphRecords): ServiceGraph {
  const g = createGraph();
  for (const [k, a] of [...r.nodes].sort((x, y) => compare(x[0], y[0]))) g.addNode(k, a);
  for (const [k, a] of [...r.edges].sort((x, y) => compare(x[0], y[0]))) g.addEdgeWithKey(k, a.source, a.target, a);
  return g;
}
