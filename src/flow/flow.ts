// The Flow model: one observation of traffic, shared by every source and by the graph.
// No I/O and no dependencies here (docs/architecture.md, "Import direction").

import type { Location } from '../errors.js';

export type { Location };

/** Which proxy wrote the observation: the client's sidecar (outbound) or the server's (inbound). */
export type Reporter = 'client' | 'server';

/** Whether the connection was Istio mutual TLS, as far as the evidence shows. */
export type Mtls = 'mutual' | 'plaintext' | 'unknown';

export type L4Protocol = 'http' | 'grpc' | 'tcp';

export interface PodRef {
  namespace: string;
  name: string;
}

/**
 * What a source knows about one side of a flow. Identity (workload, service account)
 * is not decided here: inventory/ resolves it, so every source resolves the same way.
 */
export interface EndpointRef {
  ip?: string;
  port?: number;
  /** The pod that is known to be this endpoint (the reporter of the log line). */
  pod?: PodRef;
  /** A Kubernetes Service FQDN the client addressed (`reviews.default.svc.cluster.local`). */
  service?: string;
  /** Service port the client addressed, when the target port is not known. */
  servicePort?: number;
  /** An external host name (ServiceEntry host, SNI) when the endpoint is outside the cluster. */
  host?: string;
  /**
   * The peer is a proxy (an ingress gateway, any hop that sets X-Forwarded-For) whose own
   * address the line does not show: Envoy put the X-Forwarded-For client, with port 0, in
   * downstream_remote_address. `ip` is then absent; `forwardedFor` is that original client,
   * kept as evidence only: it is never a principal and never an edge of its own.
   */
  behindProxy?: { forwardedFor?: string };
  /**
   * The workload as the telemetry itself names it (Istio metrics' `source_workload` +
   * `source_workload_namespace`, Hubble's `workloads`, a span's `k8s.deployment.name`): a
   * claim, which inventory/ checks against the cluster's pods and reports when they disagree.
   * `kind` when the telemetry says it (Hubble, k8sattributes), else any controller of that name.
   */
  workload?: { namespace: string; name: string; kind?: string };
  /** The SPIFFE principal the telemetry names (`spiffe://TD/ns/NS/sa/SA`), a claim like `workload`. */
  principal?: string;
  /** The endpoint's labels as the telemetry carries them (Hubble), for evidence. */
  labels?: Readonly<Record<string, string>>;
}

interface L7Detail {
  method: string;
  /** Raw path as logged; graph/ templates it before keeping it. */
  path: string;
  host?: string;
}

/**
 * Why the mesh refused a request (docs/observe.md, "Traffic the mesh denies today"). A refused request is not
 * legitimate traffic: it never becomes an allow, and the review shows it as denied today.
 *   rbac             403 (or gRPC 200 + grpc-status 7) `rbac_access_denied_matched_policy[...]`
 *   ext-authz        403 `UAEX ext_authz_denied` (a 302 UAEX is a login redirect, not a refusal)
 *   no-filter-chain  `NR filter_chain_not_found` on a sidecar's inbound port: a plaintext
 *                    client refused by STRICT mTLS (at a gateway: an SNI that matches nothing)
 *   no-route         `NR route_not_found`: no route for the host/path
 *   blocked          `direct_response` answering `block_all` (REGISTRY_ONLY outbound HTTP)
 *   registry-only    BlackHoleCluster (REGISTRY_ONLY outbound TCP)
 *   policy-drop      Hubble `DROPPED` with a policy reason (Cilium's NetworkPolicy enforcement)
 *   refused          Istio metrics' `response_code="403"` or `grpc_response_status="7"`: the mesh
 *                    or the application refused it, metrics cannot tell which; never an allow
 */
export type DenialKind = 'rbac' | 'ext-authz' | 'no-filter-chain' | 'no-route' | 'blocked' | 'registry-only' | 'policy-drop' | 'refused';

export const DENIAL_KINDS: readonly DenialKind[] = ['rbac', 'ext-authz', 'no-filter-chain', 'no-route', 'blocked', 'registry-only', 'policy-drop', 'refused'];

export interface Denial {
  kind: DenialKind;
  /** The policy named in the response details (`ns[NS]-policy[NAME]-rule[N]`), when any. */
  policy?: string;
}

/**
 * Requests the mesh refused, per operation, as the graph keeps them on an edge and the rules
 * report them: evidence of denial, never counted as allowed requests.
 */
export interface RefusedOperation {
  /** The proxy that refused it and wrote the line. */
  reporter: Reporter;
  kind: DenialKind;
  /** The policy the response details named (`ns[NS]-policy[NAME]-rule[N]`), or '' when none. */
  policy: string;
  /** '' on TCP. */
  method: string;
  /** The path template; '' on TCP. */
  path: string;
  requests: number;
  firstSeen: number | null;
  lastSeen: number | null;
}

/**
 * Why a request that reached the proxy did not complete upstream (response flags UH, UF, URX,
 * UO, UT, UC, UPE, DC…): it shows an intent to call, which is usually legitimate.
 */
type UpstreamFailure = string;

interface Evidence {
  /** Decoder name, e.g. `envoy-text`, `istio-metrics`, `hubble-json`. */
  decoder: string;
  location: Location;
}

export interface Flow {
  source: EndpointRef;
  destination: EndpointRef;
  protocol: L4Protocol;
  l7?: L7Detail;
  mtls: Mtls;
  /** HTTP status, or 0 for TCP / no response. */
  responseCode: number;
  /** Set when the mesh refused the request: then it is evidence of denial, not of allowed traffic. */
  denial?: Denial;
  /** Envoy's response flags when the request failed upstream (not a denial), e.g. `UH`, `UF,URX`. */
  upstreamFailure?: UpstreamFailure;
  /** Epoch milliseconds of the request start, when known; for a count over an interval, the interval's start. */
  timestamp?: number;
  /**
   * For a count over an interval (metrics: requests from `timestamp` to `until`), its end in
   * epoch milliseconds; absent for one observed request or connection.
   */
  until?: number;
  /** Requests (or connections) this observation stands for: 1 for a log line or a flow record, a counter's increase for metrics. */
  count: number;
  reporter: Reporter;
  /**
   * A proxy that was itself the target (an ingress gateway) also received this request:
   * its listener address and the client that connected to it.
   */
  proxied?: { listener: { ip: string; port: number }; client: { ip: string; port?: number } };
  /**
   * Equal for flows whose endpoints resolve the same way at the same time: every field
   * resolution reads, and none it does not (no ephemeral ports). Lets inventory/ memoize.
   */
  endpointKey?: string;
  evidence: Evidence;
}

/**
 * One more request on a route whose first flow was seen already, as read from the bytes of
 * its line (sources/access-log-decoder.ts): only what differs between the lines of a route.
 * One object is reused for every line: copy what you keep.
 */
export interface RepeatedRequest {
  /** Epoch milliseconds. */
  timestamp: number;
  responseCode: number;
  /** Undefined on TCP, where the flow has no L7 detail. */
  method: string | undefined;
  /** The read buffer: the raw path is `raw[pathStart, pathEnd)`, or `/` when pathStart is -1. */
  raw: Buffer;
  pathStart: number;
  pathEnd: number;
  file: string;
  line: number;
}
