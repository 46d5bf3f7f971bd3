// Lines of a known route are counted from their bytes (route shapes, access-log-decoder.ts):
// whatever the mix of lines, that must give exactly what decoding every line gives — the
// graph, the counts and every tally with its locations.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { observePart } from '../../src/cli/observe/part.js';
import { graphToJson } from '../../src/graph/json.js';
import { buildInventory, type Inventory } from '../../src/inventory/inventory.js';
import { loadObjects } from '../../src/inventory/load.js';
import { FIXTURES } from '../support/paths.js';
import { pod, service } from '../support/kube.js';
import type { InputFile } from '../../src/sources/transports/files.js';

async function both(inventory: Inventory, files: InputFile[], maxLineLength = 4096) {
  const out = [];
  for (const repeats of [false, true]) {
    const r = await observePart(inventory, files, { format: 'auto', container: 'istio-proxy', maxLineLength }, undefined, { repeats });
    out.push({
      repeated: r.repeated,
      seen: { graph: graphToJson(r.graph), read: r.read, flows: r.flows, rejects: r.rejects.entries(), skips: r.skips.entries(), unresolved: r.unresolved.entries() },
    });
  }
  return { decoded: out[0]!, repeats: out[1]! };
}

// sleep-1 calls httpbin-1 (which ends at 22:00: later lines to its IP resolve to nothing) and
// through an ingress gateway; 10.44.9.x are unknown pods; 1.2.3.4 is outside.
const inventory = buildInventory([
  pod('foo', 'sleep-1', { ip: '10.44.1.23', labels: { app: 'sleep' }, sa: 'sleep', start: '2020-11-25T21:00:00Z' }),
  pod('foo', 'httpbin-1', { ip: '10.44.1.27', labels: { app: 'httpbin' }, sa: 'httpbin', start: '2020-11-25T21:00:00Z', end: '2020-11-25T22:00:00Z' }),
  pod('istio-system', 'istio-ingressgateway-1', { ip: '10.44.2.5', labels: { app: 'istio-ingressgateway' }, sa: 'gw', start: '2020-11-25T21:00:00Z' }),
  service('foo', 'httpbin', { app: 'httpbin' }, [[8000, 80]]),
]);

interface Request {
  t: string;
  method: string;
  path: string;
  code: string;
  port: number;
  /** RESPONSE_FLAGS and RESPONSE_CODE_DETAILS: refused and failed requests among a route's lines. */
  outcome?: [flags: string, details: string];
}

