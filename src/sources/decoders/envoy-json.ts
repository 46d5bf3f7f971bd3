// Istio's JSON access-log encoding (meshConfig.accessLogEncoding: JSON), one object per line:
//
// {"start_time":"2023-05-02T01:45:04.158Z","method":"GET","path":"/headers","protocol":"HTTP/1.1",
//  "response_code":200,"upstream_cluster":"inbound|80||","upstream_host":"10.10.241.82:80",
//  "downstream_remote_address":"10.10.241.84:58514","downstream_local_address":"10.10.241.82:80",
//  "requested_server_name":"outbound_.8000_._.httpbin.istio-demo.svc.cluster.local", ...}
//
// Istio < 1.14 writes every value as a string ("response_code":"200", "-" for absent);
// later versions write numbers and null. Both are accepted.

import { dash, type AccessLogEntry } from './access-log-entry.js';
import { ok, reject, type Decoded } from './result.js';

const STRING_FIELDS = {
  startTime: 'start_time',
  method: 'method',
  path: 'path',
  protocol: 'protocol',
  responseFlags: 'response_flags',
  responseCodeDetails: 'response_code_details',
  userAgent: 'user_agent',
  requestId: 'request_id',
  authority: 'authority',
  upstreamHost: 'upstream_host',
  upstreamCluster: 'upstream_cluster',
  upstreamLocalAddress: 'upstream_local_address',
  downstreamLocalAddress: 'downstream_local_address',
  downstreamRemoteAddress: 'downstream_remote_address',
  requestedServerName: 'requested_server_name',
} as const satisfies Record<string, string>;

/** True when `obj` looks like an Envoy access-log object rather than some other JSON record. */
export function isEnvoyJson(obj: Record<string, unknown>): boolean {
  return 'upstream_cluster' in obj || 'downstream_remote_address' in obj;
}

// Pairs of (entry field, JSON key), walked with an index: this runs once per record.
const FIELD_PAIRS = Object.entries(STRING_FIELDS) as [keyof typeof STRING_FIELDS, string][];

export function decodeEnvoyJson(obj: Record<string, unknown>): Decoded<AccessLogEntry> {
  const entry: AccessLogEntry = { responseCode: 0 };
  for (let i = 0; i < FIELD_PAIRS.length; i++) {
    const [field, key] = FIELD_PAIRS[i]!;
    const v = obj[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return reject('bad-field-type', `${key} must be a string, got ${typeof v}`);
    entry[field] = dash(v);
  }
  const code = obj['response_code'];
  if (typeof code === 'number' && Number.isInteger(code) && code >= 0) entry.responseCode = code;
  else if (typeof code === 'string' && /^\d{1,3}$/.test(code)) entry.responseCode = Number(code);
  else if (code !== undefined && code !== null && code !== '-') {
    return reject('bad-field-type', `response_code must be a number, got ${JSON.stringify(code).slice(0, 40)}`);
  }
  if (entry.upstreamCluster === undefined && entry.downstreamLocalAddress === undefined) {
    return reject('missing-field', 'neither upstream_cluster nor downstream_local_address is present');
  }
  return ok(entry);
}
