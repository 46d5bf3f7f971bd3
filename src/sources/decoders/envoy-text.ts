// Istio's default TEXT access-log format (Istio >= 1.9), one line per request per proxy:
//
// [2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-"
//   "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80"
//   outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default
//
// and the Istio 1.4–1.8 format, which has "%DYNAMIC_METADATA(istio.mixer:status)%" (and, from
// 1.5, "%UPSTREAM_TRANSPORT_FAILURE_REASON%") where 1.9 has RESPONSE_CODE_DETAILS and
// CONNECTION_TERMINATION_DETAILS.
//
// Envoy does not escape quotes in header values. The fields that decide identity (upstream
// host and cluster, addresses, SNI) are written by Envoy itself and sit at the end of the line,
// so the expression is anchored there: a client cannot forge them through its User-Agent.

import { dash, type AccessLogEntry } from './access-log-entry.js';
import { ok, reject, type Decoded } from './result.js';

const HEAD = String.raw`^\[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) `;
// BYTES_RECEIVED BYTES_SENT DURATION UPSTREAM_SERVICE_TIME "XFF" "UA" "REQUEST_ID" "AUTHORITY"
// "UPSTREAM_HOST" CLUSTER UPSTREAM_LOCAL DOWNSTREAM_LOCAL DOWNSTREAM_REMOTE SNI [ROUTE_NAME (>= 1.4)]
const TAIL = String.raw`(\S+) (\S+) (\S+) (\S+) "(.*?)" "(.*)" "([^"]*)" "([^"]*)" "([^"]*)" (\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?$`;
// >= 1.9: RESPONSE_CODE_DETAILS CONNECTION_TERMINATION_DETAILS "UPSTREAM_TRANSPORT_FAILURE_REASON"
const MODERN = new RegExp(HEAD + String.raw`(\S+) (\S+) "[^"]*" ` + TAIL);
// 1.3–1.8: "MIXER_STATUS" ["UPSTREAM_TRANSPORT_FAILURE_REASON"]
const LEGACY = new RegExp(HEAD + String.raw`"[^"]*" (?:"[^"]*" )?` + TAIL);

export function decodeEnvoyText(line: string): Decoded<AccessLogEntry> {
  let m = MODERN.exec(line);
  let details: string | undefined;
  let i: number;
  if (m !== null) {
    details = m[7];
    i = 9;
  } else {
    m = LEGACY.exec(line);
    if (m === null) {
      return reject('malformed-envoy-text', 'line does not match the Istio default TEXT access-log format');
    }
    i = 7;
  }
  // i points at BYTES_RECEIVED; the tail's groups follow from there.
  return ok({
    startTime: m[1],
    method: dash(m[2]),
    path: dash(m[3]),
    protocol: dash(m[4]),
    responseCode: Number(m[5]),
    responseFlags: dash(m[6]),
    responseCodeDetails: dash(details),
    userAgent: dash(m[i + 5]),
    requestId: dash(m[i + 6]),
    authority: dash(m[i + 7]),
    upstreamHost: dash(m[i + 8]),
    upstreamCluster: dash(m[i + 9]),
    upstreamLocalAddress: dash(m[i + 10]),
    downstreamLocalAddress: dash(m[i + 11]),
    downstreamRemoteAddress: dash(m[i + 12]),
    requestedServerName: dash(m[i + 13]),
  });
}
