// Coverage and risk of a proposal (issue 3; docs/architecture.md, "Least privilege, measurably"): what the observation window
// could not have shown, and where the rules allow more than was observed. A reviewer
// decides with this in front of them.

import type { AccessRule, RuleSet, WorkloadFacts } from '../rules/access-rule.js';
import { istioPath } from '../rules/access-rule.js';

interface Breadth {
  rule: string;
  /** What is allowed beyond the observed operations, in words. */
  allows: string[];
  /** Observed path templates behind the allowed matches, and the matches themselves. */
  observedPaths: number;
  exactPaths: number;
  prefixPaths: number;
}

export interface Coverage {
  window: { first: string | null; last: string | null; hours: number | null };
  windowWarnings: string[];
  /** Workloads of managed namespaces nothing was observed calling: their deny-all is untested. */
  noInbound: { workload: string; sidecar: boolean; ambient?: boolean }[];
  /** Workloads of managed namespaces never observed calling out: their default-deny egress is untested. */
  noOutbound: { workload: string; sidecar: boolean; ambient?: boolean }[];
  /** CronJobs and Jobs with no pod running in the window: their traffic cannot be in the proposal. */
  idleJobs: string[];
  seenOnce: string[];
  /** Whether the window spans more than one UTC day (else every edge is a one-day edge). */
  multiDay: boolean;
  /** Edges seen on a single UTC day, when the window spans more than one. */
  oneDay: string[];
  broaderThanObserved: Breadth[];
}

const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;
/** An epoch-ms time as ISO 8601, or null when unknown: how the review writes every time. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function breadthOf(r: AccessRule): Breadth | undefined {
  if (r.protocol === 'tcp') return undefined;
  const allows: string[] = [];
  let exactPaths = 0;
  let prefixPaths = 0;
  if (r.paths === 'any') allows.push('any path');
  else {
    for (const m of r.paths) {
      if (m.kind === 'exact') exactPaths++;
      else {
        prefixPaths++;
        allows.push(`any path under ${istioPath(m)} (observed: ${m.covers.join(', ')})`);
      }
    }
  }
  if (r.methods === 'any') allows.push('any method');
  if (allows.length === 0) return undefined;
  return { rule: r.id, allows, observedPaths: r.evidence.paths.length, exactPaths, prefixPaths };
}

const dataplaneOf = (w: WorkloadFacts) => ({ workload: w.key, sidecar: w.hasSidecar, ...(w.dataplane === 'ambient' ? { ambient: true } : {}) });

function ranInWindow(w: WorkloadFacts, first: number, last: number): boolean {
  return w.pods.some((p) => (p.start ?? -Infinity) <= last && (p.end ?? Infinity) >= first);
}

export function coverageOf(rs: RuleSet): Coverage {
  const { first, last } = rs.window;
  const managed = new Set(rs.managedNamespaces);
  const workloads = rs.cluster.workloads.filter((w) => managed.has(w.namespace));
  const observed = [...rs.rules, ...rs.excluded];
  const hasIn = new Set(observed.map((r) => r.to.key));
  const hasOut = new Set(observed.map((r) => r.from.key));
  const hours = first === null || last === null ? null : Math.round(((last - first) / HOUR_MS) * 10) / 10;
  const windowWarnings: string[] = [];
  if (first === null || last === null) windowWarnings.push('no observation carried a timestamp: the window is unknown');
  else if (last - first < WEEK_MS) {
    windowWarnings.push(`the window is ${hours} h, shorter than a week: weekly and monthly jobs, batch runs and rare paths are likely missing from it`);
  }
  const multiDay = first !== null && last !== null && Math.floor(first / 86_400_000) !== Math.floor(last / 86_400_000);
  return {
    window: { first: iso(first), last: iso(last), hours },
    windowWarnings,
    noInbound: workloads.filter((w) => w.pods.length > 0 && !hasIn.has(w.key)).map(dataplaneOf),
    noOutbound: workloads.filter((w) => w.pods.length > 0 && !hasOut.has(w.key)).map(dataplaneOf),
    idleJobs: workloads
      .filter((w) => (w.kind === 'CronJob' || w.kind === 'Job') && (first === null || last === null || !ranInWindow(w, first, last)))
      .map((w) => w.key),
    seenOnce: rs.rules.filter((r) => r.evidence.requests <= 1).map((r) => r.id),
    multiDay,
    oneDay: multiDay ? rs.rules.filter((r) => r.evidence.daysSeen <= 1).map((r) => r.id) : [],
    broaderThanObserved: rs.rules.map(breadthOf).filter((b): b is Breadth => b !== undefined),
  };
}
