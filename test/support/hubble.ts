// Hubble flow records for tests, shaped like what Hubble writes (flow.proto's JSON names): the
// `{"flow":…}` of `hubble observe -o json/jsonpb`, the exporter's `{"flow":…,"node_name","time"}`,
// and the bare flow of Hubble before 0.8. Tests write their own values; the published samples
// stay in ../shared/reference.

export interface HubbleEndpointSpec {
  ip?: string;
  port?: number;
  namespace?: string;
  pod?: string;
  labels?: string[];
  workload?: { name: string; kind: string };
  identity?: number;
}

export interface HubbleFlowSpec {
  shape?: 'observe' | 'exporter' | 'legacy';
  time?: string;
  verdict?: string;
  dropReason?: string;
  source: HubbleEndpointSpec;
  destination: HubbleEndpointSpec;
  l4?: 'TCP' | 'UDP' | 'ICMPv4' | 'ICMPv6' | 'SCTP';
  /** TCP flags set, e.g. ['SYN']; written as `flags` and as the Summary Hubble prints. */
  flags?: string[];
  direction?: 'INGRESS' | 'EGRESS';
  point?: string;
  traceReason?: string;
  isReply?: boolean;
  http?: { type?: 'REQUEST' | 'RESPONSE'; method: string; url: string; protocol?: string; code?: number };
  destinationNames?: string[];
  destinationService?: { name: string; namespace: string };
}

function endpoint(e: HubbleEndpointSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.identity !== undefined) out['identity'] = e.identity;
  if (e.namespace !== undefined) out['namespace'] = e.namespace;
  if (e.labels !== undefined) out['labels'] = e.labels;
  if (e.pod !== undefined) out['pod_name'] = e.pod;
  if (e.workload !== undefined) out['workloads'] = [e.workload];
  return out;
}

/** One Hubble record as the caller's JSON.parse of its line gives it. */
export function hubbleRecord(spec: HubbleFlowSpec): Record<string, unknown> {
  return JSON.parse(JSON.stringify(record(spec))) as Record<string, unknown>;
}

function record(spec: HubbleFlowSpec): Record<string, unknown> {
  const time = spec.time ?? '2026-11-24T10:00:01.123456789Z';
  const verdict = spec.verdict ?? 'FORWARDED';
  const flow: Record<string, unknown> = { time, verdict };
  if (verdict === 'DROPPED' && spec.dropReason !== undefined) flow['drop_reason_desc'] = spec.dropReason;
  flow['ethernet'] = { source: '0a:58:0a:f4:01:05', destination: '0a:58:0a:f4:01:01' };
  flow['IP'] = { source: spec.source.ip, destination: spec.destination.ip, ipVersion: spec.source.ip?.includes(':') === true ? 'IPv6' : 'IPv4' };
  const l4 = spec.l4 ?? 'TCP';
  const ports = { source_port: spec.source.port, destination_port: spec.destination.port };
  if (l4 === 'TCP') {
    const tcp: Record<string, unknown> = { ...ports };
    if (spec.flags !== undefined) tcp['flags'] = Object.fromEntries(spec.flags.map((f) => [f, true]));
    flow['l4'] = { TCP: tcp };
  } else if (l4 === 'UDP' || l4 === 'SCTP') {
    flow['l4'] = { [l4]: ports };
  } else {
    flow['l4'] = { [l4]: { type: 8 } };
  }
  flow['source'] = endpoint(spec.source);
  flow['destination'] = endpoint(spec.destination);
  flow['Type'] = spec.http === undefined ? 'L3_L4' : 'L7';
  flow['node_name'] = 'kind-kind/kind-worker';
  if (spec.destinationNames !== undefined) flow['destination_names'] = spec.destinationNames;
  if (spec.http !== undefined) {
    const http: Record<string, unknown> = { method: spec.http.method, url: spec.http.url, protocol: spec.http.protocol ?? 'HTTP/1.1' };
    if (spec.http.code !== undefined) http['code'] = spec.http.code;
    flow['l7'] = { type: spec.http.type ?? 'REQUEST', latency_ns: '0', http };
  }
  if (spec.isReply !== undefined) {
    flow['reply'] = spec.isReply;
    flow['is_reply'] = spec.isReply;
  }
  flow['event_type'] = { type: spec.http !== undefined ? 129 : verdict === 'DROPPED' ? 1 : 4 };
  if (spec.destinationService !== undefined) flow['destination_service'] = spec.destinationService;
  if (spec.direction !== undefined) flow['traffic_direction'] = spec.direction;
  if (spec.point !== undefined) flow['trace_observation_point'] = spec.point;
  if (spec.traceReason !== undefined) flow['trace_reason'] = spec.traceReason;
  if (spec.flags !== undefined) flow['Summary'] = 'TCP Flags: ' + spec.flags.join(', ');
  switch (spec.shape ?? 'observe') {
    case 'observe':
      return { flow };
    case 'exporter':
      return { flow, node_name: flow['node_name'], time };
    case 'legacy':
      return flow;
  }
}
