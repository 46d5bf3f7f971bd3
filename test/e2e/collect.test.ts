// @e2e: `ztmap collect`, the OTLP receiver, as a process on loopback. Spans of web → cart calls
// (web's with the Collector's k8s attributes, cart's with service.name + service.namespace) are
// sent over OTLP/HTTP (JSON, protobuf, gzip) and OTLP/gRPC; the test checks the graph it writes,
// what it answers (opentelemetry-proto docs/specification.md), and what a SIGKILL costs.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { EdgeAttributes } from '../../src/graph/attributes.js';
import { readGraphFile } from '../../src/graph/json.js';
import { ExportTraceServiceResponse as Response } from '../../src/sources/decoders/otlp-messages.js';
import { grpcExport, nextCheckpoint, post, startCollect, status, type Collector } from '../support/collect-process.js';
import { tempDir, ztmap } from '../support/cli.js';
import { deployment, service, writeInventory } from '../support/kube.js';
import { otlpProto, otlpRequest, type SpanSpec } from '../support/traces.js';

const WEB = { 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'web-5d8f-abcde', 'k8s.deployment.name': 'web' };
const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };
const JSON_TYPE = { 'Content-Type': 'application/json' };
const Status = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');

/** web's CLIENT span and cart's SERVER span of call `n`, now-ish (collect's clock is the wall clock). */
function call(n: number, t0: number): { client: SpanSpec; server: SpanSpec } {
  const traceId = hex(0xabc000 + n, 32);
  const client: SpanSpec = {
    traceId,
    spanId: hex(2 * n + 1, 16),
    name: 'GET',
    kind: 'client',
    startMicros: t0 + n * 1000,
    durationMicros: 4000,
    service: 'web',
    resource: WEB,
    attributes: { 'http.request.method': 'GET', 'url.full': `http://cart.shop.svc.cluster.local:9080/cart/${1000 + n}?session=s3cr3t`, 'server.address': 'cart.shop.svc.cluster.local', 'server.port': 9080 },
  };
  const server: SpanSpec = {
    traceId,
    spanId: hex(2 * n + 2, 16),
    parentSpanId: client.spanId,
    name: 'GET /cart/{cartId}',
    kind: 'server',
    startMicros: t0 + n * 1000 + 500,
    durationMicros: 3000,
    service: 'cart',
    resource: { 'service.namespace': 'shop' },
    attributes: { 'http.request.method': 'GET', 'http.route': '/cart/{cartId}', 'url.path': `/cart/${1000 + n}`, 'server.port': 9080, 'http.response.status_code': 200 },
  };
  return { client, server };
}

function inventory(dir: string): string {
  const shop = (name: string, ip: string, ports: [string, number][]) => deployment('shop', name, { ip, ports, start: '2026-03-01T00:00:00Z' });
  return writeInventory(dir, [...shop('web', '10.61.2.14', []), ...shop('cart', '10.61.3.25', [['http', 8080]]), service('shop', 'cart', { app: 'cart' }, [[9080, 8080]], '10.96.61.9')]);
}

const json = (spans: SpanSpec[]) => JSON.stringify(otlpRequest(spans));
const proto = (spans: SpanSpec[]) => otlpProto(otlpRequest(spans));
const nowMicros = () => Date.now() * 1000;
const CART = 'shop/Deployment/web->shop/Deployment/cart:8080/http';

async function stop(c: Collector): Promise<number | string> {
  c.child.kill('SIGTERM');
  return c.exited;
}

async function edges(out: string): Promise<Map<string, EdgeAttributes>> {
  const m = new Map<string, EdgeAttributes>();
  (await readGraphFile(join(out, 'graph.json'))).forEachEdge((k, a) => m.set(k, a));
  return m;
}

