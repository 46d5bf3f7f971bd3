// One Envoy access-log entry → one Flow.
//
// Istio writes a line per request per proxy (docs/observe.md, "How lines become edges"): the client sidecar's outbound
// entry names the server by upstream_host/upstream_cluster, the server sidecar's inbound
// entry names the client by downstream_remote_address and carries the mTLS evidence (an
// `outbound_.PORT_._.SVC` SNI). Each entry becomes a Flow tagged with its reporter; the graph
// counts each reporter separately and takes the larger, so the two entries of one request are
// one observation without holding every request id in memory.

import type { Denial, Flow, L4Protocol, PodRef } from '../flow/flow.js';
import type { Location } from '../errors.js';
import { parseAddress, parseCluster, kubernetesServiceOf } from './address.js';
import type { AccessLogEntry } from './decoders/access-log-entry.js';
import { ok, reject, skip, type Decoded } from './decoders/result.js';

export interface EntryContext {
  /** The pod whose proxy wrote the line, when the log's location says so. */
  reporter: PodRef | undefined;
  decoder: string;
  location: Location;
}

// gRPC over HTTP/2: POST /package.Service/Method
const GRPC_PATH = /^\/[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/;
const LOOPBACK = /^(127\.|::1$)/;

let minutePrefix = '';
let minuteEpoch = 0;

/** Epoch ms of the minute `2026-11-24T10:00` (the first 16 characters of a start time), or NaN. */
export function epochOfMinute(prefix: string): number {
  return Date.parse(prefix + ':00.000Z');
}

/** The digit at `i`, or -1000 (which no sum of digits outweighs) for any other character. */
const digit = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1000;
};

/**
 * Epoch ms of an access-log start time. Lines come in time order, so the minute is parsed
 * once and reused: `2026-11-24T10:00:01.123Z` costs a prefix compare and a few digits.
 */
