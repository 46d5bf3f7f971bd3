// The semantic difference between two policy sets (docs/review.md, "Semantic diff"): which
// requests one set decides differently from the other, per destination and caller, found by
// replaying the same finite set of requests (probes.ts) against both with the verifier's
// evaluators. Text is never compared: a policy reformatted, reordered, split or merged
// decides every request as before, and so shows no change.
//
// Each (caller, destination, port) is first replayed with its HTTP method and path unknown:
// three-valued logic makes an `allowed` or `denied` verdict hold for every method and path,
// so only pairs that some side leaves undecided are replayed operation by operation.

import { compare } from '../flow/compare.js';
import type { L4Protocol } from '../flow/flow.js';
import type { Inventory } from '../inventory/inventory.js';
import { networkPolicies, type ManifestProblem, type PolicySet } from '../verify/manifests.js';
import { Admission, OUTSIDER } from '../verify/over-permission.js';
import { refText, replay, replayIndex, unobserved, type Observation, type ReplayContext, type ReplayEndpoint, type ReplayIndex, type ReplayResult, type Verdict } from '../verify/replay.js';
import { printable } from '../text.js';
import { md } from './markdown.js';
import { OTHER_METHOD, OTHER_NAMESPACE, OTHER_SEGMENT, PROBE_KIND, probesOf } from './probes.js';

const DIFF_FORMAT = 'ztmap-policy-diff';

type ChangeProtocol = L4Protocol | 'udp' | 'sctp';

export interface DiffOptions {
  /** The cluster's workloads: changes are then reported per workload; without it, per selector. */
  inventory?: Inventory;
  trustDomain: string;
  rootNamespace: string;
  /** Told after each destination (the CLI draws it on a TTY). */
  onProgress?: (done: number, total: number) => void;
}

/** One request as a change lists it: an HTTP method and path (as probed). */
interface Operation {
  method: string;
  path: string;
}

export interface PolicyChange {
  /** Keys: a workload (`NS/Kind/name`), a made-up pod standing for a selector (`NS/Probe/…`), or `world:IP`. */
  destination: string;
  caller: string;
  port: number;
  /** `http`: requests with a method and path; `tcp`: connections without HTTP; `udp`, `sctp`: datagrams (NetworkPolicy only). */
  protocol: ChangeProtocol;
  before: Verdict;
  after: Verdict;
  /** `any`: every request of the protocol from this caller on this port; else the operations. */
  requests: 'any' | Operation[];
  /** The requests as a person reads them: "GET /reviews/, /reviews/{other}", "any HTTP request". */
  what: string;
  /** "newly allowed", "newly denied", "now undecided (was allowed)", … */
  verb: string;
  /** The whole change as a person reads it: "default/productpage-v1 → default/reviews-v1:9080: GET /reviews/{other} newly allowed". */
  text: string;
  /** The rules and policies that decided, on each side. */
  decidedBy: { before: string[]; after: string[] };
  /**
   * Why a change that lets more through deserves a second look: the caller is outside the
   * cluster, has no authenticated identity, or stands for any namespace; or every request of
   * the protocol is let through. Empty for changes that deny more.
   */
  risks: string[];
}

interface SideSummary {
  files: number;
  authorizationPolicies: number;
  peerAuthentications: number;
  networkPolicies: number;
  /** Manifests refused (by admission, or unreadable): not applied on that side, named with file and reason. */
  problems: ManifestProblem[];
}

export interface PolicyDiff {
  format: typeof DIFF_FORMAT;
  version: 1;
  settings: { trustDomain: string; rootNamespace: string; inventory: boolean };
  before: SideSummary;
  after: SideSummary;
  /** Requests replayed on each side. */
  replayed: number;
  summary: { changes: number; newlyAllowed: number; newlyDenied: number; other: number; risky: number; notCompared: number };
  /** Changes per destination, destinations and their changes in key order. */
  destinations: { destination: string; changes: PolicyChange[] }[];
  /**
   * Policies that differ between the sides but that replay does not evaluate (targetRef:
   * gateway and waypoint policies): not compared, listed for review, counted by --exit-code.
   */
  notCompared: { policy: string; change: 'added' | 'removed' | 'changed'; why: string }[];
}

interface Side {
  ctx: ReplayContext;
  index: ReplayIndex;
}

