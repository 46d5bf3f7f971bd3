// Several inventory snapshots, and the pods the logs showed, as one set of objects.
//
// `-i FILE` may be given more than once. Each file is a snapshot taken at some time: given
// as `-i FILE@2026-11-24T10:00:00Z`, or else the newest time recorded inside the dump (a
// pod's start, a container's start or finish, a condition's transition, a managedFields
// entry: the dump was taken at that time or later). Files without Pods (a dump of Services
// only) are parts of a snapshot as much as snapshots of their own; nothing is inferred from
// what they lack.
//
// Combined: every object once, in the state of the latest snapshot that has it. A pod present
// in one snapshot and absent from a later one that lists pods of its namespace ended between
// the two: it is given the later snapshot's time as its end, so that its IP, which another pod
// may hold afterwards, is not its own forever. Pods the logs showed (learned.ts) are added when
// no snapshot has them, and widen the lifetime of those some snapshot has.

import { InputError } from '../errors.js';
import { controllerIndex, guessOwner, isLearnedPod, learnedPodObject, type LearnedOwner, type LearnedPod } from './learned.js';
import { loadObjects, type KubeObject } from './load.js';
import { compare } from '../flow/compare.js';

export interface Snapshot {
  path: string;
  /** Epoch ms; undefined when neither the flag nor the dump says. */
  time: number | undefined;
  timeFrom: 'flag' | 'newest-in-dump' | 'unknown';
  objects: KubeObject[];
}

export interface ChurnReport {
  /** The pod objects added from their own lines (observe writes them as learned-pods.json). */
  addedPods: KubeObject[];
  snapshots: { path: string; time: number | undefined; timeFrom: Snapshot['timeFrom']; pods: number }[];
  /** Pods present in a snapshot and absent from a later one: ended in between. */
  podsEnded: number;
  learned: {
    /** Pods whose own lines were read. */
    pods: number;
    /** Of those, in some snapshot already (their lifetime widened to their lines). */
    inInventory: number;
    /** Added from their lines, by how their workload was found. */
    added: Partial<Record<LearnedOwner, number>>;
    /** Added pods whose name leads to no controller of any snapshot (`NS/POD`, first few). */
    withoutController: string[];
    /** IPs left unbound: two pods' own lines claim them at overlapping times, or a snapshot says otherwise. */
    conflicts: string[];
  };
}

const TIME_SUFFIX = /^(.+)@(\d{4}-\d\d-\d\dT[^@]*)$/;

/** `FILE` or `FILE@TIME` (RFC 3339). */
export function parseInventorySpec(spec: string): { path: string; time?: number } {
  const m = TIME_SUFFIX.exec(spec);
  if (m === null) return { path: spec };
  const time = Date.parse(m[2]!);
  if (Number.isNaN(time) || !/(?:Z|[+-]\d\d:\d\d)$/.test(m[2]!)) {
    throw new InputError(`reading inventory: the snapshot time of ${m[1]} is not an RFC 3339 time with a zone (${m[2]}). Write it as FILE@2026-11-24T10:00:00Z.`);
  }
  return { path: m[1]!, time };
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The newest time the dump records as past: creation, status times, managedFields (never deletionTimestamp, which may lie ahead). */
export function newestTimestamp(objects: readonly KubeObject[]): number | undefined {
  let newest: number | undefined;
  const see = (v: unknown) => {
    if (typeof v !== 'string' || !RFC3339.test(v)) return;
    const t = Date.parse(v);
    if (!Number.isNaN(t) && (newest === undefined || t > newest)) newest = t;
  };
  const walk = (v: unknown, depth: number) => {
    if (depth > 8) return;
    if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) walk(x, depth + 1);
    else see(v);
  };
  for (const o of objects) {
    see(o.metadata['creationTimestamp']);
    for (const f of Array.isArray(o.metadata['managedFields']) ? o.metadata['managedFields'] : []) see(rec(f)['time']);
    walk(o['status'], 0);
  }
  return newest;
}

