// What bench/traces.ts sends and decodes: a mesh of instrumented services, the inventory that
// resolves it, OTLP ExportTraceServiceRequest protobuf bodies of its traces, and a load
// generator that POSTs them (OTLP/HTTP) or calls Export (OTLP/gRPC) on a running `ztmap collect`.
//
// The bodies are what a Collector gateway forwards: each request carries a few resources (pods,
// with the resource attributes an SDK sets and the Collector's k8sattributes processor adds) and
// the spans of whole traces routed to it (loadbalancing exporter, by trace id), but one trace in
// ten has its last span in the next request (arrivals split across batches). A trace is a chain
// of CLIENT/SERVER pairs over a fixed call graph (HTTP with http.route, url.full with a query,
// server.address/server.port; or gRPC), some with a CLIENT span to a managed database outside the
// cluster (no server span: it waits for its partner until the join wait ends), and an INTERNAL span. Deterministic (seeded); every id unique. Span times start at T0 and advance
// 1 ms per trace: restamp() moves a body to another time and round (new trace ids) so that a
// long load sends no span twice and keeps span time near the receiver's wall clock.

import { request, Agent } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { ExportTraceServiceRequest } from '../src/sources/decoders/otlp-messages.js';
import { rng } from './rng.js';

/** The message class decodeOtlpProto decodes with (src/sources/decoders/otlp-proto.ts): the one place the bench names it. */
export const Request = ExportTraceServiceRequest;

/** The time of the first span (ms since the epoch), before restamp(). */
export const T0 = Date.UTC(2026, 11, 1);


interface Svc {
  name: string;
  ns: string;
  grpc: boolean;
  port: number;
  /** Two replicas: pod name, uid and IP. */
  pods: { name: string; uid: string; ip: string; node: string }[];
  rsHash: string;
  nouns: string[];
  calls: number[];
}

const NAMESPACES = ['shop', 'payments', 'catalog', 'identity', 'fulfilment'];
const NAMES = ['frontend', 'cart', 'checkout', 'orders', 'pricing', 'tax', 'payments', 'ledger', 'fraud', 'refunds', 'catalog', 'search', 'reviews', 'media', 'recommend', 'accounts', 'auth', 'profile', 'sessions', 'tokens', 'shipping', 'inventory', 'warehouse', 'tracking', 'notify'];
const NOUNS = ['orders', 'items', 'users', 'carts', 'invoices', 'products', 'reviews', 'sessions', 'shipments', 'quotes', 'refunds', 'images'];

