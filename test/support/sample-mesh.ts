// A small mesh of the project's own, and access-log lines it could write, for the tests that
// need an Istio line as input but check framing, decoding or the CLI rather than what some
// real proxy once wrote. Every value here is made up for ztmap (addresses, ids, times, names);
// published lines are checked where they are, by test/conformance/ (`npm run test:conformance`).
//
//   namespace shop: web-1 (10.61.2.14, app=web) calls cart-1 (10.61.3.25, app=cart) through the
//   Service cart.shop.svc.cluster.local (10.96.61.9:9080 → 8080); gateway-1 (10.61.1.5) is an
//   ingress gateway; 203.0.113.0/24 and 198.51.100.0/24 (documentation ranges) are outside.
//
// Istio's default TEXT format (1.9 and later), one field per column:
//   [START_TIME] "METHOD PATH PROTOCOL" RESPONSE_CODE RESPONSE_FLAGS RESPONSE_CODE_DETAILS
//   CONNECTION_TERMINATION_DETAILS "UPSTREAM_TRANSPORT_FAILURE_REASON" BYTES_RECEIVED BYTES_SENT
//   DURATION UPSTREAM_SERVICE_TIME "X-FORWARDED-FOR" "USER-AGENT" "X-REQUEST-ID" ":AUTHORITY"
//   "UPSTREAM_HOST" UPSTREAM_CLUSTER UPSTREAM_LOCAL_ADDRESS DOWNSTREAM_LOCAL_ADDRESS
//   DOWNSTREAM_REMOTE_ADDRESS REQUESTED_SERVER_NAME ROUTE_NAME
import { pod, writeInventory } from './kube.js';

export const MESH = {
  namespace: 'shop',
  web: { name: 'web-1', ip: '10.61.2.14' },
  cart: { name: 'cart-1', ip: '10.61.3.25', port: 8080 },
  gateway: { name: 'gateway-1', ip: '10.61.1.5' },
  service: { host: 'cart.shop.svc.cluster.local', clusterIp: '10.96.61.9', port: 9080 },
  /** In the mesh's range, in no inventory. */
  unknownIp: '10.61.9.99',
} as const;

/** The client's local port of the request below: the server line's downstream remote port. */
const WEB_PORT = 51234;

/** web-1's sidecar: the outbound request to cart through its Service. */
export const CLIENT_LINE =
  '[2026-03-14T09:15:02.118Z] "GET /cart/items HTTP/1.1" 200 - via_upstream - "-" 0 412 6 5 "-" "okhttp/4.12.0" ' +
  '"5f0c2a7e-3b1d-4e8a-9c61-0d2f7b8a4e13" "cart:9080" "10.61.3.25:8080" outbound|9080||cart.shop.svc.cluster.local ' +
  '10.61.2.14:51234 10.96.61.9:9080 10.61.2.14:46810 - default';

/** cart-1's sidecar: the same request arriving over Istio mTLS (SNI `outbound_.9080_._.<service>`). */
export const SERVER_LINE =
  '[2026-03-14T09:15:02.119Z] "GET /cart/items HTTP/1.1" 200 - via_upstream - "-" 0 412 4 3 "-" "okhttp/4.12.0" ' +
  '"5f0c2a7e-3b1d-4e8a-9c61-0d2f7b8a4e13" "cart:9080" "10.61.3.25:8080" inbound|8080|| 127.0.0.6:39001 ' +
  '10.61.3.25:8080 10.61.2.14:51234 outbound_.9080_._.cart.shop.svc.cluster.local default';

/** cart-1's sidecar refusing a request by AuthorizationPolicy (no upstream reached). */
export const RBAC_DENIED_LINE =
  '[2026-03-14T09:17:05.331Z] "POST /cart/checkout HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "okhttp/4.12.0" ' +
  '"9b1e4c2d-7a60-4f0e-8d35-61c2a9f0b7e4" "cart:9080" "-" inbound|8080|| - 10.61.3.25:8080 10.61.2.14:47120 ' +
  'outbound_.9080_._.cart.shop.svc.cluster.local default';

/** The ingress gateway forwarding an outside client: the listener is the gateway pod's own address. */
export const GATEWAY_LINE =
  '[2026-03-14T09:18:44.907Z] "GET /cart/items HTTP/1.1" 200 - via_upstream - "-" 0 412 9 8 "198.51.100.23" "Mozilla/5.0" ' +
  '"c3a8e5f1-0d42-4b97-a1e6-2f58d9c07b31" "shop.example.com" "10.61.3.25:8080" outbound|9080||cart.shop.svc.cluster.local ' +
  '10.61.1.5:52410 10.61.1.5:8080 198.51.100.23:61544 - -';

/** web-1 opening TLS to an external host through PassthroughCluster: TCP, named by SNI. */
export const PASSTHROUGH_TCP_LINE =
  '[2026-03-14T09:16:40.002Z] "- - -" 0 - - - "-" 812 5230 118 - "-" "-" "-" "-" "203.0.113.40:443" PassthroughCluster ' +
  '10.61.2.14:40112 203.0.113.40:443 10.61.2.14:40110 payments.example.com -';

/** web-1 to cart as plain TCP through the Service (no SNI, no HTTP): the fields of a TCP line. */
export const TCP_LINE =
  '[2026-03-14T09:16:41.250Z] "- - -" 0 - - - "-" 96 0 - - "-" "-" "-" "-" "10.61.3.25:8080" outbound|9080||cart.shop.svc.cluster.local ' +
  '10.61.2.14:41022 10.96.61.9:9080 10.61.2.14:41020 - -';

