// Generates fixtures/bookinfo/: a Kubernetes inventory dump, the Istio sidecar access logs
// that a simulated hour of Bookinfo traffic would produce (in every collection layout ztmap
// reads), the dependency graph that traffic must yield, and the same hour as two other sources:
//   inventory.json, inventory.yaml   the cluster at 11:00
//   logs/                            the proxies' access logs (kubectl, /var/log/pods, Fluent Bit, Vector)
//   expected-graph.json              the edges the simulation made, with their counts
//   metrics/federate.prom            Istio standard metrics as Prometheus' /federate returns them
//   hubble/flows.jsonl               `hubble observe -o jsonpb` for the hour
//
// This is an independent oracle: it imports nothing from src/ but flow/compare. The expected
// graph, the metrics and the Hubble flows are computed from the simulated requests, never by
// parsing the logs it writes.
// Deterministic: seeded PRNGs, fixed clock; running it twice gives byte-identical files.
//
// Usage: node dist/scripts/make-fixtures.js [--out DIR] [--verbose]   (default: <repo>/fixtures/bookinfo)
//
// What the fixture exercises (window 2026-11-24T10:00:00Z .. 11:00:00Z):
// - Pairing: a mesh request is logged twice (client outbound + server inbound, same
//   x-request-id, client upstream_local_address == server downstream_remote_address). Bookinfo
//   propagates x-request-id downstream, so one id also appears on productpage's inbound entry
//   and on its outbound calls to details/reviews and on reviews' call to ratings: pair on the
//   id AND the connection, never on the id alone.
// - Identity of the writer comes from the location: kubectl/NS_POD.log, pods/NS_POD_UID/...,
//   Fluent Bit kubernetes.pod_name, Vector kubernetes.pod_name.
// - Time-aware IP resolution: 10.244.2.14 is ratings-report-29400000-* (Job pod, Succeeded)
//   from 10:00:00 to 10:03:53, then details-v1's pod from 10:05:41.
// - The ingress gateway writes one outbound line: world -> gateway (listener 8080, mTLS unknown)
//   and gateway -> productpage (client side only). productpage's inbound line does not name the
//   gateway: Envoy takes downstream_remote_address from X-Forwarded-For, the world client with
//   port 0, as real Istio does; that line is an mTLS peer behind a proxy (unknown:behind-proxy).
// - Plaintext: legacy-client (no sidecar) -> productpage; 10.244.9.99 (no object) -> details.
// - ratings -> 203.0.113.10:443 (SNI api.example.com) over PassthroughCluster (TCP, outbound line only).
// - Non-access lines: istio-agent/Envoy lines in every sidecar log, an app container's log under
//   pods/ (reviews/0.log) and two Vector records of the ratings-report container.
// - CRI framing: rotated gzip file for reviews-v1, 3 lines split into P/P/.../F in reviews-v3.
// - productpage calls details only while a details pod is running (from 10:05:46); no failed
//   calls are simulated for the gap.
// - Noise a policy stage must recognise, not allow blindly:
//   - the kubelet's readiness probe of ratings (rewriteAppHTTPProbers "false"): GET /health
//     every 10 s from worker-2's address 10.0.0.12 (node:10.0.0.12), plaintext, inbound line only.
//   - Prometheus (monitoring/prometheus-server, no sidecar) scraping productpage's GET /metrics
//     every 15 s over one kept-alive connection, plaintext, productpage's inbound line only.
//   - one debugging request details -> ratings GET /ratings/0 at 10:41:17 (kubectl exec), mTLS,
//     both sidecars: an edge seen once.
// - Workloads without traffic in the window: StatefulSet default/mongodb-v1 (pod mongodb-v1-0,
//   sidecar injected; its log under pods/ holds istio-agent lines only), and CronJob
//   default/reviews-cleanup (daily at 03:15, Jobs deleted an hour after they finish: only
//   the CronJob object is in the dump).
//
// metrics/federate.prom: `curl 'prometheus:9090/federate?match[]={__name__=~"istio_requests_total|
// istio_tcp_connections_opened_total"}'` at 11:00:00Z (Prometheus text 0.0.4: one `# TYPE NAME
// untyped` per family, each value followed by its timestamp in ms). Simplifications, so that the
// counts are exactly the hour's: every proxy's counters started at 0 at 10:00 (as if each had
// restarted then) and every proxy was last scraped at 11:00:00.000. What Istio's stats filter and
// Prometheus do, and the fixture follows:
// - A meshed request is counted twice: `reporter="source"` by the client's proxy
//   (connection_security_policy="unknown": the client cannot tell) and `reporter="destination"` by
//   the server's sidecar ("mutual_tls"). One series per label set and reporting pod, valued with
//   that pod's count of the hour.
// - A client without a sidecar (legacy-client, 10.244.9.99, the kubelet's probe, Prometheus'
//   scrape) exchanges no peer metadata: only the destination report, with every source_* label
//   "unknown" (source_canonical_revision "latest"), connection_security_policy "none".
// - The ingress gateway reports only as a source (istio.io: "source if report is from a client
//   Istio proxy or a gateway"): its calls to productpage are `reporter="source"` with
//   source_workload="istio-ingressgateway", and productpage's sidecar reports them as
//   destination with the gateway's principal and "mutual_tls". The world -> gateway hop has no
//   series at all: the gateway runs no inbound sidecar listener that would report it.
// - ratings' passthrough connections to 203.0.113.10:443 are `istio_tcp_connections_opened_total`
//   with reporter="source" only, destination_service_name="PassthroughCluster" and every other
//   destination_* label "unknown" (destination_canonical_revision "latest"): a TCP passthrough has
//   no Host to fall back on, so neither the address nor the SNI api.example.com appears (Istio's
//   issues #17271/#23901 and the Prometheus answer in ../shared/reference/telemetry show the same).
//   TCP series carry no response_code nor grpc_response_status; request_protocol="tcp". HTTP
//   traffic has no TCP series (the TCP stats are recorded by TCP proxies only).
// - Workload names are Istio's (pkg/kube GetDeployMetaFromPod): a ReplicaSet's pod is its
//   Deployment's, and a Job named NAME-<8 to 10 digits> is CronJob NAME's, so the report Jobs'
//   pods are source_workload="ratings-report". (The inventory's ISTIO_META_WORKLOAD_NAME env of
//   those pods says the Job's name, which the injector would not write; left as it is, since the
//   inventory must keep its bytes.) Principals are spiffe://cluster.local/ns/NS/sa/SA from the
//   pods' service accounts; canonical service and revision from the pods' labels; clusters
//   "Kubernetes".
// - /federate returns a series' labels sorted by name (Prometheus keeps label sets sorted and the
//   handler writes them in that order; it does not keep the sidecar's order), with the target
//   labels the scrape added: instance (POD_IP:15020, the merged-metrics port of the pods'
//   prometheus.io annotations), job="kubernetes-pods", namespace, pod. Series are sorted by name,
//   then label set.
// - Staleness: a target gone for more than the 5-minute lookback returns nothing, so the two
//   report Jobs' pods (ended 10:03 and 10:33) have no series: their requests to ratings are seen
//   only in ratings' destination series.
//
// hubble/flows.jsonl: `hubble observe -o jsonpb` lines (`{"flow":{…},"node_name":…,"time":…}`,
// fields in flow.proto's order, times in ns), sorted by time. Connections: a proxy's pooled
// upstream source port is one connection, opened at its first request and kept for the hour;
// Prometheus keeps one connection; the kubelet (Connection: close), legacy-client, 10.244.9.99
// and each world client of the gateway open one per request; each passthrough line is one. Per
// connection: the SYN, the SYN+ACK (is_reply true), the first request data packet (ACK, PSH) and
// the first response data packet (is_reply true), traced where Cilium traces them:
// - between nodes, at the client's node entering the tunnel (EGRESS, TO_OVERLAY) and at the
//   server's node on delivery (INGRESS, TO_ENDPOINT);
// - on one node, once (EGRESS, TO_ENDPOINT): Cilium delivers from the client's program straight
//   to the server's endpoint, as the real same-node capture in the reference samples shows;
// - replies where they are delivered to the client (EGRESS, TO_ENDPOINT, is_reply), or, for a
//   client that is no endpoint here, leaving the server's node (INGRESS, TO_STACK; TO_HOST for
//   the kubelet);
// - the world (198.51.100.7 to the gateway; 10.244.9.99, which Cilium manages no endpoint for)
//   as {identity 2, reserved:world}; the kubelet as {identity 1, reserved:host}; ratings'
//   passthrough connections with destination reserved:world and destination_names
//   ["api.example.com"] (as if Cilium's DNS proxy had seen the lookup).
// Endpoints carry namespace, pod_name, workloads [{name, kind}] (Istio's rule above, which Cilium
// shares: the report Jobs' pods are CronJob ratings-report), ID, identity (one per label set, from
// the pod's labels without pod-template-hash and the Job labels, plus
// io.cilium.k8s.namespace.labels.*, io.cilium.k8s.policy.cluster/serviceaccount and
// io.kubernetes.pod.namespace, all `k8s:`). Every verdict is FORWARDED but one.
// L7: as if a Cilium L7 rule made ratings' ingress from the reviews pods visible, each reviews ->
// ratings request is an L7 REQUEST and an L7 RESPONSE (is_reply true) with http {method, url,
// protocol} at ratings' node, and those connections' packets toward ratings are traced to the
// proxy (TO_PROXY). (A real Cilium proxy could not read HTTP inside Istio's mTLS: the fixture only
// needs the records' shape.)
// The one DROPPED flow (drop_reason 133, drop_reason_desc POLICY_DENIED, at details' node) is one
// more SYN from 10.244.9.99 to details at 10:47:12 that never reached details: it is in no access
// log. (A policy that drops one connection of a pair whose others pass would have changed in
// between; the fixture does not model that, it only needs one refusal.)

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify as yamlStringify } from 'yaml';
import { compare } from '../src/flow/compare.js';

// ---------------------------------------------------------------------------------------------
// Deterministic helpers

/** mulberry32: small, fast, good enough for fixtures; one stream per scenario. */
class Rng {
  private state: number;
  constructor(seed: string) {
    this.state = sha256(`rng:${seed}`).readUInt32BE(0);
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick: empty list');
    return item;
  }
  /** Exponential inter-arrival gap in ms for a Poisson process with the given mean. */
  gap(meanMs: number): number {
    return Math.max(1, Math.round(-Math.log(1 - this.next()) * meanMs));
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.next() * 16).toString(16);
    return s;
  }
  /** Envoy-style x-request-id (random UUID v4). */
  uuid(): string {
    const h = this.hex(32);
    const variant = (8 + Math.floor(this.next() * 4)).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Kubernetes' rand.SafeEncodeString alphabet (no vowels, no 0/1/3). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function safeString(seed: string, n: number): string {
  const b = sha256(`safe:${seed}`);
  let out = '';
  for (let i = 0; i < n; i++) out += SAFE_ALPHABET[(b[i] ?? 0) % SAFE_ALPHABET.length];
  return out;
}

function uidFor(seed: string): string {
  const x = sha256(`uid:${seed}`).toString('hex');
  const variant = (8 + (parseInt(x[16] ?? '0', 16) & 3)).toString(16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-${variant}${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

function hex64(seed: string): string {
  return sha256(`hex:${seed}`).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// Time

const MS = 1;
const SEC = 1000 * MS;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0); // 2026-11-24T10:00:00Z, window start
const T_END = T0 + HOUR; // window end (exclusive)

/** ISO with milliseconds, as Envoy prints %START_TIME%. */
function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** Kubernetes metav1.Time: seconds precision. */
function k8sTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** CRI / collector timestamp with nanoseconds: ms since epoch plus 0..999999 ns. */
function nanoTime(ms: number, extraNs: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}${String(extraNs).padStart(6, '0')}Z`;
}

/** istio-agent log timestamp: microseconds. */
function microTime(ms: number, extraUs: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}${String(extraUs).padStart(3, '0')}Z`;
}

const at = (h: number, m: number, s: number, ms = 0): number => Date.UTC(2026, 10, 24, h, m, s, ms);

// ---------------------------------------------------------------------------------------------
// JSON helpers

type Obj = Record<string, unknown>;

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v !== null && typeof v === 'object') {
    const out: Obj = {};
    for (const k of Object.keys(v).sort(compare)) out[k] = sortKeysDeep((v as Obj)[k]);
    return out;
  }
  return v;
}


// ---------------------------------------------------------------------------------------------
// The cluster

interface NodeInfo {
  name: string;
  ip: string;
}
const W1: NodeInfo = { name: 'worker-1', ip: '10.0.0.11' };
const W2: NodeInfo = { name: 'worker-2', ip: '10.0.0.12' };

const ISTIO_VERSION = '1.24.2';
const PROXY_IMAGE = `docker.io/istio/proxyv2:${ISTIO_VERSION}`;

interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol: 'TCP' | 'UDP';
}

interface HttpProbe {
  path: string;
  port: number;
  periodSeconds: number;
}

interface AppContainer {
  name: string;
  image: string;
  ports: ContainerPort[];
  args?: string[];
  env?: { name: string; value: string }[];
  readinessProbe?: HttpProbe;
  volumeMounts?: { mountPath: string; name: string }[];
}

type WorkloadKind = 'Deployment' | 'CronJob' | 'StatefulSet';

interface Workload {
  ns: string;
  kind: WorkloadKind;
  name: string;
  /** Labels on the workload object itself. */
  labels: Record<string, string>;
  /** Pod template labels (no pod-template-hash / job labels). */
  podLabels: Record<string, string>;
  /** Deployment spec.selector.matchLabels. */
  selector: Record<string, string>;
  sa: string;
  app: AppContainer;
  /** The pod gets an injected istio-proxy sidecar (and istio-init). */
  sidecar: boolean;
  /** The app container itself is istio-proxy (a gateway). */
  gateway?: boolean;
  created: number;
  /** Annotations for the pod template. */
  podAnnotations?: Record<string, string>;
  /** StatefulSet volumeClaimTemplates: one PVC per pod, `NAME-POD`. */
  claims?: { name: string; storage: string }[];
  /** StatefulSet spec.serviceName: the Service that names its pods. */
  serviceName?: string;
}

interface PodInfo {
  w: Workload;
  ns: string;
  name: string;
  uid: string;
  ip: string;
  node: NodeInfo;
  ownerKind: 'ReplicaSet' | 'Job' | 'StatefulSet';
  ownerName: string;
  ownerUid: string;
  /** pod-template-hash (ReplicaSet pods only). */
  templateHash?: string;
  /** StatefulSet pods only. */
  ordinal?: number;
  revision?: string;
  jobName?: string;
  jobUid?: string;
  created: number;
  /** istio-proxy running (or app, for pods without sidecar). */
  proxyStarted: number;
  appStarted: number;
  /** For completed pods: app and sidecar exit times. */
  finished?: { app: number; proxy: number };
  /** node key in the expected graph */
  key: string;
}

const workloads: Workload[] = [];
const pods: PodInfo[] = [];

function addDeployment(w: Omit<Workload, 'kind'>, replicas: { ip: string; node: NodeInfo; created: number }[]): PodInfo[] {
  const wl: Workload = { ...w, kind: 'Deployment' };
  workloads.push(wl);
  const rsHash = safeString(`pod-template-hash:${w.ns}/${w.name}`, 10);
  const rsName = `${w.name}-${rsHash}`;
  const rsUid = uidFor(`ReplicaSet/${w.ns}/${rsName}`);
  const out: PodInfo[] = [];
  for (const r of replicas) {
    const name = `${rsName}-${safeString(`pod:${w.ns}/${rsName}/${r.ip}`, 5)}`;
    const p: PodInfo = {
      w: wl,
      ns: w.ns,
      name,
      uid: uidFor(`Pod/${w.ns}/${name}`),
      ip: r.ip,
      node: r.node,
      ownerKind: 'ReplicaSet',
      ownerName: rsName,
      ownerUid: rsUid,
      templateHash: rsHash,
      created: r.created,
      proxyStarted: r.created + 2 * SEC,
      appStarted: r.created + 3 * SEC,
      key: `${w.ns}/Deployment/${w.name}`,
    };
    pods.push(p);
    out.push(p);
  }
  return out;
}

