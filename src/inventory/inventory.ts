// The cluster's objects, indexed for identity resolution: pods → workloads (through
// ownerReferences), IPs and pod names → pods (time-aware), Services → pods.

import { compare } from '../flow/compare.js';
import type { Identity } from '../flow/identity.js';
import { workloadKey } from '../flow/identity.js';
import { selects } from '../flow/labels.js';
import type { KubeObject } from './load.js';
import type { LearnedPod } from './learned.js';
import { loadCombined } from './snapshots.js';

interface ContainerPort {
  name?: string;
  port: number;
  protocol: string;
}

export interface Pod {
  namespace: string;
  name: string;
  uid: string;
  ips: string[];
  hostIP?: string;
  hostNetwork: boolean;
  serviceAccount: string;
  labels: Record<string, string>;
  ports: ContainerPort[];
  /** Epoch ms; the pod held its IP from `start` to `end` (undefined = still running). */
  start?: number;
  end?: number;
  hasSidecar: boolean;
  /**
   * How Istio meshes the pod (see `dataplaneOf`). Absent on pods that no dump described
   * (replay's probes): read it through `podDataplane`.
   */
  dataplane?: Dataplane;
  /** The waypoint (`istio.io/use-waypoint`) traffic to this ambient pod goes through, when one is named. */
  waypoint?: string;
  workload: Identity;
  /** The workload identity with this pod's service account, computed once. */
  identity: Identity;
}

interface ServicePort {
  port: number;
  targetPort: number | string;
  protocol: string;
  name?: string;
  /** The port's application protocol (`http`, `grpc`, `kubernetes.io/h2c`…), which Istio reads before the name. */
  appProtocol?: string;
}

export interface Service {
  namespace: string;
  name: string;
  clusterIPs: string[];
  selector?: Record<string, string>;
  ports: ServicePort[];
  /** The Service's `istio.io/use-waypoint`, when set (ambient: its traffic goes through that waypoint). */
  waypoint?: string;
}

/**
 * How Istio meshes a pod: an injected sidecar, ambient mode (ztunnel, L4 only, no sidecar),
 * or not at all.
 */
export type Dataplane = 'sidecar' | 'ambient' | 'none';

/** `ambient` on a Namespace or Pod enrolls it in ambient mode; `none` on a Pod opts it out. */
const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';
/** The waypoint an ambient resource's traffic goes through: `NAME`, `NS/NAME`, or `#none`. */
const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
/** Written by istio-cni on a pod whose traffic it redirected to ztunnel. */
const AMBIENT_REDIRECTION_ANNOTATION = 'ambient.istio.io/redirection';

/**
 * Istio's pod selection for ambient mode ("Add workloads to the mesh", istio.io): ambient
 * when the namespace or the pod is labelled `istio.io/dataplane-mode=ambient` (the pod's
 * label wins, so `none` opts a pod out) and the pod has no injected sidecar (sidecar
 * injection takes precedence); istio-cni's `ambient.istio.io/redirection: enabled` on the
 * pod says it was captured, which counts when the Namespace object is not in the dump.
 * hostNetwork pods are never captured.
 */
export function dataplaneOf(
  pod: { labels: Readonly<Record<string, string>>; hasSidecar: boolean; hostNetwork: boolean; annotations?: Readonly<Record<string, string>> },
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): Dataplane {
  if (pod.hasSidecar || pod.annotations?.['sidecar.istio.io/status'] !== undefined) return 'sidecar';
  if (pod.hostNetwork) return 'none';
  const mode = pod.labels[DATAPLANE_MODE_LABEL] ?? namespaceLabels?.[DATAPLANE_MODE_LABEL];
  if (mode === 'ambient') return 'ambient';
  if (mode === undefined && pod.annotations?.[AMBIENT_REDIRECTION_ANNOTATION] === 'enabled') return 'ambient';
  return 'none';
}

/**
 * The waypoint an ambient pod uses: the pod's label over its namespace's; `#none` opts out.
 * (A Service's label also applies, to traffic addressed to the Service: see buildInventory.)
 */
function waypointOf(podLabels: Readonly<Record<string, string>>, namespaceLabels: Readonly<Record<string, string>> | undefined): string | undefined {
  const w = podLabels[USE_WAYPOINT_LABEL] ?? namespaceLabels?.[USE_WAYPOINT_LABEL];
  return w === undefined || w === '' || w === '#none' ? undefined : w;
}

/** A pod's dataplane; a pod built without one (not from a dump) is a sidecar pod or unmeshed. */
export function podDataplane(p: Pick<Pod, 'dataplane' | 'hasSidecar'>): Dataplane {
  return p.dataplane ?? (p.hasSidecar ? 'sidecar' : 'none');
}

