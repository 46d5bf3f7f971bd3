// What every line of ../shared/reference/telemetry/real-world/ is, decided from the line itself
// and the file's notes in SOURCES.md there — not from what the code happens to do.
//
// A line is either a Flow (the fields below; see src/flow/flow.ts) or a skip / reject with its
// reason. Endpoint fields:
//   ip, port, behindProxy   always compared: absent here means absent in the Flow
//   pod                     compared when given; `null` means no pod; FILE means the bare-name
//                           hint layout.ts takes from a descriptive file name (SOURCES.md: "other
//                           file names are descriptive only"), `{namespace: '', name: <file>}`
//   service, servicePort,   compared when given (a Flow may know more than the line proves)
//   host, and the source's port
// `reporter`, `mtls`: compared when given (some lines do not say which proxy wrote them).
// `denial` and `upstreamFailure`: always compared. `timestamp`: an ISO time, or null for none.
// `proxied` (an outbound line's downstream listener and client): compared when given.
//
// The semantics are those of src/sources/access-log.ts (entryToFlow) as the lead specified them
// for issue 11: denials from flags/details/cluster, other flags as an upstream failure, a port-0
// remote as a peer behind a proxy, lines without an upstream cluster named by their downstream
// addresses, and waypoint (inbound-vip) lines as the server side of the request. An outbound
// line without upstream_local_address (Istio < 1.5, or no upstream reached) names its client by
// downstream_remote_address, unless its listener is the proxy's own pod (a gateway): only the
// inventory knows which, so the Flow carries no source IP but both downstream addresses
// (`proxied`), and inventory/resolve.ts decides.

import type { DenialKind, L4Protocol, Mtls, PodRef, Reporter } from '../../src/flow/flow.js';

export const FILE = 'file-name-hint';

export interface EndpointExpectation {
  ip?: string;
  port?: number;
  pod?: PodRef | typeof FILE | null;
  service?: string;
  servicePort?: number;
  host?: string;
  behindProxy?: { forwardedFor?: string };
}

export interface FlowExpectation {
  reporter?: Reporter;
  source: EndpointExpectation;
  destination: EndpointExpectation;
  protocol: L4Protocol;
  /** HTTP/gRPC: method, raw path and :authority as logged. */
  l7?: { method: string; path: string; host?: string };
  mtls?: Mtls;
  responseCode: number;
  denial?: { kind: DenialKind; policy?: string };
  upstreamFailure?: string;
  timestamp: string | null;
  /** The downstream listener and client of an outbound line (compared when given; the client's port is not). */
  proxied?: { listener: { ip: string; port: number }; client: { ip: string } };
}

export type LineExpectation =
  | { flow: FlowExpectation; why: string }
  | { skip: string; why: string }
  | { reject: string; why: string };

/** Reject reasons that are honest about a line ztmap does not read: never an Istio sidecar, gateway or waypoint line of a supported version. */
export const NOT_ISTIO_PROXY_REASONS = new Set(['envoy-default-format', 'envoy-ztunnel-2022', 'ztunnel-access-log']);

const flow = (why: string, f: FlowExpectation): LineExpectation => ({ flow: f, why });
const skip = (reason: string, why: string): LineExpectation => ({ skip: reason, why });
const reject = (reason: string, why: string): LineExpectation => ({ reject: reason, why });

const PROXY_LOG = (why: string) => skip('proxy-log-line', why);
const ZTUNNEL_2022 = reject('envoy-ztunnel-2022', 'experimental Envoy-based ambient ztunnel (2022): tunnel/capture clusters, extra trailing fields');
const get = (path: string, host?: string) => ({ method: 'GET', path, host });
const head = (host: string) => ({ method: 'HEAD', path: '/', host });

const PRODUCTPAGE: PodRef = { namespace: 'default', name: 'productpage-v1-6987489c74-6fgz8' };
const SLEEP: PodRef = { namespace: 'default', name: 'sleep-557747455f-nw45h' };
const EGRESS_GW: PodRef = { namespace: 'istio-system', name: 'istio-egressgateway-66fdd867f4-kbrh4' };
const HTTPBIN: PodRef = { namespace: 'httpbin', name: 'in-mesh-6cff8c4dbd-ks22g' };
const STERN_GW: PodRef = { namespace: '', name: 'ingressgateway-7cc46d9596-v8qnt' };

const nrFilterChain = (src: string, dstIp: string, port: number, t: string) =>
  flow('server sidecar NR filter_chain_not_found: a plaintext client refused by STRICT mTLS', {
    reporter: 'server',
    source: { ip: src },
    destination: { ip: dstIp, port },
    protocol: 'tcp',
    mtls: 'plaintext',
    responseCode: 0,
    denial: { kind: 'no-filter-chain' },
    timestamp: t,
  });

/** An outbound line without upstream_local_address: no source IP; the downstream addresses in `proxied`. */
const viaDownstream = (listenerIp: string, port: number, client: string) => ({ listener: { ip: listenerIp, port }, client: { ip: client } });