// Route fields of each kind of line; `p` is a per-line ephemeral port.
const ROUTES: ((p: number) => Record<string, string>)[] = [
  (p) => ({ authority: 'httpbin:8000', uh: '10.44.1.27:80', cluster: 'outbound|8000||httpbin.foo.svc.cluster.local', ula: `10.44.1.23:${p}`, dla: '10.0.45.184:8000', dra: `10.44.1.23:${p + 1}`, sni: '-' }),
  (p) => ({ authority: 'httpbin:8000', uh: '127.0.0.1:80', cluster: 'inbound|8000||', ula: `127.0.0.1:${p}`, dla: '10.44.1.27:80', dra: `10.44.1.23:${p}`, sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local' }),
  (p) => ({ authority: 'httpbin:8000', uh: '127.0.0.1:80', cluster: 'inbound|8000||', ula: `127.0.0.1:${p}`, dla: '10.44.1.27:80', dra: `10.44.9.${p % 3}:${p}`, sni: '-' }),
  (p) => ({ authority: 'foo.example', uh: '10.44.1.27:80', cluster: 'outbound|8000||httpbin.foo.svc.cluster.local', ula: `10.44.2.5:${p}`, dla: '10.44.2.5:8080', dra: `${p % 2 ? '203.0.113.7' : '10.44.9.3'}:${p}`, sni: '-' }),
  (p) => ({ authority: '-', uh: '1.2.3.4:443', cluster: 'PassthroughCluster', ula: `10.44.1.23:${p}`, dla: '1.2.3.4:443', dra: `10.44.1.23:${p}`, sni: 'api.example.com' }),
  // A port parseAddress refuses: the address counts as absent, and the route as another.
  (p) => ({ authority: 'httpbin:8000', uh: '127.0.0.1:80', cluster: 'inbound|8000||', ula: `127.0.0.1:${p}`, dla: '10.44.1.27:80', dra: `10.44.1.23:${p * 100}`, sni: '-' }),
  // Through a proxy that sets X-Forwarded-For: now and then Envoy logs that client with port 0.
  (p) => ({ authority: 'httpbin:8000', uh: '127.0.0.1:80', cluster: 'inbound|8000||', ula: `127.0.0.1:${p}`, dla: '10.44.1.27:80', dra: `10.44.2.5:${p % 3 === 0 ? 0 : p}`, sni: 'outbound_.8000_._.httpbin.foo.svc.cluster.local' }),
  // No upstream host: a refused or failed request of sleep-1's route to httpbin.
  (p) => ({ authority: 'httpbin:8000', uh: '-', cluster: 'outbound|8000||httpbin.foo.svc.cluster.local', ula: '-', dla: '10.0.45.184:8000', dra: `10.44.1.23:${p}`, sni: '-' }),
];

function textLine(f: Record<string, string>, r: Request, protocol: string): string {
  const request = r.method === '-' ? '- - -' : `${r.method} ${r.path} ${protocol}`;
  const [flags, details] = r.outcome ?? ['-', 'via_upstream'];
  return `[${r.t}] "${request}" ${r.code} ${flags} ${details} - "-" 0 135 4 4 "-" "curl/7.73.0" "84961386-6d84-929d-98bd-c5aee93b5c88" "${f['authority']}" "${f['uh']}" ${f['cluster']} ${f['ula']} ${f['dla']} ${f['dra']} ${f['sni']} default`;
}

function jsonLine(f: Record<string, string>, r: Request, protocol: string, userAgent: string): string {
  const dash = (v: string | undefined) => (v === '-' ? null : v);
  return JSON.stringify({
    start_time: r.t,
    method: dash(r.method),
    path: r.method === '-' ? null : r.path,
    protocol: r.method === '-' ? null : protocol,
    response_code: Number(r.code),
    response_flags: r.outcome?.[0] ?? '-',
    response_code_details: r.outcome?.[1] ?? 'via_upstream',
    user_agent: userAgent,
    authority: dash(f['authority']),
    upstream_host: f['uh'],
    upstream_cluster: f['cluster'],
    upstream_local_address: f['ula'],
    downstream_local_address: f['dla'],
    downstream_remote_address: f['dra'],
    requested_server_name: dash(f['sni']),
    duration: 4,
  });
}

const cri = (kind: 'P' | 'F', body: string) => `2020-11-25T21:26:18.409000001Z stdout ${kind} ${body}`;

const request = fc.record({
  // Inside and outside httpbin-1's lifetime (and its one minute of slack), in any order.
  t: fc.oneof(
    {
      weight: 12,
      arbitrary: fc.tuple(fc.constantFrom('21', '22'), fc.constantFrom('00', '01', '02', '30', '59'), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 999 })).map(
        ([h, m, s, ms]) => `2020-11-25T${h}:${m}:${String(s).padStart(2, '0')}.${String(ms).padStart(3, '0')}Z`,
      ),
    },
    // Times a record is rejected for (unreadable, or outside 2000–2099), in the form the byte path reads and others.
    { weight: 1, arbitrary: fc.constantFrom('1999-12-31T23:59:59.999Z', '2100-01-01T00:00:00.000Z', '2020-11-25T21:0a:00.000Z', '2020-11-25T21:00:0a.000Z', '2020-11-25T21:00:00.0x0Z', '2020-13-25T21:00:00.000Z', 'yesterday') },
  ),
  method: fc.constantFrom('GET', 'POST', 'DELETE', 'get', 'PURGE', '-'),
  path: fc.constantFrom('/status/418', '/orders/123?x=1', '/users/3f2a9c1e-0b7d-4c2e-9a51-1d2b3c4d5e6f/avatar', '/a/{id}', '/pkg.Svc/Method', '*', '/' + 'seg/'.repeat(20), '/cart;jsessionid=0A1B2C3D/items', '/cart;jsessionid=FFEE99/items;v=2', '/dl%3Btoken=abc/file'),
  code: fc.constantFrom('200', '404', '503', '0'),
  port: fc.integer({ min: 1, max: 65535 }),
  outcome: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<[string, string]>(
        ['UH', 'no_healthy_upstream'],
        ['UF,URX', 'upstream_reset_before_response_started{connection_failure}'],
        ['-', 'rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[0]]'],
        ['UAEX', 'ext_authz_denied'],
        ['NR', 'route_not_found'],
        ['-', 'direct_response'],
        ['-', '-'],
      ),
    },
  ),
});

interface Line {
  route: number;
  request: Request;
  protocol: string;
  json: boolean;
  userAgent: string;
  framing: string;
  junk: string | undefined;
}

const line: fc.Arbitrary<Line> = fc.record({
  route: fc.nat(ROUTES.length - 1),
  request,
  protocol: fc.constantFrom('HTTP/1.1', 'HTTP/2'),
  json: fc.boolean(),
  userAgent: fc.constantFrom('curl/7.73.0', 'curl/7.73.0', 'curl "quoted" é'),
  framing: fc.constantFrom('plain', 'plain', 'cri', 'cri-split', 'timestamps'),
  junk: fc.oneof(
    { weight: 12, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('not a log line', '', '{broken json', '{"upstream_cluster": 1}', 'x'.repeat(5000), cri('P', 'never finished'), '[2020-11-25T21:26:18.409Z] "GET / HTTP/1.1" 200 truncated') },
  ),
});

