// The verification of a policy set against observed traffic: every observation replayed,
// a summary a CI job can gate on, the over-permission, and a table a reviewer reads.
// With the rules.json `ztmap propose` wrote, denials the proposal already reports
// (excluded noise, plaintext and unresolved sources: its blockers) are marked expected.

import type { ServiceGraph } from '../graph/graph.js';
import type { Inventory } from '../inventory/inventory.js';
import type { AccessRule, Exclusion } from '../rules/access-rule.js';
import { networkPolicies, type ManifestProblem, type PolicySet } from './manifests.js';
import { observationsOf, refusalsOf } from './observations.js';
import { overPermission, type OverPermission } from './over-permission.js';
import { checkPlatformTraffic, type PlatformTraffic } from './platform-traffic.js';
import { replay, replayIndex, type ReplayResult, type Verdict } from './replay.js';
import { printable, printableDeep } from '../text.js';

const VERIFICATION_FORMAT = 'ztmap-verification';

export interface VerifyOptions {
  trustDomain: string;
  rootNamespace: string;
  /** rules.json of the proposal under test, when it is ztmap's. */
  rules?: { rules: AccessRule[]; excluded: Exclusion[] };
  overPermission: boolean;
}

export interface Checked extends ReplayResult {
  /** Why a denial is expected, from the proposal's own review; absent for allowed or unexpected. */
  expected?: string;
}

interface ReplayCount {
  observations: number;
  requests: number;
}

interface VerificationSummary {
  edges: number;
  observations: number;
  requests: number;
  allowed: ReplayCount;
  denied: ReplayCount;
  /** Some of the observation's requests (a method, a path, a pod) denied, others not. */
  partial: ReplayCount;
  unknown: ReplayCount;
  /** Denied or partial that the proposal reports itself (blockers, exclusions). */
  expectedDenials: ReplayCount;
  /** Denied or partial and not expected: what fails the gate. */
  unexpectedDenials: ReplayCount;
  /** Would be denied once dry-run policies are enforced, and is not expected. */
  dryRunDenials: ReplayCount;
  /** Share of observed requests allowed, 0..1 (1 when nothing was observed). */
  allowedShare: number;
  problems: number;
  /** Requests the mesh refused in the window, replayed: still denied, or admitted by these policies. */
  deniedToday: { stillDenied: ReplayCount; nowAllowed: ReplayCount; undecided: ReplayCount };
  /**
   * Platform traffic (DNS, xDS to istiod) replayed as (namespace, Service port) checks:
   * `denied` counts those denied or partly denied, which fail the gate like unexpected denials.
   */
  platform: { checks: number; denied: number; unknown: number };
}

/** A request the mesh refused in the window, and what the policy set does with it. */
interface CheckedRefusal extends ReplayResult {
  kind: string;
  policy: string;
}

export interface Verification {
  format: typeof VERIFICATION_FORMAT;
  version: 1;
  settings: { trustDomain: string; rootNamespace: string; rules: boolean };
  policies: { files: number; authorizationPolicies: number; peerAuthentications: number; networkPolicies: number; ignored: string[] };
  problems: ManifestProblem[];
  summary: VerificationSummary;
  results: Checked[];
  /** The mesh's refusals in the window, replayed (docs/verify.md: a pair refused today stays denied). */
  refusals: CheckedRefusal[];
  /** What every pod and sidecar needs and access logs never show, replayed (platform-traffic.ts). */
  platform: PlatformTraffic;
  overPermission?: OverPermission;
}

const isDenial = (v: Verdict | undefined) => v === 'denied' || v === 'partial';

const zero = (): ReplayCount => ({ observations: 0, requests: 0 });
const add = (t: ReplayCount, r: ReplayResult) => {
  t.observations++;
  t.requests += r.observation.requests;
};

