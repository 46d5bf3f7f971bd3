// Pods the telemetry shows that no inventory snapshot holds: over a week most pods are
// replaced by rollouts, but a dump is one moment. A sidecar's own log names its pod (the log's
// location) and its pod's address (its own side of every connection), so the logs themselves
// bind an IP to a pod for the time the pod was writing. This module turns those bindings into
// pod objects, with the controller their names say they belong to, so the inventory resolves
// them as it resolves any pod (time-aware, through ownerReferences).

import type { KubeObject } from './load.js';

/** What one pod's own access-log lines show about it. Plain data: it crosses worker boundaries. */
export interface LearnedPod {
  namespace: string;
  name: string;
  /** From a `/var/log/pods/NS_POD_UID/` path, when the log was collected there. */
  uid?: string;
  /** Its own addresses (outbound `upstream_local_address`, inbound `downstream_local_address`), sorted. */
  ips: string[];
  /** Epoch ms of the earliest and latest of its lines read. */
  first: number;
  last: number;
}

/** Why a learned pod's workload is what it is. */
export type LearnedOwner = 'replicaset' | 'deployment-by-name' | 'job' | 'cronjob-by-name' | 'statefulset' | 'daemonset' | 'none';

const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The random suffix the ReplicaSet, Job and DaemonSet controllers give a pod (`utilrand.String(5)`). */
const POD_SUFFIX = /^(.+)-([bcdfghjklmnpqrstvwxz2456789]{5})$/;
/** A ReplicaSet's name: the Deployment's and its `pod-template-hash`. */
const HASHED = /^(.+)-([bcdfghjklmnpqrstvwxz2456789]{1,10})$/;
/** A CronJob's Job: the CronJob's name and the scheduled minute since the epoch. */
const SCHEDULED = /^(.+)-(\d{8,})$/;
const ORDINAL = /^(.+)-(\d+)$/;

/** The objects of the kinds a pod name can lead to, by `Kind/ns/name`. */
export function controllerIndex(objects: readonly KubeObject[]): Map<string, KubeObject> {
  const out = new Map<string, KubeObject>();
  for (const o of objects) {
    if (o.kind === 'ReplicaSet' || o.kind === 'Deployment' || o.kind === 'Job' || o.kind === 'CronJob' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet') {
      out.set(`${o.kind}/${str(o.metadata['namespace']) ?? 'default'}/${str(o.metadata['name']) ?? ''}`, o);
    }
  }
  return out;
}

interface Guess {
  owner: LearnedOwner;
  ref?: { kind: string; name: string };
  /** The pod template the pod was made from: its labels, service account and containers. */
  template?: Record<string, unknown>;
  /** Labels the naming implies (`pod-template-hash`), which inventory.ts's fallbacks read. */
  labels?: Record<string, string>;
}

/**
 * The controller a pod's name says it belongs to, checked against the controllers some
 * snapshot holds: a name alone is never enough (`web-2` may be a bare pod).
 */
export function guessOwner(namespace: string, name: string, index: ReadonlyMap<string, KubeObject>): Guess {
  const get = (kind: string, n: string) => index.get(`${kind}/${namespace}/${n}`);
  const templateOf = (o: KubeObject) => rec(rec(o['spec'])['template']);
  const m = POD_SUFFIX.exec(name);
  if (m !== null) {
    const base = m[1]!;
    const rs = get('ReplicaSet', base);
    if (rs !== undefined) return { owner: 'replicaset', ref: { kind: 'ReplicaSet', name: base }, template: templateOf(rs) };
    // An Indexed Job's pods are `JOB-INDEX-xxxxx`.
    const indexed = ORDINAL.exec(base);
    const jobName = get('Job', base) !== undefined || indexed === null ? base : indexed[1]!;
    const job = get('Job', jobName);
    if (job !== undefined) return { owner: 'job', ref: { kind: 'Job', name: jobName }, template: templateOf(job) };
    const ds = get('DaemonSet', base);
    if (ds !== undefined) return { owner: 'daemonset', ref: { kind: 'DaemonSet', name: base }, template: templateOf(ds) };
    // The ReplicaSet or Job was cleaned up: its controller, by the names those controllers give.
    const h = HASHED.exec(base);
    const deployment = h === null ? undefined : get('Deployment', h[1]!);
    if (deployment !== undefined) {
      return { owner: 'deployment-by-name', ref: { kind: 'ReplicaSet', name: base }, template: templateOf(deployment), labels: { 'pod-template-hash': h![2]! } };
    }
    const s = SCHEDULED.exec(base);
    const cronJob = s === null ? undefined : get('CronJob', s[1]!);
    if (cronJob !== undefined) {
      return { owner: 'cronjob-by-name', ref: { kind: 'Job', name: base }, template: rec(rec(rec(rec(cronJob['spec'])['jobTemplate'])['spec'])['template']) };
    }
  }
  const o = ORDINAL.exec(name);
  const sts = o === null ? undefined : get('StatefulSet', o[1]!);
  if (sts !== undefined) return { owner: 'statefulset', ref: { kind: 'StatefulSet', name: o![1]! }, template: templateOf(sts) };
  return { owner: 'none' };
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * Marks a pod object made from a pod's own lines. A file of such pods (observe's
 * learned-pods.json) may be given to -i like any dump; it is no snapshot of the cluster, so
 * no pod is taken to have ended for being absent from it.
 */
const LEARNED_ANNOTATION = 'ztmap.io/learned-from';

export const isLearnedPod = (o: KubeObject): boolean => o.kind === 'Pod' && rec(o.metadata['annotations'])[LEARNED_ANNOTATION] !== undefined;

/**
 * A Pod object for a pod only its logs show: made from its controller's pod template (labels,
 * service account, ports), alive from its first to its last line, with the sidecar it had.
 */
export function learnedPodObject(p: LearnedPod, guess: Guess): KubeObject {
  const tmeta = rec(guess.template?.['metadata']);
  const tspec = rec(guess.template?.['spec']);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(tmeta['labels']))) if (typeof v === 'string') labels[k] = v;
  Object.assign(labels, guess.labels);
  const containers = Array.isArray(tspec['containers']) ? [...(tspec['containers'] as unknown[])] : [];
  // It wrote istio-proxy logs: injected at admission, so usually not in the template.
  if (!containers.some((c) => rec(c)['name'] === 'istio-proxy')) containers.push({ name: 'istio-proxy' });
  const serviceAccountName = str(tspec['serviceAccountName']) ?? str(tspec['serviceAccount']) ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: p.namespace,
      name: p.name,
      ...(p.uid === undefined ? {} : { uid: p.uid }),
      labels,
      annotations: { [LEARNED_ANNOTATION]: `its own access-log lines, ${iso(p.first)} to ${iso(p.last)}` },
      ...(guess.ref === undefined ? {} : { ownerReferences: [{ kind: guess.ref.kind, name: guess.ref.name, controller: true }] }),
      // Ended: by its last line (the inventory adds its slack for clock skew).
      deletionTimestamp: iso(p.last),
    },
    spec: { serviceAccountName, containers },
    status: {
      ...(p.ips.length === 0 ? {} : { podIP: p.ips[0], podIPs: p.ips.map((ip) => ({ ip })) }),
      startTime: iso(p.first),
    },
  };
}
