// One Envoy access-log entry → one Flow.
//
// Istio writes a line per request per proxy (design.md §2): the client sidecar's outbound
// entry names the server by upstream_host/upstream_cluster, the server sidecar's inbound
// entry names the client by downstream_remote_address and carries the mTLS evidence (an
// `outbound_.PORT_._.SVC` SNI). Each entry becomes a Flow tagged with its reporter; the graph
// counts each reporter separately and takes the larger, so the two entries of one request are
// one observation without holding every request id in memory.

import type { EndpointRef, Flow, L4Protocol, PodRef } from '../flow/flow.js';
import type { Location } from '../errors.js';
import { parseAddress, parseCluster, kubernetesServiceOf } from './address.js';
import type { AccessLogEntry } from './decoders/access-log-entry.js';
import { ok, reject, skip, type Decoded } from './decoders/result.js';

export interface EntryContext {
  /** The pod whose proxy wrote the line, when the log's location says so. */
  reporter?: PodRef;
  decoder: string;
  location: Location;
}

// gRPC over HTTP/2: POST /package.Service/Method
const GRPC_PATH = /^\/[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/;
const LOOPBACK = /^(127\.|::1$)/;

export function protocolOf(e: AccessLogEntry): L4Protocol {
  if (e.method === undefined || e.protocol === undefined) return 'tcp';
  if (e.protocol === 'HTTP/2' && e.method === 'POST' && e.path !== undefined && GRPC_PATH.test(e.path)) return 'grpc';
  return 'http';
}

export function entryToFlow(e: AccessLogEntry, ctx: EntryContext): Decoded<Flow> {
  const cluster = parseCluster(e.upstreamCluster);
  const dla = parseAddress(e.downstreamLocalAddress);
  const dra = parseAddress(e.downstreamRemoteAddress);
  const protocol = protocolOf(e);
  let timestamp: number | undefined;
  if (e.startTime !== undefined) {
    const t = Date.parse(e.startTime);
    if (!Number.isNaN(t)) timestamp = t;
  }
  const l7 =
    protocol !== 'tcp' && e.method !== undefined
      ? { method: e.method, path: e.path ?? '/', ...(e.authority === undefined ? {} : { host: e.authority }) }
      : undefined;
  const base = {
    protocol,
    ...(l7 === undefined ? {} : { l7 }),
    responseCode: e.responseCode,
    ...(timestamp === undefined ? {} : { timestamp }),
    count: 1,
    evidence: { source: ctx.decoder, location: ctx.location },
  };

  const inbound =
    cluster?.direction === 'inbound' ||
    cluster?.direction === 'inbound-passthrough' ||
    (cluster === undefined && dla !== undefined && e.requestedServerName?.startsWith('outbound_.') === true);
  if (inbound) {
    if (dra === undefined) return reject('missing-field', 'inbound entry without downstream_remote_address');
    if (LOOPBACK.test(dra.ip)) return skip('loopback');
    const destination: EndpointRef = { ...(ctx.reporter ? { pod: ctx.reporter } : {}) };
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
    return ok({
      ...base,
      source: { ip: dra.ip, port: dra.port },
      destination,
      mtls: e.requestedServerName?.startsWith('outbound_.') === true ? 'mutual' : 'plaintext',
      reporter: 'server',
    });
  }

  if (cluster === undefined) return reject('missing-field', 'entry has no upstream_cluster: cannot tell its direction');
  const ula = parseAddress(e.upstreamLocalAddress);
  const uh = parseAddress(e.upstreamHost);
  const source: EndpointRef = { ...(ctx.reporter ? { pod: ctx.reporter } : {}) };
  if (ula !== undefined && !LOOPBACK.test(ula.ip)) source.ip = ula.ip;
  const destination: EndpointRef = {};
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
  const flow: Flow = { ...base, source, destination, mtls: 'unknown', reporter: 'client' };
  // An outbound entry whose listener is not a Service address may be a gateway: the proxy
  // itself was the target of the downstream connection. inventory/ decides, since only it
  // knows which IPs are pods.
  if (dla !== undefined && dra !== undefined && !LOOPBACK.test(dra.ip)) {
    flow.proxied = { listener: { ip: dla.ip, port: dla.port }, client: { ip: dra.ip, port: dra.port } };
  }
  return ok(flow);
}