/** Labels that differ per revision or per pod: never part of a workload's identity. */
const UNSTABLE_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
  'security.istio.io/tlsMode',
  'service.istio.io/canonical-revision',
]);

/** A top-level controller in the dump, whether or not any of its pods are. */
interface Controller {
  key: string;
  namespace: string;
  kind: string;
  name: string;
  labels: Record<string, string>;
}

/** Kinds that own pods and are not owned themselves (a Job is, when a CronJob made it). */
const CONTROLLER_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job']);

export interface Inventory {
  pods: Pod[];
  /** Top-level controllers by workload key, including those with no pods. */
  controllers: Map<string, Controller>;
  services: Service[];
  namespaces: string[];
  /** Labels of the Namespace objects in the dump (NetworkPolicy namespaceSelectors read them). */
  namespaceLabels: Map<string, Record<string, string>>;
  /** Workloads by key, each with the labels common to all its pods. */
  workloads: Map<string, Identity>;
  podsByIp: Map<string, Pod[]>;
  podsByName: Map<string, Pod[]>;
  nodeIps: Set<string>;
  /** Addresses that more than one live pod claims (a stale dump, a CNI fault): each is a warning, and which pod resolves is decided by resolve.ts's `holdsOver`, never by item order. */
  ipConflicts: IpConflict[];
}