const blackHole = (src: string, dstIp: string, port: number, t: string, host?: string) =>
  flow('BlackHoleCluster (UH): REGISTRY_ONLY refused the connection; no upstream_local_address: the client is downstream_remote_address unless its listener is the gateway itself', {
    reporter: 'client',
    source: {},
    proxied: viaDownstream(dstIp, port, src),
    destination: { ip: dstIp, port, ...(host === undefined ? {} : { host }) },
    protocol: 'tcp',
    mtls: 'unknown',
    responseCode: 0,
    denial: { kind: 'registry-only' },
    timestamp: t,
  });

export const EXPECTATIONS: Record<string, LineExpectation[]> = {
  'ambient-envoy-ztunnel-2022.log': [ZTUNNEL_2022, ZTUNNEL_2022, ZTUNNEL_2022, ZTUNNEL_2022, ZTUNNEL_2022, ZTUNNEL_2022, ZTUNNEL_2022, ZTUNNEL_2022],

  'cri-kubeflow-ingressgw-2026.log': [
    flow('CRI F record; ingress gateway outbound to kubeflow-dashboard', {
      reporter: 'client',
      source: { ip: '10.1.91.146', pod: FILE },
      destination: { ip: '10.1.91.51', port: 8082, service: 'kubeflow-dashboard.kubeflow.svc.cluster.local', servicePort: 8082 },
      protocol: 'http',
      l7: get('/api/test-error-1769746167', '10.149.59.201'),
      mtls: 'unknown',
      responseCode: 404,
      timestamp: '2026-01-30T04:09:27.772Z',
    }),
  ],

  'default_bookinfo-productpage-istio-waypoint-68cb5fb4d6-pxzbr.log': [1, 2].map((n) =>
    flow('waypoint JSON: inbound-vip cluster, connect_originate upstream (the productpage pod), client behind internal_client_address (none); the waypoint is neither end', {
      reporter: 'server',
      source: { pod: null },
      destination: { ip: '10.244.1.24', port: 9080, pod: null },
      protocol: 'http',
      l7: get('/', 'productpage:9080'),
      mtls: 'mutual',
      responseCode: 200,
      timestamp: n === 1 ? '2023-08-28T11:59:07.644Z' : '2023-08-28T11:59:08.924Z',
    }),
  ),

  'default_productpage-v1-6987489c74-6fgz8.log': [
    ...[
      ['10.244.2.75', 'details', '/details/0', '2020-09-30T03:22:42.267Z'],
      ['10.244.0.81', 'reviews', '/reviews/0', '2020-09-30T03:22:42.272Z'],
    ].map(([ip, svc, path, t]) => productpageOut(ip!, svc!, path!, t!)),
    productpageIn('2020-09-30T03:22:42.263Z'),
    ...[
      ['10.244.2.75', 'details', '/details/0', '2020-09-30T03:45:05.045Z'],
      ['10.244.2.74', 'reviews', '/reviews/0', '2020-09-30T03:45:05.049Z'],
    ].map(([ip, svc, path, t]) => productpageOut(ip!, svc!, path!, t!)),
    productpageIn('2020-09-30T03:45:05.040Z'),
  ],

  'default_sleep-557747455f-nw45h.log': [
    ...[
      ['180.97.34.96', '2022-04-26T12:44:56.028Z'],
      ['36.25.253.87', '2022-04-26T12:44:56.278Z'],
    ].map(([ip, t]) =>
      flow('TCP PassthroughCluster to an external address', {
        reporter: 'client',
        source: { ip: '10.122.158.52', pod: SLEEP },
        destination: { ip, port: 443 },
        protocol: 'tcp',
        mtls: 'unknown',
        responseCode: 0,
        timestamp: t!,
      }),
    ),
    PROXY_LOG('pilot-agent xdsproxy logging (tab-separated)'),
    withPod(blackHole('10.122.158.52', '180.97.34.94', 443, '2022-04-26T13:14:30.905Z'), 'source', SLEEP),
    withPod(blackHole('10.122.158.52', '36.25.253.224', 443, '2022-04-26T13:14:31.103Z'), 'source', SLEEP),
    ...[
      ['180.97.34.94', 'www.baidu.com', '2022-04-26T13:16:32.023Z'],
      ['36.25.253.224', 'www.tencent.com', '2022-04-26T13:16:34.207Z'],
    ].map(([ip, host, t]) =>
      flow('502 direct_response on route block_all (REGISTRY_ONLY, HTTP): no cluster, so downstream remote -> downstream local (the addresses, not the reporting pod: at a gateway the reporter is the callee)', {
        reporter: 'client',
        source: { ip: '10.122.158.52' },
        destination: { ip, port: 80, host },
        protocol: 'http',
        l7: head(host!),
        mtls: 'unknown',
        responseCode: 502,
        denial: { kind: 'blocked' },
        timestamp: t!,
      }),
    ),
    ...[
      ['180.97.34.96', 'www.baidu.com', '/', '2022-04-26T13:23:57.254Z', 52250],
      ['3.226.124.170', 'httpbin.org', '/headers', '2022-04-26T13:26:08.804Z', 50958],
    ].map(([ip, host, path, t]) =>
      flow('HTTP to a ServiceEntry host', {
        reporter: 'client',
        source: { ip: '10.122.158.52', pod: SLEEP },
        destination: { ip: ip as string, port: 80, host: host as string, servicePort: 80 },
        protocol: 'http',
        l7: get(path as string, host as string),
        mtls: 'unknown',
        responseCode: 200,
        timestamp: t as string,
      }),
    ),
    flow('TCP (TLS) to a ServiceEntry host', {
      reporter: 'client',
      source: { ip: '10.122.158.52', pod: SLEEP },
      destination: { ip: '36.25.253.87', port: 443, host: 'www.tencent.com', servicePort: 443 },
      protocol: 'tcp',
      mtls: 'unknown',
      responseCode: 0,
      timestamp: '2022-04-26T13:40:19.596Z',
    }),
  ],

  'envoy-issue-15698-gateway-NR.log': [
    flow('gateway NR filter_chain_not_found on its TLS port (an SNI no server matches); by the line alone, as on a sidecar', {
      reporter: 'server',
      source: { ip: '172.20.49.60' },
      destination: { ip: '100.97.92.14', port: 8443 },
      protocol: 'tcp',
      mtls: 'plaintext',
      responseCode: 0,
      denial: { kind: 'no-filter-chain' },
      timestamp: '2021-03-25T23:59:51.372Z',
    }),
    ...[
      ['GET', '/.env', '100.117.94.128', '2021-03-26T00:01:25.979Z'],
      ['POST', '/', '100.127.250.64', '2021-03-26T00:01:26.592Z'],
    ].map(([method, path, ip, t]) =>
      flow('gateway 404 NR route_not_found (a scanner): no cluster, so downstream remote -> downstream local', {
        source: { ip },
        destination: { ip: '100.97.92.14', port: 8080 },
        protocol: 'http',
        l7: { method: method!, path: path!, host: '34.213.68.78' },
        responseCode: 404,
        denial: { kind: 'no-route' },
        timestamp: t!,
      }),
    ),
    PROXY_LOG('pilot-agent logging (tab-separated, "envoy config" warning)'),
  ],

  'gateways-knative-llmd-kserve.log': [
    flow('Knative gateway, Istio 1.5 format (mixer status and transport failure quoted)', {
      reporter: 'client',
      source: { ip: '172.20.81.235', pod: FILE },
      destination: { ip: '172.20.33.85', port: 8012, service: 'hello-example-qfqwg-1.default.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      l7: get('/', 'hello-example.default.example.com'),
      mtls: 'unknown',
      responseCode: 200,
      timestamp: '2020-04-27T00:55:03.392Z',
    }),
    flow('llm-d gateway behind a port-forward (loopback downstream); 502 from upstream, no flag; route name with dots', {
      reporter: 'client',
      source: { ip: '10.0.1.247', pod: FILE },
      destination: { ip: '10.0.2.212', port: 8000, service: 'gaie-pd-ip-bb618139.llm-d-pd.svc.cluster.local', servicePort: 54321 },
      protocol: 'http',
      l7: { method: 'POST', path: '/v1/chat/completions', host: 'localhost:8000' },
      mtls: 'unknown',
      responseCode: 502,
      timestamp: '2025-09-19T18:43:27.635Z',
    }),
    flow('KServe gateway: 403 rbac_access_denied_matched_policy[none] on an outbound cluster; the downstream is loopback, so no client address', {
      reporter: 'client',
      source: { pod: FILE },
      destination: { service: 'knative-local-gateway.istio-system.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      l7: { method: 'POST', path: '/v1/models/bert-emotion-model:predict', host: 'bert-model.default.example.com' },
      mtls: 'unknown',
      responseCode: 403,
      denial: { kind: 'rbac' },
      timestamp: '2024-04-25T20:21:43.725Z',
    }),
    flow('OKD gateway, HTTP/2 GET (not gRPC)', {
      reporter: 'client',
      source: { ip: '10.131.1.130', pod: FILE },
      destination: { ip: '10.128.3.112', port: 8080, service: 'server.sbercode-654d59b9-0701-4932-a22d-bb524ae4bb5b-work.svc.cluster.local', servicePort: 8080 },
      protocol: 'http',
      l7: get('/', 'simple.apps.sbc-okd.pcbltools.ru'),
      mtls: 'unknown',
      responseCode: 200,
      timestamp: '2022-10-05T20:56:15.535Z',
    }),
    flow('egress gateway to a ServiceEntry host', {
      reporter: 'client',
      source: { ip: '10.244.0.6', pod: FILE },
      destination: { ip: '18.211.234.122', port: 80, host: 'httpbin.org', servicePort: 80 },
      protocol: 'http',
      l7: get('/headers', 'httpbin.org'),
      mtls: 'unknown',
      responseCode: 200,
      timestamp: '2024-06-20T21:19:40.721Z',
    }),
  ],

  'gloo-ingressgw-uaex-2022.log': [
    flow('302 UAEX ext_authz_denied: an OIDC login redirect, not a refusal; no upstream_local_address: the client is downstream_remote_address unless its listener is the gateway itself', {
      reporter: 'client',
      source: {},
      proxied: viaDownstream('10.48.0.24', 8443, '10.48.0.1'),
      destination: { service: 'in-mesh.httpbin.svc.cluster.local', servicePort: 8000 },
      protocol: 'http',
      l7: get(
        '/callback?code=72S_sRhA8PNvZr_8qXHS0_W8gAcBTFaWq9z67OkX5IM&state=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE2NTc1NzQzNjksImlhdCI6MTY1NzU3MjU2OSwic3RhdGUiOiJodHRwczovL2h0dHBiaW4uZ2xvb3Rlc3QuY29tL2dldCJ9.aly6iawiNcEiRZTx_9zTr27Q8V4Hwk1Ra13ytwGETF4',
        'httpbin.glootest.com',
      ),
      mtls: 'unknown',
      responseCode: 302,
      upstreamFailure: 'UAEX',
      timestamp: '2022-07-11T20:49:36.292Z',
    }),
    flow('ingress gateway outbound after login', {
      reporter: 'client',
      source: { ip: '10.48.0.24', pod: FILE },
      destination: { ip: '10.48.0.25', port: 80, service: 'in-mesh.httpbin.svc.cluster.local', servicePort: 8000 },
      protocol: 'http',
      l7: get('/get', 'httpbin.glootest.com'),
      mtls: 'unknown',
      responseCode: 200,
      timestamp: '2022-07-11T20:49:37.000Z',
    }),
  ],

  'grpc-dubbo-healthcheck-2022.log': [
    flow('gRPC health check inbound, plaintext (no SNI)', {
      reporter: 'server',
      source: { ip: '172.17.0.8' },
      destination: { ip: '172.17.0.7', port: 50052, pod: FILE },
      protocol: 'grpc',
      l7: { method: 'POST', path: '/grpc.health.v1.Health/Check', host: 'dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local' },
      mtls: 'plaintext',
      responseCode: 200,
      timestamp: '2022-07-08T09:03:34.152Z',
    }),
  ],

  'grpc-openshift-guardrails-2024.log': [
    flow('HTTP/1.1 GET outbound to a Knative revision', {
      reporter: 'client',
      source: { ip: '10.129.2.103', pod: FILE },
      destination: { ip: '10.131.0.79', port: 8012, service: 'regex-detector-predictor-00001.guardrails-test.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      l7: get('/health', 'regex-detector-predictor.guardrails-test.svc.cluster.local'),
      mtls: 'unknown',
      responseCode: 200,
      timestamp: '2024-11-14T21:30:15.466Z',
    }),
    flow('gRPC outbound through the Knative local gateway', {
      reporter: 'client',
      source: { ip: '10.129.2.103', pod: FILE },
      destination: { ip: '10.128.2.65', port: 8081, service: 'knative-local-gateway.istio-system.svc.cluster.local', servicePort: 80 },
      protocol: 'grpc',
      l7: { method: 'POST', path: '/grpc.health.v1.Health/Check', host: '172.30.28.139:80' },
      mtls: 'unknown',
      responseCode: 200,
      timestamp: '2024-11-14T21:30:15.488Z',
    }),
  ],

  'helloworld-2023-blackhole.log': [
    blackHole('172.17.121.65', '10.111.90.232', 8080, '2023-05-15T00:42:03.699Z'),
    flow('inbound over mTLS; the pod calls its own Service', {
      reporter: 'server',
      source: { ip: '172.17.121.65' },
      destination: { ip: '172.17.121.65', port: 80, pod: FILE },
      protocol: 'http',
      l7: head('helloworld.default.svc.cluster.local'),
      mtls: 'mutual',
      responseCode: 200,
      timestamp: '2023-05-15T00:42:24.785Z',
    }),
    ...[
      ['172.17.121.65', 'helloworld.default.svc.cluster.local', '2023-05-15T00:42:24.784Z'],
      ['172.17.247.42', 'helloworld.foo.svc.cluster.local', '2023-05-15T00:43:23.209Z'],
    ].map(([ip, svc, t]) =>
      flow('outbound to a Service', {
        reporter: 'client',
        source: { ip: '172.17.121.65', pod: FILE },
        destination: { ip, port: 80, service: svc, servicePort: 80 },
        protocol: 'http',
        l7: head(svc!),
        mtls: 'unknown',
        responseCode: 200,
        timestamp: t!,
      }),
    ),
    blackHole('172.17.121.65', '10.109.248.148', 8080, '2023-05-15T00:43:29.751Z'),
    blackHole('172.17.121.65', '10.109.248.148', 8080, '2023-05-15T00:43:31.979Z'),
  ],

  'httpbin_in-mesh-6cff8c4dbd-ks22g.log': [
    flow('inbound from the gateway with the X-Forwarded-For client as remote (port 0): a peer behind a proxy', {
      reporter: 'server',
      source: { behindProxy: { forwardedFor: '10.48.0.1' } },
      destination: { ip: '10.48.0.25', port: 80, pod: HTTPBIN },
      protocol: 'http',
      l7: get('/get', 'httpbin.glootest.com'),
      mtls: 'mutual',
      responseCode: 200,
      timestamp: '2022-07-11T20:53:27.509Z',
    }),
  ],

  'ipv6-troubleshooting-2024.log': [
    ...[
      '2024-04-22T04:26:10.731Z',
      '2024-04-22T04:26:15.736Z',
      '2024-04-22T04:26:20.740Z',
      '2024-04-22T04:26:21.216Z',
    ].map((t) => blackHole('2406:da24:8:c201:6969::14', '2001:2::f0f0:89b7', 10002, t)),
    flow('published without its leading [ (the time is intact); IPv6 inbound over mTLS, 503 UF', {
      reporter: 'server',
      source: { ip: '2406:da24:8:c200:6d38::17' },
      destination: { ip: '2406:da24:8:c202:7327::5', port: 8001, pod: FILE },
      protocol: 'http',
      l7: get('/', 'xr-light-class-management-server:8001'),
      mtls: 'mutual',
      responseCode: 503,
      upstreamFailure: 'UF',
      timestamp: '2024-05-29T02:46:11.488Z',
    }),
    flow('published with \\" escapes: read unescaped; TCP to an egress gateway subset', {
      reporter: 'client',
      source: { ip: '10.252.254.205', pod: FILE },
      destination: { ip: '10.252.166.226', port: 443, service: 'egressgateway.city-egress.svc.cluster.local', servicePort: 443 },
      protocol: 'tcp',
      mtls: 'unknown',
      responseCode: 0,
      timestamp: '2024-05-09T00:23:52.990Z',
    }),
  ],

  'istio-issue-31555-tcp.log': [
    flow('TCP PassthroughCluster', {
      reporter: 'client',
      source: { ip: '10.244.0.31', pod: FILE },
      destination: { ip: '100.77.28.132', port: 1521 },
      protocol: 'tcp',
      mtls: 'unknown',
      responseCode: 0,
      timestamp: '2021-03-16T09:29:27.498Z',
    }),
    flow('inbound TCP, plaintext, UF,URX (the app did not accept)', {
      reporter: 'server',
      source: { ip: '10.244.0.1' },
      destination: { ip: '10.244.0.31', port: 12950, pod: FILE },
      protocol: 'tcp',
      mtls: 'plaintext',
      responseCode: 0,
      upstreamFailure: 'UF,URX',
      timestamp: '2021-03-16T09:30:47.919Z',
    }),
  ],

  'istio-issue-51178-blackhole.log': [
    blackHole('10.52.97.65', '142.250.217.115', 443, '2023-04-24T15:57:17.434Z', 'sqa.ory.sh'),
    blackHole('10.52.59.26', '240.240.180.115', 81, '2024-05-21T16:19:04.707Z'),
  ],

  'istio-system_istio-egressgateway-66fdd867f4-kbrh4.log': [
    ...[
      ['173.194.217.101', 'developers.google.com', '10.100.2.6', '2022-05-10T20:36:16.981Z'],
      ['69.147.92.11', 'developer.yahoo.com', '10.100.2.6', '2022-05-10T20:51:37.099Z'],
    ].map(([ip, host, src, t]) =>
      flow('egress gateway to a ServiceEntry host over TLS origination', {
        reporter: 'client',
        source: { ip: src, pod: EGRESS_GW },
        destination: { ip, port: 443, host, servicePort: 443 },
        protocol: 'http',
        l7: { method: 'HEAD', path: '/', host: host! },
        mtls: 'unknown',
        responseCode: 200,
        timestamp: t!,
      }),
    ),
    flow('egress gateway 403 rbac_access_denied_matched_policy[...]: no upstream_local_address: the refused caller is downstream_remote_address (10.100.0.6, a sleep pod)', {
      reporter: 'client',
      source: { pod: EGRESS_GW },
      proxied: viaDownstream('10.100.2.6', 8080, '10.100.0.6'),
      destination: { host: 'developer.yahoo.com', servicePort: 443 },
      protocol: 'http',
      l7: head('developer.yahoo.com'),
      mtls: 'unknown',
      responseCode: 403,
      denial: { kind: 'rbac', policy: 'ns[istio-system]-policy[external-deny-developer-yahoo-com]-rule[0]' },
      timestamp: '2022-05-10T21:51:49.396Z',
    }),
  ],

  'istioio-accesslog-1.1.log': [
    flow('Istio 1.1 TEXT (the 1.1-1.3 format): outbound without upstream_local_address', {
      reporter: 'client',
      source: { pod: FILE },
      proxied: viaDownstream('172.21.13.94', 8000, '172.30.146.82'),
      destination: { ip: '172.30.146.73', port: 80, service: 'httpbin.default.svc.cluster.local', servicePort: 8000 },
      protocol: 'http',
      l7: get('/status/418', 'httpbin:8000'),
      mtls: 'unknown',
      responseCode: 418,
      timestamp: '2019-03-06T09:31:27.354Z',
    }),
    flow('Istio 1.1 TEXT: inbound, old cluster name inbound|8000|http|svc, over mTLS', {
      reporter: 'server',
      source: { ip: '172.30.146.82' },
      destination: { ip: '172.30.146.73', port: 80, pod: FILE },
      protocol: 'http',
      l7: get('/status/418', 'httpbin:8000'),
      mtls: 'mutual',
      responseCode: 418,
      timestamp: '2019-03-06T09:31:27.360Z',
    }),
  ],

  'istioio-accesslog-1.5to1.8.log': [
    flow('Istio 1.5-1.8 TEXT outbound', {
      reporter: 'client',
      source: { ip: '10.244.0.29', pod: FILE },
      destination: { ip: '10.244.0.30', port: 80, service: 'httpbin.default.svc.cluster.local', servicePort: 8000 },
      protocol: 'http',
      l7: get('/status/418', 'httpbin:8000'),
      mtls: 'unknown',
      responseCode: 418,
      timestamp: '2020-10-30T12:36:44.547Z',
    }),
    flow('Istio 1.5-1.8 TEXT inbound over mTLS', {
      reporter: 'server',
      source: { ip: '10.244.0.29' },
      destination: { ip: '10.244.0.30', port: 80, pod: FILE },
      protocol: 'http',
      l7: get('/status/418', 'httpbin:8000'),
      mtls: 'mutual',
      responseCode: 418,
      timestamp: '2020-10-30T12:36:44.553Z',
    }),
  ],

  'istioio-accesslog-1.9plus.log': [
    flow('Istio 1.9+ TEXT outbound (the docs sample)', {
      reporter: 'client',
      source: { ip: '10.44.1.23', pod: FILE },
      destination: { ip: '10.44.1.27', port: 80, service: 'httpbin.foo.svc.cluster.local', servicePort: 8000 },
      protocol: 'http',
      l7: get('/status/418', 'httpbin:8000'),
      mtls: 'unknown',
      responseCode: 418,
      timestamp: '2020-11-25T21:26:18.409Z',
    }),
    flow('Istio 1.9+ TEXT inbound over mTLS', {
      reporter: 'server',
      source: { ip: '10.44.1.23' },
      destination: { ip: '10.44.1.27', port: 80, pod: FILE },
      protocol: 'http',
      l7: get('/status/418', 'httpbin:8000'),
      mtls: 'mutual',
      responseCode: 418,
      timestamp: '2020-11-25T21:26:18.409Z',
    }),
  ],

  'istioio-blog-egress-sleep-sidecars.log': [
    ...[
      ['10.100.0.5', 'developers.google.com', '2022-05-10T20:36:16.973Z'],
      ['10.100.1.6', 'developer.yahoo.com', '2022-05-10T20:51:37.091Z'],
    ].map(([src, host, t]) =>
      flow('sidecar to the egress gateway through a subset cluster', {
        reporter: 'client',
        source: { ip: src, pod: FILE },
        destination: { ip: '10.100.2.6', port: 8080, service: 'istio-egressgateway.istio-system.svc.cluster.local', servicePort: 80 },
        protocol: 'http',
        l7: head(host!),
        mtls: 'unknown',
        responseCode: 200,
        timestamp: t!,
      }),
    ),
  ],

  'istioio-microservices-1.0-1.1.log': [
    flow('Istio 1.0 TEXT: 500 FI (fault injected at the client), no cluster, so downstream remote -> downstream local (the ratings ClusterIP)', {
      source: { ip: '172.30.146.72' },
      destination: { ip: '172.21.175.188', port: 9080 },
      protocol: 'http',
      l7: get('/ratings/0', 'ratings:9080'),
      responseCode: 500,
      upstreamFailure: 'FI',
      timestamp: '2019-02-17T03:25:41.941Z',
    }),
    flow('Istio 1.0 TEXT inbound over mTLS (SNI with subset v3)', {
      reporter: 'server',
      source: { ip: '172.30.109.78' },
      destination: { ip: '172.30.146.72', port: 9080, pod: FILE },
      protocol: 'http',
      l7: get('/reviews/0', 'reviews:9080'),
      mtls: 'mutual',
      responseCode: 200,
      timestamp: '2019-02-17T03:25:41.929Z',
    }),
    flow('Istio 1.0 TEXT outbound without upstream_local_address; a 500 from upstream, no flag', {
      reporter: 'client',
      source: { pod: FILE },
      proxied: viaDownstream('172.21.5.201', 9080, '172.30.109.78'),
      destination: { ip: '172.30.146.72', port: 9080, service: 'reviews.tutorial.svc.cluster.local', servicePort: 9080 },
      protocol: 'http',
      l7: get('/reviews/0', 'reviews:9080'),
      mtls: 'unknown',
      responseCode: 500,
      timestamp: '2019-02-17T03:55:50.384Z',
    }),
    flow('Istio 1.0 TEXT inbound from the ingress with the X-Forwarded-For client (port 0), plaintext', {
      reporter: 'server',
      source: { behindProxy: { forwardedFor: '10.127.220.66' } },
      destination: { ip: '172.30.109.78', port: 9080, pod: FILE },
      protocol: 'http',
      l7: get('/productpage', 'tutorial.bookinfo.com'),
      mtls: 'plaintext',
      responseCode: 200,
      timestamp: '2019-02-17T03:55:47.367Z',
    }),
  ],

  'kubeflow-ingressgw-uaex-2024.log': [
    flow('302 UAEX: a login redirect, not a refusal; the client is downstream_remote_address unless its listener is the gateway itself', {
      reporter: 'client',
      source: {},
      proxied: viaDownstream('10.0.0.196', 8443, '192.168.0.24'),
      destination: { service: 'centraldashboard.kubeflow.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      l7: get('/', 'kubeflow.kubefrog.fr'),
      mtls: 'unknown',
      responseCode: 302,
      upstreamFailure: 'UAEX',
      timestamp: '2024-06-02T13:35:27.054Z',
    }),
  ],

  'non-istio-envoy-formats.log': [
    reject('envoy-default-format', "Envoy's own default format: ends at UPSTREAM_HOST, no cluster or addresses"),
    PROXY_LOG('Contour Envoy logging on stderr, CRI framed'),
    PROXY_LOG('Contour Envoy logging on stderr, CRI framed'),
    reject('envoy-default-format', "Contour's access line in Envoy's default format, CRI framed"),
  ],

  'nr-filter-chain-not-found-various.log': [
    nrFilterChain('10.10.0.29', '10.10.0.32', 8090, '2022-07-06T03:33:58.083Z'),
    nrFilterChain('10.20.221.213', '10.20.223.206', 8080, '2023-08-09T06:06:22.268Z'),
    nrFilterChain('10.124.9.15', '10.124.9.14', 9879, '2022-08-15T15:58:51.232Z'),
    nrFilterChain('10.10.0.16', '10.10.0.17', 8080, '2025-05-01T08:32:08.511Z'),
    nrFilterChain('10.10.0.16', '10.10.0.17', 8080, '2025-05-01T08:32:10.629Z'),
  ],

  'online-boutique-ingressgw-json.log': [
    flow('ingress gateway JSON (numeric values)', {
      reporter: 'client',
      source: { ip: '172.17.0.4', pod: FILE },
      destination: { ip: '172.17.0.9', port: 8080, service: 'frontend.online-boutique.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      l7: get('/wrongpath', '127.0.0.1'),
      mtls: 'unknown',
      responseCode: 404,
      timestamp: '2021-05-30T18:50:42.181Z',
    }),
  ],

  'packt-ch11-json-UH.log': [
    flow('JSON 503 UH no_healthy_upstream: an upstream failure; the client is downstream_remote_address unless its listener is the gateway itself', {
      reporter: 'client',
      source: {},
      proxied: viaDownstream('10.98.203.175', 80, '172.17.0.8'),
      destination: { service: 'envoydummy.chapter11.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      l7: get('/', 'envoydummy.chapter11'),
      mtls: 'unknown',
      responseCode: 503,
      upstreamFailure: 'UH',
      timestamp: '2022-12-15T03:49:38.504Z',
    }),
  ],

  'sidecar-misc-outbound.log': [
    flow('sidecar to an egress gateway (route http-mesh-traffic)', {
      reporter: 'client',
      source: { ip: '10.42.0.7', pod: FILE },
      destination: { ip: '10.42.0.6', port: 8080, service: 'edition-egressgateway.istio-system.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      l7: head('edition.cnn.com'),
      mtls: 'unknown',
      responseCode: 301,
      timestamp: '2024-01-27T09:24:20.239Z',
    }),
    flow('HTTP through PassthroughCluster (route allow_any)', {
      reporter: 'client',
      source: { ip: '10.244.1.18', pod: FILE },
      destination: { ip: '10.244.1.14', port: 80, host: 'httpbin.localhost' },
      protocol: 'http',
      l7: get('/status/200', 'httpbin.localhost'),
      mtls: 'unknown',
      responseCode: 200,
      timestamp: '2021-12-13T20:53:10.469Z',
    }),
    flow('405 from upstream, no flag', {
      reporter: 'client',
      source: { ip: '172.17.0.23', pod: FILE },
      destination: { ip: '172.17.0.15', port: 3100, service: 'svc-write.your-namespace.svc.cluster.local', servicePort: 3100 },
      protocol: 'http',
      l7: get('/svc/api/v1/push', 'name-of-service.your-namepsace.svc.cluster.local:3111'),
      mtls: 'unknown',
      responseCode: 405,
      timestamp: '2022-10-16T06:48:01.007Z',
    }),
  ],

  'uaex-inbound-extauthz-2026.log': [
    uaexInbound('/v1/customer/123456789', 200, '2026-08-09T00:55:12.156Z'),
    uaexInbound('/v1/customer/123456789', 403, '2026-08-09T00:56:18.465Z'),
    uaexInbound('/v1/customer/3434234234', 403, '2026-08-09T00:56:21.195Z'),
  ],

  'uf-urx-tls-expired-gateways.log': [
    flow('published without its [time]: read, no timestamp; gateway 503 UF,URX (expired upstream certificate); the client is downstream_remote_address unless its listener is the gateway itself', {
      reporter: 'client',
      source: {},
      proxied: viaDownstream('10.1.0.7', 8080, '192.168.65.3'),
      destination: { ip: '10.1.0.38', port: 9080, service: 'productpage.default.svc.cluster.local', servicePort: 9080 },
      protocol: 'http',
      l7: get('/productpage', 'localhost'),
      mtls: 'unknown',
      responseCode: 503,
      upstreamFailure: 'UF,URX',
      timestamp: null,
    }),
    flow("stern's 'POD CONTAINER ' prefix: the pod named there wrote it; gateway 503 UF,URX", {
      reporter: 'client',
      source: { pod: STERN_GW },
      proxied: viaDownstream('172.16.0.12', 8080, '192.168.64.90'),
      destination: { ip: '172.16.0.20', port: 8080, service: 'customer.default.svc.cluster.local', servicePort: 8080 },
      protocol: 'http',
      l7: get('/customer', '192.168.64.90'),
      mtls: 'unknown',
      responseCode: 503,
      upstreamFailure: 'UF,URX',
      timestamp: '2022-01-11T06:44:07.918Z',
    }),
  ],

  'vm-sidecar-uf-urx-2022.log': [
    flow('VM sidecar 503 UF,URX; the client is downstream_remote_address unless its listener is the gateway itself', {
      reporter: 'client',
      source: {},
      proxied: viaDownstream('172.18.2.58', 8080, '192.168.205.6'),
      destination: { ip: '172.16.0.15', port: 8080, service: 'customer.default.svc.cluster.local', servicePort: 8080 },
      protocol: 'http',
      l7: get('/', 'customer.default.svc.cluster.local:8080'),
      mtls: 'unknown',
      responseCode: 503,
      upstreamFailure: 'UF,URX',
      timestamp: '2022-02-09T13:34:21.473Z',
    }),
  ],

  'waypoint-text-lines.log': [
    flow('waypoint 403 rbac_access_denied_matched_policy[none]: no pod picked, so the destination is the Service', {
      reporter: 'server',
      source: { ip: '10.244.0.42' },
      destination: { service: 'details.backend.svc.cluster.local', servicePort: 9080, pod: null },
      protocol: 'http',
      l7: get('/details/1', 'bookinfo.example.com'),
      mtls: 'mutual',
      responseCode: 403,
      denial: { kind: 'rbac' },
      timestamp: '2024-10-14T20:15:48.344Z',
    }),
    flow('waypoint: connect_originate names the details pod, the client is downstream_remote_address', {
      reporter: 'server',
      source: { ip: '10.244.0.37' },
      destination: { ip: '10.244.0.32', port: 9080, pod: null },
      protocol: 'http',
      l7: get('/details/0', 'details:9080'),
      mtls: 'mutual',
      responseCode: 200,
      timestamp: '2025-01-30T12:10:13.279Z',
    }),
    flow('2022 waypoint: upstream envoy://inbound-pod|9080||POD_IP/, the client behind internal_client_address (none)', {
      reporter: 'server',
      source: { pod: null },
      destination: { ip: '10.244.2.9', port: 9080, pod: null },
      protocol: 'http',
      l7: get('/', 'productpage:9080'),
      mtls: 'mutual',
      responseCode: 200,
      timestamp: '2022-09-10T10:51:36.374Z',
    }),
  ],

  'ztunnel-rust-accesslogs.log': [
    reject('ztunnel-access-log', 'Rust ztunnel L4 access log (tab-separated): an access log ztmap does not read yet'),
    reject('ztunnel-access-log', 'Rust ztunnel L4 access log, published with spaces for tabs and no time: a denial (policy rejection)'),
    PROXY_LOG("2023 ztunnel's own tracing output (no access log then)"),
    PROXY_LOG("2023 ztunnel's own tracing output (no access log then)"),
    PROXY_LOG("2023 ztunnel's own tracing output (no access log then)"),
  ],
};

function productpageOut(ip: string, svc: string, path: string, t: string): LineExpectation {
  return flow(`Istio 1.7 JSON (string values) outbound to ${svc}`, {
    reporter: 'client',
    source: { ip: '10.244.2.77', pod: PRODUCTPAGE },
    destination: { ip, port: 9080, service: `${svc}.default.svc.cluster.local`, servicePort: 9080 },
    protocol: 'http',
    l7: get(path, `${svc}:9080`),
    mtls: 'unknown',
    responseCode: 200,
    timestamp: t,
  });
}

function productpageIn(t: string): LineExpectation {
  return flow('Istio 1.7 JSON inbound from the ingress: X-Forwarded-For client as remote (port 0), over mTLS', {
    reporter: 'server',
    source: { behindProxy: { forwardedFor: '10.244.0.0' } },
    destination: { ip: '10.244.2.77', port: 9080, pod: PRODUCTPAGE },
    protocol: 'http',
    l7: get('/productpage', '192.168.56.100:30175'),
    mtls: 'mutual',
    responseCode: 200,
    timestamp: t,
  });
}

function uaexInbound(path: string, code: number, t: string): LineExpectation {
  const denied = code === 403;
  return flow(denied ? 'inbound 403 UAEX ext_authz_denied: ext_authz refused the caller' : 'inbound over mTLS, allowed', {
    reporter: 'server',
    source: { ip: '10.244.0.30' },
    destination: { ip: '10.244.0.28', port: 8080, pod: FILE },
    protocol: 'http',
    l7: get(path, 'dummy-svc-app:8080'),
    mtls: 'mutual',
    responseCode: code,
    ...(denied ? { denial: { kind: 'ext-authz' as const } } : {}),
    timestamp: t,
  });
}

function withPod(e: LineExpectation, side: 'source' | 'destination', pod: PodRef): LineExpectation {
  if (!('flow' in e)) return e;
  return { ...e, flow: { ...e.flow, [side]: { ...e.flow[side], pod } } };
}