function summaryOf(set: PolicySet): SideSummary {
  return {
    files: set.files,
    authorizationPolicies: set.authorization.length,
    peerAuthentications: set.peerAuthentication.length,
    networkPolicies: set.networkPolicies.length,
    problems: set.problems.map((p) => ({ file: printable(p.file), ...(p.object === undefined ? {} : { object: printable(p.object) }), message: printable(p.message) })),
  };
}

const definite = (v: Verdict) => v === 'allowed' || v === 'denied';

export function policyDiff(before: PolicySet, after: PolicySet, o: DiffOptions): PolicyDiff {
  const namespaces: Record<string, Record<string, string>> = {};
  for (const ns of o.inventory?.namespaces ?? []) namespaces[ns] = o.inventory?.namespaceLabels.get(ns) ?? {};
  // networkPolicies records its problems on the set: copies, so the callers' sets stay as given.
  const sets = [before, after].map((s) => ({ ...s, problems: [...s.problems] }));
  const models = sets.map((s) => ({ policies: s, networkPolicies: networkPolicies(s, namespaces) }));
  const probes = probesOf({ ...(o.inventory === undefined ? {} : { inventory: o.inventory }), rootNamespace: o.rootNamespace, models });
  const sides: Side[] = models.map((m) => {
    const ctx: ReplayContext = { inventory: probes.inventory, policies: m.policies, networkPolicies: m.networkPolicies, trustDomain: o.trustDomain, rootNamespace: o.rootNamespace };
    return { ctx, index: replayIndex(ctx) };
  });
  const [b, a] = sides as [Side, Side];
  const texts: [PolicyTexts, PolicyTexts] = [policyTexts(sets[0]!), policyTexts(sets[1]!)];
  // Callers whose every pod lacks a sidecar present no identity: what admits them admits anyone there.
  const unidentified = new Set<string>();
  const meshed = new Set(probes.inventory.pods.filter((p) => p.hasSidecar || p.dataplane === 'ambient').map((p) => p.workload.key));
  for (const p of probes.inventory.pods) if (!meshed.has(p.workload.key)) unidentified.add(p.workload.key);
  const change = (from: ReplayEndpoint, to: ReplayEndpoint, port: number, protocol: ChangeProtocol, results: [ReplayResult, ReplayResult] | [ReplayResult, ReplayResult][], requests: 'any' | Operation[], methodsProbed: number) =>
    changeOf(from, to, port, protocol, results, requests, methodsProbed, unidentified);
  let replayed = 0;
  const both = (obs: Observation): [ReplayResult, ReplayResult] => {
    replayed++;
    return [replay(b.ctx, b.index, obs), replay(a.ctx, a.index, obs)];
  };

  // A caller outside both sides' bounds of what a destination admits is denied by both: only
  // the callers inside either are replayed (the over-permission search's bounds, verify/over-permission.ts).
  const serviceAccountsOf = (key: string) => probes.serviceAccounts.get(key) ?? [];
  const admissions = sides.map((x) => new Admission(x.ctx, x.index, probes.callers, serviceAccountsOf));
  const byDestination: { destination: string; changes: PolicyChange[] }[] = [];
  for (const [done, to] of probes.destinations.entries()) {
    o.onProgress?.(done, probes.destinations.length);
    const changes: PolicyChange[] = [];
    // The AuthorizationPolicies that apply to the destination's pods on either side: only what they name can change its verdicts.
    const applicable = new Set(sides.flatMap((x) => (x.index.podsOf.get(to.key) ?? []).flatMap((p) => [...x.index.istio.applicable(p.namespace, p.labels)])));
    const ops = probes.requestsFor(to, [...applicable]);
    const candidates = new Set(admissions.flatMap((x) => [...x.candidates(to.key)]));
    for (const [at, from] of probes.callers.entries()) {
      const serviceAccounts = probes.serviceAccounts.get(from.key) ?? [];
      // UDP and SCTP: NetworkPolicy alone decides them (Istio's proxies carry TCP), so every caller,
      // whatever Istio's bounds say.
      for (const d of ops.datagrams) {
        const r = both(unobserved(from, to, d.port, 'tcp', serviceAccounts, { requests: 1, transport: d.protocol })).map((x): ReplayResult => ({ ...x, verdict: x.networkPolicy.verdict, istio: { verdict: 'allowed', outcomes: [] } })) as [ReplayResult, ReplayResult];
        if (differ(r, texts)) changes.push(change(from, to, d.port, d.protocol === 'UDP' ? 'udp' : 'sctp', r, 'any', ops.methods.length));
      }
      // Self calls too: a workload's policy may admit or drop its own pods.
      if (!candidates.has(at)) continue;
      for (const port of ops.ports) {
        const probe = (protocol: L4Protocol, op?: Operation): Observation => unobserved(from, to, port, protocol, serviceAccounts, op === undefined ? { requests: 1 } : { requests: 1, op });
        const tcp = both(probe('tcp'));
        if (differ(tcp, texts)) changes.push(change(from, to, port, 'tcp', tcp, 'any', ops.methods.length));
        const http = both(probe('http'));
        const [vb, va] = [http[0].verdict, http[1].verdict];
        if (vb === va && definite(vb)) continue;
        if (definite(vb) && definite(va)) {
          changes.push(change(from, to, port, 'http', http, 'any', ops.methods.length));
          continue;
        }
        // Some side leaves it to the method and path: each operation in turn.
        const groups = new Map<string, { results: [ReplayResult, ReplayResult][]; ops: Operation[] }>();
        let total = 0;
        for (const path of ops.paths) {
          for (const method of ops.methods) {
            total++;
            const op = { method, path };
            const r = both(probe('http', op));
            if (!differ(r, texts)) continue;
            const k = `${r[0].verdict} ${r[1].verdict}`;
            const g = groups.get(k) ?? { results: [], ops: [] };
            g.results.push(r);
            g.ops.push(op);
            groups.set(k, g);
          }
        }
        // In the order operations were tried, which does not depend on which side is which.
        for (const g of groups.values()) {
          changes.push(change(from, to, port, 'http', g.results, g.ops.length === total ? 'any' : g.ops, ops.methods.length));
        }
      }
    }
    const reported = withoutTwins(changes, probes.unlabelledTwin);
    if (reported.length > 0) byDestination.push({ destination: to.key, changes: reported });
  }
  const notCompared = notComparedOf(sets[0]!, sets[1]!);
  const all = byDestination.flatMap((d) => d.changes);
  const newlyAllowed = all.filter((c) => c.before === 'denied' && c.after === 'allowed').length;
  const newlyDenied = all.filter((c) => c.before === 'allowed' && c.after === 'denied').length;
  return {
    format: DIFF_FORMAT,
    version: 1,
    settings: { trustDomain: o.trustDomain, rootNamespace: o.rootNamespace, inventory: o.inventory !== undefined },
    before: summaryOf(sets[0]!),
    after: summaryOf(sets[1]!),
    replayed,
    summary: { changes: all.length, newlyAllowed, newlyDenied, other: all.length - newlyAllowed - newlyDenied, risky: all.filter((c) => c.risks.length > 0).length, notCompared: notCompared.length },
    destinations: byDestination,
    notCompared,
  };
}

