// Istio's default TEXT access-log format (Istio >= 1.9), one line per request per proxy:
//
// [2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-"
//   "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80"
//   outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default
//
// and the older formats, which differ only between RESPONSE_FLAGS and BYTES_RECEIVED:
//   1.9+       RESPONSE_CODE_DETAILS CONNECTION_TERMINATION_DETAILS "UPSTREAM_TRANSPORT_FAILURE_REASON"
//   1.5–1.8    "MIXER_STATUS" "UPSTREAM_TRANSPORT_FAILURE_REASON"
//   1.1–1.4    "MIXER_STATUS"              (ROUTE_NAME at the end from 1.4)
//   1.0        nothing
// Every field these versions have in common means the same, so all are read.
//
// Envoy does not escape quotes in header values. The fields that decide identity (upstream
// host and cluster, addresses, SNI) are written by Envoy itself and sit at the end of the line,
// so the expression is anchored there: everything after UPSTREAM_HOST's closing quote is
// unquoted, so that quote is the last one on the line and a client cannot forge those fields
// through its User-Agent. After SNI come ROUTE_NAME (1.4+) and, in some meshes' formats,
// further unquoted fields, which are not read.
//
// What real clusters also write, and how it is read here (docs/real-clusters.md):
//   - a line whose `[` or whole `[START_TIME] ` was lost when it was published: the time (or
//     its absence) is taken as it is, the rest is intact and read;
//   - a line whose quotes were escaped (`\"`, copied out of a JSON log viewer): read unescaped;
//   - plain Envoy's default format (Contour, bare Envoy), which ends at "UPSTREAM_HOST": it has
//     no cluster and no addresses, so it is rejected as not an Istio proxy's line;
//   - the 2022 experimental Envoy-based ambient ztunnel, whose tunnel and capture clusters
//     (`outbound_tunnel_clus_…`, `virtual_inbound`, `…_outbound_internal`) describe HBONE
//     plumbing rather than a request's endpoints: rejected, naming it.

import { dash, type AccessLogEntry } from './access-log-entry.js';
import { ok, reject, type Decoded } from './result.js';
import { excerpt } from '../../text.js';

// [START_TIME] — or `START_TIME] ` with its `[` lost, or nothing at all — then
// "METHOD PATH PROTOCOL" CODE FLAGS
const HEAD = String.raw`^(?:\[([^\]]+)\] |(\d{4}-\d\d-\d\dT[\d:.]+Z)\] )?"(\S+) (\S+) (\S+)" (\d+) (\S+) `;
// BYTES_RECEIVED BYTES_SENT DURATION UPSTREAM_SERVICE_TIME "XFF" "UA" "REQUEST_ID" "AUTHORITY"
// "UPSTREAM_HOST" CLUSTER UPSTREAM_LOCAL DOWNSTREAM_LOCAL DOWNSTREAM_REMOTE SNI [ROUTE_NAME [...]]
const TAIL = String.raw`(\S+) (\S+) (\S+) (\S+) "(.*?)" "(.*)" "([^"]*)" "([^"]*)" "([^"]*)" ([^"]*)$`;
// >= 1.9: RESPONSE_CODE_DETAILS CONNECTION_TERMINATION_DETAILS "UPSTREAM_TRANSPORT_FAILURE_REASON"
const MODERN = new RegExp(HEAD + String.raw`(\S+) (\S+) "[^"]*" ` + TAIL);
// 1.0–1.8: ["MIXER_STATUS" ["UPSTREAM_TRANSPORT_FAILURE_REASON"]]
const LEGACY = new RegExp(HEAD + String.raw`(?:"[^"]*" ){0,2}` + TAIL);
/** Plain Envoy's default format: the line ends at "UPSTREAM_HOST". */
const ENVOY_DEFAULT = new RegExp(HEAD + String.raw`\S+ \S+ \S+ \S+ "[^"]*" "(.*)" "[^"]*" "[^"]*" "[^"]*"$`);
/** Clusters of the 2022 Envoy-based ambient ztunnel. */
const ZTUNNEL_2022 = /^(?:outbound_tunnel_clus_|virtual_inbound$)|_outbound_internal$/;
/** Fields after the last quote: CLUSTER UPSTREAM_LOCAL DOWNSTREAM_LOCAL DOWNSTREAM_REMOTE SNI. */
const TAIL_FIELDS = 5;

export function decodeEnvoyText(line: string): Decoded<AccessLogEntry> {
  let m = MODERN.exec(line);
  let details: string | undefined;
  let i: number;
  if (m !== null) {
    details = m[8];
    i = 10;
  } else {
    m = LEGACY.exec(line);
    if (m === null) return unmatched(line);
    i = 8;
  }
  // i points at BYTES_RECEIVED; the tail's groups follow from there, and the unquoted
  // fields after UPSTREAM_HOST are split from its last group.
  const tail = m[i + 9]!.split(' ');
  for (let k = 0; k < TAIL_FIELDS; k++) {
    if (tail[k] === undefined || tail[k] === '') {
      return reject('malformed-envoy-text', `line ends after ${k} of the ${TAIL_FIELDS} fields that follow "UPSTREAM_HOST" (cluster, addresses, SNI)`);
    }
  }
  const cluster = tail[0]!;
  if (ZTUNNEL_2022.test(cluster)) {
    return reject(
      'envoy-ztunnel-2022',
      `an early Envoy-based ambient ztunnel line (experimental, 2022; cluster ${excerpt(cluster)}): its tunnels are not read. The Rust ztunnel replaced it`,
    );
  }
  return ok({
    startTime: m[1] ?? m[2],
    method: dash(m[3]),
    path: dash(m[4]),
    protocol: dash(m[5]),
    responseCode: Number(m[6]),
    responseFlags: dash(m[7]),
    responseCodeDetails: dash(details),
    userAgent: dash(m[i + 5]),
    requestId: dash(m[i + 6]),
    authority: dash(m[i + 7]),
    upstreamHost: dash(m[i + 8]),
    upstreamCluster: dash(cluster),
    upstreamLocalAddress: dash(tail[1]),
    downstreamLocalAddress: dash(tail[2]),
    downstreamRemoteAddress: dash(tail[3]),
    requestedServerName: dash(tail[4]),
    routeName: dash(tail[5]),
    xForwardedFor: dash(m[i + 4]),
  });
}

/** Why a line matched no Istio TEXT format, or what it is once its quotes are unescaped. */
function unmatched(line: string): Decoded<AccessLogEntry> {
  // Quotes escaped as `\"` (the line was a JSON string's content), and none left bare.
  if (line.includes('\\"') && !/(^|[^\\])"/.test(line)) {
    const unescaped = line.replace(/\\(["\\])/g, '$1');
    const d = decodeEnvoyText(unescaped);
    if (d.kind === 'ok' || d.reason !== 'malformed-envoy-text') return d;
  }
  if (ENVOY_DEFAULT.test(line)) {
    return reject(
      'envoy-default-format',
      'plain Envoy default access-log format (it ends at "UPSTREAM_HOST": no upstream cluster, addresses or SNI), as Contour or a bare Envoy writes it: not an Istio proxy line',
    );
  }
  return reject('malformed-envoy-text', 'line does not match the Istio default TEXT access-log format');
}