/** 50 services in 5 namespaces, two pods each; a fifth of them gRPC; each calls three others. */
export function traceMesh(seed = 17): Svc[] {
  const r = rng(seed);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  const svcs: Svc[] = [];
  for (let i = 0; i < 50; i++) {
    const ns = NAMESPACES[i % NAMESPACES.length]!;
    const name = `${NAMES[i % NAMES.length]!}${i < NAMES.length ? '' : '-v2'}`;
    const rsHash = hex(10).replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)]!);
    const g = i % 5 === 4;
    svcs.push({
      name,
      ns,
      grpc: g,
      port: g ? 9090 : 8080,
      rsHash,
      pods: [0, 1].map((k) => ({ name: `${name}-${rsHash}-${hex(5)}`, uid: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`, ip: `10.244.${1 + (i % 4)}.${10 + 2 * i + k}`, node: `node-${1 + ((i + k) % 4)}` })),
      nouns: [0, 1, 2].map(() => NOUNS[Math.floor(r() * NOUNS.length)]!),
      calls: [],
    });
  }
  for (const [i, s] of svcs.entries()) {
    while (s.calls.length < 3) {
      const j = Math.floor(r() * svcs.length);
      if (j !== i && !s.calls.includes(j)) s.calls.push(j);
    }
  }
  return svcs;
}

/** The kubectl List that resolves the mesh: namespaces, service accounts, services, deployments, replica sets, pods. */
export function traceInventory(mesh: readonly Svc[]): unknown {
  const created = '2026-11-20T08:00:00Z';
  const items: unknown[] = [];
  for (const ns of NAMESPACES) items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns }, creationTimestamp: created, uid: `ns-${ns}` } });
  for (const s of mesh) {
    const labels = { app: s.name, 'pod-template-hash': s.rsHash };
    const ports = [{ name: s.grpc ? 'grpc' : 'http', port: s.port, protocol: 'TCP', targetPort: s.port }];
    items.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: s.name, namespace: s.ns, creationTimestamp: created, uid: `sa-${s.ns}-${s.name}` } });
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: s.ns, labels: { app: s.name }, creationTimestamp: created, uid: `svc-${s.ns}-${s.name}` }, spec: { clusterIP: `10.96.${mesh.indexOf(s) + 1}.10`, ports, selector: { app: s.name }, type: 'ClusterIP' } });
    items.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: s.name, namespace: s.ns, labels: { app: s.name }, creationTimestamp: created, uid: `deploy-${s.ns}-${s.name}` }, spec: { replicas: 2, selector: { matchLabels: { app: s.name } } } });
    const rsName = `${s.name}-${s.rsHash}`;
    items.push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: rsName, namespace: s.ns, labels, creationTimestamp: created, uid: `rs-${s.ns}-${s.name}`, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: s.name, controller: true, uid: `deploy-${s.ns}-${s.name}` }] },
      spec: { replicas: 2, selector: { matchLabels: labels } },
    });
    for (const p of s.pods) {
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: s.ns, labels, creationTimestamp: created, uid: p.uid, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, controller: true, uid: `rs-${s.ns}-${s.name}` }] },
        spec: { serviceAccountName: s.name, nodeName: p.node, containers: [{ name: s.name, image: `registry.example.com/${s.ns}/${s.name}:1.4.2`, ports: [{ containerPort: s.port, name: ports[0]!.name, protocol: 'TCP' }] }] },
        status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }], hostIP: `10.0.1.${10 + Number(p.node.slice(5))}`, startTime: created },
      });
    }
  }
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}

type Attr = [string, string | number | boolean];

const anyValue = (v: string | number | boolean) => (typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : { intValue: v });
const kv = (attrs: readonly Attr[]) => attrs.map(([key, v]) => ({ key, value: anyValue(v) }));

/** One span before encoding: its resource (pod) and what restamp() must find in the bytes. */
interface SpanDraft {
  svc: number;
  pod: number;
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Attr[];
  status: number;
}

/** Where in one body restamp() writes: the last 4 bytes of every trace id, and every span's times. */
interface Stamps {
  traceIds: number[];
  times: number[];
}

export interface Bodies {
  bodies: Buffer[];
  spans: number[];
  stamps: Stamps[];
  /** Span time the bodies cover, ms: the period of restamp()'s rounds. */
  spanMillis: number;
  mesh: Svc[];
}

function resourceOf(s: Svc, podIndex: number): Attr[] {
  const p = s.pods[podIndex]!;
  const lang = s.grpc ? 'go' : 'java';
  return [
    ['service.name', s.name],
    ['service.version', '1.4.2'],
    ['service.instance.id', p.uid],
    ['telemetry.sdk.name', 'opentelemetry'],
    ['telemetry.sdk.language', lang],
    ['telemetry.sdk.version', s.grpc ? '1.32.0' : '1.44.1'],
    ['process.runtime.name', s.grpc ? 'go' : 'OpenJDK Runtime Environment'],
    ['process.pid', 1],
    ['host.name', p.name],
    ['container.id', p.uid.replace(/-/g, '').repeat(2)],
    // What the Collector's k8sattributes processor adds (its default extract.metadata plus labels).
    ['k8s.namespace.name', s.ns],
    ['k8s.pod.name', p.name],
    ['k8s.pod.uid', p.uid],
    ['k8s.pod.ip', p.ip],
    ['k8s.pod.start_time', '2026-11-20T08:00:04Z'],
    ['k8s.node.name', p.node],
    ['k8s.deployment.name', s.name],
    ['k8s.replicaset.name', `${s.name}-${s.rsHash}`],
    ['k8s.container.name', s.name],
    ['container.image.name', `registry.example.com/${s.ns}/${s.name}`],
    ['container.image.tag', '1.4.2'],
    ['k8s.pod.labels.app', s.name],
  ];
}

/**
 * `count` bodies of `spansPerBody` spans each (an even number), encoded by protobufjs over
 * opentelemetry-proto's definitions (src/sources/decoders/otlp-messages.ts), as an SDK or Collector would send them.
 */
export function buildBodies(count: number, spansPerBody: number, seed = 1): Bodies {
  const mesh = traceMesh();
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  let traceNo = 0;
  let spanNo = 0;
  const spanId = () => {
    const b = bytes(8);
    b.writeUInt32BE(++spanNo, 4);
    return b;
  };
  const drafts: { d: SpanDraft; order: number }[] = [];
  const total = count * spansPerBody;
  // Each body's traces follow two chains of the call graph (a few resources per request).
  const chainsOf = () =>
    [0, 1].map(() => {
      const a = Math.floor(r() * mesh.length);
      const b = pick(mesh[a]!.calls);
      const c = pick(mesh[b]!.calls.filter((x) => x !== a));
      return [a, b, c];
    });
  let chains = chainsOf();
  while (drafts.length < total) {
    const body = Math.floor(drafts.length / spansPerBody);
    if (drafts.length % spansPerBody === 0 && body > 0) chains = chainsOf();
    const left = spansPerBody - (drafts.length % spansPerBody);
    const chain = pick(chains);
    // One pair (2 spans), two pairs (4), or two pairs with a database call and an internal span (6).
    const size = Math.min(left, pick([2, 4, 4, 6]));
    const hops = size === 2 ? 1 : 2;
    const traceId = bytes(16);
    traceId.writeUInt32BE(++traceNo, 0);
    traceId.writeUInt32BE(0, 12);
    const t0 = BigInt(T0 + traceNo) * 1_000_000n + BigInt(Math.floor(r() * 1000)) * 1000n;
    const trace: SpanDraft[] = [];
    let parent: Buffer | undefined;
    let at = t0;
    for (let h = 0; h < hops; h++) {
      const from = mesh[chain[h]!]!;
      const to = mesh[chain[h + 1]!]!;
      const fromPod = h === 0 ? Math.floor(r() * 2) : trace[trace.length - 1]!.pod;
      const toPod = Math.floor(r() * 2);
      const client = spanId();
      const server = spanId();
      const dur = BigInt(200 + Math.floor(r() * 40_000)) * 1000n;
      const host = `${to.name}.${to.ns}.svc.cluster.local`;
      const code = r() < 0.03 ? (to.grpc ? 14 : 503) : to.grpc ? 0 : pick([200, 200, 200, 201, 404]);
      if (to.grpc) {
        const service = `${to.ns}.${to.name.replace(/-/g, '')}.v1.${to.name.replace(/(^|-)(\w)/g, (_, _d: string, c: string) => c.toUpperCase())}Service`;
        const method = pick(['Get', 'List', 'Create', 'Update']) + pick(to.nouns).replace(/s$/, '').replace(/^\w/, (c) => c.toUpperCase());
        const common: Attr[] = [
          ['rpc.system', 'grpc'],
          ['rpc.service', service],
          ['rpc.method', method],
          ['rpc.grpc.status_code', code],
          ['server.address', host],
          ['server.port', to.port],
        ];
        trace.push({ svc: chain[h]!, pod: fromPod, traceId, spanId: client, ...(parent === undefined ? {} : { parentSpanId: parent }), name: `${service}/${method}`, kind: 3, startNs: at, endNs: at + dur + 300_000n, attributes: [...common, ['network.peer.address', to.pods[toPod]!.ip], ['network.peer.port', to.port]], status: code === 0 ? 0 : 2 });
        trace.push({ svc: chain[h + 1]!, pod: toPod, traceId, spanId: server, parentSpanId: client, name: `${service}/${method}`, kind: 2, startNs: at + 150_000n, endNs: at + dur + 150_000n, attributes: [...common, ['network.peer.address', from.pods[fromPod]!.ip], ['network.peer.port', 40_000 + Math.floor(r() * 20_000)]], status: code === 0 ? 0 : 2 });
      } else {
        const noun = pick(to.nouns);
        const id = Math.floor(r() * 1_000_000);
        const [method, route, path] = pick([
          ['GET', `/api/v1/${noun}/{id}`, `/api/v1/${noun}/${id}`],
          ['GET', `/api/v1/${noun}`, `/api/v1/${noun}`],
          ['POST', `/api/v1/${noun}`, `/api/v1/${noun}`],
          ['PUT', `/api/v1/${noun}/{id}/status`, `/api/v1/${noun}/${id}/status`],
        ] as const);
        const query = `page=${1 + Math.floor(r() * 20)}&limit=50&trace=${traceNo}`;
        trace.push({
          svc: chain[h]!,
          pod: fromPod,
          traceId,
          spanId: client,
          ...(parent === undefined ? {} : { parentSpanId: parent }),
          name: method,
          kind: 3,
          startNs: at,
          endNs: at + dur + 300_000n,
          attributes: [
            ['http.request.method', method],
            ['url.full', `http://${host}:${to.port}${path}?${query}`],
            ['server.address', host],
            ['server.port', to.port],
            ['network.peer.address', to.pods[toPod]!.ip],
            ['network.protocol.version', '1.1'],
            ['http.response.status_code', code],
          ],
          status: code >= 500 ? 2 : 0,
        });
        trace.push({
          svc: chain[h + 1]!,
          pod: toPod,
          traceId,
          spanId: server,
          parentSpanId: client,
          name: `${method} ${route}`,
          kind: 2,
          startNs: at + 150_000n,
          endNs: at + dur + 150_000n,
          attributes: [
            ['http.request.method', method],
            ['http.route', route],
            ['url.path', path],
            ['url.query', query],
            ['url.scheme', 'http'],
            ['server.address', host],
            ['server.port', to.port],
            ['client.address', from.pods[fromPod]!.ip],
            ['network.peer.address', from.pods[fromPod]!.ip],
            ['network.peer.port', 40_000 + Math.floor(r() * 20_000)],
            ['network.protocol.version', '1.1'],
            ['user_agent.original', from.grpc ? 'Go-http-client/1.1' : 'Java-http-client/21.0.5'],
            ['http.response.status_code', code],
          ],
          status: code >= 500 ? 2 : 0,
        });
      }
      parent = server;
      at += 400_000n;
    }
    if (size === 6) {
      const last = trace[trace.length - 1]!;
      const db = mesh[chain[2]!]!;
      trace.push({ svc: last.svc, pod: last.pod, traceId, spanId: spanId(), parentSpanId: last.spanId, name: 'SELECT orders', kind: 3, startNs: at, endNs: at + 900_000n, attributes: [['db.system', 'postgresql'], ['db.namespace', 'orders'], ['db.operation.name', 'SELECT'], ['server.address', `${db.ns}-db.cluster-c9akciq32.eu-west-1.rds.amazonaws.com`], ['server.port', 5432]], status: 0 });
      trace.push({ svc: last.svc, pod: last.pod, traceId, spanId: spanId(), parentSpanId: last.spanId, name: 'render', kind: 1, startNs: at + 1_000_000n, endNs: at + 1_200_000n, attributes: [['thread.name', 'worker-3']], status: 0 });
    }
    // One trace in ten: its last span arrives in the next request.
    const split = r() < 0.1;
    for (const [k, d] of trace.entries()) drafts.push({ d, order: drafts.length + (split && k === trace.length - 1 ? spansPerBody + 0.5 : 0) });
  }
  drafts.sort((a, b) => a.order - b.order);

  const out: Bodies = { bodies: [], spans: [], stamps: [], spanMillis: traceNo + 1000, mesh };
  for (let b = 0; b < count; b++) {
    const group = drafts.slice(b * spansPerBody, (b + 1) * spansPerBody).map((x) => x.d);
    // One ResourceSpans per pod, in order of first appearance; one scope per resource.
    const byPod = new Map<string, SpanDraft[]>();
    for (const d of group) {
      const k = `${d.svc}/${d.pod}`;
      const list = byPod.get(k);
      if (list === undefined) byPod.set(k, [d]);
      else list.push(d);
    }
    const ordered: SpanDraft[] = [];
    const resourceSpans = [...byPod.values()].map((spans) => {
      const s = mesh[spans[0]!.svc]!;
      ordered.push(...spans);
      return {
        resource: { attributes: kv(resourceOf(s, spans[0]!.pod)) },
        scopeSpans: [
          {
            scope: { name: s.grpc ? 'go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc' : 'io.opentelemetry.java-http-client', version: s.grpc ? '0.57.0' : '2.10.0-alpha' },
            spans: spans.map((d) => ({
              traceId: d.traceId,
              spanId: d.spanId,
              ...(d.parentSpanId === undefined ? {} : { parentSpanId: d.parentSpanId }),
              name: d.name,
              kind: d.kind,
              startTimeUnixNano: String(d.startNs),
              endTimeUnixNano: String(d.endNs),
              attributes: kv(d.attributes),
              status: d.status === 0 ? {} : { code: d.status },
            })),
          },
        ],
      };
    });
    const body = Buffer.from(Request.encode(Request.fromObject({ resourceSpans })).finish());
    out.bodies.push(body);
    out.spans.push(group.length);
    out.stamps.push(stampsOf(body, ordered));
  }
  return out;
}