/** What the injector adds to a pod's annotations (kept alphabetical, as the API server returns them). */
/** A StatefulSet's pods `NAME-0`, `NAME-1`, … in the given order. */
function addStatefulSet(w: Omit<Workload, 'kind'>, replicas: { ip: string; node: NodeInfo; created: number }[]): PodInfo[] {
  const wl: Workload = { ...w, kind: 'StatefulSet' };
  workloads.push(wl);
  const revision = `${w.name}-${safeString(`controller-revision-hash:${w.ns}/${w.name}`, 10)}`;
  const uid = uidFor(`StatefulSet/${w.ns}/${w.name}`);
  return replicas.map((r, ordinal) => {
    const name = `${w.name}-${ordinal}`;
    const p: PodInfo = {
      w: wl,
      ns: w.ns,
      name,
      uid: uidFor(`Pod/${w.ns}/${name}`),
      ip: r.ip,
      node: r.node,
      ownerKind: 'StatefulSet',
      ownerName: w.name,
      ownerUid: uid,
      ordinal,
      revision,
      created: r.created,
      proxyStarted: r.created + 2 * SEC,
      appStarted: r.created + 3 * SEC,
      key: `${w.ns}/StatefulSet/${w.name}`,
    };
    pods.push(p);
    return p;
  });
}

const INJECTED_POD_ANNOTATIONS = (app: string): Record<string, string> => ({
  'istio.io/rev': 'default',
  'kubectl.kubernetes.io/default-container': app,
  'kubectl.kubernetes.io/default-logs-container': app,
  'prometheus.io/path': '/stats/prometheus',
  'prometheus.io/port': '15020',
  'prometheus.io/scrape': 'true',
  'sidecar.istio.io/status':
    '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}',
});

const INSTALL_ISTIO = Date.UTC(2026, 10, 17, 8, 21, 4);
const CLUSTER_CREATED = Date.UTC(2026, 10, 17, 8, 12, 40);
const BOOKINFO_CREATED = Date.UTC(2026, 10, 20, 14, 3, 12);
const LEGACY_CREATED = Date.UTC(2026, 10, 21, 9, 47, 31);
const CRONJOB_CREATED = Date.UTC(2026, 10, 22, 16, 5, 9);
const MONITORING_CREATED = Date.UTC(2026, 10, 18, 9, 30, 12);