function render(l: Line): string[] {
  if (l.junk !== undefined) return [l.junk];
  const fields = ROUTES[l.route]!(l.request.port);
  const body = l.json ? jsonLine(fields, l.request, l.protocol, l.userAgent) : textLine(fields, l.request, l.protocol);
  if (l.framing === 'cri') return [cri('F', body)];
  if (l.framing === 'cri-split') return [cri('P', body.slice(0, 30)), cri('F', body.slice(30))];
  if (l.framing === 'timestamps') return [`2020-11-25T21:26:18.409000001Z ${body}`];
  return [body];
}

describe('observe: repeats of a known route', () => {
  it('property: counting repeats from bytes gives what decoding every line gives', async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'ztmap-repeats-'));
    let run = 0;
    let repeated = 0;
    let flows = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 200, size: 'max' }), fc.boolean(), fc.constantFrom('\n', '\n', '\r\n'), async (lines, trailingNewline, eol) => {
        const file = join(dir, `${run++}.log`);
        writeFileSync(file, lines.flatMap(render).join(eol) + (trailingNewline ? eol : ''));
        const { decoded, repeats } = await both(inventory, [{ path: file }]);
        assert.equal(decoded.repeated, 0);
        assert.deepEqual(repeats.seen, decoded.seen);
        repeated += repeats.repeated;
        flows += repeats.seen.flows;
      }),
      { numRuns: 100, seed: 20261202 },
    );
    // Not vacuous: most flows were repeats, and not all (first lines, windows, odd lines).
    assert.ok(repeated > flows / 10 && repeated < flows, `${repeated} of ${flows} flows were repeats`);
  });

  it('resolves a repeat again when its time is outside the window its resolution holds for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztmap-repeats-'));
    const file = join(dir, 'window.log');
    const at = (t: string, port: number) => textLine(ROUTES[0]!(port), { t, method: 'GET', path: '/status/418', code: '200', port }, 'HTTP/1.1');
    // httpbin-1 holds 10.44.1.27 until 22:00 (and a minute of slack).
    writeFileSync(file, [at('2020-11-25T21:30:00.000Z', 1000), at('2020-11-25T22:30:00.000Z', 1002), at('2020-11-25T21:40:00.000Z', 1004)].join('\n') + '\n');
    const { decoded, repeats } = await both(inventory, [{ path: file }]);
    assert.deepEqual(repeats.seen, decoded.seen);
    assert.equal(repeats.repeated, 1, 'only the 21:40 line repeats the 21:30 one');
    const edges = (JSON.parse(repeats.seen.graph) as { edges: { attributes: { target: string; client: { requests: number } } }[] }).edges;
    assert.deepEqual(edges.map((e) => [e.attributes.target, e.attributes.client.requests]).sort(), [['foo/Pod/httpbin-1', 2], ['unknown:10.44.1.27', 1]]);
  });

  it('never counts a refused request as a repeat of its route, nor lets it give the route its value; a failed one counts like any', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztmap-repeats-'));
    const file = join(dir, 'outcomes.log');
    const at = (port: number, outcome?: [string, string]) =>
      textLine(ROUTES[0]!(port), { t: '2020-11-25T21:30:00.000Z', method: 'GET', path: '/status/418', code: outcome === undefined ? '200' : '403', port, outcome }, 'HTTP/1.1');
    const denied: [string, string] = ['-', 'rbac_access_denied_matched_policy[none]'];
    // A denial first, then normal lines, then refused and failed ones among them.
    writeFileSync(file, [at(1000, denied), at(1002), at(1004, ['UH', 'no_healthy_upstream']), at(1006), at(1008, denied), at(1010, ['-', 'direct_response'])].join('\n') + '\n');
    const { decoded, repeats } = await both(inventory, [{ path: file }]);
    assert.deepEqual(repeats.seen, decoded.seen);
    // The UH line and the second normal line repeat the first normal one; refusals never do.
    assert.equal(repeats.repeated, 2, 'the failed and the second normal line repeat the first');
  });

  it('gives Bookinfo the graph and summary of decoding every line', async () => {
    const inv = buildInventory(await loadObjects(join(FIXTURES, 'bookinfo', 'inventory.json')));
    const { expandInputs } = await import('../../src/sources/transports/files.js');
    const files = await expandInputs([join(FIXTURES, 'bookinfo', 'logs')]);
    const { decoded, repeats } = await both(inv, files);
    assert.deepEqual(repeats.seen, decoded.seen);
    assert.ok(repeats.repeated > 0, 'some Bookinfo lines were repeats');
  });
});