/**
 * Whether two replays of a request differ: their verdicts, or, when neither is definite, who
 * gets which answer (each identity, pod and operation: `partial` both sides may swap who is
 * allowed) and which policies leave it undecided (a JWT, header or host condition that changed).
 */
function differ([x, y]: [ReplayResult, ReplayResult], texts: [PolicyTexts, PolicyTexts]): boolean {
  if (x.verdict !== y.verdict) return true;
  if (definite(x.verdict)) return false;
  return outcomeText(x, texts[0]) !== outcomeText(y, texts[1]);
}

/** Each AuthorizationPolicy as parsed (`NS/NAME` → its model as JSON): what an undecided verdict depends on. */
type PolicyTexts = ReadonlyMap<string, string>;
const policyTexts = (s: PolicySet): PolicyTexts => new Map(s.authorization.map((p) => [`${p.namespace}/${p.name}`, JSON.stringify({ ...p, name: '', namespace: p.namespace })]));

function outcomeText(r: ReplayResult, texts: PolicyTexts): string {
  // An undecided outcome is told by what its policies say (a JWT, header or host condition), not their names.
  const said = (ps: { namespace: string; name: string }[]) => ps.map((p) => texts.get(`${p.namespace}/${p.name}`) ?? refText(p)).sort(compare);
  const istio = r.istio.outcomes.map((o) => JSON.stringify([o.principal ?? null, o.method ?? null, o.path ?? null, o.decision, o.decision === 'unknown' ? said(o.policies) : []]));
  const np = r.networkPolicy.outcomes.map((o) => JSON.stringify([o.fromPod ?? null, o.toPod ?? null, o.decision]));
  return JSON.stringify([[...new Set(istio)].sort(compare), [...new Set(np)].sort(compare)]);
}