// istio-system
const istioLabels = {
  'app.kubernetes.io/instance': 'istio',
  'app.kubernetes.io/managed-by': 'Helm',
  'app.kubernetes.io/part-of': 'istio',
  'app.kubernetes.io/version': ISTIO_VERSION,
};
const [istiodPod] = addDeployment(
  {
    ns: 'istio-system',
    name: 'istiod',
    labels: { ...istioLabels, app: 'istiod', istio: 'pilot', 'istio.io/rev': 'default' },
    podLabels: { app: 'istiod', istio: 'pilot', 'istio.io/rev': 'default', 'sidecar.istio.io/inject': 'false' },
    selector: { istio: 'pilot' },
    sa: 'istiod',
    app: {
      name: 'discovery',
      image: `docker.io/istio/pilot:${ISTIO_VERSION}`,
      args: ['discovery', '--monitoringAddr=:15014', '--log_output_level=default:info', '--domain', 'cluster.local', '--keepaliveMaxServerConnectionAge', '30m'],
      ports: [
        { containerPort: 8080, name: 'http-debug', protocol: 'TCP' },
        { containerPort: 15010, name: 'grpc-xds', protocol: 'TCP' },
        { containerPort: 15012, name: 'tls-xds', protocol: 'TCP' },
        { containerPort: 15017, name: 'https-webhooks', protocol: 'TCP' },
      ],
    },
    sidecar: false,
    created: INSTALL_ISTIO,
  },
  [{ ip: '10.244.1.3', node: W1, created: INSTALL_ISTIO + 1 * SEC }],
);
const [gatewayPod] = addDeployment(
  {
    ns: 'istio-system',
    name: 'istio-ingressgateway',
    labels: { ...istioLabels, app: 'istio-ingressgateway', istio: 'ingressgateway' },
    podLabels: {
      app: 'istio-ingressgateway',
      istio: 'ingressgateway',
      'istio.io/rev': 'default',
      'service.istio.io/canonical-name': 'istio-ingressgateway',
      'service.istio.io/canonical-revision': 'latest',
      'sidecar.istio.io/inject': 'false',
    },
    selector: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
    sa: 'istio-ingressgateway-service-account',
    app: {
      name: 'istio-proxy',
      image: PROXY_IMAGE,
      args: ['proxy', 'router', '--domain', '$(POD_NAMESPACE).svc.cluster.local', '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info'],
      ports: [
        { containerPort: 15021, name: 'status-port', protocol: 'TCP' },
        { containerPort: 8080, name: 'http2', protocol: 'TCP' },
        { containerPort: 8443, name: 'https', protocol: 'TCP' },
        { containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' },
      ],
    },
    sidecar: false,
    gateway: true,
    created: INSTALL_ISTIO + 40 * SEC,
    podAnnotations: {
      'istio.io/rev': 'default',
      'prometheus.io/path': '/stats/prometheus',
      'prometheus.io/port': '15020',
      'prometheus.io/scrape': 'true',
      'sidecar.istio.io/inject': 'false',
    },
  },
  [{ ip: '10.244.1.4', node: W1, created: INSTALL_ISTIO + 41 * SEC }],
);

// kube-system
addDeployment(
  {
    ns: 'kube-system',
    name: 'coredns',
    labels: { 'k8s-app': 'kube-dns' },
    podLabels: { 'k8s-app': 'kube-dns' },
    selector: { 'k8s-app': 'kube-dns' },
    sa: 'coredns',
    app: {
      name: 'coredns',
      image: 'registry.k8s.io/coredns/coredns:v1.11.3',
      args: ['-conf', '/etc/coredns/Corefile'],
      ports: [
        { containerPort: 53, name: 'dns', protocol: 'UDP' },
        { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
        { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
      ],
    },
    sidecar: false,
    created: CLUSTER_CREATED + 15 * SEC,
  },
  [
    { ip: '10.244.1.2', node: W1, created: CLUSTER_CREATED + 16 * SEC },
    { ip: '10.244.2.2', node: W2, created: CLUSTER_CREATED + 16 * SEC },
  ],
);

// monitoring: Prometheus (Helm chart prometheus-community/prometheus), outside the mesh
const PROMETHEUS_VERSION = 'v3.0.1';
const prometheusSelector = { 'app.kubernetes.io/component': 'server', 'app.kubernetes.io/instance': 'prometheus', 'app.kubernetes.io/name': 'prometheus' };
const prometheusLabels = { ...prometheusSelector, 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/part-of': 'prometheus', 'app.kubernetes.io/version': PROMETHEUS_VERSION };
const [prometheusPod] = addDeployment(
  {
    ns: 'monitoring',
    name: 'prometheus-server',
    labels: prometheusLabels,
    podLabels: prometheusLabels,
    selector: prometheusSelector,
    sa: 'prometheus-server',
    app: {
      name: 'prometheus-server',
      image: `quay.io/prometheus/prometheus:${PROMETHEUS_VERSION}`,
      args: [
        '--storage.tsdb.retention.time=15d',
        '--config.file=/etc/config/prometheus.yml',
        '--storage.tsdb.path=/data',
        '--web.console.libraries=/etc/prometheus/console_libraries',
        '--web.console.templates=/etc/prometheus/consoles',
        '--web.enable-lifecycle',
      ],
      ports: [{ containerPort: 9090, protocol: 'TCP' }],
    },
    sidecar: false,
    created: MONITORING_CREATED,
    podAnnotations: { 'sidecar.istio.io/inject': 'false' },
  },
  [{ ip: '10.244.2.6', node: W2, created: MONITORING_CREATED + 1 * SEC }],
);

// default: Bookinfo
const BOOKINFO_VERSION = '1.20.2';
interface BookinfoOptions {
  env?: { name: string; value: string }[];
  readinessProbe?: HttpProbe;
  podAnnotations?: Record<string, string>;
}
function bookinfo(app: string, version: string, sa: string, ip: string, node: NodeInfo, created: number, opts: BookinfoOptions = {}): PodInfo {
  const name = `${app}-${version}`;
  const [p] = addDeployment(
    {
      ns: 'default',
      name,
      labels: { app, version },
      podLabels: { app, version },
      selector: { app, version },
      sa,
      app: {
        name: app,
        image: `docker.io/istio/examples-bookinfo-${name}:${BOOKINFO_VERSION}`,
        ports: [{ containerPort: 9080, name: 'http', protocol: 'TCP' }],
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.readinessProbe ? { readinessProbe: opts.readinessProbe } : {}),
      },
      sidecar: true,
      created: BOOKINFO_CREATED,
      ...(opts.podAnnotations ? { podAnnotations: opts.podAnnotations } : {}),
    },
    [{ ip, node, created }],
  );
  if (!p) throw new Error('bookinfo: no pod');
  return p;
}

// The IP reused over time: ratings-report's first Job pod holds it until ~10:03:53, then
// details-v1's (only) pod gets it at 10:05:41.
const REUSED_IP = '10.244.2.14';

const productpage = bookinfo('productpage', 'v1', 'bookinfo-productpage', '10.244.1.10', W1, BOOKINFO_CREATED + 5 * SEC);
const details = bookinfo('details', 'v1', 'bookinfo-details', REUSED_IP, W2, at(10, 5, 41));
const reviewsV1 = bookinfo('reviews', 'v1', 'bookinfo-reviews', '10.244.1.11', W1, BOOKINFO_CREATED + 5 * SEC, { env: [{ name: 'LOG_DIR', value: '/tmp/logs' }] });
const reviewsV2 = bookinfo('reviews', 'v2', 'bookinfo-reviews', '10.244.2.11', W2, BOOKINFO_CREATED + 6 * SEC, { env: [{ name: 'LOG_DIR', value: '/tmp/logs' }] });
const reviewsV3 = bookinfo('reviews', 'v3', 'bookinfo-reviews', '10.244.1.12', W1, BOOKINFO_CREATED + 6 * SEC, { env: [{ name: 'LOG_DIR', value: '/tmp/logs' }] });
// ratings' readiness probe is not rewritten to the agent's port 15020: the kubelet calls
// /health on the pod IP in plaintext and the inbound sidecar logs every probe.
const ratings = bookinfo('ratings', 'v1', 'bookinfo-ratings', '10.244.2.10', W2, BOOKINFO_CREATED + 4 * SEC, {
  readinessProbe: { path: '/health', port: 9080, periodSeconds: 10 },
  podAnnotations: { 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' },
});
const reviewsPods = [reviewsV1, reviewsV2, reviewsV3];

// legacy: no sidecar
const [legacyPod] = addDeployment(
  {
    ns: 'legacy',
    name: 'legacy-client',
    labels: { app: 'legacy-client' },
    podLabels: { app: 'legacy-client' },
    selector: { app: 'legacy-client' },
    sa: 'default',
    app: {
      name: 'legacy-client',
      image: 'registry.example.com/legacy/inventory-sync:2.3.1',
      args: ['--target', 'http://productpage.default.svc.cluster.local:9080', '--interval', '90s'],
      ports: [{ containerPort: 8000, name: 'metrics', protocol: 'TCP' }],
    },
    sidecar: false,
    created: LEGACY_CREATED,
  },
  [{ ip: '10.244.1.20', node: W1, created: LEGACY_CREATED + 1 * SEC }],
);

// default: CronJob ratings-report with two Jobs, one completed pod each
const cronjob: Workload = {
  ns: 'default',
  kind: 'CronJob',
  name: 'ratings-report',
  labels: { app: 'ratings-report' },
  podLabels: { app: 'ratings-report' },
  selector: {},
  sa: 'bookinfo-ratings',
  app: {
    name: 'ratings-report',
    image: 'registry.example.com/bookinfo/ratings-report:0.4.0',
    args: ['--ratings-url', 'http://ratings:9080', '--quit-sidecar'],
    ports: [{ containerPort: 8081, name: 'http-metrics', protocol: 'TCP' }],
  },
  sidecar: true,
  created: CRONJOB_CREATED,
};
workloads.push(cronjob);

interface JobInfo {
  name: string;
  uid: string;
  scheduled: number;
  pod: PodInfo;
}
function addJob(jobName: string, scheduled: number, ip: string, node: NodeInfo, appEnd: number): JobInfo {
  const uid = uidFor(`Job/default/${jobName}`);
  const name = `${jobName}-${safeString(`pod:${jobName}`, 5)}`;
  const pod: PodInfo = {
    w: cronjob,
    ns: 'default',
    name,
    uid: uidFor(`Pod/default/${name}`),
    ip,
    node,
    ownerKind: 'Job',
    ownerName: jobName,
    ownerUid: uid,
    jobName,
    jobUid: uid,
    created: scheduled,
    proxyStarted: scheduled + 2 * SEC,
    appStarted: scheduled + 3 * SEC,
    finished: { app: appEnd, proxy: appEnd + 1 * SEC },
    key: 'default/CronJob/ratings-report',
  };
  pods.push(pod);
  return { name: jobName, uid, scheduled, pod };
}
// Names as given in the brief (the numeric suffix of a real CronJob's Job is the scheduled
// time in minutes since the epoch; these two are 30 minutes apart like */30).
const job1 = addJob('ratings-report-29400000', at(10, 0, 0), REUSED_IP, W2, at(10, 3, 52));
const job2 = addJob('ratings-report-29400030', at(10, 30, 0), '10.244.1.17', W1, at(10, 33, 20));
const jobs = [job1, job2];

interface CronSchedule {
  w: Workload;
  schedule: string;
  successfulJobsHistoryLimit: number;
  failedJobsHistoryLimit: number;
  /** Finished Jobs (and their pods) are deleted this long after they finish. */
  ttlSecondsAfterFinished?: number;
  lastScheduleTime: number;
  lastSuccessfulTime: number;
}

// default: a second CronJob, daily at 03:15, whose finished Jobs are deleted after an hour:
// at dump time (11:00) nothing is left of it but the CronJob object, and it sent nothing in
// the window.
const reviewsCleanup: Workload = {
  ns: 'default',
  kind: 'CronJob',
  name: 'reviews-cleanup',
  labels: { app: 'reviews-cleanup' },
  podLabels: { app: 'reviews-cleanup' },
  selector: {},
  sa: 'bookinfo-reviews',
  app: {
    name: 'reviews-cleanup',
    image: 'registry.example.com/bookinfo/reviews-cleanup:1.2.0',
    args: ['--mongo-url', 'mongodb://mongodb:27017/test', '--older-than', '720h', '--quit-sidecar'],
    ports: [],
  },
  sidecar: true,
  created: Date.UTC(2026, 10, 23, 9, 12, 44),
};
workloads.push(reviewsCleanup);

const lastJob = jobs[jobs.length - 1]!;
const cronSchedules: CronSchedule[] = [
  {
    w: cronjob,
    schedule: '*/30 * * * *',
    successfulJobsHistoryLimit: 2,
    failedJobsHistoryLimit: 1,
    lastScheduleTime: lastJob.scheduled,
    lastSuccessfulTime: lastJob.pod.finished!.proxy + 2 * SEC,
  },
  {
    w: reviewsCleanup,
    schedule: '15 3 * * *',
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
    ttlSecondsAfterFinished: 3600,
    lastScheduleTime: at(3, 15, 0),
    lastSuccessfulTime: at(3, 16, 7),
  },
];

// default: Bookinfo's MongoDB, as a StatefulSet. Nothing uses it in the window (ratings
// runs with its built-in data), so it neither sends nor receives: a workload the proposal
// must still close with a deny-all. Its sidecar logs only istio-agent lines.
const [mongodb] = addStatefulSet(
  {
    ns: 'default',
    name: 'mongodb-v1',
    labels: { app: 'mongodb', version: 'v1' },
    podLabels: { app: 'mongodb', version: 'v1' },
    selector: { app: 'mongodb', version: 'v1' },
    sa: 'bookinfo-mongodb',
    app: {
      name: 'mongodb',
      image: `docker.io/istio/examples-bookinfo-mongodb:${BOOKINFO_VERSION}`,
      ports: [{ containerPort: 27017, protocol: 'TCP' }],
      volumeMounts: [{ mountPath: '/data/db', name: 'data' }],
    },
    sidecar: true,
    created: BOOKINFO_CREATED,
    claims: [{ name: 'data', storage: '1Gi' }],
    serviceName: 'mongodb',
  },
  [{ ip: '10.244.1.13', node: W1, created: BOOKINFO_CREATED + 7 * SEC }],
);

if (!istiodPod || !gatewayPod || !legacyPod || !prometheusPod || !mongodb) throw new Error('missing pods');
if (!(details.created > job1.pod.finished!.proxy)) throw new Error('details must start after the first job pod ended');

interface ServiceDef {
  ns: string;
  name: string;
  clusterIP: string;
  labels: Record<string, string>;
  selector?: Record<string, string>;
  type: 'ClusterIP' | 'LoadBalancer';
  ports: { name: string; port: number; targetPort: number; protocol: 'TCP' | 'UDP'; nodePort?: number; appProtocol?: string }[];
  created: number;
  lbIP?: string;
}

const services: ServiceDef[] = [
  {
    ns: 'default',
    name: 'kubernetes',
    clusterIP: '10.96.0.1',
    labels: { component: 'apiserver', provider: 'kubernetes' },
    type: 'ClusterIP',
    ports: [{ name: 'https', port: 443, targetPort: 6443, protocol: 'TCP' }],
    created: CLUSTER_CREATED,
  },
  ...(['productpage', 'details', 'reviews', 'ratings'] as const).map((app, i): ServiceDef => ({
    ns: 'default',
    name: app,
    clusterIP: ['10.101.44.12', '10.103.212.9', '10.98.77.140', '10.107.15.201'][i] ?? '',
    labels: { app, service: app },
    selector: { app },
    type: 'ClusterIP',
    ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }],
    created: BOOKINFO_CREATED,
  })),
  {
    ns: 'default',
    name: 'mongodb',
    clusterIP: '10.104.63.118',
    labels: { app: 'mongodb', service: 'mongodb' },
    selector: { app: 'mongodb' },
    type: 'ClusterIP',
    ports: [{ name: 'mongo', port: 27017, targetPort: 27017, protocol: 'TCP' }],
    created: BOOKINFO_CREATED,
  },
  {
    ns: 'istio-system',
    name: 'istiod',
    clusterIP: '10.96.124.37',
    labels: { ...istioLabels, app: 'istiod', istio: 'pilot', 'istio.io/rev': 'default' },
    selector: { app: 'istiod', istio: 'pilot' },
    type: 'ClusterIP',
    ports: [
      { name: 'grpc-xds', port: 15010, targetPort: 15010, protocol: 'TCP' },
      { name: 'https-dns', port: 15012, targetPort: 15012, protocol: 'TCP' },
      { name: 'https-webhook', port: 443, targetPort: 15017, protocol: 'TCP' },
      { name: 'http-monitoring', port: 15014, targetPort: 15014, protocol: 'TCP' },
    ],
    created: INSTALL_ISTIO,
  },
  {
    ns: 'istio-system',
    name: 'istio-ingressgateway',
    clusterIP: '10.96.201.55',
    labels: { ...istioLabels, app: 'istio-ingressgateway', istio: 'ingressgateway' },
    selector: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
    type: 'LoadBalancer',
    ports: [
      { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP', nodePort: 31942 },
      { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30817 },
      { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 32456 },
    ],
    created: INSTALL_ISTIO + 40 * SEC,
    lbIP: '192.0.2.50',
  },
  {
    ns: 'kube-system',
    name: 'kube-dns',
    clusterIP: '10.96.0.10',
    labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
    selector: { 'k8s-app': 'kube-dns' },
    type: 'ClusterIP',
    ports: [
      { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
      { name: 'metrics', port: 9153, targetPort: 9153, protocol: 'TCP' },
    ],
    created: CLUSTER_CREATED + 14 * SEC,
  },
  {
    ns: 'monitoring',
    name: 'prometheus-server',
    clusterIP: '10.96.88.164',
    labels: prometheusLabels,
    selector: prometheusSelector,
    type: 'ClusterIP',
    ports: [{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }],
    created: MONITORING_CREATED,
  },
];

function svc(name: string): ServiceDef {
  const s = services.find((x) => x.ns === 'default' && x.name === name);
  if (!s) throw new Error(`no service ${name}`);
  return s;
}

const namespaces: { name: string; labels: Record<string, string>; created: number }[] = [
  { name: 'default', labels: { 'istio-injection': 'enabled' }, created: CLUSTER_CREATED },
  { name: 'istio-system', labels: {}, created: INSTALL_ISTIO - 5 * SEC },
  { name: 'kube-system', labels: {}, created: CLUSTER_CREATED },
  { name: 'legacy', labels: {}, created: LEGACY_CREATED - 20 * SEC },
  { name: 'monitoring', labels: {}, created: MONITORING_CREATED - 10 * SEC },
];

const serviceAccounts: { ns: string; name: string; labels?: Record<string, string>; created: number }[] = [
  ...namespaces.map((n) => ({ ns: n.name, name: 'default', created: n.created + 1 * SEC })),
  ...(['productpage', 'details', 'reviews', 'ratings', 'mongodb'] as const).map((a) => ({
    ns: 'default',
    name: `bookinfo-${a}`,
    labels: { account: a },
    created: BOOKINFO_CREATED,
  })),
  { ns: 'istio-system', name: 'istiod', labels: { ...istioLabels, app: 'istiod' }, created: INSTALL_ISTIO },
  {
    ns: 'istio-system',
    name: 'istio-ingressgateway-service-account',
    labels: { ...istioLabels, app: 'istio-ingressgateway', istio: 'ingressgateway' },
    created: INSTALL_ISTIO + 40 * SEC,
  },
  { ns: 'kube-system', name: 'coredns', created: CLUSTER_CREATED + 14 * SEC },
  { ns: 'monitoring', name: 'prometheus-server', labels: prometheusLabels, created: MONITORING_CREATED },
];

// ---------------------------------------------------------------------------------------------
// Kubernetes object builders

let resourceVersion = 1000;
const rv = (): string => String((resourceVersion += 37));

function ownerRef(apiVersion: string, kind: string, name: string, uid: string): Obj {
  return { apiVersion, blockOwnerDeletion: true, controller: true, kind, name, uid };
}

function saTokenVolume(seed: string): Obj {
  return {
    name: `kube-api-access-${safeString(`kapi:${seed}`, 5)}`,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }], name: 'kube-root-ca.crt' } },
        { downwardAPI: { items: [{ fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' }, path: 'namespace' }] } },
      ],
    },
  };
}

function appContainerSpec(a: AppContainer, volumeName?: string): Obj {
  const rp = a.readinessProbe;
  const mounts: Obj[] = [...(a.volumeMounts ?? []), ...(volumeName ? [{ mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: volumeName, readOnly: true }] : [])];
  return {
    ...(a.args ? { args: a.args } : {}),
    ...(a.env ? { env: a.env } : {}),
    image: a.image,
    imagePullPolicy: 'IfNotPresent',
    name: a.name,
    ...(a.ports.length > 0 ? { ports: a.ports } : {}),
    // As the API server returns it: every defaulted field filled in.
    ...(rp
      ? { readinessProbe: { failureThreshold: 3, httpGet: { path: rp.path, port: rp.port, scheme: 'HTTP' }, periodSeconds: rp.periodSeconds, successThreshold: 1, timeoutSeconds: 1 } }
      : {}),
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
  };
}

function sidecarSpec(p: PodInfo, volumeName: string): Obj {
  return {
    args: ['proxy', 'sidecar', '--domain', '$(POD_NAMESPACE).svc.cluster.local', '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info'],
    env: [
      { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
      { name: 'CA_ADDR', value: 'istiod.istio-system.svc:15012' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'INSTANCE_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
      { name: 'SERVICE_ACCOUNT', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.serviceAccountName' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } } },
      { name: 'ISTIO_CPU_LIMIT', valueFrom: { resourceFieldRef: { divisor: '0', resource: 'limits.cpu' } } },
      { name: 'PROXY_CONFIG', value: '{}\n' },
      { name: 'ISTIO_META_POD_PORTS', value: JSON.stringify(p.w.app.ports.map((x) => ({ name: x.name, containerPort: x.containerPort, protocol: x.protocol }))) },
      { name: 'ISTIO_META_APP_CONTAINERS', value: p.w.app.name },
      { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
      { name: 'ISTIO_META_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
      { name: 'ISTIO_META_INTERCEPTION_MODE', value: 'REDIRECT' },
      { name: 'ISTIO_META_WORKLOAD_NAME', value: p.ownerKind === 'Job' ? (p.jobName ?? '') : p.w.name },
      {
        name: 'ISTIO_META_OWNER',
        value:
          p.ownerKind === 'Job'
            ? `kubernetes://apis/batch/v1/namespaces/${p.ns}/jobs/${p.jobName ?? ''}`
            : `kubernetes://apis/apps/v1/namespaces/${p.ns}/${p.ownerKind === 'StatefulSet' ? 'statefulsets' : 'deployments'}/${p.w.name}`,
      },
      { name: 'ISTIO_META_MESH_ID', value: 'cluster.local' },
      { name: 'TRUST_DOMAIN', value: 'cluster.local' },
    ],
    image: PROXY_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    name: 'istio-proxy',
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    readinessProbe: { failureThreshold: 4, httpGet: { path: '/healthz/ready', port: 15021, scheme: 'HTTP' }, periodSeconds: 15, successThreshold: 1, timeoutSeconds: 3 },
    resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: 1337,
      runAsNonRoot: true,
      runAsUser: 1337,
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [
      { mountPath: '/var/run/secrets/workload-spiffe-uds', name: 'workload-socket' },
      { mountPath: '/var/run/secrets/credential-uds', name: 'credential-socket' },
      { mountPath: '/var/run/secrets/workload-spiffe-credentials', name: 'workload-certs' },
      { mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert' },
      { mountPath: '/var/lib/istio/data', name: 'istio-data' },
      { mountPath: '/etc/istio/proxy', name: 'istio-envoy' },
      { mountPath: '/var/run/secrets/tokens', name: 'istio-token' },
      { mountPath: '/etc/istio/pod', name: 'istio-podinfo' },
      { mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: volumeName, readOnly: true },
    ],
  };
}

function istioInitSpec(volumeName: string): Obj {
  return {
    args: ['istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', '--log_output_level=default:info'],
    image: PROXY_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    name: 'istio-init',
    resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: false, runAsGroup: 0, runAsNonRoot: false, runAsUser: 0 },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [{ mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: volumeName, readOnly: true }],
  };
}

function istioVolumes(): Obj[] {
  return [
    { emptyDir: {}, name: 'workload-socket' },
    { emptyDir: {}, name: 'credential-socket' },
    { emptyDir: {}, name: 'workload-certs' },
    { emptyDir: { medium: 'Memory' }, name: 'istio-envoy' },
    { emptyDir: {}, name: 'istio-data' },
    {
      downwardAPI: {
        defaultMode: 420,
        items: [
          { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' }, path: 'labels' },
          { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.annotations' }, path: 'annotations' },
        ],
      },
      name: 'istio-podinfo',
    },
    { name: 'istio-token', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } },
    { configMap: { defaultMode: 420, name: 'istio-ca-root-cert' }, name: 'istiod-ca-cert' },
  ];
}

function imageId(image: string): string {
  const repo = image.replace(/:[^:/]+$/, '');
  return `${repo}@sha256:${hex64(`image:${image}`)}`;
}

function containerId(p: PodInfo, container: string): string {
  return `containerd://${hex64(`container:${p.uid}/${container}`)}`;
}

function podLabels(p: PodInfo): Record<string, string> {
  const l: Record<string, string> = { ...p.w.podLabels };
  if (p.templateHash) l['pod-template-hash'] = p.templateHash;
  if (p.revision !== undefined && p.ordinal !== undefined) {
    l['apps.kubernetes.io/pod-index'] = String(p.ordinal);
    l['controller-revision-hash'] = p.revision;
    l['statefulset.kubernetes.io/pod-name'] = p.name;
  }
  if (p.jobName && p.jobUid) {
    l['batch.kubernetes.io/controller-uid'] = p.jobUid;
    l['batch.kubernetes.io/job-name'] = p.jobName;
    l['controller-uid'] = p.jobUid;
    l['job-name'] = p.jobName;
  }
  if (p.w.sidecar) {
    l['security.istio.io/tlsMode'] = 'istio';
    l['service.istio.io/canonical-name'] = p.w.podLabels['app'] ?? p.w.name;
    l['service.istio.io/canonical-revision'] = p.w.podLabels['version'] ?? 'latest';
  }
  return l;
}

/** A running pod's annotations: the template's, plus the injector's when it has a sidecar. */
function podAnnotations(p: PodInfo): Record<string, string> | undefined {
  if (!p.w.sidecar) return p.w.podAnnotations;
  const all: Record<string, string> = { ...p.w.podAnnotations, ...INJECTED_POD_ANNOTATIONS(p.w.app.name) };
  return Object.fromEntries(Object.keys(all).sort(compare).map((k) => [k, all[k] ?? '']));
}

function podObject(p: PodInfo): Obj {
  const vol = saTokenVolume(p.uid);
  const volName = vol['name'] as string;
  const containers: Obj[] = [appContainerSpec(p.w.app, volName)];
  if (p.w.sidecar) containers.push(sidecarSpec(p, volName));
  const done = p.finished;
  const cStatus = (name: string, image: string, started: number, end: number | undefined): Obj => ({
    containerID: containerId(p, name),
    image,
    imageID: imageId(image),
    lastState: {},
    name,
    ready: end === undefined,
    restartCount: 0,
    started: end === undefined,
    state:
      end === undefined
        ? { running: { startedAt: k8sTime(started) } }
        : { terminated: { containerID: containerId(p, name), exitCode: 0, finishedAt: k8sTime(end), reason: 'Completed', startedAt: k8sTime(started) } },
  });
  const statuses: Obj[] = [cStatus(p.w.app.name, p.w.app.image, p.appStarted, done?.app)];
  if (p.w.sidecar) statuses.push(cStatus('istio-proxy', PROXY_IMAGE, p.proxyStarted, done?.proxy));
  statuses.sort((a, b) => compare(a['name'] as string, b['name'] as string));
  const readyTime = done ? done.proxy : p.appStarted + 3 * SEC;
  const podScheduled = p.created;
  const initialized = p.w.sidecar ? p.created + 2 * SEC : p.created;
  const conditions: Obj[] = [
    { lastProbeTime: null, lastTransitionTime: k8sTime(done ? done.proxy : p.created + 1 * SEC), status: done ? 'False' : 'True', type: 'PodReadyToStartContainers' },
    { lastProbeTime: null, lastTransitionTime: k8sTime(initialized), ...(done ? { reason: 'PodCompleted' } : {}), status: 'True', type: 'Initialized' },
    { lastProbeTime: null, lastTransitionTime: k8sTime(readyTime), ...(done ? { reason: 'PodCompleted' } : {}), status: done ? 'False' : 'True', type: 'Ready' },
    { lastProbeTime: null, lastTransitionTime: k8sTime(readyTime), ...(done ? { reason: 'PodCompleted' } : {}), status: done ? 'False' : 'True', type: 'ContainersReady' },
    { lastProbeTime: null, lastTransitionTime: k8sTime(podScheduled), status: 'True', type: 'PodScheduled' },
  ];
  const status: Obj = {
    conditions,
    containerStatuses: statuses,
    hostIP: p.node.ip,
    hostIPs: [{ ip: p.node.ip }],
    phase: done ? 'Succeeded' : 'Running',
    podIP: p.ip,
    podIPs: [{ ip: p.ip }],
    qosClass: 'Burstable',
    startTime: k8sTime(p.created),
  };
  if (p.w.sidecar) {
    status['initContainerStatuses'] = [
      {
        containerID: containerId(p, 'istio-init'),
        image: PROXY_IMAGE,
        imageID: imageId(PROXY_IMAGE),
        lastState: {},
        name: 'istio-init',
        ready: true,
        restartCount: 0,
        started: false,
        state: {
          terminated: {
            containerID: containerId(p, 'istio-init'),
            exitCode: 0,
            finishedAt: k8sTime(p.created + 1 * SEC),
            reason: 'Completed',
            startedAt: k8sTime(p.created + 1 * SEC),
          },
        },
      },
    ];
  }
  const ownerApi = p.ownerKind === 'Job' ? 'batch/v1' : 'apps/v1';
  const annotations = podAnnotations(p);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(annotations ? { annotations } : {}),
      creationTimestamp: k8sTime(p.created),
      generateName: `${p.ownerName}-`,
      labels: podLabels(p),
      name: p.name,
      namespace: p.ns,
      ownerReferences: [ownerRef(ownerApi, p.ownerKind, p.ownerName, p.ownerUid)],
      resourceVersion: rv(),
      uid: p.uid,
    },
    spec: {
      containers,
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      ...(p.w.sidecar ? { initContainers: [istioInitSpec(volName)] } : {}),
      nodeName: p.node.name,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: p.ownerKind === 'Job' ? 'Never' : 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: p.w.sa,
      serviceAccountName: p.w.sa,
      terminationGracePeriodSeconds: 30,
      tolerations: [
        { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
        { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
      ],
      ...(p.ownerKind === 'StatefulSet' ? { hostname: p.name, subdomain: p.w.serviceName ?? p.w.name } : {}),
      volumes: [...(p.w.sidecar ? istioVolumes() : []), ...(p.w.claims ?? []).map((c) => ({ name: c.name, persistentVolumeClaim: { claimName: `${c.name}-${p.name}` } })), vol],
    },
    status,
  };
}

function templateSpec(w: Workload, extraLabels: Record<string, string>): Obj {
  return {
    metadata: {
      ...(w.podAnnotations ? { annotations: w.podAnnotations } : {}),
      creationTimestamp: null,
      labels: { ...w.podLabels, ...extraLabels },
    },
    spec: {
      containers: [appContainerSpec(w.app)],
      dnsPolicy: 'ClusterFirst',
      restartPolicy: w.kind === 'CronJob' ? 'Never' : 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: w.sa,
      serviceAccountName: w.sa,
      terminationGracePeriodSeconds: 30,
    },
  };
}

function deploymentObjects(w: Workload): { deployment: Obj; replicaSet: Obj } {
  const wpods = pods.filter((p) => p.w === w);
  const first = wpods[0];
  if (!first || !first.templateHash) throw new Error(`deployment ${w.name}: no pods`);
  const n = wpods.length;
  const uid = uidFor(`Deployment/${w.ns}/${w.name}`);
  const lastPodReady = Math.max(...wpods.map((p) => p.appStarted + 3 * SEC));
  const deployment: Obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: controllerMeta(w, uid, { 'deployment.kubernetes.io/revision': '1' }),
    spec: {
      progressDeadlineSeconds: 600,
      replicas: n,
      revisionHistoryLimit: 10,
      selector: { matchLabels: w.selector },
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
      template: templateSpec(w, {}),
    },
    status: {
      availableReplicas: n,
      conditions: [
        {
          lastTransitionTime: k8sTime(w.created + 9 * SEC),
          lastUpdateTime: k8sTime(w.created + 9 * SEC),
          message: `ReplicaSet "${first.ownerName}" has successfully progressed.`,
          reason: 'NewReplicaSetAvailable',
          status: 'True',
          type: 'Progressing',
        },
        {
          lastTransitionTime: k8sTime(lastPodReady),
          lastUpdateTime: k8sTime(lastPodReady),
          message: 'Deployment has minimum availability.',
          reason: 'MinimumReplicasAvailable',
          status: 'True',
          type: 'Available',
        },
      ],
      observedGeneration: 1,
      readyReplicas: n,
      replicas: n,
      updatedReplicas: n,
    },
  };
  const replicaSet: Obj = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      annotations: {
        'deployment.kubernetes.io/desired-replicas': String(n),
        'deployment.kubernetes.io/max-replicas': String(n + Math.ceil(n / 4)),
        'deployment.kubernetes.io/revision': '1',
      },
      creationTimestamp: k8sTime(w.created),
      generation: 1,
      labels: { ...w.podLabels, 'pod-template-hash': first.templateHash },
      name: first.ownerName,
      namespace: w.ns,
      ownerReferences: [ownerRef('apps/v1', 'Deployment', w.name, uid)],
      resourceVersion: rv(),
      uid: first.ownerUid,
    },
    spec: {
      replicas: n,
      selector: { matchLabels: { ...w.selector, 'pod-template-hash': first.templateHash } },
      template: templateSpec(w, { 'pod-template-hash': first.templateHash }),
    },
    status: { availableReplicas: n, fullyLabeledReplicas: n, observedGeneration: 1, readyReplicas: n, replicas: n },
  };
  return { deployment, replicaSet };
}

/** The metadata every top-level controller object carries (Deployment, StatefulSet, CronJob). */
function controllerMeta(w: Workload, uid: string, annotations?: Record<string, string>): Obj {
  return {
    ...(annotations ? { annotations } : {}),
    creationTimestamp: k8sTime(w.created),
    generation: 1,
    labels: w.labels,
    name: w.name,
    namespace: w.ns,
    resourceVersion: rv(),
    uid,
  };
}

function statefulSetObject(w: Workload): Obj {
  const wpods = pods.filter((p) => p.w === w);
  const first = wpods[0];
  if (!first || first.revision === undefined) throw new Error(`statefulset ${w.name}: no pods`);
  const n = wpods.length;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: controllerMeta(w, first.ownerUid),
    spec: {
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      podManagementPolicy: 'OrderedReady',
      replicas: n,
      revisionHistoryLimit: 10,
      selector: { matchLabels: w.selector },
      serviceName: w.serviceName ?? w.name,
      template: templateSpec(w, {}),
      updateStrategy: { rollingUpdate: { partition: 0 }, type: 'RollingUpdate' },
      volumeClaimTemplates: (w.claims ?? []).map((c) => ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { creationTimestamp: null, name: c.name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: c.storage } }, volumeMode: 'Filesystem' },
        status: { phase: 'Pending' },
      })),
    },
    status: {
      availableReplicas: n,
      collisionCount: 0,
      currentReplicas: n,
      currentRevision: first.revision,
      observedGeneration: 1,
      readyReplicas: n,
      replicas: n,
      updateRevision: first.revision,
      updatedReplicas: n,
    },
  };
}