/** The offsets of each span's trace id (its last 4 bytes) and of its two times, found in encoding order. */
function stampsOf(body: Buffer, spans: readonly SpanDraft[]): Stamps {
  const st: Stamps = { traceIds: [], times: [] };
  let at = 0;
  const find = (needle: Buffer): number => {
    const i = body.indexOf(needle, at);
    if (i < 0) throw new Error('bench/otlp-load: a span field was not found in its encoded body');
    at = i + needle.length;
    return i;
  };
  const fixed64 = (tag: number, v: bigint) => {
    const b = Buffer.alloc(9);
    b[0] = tag;
    b.writeBigUInt64LE(v, 1);
    return b;
  };
  for (const d of spans) {
    // Span.trace_id is field 1 (bytes, 16): tag 0x0a, length 0x10; start/end are fields 7/8 (fixed64): tags 0x39/0x41.
    st.traceIds.push(find(Buffer.concat([Buffer.from([0x0a, 0x10]), d.traceId])) + 2 + 12);
    st.times.push(find(fixed64(0x39, d.startNs)) + 1);
    st.times.push(find(fixed64(0x41, d.endNs)) + 1);
  }
  return st;
}

/** A copy of body `i`, its trace ids marked with `round` and its span times moved by `shiftMs`. */
export function restamp(b: Bodies, i: number, round: number, shiftMs: number): Buffer {
  const body = Buffer.from(b.bodies[i]!);
  const st = b.stamps[i]!;
  if (round !== 0) for (const o of st.traceIds) body.writeUInt32BE(round >>> 0, o);
  const shift = BigInt(Math.round(shiftMs)) * 1_000_000n;
  if (shift !== 0n) for (const o of st.times) body.writeBigUInt64LE(body.readBigUInt64LE(o) + shift, o);
  return body;
}

