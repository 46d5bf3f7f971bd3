// Spans → flows: a CLIENT span joined with its SERVER child is one request between two services
// (design.md §2, "Traces"; notes/semantics.md, "Traces"). Attribute names are OpenTelemetry's
// semantic conventions, stable names first, then the older ones exporters still write
// (semantic-conventions docs/http/http-spans.md, docs/rpc/grpc.md, docs/messaging/,
// docs/resource/k8s.md). Every value is a claim of the exporting process: the resolver checks it.
//
// What becomes a flow, and why:
// - Join: a CLIENT span and the SERVER span whose parent it is (same trace), or a Zipkin `shared`
//   SERVER span carrying the client's own span id. One flow per pair, reporter `client`: the two
//   spans are one request. Source: the client's resource; destination: the server's resource.
//   PRODUCER/CONSUMER are never joined: a message goes through a broker, so producer → consumer
//   is no network edge (messaging, below).
// - Protocol: gRPC when `rpc.system` (or `rpc.system.name`) is `grpc` (path `/SERVICE/METHOD`,
//   method POST, as gRPC is carried over HTTP/2); HTTP when a method attribute is there; else tcp.
// - Path: the server's `http.route` (never a client's: a claim about a path it did not serve),
//   else the raw path of `url.path`, `http.target`, `http.path` (Zipkin), `url.full`, `http.url`,
//   the server's first. A gRPC call no attribute or span name gives a method for is rejected
//   (`span-grpc-no-method`): an L4 rule would admit every method. A route's placeholders
//   (`{id}`, `:id`, `<int:id>`, `*rest`, `[id]`) become `0`, which graph/ templates to `{id}`:
//   graph/ templates every path as a raw one and escapes literal braces, so a route passed as it
//   is would become a literal `/users/%7Bid%7D` that matches no request. An optional marker
//   (`:id?`, `{id?}`) is dropped with its `?`. Query and fragment never leave this module.
// - Ports: `server.port` (and the older `net.host.port`) is the port of the Host header on both
//   sides (http-spans.md, "Setting server.address and server.port"), the Service's port when
//   the client called a Service. So the server's socket port (`network.local.port`,
//   `net.sock.host.port`, Zipkin's local endpoint) is the destination `port`; without it the
//   logical port is `servicePort`: of the Service the client addressed (the resolver maps it to
//   the target port), or with no Service known, the port the client addressed, which the
//   resolver maps to the pod's own port of that number or its one declared port. Never `port`.
// - Response code: the client's (what it received, a proxy's refusal included), else the server's.
// - Same workload: two of its pods calling each other is a network edge; only a pod calling
//   itself, or a pair nothing tells apart, is `span-same-service`.
// - count 1: spans are sampled, they prove that an edge and its operations exist, not how often;
//   fusion takes the source that counted the most (docs/sources.md, "Fusion").
//
// Endpoints (resource attributes): `k8s.pod.name` + `k8s.namespace.name` → `pod`; a controller
// (`k8s.deployment.name`, statefulset, daemonset, cronjob, job: a CronJob's pod carries both its
// job and cronjob, and the CronJob is the top-level controller) → a `workload` claim with its
// kind; else `service.name` → a claim without kind, in `k8s.namespace.name` (where the pod runs)
// else `service.namespace` (a logical grouping that often is no Kubernetes namespace). No
// namespace, or the SDK's default `unknown_service…`: no claim, but an address (Zipkin's
// endpoint, `network.local.address`) is kept. Istio's Envoy spans carry no resource but name
// their proxy in the `node_id` tag (`sidecar~IP~POD.NS~…`): that pod and address, and never
// their `service.name` (APP.NS, a cluster name, no workload's); a CLIENT span's
// `upstream_cluster` (`outbound|PORT||SERVICE`) is the Service and port it routed to.
//
// A CLIENT span whose server never comes (uninstrumented callee, sampling, expiry): the callee from
// `server.address`/`server.port` (`net.peer.name`/`net.peer.port`, the host of `url.full` or
// `http.url`, whose scheme gives 80 or 443), then the socket peer (`network.peer.address`,
// `net.sock.peer.addr`, `net.peer.ip`, Zipkin's remote endpoint), then `peer.service`:
//   an IP                              → `ip` + `port`
//   `NAME.NS.svc[.…]`                  → the Service (`service` + `servicePort`)
//   `NAME.NS`, NS no common public TLD → the Service `NAME.NS.svc.cluster.local`: a Service
//                                        wrongly assumed is reported by the resolver as not in
//                                        the inventory, an external host wrongly assumed would be
//                                        a plausible egress rule
//   a bare `NAME`                      → the Service NAME in the client's namespace (the DNS
//                                        search path), skipped when the client has none
//   `localhost`, 127/8, ::1            → skipped: no network edge (`span-loopback`)
//   any other host                     → `host` (external)
//   `peer.service` alone               → a workload claim in the client's namespace (it is the
//                                        callee's `service.name`), only when nothing else names it
// A SERVER span whose client never comes: an edge from its socket peer (`network.peer.address`,
// `net.sock.peer.addr`, `net.peer.ip`), reporter `server`. Never from `client.address` or a
// Zipkin server's remote endpoint: those are X-Forwarded-For's original client where there is
// one (http-spans.md, `client.address` note), and a forwarded address is never an edge
// (docs/architecture.md, "A peer behind a proxy"). Else counted `span-unjoined-server`.
//
// Messaging (PRODUCER, CONSUMER, or a CLIENT span with `messaging.system`): every client connects
// to the broker, so the edge is producer → broker or consumer → broker (broker from
// `server.address`/`server.port`, `net.peer.name`/`net.peer.port`, the socket peer), tcp,
// reporter `client`. The topic (`messaging.destination.name`, older `messaging.destination`) has
// no place in a Flow (l7 is HTTP: a topic there would become an HTTP path rule on a TCP edge), so
// it goes to the `topic` sink as evidence; the topic is what links producers and consumers, never
// an edge.
//
// Waiting (children often export before their parents, so both sides wait): time is span time
// (`end`, else `start`), never arrival, so a file joins the same way however fast it is read. The
// latest span time seen is the watermark; a span waits while watermark ≤ its time + maxWaitMs, and
// at most maxPending spans wait (the oldest by span time leaves first). A span that leaves
// unjoined goes by the rules above. A server arriving after its client left is counted
// (`span-partner-gone`: the client's flow stands for the request); a client arriving after its
// server left goes alone; a repeated span id is counted (`span-duplicate`). The ids of finished
// spans are remembered under the same bounds. Memory grows with the spans in flight, never with
// the input. Only CLIENT and SERVER spans move the watermark, each by at most maxWaitMs: a span
// stamped far in the future (skew, damage) does not let everything waiting go alone.
// Determinism: within the bounds, the flows of a set of spans do not depend on their order.