const cronJobUid = (w: Workload): string => uidFor(`CronJob/${w.ns}/${w.name}`);
const cronjobUid = cronJobUid(cronjob);

function cronJobObject(c: CronSchedule): Obj {
  const w = c.w;
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: controllerMeta(w, cronJobUid(w)),
    spec: {
      concurrencyPolicy: 'Forbid',
      failedJobsHistoryLimit: c.failedJobsHistoryLimit,
      jobTemplate: {
        metadata: { creationTimestamp: null },
        spec: { backoffLimit: 2, template: templateSpec(w, {}), ...(c.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: c.ttlSecondsAfterFinished } : {}) },
      },
      schedule: c.schedule,
      successfulJobsHistoryLimit: c.successfulJobsHistoryLimit,
      suspend: false,
    },
    status: {
      lastScheduleTime: k8sTime(c.lastScheduleTime),
      lastSuccessfulTime: k8sTime(c.lastSuccessfulTime),
    },
  };
}

function jobObject(j: JobInfo): Obj {
  const extra = {
    'batch.kubernetes.io/controller-uid': j.uid,
    'batch.kubernetes.io/job-name': j.name,
    'controller-uid': j.uid,
    'job-name': j.name,
  };
  const done = j.pod.finished!.proxy + 2 * SEC;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': isoMs(j.scheduled).replace('.000Z', 'Z') },
      creationTimestamp: k8sTime(j.scheduled),
      generation: 1,
      labels: { ...cronjob.podLabels, ...extra },
      name: j.name,
      namespace: 'default',
      ownerReferences: [ownerRef('batch/v1', 'CronJob', cronjob.name, cronjobUid)],
      resourceVersion: rv(),
      uid: j.uid,
    },
    spec: {
      backoffLimit: 2,
      completionMode: 'NonIndexed',
      completions: 1,
      manualSelector: false,
      parallelism: 1,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': j.uid } },
      suspend: false,
      template: templateSpec(cronjob, extra),
    },
    status: {
      completionTime: k8sTime(done),
      conditions: [
        { lastProbeTime: k8sTime(done), lastTransitionTime: k8sTime(done), message: 'Reached expected number of succeeded pods', reason: 'CompletionsReached', status: 'True', type: 'SuccessCriteriaMet' },
        { lastProbeTime: k8sTime(done), lastTransitionTime: k8sTime(done), message: 'Reached expected number of succeeded pods', reason: 'CompletionsReached', status: 'True', type: 'Complete' },
      ],
      ready: 0,
      startTime: k8sTime(j.scheduled),
      succeeded: 1,
      terminating: 0,
      uncountedTerminatedPods: {},
    },
  };
}

function serviceObject(s: ServiceDef): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      creationTimestamp: k8sTime(s.created),
      labels: s.labels,
      name: s.name,
      namespace: s.ns,
      resourceVersion: rv(),
      uid: uidFor(`Service/${s.ns}/${s.name}`),
    },
    spec: {
      ...(s.type === 'LoadBalancer' ? { allocateLoadBalancerNodePorts: true, externalTrafficPolicy: 'Local', healthCheckNodePort: 30443 } : {}),
      clusterIP: s.clusterIP,
      clusterIPs: [s.clusterIP],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: s.ports.map((p) => ({ ...p })),
      ...(s.selector ? { selector: s.selector } : {}),
      sessionAffinity: 'None',
      type: s.type,
    },
    status: { loadBalancer: s.lbIP ? { ingress: [{ ip: s.lbIP, ipMode: 'VIP' }] } : {} },
  };
}

function inventoryItems(): Obj[] {
  const byNsName = <T extends { ns: string; name: string }>(a: T, b: T): number => compare(a.ns, b.ns) || compare(a.name, b.name);
  const items: Obj[] = [];
  // kubectl get pods,services,serviceaccounts,namespaces,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs -A
  for (const p of [...pods].sort(byNsName)) items.push(podObject(p));
  for (const s of [...services].sort(byNsName)) items.push(serviceObject(s));
  for (const sa of [...serviceAccounts].sort(byNsName)) {
    items.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        creationTimestamp: k8sTime(sa.created),
        ...(sa.labels ? { labels: sa.labels } : {}),
        name: sa.name,
        namespace: sa.ns,
        resourceVersion: rv(),
        uid: uidFor(`ServiceAccount/${sa.ns}/${sa.name}`),
      },
    });
  }
  for (const n of [...namespaces].sort((a, b) => compare(a.name, b.name))) {
    items.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        creationTimestamp: k8sTime(n.created),
        labels: { ...n.labels, 'kubernetes.io/metadata.name': n.name },
        name: n.name,
        resourceVersion: rv(),
        uid: uidFor(`Namespace/${n.name}`),
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  const deps = workloads.filter((w) => w.kind === 'Deployment').sort(byNsName);
  const built = deps.map((w) => deploymentObjects(w));
  for (const b of built) items.push(b.deployment);
  for (const b of [...built].sort((x, y) => {
    const mx = x.replicaSet['metadata'] as Obj;
    const my = y.replicaSet['metadata'] as Obj;
    return compare(mx['namespace'] as string, my['namespace'] as string) || compare(mx['name'] as string, my['name'] as string);
  }))
    items.push(b.replicaSet);
  for (const w of workloads.filter((x) => x.kind === 'StatefulSet').sort(byNsName)) items.push(statefulSetObject(w));
  for (const j of jobs) items.push(jobObject(j));
  for (const c of [...cronSchedules].sort((a, b) => byNsName(a.w, b.w))) items.push(cronJobObject(c));
  return items.map((o) => sortKeysDeep(o) as Obj);
}

// ---------------------------------------------------------------------------------------------
// Access-log records

/** The fields of Istio's default access log format (>= 1.9 text; >= 1.14 JSON with nulls). */
interface Access {
  start_time: number;
  method: string | null;
  path: string | null;
  protocol: string | null;
  response_code: number;
  response_flags: string | null;
  response_code_details: string | null;
  connection_termination_details: string | null;
  upstream_transport_failure_reason: string | null;
  bytes_received: number;
  bytes_sent: number;
  duration: number | null;
  upstream_service_time: string | null;
  x_forwarded_for: string | null;
  user_agent: string | null;
  request_id: string | null;
  authority: string | null;
  upstream_host: string | null;
  upstream_cluster: string | null;
  upstream_local_address: string | null;
  downstream_local_address: string | null;
  downstream_remote_address: string | null;
  requested_server_name: string | null;
  route_name: string | null;
}

const dash = (v: string | number | null): string => (v === null ? '-' : String(v));

function renderText(a: Access): string {
  const req = a.method === null ? '- - -' : `${a.method} ${dash(a.path)} ${dash(a.protocol)}`;
  return (
    `[${isoMs(a.start_time)}] "${req}" ${a.response_code} ${dash(a.response_flags)} ${dash(a.response_code_details)} ` +
    `${dash(a.connection_termination_details)} "${dash(a.upstream_transport_failure_reason)}" ${a.bytes_received} ${a.bytes_sent} ` +
    `${dash(a.duration)} ${dash(a.upstream_service_time)} "${dash(a.x_forwarded_for)}" "${dash(a.user_agent)}" "${dash(a.request_id)}" ` +
    `"${dash(a.authority)}" "${dash(a.upstream_host)}" ${dash(a.upstream_cluster)} ${dash(a.upstream_local_address)} ` +
    `${dash(a.downstream_local_address)} ${dash(a.downstream_remote_address)} ${dash(a.requested_server_name)} ${dash(a.route_name)}`
  );
}

/** Key order as in the real 2023 sample (istio-access-log-json.jsonl line 1). */
function renderJson(a: Access): string {
  return JSON.stringify({
    response_flags: a.response_flags,
    x_forwarded_for: a.x_forwarded_for,
    start_time: isoMs(a.start_time),
    connection_termination_details: a.connection_termination_details,
    path: a.path,
    upstream_cluster: a.upstream_cluster,
    user_agent: a.user_agent,
    upstream_transport_failure_reason: a.upstream_transport_failure_reason,
    response_code_details: a.response_code_details,
    requested_server_name: a.requested_server_name,
    response_code: a.response_code,
    upstream_host: a.upstream_host,
    duration: a.duration,
    route_name: a.route_name,
    upstream_local_address: a.upstream_local_address,
    bytes_received: a.bytes_received,
    protocol: a.protocol,
    authority: a.authority,
    downstream_remote_address: a.downstream_remote_address,
    method: a.method,
    bytes_sent: a.bytes_sent,
    request_id: a.request_id,
    downstream_local_address: a.downstream_local_address,
    upstream_service_time: a.upstream_service_time,
  });
}

interface LogRecord {
  /** Sort key: request start (access lines) or the line's own time (agent lines). */
  sortMs: number;
  seq: number;
  stream: 'stdout' | 'stderr';
  /** When the proxy wrote the line (ms + extra ns), before monotonic adjustment. */
  writeMs: number;
  writeNs: number;
  access?: Access;
  text?: string;
}

const podLogs = new Map<PodInfo, LogRecord[]>();
let seq = 0;
const writeJitter = new Rng('write-jitter');

function logAccess(p: PodInfo, a: Access): void {
  const list = podLogs.get(p) ?? [];
  podLogs.set(p, list);
  // Envoy writes the entry when the request completes (buffered, flushed within ~1s).
  list.push({
    sortMs: a.start_time,
    seq: seq++,
    stream: 'stdout',
    writeMs: a.start_time + (a.duration ?? 0) + writeJitter.int(0, 3),
    writeNs: writeJitter.int(0, 999999),
    access: a,
  });
}