describe('ztmap collect: the OTLP receiver @e2e', function () {
  this.timeout(60_000);
  const running: Collector[] = [];
  let dir: string;
  let inv: string;

  before(() => {
    dir = tempDir('ztmap-collect-');
    inv = inventory(dir);
  });
  afterEach(() => {
    for (const c of running.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  });
  const start = async (args: string[]) => {
    const c = await startCollect(args);
    running.push(c);
    return c;
  };

  it('spans over HTTP (JSON, protobuf, gzip) and gRPC join into one edge per call pair, with the route template and no query', async () => {
    const out = join(dir, 'joined');
    const c = await start(['-i', inv, '-o', out, '--interval', '1']);
    const t0 = nowMicros();
    const calls = [0, 1, 2, 3].map((n) => call(n, t0));
    // Clients as JSON, their servers as gzip'd protobuf, the fourth pair over gRPC in one request.
    const a = await post(c.http, json(calls.slice(0, 3).map((x) => x.client)), JSON_TYPE);
    assert.deepEqual([a.status, a.headers['content-type'], a.body.toString()], [200, 'application/json', '{}']);
    const b = await post(c.http, gzipSync(proto(calls.slice(0, 3).map((x) => x.server))), { ...PROTOBUF, 'Content-Encoding': 'gzip' });
    assert.deepEqual([b.status, b.headers['content-type']], [200, 'application/x-protobuf']);
    // Full success: partial_success left unset.
    assert.deepEqual(Response.toObject(Response.decode(b.body), { defaults: false }), {});
    const g = await grpcExport(c.grpc, proto([calls[3]!.client, calls[3]!.server]));
    assert.equal(g.error, undefined);
    assert.deepEqual(Response.toObject(Response.decode(g.response!), { defaults: false }), {});
    assert.equal(await stop(c), 0, c.stderr());

    const e = (await edges(out)).get(CART);
    assert.ok(e, [...(await edges(out)).keys()].join('\n'));
    assert.equal(e.client.requests, 4);
    assert.deepEqual(e.paths, ['/cart/{id}']);
    assert.deepEqual(e.methods, ['GET']);
    assert.deepEqual(Object.keys(e.sources), ['traces']);
    const s = status(out)!;
    assert.deepEqual([s.spans.accepted, s.spans.pairs, s.spans.pending, s.requests.accepted], [8, 4, 0, 3]);
    for (const f of readdirSync(out)) assert.doesNotMatch(readFileSync(join(out, f), 'utf8'), /s3cr3t|session=/, f);
  });

  it('answers as OTLP requires: partial success, 400, 404, 405, 413, 415, 429 with Retry-After; and keeps serving', async () => {
    const out = join(dir, 'answers');
    const c = await start(['-i', inv, '-o', out, '--interval', '1', '--max-body-bytes', '20000', '--max-queued-bytes', '40000']);
    const { client, server } = call(0, nowMicros());
    const bad = { ...server, spanId: hex(99, 16), traceId: 'not-hex' };

    // Partial success, in each encoding: the count of spans rejected and why.
    const pj = await post(c.http, json([client, bad]), JSON_TYPE);
    assert.equal(pj.status, 200);
    const partial = JSON.parse(pj.body.toString()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(partial.partialSuccess.rejectedSpans, '1');
    assert.match(partial.partialSuccess.errorMessage, /invalid-trace-id/);
    const pp = await post(c.http, proto([server, { ...bad, traceId: hex(7, 32), startMicros: 1 }]), PROTOBUF);
    const decoded = Response.toObject(Response.decode(pp.body), { longs: String }) as { partialSuccess?: { rejectedSpans: string; errorMessage: string } };
    assert.equal(decoded.partialSuccess?.rejectedSpans, '1');
    assert.match(decoded.partialSuccess.errorMessage, /invalid-start-time/);

    // 400: a cut protobuf body, JSON that is no JSON; the body is a google.rpc.Status.
    const cut = proto([client]);
    const r400 = await post(c.http, cut.subarray(0, cut.length - 4), PROTOBUF);
    assert.equal(r400.status, 400);
    assert.match((Status.toObject(Status.decode(r400.body)) as { message: string }).message, /malformed-otlp-protobuf/);
    assert.equal((await post(c.http, '{"resourceSpans": [', JSON_TYPE)).status, 400);
    // 404, 405, 415.
    assert.equal((await post(c.http, '{}', JSON_TYPE, '/v1/metrics')).status, 404);
    assert.equal((await post(c.http, 'x', { 'Content-Type': 'text/plain' })).status, 415);
    assert.equal((await post(c.http, 'x', { ...JSON_TYPE, 'Content-Encoding': 'br' })).status, 415);
    // 413: over the limit as sent, or once decompressed (a gzip bomb of 1 MB of zeros).
    assert.equal((await post(c.http, Buffer.alloc(30_000, 0x20), JSON_TYPE)).status, 413);
    assert.equal((await post(c.http, gzipSync(Buffer.alloc(1_000_000, 0x20)), { ...JSON_TYPE, 'Content-Encoding': 'gzip' })).status, 413);
    // gRPC: INVALID_ARGUMENT for a bad body, RESOURCE_EXHAUSTED over the limit.
    assert.equal((await grpcExport(c.grpc, cut.subarray(0, cut.length - 4))).error?.code, grpc.status.INVALID_ARGUMENT);
    // Each call let through holds an eighth of the queue (5,000 bytes) until its message is in:
    // refused ones give it back (nine of them would otherwise fill the 40,000-byte queue for good).
    for (let i = 0; i < 9; i++) assert.equal((await grpcExport(c.grpc, Buffer.alloc(30_000, 0x0a))).error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal((await grpcExport(c.grpc, proto([call(70, nowMicros()).client]))).error, undefined);

    // Small gzip bodies sent together are all taken: each holds what it inflates to, no more.
    const together = await Promise.all(Array.from({ length: 10 }, (_, i) => post(c.http, gzipSync(proto([call(60 + i, nowMicros()).client])), { ...PROTOBUF, 'Content-Encoding': 'gzip' })));
    assert.deepEqual(together.map((r) => r.status), Array.from({ length: 10 }, () => 200));
    // 429: while two bodies of 20,000 bytes are almost all received, the queue (40,000 bytes,
    // reserved as the bytes come) is full.
    const slowBody = () =>
      new Promise<ClientRequest>((resolve) => {
        const req = request(`${c.http}/v1/traces`, { method: 'POST', headers: { ...JSON_TYPE, 'Content-Length': 20_000 } });
        req.on('error', () => undefined);
        req.write(Buffer.alloc(19_900, 0x20), () => setTimeout(() => resolve(req), 200));
      });
    const slow = [await slowBody(), await slowBody()];
    const busy = await post(c.http, json([client]), JSON_TYPE);
    assert.equal(busy.status, 429);
    assert.equal(busy.headers['retry-after'], '5');
    for (const r of slow) r.destroy();
    await new Promise((r) => setTimeout(r, 200));
    // A chunked body (no Content-Length) over the limit is answered 413 too, not reset.
    const chunked = await new Promise<number | string>((resolve) => {
      const req = request(`${c.http}/v1/traces`, { method: 'POST', headers: JSON_TYPE }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      for (let i = 0; i < 30; i++) req.write(Buffer.alloc(1000, 0x20));
      req.end();
    });
    assert.equal(chunked, 413);
    // An empty request is a success, in JSON as in protobuf.
    assert.deepEqual([(await post(c.http, '{}', JSON_TYPE)).status, (await post(c.http, Buffer.alloc(0), PROTOBUF)).status], [200, 200]);

    // Still serving.
    assert.equal((await post(c.http, json([client, server]), JSON_TYPE)).status, 200);
    assert.equal(await stop(c), 0, c.stderr());
    const s = status(out)!;
    assert.equal(s.requests.refused['busy'], 1);
    assert.equal(s.requests.refused['unsupported-media-type'], 2);
    assert.equal(s.requests.refused['not-found'], 1);
    // Two 413s over HTTP; grpc-js refuses the oversize message itself, before ztmap sees it.
    assert.equal(s.requests.refused['too-large'], 3);
    assert.deepEqual(Object.keys(s.requests.badData).sort(), ['malformed-otlp-json', 'malformed-otlp-protobuf']);
    assert.equal(s.requests.badData['malformed-otlp-protobuf'], 2);
    assert.deepEqual(s.spans.rejected, { 'invalid-start-time': 1, 'invalid-trace-id': 1 });
    assert.equal(s.requests.partial, 2);
  });

  it('SIGKILL loses at most one interval: a restart goes on from the checkpoint, with the spans that were waiting', async () => {
    const out = join(dir, 'restart');
    const t0 = nowMicros();
    const [a, b, later] = [call(10, t0), call(11, t0), call(12, t0)];
    // What the waiting span carries that no edge needs stays off the disk.
    b.client.attributes = { ...b.client.attributes, 'http.request.header.authorization': 'Bearer s3cr3t', 'db.statement': 'select s3cr3t', 'url.fragment': 's3cr3t' };
    b.client.name = 'GET /cart/1?session=s3cr3t';
    // The k8sattributes processor adds pod labels as k8s.* attributes, in any order: many of them
    // must not push out the ones that name the workload.
    b.client.resource = { ...Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k8s.pod.label.l${i}`, 'x'.repeat(200)])), ...b.client.resource };
    const first = await start(['-i', inv, '-o', out, '--interval', '1', '--join-wait', '600']);
    // Call a complete; call b's client only: it waits for its server.
    assert.equal((await post(first.http, json([a.client, a.server, b.client]), JSON_TYPE)).status, 200);
    let s = await nextCheckpoint(out);
    while (s.spans.accepted < 3) s = await nextCheckpoint(out, s.checkpoints);
    assert.deepEqual([s.graph.edges, s.spans.pending], [1, 1]);
    const pendingFile = readFileSync(join(out, 'collect-pending.json'), 'utf8');
    assert.match(pendingFile, new RegExp(b.client.spanId));
    assert.doesNotMatch(pendingFile, /s3cr3t|session=|k8s\.pod\.label/);
    // Sent after the last checkpoint and killed before the next: this one may be lost.
    await post(first.http, json([later.client, later.server]), JSON_TYPE);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');

    const second = await start(['-i', inv, '-o', out, '--interval', '1', '--join-wait', '600']);
    // b's server arrives after the restart and joins the client the checkpoint kept.
    assert.equal((await post(second.http, json([b.server]), JSON_TYPE)).status, 200);
    assert.equal(await stop(second), 0, second.stderr());
    s = status(out)!;
    assert.deepEqual(s.resumed, { edges: 1, pendingSpans: 1 });
    assert.equal(s.spans.pairs, 1);
    const e = (await edges(out)).get(CART)!;
    // a and b for sure; `later` only if a checkpoint came between its request and the kill.
    assert.ok(e.client.requests === 2 || e.client.requests === 3, String(e.client.requests));
    assert.deepEqual(e.paths, ['/cart/{id}']);
  });

  it('bad input is counted and the receiver keeps serving: duplicates, missing parents, clock skew, a span storm from one service', async () => {
    const out = join(dir, 'storm');
    const c = await start(['-i', inv, '-o', out, '--interval', '1', '--join-wait', '600', '--max-pending', '500']);
    const t0 = nowMicros();
    const pair = call(20, t0);
    // Clock skew: cart's clock 10 minutes behind web's; the ids still join them.
    const skewed = call(21, t0);
    skewed.server.startMicros -= 600_000_000;
    assert.equal((await post(c.http, json([pair.client, pair.server, skewed.client, skewed.server]), JSON_TYPE)).status, 200);
    // The same request again: every span a duplicate.
    assert.equal((await post(c.http, json([pair.client, pair.server]), JSON_TYPE)).status, 200);
    // A server span whose parent never comes.
    const orphan = { ...call(22, t0).server, parentSpanId: hex(0xdead, 16) };
    assert.equal((await post(c.http, json([orphan]), JSON_TYPE)).status, 200);
    // A storm: 3,000 client spans from one service, none ever joined; at most 500 wait.
    const storm = Array.from({ length: 3000 }, (_, i): SpanSpec => ({ ...call(1000 + i, t0).client, service: 'storm', resource: { 'service.namespace': 'shop' } }));
    for (let i = 0; i < storm.length; i += 500) assert.equal((await post(c.http, proto(storm.slice(i, i + 500)), PROTOBUF)).status, 200);
    assert.equal((await post(c.http, json([call(23, t0).client, call(23, t0).server]), JSON_TYPE)).status, 200);
    const s = await nextCheckpoint(out, (await nextCheckpoint(out)).checkpoints);
    assert.ok(s.spans.pending <= 500, String(s.spans.pending));
    // The orphan (the oldest) and storm spans left; the pair sent after the storm, together, joined.
    assert.equal(s.spans.evicted, 3000 + 1 - s.spans.pending);
    assert.equal(s.spans.skipped['span-unjoined-server'], 1);
    assert.equal(s.spans.skipped['span-duplicate'], 2);
    assert.equal(s.spans.pairs, 3);
    assert.deepEqual(s.senders[0], ['storm', 3000]);
    assert.equal(await stop(c), 0, c.stderr());
    // A stop keeps what waits for a restart (no --flush-on-stop): nothing more given up.
    const done = status(out)!;
    assert.deepEqual([done.spans.pending, done.spans.flushed, done.spans.evicted], [s.spans.pending, 0, s.spans.evicted]);
    assert.equal((await edges(out)).get(CART)?.client.requests, 3);
  });

  it('late spans and a sender whose clock runs ahead still join; a graceful restart keeps the spans waiting', async () => {
    const out = join(dir, 'late');
    const args = ['-i', inv, '-o', out, '--interval', '1', '--join-wait', '5'];
    const first = await start(args);
    // A Collector's tail sampling holds spans 30 s or more: these ended 40 s ago, and arrive apart.
    const late = call(30, nowMicros() - 40_000_000);
    assert.equal((await post(first.http, json([late.client]), JSON_TYPE)).status, 200);
    // Meanwhile a sender stamped an hour ahead: it moves no clock.
    const ahead = call(31, nowMicros() + 3_600_000_000);
    assert.equal((await post(first.http, json([{ ...ahead.server, parentSpanId: undefined }]), JSON_TYPE)).status, 200);
    assert.equal((await post(first.http, json([late.server]), JSON_TYPE)).status, 200);
    // A client waiting across a graceful restart.
    const across = call(32, nowMicros());
    assert.equal((await post(first.http, json([across.client]), JSON_TYPE)).status, 200);
    assert.equal(await stop(first), 0, first.stderr());
    assert.equal(status(out)!.spans.pending, 1);
    const second = await start(args);
    assert.equal((await post(second.http, json([across.server]), JSON_TYPE)).status, 200);
    assert.equal(await stop(second), 0, second.stderr());
    const e = (await edges(out)).get(CART)!;
    // Both calls joined: counted once each (client side), with the route template.
    assert.deepEqual([e.client.requests, e.paths], [2, ['/cart/{id}']]);
    assert.equal(status(out)!.spans.pairs, 1);
  });

  it("refuses an OUT that holds another command's graph.json; --flush-on-stop counts what waits alone", async () => {
    const out = join(dir, 'foreign');
    const c = await start(['-i', inv, '-o', out, '--interval', '1', '--flush-on-stop']);
    const lone = call(40, nowMicros());
    assert.equal((await post(c.http, json([lone.client]), JSON_TYPE)).status, 200);
    assert.equal(await stop(c), 0, c.stderr());
    assert.deepEqual([status(out)!.spans.pending, status(out)!.spans.flushed], [0, 1]);
    assert.ok((await edges(out)).size === 1);
    // observe's output: collect must not take it for its checkpoint.
    const observed = join(dir, 'observed');
    const run = ztmap(['observe', '-i', inv, '-o', observed, '--merge', join(out, 'graph.json')]);
    assert.equal(run.status, 0, run.stderr);
    await assert.rejects(startCollect(['-i', inv, '-o', observed]), /collect did not write/);
  });

  it('with --token-file, a request without the bearer token is refused (401, UNAUTHENTICATED)', async () => {
    const out = join(dir, 'token');
    const tokenFile = join(dir, 'token.txt');
    writeFileSync(tokenFile, 'not-a-real-token-42\n');
    const c = await start(['-i', inv, '-o', out, '--interval', '1', '--token-file', tokenFile]);
    const { client, server } = call(50, nowMicros());
    const body = json([client, server]);
    const none = await post(c.http, body, JSON_TYPE);
    assert.deepEqual([none.status, none.headers['www-authenticate']], [401, 'Bearer']);
    assert.equal((await post(c.http, body, { ...JSON_TYPE, Authorization: 'Bearer not-a-real-token-41' })).status, 401);
    assert.equal((await post(c.http, body, { ...JSON_TYPE, Authorization: 'Bearer not-a-real-token-42' })).status, 200);
    assert.equal((await grpcExport(c.grpc, proto([client]))).error?.code, grpc.status.UNAUTHENTICATED);
    assert.equal((await grpcExport(c.grpc, proto([call(51, nowMicros()).client]), { token: 'not-a-real-token-42' })).error, undefined);
    assert.equal(await stop(c), 0, c.stderr());
    const s = status(out)!;
    assert.equal(s.requests.refused['unauthenticated'], 3);
    assert.equal(s.spans.accepted, 3);
  });
});