/** A snapshot; its default time (a walk over every object) only when `dated`: one snapshot needs none. */
async function loadSnapshot(spec: string, dated = true): Promise<Snapshot> {
  const { path, time } = parseInventorySpec(spec);
  const objects = await loadObjects(path);
  if (time !== undefined) return { path, time, timeFrom: 'flag', objects };
  if (!dated) return { path, time: undefined, timeFrom: 'unknown', objects };
  const newest = newestTimestamp(objects);
  return { path, time: newest, timeFrom: newest === undefined ? 'unknown' : 'newest-in-dump', objects };
}

const nsOf = (o: KubeObject) => str(o.metadata['namespace']) ?? (o.kind === 'Namespace' ? '' : 'default');
const nameOf = (o: KubeObject) => str(o.metadata['name']) ?? '';
/** A pod is itself by uid (a StatefulSet's `web-0` is a new pod after each replacement). */
const podKey = (o: KubeObject) => {
  const uid = str(o.metadata['uid']);
  return uid === undefined || uid === '' ? `Pod/${nsOf(o)}/${nameOf(o)}` : `Pod#${uid}`;
};
const objectKey = (o: KubeObject) => (o.kind === 'Pod' ? podKey(o) : `${o.kind}/${nsOf(o)}/${nameOf(o)}`);

/** The end of a pod's lifetime the object itself records, as inventory.ts reads it. */
function recordedEnd(o: KubeObject): number | undefined {
  const del = str(o.metadata['deletionTimestamp']);
  if (del !== undefined) return Date.parse(del);
  const status = rec(o['status']);
  if (status['phase'] !== 'Succeeded' && status['phase'] !== 'Failed') return undefined;
  let end: number | undefined;
  for (const cs of Array.isArray(status['containerStatuses']) ? status['containerStatuses'] : []) {
    const f = str(rec(rec(rec(cs)['state'])['terminated'])['finishedAt']);
    const t = f === undefined ? NaN : Date.parse(f);
    if (!Number.isNaN(t) && (end === undefined || t > end)) end = t;
  }
  return end;
}

/** A copy of a pod object with `metadata` and `status` changed. */
function withPod(o: KubeObject, meta: Record<string, unknown>, status: Record<string, unknown>): KubeObject {
  return { ...o, metadata: { ...o.metadata, ...meta }, status: { ...rec(o['status']), ...status } };
}

const iso = (t: number) => new Date(t).toISOString();
const podIps = (status: Record<string, unknown>): string[] => {
  const ips = new Set<string>();
  const ip = str(status['podIP']);
  if (ip !== undefined) ips.add(ip);
  for (const p of Array.isArray(status['podIPs']) ? status['podIPs'] : []) {
    const x = str(rec(p)['ip']);
    if (x !== undefined) ips.add(x);
  }
  return [...ips];
};
/** Two pods' own lines may overlap by this much when one IP passes from one to the other (clock skew, log flush). */
const HANDOVER_MS = 60_000;
const MAX_LISTED = 20;