function logAgent(p: PodInfo, ms: number, level: string, scope: string, msg: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
  const list = podLogs.get(p) ?? [];
  podLogs.set(p, list);
  const us = writeJitter.int(0, 999);
  const text = scope === '' ? `${microTime(ms, us)}\t${level}\t${msg}` : `${microTime(ms, us)}\t${level}\t${scope}\t${msg}`;
  list.push({ sortMs: ms, seq: seq++, stream, writeMs: ms, writeNs: us * 1000 + writeJitter.int(0, 999), text });
}

// ---------------------------------------------------------------------------------------------
// Expected graph accumulator (from the simulation, not from the logs)

type Mtls = 'mutual' | 'plaintext' | 'unknown';

interface EdgeAcc {
  source: string;
  target: string;
  port: number;
  protocol: 'http' | 'tcp';
  requests: number;
  methods: Set<string>;
  paths: Set<string>;
  mtls: Record<Mtls, number>;
  responses: Map<string, number>;
  first: number;
  last: number;
}

const edges = new Map<string, EdgeAcc>();

// ---------------------------------------------------------------------------------------------
// The simulated requests themselves, for the outputs that are not access logs (Istio metrics,
// Hubble flows): recorded where the requests are simulated, never read back from the logs.

interface SimRequest {
  start: number;
  /** What the client (its proxy, or itself without one) and the server measured, in ms. */
  clientDuration: number;
  serverDuration: number;
  client: Client;
  /** The Istio proxy on the client's side: a sidecar, the ingress gateway, or none. */
  clientProxy: 'sidecar' | 'gateway' | 'none';
  /** The client's source port on the pod-to-pod connection (a sidecar's pooled port). */
  connPort: number;
  /**
   * The connection outlives the request: a proxy's pooled upstream connection, or a client
   * that keeps its own open (Prometheus). Otherwise the request had a connection of its own
   * (the kubelet's prober sends Connection: close; legacy-client and the unknown client open
   * one per call), even when a later one happens to get the same ephemeral port.
   */
  keepAlive: boolean;
  server: PodInfo;
  service: string;
  port: number;
  method: string;
  path: string;
  authority: string;
  code: number;
}
const simRequests: SimRequest[] = [];

/** The world's requests to the ingress gateway (one connection each). */
const worldToGateway: { start: number; duration: number; clientPort: number; method: string; path: string; authority: string; code: number }[] = [];

/** ratings' TCP connections to api.example.com through PassthroughCluster. */
const externalTcp: { start: number; duration: number; localPort: number; bytesReceived: number; bytesSent: number }[] = [];

function templatePath(path: string): string {
  const noQuery = path.split('?')[0] ?? '';
  return noQuery
    .split('/')
    .map((seg) => (/^[0-9]+$/.test(seg) ? '{id}' : seg))
    .join('/');
}

function recordEdge(o: { source: string; target: string; port: number; protocol: 'http' | 'tcp'; method?: string; path?: string; code: number; mtls: Mtls; start: number }): void {
  const k = `${o.source}|${o.target}|${o.port}|${o.protocol}`;
  let e = edges.get(k);
  if (!e) {
    e = {
      source: o.source,
      target: o.target,
      port: o.port,
      protocol: o.protocol,
      requests: 0,
      methods: new Set(),
      paths: new Set(),
      mtls: { mutual: 0, plaintext: 0, unknown: 0 },
      responses: new Map(),
      first: o.start,
      last: o.start,
    };
    edges.set(k, e);
  }
  e.requests++;
  if (o.protocol === 'http') {
    if (o.method) e.methods.add(o.method);
    if (o.path) e.paths.add(templatePath(o.path));
    const cls = `${Math.floor(o.code / 100)}xx`;
    e.responses.set(cls, (e.responses.get(cls) ?? 0) + 1);
  }
  e.mtls[o.mtls]++;
  e.first = Math.min(e.first, o.start);
  e.last = Math.max(e.last, o.start);
}

// ---------------------------------------------------------------------------------------------
// Traffic simulation

const WORLD_CLIENT = '198.51.100.7';
const UNKNOWN_CLIENT = '10.244.9.99';
const EXTERNAL_TCP = '203.0.113.10';
// The TLS SNI the client sent: an external destination is named by its host when one is known.
const EXTERNAL_SNI = 'api.example.com';
const GATEWAY_LISTENER = 8080;

const BROWSER_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
];

/** Envoy reuses upstream connections: per (client, server) a small pool of source ports. */
const pools = new Map<string, number[]>();
function pooledPort(rng: Rng, clientIp: string, serverIp: string): number {
  const k = `${clientIp}>${serverIp}`;
  const pool = pools.get(k) ?? [];
  pools.set(k, pool);
  if (pool.length > 0 && (pool.length >= 4 || rng.chance(0.7))) return rng.pick(pool);
  const port = rng.int(32768, 60999);
  pool.push(port);
  return port;
}
const ephemeral = (rng: Rng): number => rng.int(32768, 60999);

function alive(p: PodInfo, t: number): boolean {
  const readyAt = p.appStarted + 2 * SEC;
  return t >= readyAt && (p.finished === undefined || t < p.finished.app);
}

interface Client {
  ip: string;
  pod?: PodInfo;
  /** The client is the node itself (the kubelet), not a pod on it. */
  node?: NodeInfo;
}

function clientKey(c: Client): string {
  if (c.pod) return c.pod.key;
  if (c.node) return `node:${c.node.ip}`;
  return c.ip.startsWith('10.') ? `unknown:${c.ip}` : `world:${c.ip}`;
}

interface MeshCall {
  rng: Rng;
  start: number;
  client: Client;
  server: PodInfo;
  service: string;
  method: string;
  path: string;
  code: number;
  requestId: string;
  userAgent: string;
  authority: string;
  bytesReceived: number;
  bytesSent: number;
  /** Server-side duration (ms). */
  serverDuration: number;
  /** A client without sidecar that keeps its connection open: its source port (else a new one per call). */
  clientPort?: number;
}

/** What every proxy on a request's path logs alike. */
type RequestSeen = Pick<MeshCall, 'start' | 'method' | 'path' | 'code' | 'requestId' | 'userAgent' | 'authority' | 'bytesReceived' | 'bytesSent'>;

/** The request fields of one access-log record, in Istio's JSON key order. */
function requestFields(c: RequestSeen, duration: number, upstreamServiceTime: string, xForwardedFor: string | null = null) {
  return {
    start_time: c.start,
    method: c.method,
    path: c.path,
    protocol: 'HTTP/1.1',
    response_code: c.code,
    response_flags: '-',
    // The app itself answered: no Envoy-generated errors here.
    response_code_details: 'via_upstream',
    connection_termination_details: null,
    upstream_transport_failure_reason: null,
    bytes_received: c.bytesReceived,
    bytes_sent: c.bytesSent,
    duration,
    upstream_service_time: upstreamServiceTime,
    x_forwarded_for: xForwardedFor,
    user_agent: c.userAgent,
    request_id: c.requestId,
    authority: c.authority,
  };
}

/**
 * One HTTP request from a client to a Bookinfo service. Logged by the client's sidecar
 * (outbound) when it has one, and by the server's sidecar (inbound). Returns the duration
 * the client saw.
 */
function meshCall(c: MeshCall): number {
  const s = svc(c.service);
  const port = 9080;
  const sd = c.serverDuration;
  const cd = sd + c.rng.int(0, 2);
  const appPort = c.clientPort ?? ephemeral(c.rng);
  const sidecarClient = c.client.pod?.w.sidecar === true;
  const upstreamLocalPort = sidecarClient ? pooledPort(c.rng, c.client.ip, c.server.ip) : appPort;
  if (sidecarClient && c.client.pod) {
    const ust = String(Math.min(cd, sd + c.rng.int(0, 1)));
    logAccess(c.client.pod, {
      ...requestFields(c, cd, ust),
      upstream_host: `${c.server.ip}:${port}`,
      upstream_cluster: `outbound|${port}||${s.name}.${s.ns}.svc.cluster.local`,
      upstream_local_address: `${c.client.ip}:${upstreamLocalPort}`,
      downstream_local_address: `${s.clusterIP}:${port}`,
      downstream_remote_address: `${c.client.ip}:${appPort}`,
      requested_server_name: null,
      route_name: 'default',
    });
  }
  const sni = sidecarClient ? `outbound_.${port}_._.${s.name}.${s.ns}.svc.cluster.local` : null;
  const ust = String(Math.max(0, sd - c.rng.int(0, 1)));
  logAccess(c.server, {
    ...requestFields(c, sd, ust),
    upstream_host: `${c.server.ip}:${port}`,
    upstream_cluster: `inbound|${port}||`,
    upstream_local_address: `127.0.0.6:${ephemeral(c.rng)}`,
    downstream_local_address: `${c.server.ip}:${port}`,
    downstream_remote_address: `${c.client.ip}:${upstreamLocalPort}`,
    requested_server_name: sni,
    route_name: 'default',
  });
  recordEdge({
    source: clientKey(c.client),
    target: c.server.key,
    port,
    protocol: 'http',
    method: c.method,
    path: c.path,
    code: c.code,
    mtls: sni ? 'mutual' : 'plaintext',
    start: c.start,
  });
  simRequests.push({
    start: c.start,
    clientDuration: cd,
    serverDuration: sd,
    client: c.client,
    clientProxy: sidecarClient ? 'sidecar' : 'none',
    connPort: upstreamLocalPort,
    keepAlive: sidecarClient || c.clientPort !== undefined,
    server: c.server,
    service: c.service,
    port,
    method: c.method,
    path: c.path,
    authority: c.authority,
    code: c.code,
  });
  return cd;
}

const reviewBytes: Record<string, number> = { v1: 295, v2: 358, v3: 375 };

/**
 * productpage's work for one page or API call: details (when a details pod is up) and,
 * for the HTML page, reviews (-> ratings for v2/v3). Headers x-request-id and user-agent are
 * propagated as Bookinfo does. Returns the time spent in downstream calls.
 */
function productpageFanout(rng: Rng, t: number, requestId: string, ua: string, productId: number, withReviews: boolean): number {
  let cursor = t + rng.int(1, 3);
  if (alive(details, cursor)) {
    const code = rng.chance(0.03) ? 503 : 200;
    const cd = meshCall({
      rng,
      start: cursor,
      client: { ip: productpage.ip, pod: productpage },
      server: details,
      service: 'details',
      method: 'GET',
      path: `/details/${productId}`,
      code,
      requestId,
      userAgent: ua,
      authority: 'details:9080',
      bytesReceived: 0,
      bytesSent: code === 200 ? 178 : 95,
      serverDuration: rng.int(1, 4),
    });
    cursor += cd + rng.int(1, 2);
  }
  if (withReviews) {
    const server = rng.pick(reviewsPods);
    const version = server.w.podLabels['version'] ?? 'v1';
    const reviewsStart = cursor;
    let inner = rng.int(2, 6);
    if (version !== 'v1') {
      const rStart = reviewsStart + rng.int(1, 3);
      const rCode = rng.chance(0.03) ? 503 : 200;
      const rcd = meshCall({
        rng,
        start: rStart,
        client: { ip: server.ip, pod: server },
        server: ratings,
        service: 'ratings',
        method: 'GET',
        path: `/ratings/${productId}`,
        code: rCode,
        requestId,
        userAgent: ua,
        authority: 'ratings:9080',
        bytesReceived: 0,
        bytesSent: rCode === 200 ? 48 : 95,
        serverDuration: rng.int(1, 3),
      });
      inner = rStart - reviewsStart + rcd + rng.int(2, 8);
    }
    const code = rng.chance(0.03) ? 500 : rng.chance(0.02) ? 503 : 200;
    const cd = meshCall({
      rng,
      start: reviewsStart,
      client: { ip: productpage.ip, pod: productpage },
      server,
      service: 'reviews',
      method: 'GET',
      path: `/reviews/${productId}`,
      code,
      requestId,
      userAgent: ua,
      authority: 'reviews:9080',
      bytesReceived: 0,
      bytesSent: code === 200 ? (reviewBytes[version] ?? 295) : 95,
      serverDuration: inner,
    });
    cursor = reviewsStart + cd;
  }
  return cursor - t;
}

function simulateIngress(): void {
  const rng = new Rng('ingress');
  const gw = gatewayPod!;
  const ppSvc = svc('productpage');
  const ua = rng.pick(BROWSER_UAS);
  let t = T0 + rng.int(500, 4000);
  let userAgent = ua;
  while (true) {
    t += rng.gap(24 * SEC);
    if (t >= T_END - 5 * SEC) break;
    if (rng.chance(0.1)) userAgent = rng.pick(BROWSER_UAS);
    const r = rng.next();
    let method = 'GET';
    let path: string;
    let code = 200;
    let bytesReceived = 0;
    let bytesSent: number;
    let ppDuration: number;
    const requestId = rng.uuid();
    if (r < 0.72) {
      const q = rng.next();
      path = q < 0.15 ? '/productpage?u=normal' : q < 0.22 ? '/productpage?u=test' : '/productpage';
      const productId = rng.int(0, 30);
      const fan = productpageFanout(rng, t, requestId, userAgent, productId, true);
      ppDuration = fan + rng.int(4, 18);
      code = rng.chance(0.02) ? 500 : 200;
      bytesSent = code === 200 ? rng.int(4280, 5310) : 290;
    } else if (r < 0.86) {
      path = '/static/css/site.css';
      code = rng.chance(0.3) ? 304 : 200;
      bytesSent = code === 200 ? 1432 : 0;
      ppDuration = rng.int(1, 3);
    } else if (r < 0.97) {
      method = 'POST';
      path = '/login';
      code = 302;
      bytesReceived = 29;
      bytesSent = 219;
      ppDuration = rng.int(2, 5);
    } else {
      path = '/favicon.ico';
      code = 404;
      bytesSent = 207;
      ppDuration = rng.int(1, 2);
    }
    const gwDuration = ppDuration + rng.int(1, 3);
    const gwUpstreamPort = pooledPort(rng, gw.ip, productpage.ip);
    const authority = 'bookinfo.example.com';
    const request: RequestSeen = { start: t, method, path, code, requestId, userAgent, authority, bytesReceived, bytesSent };
    // The gateway's single (outbound) entry.
    const gwUst = String(ppDuration + rng.int(0, 1));
    const worldPort = rng.int(1024, 65535);
    logAccess(gw, {
      ...requestFields(request, gwDuration, gwUst, WORLD_CLIENT),
      upstream_host: `${productpage.ip}:9080`,
      upstream_cluster: `outbound|9080||${ppSvc.name}.${ppSvc.ns}.svc.cluster.local`,
      upstream_local_address: `${gw.ip}:${gwUpstreamPort}`,
      downstream_local_address: `${gw.ip}:${GATEWAY_LISTENER}`,
      downstream_remote_address: `${WORLD_CLIENT}:${worldPort}`,
      requested_server_name: null,
      route_name: null,
    });
    // productpage's inbound entry.
    const ppUst = String(Math.max(0, ppDuration - rng.int(0, 1)));
    logAccess(productpage, {
      ...requestFields(request, ppDuration, ppUst, WORLD_CLIENT),
      upstream_host: `${productpage.ip}:9080`,
      upstream_cluster: 'inbound|9080||',
      upstream_local_address: `127.0.0.6:${ephemeral(rng)}`,
      downstream_local_address: `${productpage.ip}:9080`,
      // The gateway set X-Forwarded-For; the sidecar reports that client, port 0, not its peer.
      downstream_remote_address: `${WORLD_CLIENT}:0`,
      requested_server_name: `outbound_.9080_._.${ppSvc.name}.${ppSvc.ns}.svc.cluster.local`,
      route_name: 'default',
    });
    recordEdge({ source: `world:${WORLD_CLIENT}`, target: gw.key, port: GATEWAY_LISTENER, protocol: 'http', method, path, code, mtls: 'unknown', start: t });
    recordEdge({ source: gw.key, target: productpage.key, port: 9080, protocol: 'http', method, path, code, mtls: 'unknown', start: t });
    recordEdge({ source: 'unknown:behind-proxy', target: productpage.key, port: 9080, protocol: 'http', method, path, code, mtls: 'mutual', start: t });
    // The same request for the metrics and Hubble outputs: the world's connection to the
    // gateway (one per request: a new source port each time), and the gateway's call.
    worldToGateway.push({ start: t, duration: gwDuration, clientPort: worldPort, method, path, authority, code });
    simRequests.push({
      start: t + 1,
      clientDuration: ppDuration + 1,
      serverDuration: ppDuration,
      client: { ip: gw.ip, pod: gw },
      clientProxy: 'gateway',
      connPort: gwUpstreamPort,
      keepAlive: true,
      server: productpage,
      service: 'productpage',
      port: 9080,
      method,
      path,
      authority,
      code,
    });
  }
}

