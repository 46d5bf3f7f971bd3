// Istio standard metrics → Flows. A sample of `istio_requests_total` or
// `istio_tcp_connections_opened_total` is a count of requests (connections) between two
// workloads as one proxy reported them; its labels name both workloads, their principals and
// the destination Service, but no address, port, method or path
// (https://istio.io/latest/docs/reference/config/metrics/). So a metric flow carries claims
// (EndpointRef.workload, principal) that inventory/ checks, the Service that gives the port, and
// a count; from metrics alone ztmap proposes L4 + identity rules.

import type { EndpointRef, Flow, L4Protocol, Mtls } from '../../flow/flow.js';
import { excerpt } from '../../text.js';
import type { MetricSample } from './metric-sample.js';
import { ok, reject, skip, type Decoded } from './result.js';

export const ISTIO_METRICS_DECODER = 'istio-metrics';

/** The counters that count traffic, and what one unit of each is. */
export const COUNTED_METRICS: Readonly<Record<string, 'requests' | 'connections'>> = {
  istio_requests_total: 'requests',
  istio_tcp_connections_opened_total: 'connections',
};

/** The labels ztmap reads, and so the `by (...)` of a Prometheus query. */
export const FLOW_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_service',
  'destination_service_name',
  'connection_security_policy',
  'request_protocol',
  'response_code',
  'grpc_response_status',
] as const;

/** Istio writes `unknown` (and sometimes '') for what the proxy did not know. */
const known = (v: string | undefined): string | undefined => (v === undefined || v === '' || v === 'unknown' ? undefined : v);

function workloadOf(labels: Readonly<Record<string, string>>, side: 'source' | 'destination'): EndpointRef['workload'] {
  const name = known(labels[`${side}_workload`]);
  const namespace = known(labels[`${side}_workload_namespace`]);
  return name === undefined || namespace === undefined ? undefined : { namespace, name };
}

function mtlsOf(policy: string | undefined): Mtls {
  // The destination reporter knows (`mutual_tls` or `none`); the source reporter writes `unknown`.
  return policy === 'mutual_tls' ? 'mutual' : policy === 'none' ? 'plaintext' : 'unknown';
}

function protocolOf(metric: 'requests' | 'connections', p: string | undefined): L4Protocol | undefined {
  if (metric === 'connections') return 'tcp';
  return p === 'grpc' ? 'grpc' : p === 'http' || p === 'http2' || p === undefined ? 'http' : undefined;
}

/** Where the samples of one scrape or answer sit in time: a window, or totals up to one moment. */
export interface SampleTime {
  /** The window's start (epoch ms); absent for totals since each proxy started. */
  from?: number;
  /** The window's end, or the scrape's time. */
  to?: number;
}

export function metricFlow(sample: MetricSample, time: SampleTime = {}): Decoded<Flow> {
  // Own keys only: a sample named `toString` is no counter of ours.
  const metric = Object.hasOwn(COUNTED_METRICS, sample.name) ? COUNTED_METRICS[sample.name] : undefined;
  if (metric === undefined) return skip('metric-not-traffic');
  const l = sample.labels;
  const value = sample.value;
  if (!Number.isFinite(value) || value < 0) return reject('metric-bad-value', `${sample.name} = ${value}: a count must be a finite number ≥ 0`);
  if (value === 0) return skip('metric-zero');
  const reporter = l['reporter'] === 'source' ? 'client' : l['reporter'] === 'destination' || l['reporter'] === 'waypoint' ? 'server' : undefined;
  if (reporter === undefined) return reject('metric-bad-reporter', `reporter=${excerpt(l['reporter'] ?? '(none)')}: expected source, destination or waypoint`);
  const protocol = protocolOf(metric, known(l['request_protocol']));
  if (protocol === undefined) return reject('metric-bad-protocol', `request_protocol=${excerpt(l['request_protocol'] ?? '')}`);

  const source: EndpointRef = {};
  const sw = workloadOf(l, 'source');
  if (sw !== undefined) source.workload = sw;
  const sp = known(l['source_principal']);
  if (sp !== undefined) source.principal = sp;

  const destination: EndpointRef = {};
  const dw = workloadOf(l, 'destination');
  if (dw !== undefined) destination.workload = dw;
  const dp = known(l['destination_principal']);
  if (dp !== undefined) destination.principal = dp;
  const service = known(l['destination_service']);
  const serviceName = l['destination_service_name'];
  let denial: Flow['denial'];
  if (serviceName === 'BlackHoleCluster') denial = { kind: 'registry-only' };
  else if (service !== undefined && serviceName !== 'PassthroughCluster') {
    // A cluster Service (`NAME.NS.svc…`) gives the port; any other host is outside the mesh.
    if (/\.svc(\.|$)/.test(service)) destination.service = service;
    else if (dw === undefined) destination.host = service;
  }

  // Three digits as Envoy writes them; anything else (`0x193`, ` 403`) is no code.
  const rc = l['response_code'] ?? '';
  const responseCode = /^\d{1,3}$/.test(rc) ? Number(rc) : 0;
  // 403 or gRPC status 7 may be the mesh's RBAC or the application: never an allow either way.
  if (denial === undefined && (responseCode === 403 || l['grpc_response_status'] === '7')) denial = { kind: 'refused' };

  const flow: Flow = {
    source,
    destination,
    protocol,
    mtls: mtlsOf(l['connection_security_policy']),
    responseCode,
    // increase() extrapolates to the window's edges: whole requests, and at least one for any increase.
    count: Math.max(1, Math.round(value)),
    reporter,
    evidence: { decoder: ISTIO_METRICS_DECODER, location: sample.location },
  };
  const at = sample.timestamp ?? time.to;
  if (time.from !== undefined) flow.timestamp = time.from;
  else if (at !== undefined) flow.timestamp = at;
  if (time.from !== undefined && at !== undefined) flow.until = at;
  if (denial !== undefined) flow.denial = denial;
  return ok(flow);
}