import { heapPop, heapPush } from '../flow/heap.js';
import { isIP } from 'node:net';
import type { EndpointRef, Flow, L4Protocol } from '../flow/flow.js';
import { compare } from '../flow/compare.js';
import type { Tally } from '../tally.js';
import type { Location } from '../errors.js';
import type { AttributeValue, Span } from './decoders/span.js';
import { excerpt } from '../text.js';
import { kubernetesServiceOf } from './address.js';

export interface SpanJoinerOptions {
  /** Most spans waiting for their partner at once. */
  maxPending: number;
  /** How long (in span time) a span waits for its partner. */
  maxWaitMs: number;
  /** The decoder named in each flow's evidence (`otlp-json`, `jaeger-json`, `zipkin-json`). */
  decoder: string;
  /**
   * A receiver's clock (epoch ms): when set, a span waits from its arrival, and span times never
   * move the clock. Spans reach a receiver late (a Collector's tail sampling waits 30 s, retries
   * hold them longer) and senders' clocks are skewed: by span time, such a span would expire as
   * it arrives, and one sender stamped ahead would stop every join. Files have no arrival time:
   * there, span time is the clock.
   */
  now?: () => number;
}

/** A messaging span's topic: evidence that links producers and consumers, never an edge. */
export interface TopicEvidence {
  system: string;
  topic: string;
  role: 'producer' | 'consumer' | 'client';
  /** The producer's or consumer's side. */
  endpoint: EndpointRef;
  location: Location;
}

export interface SpanSinks {
  flow(f: Flow): void;
  skips: Tally;
  rejects: Tally;
  topic?(t: TopicEvidence): void;
}

/** A span id remembered (finished) or a span waiting, ordered by span time then key. */
interface Entry {
  key: string;
  time: number;
  live: boolean;
}

interface Pending extends Entry {
  span: Span;
  /** `c` for a client waiting for its server, `s` for a server waiting for its client. */
  side: 'c' | 's';
}

/** What became of the spans so far: every span is in exactly one flow, skip or reject. */
export interface SpanCounts {
  spans: number;
  flows: number;
  /** Flows made of a client and a server span (the other flows are made of one span). */
  pairs: number;
  pending: number;
  /** Spans that stopped waiting for their partner: their wait was over, more than maxPending waited, or the input ended. */
  expired: number;
  evicted: number;
  flushed: number;
}

/**
 * Every attribute the joiner reads (span attributes and resource attributes alike): what a
 * receiver must keep of a span that waits for its partner, and nothing more. A test checks that
 * every key this file names is here.
 */
export const SPAN_KEYS_READ: ReadonlySet<string> = new Set([
  'http.method', 'http.path', 'http.request.method', 'http.request.method_original', 'http.response.status_code', 'http.route', 'http.status_code', 'http.target', 'http.url',
  'k8s.cronjob.name', 'k8s.daemonset.name', 'k8s.deployment.name', 'k8s.job.name', 'k8s.namespace.name', 'k8s.pod.name', 'k8s.statefulset.name',
  'messaging.destination', 'messaging.destination.name', 'messaging.operation', 'messaging.operation.type', 'messaging.system',
  'net.host.port', 'net.peer.ip', 'net.peer.name', 'net.peer.port', 'net.sock.host.addr', 'net.sock.host.port', 'net.sock.peer.addr', 'net.sock.peer.port',
  'network.local.address', 'network.local.port', 'network.peer.address', 'network.peer.port',
  'peer.service', 'rpc.grpc.status_code', 'rpc.method', 'rpc.response.status_code', 'rpc.service', 'rpc.system', 'rpc.system.name',
  'server.address', 'server.port', 'service.name', 'service.namespace', 'url.full', 'url.path', 'node_id', 'upstream_cluster',
]);

const HTTP_METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

export class SpanJoiner {
  private readonly _opts: SpanJoinerOptions;
  private readonly _sinks: SpanSinks;
  // Waiting spans by join key (trace + the client's span id), one map per side.
  private readonly _clients = new Map<string, Pending>();
  private readonly _servers = new Map<string, Pending>();
  // Span ids finished (joined or gone), to count late partners and repeats, under the same bounds.
  private readonly _done = new Map<string, Entry>();
  private readonly _waiting = new Heap<Pending>();
  private readonly _finished = new Heap<Entry>();
  // Server span ids waiting (their join key is the client's id), to see a repeat before it is joined.
  private readonly _waitingOwn = new Set<string>();
  // The latest span time seen (see the header).
  private _watermark = -Infinity;
  private _inBatch = false;
  private readonly _counts: SpanCounts = { spans: 0, flows: 0, pairs: 0, pending: 0, expired: 0, evicted: 0, flushed: 0 };