export function parseTimestamp(s: string): number | undefined {
  if (s.length === 24 && s.charCodeAt(23) === 90 /* Z */ && s.charCodeAt(19) === 46 /* . */ && s.charCodeAt(16) === 58 /* : */) {
    const sec = digit(s, 17) * 10 + digit(s, 18);
    const ms = digit(s, 20) * 100 + digit(s, 21) * 10 + digit(s, 22);
    // A character that is no digit makes its value negative: then Date.parse decides.
    if (sec >= 0 && sec < 60 && ms >= 0) {
      if (!s.startsWith(minutePrefix) || minutePrefix === '') {
        const m = epochOfMinute(s.slice(0, 16));
        if (Number.isNaN(m)) return undefined;
        minutePrefix = s.slice(0, 16);
        minuteEpoch = m;
      }
      return minuteEpoch + sec * 1000 + ms;
    }
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The start times a record may have: a proxy's clock outside these years is broken, and one
 * record at such a time would stretch an edge's first and last seen (and the days it was seen
 * on, which noise thresholds count) without bound. Both paths check it: entryToFlow rejects the
 * record, and the byte path (access-log-decoder.ts) declines it to entryToFlow.
 */
const START_TIME_MIN = Date.UTC(2000, 0, 1);
const START_TIME_MAX = Date.UTC(2100, 0, 1);

export const startTimeInRange = (t: number): boolean => t >= START_TIME_MIN && t < START_TIME_MAX;

/**
 * What denialOf reads, named once: the byte path (access-log-decoder.ts) decodes whole every
 * line that carries one of them, so a refusal never counts as a repeat of its route.
 */
export const RBAC_DENIED = 'rbac_access_denied_matched_policy[';
export const REFUSAL_FLAGS = ['NR', 'UAEX'] as const;
export const DIRECT_RESPONSE = 'direct_response';
export const BLACK_HOLE = 'BlackHoleCluster';

/**
 * Whether the mesh refused the request, from the response flags and details (docs/observe.md,
 * "Traffic the mesh denies today"). Only refusals by the mesh count: an application's own 403 is
 * `via_upstream`, and a `302 UAEX` is an ext_authz login redirect, not a refusal of the caller.
 */
export function denialOf(e: AccessLogEntry, blackHole: boolean): Denial | undefined {
  const details = e.responseCodeDetails;
  if (details !== undefined && details.startsWith(RBAC_DENIED)) {
    // gRPC calls are refused with HTTP 200 and grpc-status 7, so the code is not checked.
    const end = details.lastIndexOf(']');
    const policy = details.slice(RBAC_DENIED.length, end > RBAC_DENIED.length ? end : undefined);
    return policy === '' || policy === 'none' ? { kind: 'rbac' } : { kind: 'rbac', policy };
  }
  const flags = e.responseFlags;
  if (flags !== undefined) {
    if (hasFlag(flags, 'UAEX') && !(e.responseCode >= 300 && e.responseCode < 400)) return { kind: 'ext-authz' };
    if (hasFlag(flags, 'NR')) return { kind: details === 'filter_chain_not_found' ? 'no-filter-chain' : 'no-route' };
  }
  if (details === DIRECT_RESPONSE && e.routeName === 'block_all') return { kind: 'blocked' };
  if (blackHole) return { kind: 'registry-only' };
  return undefined;
}

/** Whether the comma-separated response flags hold `flag`. */
function hasFlag(flags: string, flag: string): boolean {
  const i = flags.indexOf(flag);
  return i >= 0 && (i === 0 || flags.charCodeAt(i - 1) === 44) && (i + flag.length === flags.length || flags.charCodeAt(i + flag.length) === 44);
}

export function protocolOf(method: string | undefined, protocol: string | undefined, path: string | undefined): L4Protocol {
  if (method === undefined || protocol === undefined) return 'tcp';
  if (protocol === 'HTTP/2' && method === 'POST' && path !== undefined && GRPC_PATH.test(path)) return 'grpc';
  return 'http';
}

export function entryToFlow(e: AccessLogEntry, ctx: EntryContext): Decoded<Flow> {
  const cluster = parseCluster(e.upstreamCluster);
  const dla = parseAddress(e.downstreamLocalAddress);
  const dra = parseAddress(e.downstreamRemoteAddress);
  const protocol = protocolOf(e.method, e.protocol, e.path);
  const timestamp = e.startTime === undefined ? undefined : parseTimestamp(e.startTime);
  // A time that is there but unreadable or absurd is a broken record, not one without a time.
  if (e.startTime !== undefined && (timestamp === undefined || !startTimeInRange(timestamp))) {
    return reject('invalid-start-time', `start_time ${JSON.stringify(e.startTime.slice(0, 40))} is ${timestamp === undefined ? 'not an RFC 3339 time' : 'outside the years 2000 to 2099'}`);
  }
  // Built by assignment, not object spread: spread with conditional parts costs
  // microseconds per record in V8 and dominated the whole pipeline (docs/performance.md).
  // Every optional field is in the literal, even when undefined, so that all Flows share
  // one hidden class with every field in the object: fields added later lived in a
  // separate property array, and Flows with different fields made later reads polymorphic.
  const flow: Flow = {
    source: {},
    destination: {},
    protocol,
    l7: undefined,
    mtls: 'unknown',
    responseCode: e.responseCode,
    denial: undefined,
    upstreamFailure: undefined,
    timestamp,
    count: 1,
    reporter: 'client',
    proxied: undefined,
    endpointKey: undefined,
    evidence: { decoder: ctx.decoder, location: ctx.location },
  };
  if (protocol !== 'tcp' && e.method !== undefined) {
    const path = e.path ?? '/';
    flow.l7 = e.authority === undefined ? { method: e.method, path } : { method: e.method, path, host: e.authority };
  }

  const denial = denialOf(e, cluster?.direction === 'blackhole');
  if (denial !== undefined) flow.denial = denial;
  else if (e.responseFlags !== undefined && e.responseFlags !== '-') flow.upstreamFailure = e.responseFlags;

  // No upstream cluster: the proxy answered itself (no filter chain or no route for the
  // request, a direct response). The downstream addresses still say who called what.
  if (cluster === undefined && (denial !== undefined || flow.upstreamFailure !== undefined) && dla !== undefined && dra !== undefined) {
    if (LOOPBACK.test(dra.ip)) return skip('loopback');
    flow.source = { ip: dra.ip };
    flow.destination = ctx.reporter !== undefined && denial?.kind === 'no-filter-chain' ? { ip: dla.ip, port: dla.port, pod: ctx.reporter } : { ip: dla.ip, port: dla.port };
    // The reporting pod is not added to either end: it is the client when a sidecar refused its
    // app's outbound call, and the destination when a gateway refused its downstream client;
    // the addresses tell which.
    if (denial?.kind === 'no-filter-chain') {
      // The server's inbound listener found no chain: under STRICT, a client without mTLS.
      flow.reporter = 'server';
      flow.mtls = 'plaintext';
    }
    if (e.authority !== undefined && denial?.kind === 'blocked') flow.destination.host = e.authority.replace(/:\d+$/, '');
    flow.endpointKey = 'n|' + (ctx.reporter === undefined ? '' : ctx.reporter.namespace + '/' + ctx.reporter.name) + '|' + dra.ip + '|' + dla.ip + '|' + dla.port + '|' + (flow.destination.host ?? '') + '|' + flow.reporter + '|' + protocol;
    return ok(flow);
  }

  const inbound =
    cluster?.direction === 'inbound' ||
    cluster?.direction === 'inbound-passthrough' ||
    (cluster === undefined && dla !== undefined && e.requestedServerName?.startsWith('outbound_.') === true);
  if (inbound) {
    if (dra === undefined) return reject('missing-field', 'inbound entry without downstream_remote_address');
    if (LOOPBACK.test(dra.ip)) return skip('loopback');
    const destination = flow.destination;
    if (ctx.reporter !== undefined) destination.pod = ctx.reporter;
    if (dla !== undefined) {
      destination.ip = dla.ip;
      destination.port = dla.port;
    } else if (cluster?.port !== undefined) {
      // Since Istio 1.9 the inbound cluster carries the target port.
      destination.port = cluster.port;
    }
    if (destination.port === undefined) return reject('missing-field', 'inbound entry names no destination port');
    if (destination.pod === undefined && destination.ip === undefined) {
      return reject('missing-field', 'inbound entry names neither its pod nor downstream_local_address');
    }
    // Port 0: Envoy took this address from X-Forwarded-For (a gateway or another proxy forwarded
    // the request); the peer is that proxy, which the line does not name.
    const forwarded = dra.port === 0;
    flow.source = forwarded ? { behindProxy: { forwardedFor: dra.ip } } : { ip: dra.ip, port: dra.port };
    // The client's ephemeral port is left out: it does not change who the client is.
    flow.endpointKey =
      'i|' + (ctx.reporter === undefined ? '' : ctx.reporter.namespace + '/' + ctx.reporter.name) + '|' + (forwarded ? '~xff' : dra.ip) + '|' +
      (destination.ip ?? '') + '|' + destination.port + '|' + protocol;
    flow.mtls = e.requestedServerName?.startsWith('outbound_.') === true ? 'mutual' : 'plaintext';
    flow.reporter = 'server';
    return ok(flow);
  }

  if (cluster?.direction === 'inbound-vip') {
    // An ambient waypoint serving a Service: the server side of the request, on behalf of the
    // pod that upstream_host (envoy://connect_originate/IP:PORT) names, or of the Service when
    // no pod was picked (a refusal). The waypoint is reached only over HBONE (mTLS).
    const uh = parseAddress(e.upstreamHost);
    flow.reporter = 'server';
    flow.mtls = 'mutual';
    if (dra !== undefined) flow.source = dra.port === 0 ? { behindProxy: { forwardedFor: dra.ip } } : { ip: dra.ip, port: dra.port };
    flow.destination = uh !== undefined ? { ip: uh.ip, port: uh.port } : {};
    if (cluster.host !== undefined) flow.destination.service = cluster.host;
    if (cluster.port !== undefined) flow.destination.servicePort = cluster.port;
    if (uh === undefined && cluster.host === undefined) return reject('missing-field', 'waypoint entry names neither an upstream pod nor a Service');
    flow.endpointKey =
      'w|' + (dra === undefined ? '' : dra.port === 0 ? '~xff' : dra.ip) + '|' + (uh === undefined ? '' : uh.ip + ':' + uh.port) + '|' + (cluster.host ?? '') + '|' + (cluster.port ?? '') + '|' + protocol;
    return ok(flow);
  }

  if (cluster === undefined) return reject('missing-field', 'entry has no upstream_cluster: cannot tell its direction');
  const ula = parseAddress(e.upstreamLocalAddress);
  const uh = parseAddress(e.upstreamHost);
  const { source, destination } = flow;
  if (ctx.reporter !== undefined) source.pod = ctx.reporter;
  if (ula !== undefined && !LOOPBACK.test(ula.ip)) source.ip = ula.ip;
  const reporterKey = ctx.reporter === undefined ? '' : ctx.reporter.namespace + '/' + ctx.reporter.name;
  if (cluster.direction === 'passthrough' || cluster.direction === 'blackhole') {
    const target = uh ?? dla;
    if (target !== undefined) {
      destination.ip = target.ip;
      destination.port = target.port;
    }
    const host = e.requestedServerName ?? (protocol === 'tcp' ? undefined : e.authority);
    if (host !== undefined) destination.host = host.replace(/:\d+$/, '');
  } else {
    if (uh !== undefined) {
      destination.ip = uh.ip;
      destination.port = uh.port;
    }
    if (cluster.host !== undefined) {
      if (kubernetesServiceOf(cluster.host) !== undefined) destination.service = cluster.host;
      else destination.host = cluster.host;
    }
    if (cluster.port !== undefined) destination.servicePort = cluster.port;
  }
  if (destination.ip === undefined && destination.service === undefined && destination.host === undefined) {
    return reject('missing-field', 'outbound entry names no upstream host, service or external host');
  }
  if (destination.port === undefined && destination.servicePort === undefined) {
    return reject('missing-field', 'outbound entry names no destination port');
  }
  // An outbound entry whose listener is not a Service address may be a gateway: the proxy
  // itself was the target of the downstream connection. inventory/ decides, since only it
  // knows which IPs are pods.
  if (dla !== undefined && dra !== undefined && !LOOPBACK.test(dra.ip)) {
    flow.proxied = { listener: { ip: dla.ip, port: dla.port }, client: { ip: dra.ip, port: dra.port } };
  }
  flow.endpointKey =
    'o|' + reporterKey + '|' + (source.ip ?? '') + '|' + (destination.ip ?? '') + '|' + (destination.port ?? '') + '|' +
    (destination.service ?? '') + '|' + (destination.servicePort ?? '') + '|' + (destination.host ?? '') + '|' +
    (flow.proxied === undefined ? '' : flow.proxied.listener.ip + ':' + flow.proxied.listener.port + '<' + flow.proxied.client.ip) + '|' + protocol;
  return ok(flow);
}