export interface IpConflict {
  ip: string;
  /** `namespace/name` of every live pod that claims it, sorted; the one that wins resolution first. */
  pods: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const labelsOf = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  const o = rec(v);
  // Keys, not entries: no pair array per label of every object.
  for (const k of Object.keys(o)) {
    const val = o[k];
    if (typeof val === 'string') out[k] = val;
  }
  return out;
};
const time = (v: unknown): number | undefined => {
  const s = str(v);
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

interface Owner {
  kind: string;
  name: string;
}

function controllerOf(meta: Record<string, unknown>): Owner | undefined {
  const refs = arr(meta['ownerReferences']);
  const ref = refs.length === 0 ? undefined : rec(refs.find((r) => rec(r)['controller'] === true) ?? refs[0]);
  const kind = str(ref?.['kind']);
  const name = str(ref?.['name']);
  return kind !== undefined && name !== undefined ? { kind, name } : undefined;
}

/**
 * The inventory of every object in the dumps at `paths` (JSON or YAML, each `FILE` or
 * `FILE@TIME`: snapshots.ts combines them), with the pods `learned` from the logs.
 */
export async function loadInventory(paths: readonly string[], learned: readonly LearnedPod[] = []): Promise<Inventory> {
  return buildInventory((await loadCombined(paths, learned)).objects);
}

/**
 * Whether `a` wins an IP over `b` where both could hold it: the later-started pod, and between
 * pods started at the same time (or with no start known) the first by namespace, name and uid,
 * so that the order of the items in a dump never decides (buildInventory reports such conflicts).
 */
export function holdsOver(a: Pod, b: Pod): boolean {
  const sa = a.start ?? 0;
  const sb = b.start ?? 0;
  if (sa !== sb) return sa > sb;
  return compare(`${a.namespace}/${a.name}/${a.uid}`, `${b.namespace}/${b.name}/${b.uid}`) < 0;
}

export function buildInventory(objects: readonly KubeObject[]): Inventory {
  const owners = new Map<string, Owner | undefined>(); // `kind/ns/name` → its controller
  const cronJobs = new Set<string>(); // `ns/name`
  const namespaces = new Set<string>();
  const namespaceLabels = new Map<string, Record<string, string>>();
  const podObjects: KubeObject[] = [];
  const services: Service[] = [];
  const controllerObjects: KubeObject[] = [];
  for (const o of objects) {
    const meta = o.metadata;
    const ns = str(meta['namespace']) ?? '';
    const name = str(meta['name']) ?? '';
    switch (o.kind) {
      case 'Pod':
        podObjects.push(o);
        break;
      case 'Namespace':
        namespaces.add(name);
        namespaceLabels.set(name, labelsOf(meta['labels']));
        break;
      case 'CronJob':
        cronJobs.add(`${ns}/${name}`);
        break;
      case 'Service':
        services.push(serviceOf(o, ns, name));
        break;
      default:
        owners.set(`${o.kind}/${ns}/${name}`, controllerOf(meta));
    }
    if (ns !== '') namespaces.add(ns);
    if (CONTROLLER_KINDS.has(o.kind)) controllerObjects.push(o);
  }

  // Pod → top-level controller. When an intermediate owner is missing from the dump (a
  // ReplicaSet or Job cleaned up), fall back on the naming conventions of its controller,
  // so a CronJob's pods stay one workload instead of one per run.
  const topOwner = (ns: string, pod: KubeObject, labels: Record<string, string>): Owner => {
    let owner = controllerOf(pod.metadata);
    if (owner === undefined) return { kind: 'Pod', name: str(pod.metadata['name']) ?? '' };
    for (let depth = 0; depth < 5; depth++) {
      const k = `${owner.kind}/${ns}/${owner.name}`;
      if (owners.has(k)) {
        const next = owners.get(k);
        if (next === undefined) return owner;
        owner = next;
        continue;
      }
      if (owner.kind === 'ReplicaSet') {
        const hash = labels['pod-template-hash'];
        if (hash !== undefined && owner.name.endsWith('-' + hash)) return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
      }
      if (owner.kind === 'Job') {
        const m = /^(.+)-\d{8,}$/.exec(owner.name);
        if (m !== null && cronJobs.has(`${ns}/${m[1]}`)) return { kind: 'CronJob', name: m[1]! };
      }
      return owner;
    }
    return owner;
  };

  const pods: Pod[] = [];
  const podsByWorkload = new Map<string, Pod[]>();
  for (const o of podObjects) {
    const meta = o.metadata;
    const spec = rec(o['spec']);
    const status = rec(o['status']);
    const ns = str(meta['namespace']) ?? 'default';
    const name = str(meta['name']) ?? '';
    const labels = labelsOf(meta['labels']);
    const owner = topOwner(ns, o, labels);
    const key = workloadKey(ns, owner.kind, owner.name);
    const ips = arr(status['podIPs']).map((p) => str(rec(p)['ip'])).filter((ip): ip is string => ip !== undefined);
    const podIP = str(status['podIP']);
    if (podIP !== undefined && !ips.includes(podIP)) ips.unshift(podIP);
    const containers = arr(spec['containers']).map(rec);
    const phase = str(status['phase']);
    let end = time(meta['deletionTimestamp']);
    if (end === undefined && (phase === 'Succeeded' || phase === 'Failed')) {
      for (const cs of arr(status['containerStatuses']).map(rec)) {
        const finished = time(rec(rec(cs['state'])['terminated'])['finishedAt']);
        if (finished !== undefined && (end === undefined || finished > end)) end = finished;
      }
    }
    const start = time(status['startTime']) ?? time(meta['creationTimestamp']);
    const pod: Pod = {
      namespace: ns,
      name,
      uid: str(meta['uid']) ?? '',
      ips,
      hostNetwork: spec['hostNetwork'] === true,
      serviceAccount: str(spec['serviceAccountName']) ?? str(spec['serviceAccount']) ?? 'default',
      labels,
      ports: containerPorts(containers),
      hasSidecar: containers.some((c) => c['name'] === 'istio-proxy') || arr(spec['initContainers']).some((c) => rec(c)['name'] === 'istio-proxy'),
      workload: { kind: 'workload', key, namespace: ns, workloadKind: owner.kind, name: owner.name },
      // Replaced below, with the workload's labels, once all its pods are known.
      identity: { kind: 'workload', key, name: owner.name },
    };
    // Set, not spread in: the same fields in the same order, without a throwaway object per pod.
    if (start !== undefined) pod.start = start;
    if (end !== undefined) pod.end = end;
    const hostIP = str(status['hostIP']);
    if (hostIP !== undefined) pod.hostIP = hostIP;
    const nsLabels = namespaceLabels.get(ns);
    pod.dataplane = dataplaneOf({ labels, hasSidecar: pod.hasSidecar, hostNetwork: pod.hostNetwork, annotations: labelsOf(meta['annotations']) }, nsLabels);
    const waypoint = pod.dataplane === 'ambient' ? waypointOf(labels, nsLabels) : undefined;
    if (waypoint !== undefined) pod.waypoint = waypoint;
    pods.push(pod);
    (podsByWorkload.get(key) ?? podsByWorkload.set(key, []).get(key)!).push(pod);
  }

  // A workload's labels are those every one of its pods carries, minus per-revision hashes.
  const workloads = new Map<string, Identity>();
  for (const key of [...podsByWorkload.keys()].sort(compare)) {
    const list = podsByWorkload.get(key)!;
    const common: Record<string, string> = {};
    const first = list[0]!.labels;
    for (const k of Object.keys(first)) {
      const v = first[k]!;
      if (!UNSTABLE_LABELS.has(k) && list.every((p) => p.labels[k] === v)) common[k] = v;
    }
    const identity: Identity = { ...list[0]!.workload, labels: common };
    workloads.set(key, identity);
    for (const p of list) {
      p.workload = identity;
      p.identity = { ...identity, serviceAccount: p.serviceAccount };
    }
  }

  // A Service labelled istio.io/use-waypoint sends its traffic through that waypoint: its
  // ambient pods are behind it too (for traffic addressed to the Service).
  for (const svc of services) {
    if (svc.waypoint === undefined || svc.selector === undefined || Object.keys(svc.selector).length === 0) continue;
    for (const p of pods) {
      if (p.namespace === svc.namespace && p.dataplane === 'ambient' && p.waypoint === undefined && selects(svc.selector, p.labels)) p.waypoint = svc.waypoint;
    }
  }

  const podsByIp = new Map<string, Pod[]>();
  const podsByName = new Map<string, Pod[]>();
  const nodeIps = new Set<string>();
  for (const p of pods) {
    if (p.hostIP !== undefined) nodeIps.add(p.hostIP);
    (podsByName.get(p.name) ?? podsByName.set(p.name, []).get(p.name)!).push(p);
    if (p.hostNetwork) {
      for (const ip of p.ips) nodeIps.add(ip);
      continue;
    }
    for (const ip of p.ips) (podsByIp.get(ip) ?? podsByIp.set(ip, []).get(ip)!).push(p);
  }
  const ipConflicts: IpConflict[] = [];
  for (const [ip, list] of podsByIp) {
    // A stable order, whatever the dump's: later-started first, then by name (resolve.ts, holdsOver).
    list.sort((a, b) => (holdsOver(a, b) ? -1 : holdsOver(b, a) ? 1 : 0));
    const live = list.filter((p) => p.end === undefined);
    if (live.length > 1) ipConflicts.push({ ip, pods: live.map((p) => `${p.namespace}/${p.name}`) });
  }
  ipConflicts.sort((a, b) => compare(a.ip, b.ip));
  const controllers = new Map<string, Controller>();
  for (const o of controllerObjects) {
    if (o.kind === 'Job' && controllerOf(o.metadata) !== undefined) continue;
    const namespace = str(o.metadata['namespace']) ?? 'default';
    const name = str(o.metadata['name']) ?? '';
    const key = workloadKey(namespace, o.kind, name);
    controllers.set(key, { key, namespace, kind: o.kind, name, labels: labelsOf(o.metadata['labels']) });
  }
  return { pods, controllers, services, namespaces: [...namespaces].sort(compare), namespaceLabels, workloads, podsByIp, podsByName, nodeIps, ipConflicts };
}

/** The ports the containers declare, in their order (those without a numeric containerPort skipped). */
function containerPorts(containers: readonly Record<string, unknown>[]): ContainerPort[] {
  const ports: ContainerPort[] = [];
  for (const c of containers) {
    for (const p of arr(c['ports']).map(rec)) {
      const port = p['containerPort'];
      if (typeof port !== 'number') continue;
      const protocol = str(p['protocol']) ?? 'TCP';
      const n = str(p['name']);
      ports.push(n === undefined ? { port, protocol } : { port, protocol, name: n });
    }
  }
  return ports;
}

function serviceOf(o: KubeObject, namespace: string, name: string): Service {
  const spec = rec(o['spec']);
  const clusterIPs = arr(spec['clusterIPs']).map(str).filter((s): s is string => s !== undefined && s !== 'None');
  const cip = str(spec['clusterIP']);
  if (cip !== undefined && cip !== 'None' && !clusterIPs.includes(cip)) clusterIPs.unshift(cip);
  const selector = spec['selector'] === undefined ? undefined : labelsOf(spec['selector']);
  const waypoint = waypointOf(labelsOf(o.metadata['labels']), undefined);
  return {
    namespace,
    name,
    clusterIPs,
    ...(selector === undefined ? {} : { selector }),
    ...(waypoint === undefined ? {} : { waypoint }),
    ports: servicePorts(arr(spec['ports'])),
  };
}

/** A Service's ports, in their order (those without a numeric port skipped). */
function servicePorts(given: readonly unknown[]): ServicePort[] {
  const ports: ServicePort[] = [];
  for (const p of given.map(rec)) {
    const port = p['port'];
    if (typeof port !== 'number') continue;
    const tp = p['targetPort'];
    const out: ServicePort = { port, targetPort: typeof tp === 'number' || typeof tp === 'string' ? tp : port, protocol: str(p['protocol']) ?? 'TCP' };
    // Set, not spread in: the same fields in the same order, without throwaway objects.
    const n = str(p['name']);
    if (n !== undefined) out.name = n;
    const ap = str(p['appProtocol']);
    if (ap !== undefined) out.appProtocol = ap;
    ports.push(out);
  }
  return ports;
}