  constructor(options: SpanJoinerOptions, sinks: SpanSinks) {
    this._opts = options;
    this._sinks = sinks;
  }

  get counts(): Readonly<SpanCounts> {
    return { ...this._counts, pending: this._clients.size + this._servers.size };
  }

  /**
   * A request's spans: added as one, so that a client and its server sent together join even
   * when more than maxPending spans wait (the bound is applied once the batch is in; memory is
   * then bounded by maxPending plus one request, itself bounded in bytes by the receiver).
   */
  addBatch(spans: readonly Span[]): void {
    this._inBatch = true;
    try {
      for (const span of spans) this.add(span);
    } finally {
      this._inBatch = false;
    }
    this._evictOverBound();
  }

  add(span: Span): void {
    this._counts.spans++;
    if (span.traceId === '' || span.spanId === '') return this._sinks.rejects.add('span-missing-id', span.location, `${nameOf(span)}: no trace or span id`);
    if (!Number.isFinite(span.start)) return this._sinks.rejects.add('span-invalid-time', span.location, nameOf(span));
    const now = this._opts.now;
    const time = now === undefined ? timeOf(span) : now();
    if (now !== undefined) this._watermark = Math.max(this._watermark, time);
    // Only spans that can join move the clock, and one span at most maxWaitMs past it: a single
    // span stamped decades ahead (skew, damage) must not expire everything waiting.
    else if ((span.kind === 'client' || span.kind === 'server') && time > this._watermark) {
      this._watermark = this._watermark === -Infinity ? time : Math.min(time, this._watermark + this._opts.maxWaitMs);
    }
    if (span.kind === 'internal' || span.kind === 'unspecified') this._sinks.skips.add(`span-${span.kind}`, span.location, nameOf(span));
    else if (span.kind === 'producer' || span.kind === 'consumer' || (span.kind === 'client' && has(span, 'messaging.system'))) this._messaging(span);
    else if (span.kind === 'client') this._client(span, time);
    else this._server(span, time);
    this._expire();
  }

  /**
   * The clock moves without spans (a receiver's wall clock): spans whose wait is over go by the
   * unjoined rules, as if a span of time `time` had arrived. Never moves the watermark back.
   */
  advance(time: number): void {
    if (time > this._watermark) this._watermark = time;
    this._expire();
  }

  /** The spans waiting for their partner, oldest first: what a receiver keeps across a restart (and adds again). */
  pendingSpans(): Span[] {
    return [...this._clients.values(), ...this._servers.values()].sort((a, b) => a.time - b.time || compare(a.key, b.key)).map((p) => p.span);
  }

  /** End of input: every waiting span goes by the unjoined rules, oldest first. */
  flush(): void {
    for (;;) {
      const p = this._waiting.pop();
      if (p === undefined) break;
      if (p.live) {
        this._counts.flushed++;
        this._leave(p);
      }
    }
    this._done.clear();
    this._finished.clear();
  }

  private _client(span: Span, time: number): void {
    const key = `${span.traceId}/${span.spanId}`;
    if (this._isRepeat('c', key, span)) return;
    const server = this._servers.get(key);
    if (server !== undefined) {
      this._finish(server);
      this._remember('c', key, time);
      return this._join(span, server.span);
    }
    if (this._done.has(`s|${key}`)) {
      // Its server left already (and was counted or made its own flow): this side alone.
      this._remember('c', key, time);
      return this._alone(span);
    }
    this._wait(span, 'c', key, time);
  }

  private _server(span: Span, time: number): void {
    const own = `s!${span.traceId}/${span.spanId}`;
    if (this._done.has(own) || this._waitingOwn.has(own)) return this._sinks.skips.add('span-duplicate', span.location, `server span ${span.spanId}`);
    const parent = span.shared === true ? span.spanId : span.parentSpanId;
    // A root server span: its caller is not traced.
    if (parent === undefined || parent === '') {
      this._rememberOwn(own, time);
      return this._serverAlone(span);
    }
    const key = `${span.traceId}/${parent}`;
    const client = this._clients.get(key);
    if (client !== undefined) {
      this._finish(client);
      this._rememberOwn(own, time);
      return this._join(client.span, span);
    }
    if (this._done.has(`c|${key}`)) {
      // Its client was joined with another server, or left alone already: that flow stands for it.
      this._rememberOwn(own, time);
      return this._sinks.skips.add('span-partner-gone', span.location, `server span ${span.spanId} of client ${parent}`);
    }
    if (this._servers.has(key)) {
      // Two servers for one client (not the OpenTelemetry or Zipkin model): the first one waits.
      this._rememberOwn(own, time);
      return this._sinks.skips.add('span-extra-server', span.location, `server span ${span.spanId} of client ${parent}`);
    }
    this._waitingOwn.add(own);
    this._wait(span, 's', key, time);
  }

  private _isRepeat(side: 'c', key: string, span: Span): boolean {
    if (this._clients.has(key) || this._done.has(`${side}|${key}`)) {
      this._sinks.skips.add('span-duplicate', span.location, `client span ${span.spanId}`);
      return true;
    }
    return false;
  }