/** Gateway and waypoint (targetRef) policies that differ: replay does not evaluate them, so they are listed, not silently equal. */
function notComparedOf(before: PolicySet, after: PolicySet): PolicyDiff['notCompared'] {
  const byName = (s: PolicySet) => new Map(s.authorization.filter((p) => p.targetRef).map((p) => [`AuthorizationPolicy ${p.namespace}/${p.name}`, JSON.stringify(p)]));
  const [b, a] = [byName(before), byName(after)];
  const why = 'targetRef (gateway or waypoint) policy: replay evaluates sidecars and ztunnel only';
  const out: PolicyDiff['notCompared'] = [];
  for (const name of [...new Set([...b.keys(), ...a.keys()])].sort(compare)) {
    const change = !a.has(name) ? 'removed' : !b.has(name) ? 'added' : a.get(name) !== b.get(name) ? 'changed' : undefined;
    if (change !== undefined) out.push({ policy: printable(name), change, why });
  }
  return out;
}

/** A made-up caller's change that its unlabelled twin shows too: the service account's, listed once. */
function withoutTwins(changes: PolicyChange[], twins: ReadonlyMap<string, string>): PolicyChange[] {
  const same = (c: PolicyChange, caller: string) => JSON.stringify([caller, c.port, c.protocol, c.before, c.after, c.requests]);
  const keys = new Set(changes.map((c) => same(c, c.caller)));
  return changes.filter((c) => {
    const twin = twins.get(c.caller);
    return twin === undefined || !keys.has(same(c, twin));
  });
}

function changeOf(
  from: ReplayEndpoint,
  to: ReplayEndpoint,
  port: number,
  protocol: ChangeProtocol,
  results: [ReplayResult, ReplayResult] | [ReplayResult, ReplayResult][],
  requests: 'any' | Operation[],
  methodsProbed: number,
  unidentified: ReadonlySet<string>,
): PolicyChange {
  const pairs = (Array.isArray(results[0]) ? results : [results]) as [ReplayResult, ReplayResult][];
  const before = pairs[0]![0].verdict;
  const after = pairs[0]![1].verdict;
  const decidedBy = {
    before: [...new Set(pairs.flatMap(([x]) => deciders(x)))].sort(compare),
    after: [...new Set(pairs.flatMap(([, y]) => deciders(y)))].sort(compare),
  };
  const what = printable(requestsText(protocol, requests, methodsProbed));
  const verb = changeVerb(before, after);
  const text = printable(`${endpointText(from)} → ${endpointText(to)}:${port}: ${what} ${verb}`);
  return { destination: to.key, caller: from.key, port, protocol, before, after, requests, what, verb, text, decidedBy, risks: risksOf(from, protocol, before, after, requests, unidentified) };
}

const RANK: Record<Verdict, number> = { denied: 0, unknown: 1, partial: 2, allowed: 3 };

function risksOf(from: ReplayEndpoint, protocol: ChangeProtocol, before: Verdict, after: Verdict, requests: 'any' | Operation[], unidentified: ReadonlySet<string>): string[] {
  if (RANK[after] <= RANK[before] || after === 'unknown') return [];
  const out: string[] = [];
  if (from.kind !== 'workload') out.push('from outside the cluster');
  else if (unidentified.has(from.key)) out.push('from a caller without an authenticated identity');
  if (from.namespace === OTHER_NAMESPACE) out.push('from any namespace');
  if (requests === 'any') out.push(protocol === 'http' || protocol === 'grpc' ? 'every method and path' : `every ${protocol.toUpperCase()} connection`);
  return out;
}

const VERDICT_WORD: Record<Verdict, string> = { allowed: 'allowed', denied: 'denied', partial: 'partly allowed', unknown: 'undecided' };