/**
 * The Istio 1.3 TEXT format: one field after RESPONSE_FLAGS (the Mixer status, here `"-"`), no
 * CONNECTION_TERMINATION_DETAILS or ROUTE_NAME, an outbound line without its upstream local address.
 */
export const LEGACY_1_3_LINE =
  '[2019-06-21T08:04:11.502Z] "GET /cart/items HTTP/1.1" 200 - "-" 0 231 7 6 "-" "okhttp/3.14.2" "2d6b0f8e-55c1-4a3e-b7d9-8e0f1a2c3b4d" ' +
  '"cart:9080" "10.61.3.25:8080" outbound|9080||cart.shop.svc.cluster.local - 10.96.61.9:9080 10.61.2.14:40022 -';

/** The Istio 1.5–1.8 TEXT format on the server side: an inbound cluster naming the port name and Service. */
export const LEGACY_1_6_LINE =
  '[2020-07-02T11:42:09.870Z] "GET /cart/items HTTP/1.1" 200 - "-" "-" 0 231 5 4 "-" "okhttp/3.14.2" "7e2f9a10-3c84-4d5b-96a1-b0c4d2e8f651" ' +
  '"cart:9080" "127.0.0.1:8080" inbound|9080|http|cart.shop.svc.cluster.local 127.0.0.1:38816 10.61.3.25:8080 10.61.2.14:40024 ' +
  'outbound_.9080_._.cart.shop.svc.cluster.local default';

/** cart-1's sidecar in Istio's JSON encoding, numbers as numbers and nulls for absent (1.14 and later). */
export const SERVER_JSON: Record<string, unknown> = {
  start_time: '2026-03-14T09:15:03.204Z',
  method: 'GET',
  path: '/cart/items',
  protocol: 'HTTP/1.1',
  response_code: 200,
  response_flags: '-',
  response_code_details: 'via_upstream',
  connection_termination_details: null,
  upstream_transport_failure_reason: null,
  bytes_received: 0,
  bytes_sent: 412,
  duration: 4,
  upstream_service_time: '3',
  x_forwarded_for: null,
  user_agent: 'okhttp/4.12.0',
  request_id: '0a7c3e91-64b2-4f8d-a5e0-3d9b1c7f2e86',
  authority: 'cart:9080',
  upstream_host: '10.61.3.25:8080',
  upstream_cluster: 'inbound|8080||',
  upstream_local_address: '127.0.0.6:39017',
  downstream_local_address: '10.61.3.25:8080',
  downstream_remote_address: '10.61.2.14:51240',
  requested_server_name: 'outbound_.9080_._.cart.shop.svc.cluster.local',
  route_name: 'default',
};

/** web-1's sidecar in the JSON encoding: an outbound request, no SNI (null). */
export const CLIENT_JSON: Record<string, unknown> = {
  ...SERVER_JSON,
  start_time: '2026-03-14T09:15:03.203Z',
  duration: 6,
  upstream_service_time: '5',
  upstream_cluster: 'outbound|9080||cart.shop.svc.cluster.local',
  upstream_local_address: '10.61.2.14:51240',
  downstream_local_address: '10.96.61.9:9080',
  downstream_remote_address: '10.61.2.14:46830',
  requested_server_name: null,
};

/**
 * The JSON encoding before Istio 1.14: every value a string and `"-"` for absent; a plaintext
 * client (no SNI) reaching cart-1 directly.
 */
export const SERVER_JSON_STRINGS: Record<string, unknown> = {
  start_time: '2020-07-02T11:42:10.015Z',
  method: 'GET',
  path: '/cart/items',
  protocol: 'HTTP/1.1',
  response_code: '200',
  response_flags: '-',
  istio_policy_status: '-',
  upstream_transport_failure_reason: '-',
  bytes_received: '0',
  bytes_sent: '231',
  duration: '5',
  upstream_service_time: '4',
  x_forwarded_for: '-',
  user_agent: 'okhttp/3.14.2',
  request_id: '41d8b7c2-9e05-4a63-b1f4-5c2e0d8a7f93',
  authority: '10.61.3.25:8080',
  upstream_host: '127.0.0.1:8080',
  upstream_cluster: 'inbound|9080|http|cart.shop.svc.cluster.local',
  upstream_local_address: '127.0.0.1:38840',
  downstream_local_address: '10.61.3.25:8080',
  downstream_remote_address: '10.61.2.14:40030',
  requested_server_name: '-',
  route_name: 'default',
};

/** A pod a test adds beside web-1 and cart-1, in shop, with its own service account `sa`. */
interface ExtraPod {
  name: string;
  ip: string;
  app: string;
}

/** Writes `dir/inventory.json` for the lines above: web-1 and cart-1 in shop (the gateway is left out), and `extra`. */
export function writeSampleInventory(dir: string, extra: readonly ExtraPod[] = []): string {
  const start = '2026-03-14T08:00:00Z';
  return writeInventory(dir, [
    pod(MESH.namespace, MESH.web.name, { ip: MESH.web.ip, labels: { app: 'web' }, sa: 'web', start }),
    pod(MESH.namespace, MESH.cart.name, { ip: MESH.cart.ip, labels: { app: 'cart' }, sa: 'cart', start }),
    ...extra.map((p) => pod(MESH.namespace, p.name, { ip: p.ip, labels: { app: p.app }, sa: p.app, start })),
  ]);
}