// ---------------------------------------------------------------------------------------------
// Load generator

export interface LoadOptions {
  /** Connections (HTTP) or calls in flight on one channel (gRPC). */
  concurrency: number;
  maxRequests: number;
  maxSeconds: number;
}

export interface LoadResult {
  /** Requests answered 200 (gRPC: OK), and their spans. */
  ok: number;
  okSpans: number;
  okBytes: number;
  /** 429 (gRPC: UNAVAILABLE): each waited for and sent again. */
  busy: number;
  /** Connections reset or other failures, each sent again after a pause. */
  errors: number;
  /** Any other answer (not resent). */
  other: Record<string, number>;
  /** From the first request to the last answer. */
  seconds: number;
  /** CPU seconds of this (the load generator's) process over the load. */
  cpuSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends the bodies in turn, round after round (each round restamped: new trace ids, later span
 * times aligned to the wall clock), until maxRequests have been answered 200 or maxSeconds pass.
 */
async function drive(b: Bodies, o: LoadOptions, send: (body: Buffer) => Promise<{ kind: 'ok' | 'busy' | 'error' | 'other'; retryMs?: number; label?: string }>): Promise<LoadResult> {
  const res: LoadResult = { ok: 0, okSpans: 0, okBytes: 0, busy: 0, errors: 0, other: {}, seconds: 0, cpuSeconds: 0 };
  const n = b.bodies.length;
  // Span time starts at the wall clock now and advances by the bodies' span time every round.
  const base = Date.now() - T0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + o.maxSeconds * 1000;
  let next = 0;
  let last = t0;
  const worker = async () => {
    for (;;) {
      if (next >= o.maxRequests || performance.now() > deadline) return;
      const k = next++;
      const i = k % n;
      const round = Math.floor(k / n);
      const body = restamp(b, i, round, base + round * b.spanMillis);
      for (;;) {
        const a = await send(body);
        if (a.kind === 'ok') {
          res.ok++;
          res.okSpans += b.spans[i]!;
          res.okBytes += body.length;
          last = performance.now();
          break;
        }
        if (a.kind === 'other') {
          res.other[a.label ?? '?'] = (res.other[a.label ?? '?'] ?? 0) + 1;
          break;
        }
        if (a.kind === 'busy') res.busy++;
        else res.errors++;
        if (res.errors > 100) throw new Error(`bench/otlp-load: more than 100 failed requests (last: ${a.label ?? '?'})`);
        await sleep(a.retryMs ?? 200);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  res.seconds = (last - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  res.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return res;
}

/** OTLP/HTTP, binary protobuf, over `concurrency` keep-alive connections. */
export async function loadHttp(base: string, b: Bodies, o: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const url = new URL('/v1/traces', base);
  const send = (body: Buffer) =>
    new Promise<{ kind: 'ok' | 'busy' | 'error' | 'other'; retryMs?: number; label?: string }>((resolve) => {
      const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          if (s === 200) resolve({ kind: 'ok' });
          else if (s === 429 || s === 503) resolve({ kind: 'busy', retryMs: 1000 * Number(res.headers['retry-after'] ?? 1), label: String(s) });
          else resolve({ kind: 'other', label: String(s) });
        });
      });
      // A 429 sent before the body was read closes the connection: the write may fail first.
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'error', retryMs: 200, label: err.code ?? err.message }));
      req.end(body);
    });
  try {
    return await drive(b, o, send);
  } finally {
    agent.destroy();
  }
}

/** OTLP/gRPC TraceService/Export, `concurrency` calls in flight on one channel (as grpcExport in test/support/collect-process.ts). */
export async function loadGrpc(address: string, b: Bodies, o: LoadOptions): Promise<LoadResult> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const send = (body: Buffer) =>
    new Promise<{ kind: 'ok' | 'busy' | 'error' | 'other'; retryMs?: number; label?: string }>((resolve) => {
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        (x: Buffer) => x,
        (x: Buffer) => x,
        body,
        (error) => {
          if (error === null) resolve({ kind: 'ok' });
          else if (error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.RESOURCE_EXHAUSTED) resolve({ kind: 'busy', retryMs: 1000, label: grpc.status[error.code] });
          else resolve({ kind: 'other', label: grpc.status[error.code] ?? String(error.code) });
        },
      );
    });
  try {
    return await drive(b, o, send);
  } finally {
    client.close();
  }
}