/** "newly allowed", "newly denied", or "now undecided (was allowed)". */
function changeVerb(before: Verdict, after: Verdict): string {
  if (before === after) return before === 'unknown' ? 'still undecided, now by other rules: review' : 'still partly allowed, for other callers or operations: review';
  if (before === 'denied' && after === 'allowed') return 'newly allowed';
  if (before === 'allowed' && after === 'denied') return 'newly denied';
  return `now ${VERDICT_WORD[after]} (was ${VERDICT_WORD[before]})`;
}

/** A caller or destination as people read it: `NS/name` for a workload, `NS/[labels sa=SA]` for a made-up pod. */
function endpointText(e: ReplayEndpoint): string {
  if (e.kind === 'workload') {
    const [ns, kind] = e.key.split('/');
    return kind === PROBE_KIND ? `${ns}/[${e.name}]` : `${ns}/${e.name}`;
  }
  if (e.key === OUTSIDER.key) return `${e.name} (outside the cluster)`;
  return e.name;
}

const opText = (s: string) => s.replaceAll(OTHER_SEGMENT, '{other}');
const methodText = (m: string) => (m === OTHER_METHOD ? '{other method}' : m);

/** Operations collapsed: paths that share their methods go together; a path with every method probed is "any method". */
function requestsText(protocol: ChangeProtocol, requests: 'any' | Operation[], methodsProbed: number): string {
  if (requests === 'any') return protocol === 'tcp' ? 'TCP connections (no HTTP)' : protocol === 'udp' || protocol === 'sctp' ? `${protocol.toUpperCase()} traffic` : 'any HTTP request';
  const methodsOf = new Map<string, string[]>();
  for (const r of requests) methodsOf.set(r.path, [...(methodsOf.get(r.path) ?? []), r.method]);
  const byMethods = new Map<string, string[]>();
  for (const [path, methods] of methodsOf) {
    const k = methods.length === methodsProbed ? 'any method' : methods.sort(compare).map(methodText).join(', ');
    byMethods.set(k, [...(byMethods.get(k) ?? []), path]);
  }
  return [...byMethods]
    .sort(([x], [y]) => compare(x, y))
    .map(([methods, paths]) => `${methods} ${paths.sort(compare).map(opText).join(', ')}`)
    .join('; ');
}

/** The rules and policies that decided a replayed request, short: `istio allow NS/NAME#0`, `ingress allow NS/NAME#1`, … */
function deciders(r: ReplayResult): string[] {
  const out: string[] = [];
  const refs = (ps: { namespace: string; name: string; rule?: number }[]) => ps.map(refText).join(', ');
  for (const x of r.istio.outcomes) {
    if (x.decision === 'not-enforced') out.push('istio not enforced (no sidecar)');
    else if (x.reason === 'allowed-by' || x.reason === 'denied-by') out.push(`istio ${x.decision} ${refs(x.policies)}`);
    else if (x.reason === 'no-allow-match') out.push(`istio deny: no ALLOW rule matches (${refs(x.policies)})`);
    else if (x.reason === 'denied-every-request') out.push(`istio deny: every method and path denied (${refs(x.policies)})`);
    else if (x.reason === 'no-policy') out.push('istio allow: no ALLOW policy applies');
    else if (x.reason === 'plaintext-refused') out.push(`istio deny: plaintext refused (${refs(x.policies)})`);
    else out.push(`istio ${x.decision} (${x.reason}${x.policies.length === 0 ? '' : `: ${refs(x.policies)}`})`);
  }
  for (const x of r.networkPolicy.outcomes) {
    if (x.decision === 'allow') {
      for (const side of ['egress', 'ingress'] as const) {
        const s = x[side];
        if (s?.isolated === true) out.push(`${side} allow ${refs(s.allowedBy)}`);
      }
      if (x.egress?.isolated !== true && x.ingress?.isolated !== true) out.push('networkpolicy allow: not isolated');
    } else if (x.reason === 'egress-denied' || x.reason === 'ingress-denied') {
      const side = x.reason === 'egress-denied' ? x.egress : x.ingress;
      out.push(`${x.reason === 'egress-denied' ? 'egress' : 'ingress'} deny: isolated by ${refs(side?.isolatedBy ?? [])}, no rule matches`);
    } else out.push(`networkpolicy ${x.decision} (${x.reason})`);
  }
  return out.map(printable);
}