  private _wait(span: Span, side: 'c' | 's', key: string, time: number): void {
    const p: Pending = { span, side, key, time, live: true };
    (side === 'c' ? this._clients : this._servers).set(key, p);
    this._waiting.push(p);
    if (!this._inBatch) this._evictOverBound();
  }

  /** While more than maxPending spans wait, the oldest (by span time) goes by the unjoined rules. */
  private _evictOverBound(): void {
    while (this._clients.size + this._servers.size > this._opts.maxPending) {
      const oldest = this._waiting.pop();
      if (oldest === undefined) break;
      if (oldest.live) {
        this._counts.evicted++;
        this._leave(oldest);
      }
    }
  }

  /** Removes a waiting span (joined, or leaving alone), remembering its id. */
  private _finish(p: Pending): void {
    p.live = false;
    (p.side === 'c' ? this._clients : this._servers).delete(p.key);
    if (p.side === 's') {
      const own = `s!${p.span.traceId}/${p.span.spanId}`;
      this._waitingOwn.delete(own);
      this._rememberOwn(own, p.time);
    } else this._remember('c', p.key, p.time);
    this._waiting.compact(this._clients.size + this._servers.size);
  }

  /** A waiting span whose partner did not come within the bounds. */
  private _leave(p: Pending): void {
    this._finish(p);
    if (p.side === 'c') this._alone(p.span);
    else {
      this._remember('s', p.key, p.time);
      this._serverAlone(p.span);
    }
  }

  private _expire(): void {
    const limit = this._watermark - this._opts.maxWaitMs;
    for (;;) {
      const p = this._waiting.peek();
      if (p === undefined || (p.live && p.time >= limit)) break;
      this._waiting.pop();
      if (p.live) {
        this._counts.expired++;
        this._leave(p);
      }
    }
    for (;;) {
      const d = this._finished.peek();
      if (d === undefined || (d.time >= limit && this._done.size <= this._opts.maxPending)) break;
      this._finished.pop();
      this._done.delete(d.key);
    }
  }

  private _remember(side: 'c' | 's', key: string, time: number): void {
    this._rememberOwn(`${side}|${key}`, time);
  }

  private _rememberOwn(key: string, time: number): void {
    if (this._done.has(key)) return;
    const d: Entry = { key, time, live: true };
    this._done.set(key, d);
    this._finished.push(d);
  }

  private _emit(f: Flow, spans: readonly Span[]): void {
    // A gRPC call with no method named would be an L4 rule on its port: every method of the
    // service. Rejected instead, as an unreadable HTTP method is.
    if (f.protocol === 'grpc' && f.l7 === undefined) {
      for (const sp of spans) this._sinks.rejects.add('span-grpc-no-method', sp.location, `${nameOf(sp)}: no rpc.method, and the span's name is not SERVICE/METHOD`);
      return;
    }
    this._counts.flows++;
    if (spans.length === 2) this._counts.pairs++;
    this._sinks.flow(f);
  }

  /** Both counted, one per span: each with its own location. */
  private _skipBoth(reason: string, client: Span, server: Span, detail: string): void {
    this._sinks.skips.add(reason, client.location, detail);
    this._sinks.skips.add(reason, server.location, detail);
  }

  private _join(client: Span, server: Span): void {
    if (sameService(client, server)) return this._skipBoth('span-same-service', client, server, nameOf(client));
    // Either side's method unreadable: the pair is rejected, never read as TCP (which admits every path).
    const serverMethod = methodOf(server);
    const clientMethod = methodOf(client);
    if (serverMethod === null || clientMethod === null) return this._rejectBoth(client, server);
    const method = serverMethod ?? clientMethod;
    const protocol = protocolOf(server, client, method);
    let source = sideOf(client);
    if (!named(source)) {
      const peer = socketPeerOf(server);
      if (peer !== undefined) source = { ...source, ip: peer };
    }
    if (!named(source)) return this._skipBoth('span-unnamed-client', client, server, `${nameOf(client)}: no pod, workload or address names the caller`);
    const callee = calleeOf(client);
    let destination = sideOf(server);
    const local = num(server, 'network.local.port') ?? num(server, 'net.sock.host.port') ?? validPort(server.local?.port);
    // The port the client addressed comes first: the server's own `server.port` is its Host
    // header's, which behind a gateway is the public one (80, 443), not the port the gateway
    // dialled. It counts even when what the client named tells nothing of the callee (a loopback
    // address through a tunnel or a sidecar): the server's pod names the callee.
    const addressed = callee.kind === 'ref' ? (callee.ref.port ?? callee.ref.servicePort) : (num(client, 'server.port') ?? num(client, 'net.peer.port') ?? urlOf(client)?.port);
    const logical = addressed ?? num(server, 'server.port') ?? num(server, 'net.host.port') ?? urlOf(server)?.port;
    if (callee.kind === 'ref' && callee.ref.service !== undefined) {
      destination.service = callee.ref.service;
      if (local === undefined && logical !== undefined) destination.servicePort = logical;
    }
    // The logical port (`server.port`: the Host header's, a Service's or a gateway's) is never
    // the pod's port: without the socket port it goes as the port the client addressed, which
    // the resolver maps to the pod's own (a Service's targetPort, or the pod's one declared port).
    if (local !== undefined) destination.port = local;
    else if (destination.service === undefined && logical !== undefined) destination.servicePort = logical;
    if (!named(destination) && destination.service === undefined) {
      if (callee.kind !== 'ref') return this._skipBoth('span-unnamed-server', client, server, `${nameOf(server)}: no pod, workload or address names the callee`);
      destination = callee.ref;
    }
    this._emit(
      {
        source,
        destination,
        protocol,
        l7: l7Of(protocol, method, [server, client]),
        mtls: 'unknown',
        responseCode: statusOf(client) ?? statusOf(server) ?? 0,
        timestamp: client.start,
        count: 1,
        reporter: 'client',
        evidence: { decoder: this._opts.decoder, location: client.location },
      },
      [client, server],
    );
  }

