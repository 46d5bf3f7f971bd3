// What every emitter returns: manifests with the comments a reviewer reads beside them,
// and findings for what it could not or would not express.

import { createHash } from 'node:crypto';
import type { AccessRule, RuleSet, WorkloadFacts } from '../rules/access-rule.js';
import { istioPath } from '../rules/access-rule.js';
import type { Finding } from '../rules/finding.js';
import { nameSegment, type Manifest } from './manifest.js';
import type { NodeComment } from './yaml.js';

export interface Emitted {
  manifest: Manifest;
  /** Set when the manifest must not be applied as it is (STRICT mTLS not ready): written with a suffix kubectl ignores. */
  notReady?: boolean;
  header: string[];
  comments: NodeComment[];
}

export interface EmitResult {
  target: string;
  manifests: Emitted[];
  findings: Finding[];
}

// Times come from graph.json, checked to fall in 2000–2099, so the ISO form has a four-digit year.
const iso = (ms: number | null) => (ms === null ? '?' : `${new Date(ms).toISOString().slice(0, 19)}Z`);

/** Which sources saw the traffic and what each counted: `access-log 120 = istio-metrics 118` (fusion keeps the largest). */
function sourcesText(e: AccessRule['evidence']): string {
  const names = Object.keys(e.sources);
  const counted = names.length === 0 ? '' : ` (${names.map((n) => `${n} ${e.sources[n]}`).join(', ')})`;
  return `${e.decoders.join('+')}${counted}`;
}

/** One line of evidence: the other end (the source, or for egress the destination), how much, when, how sure. */
export function evidenceLine(r: AccessRule, side: 'from' | 'to' = 'from'): string {
  const e = r.evidence;
  const mtls = e.mutual + e.plaintext === 0 ? 'mTLS not observed' : `${e.mutual} mTLS / ${e.plaintext} plaintext`;
  const peer = side === 'from' ? `${r.from.key} -> :${r.port}/${r.protocol}` : `-> ${r.to.key}:${r.port}/${r.protocol}`;
  return `${peer}: ${e.requests} requests (${mtls}), ${iso(e.firstSeen)} .. ${iso(e.lastSeen)} on ${e.daysSeen} day(s), from ${sourcesText(e)}, confidence ${r.confidence}`;
}

/** Lines saying how the rule's operations relate to what was observed. */
export function breadthLines(r: AccessRule): string[] {
  const out: string[] = [];
  if (r.paths !== 'any') {
    for (const m of r.paths) if (m.kind === 'prefix') out.push(`  ${istioPath(m)} stands for ${m.covers.join(', ')}`);
  }
  for (const n of r.notes) out.push(`  note: ${n}`);
  return out;
}

const bySegment = new WeakMap<readonly WorkloadFacts[], ReadonlyMap<string, readonly WorkloadFacts[]>>();

/** Workloads by namespace and name segment, in list order: built once per list, not per name asked. */
function sameNameSegment(all: readonly WorkloadFacts[]): ReadonlyMap<string, readonly WorkloadFacts[]> {
  let m = bySegment.get(all);
  if (m === undefined) {
    const index = new Map<string, WorkloadFacts[]>();
    for (const x of all) {
      const key = `${x.namespace}\n${nameSegment(x.name)}`;
      const list = index.get(key);
      if (list === undefined) index.set(key, [x]);
      else list.push(x);
    }
    bySegment.set(all, (m = index));
  }
  return m;
}

/**
 * The part of an object name that stands for a workload: its name, or kind-name when
 * another workload of the namespace would give the same name (a Deployment and a
 * StatefulSet both called `redis`, or `a.b` next to `a-b`), so no object overwrites another.
 */
export function workloadNamePart(w: WorkloadFacts, all: readonly WorkloadFacts[]): string {
  const clashes = (sameNameSegment(all).get(`${w.namespace}\n${nameSegment(w.name)}`) ?? []).filter((x) => x.key !== w.key);
  if (clashes.length === 0) return w.name;
  // The kind tells a Deployment from a StatefulSet; a short hash of the key tells `a.b` from `a-b`.
  if (clashes.every((x) => x.kind !== w.kind)) return `${w.kind.toLowerCase()}-${w.name}`;
  return `${w.kind.toLowerCase()}-${w.name}-${createHash('sha256').update(w.key).digest('hex').slice(0, 6)}`;
}

export function windowLine(rs: RuleSet): string {
  return `observed ${iso(rs.window.first)} .. ${iso(rs.window.last)}`;
}