function simulateLegacy(): void {
  const rng = new Rng('legacy');
  const lp = legacyPod!;
  let t = T0 + rng.int(1000, 20000);
  while (true) {
    t += rng.gap(90 * SEC);
    if (t >= T_END - 5 * SEC) break;
    const productId = rng.int(0, 30);
    const requestId = rng.uuid();
    const ua = 'python-requests/2.31.0';
    const fan = productpageFanout(rng, t, requestId, ua, productId, false);
    const code = rng.chance(0.05) ? 500 : 200;
    meshCall({
      rng,
      start: t,
      client: { ip: lp.ip, pod: lp },
      server: productpage,
      service: 'productpage',
      method: 'GET',
      path: `/api/v1/products/${productId}`,
      code,
      requestId,
      userAgent: ua,
      authority: 'productpage.default.svc.cluster.local:9080',
      bytesReceived: 0,
      bytesSent: code === 200 ? 195 : 290,
      serverDuration: fan + rng.int(2, 6),
    });
  }
}

function simulateUnknownClient(): void {
  const rng = new Rng('unknown-client');
  let t = details.appStarted + 4 * MIN;
  while (true) {
    t += rng.gap(6 * MIN);
    if (t >= T_END - 5 * SEC) break;
    meshCall({
      rng,
      start: t,
      client: { ip: UNKNOWN_CLIENT },
      server: details,
      service: 'details',
      method: 'GET',
      path: `/details/${rng.int(0, 30)}`,
      code: 200,
      requestId: rng.uuid(),
      userAgent: 'Go-http-client/1.1',
      authority: 'details.default.svc.cluster.local:9080',
      bytesReceived: 0,
      bytesSent: 178,
      serverDuration: rng.int(1, 3),
    });
  }
}

function simulateCronJobs(): void {
  for (const j of jobs) {
    const rng = new Rng(`cronjob:${j.name}`);
    const p = j.pod;
    let t = p.appStarted + 2 * SEC;
    const stop = p.finished!.app - 2 * SEC;
    while (true) {
      t += rng.gap(20 * SEC);
      if (t >= stop) break;
      const code = rng.chance(0.06) ? 503 : 200;
      meshCall({
        rng,
        start: t,
        client: { ip: p.ip, pod: p },
        server: ratings,
        service: 'ratings',
        method: 'POST',
        path: `/ratings/${rng.int(0, 30)}`,
        code,
        requestId: rng.uuid(),
        userAgent: 'python-requests/2.32.3',
        authority: 'ratings:9080',
        bytesReceived: 34,
        bytesSent: code === 200 ? 47 : 95,
        serverDuration: rng.int(2, 6),
      });
    }
  }
}

function simulateExternalTcp(): void {
  const rng = new Rng('external-tcp');
  let t = T0 + rng.int(10 * SEC, 60 * SEC);
  while (true) {
    t += rng.gap(5 * MIN);
    if (t >= T_END - 10 * SEC) break;
    const duration = rng.int(120, 2400);
    // Drawn in the order the record below used to draw them, so the logs keep their bytes.
    const bytesReceived = rng.int(600, 1900);
    const bytesSent = rng.int(3000, 48000);
    const localPort = ephemeral(rng);
    const appPort = ephemeral(rng);
    externalTcp.push({ start: t, duration, localPort, bytesReceived, bytesSent });
    logAccess(ratings, {
      start_time: t,
      method: null,
      path: null,
      protocol: null,
      response_code: 0,
      response_flags: '-',
      response_code_details: null,
      connection_termination_details: null,
      upstream_transport_failure_reason: null,
      bytes_received: bytesReceived,
      bytes_sent: bytesSent,
      duration,
      upstream_service_time: null,
      x_forwarded_for: null,
      user_agent: null,
      request_id: null,
      authority: null,
      upstream_host: `${EXTERNAL_TCP}:443`,
      upstream_cluster: 'PassthroughCluster',
      upstream_local_address: `${ratings.ip}:${localPort}`,
      downstream_local_address: `${EXTERNAL_TCP}:443`,
      downstream_remote_address: `${ratings.ip}:${appPort}`,
      requested_server_name: EXTERNAL_SNI,
      route_name: null,
    });
    recordEdge({ source: ratings.key, target: `world:${EXTERNAL_SNI}`, port: 443, protocol: 'tcp', code: 0, mtls: 'unknown', start: t });
  }
}

/**
 * The kubelet's readiness probe of ratings (rewriteAppHTTPProbers off): GET /health on the
 * pod IP every 10 s from the node's address, a new connection each time (the prober sends
 * Connection: close). No client sidecar, so only ratings' inbound entry, in plaintext, with
 * the x-request-id its sidecar generated.
 */
function simulateKubeletProbes(): void {
  const rng = new Rng('kubelet-probes');
  const probe = ratings.w.app.readinessProbe;
  if (!probe) throw new Error('ratings: no readiness probe');
  const node = ratings.node;
  for (let tick = T0 + rng.int(0, probe.periodSeconds * SEC - 1); tick < T_END; tick += probe.periodSeconds * SEC) {
    meshCall({
      rng,
      start: tick + rng.int(0, 2),
      client: { ip: node.ip, node },
      server: ratings,
      service: 'ratings',
      method: 'GET',
      path: probe.path,
      code: 200,
      requestId: rng.uuid(),
      userAgent: 'kube-probe/1.31',
      authority: `${ratings.ip}:${probe.port}`,
      bytesReceived: 0,
      bytesSent: 30, // {"status":"Ratings is healthy"}
      serverDuration: rng.int(1, 3),
    });
  }
}

/**
 * Prometheus scraping productpage's own /metrics on 9080 every 15 s (an extra scrape job;
 * the pod's prometheus.io annotations point at the agent's 15020, which is not intercepted
 * and never logged). Prometheus has no sidecar: plaintext, productpage's inbound line only.
 * Its HTTP client keeps the connection open, so one source port for the hour.
 */
function simulatePrometheusScrapes(): void {
  const rng = new Rng('prometheus-scrapes');
  const prom = prometheusPod!;
  const port = ephemeral(rng);
  for (let tick = T0 + rng.int(0, 15 * SEC - 1); tick < T_END; tick += 15 * SEC) {
    meshCall({
      rng,
      start: tick + rng.int(0, 3),
      client: { ip: prom.ip, pod: prom },
      clientPort: port,
      server: productpage,
      service: 'productpage',
      method: 'GET',
      path: '/metrics',
      code: 200,
      requestId: rng.uuid(),
      userAgent: `Prometheus/${PROMETHEUS_VERSION.slice(1)}`,
      authority: `${productpage.ip}:9080`,
      bytesReceived: 0,
      bytesSent: rng.int(3180, 3260),
      serverDuration: rng.int(2, 6),
    });
  }
}

/**
 * Someone debugging from inside details' pod, once:
 *   kubectl exec deploy/details-v1 -- ruby -rnet/http -e 'puts Net::HTTP.get(URI("http://ratings:9080/ratings/0"))'
 * Through both sidecars over mTLS, like service traffic; only its single occurrence
 * (and Net::HTTP's user agent) tells it apart.
 */
function simulateDebugCall(): void {
  const rng = new Rng('debug-call');
  const start = at(10, 41, 17, rng.int(0, 999));
  if (!alive(details, start)) throw new Error('debug call: details is not running');
  meshCall({
    rng,
    start,
    client: { ip: details.ip, pod: details },
    server: ratings,
    service: 'ratings',
    method: 'GET',
    path: '/ratings/0',
    code: 200,
    requestId: rng.uuid(),
    userAgent: 'Ruby',
    authority: 'ratings:9080',
    bytesReceived: 0,
    bytesSent: 48,
    serverDuration: rng.int(1, 3),
  });
}

/** istio-agent / Envoy lines that are not access-log entries. */
function simulateAgentNoise(): void {
  const rng = new Rng('agent-noise');
  const sidecarPods = pods.filter((p) => p.w.sidecar || p.w.gateway);
  for (const p of sidecarPods) {
    const startsInWindow = p.created >= T0;
    if (startsInWindow) {
      const s = p.proxyStarted;
      logAgent(p, s, 'info', '', 'FLAG: --concurrency="2"');
      logAgent(p, s + 1, 'info', '', `Version ${ISTIO_VERSION}-7d5c6e9e3bb1a1c9ea6b5ff2f0a4f6b5d6b7c8d9-Clean`);
      logAgent(p, s + 9, 'info', '', `Proxy role\tips=[${p.ip}] type=sidecar id=${p.name}.${p.ns} domain=${p.ns}.svc.cluster.local`);
      logAgent(p, s + 212, 'info', 'cache', `generated new workload certificate\tresourceName=default latency=${rng.int(80, 190)}.${rng.int(100000, 999999)}ms ttl=23h59m59.${rng.int(100000000, 999999999)}s`);
      logAgent(p, s + 230, 'info', 'xdsproxy', 'connected to upstream XDS server: istiod.istio-system.svc:15012\tid=1');
      logAgent(p, s + 1180, 'info', '', `Readiness succeeded in ${rng.int(900, 1400)}.${rng.int(100000, 999999)}ms`);
      logAgent(p, s + 1181, 'info', '', 'Envoy proxy is ready');
    }
    // xDS streams are recycled by istiod every ~30 minutes (keepaliveMaxServerConnectionAge).
    const phase = rng.int(0, 30 * MIN - 1);
    let id = startsInWindow ? 2 : rng.int(40, 90);
    for (let t = (startsInWindow ? p.proxyStarted + 30 * MIN : T0 + phase); t < T_END; t += 30 * MIN + rng.int(-40, 40) * SEC) {
      if (p.finished && t >= p.finished.proxy) break;
      logAgent(
        p,
        t,
        'warning',
        'envoy config external/envoy/source/extensions/config_subscription/grpc/grpc_stream.h:193',
        `StreamAggregatedResources gRPC config stream to xds-grpc closed since ${rng.int(1790, 1810)}s ago: 0, \tthread=${rng.int(14, 22)}`,
        'stderr',
      );
      logAgent(p, t + rng.int(200, 900), 'info', 'xdsproxy', `connected to upstream XDS server: istiod.istio-system.svc:15012\tid=${id++}`);
    }
    if (p.finished) {
      const e = p.finished.app + rng.int(200, 600);
      logAgent(p, e, 'info', '', 'Status server received request to exit (/quitquitquit)');
      logAgent(p, e + 2, 'info', '', 'Agent draining Proxy for termination');
      logAgent(p, e + 7, 'info', '', 'Graceful termination period is 5s, starting...');
      logAgent(p, p.finished.proxy - 150, 'info', '', 'Envoy exited normally');
    }
  }
}

simulateIngress();
simulateLegacy();
simulateUnknownClient();
simulateCronJobs();
simulateExternalTcp();
simulateAgentNoise();
// Traffic added later runs last: the write-time jitter is one stream, so the lines above keep
// their bytes.
simulateKubeletProbes();
simulatePrometheusScrapes();
simulateDebugCall();

// ---------------------------------------------------------------------------------------------
// Writing the logs in their collection layouts

const outArgIdx = process.argv.indexOf('--out');
const repoRoot = resolve(dirname(decodeURIComponent(new URL(import.meta.url).pathname)), '..', '..');
const OUT = outArgIdx >= 0 && process.argv[outArgIdx + 1] ? resolve(process.argv[outArgIdx + 1] ?? '') : join(repoRoot, 'fixtures', 'bookinfo');

const written: { file: string; accessLines: number; otherLines: number }[] = [];

function write(rel: string, data: string | Buffer, accessLines = 0, otherLines = 0): void {
  const f = join(OUT, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, data);
  written.push({ file: rel, accessLines, otherLines });
}

type Format = 'text' | 'json';
const formatOf = new Map<PodInfo, Format>([
  [gatewayPod!, 'text'],
  [productpage, 'text'],
  [details, 'json'],
  [reviewsV1, 'text'],
  [reviewsV2, 'text'],
  [reviewsV3, 'json'],
  [ratings, 'text'],
  [job1.pod, 'json'],
  [job2.pod, 'json'],
  [mongodb!, 'json'],
]);

interface Line {
  text: string;
  stream: 'stdout' | 'stderr';
  ms: number;
  ns: number;
  isAccess: boolean;
}

/** A pod's istio-proxy output in order, with monotonic write timestamps. */
function podLines(p: PodInfo): Line[] {
  const recs = [...(podLogs.get(p) ?? [])].sort((a, b) => a.sortMs - b.sortMs || a.seq - b.seq);
  const fmt = formatOf.get(p);
  if (!fmt) throw new Error(`no format for ${p.name}`);
  const out: Line[] = [];
  let prev = 0;
  for (const r of recs) {
    let ms = r.writeMs;
    let ns = r.writeNs;
    // Compare in microseconds (exact in a double); lines are ordered by request start, so a
    // write time earlier than the previous line's is bumped just past it.
    const key = ms * 1000 + Math.floor(ns / 1000);
    if (key <= prev) {
      const next = prev + 7;
      ms = Math.floor(next / 1000);
      ns = (next % 1000) * 1000 + (ns % 1000);
    }
    prev = ms * 1000 + Math.floor(ns / 1000);
    const text = r.access ? (fmt === 'text' ? renderText(r.access) : renderJson(r.access)) : (r.text ?? '');
    out.push({ text, stream: r.stream, ms, ns, isAccess: r.access !== undefined });
  }
  return out;
}

const criTs = (l: Line): string => nanoTime(l.ms, l.ns);
const counts = (ls: Line[]): [number, number] => [ls.filter((l) => l.isAccess).length, ls.filter((l) => !l.isAccess).length];

function criRecords(ls: Line[], partial: Set<number> = new Set(), chunk = 0): string {
  let s = '';
  ls.forEach((l, i) => {
    const ts = criTs(l);
    if (partial.has(i) && chunk > 0) {
      for (let off = 0; off < l.text.length; off += chunk) {
        const last = off + chunk >= l.text.length;
        s += `${ts} ${l.stream} ${last ? 'F' : 'P'} ${l.text.slice(off, off + chunk)}\n`;
      }
    } else {
      s += `${ts} ${l.stream} F ${l.text}\n`;
    }
  });
  return s;
}

const podDir = (p: PodInfo): string => `logs/pods/${p.ns}_${p.name}_${p.uid}`;