/** The snapshots and learned pods as one list of objects, each once; and what was inferred. */
export function combineSnapshots(snapshots: readonly Snapshot[], learned: readonly LearnedPod[] = []): { objects: KubeObject[]; report: ChurnReport } {
  // Oldest first; snapshots of unknown time keep their command-line order, before the others.
  const order = snapshots.map((s, i) => ({ s, i })).sort((a, b) => (a.s.time ?? -Infinity) - (b.s.time ?? -Infinity) || a.i - b.i).map((x) => x.s);
  const objects = new Map<string, KubeObject>();
  const lastIn = new Map<string, number>(); // pod key → index in `order` of the last snapshot that has it
  // Pods learned from logs (a learned-pods.json given to -i) say nothing of which pods ended.
  const podNamespaces = order.map((s) => new Set(s.objects.filter((o) => o.kind === 'Pod' && !isLearnedPod(o)).map(nsOf)));
  for (const [k, s] of order.entries()) {
    for (const o of s.objects) {
      const key = objectKey(o);
      objects.set(key, o);
      if (o.kind === 'Pod') lastIn.set(key, k);
    }
  }
  // The pods given an end below, as their snapshot had them (every other pod is still its snapshot's object).
  const original = new Map<string, KubeObject>();
  let podsEnded = 0;
  for (const [key, k] of lastIn) {
    const o = objects.get(key)!;
    if (recordedEnd(o) !== undefined) continue;
    const ns = nsOf(o);
    const since = order[k]!.time;
    const later = order.slice(k + 1).find((s, j) => s.time !== undefined && (since === undefined || s.time > since) && podNamespaces[k + 1 + j]!.has(ns));
    if (later === undefined) continue;
    original.set(key, o);
    objects.set(key, withPod(o, { deletionTimestamp: iso(later.time!) }, {}));
    podsEnded++;
  }

  const report: ChurnReport = {
    addedPods: [],
    snapshots: snapshots.map((s) => ({ path: s.path, time: s.time, timeFrom: s.timeFrom, pods: s.objects.filter((o) => o.kind === 'Pod').length })),
    podsEnded,
    learned: { pods: learned.length, inInventory: 0, added: {}, withoutController: [], conflicts: [] },
  };
  if (learned.length === 0) return { objects: [...objects.values()], report };

  // Addresses that are never one pod's: nodes' (hostNetwork pods share them).
  const nodeIps = new Set<string>();
  const podsByName = new Map<string, string[]>(); // ns/name → pod keys
  for (const [key, o] of objects) {
    if (o.kind !== 'Pod') continue;
    const status = rec(o['status']);
    const host = str(status['hostIP']);
    if (host !== undefined) nodeIps.add(host);
    if (rec(o['spec'])['hostNetwork'] === true) {
      const ip = str(status['podIP']);
      if (ip !== undefined) nodeIps.add(ip);
    }
    const n = `${nsOf(o)}/${nameOf(o)}`;
    (podsByName.get(n) ?? podsByName.set(n, []).get(n)!).push(key);
  }

  // When a snapshot's pod certainly held an IP: from its start to its recorded end, or else to
  // the last snapshot that shows it (an end inferred from its absence is only an upper bound).
  const held = new Map<string, { key: string; from: number; to: number }[]>();
  // An undated snapshot (a single -i) was taken no earlier than the newest time inside it.
  const takenBy = new Map<number, number | undefined>();
  const timeOf = (k: number) => {
    if (!takenBy.has(k)) takenBy.set(k, order[k]!.time ?? newestTimestamp(order[k]!.objects));
    return takenBy.get(k);
  };
  for (const [key, o] of objects) {
    if (o.kind !== 'Pod' || rec(o['spec'])['hostNetwork'] === true) continue;
    const status = rec(o['status']);
    const from = Date.parse(str(status['startTime']) ?? str(o.metadata['creationTimestamp']) ?? '');
    const k = lastIn.get(key);
    const to = recordedEnd(original.get(key) ?? o) ?? (k === undefined ? undefined : timeOf(k));
    if (Number.isNaN(from) || to === undefined) continue;
    for (const ip of podIps(status)) (held.get(ip) ?? held.set(ip, []).get(ip)!).push({ key, from, to });
  }

  // An IP two learned pods claim at overlapping times (beyond a handover) is bound to neither:
  // one of the two logs is not where it says it is, and a wrong binding is worse than none.
  // Nor is one a snapshot's pod certainly held then: the address in the lines is the proxy's
  // own account, a log's location is second-hand.
  const claims = new Map<string, LearnedPod[]>();
  for (const p of learned) for (const ip of p.ips) (claims.get(ip) ?? claims.set(ip, []).get(ip)!).push(p);
  const dropped = new Set<string>(); // `ip|ns/name`
  for (const [ip, list] of [...claims].sort((a, b) => compare(a[0], b[0]))) {
    if (nodeIps.has(ip)) {
      for (const p of list) dropped.add(`${ip}|${p.namespace}/${p.name}`);
      continue;
    }
    for (const p of list) {
      const mine = (podsByName.get(`${p.namespace}/${p.name}`) ?? []).filter((k) => p.uid === undefined || k === `Pod#${p.uid}` || k.startsWith('Pod/'));
      const other = (held.get(ip) ?? []).find((h) => !mine.includes(h.key) && h.from <= p.last - HANDOVER_MS && p.first <= h.to - HANDOVER_MS);
      if (other === undefined) continue;
      dropped.add(`${ip}|${p.namespace}/${p.name}`);
      const o = objects.get(other.key)!;
      if (report.learned.conflicts.length < MAX_LISTED) report.learned.conflicts.push(`${ip}: ${p.namespace}/${p.name} shows it as its own while ${nsOf(o)}/${nameOf(o)} held it (the inventory is kept)`);
    }
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.first <= b.last - HANDOVER_MS && b.first <= a.last - HANDOVER_MS) {
          dropped.add(`${ip}|${a.namespace}/${a.name}`);
          dropped.add(`${ip}|${b.namespace}/${b.name}`);
          if (report.learned.conflicts.length < MAX_LISTED) report.learned.conflicts.push(`${ip}: ${a.namespace}/${a.name} and ${b.namespace}/${b.name} both show it as their own at overlapping times`);
        }
      }
    }
  }

  const index = controllerIndex([...objects.values()]);
  for (const p of learned) {
    const ips = p.ips.filter((ip) => !dropped.has(`${ip}|${p.namespace}/${p.name}`));
    const candidates = (podsByName.get(`${p.namespace}/${p.name}`) ?? []).filter((k) => p.uid === undefined || k === `Pod#${p.uid}` || k.startsWith('Pod/'));
    const key = p.uid !== undefined && objects.has(`Pod#${p.uid}`) ? `Pod#${p.uid}` : candidates.at(-1);
    if (key !== undefined) {
      // In a snapshot: its lines show it alive until `last` at least, and its address if the snapshot has none.
      report.learned.inInventory++;
      const o = objects.get(key)!;
      const status = rec(o['status']);
      const meta: Record<string, unknown> = {};
      const st: Record<string, unknown> = {};
      const end = recordedEnd(o);
      if (end !== undefined && end < p.last) meta['deletionTimestamp'] = iso(p.last);
      const known = str(status['podIP']);
      if (known === undefined && ips.length > 0) {
        st['podIP'] = ips[0];
        st['podIPs'] = ips.map((ip) => ({ ip }));
      } else if (known !== undefined && ips.length > 0 && !ips.includes(known) && report.learned.conflicts.length < MAX_LISTED) {
        report.learned.conflicts.push(`${p.namespace}/${p.name}: its lines show ${ips.join(', ')} as its own, the inventory ${known} (the inventory is kept)`);
      }
      if (Object.keys(meta).length > 0 || Object.keys(st).length > 0) objects.set(key, withPod(o, meta, st));
      continue;
    }
    const guess = guessOwner(p.namespace, p.name, index);
    report.learned.added[guess.owner] = (report.learned.added[guess.owner] ?? 0) + 1;
    if (guess.owner === 'none' && report.learned.withoutController.length < MAX_LISTED) report.learned.withoutController.push(`${p.namespace}/${p.name}`);
    const o = learnedPodObject({ ...p, ips }, guess);
    report.addedPods.push(o);
    objects.set(p.uid === undefined ? `Pod/${p.namespace}/${p.name}#learned` : `Pod#${p.uid}`, o);
  }
  return { objects: [...objects.values()], report };
}

/** Loads every `FILE[@TIME]` and combines them with the learned pods. */
export async function loadCombined(specs: readonly string[], learned: readonly LearnedPod[] = []): Promise<{ objects: KubeObject[]; report: ChurnReport }> {
  return combineSnapshots(await Promise.all(specs.map((spec) => loadSnapshot(spec, specs.length > 1))), learned);
}
