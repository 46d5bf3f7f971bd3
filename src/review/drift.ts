// Drift against approved policies (docs/review.md, "Drift" and "Unused allows"): the traffic
// seen now, replayed against a baseline policy set with the verifier's evaluators. Every
// observation the baseline does not allow is drift, told apart as
// - a new edge: the baseline admits nothing from this caller to this destination, on any port;
// - a new operation: it admits the caller there, but not this port, method or path;
// - a plaintext source: the only denials are of requests without an identity (STRICT mTLS
//   refuses them, or the allows name principals), where the network would let them through;
// with its request count and when it was first and last seen. The same replay says which
// allow rules the traffic used, so the rules nothing used are listed for removal (usage.ts).

import { compare } from '../flow/compare.js';
import type { ServiceGraph } from '../graph/graph.js';
import type { Inventory } from '../inventory/inventory.js';
import { networkPolicies, type ManifestProblem, type PolicySet } from '../verify/manifests.js';
import { observationsOf } from '../verify/observations.js';
import { refText, replay, replayIndex, type Observation, type ReplayContext, type ReplayIndex, type ReplayResult, type Verdict } from '../verify/replay.js';
import { printable } from '../text.js';
import { md } from './markdown.js';
import { allowRules, platformRules, rulesUsedBy, type RuleUsage } from './usage.js';

const DRIFT_FORMAT = 'ztmap-drift';

export interface DriftOptions {
  trustDomain: string;
  rootNamespace: string;
  /** Epoch ms: traffic last seen before it is outside the window (it only dates rules' last use). */
  since?: number;
}

type DriftKind = 'new-edge' | 'new-operation' | 'plaintext';

interface DriftItem {
  kind: DriftKind;
  /** Graph node keys. */
  caller: string;
  destination: string;
  port: number;
  protocol: string;
  /** How the server saw the requests: over mTLS, in plaintext, or not seen by a server proxy. */
  mtls: string;
  verdict: Verdict;
  requests: number;
  /** ISO 8601, the edge's; null when no record carried a time. */
  firstSeen: string | null;
  lastSeen: string | null;
  /** The operations denied (`METHOD PATH`, either may be absent), or empty when every request of the observation is. */
  operations: string[];
  /** What denied it, as the verifier names it. */
  deniedBy: string[];
  text: string;
}

export interface DriftReport {
  format: typeof DRIFT_FORMAT;
  version: 1;
  settings: { trustDomain: string; rootNamespace: string; since: string | null };
  baseline: { files: number; authorizationPolicies: number; peerAuthentications: number; networkPolicies: number; problems: ManifestProblem[] };
  /** The traffic replayed: in the window, and when it was first and last seen. */
  window: { observations: number; requests: number; firstSeen: string | null; lastSeen: string | null };
  summary: { drift: number; requests: number; newEdges: number; newOperations: number; plaintext: number; undecided: number };
  /** Traffic the baseline denies (or partly denies), in edge order. */
  drift: DriftItem[];
  /** Traffic whose verdict depends on what the telemetry does not show: not drift, not allowed. */
  undecided: DriftItem[];
  /** Every allow rule of the baseline and whether the window's traffic used it. */
  rules: RuleUsage[];
}

const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());
const isDenial = (v: Verdict) => v === 'denied' || v === 'partial';