function writeAll(): void {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });

  const items = inventoryItems();
  write('inventory.json', JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4) + '\n');
  // version 1.1 quotes strings a YAML 1.1 reader would take for timestamps or booleans, as kubectl does.
  write('inventory.yaml', items.map((o) => `---\n${yamlStringify(o, { lineWidth: 0, version: '1.1' })}`).join(''));

  // kubectl logs POD -c istio-proxy
  for (const p of [gatewayPod!, productpage, details]) {
    const ls = podLines(p);
    const [a, o] = counts(ls);
    write(`logs/kubectl/${p.ns}_${p.name}.log`, ls.map((l) => `${l.text}\n`).join(''), a, o);
  }

  // /var/log/pods
  {
    const ls = podLines(reviewsV1);
    const cut = Date.UTC(2026, 10, 24, 10, 30, 0);
    const before = ls.filter((l) => l.ms < cut);
    const after = ls.filter((l) => l.ms >= cut);
    const [a1, o1] = counts(before);
    const [a2, o2] = counts(after);
    write(`${podDir(reviewsV1)}/istio-proxy/0.log.20261124-103000.gz`, gzipSync(Buffer.from(criRecords(before)), { level: 9 }), a1, o1);
    write(`${podDir(reviewsV1)}/istio-proxy/0.log`, criRecords(after), a2, o2);
    // The app container's own log: not an access log, must be skipped.
    const rng = new Rng('reviews-app');
    const appLines = [
      '[INFO    ] SRVE0169I: Loading Web Module: reviews-app.',
      '[INFO    ] SESN0176I: A new session context will be created for application key default_host/',
      '[AUDIT   ] CWWKT0016I: Web application available (default_host): http://reviews-v1:9080/',
      '[WARNING ] SRVE0190E: File not found: /health',
      '[INFO    ] CWWKF0012I: The server installed the following features: [jaxrs-2.1, jsonp-1.1, servlet-4.0].',
      '[err] GET /reviews/0 took 12 ms (ratings disabled)',
    ];
    let t = T0 + rng.int(30, 300) * SEC;
    const app: Line[] = appLines.map((text) => {
      t += rng.int(4, 9) * MIN;
      return { text, stream: text.startsWith('[err]') ? 'stderr' : 'stdout', ms: t, ns: rng.int(0, 999999), isAccess: false };
    });
    write(`${podDir(reviewsV1)}/reviews/0.log`, criRecords(app), 0, app.length);
  }
  {
    const ls = podLines(reviewsV2);
    const [a, o] = counts(ls);
    write(`${podDir(reviewsV2)}/istio-proxy/0.log`, criRecords(ls), a, o);
  }
  {
    // No access lines at all: nothing called MongoDB and it called nothing.
    const ls = podLines(mongodb!);
    const [a, o] = counts(ls);
    write(`${podDir(mongodb!)}/istio-proxy/0.log`, criRecords(ls), a, o);
  }
  {
    const ls = podLines(reviewsV3);
    const [a, o] = counts(ls);
    // Three access lines split into CRI partial records (P, P, ..., F), same timestamp.
    const accessIdx = ls.map((l, i) => (l.isAccess ? i : -1)).filter((i) => i >= 0);
    const chosen = new Set([accessIdx[3], accessIdx[Math.floor(accessIdx.length / 2)], accessIdx[accessIdx.length - 2]].filter((i): i is number => i !== undefined));
    if (chosen.size !== 3) throw new Error('reviews-v3: not enough lines to split');
    write(`${podDir(reviewsV3)}/istio-proxy/0.log`, criRecords(ls, chosen, 256), a, o);
  }

  // Fluent Bit (ratings)
  {
    const p = ratings;
    const ls = podLines(p);
    const [a, o] = counts(ls);
    const proxyId = containerId(p, 'istio-proxy').replace('containerd://', '');
    const recs = ls.map((l) =>
      JSON.stringify({
        date: Number(`${Math.floor(l.ms / 1000)}.${String(l.ms % 1000).padStart(3, '0')}${String(Math.floor(l.ns / 1000)).padStart(3, '0')}`),
        log: l.text,
        stream: l.stream,
        time: criTs(l),
        kubernetes: {
          pod_name: p.name,
          namespace_name: p.ns,
          pod_id: p.uid,
          labels: podLabels(p),
          annotations: podAnnotations(p),
          host: p.node.name,
          pod_ip: p.ip,
          container_name: 'istio-proxy',
          docker_id: proxyId,
          container_hash: imageId(PROXY_IMAGE),
          container_image: PROXY_IMAGE,
        },
      }),
    );
    write('logs/collector/fluent-bit.jsonl', recs.map((r) => `${r}\n`).join(''), a, o);
  }

  // Vector kubernetes_logs (the two CronJob pods + their app container)
  {
    type VRec = { ms: number; ns: number; seq: number; json: string; access: boolean };
    const recs: VRec[] = [];
    let n = 0;
    const vectorRecord = (p: PodInfo, container: string, image: string, l: Line): string =>
      JSON.stringify({
        file: `/var/log/pods/${p.ns}_${p.name}_${p.uid}/${container}/0.log`,
        kubernetes: {
          container_id: containerId(p, container),
          container_image: image,
          container_name: container,
          pod_ip: p.ip,
          pod_ips: [p.ip],
          pod_labels: podLabels(p),
          pod_name: p.name,
          pod_namespace: p.ns,
          pod_node_name: p.node.name,
          pod_owner: `Job/${p.ownerName}`,
          pod_uid: p.uid,
        },
        message: l.text,
        source_type: 'kubernetes_logs',
        stream: l.stream,
        timestamp: criTs(l),
      });
    for (const j of jobs) {
      for (const l of podLines(j.pod)) recs.push({ ms: l.ms, ns: l.ns, seq: n++, json: vectorRecord(j.pod, 'istio-proxy', PROXY_IMAGE, l), access: l.isAccess });
    }
    // Two records from the app container (not istio-proxy): must be skipped.
    const posted = (p: PodInfo): { ok: number; failed: number } => {
      const ls = (podLogs.get(p) ?? []).filter((r) => r.access?.upstream_cluster?.startsWith('outbound|') === true);
      return { ok: ls.filter((r) => r.access?.response_code === 200).length, failed: ls.filter((r) => r.access?.response_code !== 200).length };
    };
    const c1 = posted(job1.pod);
    const a1: Line = { text: `INFO ratings-report: posted ${c1.ok} ratings to http://ratings:9080 (${c1.failed} failed)`, stream: 'stdout', ms: job1.pod.finished!.app - 600, ns: 118204, isAccess: false };
    const a2: Line = { text: 'INFO ratings-report: POST http://localhost:15020/quitquitquit -> 200', stream: 'stdout', ms: job2.pod.finished!.app - 300, ns: 550913, isAccess: false };
    recs.push({ ms: a1.ms, ns: a1.ns, seq: n++, json: vectorRecord(job1.pod, cronjob.app.name, cronjob.app.image, a1), access: false });
    recs.push({ ms: a2.ms, ns: a2.ns, seq: n++, json: vectorRecord(job2.pod, cronjob.app.name, cronjob.app.image, a2), access: false });
    recs.sort((x, y) => x.ms - y.ms || x.ns - y.ns || x.seq - y.seq);
    write(
      'logs/collector/vector.jsonl',
      recs.map((r) => `${r.json}\n`).join(''),
      recs.filter((r) => r.access).length,
      recs.filter((r) => !r.access).length,
    );
  }

  // Every pod that logs is written exactly once.
  const loggedPods = [...podLogs.keys()];
  for (const p of loggedPods) if (!formatOf.has(p)) throw new Error(`pod ${p.name} has logs but no layout`);

  // The expected graph
  const edgeList = [...edges.values()].sort((a, b) => compare(a.source, b.source) || compare(a.target, b.target) || a.port - b.port || compare(a.protocol, b.protocol));
  const nodes = [...new Set(edgeList.flatMap((e) => [e.source, e.target]))].sort(compare);
  const graph = {
    nodes,
    edges: edgeList.map((e) => ({
      source: e.source,
      target: e.target,
      port: e.port,
      protocol: e.protocol,
      requests: e.requests,
      methods: [...e.methods].sort(compare),
      paths: [...e.paths].sort(compare),
      mtls: e.mtls,
      responses: Object.fromEntries([...e.responses.entries()].sort((x, y) => compare(x[0], y[0]))),
      firstSeen: isoMs(e.first),
      lastSeen: isoMs(e.last),
    })),
  };
  write('expected-graph.json', JSON.stringify(graph, null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------
// Istio standard metrics: what Prometheus' /federate returns at 11:00:00Z (see the header)

const TRUST_DOMAIN = 'cluster.local';
const spiffeOf = (p: PodInfo): string => `spiffe://${TRUST_DOMAIN}/ns/${p.ns}/sa/${p.w.sa}`;

/**
 * The workload name Istio's injector gives a pod (istio pkg/kube GetDeployMetaFromPod, which
 * Cilium copies for Hubble's `workloads`): a ReplicaSet's pod is its Deployment's, a Job named
 * `NAME-<8 to 10 digits>` is CronJob NAME's, anything else its controller's own name.
 */
function istioWorkloadOf(p: PodInfo): { name: string; kind: string } {
  if (p.ownerKind === 'Job') {
    const m = /^(.+)-\d{8,10}$/.exec(p.ownerName);
    return m?.[1] !== undefined ? { name: m[1], kind: 'CronJob' } : { name: p.ownerName, kind: 'Job' };
  }
  return { name: p.w.name, kind: p.w.kind };
}

type Labels = [string, string][];

/** The peer labels Istio's stats filter writes for one side (`source` or `destination`). */
function peerLabels(side: 'source' | 'destination', p: PodInfo | undefined): Labels {
  if (p === undefined) {
    return side === 'source'
      ? [
          ['source_workload', 'unknown'],
          ['source_canonical_service', 'unknown'],
          ['source_canonical_revision', 'latest'],
          ['source_workload_namespace', 'unknown'],
          ['source_principal', 'unknown'],
          ['source_app', 'unknown'],
          ['source_version', 'unknown'],
          ['source_cluster', 'unknown'],
        ]
      : [
          ['destination_workload', 'unknown'],
          ['destination_workload_namespace', 'unknown'],
          ['destination_principal', 'unknown'],
          ['destination_app', 'unknown'],
          ['destination_version', 'unknown'],
        ];
  }
  const l = podLabels(p);
  const canonical = l['service.istio.io/canonical-name'] ?? l['app'] ?? istioWorkloadOf(p).name;
  const revision = l['service.istio.io/canonical-revision'] ?? l['version'] ?? 'latest';
  const app = l['app'] ?? 'unknown';
  const version = l['version'] ?? 'unknown';
  const name = istioWorkloadOf(p).name;
  return side === 'source'
    ? [
        ['source_workload', name],
        ['source_canonical_service', canonical],
        ['source_canonical_revision', revision],
        ['source_workload_namespace', p.ns],
        ['source_principal', spiffeOf(p)],
        ['source_app', app],
        ['source_version', version],
        ['source_cluster', 'Kubernetes'],
      ]
    : [
        ['destination_workload', name],
        ['destination_workload_namespace', p.ns],
        ['destination_principal', spiffeOf(p)],
        ['destination_app', app],
        ['destination_version', version],
      ];
}

/** The labels after destination_version: the Service and the canonical names. */
function destinationServiceLabels(server: PodInfo | undefined, service: ServiceDef | undefined): Labels {
  if (server === undefined || service === undefined) {
    return [
      ['destination_service', 'unknown'],
      ['destination_canonical_service', 'unknown'],
      ['destination_canonical_revision', 'latest'],
      ['destination_service_name', 'PassthroughCluster'],
      ['destination_service_namespace', 'unknown'],
      ['destination_cluster', 'unknown'],
    ];
  }
  const l = podLabels(server);
  return [
    ['destination_service', `${service.name}.${service.ns}.svc.cluster.local`],
    ['destination_canonical_service', l['service.istio.io/canonical-name'] ?? l['app'] ?? 'unknown'],
    ['destination_canonical_revision', l['service.istio.io/canonical-revision'] ?? l['version'] ?? 'latest'],
    ['destination_service_name', service.name],
    ['destination_service_namespace', service.ns],
    ['destination_cluster', 'Kubernetes'],
  ];
}

/** Prometheus' staleness: a series whose target has gone for longer than this is not returned. */
const LOOKBACK = 5 * MIN;
const FEDERATE_AT = T_END;

function metricsExposition(): { text: string; series: number; reporterCounts: Record<string, number> } {
  const series = new Map<string, { name: string; labels: Labels; value: number }>();
  const add = (name: string, reporterPod: PodInfo, labels: Labels): void => {
    // A proxy that stopped more than the lookback before 11:00 (the CronJob's pods) has only
    // stale series: /federate does not return them.
    if (reporterPod.finished !== undefined && reporterPod.finished.proxy < FEDERATE_AT - LOOKBACK) return;
    const all: Labels = [
      ...labels,
      // The target labels Prometheus added when it scraped the proxy (prometheus-community
      // chart, job kubernetes-pods, through the pod's prometheus.io annotations: port 15020).
      ['instance', `${reporterPod.ip}:15020`],
      ['job', 'kubernetes-pods'],
      ['namespace', reporterPod.ns],
      ['pod', reporterPod.name],
    ];
    // /federate writes a series' labels sorted by name, as Prometheus stores them.
    all.sort((a, b) => compare(a[0], b[0]));
    const key = `${name}{${all.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    const s = series.get(key);
    if (s) s.value++;
    else series.set(key, { name, labels: all, value: 1 });
  };
  const reporterCounts: Record<string, number> = { source: 0, destination: 0 };
  for (const r of simRequests) {
    const service = svc(r.service);
    const clientPod = r.clientProxy === 'none' ? undefined : r.client.pod;
    const tail = (policy: string): Labels => [
      ['request_protocol', 'http'],
      ['response_code', String(r.code)],
      ['grpc_response_status', ''],
      ['response_flags', '-'],
      ['connection_security_policy', policy],
    ];
    const body: Labels = [...peerLabels('source', clientPod), ...peerLabels('destination', r.server), ...destinationServiceLabels(r.server, service)];
    if (clientPod !== undefined) {
      add('istio_requests_total', clientPod, [['reporter', 'source'], ...body, ...tail('unknown')]);
      reporterCounts['source'] = (reporterCounts['source'] ?? 0) + 1;
    }
    // The server's sidecar: mTLS from a sidecar or the gateway, plaintext from anyone else.
    add('istio_requests_total', r.server, [['reporter', 'destination'], ...body, ...tail(clientPod !== undefined ? 'mutual_tls' : 'none')]);
    reporterCounts['destination'] = (reporterCounts['destination'] ?? 0) + 1;
  }
  for (let i = 0; i < externalTcp.length; i++) {
    add('istio_tcp_connections_opened_total', ratings, [
      ['reporter', 'source'],
      ...peerLabels('source', ratings),
      ...peerLabels('destination', undefined),
      ...destinationServiceLabels(undefined, undefined),
      ['request_protocol', 'tcp'],
      ['response_flags', '-'],
      ['connection_security_policy', 'unknown'],
    ]);
  }
  const compareLabelSets = (a: Labels, b: Labels): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const x = a[i]!;
      const y = b[i]!;
      const d = compare(x[0], y[0]) || compare(x[1], y[1]);
      if (d !== 0) return d;
    }
    return a.length - b.length;
  };
  const all = [...series.values()].sort((a, b) => compare(a.name, b.name) || compareLabelSets(a.labels, b.labels));
  let text = '';
  let family = '';
  for (const s of all) {
    if (s.name !== family) {
      family = s.name;
      text += `# TYPE ${family} untyped\n`;
    }
    text += `${s.name}{${s.labels.map(([k, v]) => `${k}="${v}"`).join(',')}} ${s.value} ${FEDERATE_AT}\n`;
  }
  return { text, series: all.length, reporterCounts };
}

// ---------------------------------------------------------------------------------------------
// Hubble flows: `hubble observe -o jsonpb` over the hour (see the header)

const CLUSTER_NAME = 'default';
const HUBBLE_TIME_OFFSET_NS = (seed: string): number => sha256(`ns:${seed}`).readUInt32BE(0) % 1_000_000;

/** Labels Cilium leaves out of security identities by default (they change per pod or per run). */
const NON_IDENTITY_LABEL = /^(pod-template-hash|controller-revision-hash|controller-uid|job-name|batch\.kubernetes\.io\/.*|statefulset\.kubernetes\.io\/pod-name|apps\.kubernetes\.io\/pod-index)$/;

function identityLabels(p: PodInfo): string[] {
  const ns = namespaces.find((n) => n.name === p.ns);
  const out: string[] = [];
  for (const [k, v] of Object.entries(podLabels(p))) if (!NON_IDENTITY_LABEL.test(k)) out.push(`k8s:${k}=${v}`);
  for (const [k, v] of Object.entries({ ...ns?.labels, 'kubernetes.io/metadata.name': p.ns })) out.push(`k8s:io.cilium.k8s.namespace.labels.${k}=${v}`);
  out.push(`k8s:io.cilium.k8s.policy.cluster=${CLUSTER_NAME}`, `k8s:io.cilium.k8s.policy.serviceaccount=${p.w.sa}`, `k8s:io.kubernetes.pod.namespace=${p.ns}`);
  return out.sort(compare);
}

const identities = new Map<string, number>();
function identityOf(labels: string[]): number {
  const key = labels.join('\n');
  let id = identities.get(key);
  if (id === undefined) {
    // Cilium allocates numbers from 256 up cluster-wide; any stable distinct numbers do here.
    const taken = new Set(identities.values());
    let n = 0;
    do id = 10_000 + (sha256(`identity:${key}:${n++}`).readUInt32BE(0) % 50_000);
    while (taken.has(id));
    identities.set(key, id);
  }
  return id;
}

type Obj2 = Record<string, unknown>;

function endpointOf(p: PodInfo): Obj2 {
  const labels = identityLabels(p);
  return {
    ID: 100 + (sha256(`endpoint:${p.uid}`).readUInt16BE(0) % 3900),
    identity: identityOf(labels),
    cluster_name: CLUSTER_NAME,
    namespace: p.ns,
    labels,
    pod_name: p.name,
    workloads: [istioWorkloadOf(p)],
  };
}
const WORLD_ENDPOINT: Obj2 = { identity: 2, labels: ['reserved:world'] };
const HOST_ENDPOINT: Obj2 = { identity: 1, labels: ['reserved:host'] };

const macOf = (seed: string): string =>
  [...sha256(`mac:${seed}`).subarray(0, 6)].map((b, i) => (i === 0 ? (b & 0xfe) | 0x02 : b).toString(16).padStart(2, '0')).join(':');
const lxcOf = (p: PodInfo): { index: number; name: string } => ({ index: 10 + (sha256(`ifindex:${p.uid}`).readUInt16BE(0) % 200), name: `lxc${hex64(`lxc:${p.uid}`).slice(0, 12)}` });

interface Side {
  ip: string;
  port: number;
  endpoint: Obj2;
  /** The pod, when this side is a Cilium endpoint on one of the nodes. */
  pod?: PodInfo;
  /** Node whose Cilium sees this side's packets (a pod's node; the host's own node). */
  node?: NodeInfo;
  names?: string[];
}

interface Conn {
  client: Side;
  server: Side;
  /** When the client sent its SYN (epoch ms). */
  opened: number;
  /** The first request's server duration, for the response's first data packet. */
  firstServerDuration: number;
  /** HTTP requests on it with L7 visibility (reviews -> ratings), else empty. */
  l7: SimRequest[];
  seed: string;
}

interface HubbleLine {
  ns: bigint;
  seq: number;
  json: string;
  reply: boolean;
}

function hubbleTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
}

