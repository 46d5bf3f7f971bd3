// Traffic the mesh refuses today is evidence of denial, never an allow (issue 11; docs/observe.md, "Traffic the mesh denies today"):
// RBAC denials of HTTP (the client's line reads 403 via_upstream) and of gRPC (both lines read
// 200; only the server's details say rbac_access_denied), a pair that was only ever refused,
// and requests that reached a server from behind a proxy nobody logged. Driven through the
// real binary on access-log lines written the way Istio writes them.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { ruleAdmits, type AccessRule } from '../../src/rules/access-rule.js';
import { tempDir, ztmap } from '../support/cli.js';
import { pod } from '../support/kube.js';

const NS = 'foo';
const IP = { sleep: '10.44.1.23', httpbin: '10.44.1.27', gclient: '10.44.1.30', gserver: '10.44.1.31', intruder: '10.44.1.40' };
const start = '2026-11-24T00:00:00Z';

interface Line {
  at: number;
  method: string;
  path: string;
  proto?: string;
  code: number;
  flags?: string;
  details?: string;
  upstreamHost?: string;
  cluster: string;
  ula?: string;
  dla: string;
  dra: string;
  sni?: string;
  authority: string;
}

let seq = 0;
/** One line of Istio's default TEXT format (>= 1.9). */
function text(l: Line): string {
  const t = new Date(Date.parse('2026-11-24T10:00:00.000Z') + l.at * 1000).toISOString();
  const id = `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  return (
    `[${t}] "${l.method} ${l.path} ${l.proto ?? 'HTTP/1.1'}" ${l.code} ${l.flags ?? '-'} ${l.details ?? 'via_upstream'} - "-" 0 19 1 - "-" "curl/8.5.0" ` +
    `"${id}" "${l.authority}" "${l.upstreamHost ?? '-'}" ${l.cluster} ${l.ula ?? '-'} ${l.dla} ${l.dra} ${l.sni ?? '-'} default`
  );
}

/** The client's outbound line and the server's inbound line of one meshed request. */
function request(
  logs: Map<string, string[]>,
  o: { at: number; client: keyof typeof IP; server: keyof typeof IP; port: number; svc: string; method: string; path: string; proto?: string; code: number; serverDetails?: string },
): void {
  const port = 40000 + seq;
  const refused = o.serverDetails !== undefined;
  const sni = `outbound_.${o.port}_._.${o.svc}.${NS}.svc.cluster.local`;
  const push = (p: keyof typeof IP, l: string) => logs.set(p, [...(logs.get(p) ?? []), l]);
  push(o.client, text({
    at: o.at, method: o.method, path: o.path, code: o.code, authority: `${o.svc}:${o.port}`, upstreamHost: `${IP[o.server]}:${o.port}`,
    cluster: `outbound|${o.port}||${o.svc}.${NS}.svc.cluster.local`, ula: `${IP[o.client]}:${port}`, dla: `10.96.0.50:${o.port}`, dra: `${IP[o.client]}:51000`,
    ...(o.proto === undefined ? {} : { proto: o.proto }),
  }));
  push(o.server, text({
    at: o.at, method: o.method, path: o.path, code: o.code, authority: `${o.svc}:${o.port}`, ...(refused ? { details: o.serverDetails } : { upstreamHost: `${IP[o.server]}:${o.port}`, ula: `127.0.0.6:${port}` }),
    cluster: `inbound|${o.port}||`, dla: `${IP[o.server]}:${o.port}`, dra: `${IP[o.client]}:${port}`, sni,
    ...(o.proto === undefined ? {} : { proto: o.proto }),
  }));
}

function writeInventory(dir: string): string {
  const file = join(dir, 'inventory.json');
  const items = Object.entries(IP).map(([name, ip]) => pod(NS, `${name}-1`, { ip, labels: { app: name }, sa: name, start, ports: [['http', name === 'gserver' ? 50051 : 8080]] }));
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  return file;
}

function writeLogs(dir: string, logs: Map<string, string[]>): string {
  const d = join(dir, 'logs');
  mkdirSync(d, { recursive: true });
  for (const [p, lines] of logs) writeFileSync(join(d, `${NS}_${p}-1.log`), lines.join('\n') + '\n');
  return d;
}

const DENY_POST = 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-post]-rule[0]]';

describe('denied today: never an allow @e2e', () => {
  let dir: string;
  let rules: AccessRule[];
  let review: { denied: { from: string; to: string; operation: string; kind: string; policy: string; requests: number; reporter: string; admittedBy?: string }[]; findings: { severity: string; message: string }[] };
  let proposeStatus: number | null;
  let proposeStderr: string;
  let verify: { status: number | null; stdout: string; json: { summary: { deniedToday: Record<'stillDenied' | 'nowAllowed' | 'undecided', { requests: number }> } } };

  before(() => {
    dir = tempDir();
    const logs = new Map<string, string[]>();
    let at = 0;
    for (let i = 0; i < 5; i++) request(logs, { at: at++, client: 'sleep', server: 'httpbin', port: 8080, svc: 'httpbin', method: 'GET', path: '/get', code: 200 });
    // Values at one position would make it a prefix, but one value there was refused today.
    for (const code of ['A1B2', 'C3D4', 'E5F6']) request(logs, { at: at++, client: 'sleep', server: 'httpbin', port: 8080, svc: 'httpbin', method: 'GET', path: `/anything/${code}`, code: 200 });
    request(logs, { at: at++, client: 'sleep', server: 'httpbin', port: 8080, svc: 'httpbin', method: 'GET', path: '/anything/X9Y8', code: 403, serverDetails: DENY_POST });
    // HTTP: the server's sidecar refuses; the client's line shows the upstream's 403 "via_upstream".
    for (let i = 0; i < 3; i++) request(logs, { at: at++, client: 'sleep', server: 'httpbin', port: 8080, svc: 'httpbin', method: 'POST', path: '/post', code: 403, serverDetails: DENY_POST });
    // gRPC: refused with HTTP 200 and grpc-status 7; the client's line reads plain success.
    for (let i = 0; i < 4; i++) request(logs, { at: at++, client: 'gclient', server: 'gserver', port: 50051, svc: 'gserver', method: 'POST', path: '/shop.Orders/List', proto: 'HTTP/2', code: 200 });
    for (let i = 0; i < 2; i++) {
      request(logs, { at: at++, client: 'gclient', server: 'gserver', port: 50051, svc: 'gserver', method: 'POST', path: '/shop.Orders/Delete', proto: 'HTTP/2', code: 200, serverDetails: 'rbac_access_denied_matched_policy[none]' });
    }
    // A pair the mesh only ever refused.
    for (let i = 0; i < 2; i++) request(logs, { at: at++, client: 'intruder', server: 'httpbin', port: 8080, svc: 'httpbin', method: 'GET', path: '/get', code: 403, serverDetails: 'rbac_access_denied_matched_policy[none]' });
    const inv = writeInventory(dir);
    const out = join(dir, 'out');
    const obs = ztmap(['observe', '-q', '-i', inv, '-o', out, writeLogs(dir, logs)]);
    assert.equal(obs.status, 0, obs.stderr);
    // Istio only: the inventory has no kube-dns or istiod for NetworkPolicy's egress allows.
    const p = ztmap(['propose', '-g', join(out, 'graph.json'), '-i', inv, '-o', out, '--target', 'istio']);
    proposeStatus = p.status;
    proposeStderr = p.stderr;
    rules = (JSON.parse(readFileSync(join(out, 'policies', 'rules.json'), 'utf8')) as { rules: AccessRule[] }).rules;
    review = JSON.parse(readFileSync(join(out, 'policies', 'review.json'), 'utf8')) as typeof review;
    const v = ztmap(['verify', '-p', join(out, 'policies'), '-g', join(out, 'graph.json'), '-i', inv, '--rules', join(out, 'policies', 'rules.json'), '--json', join(out, 'verification.json')]);
    verify = { status: v.status, stdout: v.stdout, json: JSON.parse(readFileSync(join(out, 'verification.json'), 'utf8')) as typeof verify.json };
  });

  it('keeps the allowed operation and drops the refused one (HTTP: the client saw a 403 from upstream)', () => {
    const r = rules.find((x) => x.from.key === 'foo/Pod/sleep-1' && x.to.key === 'foo/Pod/httpbin-1')!;
    assert.deepEqual(r.methods, ['GET']);
    assert.deepEqual(r.paths === 'any' ? 'any' : r.paths.map((m) => `${m.kind} ${m.value}`), ['exact /anything/A1B2', 'exact /anything/C3D4', 'exact /anything/E5F6', 'exact /get']);
    assert.equal(r.evidence.requests, 8, 'refused requests are not allowed requests');
    assert.equal(ruleAdmits(r, { from: r.from.key, to: r.to.key, port: 8080, method: 'POST', path: '/post' }), false);
    assert.equal(ruleAdmits(r, { from: r.from.key, to: r.to.key, port: 8080, method: 'GET', path: '/anything/X9Y8' }), false, 'no generalization brings back what was refused');
    assert.ok(r.notes.some((n) => /denied/.test(n)), r.notes.join('\n'));
  });

  it('matches the client\'s 200 of a refused gRPC call with the server\'s denial', () => {
    const r = rules.find((x) => x.from.key === 'foo/Pod/gclient-1')!;
    assert.deepEqual(r.paths === 'any' ? 'any' : r.paths.map((m) => m.value), ['/shop.Orders/List']);
    assert.equal(ruleAdmits(r, { from: r.from.key, to: r.to.key, port: 50051, method: 'POST', path: '/shop.Orders/Delete' }), false);
  });

  it('proposes nothing for a pair that was only refused', () => {
    assert.equal(rules.find((x) => x.from.key === 'foo/Pod/intruder-1'), undefined);
  });

  it('lists what was denied today, by operation, with the policy named', () => {
    const rows = review.denied.map((d) => `${d.from} ${d.operation} ${d.kind} ${d.policy} ${d.requests} ${d.reporter}`).sort();
    assert.deepEqual(rows, [
      'foo/Pod/gclient-1 POST /shop.Orders/Delete rbac  2 server',
      'foo/Pod/intruder-1 GET /get rbac  2 server',
      'foo/Pod/sleep-1 GET /anything/X9Y8 rbac ns[foo]-policy[deny-post]-rule[0] 1 server',
      'foo/Pod/sleep-1 POST /post rbac ns[foo]-policy[deny-post]-rule[0] 3 server',
    ]);
    assert.ok(review.denied.every((d) => d.admittedBy === undefined));
    assert.equal(proposeStatus, 0, proposeStderr);
  });

  it('verify passes on the proposal, and replaying what the mesh refused shows the proposal still refuses all of it', () => {
    assert.equal(verify.status, 0, verify.stdout);
    const d = verify.json.summary.deniedToday;
    assert.deepEqual([d.stillDenied.requests, d.nowAllowed.requests, d.undecided.requests], [8, 0, 0], verify.stdout);
  });

  it('a policy set that admits what the mesh refuses today is shown as such', () => {
    const empty = join(dir, 'no-policies');
    mkdirSync(empty, { recursive: true });
    const out = join(dir, 'out');
    const v = ztmap(['verify', '-p', empty, '-g', join(out, 'graph.json'), '-i', join(dir, 'inventory.json'), '--json', join(dir, 'open.json')]);
    const d = (JSON.parse(readFileSync(join(dir, 'open.json'), 'utf8')) as typeof verify.json).summary.deniedToday;
    assert.equal(d.nowAllowed.requests, 8);
    assert.match(v.stdout, /admitted by these policies 8 requests/);
    assert.match(v.stdout, /allowed +foo\/Pod\/sleep-1->foo\/Pod\/httpbin-1:8080\/http POST \/post \(refused today: rbac by ns\[foo\]-policy\[deny-post\]-rule\[0\]\)/);
  });

  it('edges.csv counts what was allowed and lists what was refused', () => {
    const rows = parseCsv(readFileSync(join(dir, 'out', 'edges.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const e = rows.find((r) => r['Source'] === 'foo/Pod/sleep-1' && r['Target'] === 'foo/Pod/httpbin-1')!;
    assert.equal(e['requests'], '8');
    assert.equal(e['denied_requests'], '4');
    assert.match(e['denied']!, /rbac \[ns\[foo\]-policy\[deny-post\]-rule\[0\]\] POST \/post x3 by server/);
  });
});

describe('requests from behind a proxy nobody logged @e2e', () => {
  it('are a blocker that says which logs to collect, and never a node for the X-Forwarded-For address', () => {
    const dir = tempDir();
    const logs = new Map<string, string[]>();
    const lines = [0, 1, 2].map((i) =>
      text({ at: i, method: 'GET', path: '/get', code: 200, authority: 'httpbin.example.com', upstreamHost: `${IP.httpbin}:8080`, cluster: 'inbound|8080||', ula: '127.0.0.6:5555', dla: `${IP.httpbin}:8080`, dra: '10.48.0.1:0', sni: `outbound_.8000_._.httpbin.${NS}.svc.cluster.local` }),
    );
    logs.set('httpbin', lines);
    const inv = writeInventory(dir);
    const out = join(dir, 'out');
    const obs = ztmap(['observe', '-q', '-i', inv, '-o', out, writeLogs(dir, logs)]);
    assert.equal(obs.status, 0, obs.stderr);
    const graph = readFileSync(join(out, 'graph.json'), 'utf8');
    assert.ok(graph.includes('"unknown:behind-proxy"'));
    assert.ok(!graph.includes('10.48.0.1'), 'the X-Forwarded-For address is evidence, not a node');
    const p = ztmap(['propose', '-g', join(out, 'graph.json'), '-i', inv, '-o', out, '--target', 'istio']);
    assert.equal(p.status, 5, p.stderr);
    assert.match(p.stderr, /behind a proxy .*Collect the istio-proxy logs of the gateway/);
    assert.doesNotMatch(p.stderr, /route it through a gateway/);
  });
});