  private _rejectBoth(client: Span, server: Span): void {
    const detail = `${nameOf(client)}: no HTTP method: ${methodOf(client) === null ? methodText(client) : methodText(server)}`;
    this._sinks.rejects.add('span-invalid-method', client.location, detail);
    this._sinks.rejects.add('span-invalid-method', server.location, detail);
  }

  /** A client span without its server: the callee as the client named it. */
  private _alone(span: Span): void {
    const method = methodOf(span);
    if (method === null) return this._sinks.rejects.add('span-invalid-method', span.location, `${nameOf(span)}: no HTTP method: ${methodText(span)}`);
    const source = sideOf(span);
    if (!named(source)) return this._sinks.skips.add('span-unnamed-client', span.location, `${nameOf(span)}: no pod, workload or address names the caller`);
    const callee = calleeOf(span);
    if (callee.kind !== 'ref') return this._sinks.skips.add(callee.kind === 'loopback' ? 'span-loopback' : 'span-unjoined-client', span.location, `${nameOf(span)}: ${callee.why}`);
    this._emitOne(span, source, callee.ref, 'client', method);
  }

  /** The flow of one span without its partner, reported by its own side. */
  private _emitOne(span: Span, source: EndpointRef, destination: EndpointRef, reporter: Flow['reporter'], method: string | undefined): void {
    const protocol = protocolOf(span, undefined, method);
    // Envoy sent it nowhere: outboundTrafficPolicy REGISTRY_ONLY refused an unknown host, as an
    // access log's BlackHoleCluster says (sources/access-log.ts). Never an edge to allow.
    const refused = reporter === 'client' && str(span, 'upstream_cluster') === 'BlackHoleCluster';
    this._emit(
      {
        ...(refused ? { denial: { kind: 'registry-only' as const } } : {}),
        source,
        destination,
        protocol,
        l7: l7Of(protocol, method, [span]),
        mtls: 'unknown',
        responseCode: statusOf(span) ?? 0,
        timestamp: span.start,
        count: 1,
        reporter,
        evidence: { decoder: this._opts.decoder, location: span.location },
      },
      [span],
    );
  }

  /** A server span without its client: an edge from its socket peer, when it names one. */
  private _serverAlone(span: Span): void {
    const peer = socketPeerOf(span);
    if (peer === undefined) return this._sinks.skips.add('span-unjoined-server', span.location, `${nameOf(span)}: its caller is not traced and no socket peer is named`);
    if (isLoopback(peer) || peer === ownIpOf(span)) return this._sinks.skips.add('span-loopback', span.location, `${nameOf(span)}: called from ${peer}`);
    const method = methodOf(span);
    if (method === null) return this._sinks.rejects.add('span-invalid-method', span.location, `${nameOf(span)}: no HTTP method: ${methodText(span)}`);
    const destination = sideOf(span);
    const port = num(span, 'network.local.port') ?? num(span, 'net.sock.host.port') ?? validPort(span.local?.port);
    const logical = num(span, 'server.port') ?? num(span, 'net.host.port');
    if (port !== undefined) destination.port = port;
    else if (logical !== undefined) destination.servicePort = logical;
    if (!named(destination)) return this._sinks.skips.add('span-unnamed-server', span.location, `${nameOf(span)}: no pod, workload or address names the callee`);
    this._emitOne(span, { ip: peer }, destination, 'server', method);
  }

  private _messaging(span: Span): void {
    const endpoint = sideOf(span);
    const system = str(span, 'messaging.system') ?? '';
    const topic = str(span, 'messaging.destination.name') ?? str(span, 'messaging.destination');
    if (topic !== undefined && this._sinks.topic !== undefined) {
      this._sinks.topic({ system, topic, role: messagingRole(span), endpoint, location: span.location });
    }
    if (!named(endpoint)) return this._sinks.skips.add('span-unnamed-client', span.location, `${nameOf(span)}: no pod, workload or address names the ${span.kind}`);
    const broker = calleeOf(span, false);
    if (broker.kind !== 'ref') return this._sinks.skips.add(broker.kind === 'loopback' ? 'span-loopback' : 'span-messaging-no-broker', span.location, `${nameOf(span)}: ${broker.why}`);
    this._emit(
      {
        source: endpoint,
        destination: broker.ref,
        protocol: 'tcp',
        mtls: 'unknown',
        responseCode: 0,
        timestamp: span.start,
        count: 1,
        reporter: 'client',
        evidence: { decoder: this._opts.decoder, location: span.location },
      },
      [span],
    );
  }
}

// ---- attributes

function attr(span: Span, name: string): AttributeValue | undefined {
  return span.attributes[name];
}

function has(span: Span, name: string): boolean {
  return span.attributes[name] !== undefined;
}