function hubbleFlows(): { text: string; lines: number; replies: number; connections: number; l7Requests: number; drops: number } {
  const conns = new Map<string, Conn>();
  const sideOfPod = (p: PodInfo, port: number): Side => ({ ip: p.ip, port, endpoint: endpointOf(p), pod: p, node: p.node });
  for (const r of simRequests) {
    const c = r.client;
    const clientSide: Side = c.pod ? sideOfPod(c.pod, r.connPort) : c.node ? { ip: c.ip, port: r.connPort, endpoint: HOST_ENDPOINT, node: c.node } : { ip: c.ip, port: r.connPort, endpoint: WORLD_ENDPOINT };
    const key = `${c.pod?.uid ?? c.ip}|${r.connPort}|${r.server.uid}|${r.port}${r.keepAlive ? '' : `|${r.start}`}`;
    let conn = conns.get(key);
    if (!conn) {
      conn = { client: clientSide, server: sideOfPod(r.server, r.port), opened: r.start, firstServerDuration: r.serverDuration, l7: [], seed: `${key}|${r.start}` };
      conns.set(key, conn);
    }
    if (c.pod !== undefined && c.pod.w.podLabels['app'] === 'reviews' && r.server === ratings) conn.l7.push(r);
  }
  for (const w of worldToGateway) {
    const gw = gatewayPod!;
    const key = `${WORLD_CLIENT}|${w.clientPort}|${gw.uid}|${GATEWAY_LISTENER}|${w.start}`;
    conns.set(key, {
      client: { ip: WORLD_CLIENT, port: w.clientPort, endpoint: WORLD_ENDPOINT },
      server: sideOfPod(gw, GATEWAY_LISTENER),
      opened: w.start - 1,
      firstServerDuration: w.duration,
      l7: [],
      seed: key,
    });
  }
  for (const x of externalTcp) {
    const key = `${ratings.uid}|${x.localPort}|${EXTERNAL_TCP}|443|${x.start}`;
    conns.set(key, {
      client: sideOfPod(ratings, x.localPort),
      server: { ip: EXTERNAL_TCP, port: 443, endpoint: WORLD_ENDPOINT, names: [EXTERNAL_SNI] },
      opened: x.start,
      firstServerDuration: Math.min(40, x.duration),
      l7: [],
      seed: key,
    });
  }

  const out: HubbleLine[] = [];
  let seqNo = 0;
  let replies = 0;
  let l7Requests = 0;
  const emit = (ns: bigint, node: NodeInfo, flow: Obj2, reply: boolean): void => {
    const nodeName = `${CLUSTER_NAME}/${node.name}`;
    const withNode: Obj2 = {};
    // Field order as protojson writes a Flow (cilium api/v1/flow/flow.proto declaration order).
    const order = ['time', 'uuid', 'verdict', 'drop_reason', 'ethernet', 'IP', 'l4', 'source', 'destination', 'Type', 'node_name', 'source_names', 'destination_names', 'l7', 'reply', 'event_type', 'traffic_direction', 'trace_observation_point', 'trace_reason', 'drop_reason_desc', 'is_reply', 'interface', 'Summary'];
    const full: Obj2 = { ...flow, time: hubbleTime(ns), uuid: uidFor(`hubble:${seqNo}:${String(ns)}`), node_name: nodeName };
    for (const k of order) if (full[k] !== undefined) withNode[k] = full[k];
    for (const k of Object.keys(full)) if (!order.includes(k)) throw new Error(`hubble: field ${k} has no place in the order`);
    out.push({ ns, seq: seqNo++, json: JSON.stringify({ flow: withNode, node_name: nodeName, time: hubbleTime(ns) }), reply });
    if (reply) replies++;
  };
  // TCPFlags' fields in their declaration order, as protojson writes them.
  const TCP_FLAG_ORDER = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];
  const flags = (...f: string[]): Obj2 => Object.fromEntries(TCP_FLAG_ORDER.filter((x) => f.includes(x)).map((x) => [x, true]));
  const summary = (...f: string[]): string => `TCP Flags: ${f.join(', ')}`;
  /** One L3/L4 trace of a packet from `from` to `to`. */
  const packet = (o: {
    ns: bigint;
    node: NodeInfo;
    from: Side;
    to: Side;
    tcpFlags: string[];
    direction: 'INGRESS' | 'EGRESS';
    point: string;
    reason: 'NEW' | 'ESTABLISHED' | 'REPLY';
    reply: boolean;
    iface?: { index: number; name: string };
  }): void => {
    const f: Obj2 = {
      verdict: 'FORWARDED',
      ethernet: { source: macOf(`${o.from.ip}@${o.node.name}`), destination: macOf(`${o.to.ip}@${o.node.name}`) },
      IP: { source: o.from.ip, destination: o.to.ip, ipVersion: 'IPv4' },
      l4: { TCP: { source_port: o.from.port, destination_port: o.to.port, flags: flags(...o.tcpFlags) } },
      source: o.from.endpoint,
      destination: o.to.endpoint,
      Type: 'L3_L4',
      ...(o.from.names ? { source_names: o.from.names } : {}),
      ...(o.to.names ? { destination_names: o.to.names } : {}),
      ...(o.reply ? { reply: true } : {}),
      event_type: { type: 4 },
      traffic_direction: o.direction,
      trace_observation_point: o.point,
      trace_reason: o.reason,
      is_reply: o.reply,
      ...(o.iface ? { interface: o.iface } : {}),
      Summary: summary(...o.tcpFlags),
    };
    emit(o.ns, o.node, f, o.reply);
  };
  const VXLAN = { index: 5, name: 'cilium_vxlan' };

  const sorted = [...conns.values()].sort((a, b) => a.opened - b.opened || compare(a.seed, b.seed));
  for (const c of sorted) {
    const t0 = BigInt(c.opened) * 1_000_000n + BigInt(HUBBLE_TIME_OFFSET_NS(c.seed));
    const us = (n: number): bigint => BigInt(n) * 1000n;
    const clientPod = c.client.pod;
    const serverPod = c.server.pod;
    const sameNode = clientPod !== undefined && serverPod !== undefined && clientPod.node === serverPod.node;
    const l7 = c.l7.length > 0;
    // Where each packet toward the server is traced:
    // - between nodes, at the client's node as it enters the tunnel (EGRESS, TO_OVERLAY), then
    //   at the server's node as it is delivered (INGRESS, TO_ENDPOINT);
    // - on one node, once: Cilium delivers it from the client's program straight to the server's
    //   endpoint, one TO_ENDPOINT trace that Hubble reads as the client's EGRESS (as in the real
    //   same-node capture in ../shared/reference/telemetry/hubble-flows-real.jsonl);
    // - to the world, at the client's node only (EGRESS, TO_STACK); from the world, the host or
    //   an address Cilium does not manage, at the server's node only (INGRESS, TO_ENDPOINT);
    // - with ratings' L7 visibility, the server side is the redirect to Cilium's proxy
    //   (INGRESS, TO_PROXY), which on one node replaces the delivery trace.
    const toServer = (ns: bigint, tcpFlags: string[], reason: 'NEW' | 'ESTABLISHED'): void => {
      if (clientPod && !(sameNode && l7)) {
        const point = serverPod === undefined ? 'TO_STACK' : sameNode ? 'TO_ENDPOINT' : 'TO_OVERLAY';
        const iface = serverPod === undefined ? {} : { iface: sameNode ? lxcOf(serverPod) : VXLAN };
        packet({ ns, node: clientPod.node, from: c.client, to: c.server, tcpFlags, direction: 'EGRESS', point, reason, reply: false, ...iface });
      }
      if (serverPod && (!sameNode || l7)) {
        const point = l7 ? 'TO_PROXY' : 'TO_ENDPOINT';
        packet({ ns: ns + us(clientPod ? 180 : 25), node: serverPod.node, from: c.client, to: c.server, tcpFlags, direction: 'INGRESS', point, reason, reply: false, ...(l7 ? {} : { iface: lxcOf(serverPod) }) });
      }
    };
    // Replies are traced where they are delivered: to the client's endpoint (the direction stays
    // the connection's, EGRESS, and is_reply is set), or leaving the server's node toward a
    // client that is no endpoint here (INGRESS, TO_STACK).
    const replyAtClient = clientPod !== undefined;
    const replyNode = (clientPod ?? serverPod)!.node;
    const replyPoint = replyAtClient ? 'TO_ENDPOINT' : c.client.endpoint === HOST_ENDPOINT ? 'TO_HOST' : 'TO_STACK';
    const replyDir = replyAtClient ? 'EGRESS' : 'INGRESS';
    const replyIface = replyAtClient ? { iface: lxcOf(clientPod) } : {};
    toServer(t0, ['SYN'], 'NEW');
    packet({ ns: t0 + us(420), node: replyNode, from: c.server, to: c.client, tcpFlags: ['SYN', 'ACK'], direction: replyDir, point: replyPoint, reason: 'REPLY', reply: true, ...replyIface });
    // The request's first data packet (monitor aggregation reports a connection's packets again
    // only when their TCP flags are new for it).
    toServer(t0 + us(760), ['ACK', 'PSH'], 'ESTABLISHED');
    // The first response data packet.
    packet({ ns: t0 + us(1000 * c.firstServerDuration + 900), node: replyNode, from: c.server, to: c.client, tcpFlags: ['ACK', 'PSH'], direction: replyDir, point: replyPoint, reason: 'REPLY', reply: true, ...replyIface });
    // L7 records of ratings' ingress proxy: one request and one response per HTTP request.
    if (l7 && serverPod) {
      for (const r of c.l7) {
        const tr = BigInt(r.start) * 1_000_000n + BigInt(HUBBLE_TIME_OFFSET_NS(`l7:${c.seed}:${r.start}`)) + us(300);
        const url = `http://${r.authority}${r.path}`;
        const base = (reply: boolean): Obj2 => ({
          verdict: 'FORWARDED',
          IP: reply ? { source: c.server.ip, destination: c.client.ip, ipVersion: 'IPv4' } : { source: c.client.ip, destination: c.server.ip, ipVersion: 'IPv4' },
          l4: { TCP: reply ? { source_port: c.server.port, destination_port: c.client.port } : { source_port: c.client.port, destination_port: c.server.port } },
          source: reply ? c.server.endpoint : c.client.endpoint,
          destination: reply ? c.client.endpoint : c.server.endpoint,
          Type: 'L7',
        });
        emit(tr, serverPod.node, {
          ...base(false),
          l7: { type: 'REQUEST', http: { method: r.method, url, protocol: 'HTTP/1.1' } },
          event_type: { type: 129 },
          traffic_direction: 'INGRESS',
          is_reply: false,
          Summary: `HTTP/1.1 ${r.method} ${url}`,
        }, false);
        l7Requests++;
        const latencyMs = r.serverDuration;
        emit(tr + us(1000 * latencyMs), serverPod.node, {
          ...base(true),
          l7: { type: 'RESPONSE', latency_ns: String(latencyMs * 1_000_000), http: { code: r.code, method: r.method, url, protocol: 'HTTP/1.1' } },
          reply: true,
          event_type: { type: 129 },
          traffic_direction: 'INGRESS',
          is_reply: true,
          Summary: `HTTP/1.1 ${r.code} ${latencyMs}ms (${r.method} ${url})`,
        }, true);
      }
    }
  }

  // One refused attempt: 10.244.9.99 tried details once more and a policy dropped its SYN.
  const dropAt = BigInt(at(10, 47, 12, 345)) * 1_000_000n + 118_204n;
  if (!alive(details, at(10, 47, 12, 345))) throw new Error('hubble: details is not running at the drop');
  emit(dropAt, details.node, {
    verdict: 'DROPPED',
    drop_reason: 133,
    ethernet: { source: macOf(`${UNKNOWN_CLIENT}@${details.node.name}`), destination: macOf(`${details.ip}@${details.node.name}`) },
    IP: { source: UNKNOWN_CLIENT, destination: details.ip, ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 51736, destination_port: 9080, flags: { SYN: true } } },
    source: WORLD_ENDPOINT,
    destination: endpointOf(details),
    Type: 'L3_L4',
    event_type: { type: 1, sub_type: 133 },
    traffic_direction: 'INGRESS',
    drop_reason_desc: 'POLICY_DENIED',
    is_reply: false,
    Summary: summary('SYN'),
  }, false);

  out.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.seq - b.seq));
  return { text: out.map((l) => `${l.json}\n`).join(''), lines: out.length, replies, connections: conns.size, l7Requests, drops: 1 };
}

function writeTelemetry(): void {
  const m = metricsExposition();
  write('metrics/federate.prom', m.text);
  const h = hubbleFlows();
  write('hubble/flows.jsonl', h.text);
  process.stderr.write(
    `make-fixtures: metrics: ${m.series} series (${m.reporterCounts['source']} source and ${m.reporterCounts['destination']} destination reports of ${simRequests.length} requests, ` +
      `${externalTcp.length} TCP connections); hubble: ${h.lines} flows, ${h.connections} connections, ${h.replies} replies, ${h.l7Requests} L7 requests, ${h.drops} drop\n`,
  );
}

writeAll();
writeTelemetry();

const totalAccess = written.reduce((s, w) => s + w.accessLines, 0);
const totalOther = written.reduce((s, w) => s + w.otherLines, 0);
const totalRequests = [...edges.values()].reduce((s, e) => s + e.requests, 0);
process.stderr.write(
  `make-fixtures: wrote ${written.length} files to ${OUT}: ${totalAccess} access-log lines, ${totalOther} other lines, ` +
    `${edges.size} expected edges (${totalRequests} edge-requests)\n`,
);
if (process.argv.includes('--verbose')) {
  for (const w of written) process.stderr.write(`  ${w.file}\taccess=${w.accessLines}\tother=${w.otherLines}\n`);
}