export function verify(graph: ServiceGraph, inventory: Inventory, policies: PolicySet, o: VerifyOptions): Verification {
  const namespaces: Record<string, Record<string, string>> = {};
  for (const ns of inventory.namespaces) namespaces[ns] = inventory.namespaceLabels.get(ns) ?? {};
  const ctx = { inventory, policies, networkPolicies: networkPolicies(policies, namespaces), trustDomain: o.trustDomain, rootNamespace: o.rootNamespace };
  const index = replayIndex(ctx);
  const observations = observationsOf(graph);
  const results: Checked[] = observations.map((obs) => {
    const r: Checked = replay(ctx, index, obs);
    const why = o.rules === undefined || !(isDenial(r.verdict) || isDenial(r.istioDryRun?.verdict)) ? undefined : expectedDenial(r, o.rules);
    if (why !== undefined) r.expected = printable(why);
    // Notes are messages for people; names in them come from the inventory.
    r.notes = r.notes.map(printable);
    return r;
  });

  const s: VerificationSummary = {
    edges: new Set(observations.map((x) => x.edge)).size,
    observations: results.length,
    requests: 0,
    allowed: zero(),
    denied: zero(),
    partial: zero(),
    unknown: zero(),
    expectedDenials: zero(),
    unexpectedDenials: zero(),
    dryRunDenials: zero(),
    allowedShare: 1,
    problems: policies.problems.length,
    deniedToday: { stillDenied: zero(), nowAllowed: zero(), undecided: zero() },
    platform: { checks: 0, denied: 0, unknown: 0 },
  };
  const refusals: CheckedRefusal[] = refusalsOf(graph).map((x) => ({ ...replay(ctx, index, x.observation), kind: x.kind, policy: x.policy }));
  for (const r of refusals) add(r.verdict === 'denied' ? s.deniedToday.stillDenied : r.verdict === 'allowed' ? s.deniedToday.nowAllowed : s.deniedToday.undecided, r);
  for (const r of results) {
    s.requests += r.observation.requests;
    add(s[r.verdict], r);
    if (isDenial(r.verdict)) add(r.expected === undefined ? s.unexpectedDenials : s.expectedDenials, r);
    else if (r.expected === undefined && isDenial(r.istioDryRun?.verdict)) add(s.dryRunDenials, r);
  }
  s.allowedShare = s.requests === 0 ? 1 : s.allowed.requests / s.requests;
  // Names in its messages come from the inventory and the manifests: escaped for people.
  const platform = printableDeep(checkPlatformTraffic(ctx, index));
  s.platform = {
    checks: platform.checks.length,
    denied: platform.checks.filter((c) => isDenial(c.verdict)).length,
    unknown: platform.checks.filter((c) => c.verdict === 'unknown').length,
  };
  return {
    format: VERIFICATION_FORMAT,
    version: 1,
    settings: { trustDomain: o.trustDomain, rootNamespace: o.rootNamespace, rules: o.rules !== undefined },
    policies: {
      files: policies.files,
      authorizationPolicies: policies.authorization.length,
      peerAuthentications: policies.peerAuthentication.length,
      networkPolicies: policies.networkPolicies.length,
      ignored: policies.ignored,
    },
    // Messages for people (the table prints them too): names from the manifests read escaped.
    problems: policies.problems.map((p) => printableDeep(p)),
    summary: s,
    results,
    refusals,
    platform,
    ...(o.overPermission ? { overPermission: overPermission(ctx, index, observations) } : {}),
  };
}

/**
 * Why the proposal itself expects this denial, if it does. Excluded edges are denied by
 * design; a source without an authenticated identity cannot get an Istio allow (a blocker);
 * an address the inventory could not resolve cannot be selected by a NetworkPolicy (a blocker).
 */
function expectedDenial(r: ReplayResult, rules: { rules: AccessRule[]; excluded: Exclusion[] }): string | undefined {
  const o = r.observation;
  const same = (x: { from: { key: string }; to: { key: string }; port: number; protocol: string }) => x.from.key === o.from.key && x.to.key === o.to.key && x.port === o.port && x.protocol === o.protocol;
  const excluded = rules.excluded.find(same);
  if (excluded !== undefined) return `excluded by the proposal (${excluded.reason})`;
  const rule = rules.rules.find(same);
  if (rule === undefined) return undefined;
  const reasons: string[] = [];
  // Dry-run policies count too: the proposal is meant to be enforced.
  const istioDenied = [...r.istio.outcomes, ...(r.istioDryRun?.outcomes ?? [])].filter((x) => x.decision === 'deny');
  if (istioDenied.length > 0) {
    // A source the server only ever saw in plaintext gets no principal from the proposal,
    // so none of its requests pass Istio, whatever identity they would present.
    const plaintextOnly = rule.evidence.mutual === 0 && rule.evidence.plaintext > 0;
    if (!plaintextOnly && !istioDenied.every((x) => x.principal === null)) return undefined;
    reasons.push('blocker: no authenticated identity for an Istio principal');
  }
  const npDenied = r.networkPolicy.outcomes.filter((x) => x.decision === 'deny');
  if (npDenied.length > 0) {
    const unresolved = rule.from.kind === 'unknown' || rule.to.kind === 'unknown' || !rule.from.ipsComplete || !rule.to.ipsComplete;
    if (!unresolved) return undefined;
    reasons.push('blocker: an address the inventory does not resolve cannot be selected');
  }
  return reasons.length === 0 ? undefined : reasons.join('; ');
}