export function drift(graph: ServiceGraph, inventory: Inventory, baseline: PolicySet, o: DriftOptions): DriftReport {
  const namespaces: Record<string, Record<string, string>> = {};
  for (const ns of inventory.namespaces) namespaces[ns] = inventory.namespaceLabels.get(ns) ?? {};
  const set = { ...baseline, problems: [...baseline.problems] };
  const ctx: ReplayContext = { inventory, policies: set, networkPolicies: networkPolicies(set, namespaces), trustDomain: o.trustDomain, rootNamespace: o.rootNamespace };
  const index = replayIndex(ctx);
  const all = observationsOf(graph);
  const seen = (obs: Observation) => graph.getEdgeAttributes(obs.edge);
  const inWindow = (obs: Observation) => o.since === undefined || (seen(obs).lastSeen ?? Number.POSITIVE_INFINITY) >= o.since;

  const driftItems: DriftItem[] = [];
  const undecided: DriftItem[] = [];
  const usage = new Map<string, { requests: number; last: number | null; inWindow: boolean }>();
  const maybe = new Set<string>();
  let requests = 0;
  let first: number | null = null;
  let last: number | null = null;
  let observations = 0;
  for (const obs of all) {
    const r = replay(ctx, index, obs);
    const e = seen(obs);
    const now = inWindow(obs);
    const used = rulesUsedBy(r);
    for (const id of used.used) {
      const u = usage.get(id) ?? { requests: 0, last: null, inWindow: false };
      if (now) {
        u.inWindow = true;
        u.requests += obs.requests;
      }
      if (e.lastSeen !== null && (u.last === null || e.lastSeen > u.last)) u.last = e.lastSeen;
      usage.set(id, u);
    }
    if (!now) continue;
    for (const p of used.maybePolicies) maybe.add(p);
    observations++;
    requests += obs.requests;
    if (e.firstSeen !== null && (first === null || e.firstSeen < first)) first = e.firstSeen;
    if (e.lastSeen !== null && (last === null || e.lastSeen > last)) last = e.lastSeen;
    if (isDenial(r.verdict)) driftItems.push(item(graph, r, kindOf(ctx, index, graph, r)));
    else if (r.verdict === 'unknown') undecided.push(item(graph, r, kindOf(ctx, index, graph, r)));
  }

  const platform = platformRules(inventory, ctx.networkPolicies);
  const rules: RuleUsage[] = allowRules(set, ctx.networkPolicies).map((x) => {
    const u = usage.get(x.id);
    const policyRef = x.kind === 'istio' ? x.id.replace(/#\d+$/, '') : undefined;
    const status: RuleUsage['status'] = u?.inWindow === true ? 'used' : platform.has(x.id) ? 'platform' : policyRef !== undefined && maybe.has(policyRef) ? 'maybe' : 'unused';
    return { ...x, status, requests: u?.requests ?? 0, lastUsed: iso(u?.last) };
  });
  const count = (k: DriftKind) => driftItems.filter((d) => d.kind === k).length;
  return {
    format: DRIFT_FORMAT,
    version: 1,
    settings: { trustDomain: o.trustDomain, rootNamespace: o.rootNamespace, since: iso(o.since) },
    baseline: {
      files: set.files,
      authorizationPolicies: set.authorization.length,
      peerAuthentications: set.peerAuthentication.length,
      networkPolicies: set.networkPolicies.length,
      problems: set.problems.map((p) => ({ file: printable(p.file), ...(p.object === undefined ? {} : { object: printable(p.object) }), message: printable(p.message) })),
    },
    window: { observations, requests, firstSeen: iso(first), lastSeen: iso(last) },
    summary: {
      drift: driftItems.length,
      requests: driftItems.reduce((n, d) => n + d.requests, 0),
      newEdges: count('new-edge'),
      newOperations: count('new-operation'),
      plaintext: count('plaintext'),
      undecided: undecided.length,
    },
    drift: driftItems,
    undecided,
    rules,
  };
}

/**
 * A plaintext source when the network admits it and every denial is of a request without
 * identity (STRICT refuses it, or the allows name principals); else a new operation when the baseline admits the caller to the destination on
 * some port with some request (replayed with method and path unknown), a new edge when not.
 */
function kindOf(ctx: ReplayContext, index: ReplayIndex, graph: ServiceGraph, r: ReplayResult): DriftKind {
  const o = r.observation;
  const istioDenials = [...r.istio.outcomes, ...(r.istioDryRun?.outcomes ?? [])].filter((x) => x.decision === 'deny' || x.decision === 'unknown');
  if (!isDenial(r.networkPolicy.verdict) && istioDenials.length > 0 && istioDenials.every((x) => x.principal === null)) return 'plaintext';
  const ports = new Set<number>([o.port]);
  for (const p of index.podsOf.get(o.to.key) ?? []) for (const c of p.ports) if (c.protocol === 'TCP') ports.add(c.port);
  for (const e of graph.inboundEdges(o.to.key)) ports.add(graph.getEdgeAttributes(e).port);
  for (const port of [...ports].sort((a, b) => a - b)) {
    for (const protocol of ['http', 'tcp'] as const) {
      const probe: Observation = { ...o, port, protocol, methods: [], paths: [], pathsIncomplete: false };
      if (replay(ctx, index, probe).verdict !== 'denied') return 'new-operation';
    }
  }
  return 'new-edge';
}

function item(graph: ServiceGraph, r: ReplayResult, kind: DriftKind): DriftItem {
  const o = r.observation;
  const e = graph.getEdgeAttributes(o.edge);
  const denied = r.istio.outcomes.filter((x) => x.decision === 'deny' || x.decision === 'unknown');
  const npDenied = r.networkPolicy.outcomes.some((x) => x.decision === 'deny');
  // Which operations: those Istio denied, unless the network denies the connection whole.
  const operations = npDenied ? [] : [...new Set(denied.map((x) => [x.method, x.path].filter((v) => v !== undefined).join(' ')).filter((s) => s !== ''))].sort(compare);
  const deniedBy = new Set<string>();
  for (const x of denied) deniedBy.add(`istio ${x.reason}${x.policies.length === 0 ? '' : ` ${x.policies.map(refText).join(', ')}`}`);
  for (const x of r.networkPolicy.outcomes) {
    if (x.decision === 'allow') continue;
    const side = x.reason === 'egress-denied' ? x.egress : x.reason === 'ingress-denied' ? x.ingress : undefined;
    deniedBy.add(side === undefined ? `networkpolicy ${x.reason}` : `${x.reason === 'egress-denied' ? 'egress' : 'ingress'} isolated by ${side.isolatedBy.map(refText).join(', ')}`);
  }
  const what = kind === 'new-edge' ? 'new edge' : kind === 'new-operation' ? 'new operation' : 'plaintext source';
  const ops = operations.length === 0 ? '' : ` ${operations.join(', ')}`;
  const seenText = `${o.requests} request${o.requests === 1 ? '' : 's'}${e.firstSeen === null ? '' : `, first seen ${iso(e.firstSeen)}`}`;
  const verdict = r.verdict === 'unknown' ? 'undecided' : r.verdict === 'partial' ? 'partly denied' : 'denied';
  return {
    kind,
    caller: o.from.key,
    destination: o.to.key,
    port: o.port,
    protocol: o.protocol,
    mtls: o.mtls,
    verdict: r.verdict,
    requests: o.requests,
    firstSeen: iso(e.firstSeen),
    lastSeen: iso(e.lastSeen),
    operations: operations.map(printable),
    deniedBy: [...deniedBy].sort(compare).map(printable),
    text: printable(`${what}: ${o.from.key} → ${o.to.key}:${o.port}/${o.protocol}${ops} (${o.mtls === 'mutual' ? 'mTLS' : o.mtls}) ${verdict} by the baseline: ${seenText}`),
  };
}

/** The report for people: drift, what is undecided, then the allow rules nothing used. */
export function driftMarkdown(d: DriftReport): string {
  const s = d.summary;
  const w = d.window;
  const lines = [
    '# ztmap drift',
    '',
    `Baseline: ${d.baseline.files} files: ${d.baseline.authorizationPolicies} AuthorizationPolicies, ${d.baseline.peerAuthentications} PeerAuthentications, ${d.baseline.networkPolicies} NetworkPolicies${d.baseline.problems.length === 0 ? '' : `, ${d.baseline.problems.length} refused`}.`,
    `Traffic: ${w.observations} observations, ${w.requests} requests${w.firstSeen === null ? '' : `, seen ${w.firstSeen} .. ${w.lastSeen}`}${d.settings.since === null ? '' : ` (window from ${d.settings.since})`}.`,
    '',
    s.drift === 0
      ? 'No drift: the baseline allows every observation in the window.'
      : `**Drift: ${s.drift} observation${s.drift === 1 ? '' : 's'}, ${s.requests} requests** the baseline does not allow: ${s.newEdges} new edge(s), ${s.newOperations} new operation(s), ${s.plaintext} plaintext source(s).`,
  ];
  if (d.baseline.problems.length > 0) {
    lines.push('', '## Manifests refused', '', '| File | Object | Reason |', '|---|---|---|');
    for (const p of d.baseline.problems) lines.push(`| ${md(p.file)} | ${md(p.object ?? '')} | ${md(p.message)} |`);
  }
  const table = (items: DriftItem[]) => {
    lines.push('| Kind | Caller | Destination | Port | Operations | mTLS | Requests | First seen | Last seen | Denied by |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const x of items) {
      lines.push(`| ${x.kind} | ${md(x.caller)} | ${md(x.destination)} | ${x.port}/${x.protocol} | ${md(x.operations.join(', ') || 'all')} | ${x.mtls} | ${x.requests} | ${x.firstSeen ?? ''} | ${x.lastSeen ?? ''} | ${md(x.deniedBy.join('; '))} |`);
    }
  };
  if (d.drift.length > 0) {
    lines.push('', '## Drift', '');
    table(d.drift);
  }
  if (d.undecided.length > 0) {
    lines.push('', '## Undecided', '', 'The verdict depends on what the telemetry does not show (a header, a JWT, an external authorizer).', '');
    table(d.undecided);
  }
  const unused = d.rules.filter((r) => r.status === 'unused');
  const counts = (st: RuleUsage['status']) => d.rules.filter((r) => r.status === st).length;
  lines.push(
    '',
    '## Unused allows',
    '',
    `${d.rules.length} allow rules: ${counts('used')} used in the window, ${counts('platform')} for DNS or istiod (never in logs), ${counts('maybe')} possibly used (undecided verdicts), ${unused.length} unused: candidates for removal.`,
  );
  if (unused.length > 0) {
    lines.push('', '| Rule | File | Allows | Last used |', '|---|---|---|---|');
    for (const r of unused) lines.push(`| ${md(r.id)} | ${md(r.file ?? '')} | ${md(r.text)} | ${r.lastUsed ?? 'not in the data'} |`);
  }
  return lines.join('\n') + '\n';
}

export function driftJson(d: DriftReport): string {
  return JSON.stringify(d, null, 1) + '\n';
}
