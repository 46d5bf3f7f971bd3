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
import { excerpt } from '../../text.js';

/** True when `obj` looks like an Envoy access-log object rather than some other JSON record. */
export function isEnvoyJson(obj: Record<string, unknown>): boolean {
  return 'upstream_cluster' in obj || 'downstream_remote_address' in obj;
}

// The first key whose value had the wrong type in the record being decoded.
let wrongKey: string | undefined;

/** A string field's value (`-` and null become undefined); notes the key when it is no string. */
function text(v: unknown, key: string): string | undefined {
  if (typeof v === 'string') return dash(v);
  if (v !== undefined && v !== null && wrongKey === undefined) wrongKey = key;
  return undefined;
}

export function decodeEnvoyJson(obj: Record<string, unknown>): Decoded<AccessLogEntry> {
  // Each field is read by name: one proxy's records share a hidden class, so these are
  // cheap monomorphic loads, where a walk over a table of keys costs a dictionary lookup
  // per field (hot path). The keys are checked in this order, so the first wrong one is named.
  wrongKey = undefined;
  const entry: AccessLogEntry = {
    startTime: text(obj['start_time'], 'start_time'),
    method: text(obj['method'], 'method'),
    path: text(obj['path'], 'path'),
    protocol: text(obj['protocol'], 'protocol'),
    responseCode: 0,
    responseFlags: text(obj['response_flags'], 'response_flags'),
    responseCodeDetails: text(obj['response_code_details'], 'response_code_details'),
    userAgent: text(obj['user_agent'], 'user_agent'),
    requestId: text(obj['request_id'], 'request_id'),
    authority: text(obj['authority'], 'authority'),
    upstreamHost: text(obj['upstream_host'], 'upstream_host'),
    upstreamCluster: text(obj['upstream_cluster'], 'upstream_cluster'),
    upstreamLocalAddress: text(obj['upstream_local_address'], 'upstream_local_address'),
    downstreamLocalAddress: text(obj['downstream_local_address'], 'downstream_local_address'),
    downstreamRemoteAddress: text(obj['downstream_remote_address'], 'downstream_remote_address'),
    requestedServerName: text(obj['requested_server_name'], 'requested_server_name'),
    routeName: text(obj['route_name'], 'route_name'),
    xForwardedFor: text(obj['x_forwarded_for'], 'x_forwarded_for'),
  };
  if (wrongKey !== undefined) {
    const v = obj[wrongKey];
    return reject('bad-field-type', `${wrongKey} must be a string, got ${typeof v}`);
  }
  const code = obj['response_code'];
  if (typeof code === 'number' && Number.isInteger(code) && code >= 0) entry.responseCode = code;
  else if (typeof code === 'string' && /^\d{1,3}$/.test(code)) entry.responseCode = Number(code);
  else if (code !== undefined && code !== null && code !== '-') {
    return reject('bad-field-type', `response_code must be a number, got ${excerpt(typeof code === 'string' ? code : String(JSON.stringify(code)), 40)}`);
  }
  if (entry.upstreamCluster === undefined && entry.downstreamLocalAddress === undefined) {
    return reject('missing-field', 'neither upstream_cluster nor downstream_local_address is present');
  }
  return ok(entry);
}
