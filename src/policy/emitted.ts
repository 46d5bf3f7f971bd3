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

const iso = (ms: number | null) => (ms === null ? '?' : isoSecond(ms));

/** '00'..'99', made once: a proposal writes six two-digit fields per time and two times per evidence line. */
const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => (n < 10 ? '0' + n : String(n)));

/**
 * `new Date(ms).toISOString()` to the second (`2026-11-24T09:30:00Z`), by arithmetic: a
 * proposal writes two per evidence line, and the Date builtin made that 0.2 s of `propose`
 * at 5,000 workloads. The date part is made once per day (times of a proposal fall on few
 * days), the time part from TWO_DIGITS, so that a time allocates little more than itself.
 * Times come from graph.json, checked to fall in 2000–2099, so the year has four digits.
 */
export function isoSecond(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86_400);
  const inDay = seconds - days * 86_400;
  return `${dateOf(days)}T${TWO_DIGITS[Math.floor(inDay / 3600)]}:${TWO_DIGITS[Math.floor(inDay / 60) % 60]}:${TWO_DIGITS[inDay % 60]}Z`;
}

const dates = new Map<number, string>();

/** `2026-11-24` for days since 1970-01-01: H. Hinnant's `civil_from_days` (proleptic Gregorian, as Date), kept per day. */
function dateOf(days: number): string {
  let date = dates.get(days);
  if (date !== undefined) return date;
  const z = days + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153); // March = 0
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  dates.set(days, (date = `${year}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}`));
  return date;
}

/** Which sources saw the traffic and what each counted: `access-log 120 = istio-metrics 118` (fusion keeps the largest). */
function sourcesText(e: AccessRule['evidence']): string {
  const names = Object.keys(e.sources);
  const counted = names.length === 0 ? '' : ` (${names.map((n) => `${n} ${e.sources[n]}`).join(', ')})`;
  return `${e.decoders.join('+')}${counted}`;
}

/**
 * One line of evidence: the other end (the source, or for egress the destination), how much,
 * when, how sure. Made anew at each use, not kept: a rule's source line is written twice
 * (AuthorizationPolicy and NetworkPolicy), and keeping the lines of a whole proposal between
 * the two emitters cost as much, in collections that copy them, as making them again.
 */
export function evidenceLine(r: AccessRule, side: 'from' | 'to' = 'from'): string {
  const peer = side === 'from' ? `${r.from.key} -> :${r.port}/${r.protocol}` : `-> ${r.to.key}:${r.port}/${r.protocol}`;
  return evidenceLineOf(r, peer);
}

function evidenceLineOf(r: AccessRule, peer: string): string {
  const e = r.evidence;
  const mtls = e.mutual + e.plaintext === 0 ? 'mTLS not observed' : `${e.mutual} mTLS / ${e.plaintext} plaintext`;
  const observed = `${e.requests} requests (${mtls}), ${iso(e.firstSeen)} .. ${iso(e.lastSeen)} on ${e.daysSeen} day(s), from ${sourcesText(e)}, confidence ${r.confidence}`;
  // Joined, not a template: join makes one flat string, which each comment joining the
  // lines copies at once; a template's nested concatenations were walked at every copy.
  return [peer, observed].join(': ');
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
  // Memoized per list and workload: the Istio and NetworkPolicy emitters both name each workload.
  let parts = nameParts.get(all);
  if (parts === undefined) nameParts.set(all, (parts = new Map()));
  let part = parts.get(w.key);
  if (part === undefined) parts.set(w.key, (part = namePartOf(w, all)));
  return part;
}

const nameParts = new WeakMap<readonly WorkloadFacts[], Map<string, string>>();

function namePartOf(w: WorkloadFacts, all: readonly WorkloadFacts[]): string {
  const clashes = (sameNameSegment(all).get(`${w.namespace}\n${nameSegment(w.name)}`) ?? []).filter((x) => x.key !== w.key);
  if (clashes.length === 0) return w.name;
  // The kind tells a Deployment from a StatefulSet; a short hash of the key tells `a.b` from `a-b`.
  if (clashes.every((x) => x.kind !== w.kind)) return `${w.kind.toLowerCase()}-${w.name}`;
  return `${w.kind.toLowerCase()}-${w.name}-${createHash('sha256').update(w.key).digest('hex').slice(0, 6)}`;
}

let lastWindow: { first: number | null; last: number | null; line: string } | undefined;

/** When the rule set's traffic was observed: every manifest's header says it, so the last one made is kept. */
export function windowLine(rs: RuleSet): string {
  const { first, last } = rs.window;
  if (lastWindow === undefined || lastWindow.first !== first || lastWindow.last !== last) lastWindow = { first, last, line: `observed ${iso(first)} .. ${iso(last)}` };
  return lastWindow.line;
}