const sideLine = (s: SideSummary) =>
  `${s.files} files: ${s.authorizationPolicies} AuthorizationPolicies, ${s.peerAuthentications} PeerAuthentications, ${s.networkPolicies} NetworkPolicies${s.problems.length === 0 ? '' : `, ${s.problems.length} refused`}`;

/**
 * The changes as one Markdown table (destination, caller, port, requests, change, risks), at
 * most `limit` rows and a last one saying how many were left out: for a PR body.
 */
export function diffSummaryTable(d: PolicyDiff, limit = 50): string {
  const all = d.destinations.flatMap((x) => x.changes);
  if (all.length === 0) return 'No change.\n';
  const rows = ['| Destination | Caller | Port | Requests | Change | Risk |', '|---|---|---|---|---|---|'];
  for (const c of all.slice(0, limit)) {
    rows.push(`| ${md(c.destination)} | ${md(c.caller)} | ${c.port}/${c.protocol} | ${md(c.what)} | ${md(c.verb)} | ${md(c.risks.join('; '))} |`);
  }
  if (all.length > limit) rows.push(`| … and ${all.length - limit} more | | | | | |`);
  return rows.join('\n') + '\n';
}

/** The diff for people: a summary, the refused manifests, and each destination's changes. */
export function diffMarkdown(d: PolicyDiff, names: { before: string; after: string } = { before: 'OLD', after: 'NEW' }): string {
  const s = d.summary;
  const lines = [
    '# ztmap policy diff',
    '',
    `- ${md(names.before)}: ${sideLine(d.before)}`,
    `- ${md(names.after)}: ${sideLine(d.after)}`,
    '',
    s.changes === 0
      ? `No change: every one of the ${d.replayed} requests replayed is decided the same way by both${s.notCompared === 0 ? '' : `; ${s.notCompared} policies differ that were not compared (below)`}.`
      : `**${s.changes} change${s.changes === 1 ? '' : 's'}** (${s.newlyAllowed} newly allowed, ${s.newlyDenied} newly denied, ${s.other} other; ${s.risky} with risks) over ${d.replayed} requests replayed${d.settings.inventory ? '' : ' (no inventory: each selector stands for its pods)'}.`,
  ];
  if (d.notCompared.length > 0) {
    lines.push('', `## Not compared (${d.notCompared.length})`, '', 'These policies differ between the sides but replay does not evaluate them: review them by hand.', '', '| Policy | Change | Why |', '|---|---|---|');
    for (const x of d.notCompared) lines.push(`| ${md(x.policy)} | ${x.change} | ${md(x.why)} |`);
  }
  const risky = d.destinations.flatMap((x) => x.changes).filter((c) => c.risks.length > 0);
  if (risky.length > 0) {
    lines.push('', '## Risks', '', 'Changes that let more through from callers that deserve a second look:', '');
    for (const c of risky) lines.push(`- ${md(c.text)} (${md(c.risks.join('; '))})`);
  }
  // The same path on both sides (a file changed in place) still says which side.
  const sideName = (name: string, which: string) => (names.before === names.after ? `${which} ${name}` : name);
  const refused = [...d.before.problems.map((p) => ({ side: sideName(names.before, 'OLD'), ...p })), ...d.after.problems.map((p) => ({ side: sideName(names.after, 'NEW'), ...p }))];
  if (refused.length > 0) {
    lines.push('', '## Manifests refused', '', 'Not applied on their side: the API server or Istio would refuse them.', '', '| Side | File | Object | Reason |', '|---|---|---|---|');
    for (const p of refused) lines.push(`| ${md(p.side)} | ${md(p.file)} | ${md(p.object ?? '')} | ${md(p.message)} |`);
  }
  for (const dest of d.destinations) {
    lines.push('', `## ${md(dest.destination)}`, '');
    for (const c of dest.changes) lines.push(`- ${md(c.text)}${c.decidedBy.after.length === 0 ? '' : ` — now: ${md(c.decidedBy.after.join('; '))}`}`);
  }
  return lines.join('\n') + '\n';
}

export function diffJson(d: PolicyDiff): string {
  return JSON.stringify(d, null, 1) + '\n';
}