function str(span: Span, name: string): string | undefined {
  const v = span.attributes[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function res(span: Span, name: string): string | undefined {
  const v = span.resource[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A port attribute: an integer 1–65535, as a number or a numeric string (Zipkin's tags are strings). */
function num(span: Span, name: string): number | undefined {
  return validPort(span.attributes[name]);
}

function validPort(v: AttributeValue | undefined): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,5}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : undefined;
}

function statusOf(span: Span): number | undefined {
  // gRPC answers HTTP 200 whatever its status (as Envoy logs it): a span with a gRPC status got an answer.
  const grpc = span.attributes['rpc.grpc.status_code'] ?? span.attributes['rpc.response.status_code'];
  if (grpc !== undefined && span.attributes['http.response.status_code'] === undefined && span.attributes['http.status_code'] === undefined) return 200;
  const v = span.attributes['http.response.status_code'] ?? span.attributes['http.status_code'];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{3}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}

function timeOf(span: Span): number {
  return span.end !== undefined && Number.isFinite(span.end) ? span.end : span.start;
}

// Details name the span by service and id, never by its name: a span name may hold a raw path.
function nameOf(span: Span): string {
  return `${excerpt(res(span, 'service.name') ?? '?')} ${span.kind} span ${excerpt(span.spanId, 32)}`;
}

function methodText(span: Span): string {
  return excerpt(String(attr(span, 'http.request.method') ?? attr(span, 'http.method')), 32);
}

/** The HTTP method, undefined when none is named, null when the value is no HTTP token. */
function methodOf(span: Span): string | null | undefined {
  let m = span.attributes['http.request.method'] ?? span.attributes['http.method'];
  if (m === undefined) return undefined;
  // `_OTHER`: a method the instrumentation did not know; the original is kept beside it.
  if (m === '_OTHER') m = span.attributes['http.request.method_original'] ?? m;
  return typeof m === 'string' && HTTP_METHOD.test(m) ? m : null;
}

function isGrpc(span: Span): boolean {
  return (str(span, 'rpc.system') ?? str(span, 'rpc.system.name')) === 'grpc';
}

function protocolOf(a: Span, b: Span | undefined, method: string | undefined): L4Protocol {
  if (isGrpc(a) || (b !== undefined && isGrpc(b))) return 'grpc';
  return method !== undefined ? 'http' : 'tcp';
}

function l7Of(protocol: L4Protocol, method: string | undefined, spans: readonly Span[]): Flow['l7'] {
  if (protocol === 'grpc') {
    for (const s of spans) {
      const service = str(s, 'rpc.service');
      const m = str(s, 'rpc.method');
      // Newer conventions write the fully qualified `pkg.Service/Method` in rpc.method alone.
      const path = m === undefined ? undefined : service !== undefined ? `/${service}/${m}` : m.includes('/') ? `/${m}` : undefined;
      if (path !== undefined) return { method: 'POST', path: withoutQuery(path) };
    }
    // gRPC instrumentations name their spans `pkg.Service/Method`.
    for (const s of spans) if (/^[\w.]+\/\w+$/.test(s.name)) return { method: 'POST', path: `/${s.name}` };
    return undefined;
  }
  if (protocol !== 'http' || method === undefined) return undefined;
  // `http.route` is the server's (the semantic conventions set it on SERVER spans): a client's is
  // a claim about a path it did not serve, and a broad one would open every path. So the
  // server's route, else the raw path the server saw, else the one the client asked for.
  for (const s of spans) {
    if (s.kind === 'client') continue;
    const route = str(s, 'http.route');
    if (route !== undefined) {
      const path = routePath(route);
      if (path !== undefined) return { method, path };
    }
  }
  for (const s of spans) {
    const raw = str(s, 'url.path') ?? str(s, 'http.target') ?? str(s, 'http.path') ?? urlOf(s)?.path;
    if (raw !== undefined) return { method, path: withoutQuery(raw) };
  }
  return { method, path: '/' };
}

/**
 * The path before any query or fragment, with control characters and spaces percent-encoded:
 * no HTTP request target holds them raw, and a span's attribute is the sender's to fill (a
 * newline in a path would be one more line in a report).
 */
function withoutQuery(p: string): string {
  const q = p.search(/[?#]/);
  const path = (q === -1 ? p : p.slice(0, q)).replace(/[\u0000-\u0020\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return path === '' ? '/' : path;
}

// Dynamic segments in the route syntaxes of common frameworks: {id} {id:int} {*rest} (ASP.NET,
// Spring, FastAPI, gorilla), :id (Express, Rails, gin), <id> <int:id> (Flask), *rest (gin, Express
// wildcards), [id] [...rest] (Next.js). Only whole segments: a partly dynamic segment is replaced whole.
const DYNAMIC_SEGMENT = /[{}<>[\]*]|^:/;

/** An http.route as a raw path whose placeholders graph/ templates to `{id}` (see the header). */
function routePath(route: string): string | undefined {
  // `?` after a parameter marks it optional; any other `?` would start a query.
  const cleaned = withoutQuery(route.replace(/\?(?=[}/)>\]]|$)/g, ''));
  const segments = cleaned.split('/');
  const out = segments.map((s, i) => (i > 0 || s !== '' ? (DYNAMIC_SEGMENT.test(s) ? '0' : s) : s));
  const path = out.join('/');
  if (path === '' || path === '0') return undefined;
  return path.startsWith('/') ? path : `/${path}`;
}

interface SplitUrl {
  host?: string;
  port?: number;
  path: string;
}

/** `url.full` or `http.url`, split without normalizing: the path as sent, query and fragment dropped. */
function urlOf(span: Span): SplitUrl | undefined {
  const u = str(span, 'url.full') ?? str(span, 'http.url');
  if (u === undefined) return undefined;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([\s\S]*)$/.exec(u);
  if (m === null) return u.startsWith('/') ? { path: withoutQuery(u) } : undefined;
  const scheme = m[1]!.toLowerCase();
  let authority = m[2]!;
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  let host = authority;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(authority);
  if (v6 !== null) {
    host = v6[1]!;
    port = validPort(v6[2]);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon !== -1) {
      host = authority.slice(0, colon);
      port = validPort(authority.slice(colon + 1));
    }
  }
  port ??= scheme === 'http' ? 80 : scheme === 'https' ? 443 : undefined;
  return { host: host === '' ? undefined : host, port, path: withoutQuery(m[3]!) };
}

// ---- endpoints

const CONTROLLERS: readonly [string, string][] = [
  ['k8s.deployment.name', 'Deployment'],
  ['k8s.statefulset.name', 'StatefulSet'],
  ['k8s.daemonset.name', 'DaemonSet'],
  ['k8s.cronjob.name', 'CronJob'],
  ['k8s.job.name', 'Job'],
];

function serviceNameOf(span: Span): string | undefined {
  const name = res(span, 'service.name') ?? span.local?.serviceName;
  // The SDKs' default when none was configured names no service.
  return name === undefined || name.startsWith('unknown_service') ? undefined : name;
}

function namespaceOf(span: Span): string | undefined {
  return res(span, 'k8s.namespace.name') ?? istioProxyOf(span)?.pod.namespace;
}

// Istio's Envoy names itself in every span it writes: `node_id` is the proxy's identity,
// TYPE~IP~POD.NAMESPACE~NAMESPACE.svc.DOMAIN (`sidecar`, or `router` for a gateway).
const ISTIO_NODE = /^(sidecar|router)~([0-9a-fA-F.:]+)~([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)~/;

/** The pod (and its address) of the Istio proxy that wrote the span, from its `node_id` tag. */
function istioProxyOf(span: Span): { pod: { namespace: string; name: string }; ip?: string } | undefined {
  const node = str(span, 'node_id');
  const m = node === undefined ? null : ISTIO_NODE.exec(node);
  if (m === null) return undefined;
  const ip = m[2]!;
  return { pod: { namespace: m[5]!, name: m[3]! }, ...(isIP(ip) !== 0 && !isLoopback(ip) ? { ip } : {}) };
}

// Envoy's CLIENT span names the cluster it routed to: outbound|PORT|SUBSET|HOST (the Service and
// the port the client addressed, as Istio's access logs name them).
const OUTBOUND_CLUSTER = /^outbound\|([0-9]{1,5})\|[^|]*\|([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

function outboundClusterOf(span: Span): { host: string; port: number | undefined } | undefined {
  const c = str(span, 'upstream_cluster');
  const m = c === undefined ? null : OUTBOUND_CLUSTER.exec(c);
  return m === null ? undefined : { host: m[2]!, port: validPort(m[1]) };
}

/** One side's own endpoint, from its resource (see the header). */
function sideOf(span: Span): EndpointRef {
  const ref: EndpointRef = {};
  const ns = namespaceOf(span);
  const pod = res(span, 'k8s.pod.name');
  const proxy = istioProxyOf(span);
  if (ns !== undefined && pod !== undefined) ref.pod = { namespace: ns, name: pod };
  else if (proxy !== undefined) ref.pod = proxy.pod;
  const controller = CONTROLLERS.find(([a]) => res(span, a) !== undefined);
  if (controller !== undefined && ns !== undefined) ref.workload = { namespace: ns, name: res(span, controller[0])!, kind: controller[1] };
  // Istio's service.name is APP.NAMESPACE (the proxy's cluster name), no workload's name: the pod says who.
  else if (proxy === undefined) {
    const name = serviceNameOf(span);
    const namespace = ns ?? res(span, 'service.namespace');
    if (name !== undefined && namespace !== undefined) ref.workload = { namespace, name };
  }
  const ip = ownIpOf(span) ?? proxy?.ip;
  if (ip !== undefined) ref.ip = ip;
  return ref;
}

function ownIpOf(span: Span): string | undefined {
  const ip = span.local?.ip ?? str(span, 'network.local.address') ?? str(span, 'net.sock.host.addr');
  return ip !== undefined && isIP(ip) !== 0 && !isLoopback(ip) ? ip : undefined;
}

function named(ref: EndpointRef): boolean {
  return ref.pod !== undefined || ref.workload !== undefined || ref.ip !== undefined;
}

/** The immediate peer of a server span's connection; never client.address (see the header). */
function socketPeerOf(span: Span): string | undefined {
  const ip = str(span, 'network.peer.address') ?? str(span, 'net.sock.peer.addr') ?? str(span, 'net.peer.ip');
  return ip !== undefined && isIP(ip) !== 0 ? ip : undefined;
}

function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.[0-9.]+$/.test(h);
}

/** Keys of the same service on both sides: the most specific both sides name. */
function sameService(a: Span, b: Span): boolean {
  const ra = sideOf(a);
  const rb = sideOf(b);
  // Two pods of one workload calling each other (peer sync, gossip, its own Service) cross the
  // network: an edge, which deny-all would cut. Only calls within one pod, or ones that name no
  // pod or address to tell the two apart, stay inside the process.
  if (ra.pod !== undefined && rb.pod !== undefined && (ra.pod.namespace !== rb.pod.namespace || ra.pod.name !== rb.pod.name)) return false;
  const peer = socketPeerOf(b);
  const own = ownIpOf(b);
  if (peer !== undefined && own !== undefined && peer !== own && !isLoopback(peer)) return false;
  if (ra.workload !== undefined && rb.workload !== undefined) return ra.workload.namespace === rb.workload.namespace && ra.workload.name === rb.workload.name;
  const sa = serviceNameOf(a);
  const sb = serviceNameOf(b);
  if (sa !== undefined && sb !== undefined) return sa === sb && (namespaceOf(a) ?? res(a, 'service.namespace')) === (namespaceOf(b) ?? res(b, 'service.namespace'));
  if (ra.pod !== undefined && rb.pod !== undefined) return ra.pod.namespace === rb.pod.namespace && ra.pod.name === rb.pod.name;
  return false;
}

// Generic and country-code TLDs a two-label name is far more likely to end in than a namespace.
const PUBLIC_TLDS: ReadonlySet<string> = new Set(['com', 'net', 'org', 'io', 'co', 'ai', 'edu', 'gov', 'info', 'biz', 'me', 'us', 'uk', 'de', 'fr', 'jp', 'cn', 'ru', 'nl', 'eu', 'ch', 'ca', 'au', 'in', 'br', 'it', 'es', 'se', 'no', 'fi', 'dk', 'pl', 'be', 'at', 'cz', 'kr', 'sg', 'xyz', 'tv', 'so', 'sh', 'ly', 'gg']);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// What an external host may hold (underscores occur in real names); anything else is no host.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?(\.[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)+$/;

type Callee = { kind: 'ref'; ref: EndpointRef } | { kind: 'loopback' | 'none'; why: string };

/** The callee (or broker) a client span names itself (see the header). */
function calleeOf(span: Span, peerService = true): Callee {
  const url = urlOf(span);
  // Envoy's routed cluster before the URL's host: the Service it really sent to.
  const cluster = str(span, 'server.address') ?? str(span, 'net.peer.name') ? undefined : outboundClusterOf(span);
  const host = str(span, 'server.address') ?? str(span, 'net.peer.name') ?? cluster?.host ?? url?.host;
  const port = num(span, 'server.port') ?? num(span, 'net.peer.port') ?? cluster?.port ?? url?.port ?? validPort(span.remote?.port);
  const ns = namespaceOf(span);
  if (host !== undefined) {
    const h = host.toLowerCase().replace(/\.$/, '');
    if (isLoopback(h)) return { kind: 'loopback', why: `calls ${h}` };
    if (isIP(h) !== 0) return { kind: 'ref', ref: withPort({ ip: h }, port) };
    const svc = kubernetesServiceOf(h);
    if (svc !== undefined) return { kind: 'ref', ref: { service: h, ...(port === undefined ? {} : { servicePort: port }) } };
    const labels = h.split('.');
    if (labels.every((l) => DNS_LABEL.test(l))) {
      if (labels.length === 2 && !PUBLIC_TLDS.has(labels[1]!)) return { kind: 'ref', ref: serviceRef(labels[0]!, labels[1]!, port) };
      if (labels.length === 1 && ns !== undefined) return { kind: 'ref', ref: serviceRef(labels[0]!, ns, port) };
    }
    if (labels.length > 1 && HOST_NAME.test(h)) return { kind: 'ref', ref: withPort({ host: h }, port) };
  }
  const peer = str(span, 'network.peer.address') ?? str(span, 'net.sock.peer.addr') ?? str(span, 'net.peer.ip') ?? span.remote?.ip;
  if (peer !== undefined && isIP(peer) !== 0) {
    if (isLoopback(peer)) return { kind: 'loopback', why: `calls ${peer}` };
    const peerPort = port ?? num(span, 'network.peer.port') ?? num(span, 'net.sock.peer.port');
    return { kind: 'ref', ref: withPort({ ip: peer }, peerPort) };
  }
  const named = peerService ? (str(span, 'peer.service') ?? span.remote?.serviceName) : undefined;
  if (named !== undefined && ns !== undefined) return { kind: 'ref', ref: withPort({ workload: { namespace: ns, name: named } }, port) };
  return { kind: 'none', why: host === undefined ? 'names no server.address, peer address or peer.service' : `names ${excerpt(host)}, which is no host name, or a bare name without a namespace to read it in` };
}

function serviceRef(name: string, namespace: string, port: number | undefined): EndpointRef {
  const ref: EndpointRef = { service: `${name}.${namespace}.svc.cluster.local` };
  if (port !== undefined) ref.servicePort = port;
  return ref;
}

function withPort(ref: EndpointRef, port: number | undefined): EndpointRef {
  if (port !== undefined) ref.port = port;
  return ref;
}

function messagingRole(span: Span): TopicEvidence['role'] {
  if (span.kind === 'producer') return 'producer';
  if (span.kind === 'consumer') return 'consumer';
  const op = str(span, 'messaging.operation.type') ?? str(span, 'messaging.operation');
  if (op === 'publish' || op === 'send' || op === 'create') return 'producer';
  if (op === 'receive' || op === 'process') return 'consumer';
  return 'client';
}

// ---- waiting spans, oldest (by span time, then key) first

class Heap<T extends Entry> {
  private _a: T[] = [];

  push(p: T): void {
    heapPush(this._a, p, before);
  }

  peek(): T | undefined {
    return this._a[0];
  }

  pop(): T | undefined {
    return heapPop(this._a, before);
  }

  /** Drops finished entries once they outnumber the live ones, so memory follows what waits. */
  compact(live: number): void {
    if (this._a.length <= 2 * live + 64) return;
    const kept = this._a.filter((p) => p.live);
    this._a = [];
    for (const p of kept) this.push(p);
  }

  clear(): void {
    this._a = [];
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.time !== b.time ? a.time < b.time : compare(a.key, b.key) < 0;
}
