// The pull request's title, commit message and body, from the proposal's review.json and
// rules.json and the plan: a table of the changes, the evidence window and sources, the risks
// a reviewer must weigh, and a rollout plan per namespace. Pure: the same inputs give the same
// bytes. Every name comes from telemetry or manifests, so every one is escaped for Markdown
// (review/markdown.ts) and made inert for GitHub: a zero-width space after `@` and `#` (so no
// name mentions a user or team or references an issue: GitHub links those after rendering,
// escapes and entities do not stop it), `&` escaped, no autolinked URL. The body stays under
// GitHub's 65,536 characters: lists are cut, shorter and shorter, until it fits.

import { InputError } from '../errors.js';
import { compare } from '../flow/compare.js';
import { printable } from '../text.js';
import { md as markdownInline } from './markdown.js';
import { diffSummaryTable, type PolicyDiff } from './diff.js';
import { describeLayout } from './layout.js';
import type { ManifestChange, Plan } from './pr.js';

/** The parts of review.json (report/review.ts) the body reads. */
export interface ReviewFacts {
  window: { first: string | null; last: string | null; hours: number | null };
  targets: string[];
  counts: { rules: number; excluded: number; manifests: number; errors: number; blockers: number; warnings: number };
  findings: { severity: string; target: string; subject: string; message: string }[];
  coverage: {
    windowWarnings: string[];
    noInbound: { workload: string }[];
    noOutbound: { workload: string }[];
    idleJobs: string[];
    broaderThanObserved: { rule: string; allows: string[] }[];
  };
  mtls: { namespace: string; ready: boolean; plaintext: { workload: string; from: string; port: number; requests: number }[] }[];
  denied: { from: string; to: string; port: number; protocol: string; operation: string; kind: string; requests: number }[];
  evidence: { rulesBySource: Record<string, number>; l4IdentityOnly: string[] };
}

/** The parts of rules.json the body reads. */
export interface RuleFacts {
  id: string;
  to: { key: string };
  confidence: string;
  notes: string[];
}

/** An allow rule a drift report (`ztmap drift --format json`) found no traffic used. */
export interface UnusedAllow {
  id: string;
  /** `AuthorizationPolicy NS/NAME` or `NetworkPolicy NS/NAME`. */
  policy: string;
  text: string;
  lastUsed: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** review.json as the body needs it; anything else is an InputError naming the file. */
export function reviewFacts(doc: unknown, file: string): ReviewFacts {
  const ok =
    isObject(doc) &&
    doc['format'] === 'ztmap-review' &&
    isObject(doc['window']) &&
    isObject(doc['counts']) &&
    isObject(doc['coverage']) &&
    isObject(doc['evidence']) &&
    Array.isArray(doc['findings']) &&
    Array.isArray(doc['mtls']) &&
    Array.isArray(doc['denied']) &&
    Array.isArray(doc['targets']);
  if (!ok) throw new InputError(`pr: ${file} is not a review.json written by \`ztmap propose\`. Pass --proposal the policies directory it wrote.`);
  return doc as unknown as ReviewFacts;
}

export function ruleFacts(doc: unknown, file: string): RuleFacts[] {
  if (!isObject(doc) || doc['format'] !== 'ztmap-rules' || !Array.isArray(doc['rules'])) {
    throw new InputError(`pr: ${file} is not a rules.json written by \`ztmap propose\`. Pass --proposal the policies directory it wrote.`);
  }
  return doc['rules'] as RuleFacts[];
}

/** The unused allows of a drift report's JSON; anything else is an InputError naming the file. */
export function unusedAllows(doc: unknown, file: string): UnusedAllow[] {
  if (!isObject(doc) || doc['format'] !== 'ztmap-drift' || !Array.isArray(doc['rules'])) {
    throw new InputError(`pr: ${file} is not a drift report written by \`ztmap drift --format json\`. Pass --drift the JSON of a drift run against the approved policies.`);
  }
  return (doc['rules'] as unknown[])
    .filter((r): r is Record<string, unknown> => isObject(r) && r['status'] === 'unused' && typeof r['id'] === 'string' && typeof r['policy'] === 'string')
    .map((r) => ({ id: r['id'] as string, policy: r['policy'] as string, text: typeof r['text'] === 'string' ? r['text'] : '', lastUsed: typeof r['lastUsed'] === 'string' ? r['lastUsed'] : null }));
}

/**
 * Escaped Markdown made inert for GitHub: U+200B after `@` and `#` (as Dependabot and Renovate
 * do) so there is no mention and no issue reference, `&` escaped so no entity becomes one, and
 * `://` and `www.` broken so a URL from telemetry is not a link.
 */
const inert = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/([@#])/g, '$1\u200B')
    .replace(/:\/\//g, ':\u200B//')
    .replace(/www\./gi, (m) => `${m.slice(0, 3)}\u200B.`);
const md = (s: string) => inert(markdownInline(s));
const code = (s: string) => `\`${s.replace(/`/g, '')}\``;
/** The namespace of a graph key (`NS/Kind/name`); '' for world:, node:, unknown: keys. */
const namespaceOf = (key: string) => (key.includes(':') && !key.includes('/') ? '' : key.split('/')[0] ?? '');
/** The destination of a rule id `FROM -> TO:PORT/PROTO`. */
const ruleTarget = (id: string) => id.split(' -> ')[1]?.replace(/:[^:/]*\/[^/]*$/, '') ?? '';

export interface PrText {
  title: string;
  /** The commit message: a subject line, a blank line and the changes. */
  message: string;
  body: string;
}

export interface PrContext {
  review: ReviewFacts;
  rules: RuleFacts[];
  plan: Plan;
  heldBack: string[];
  /** The semantic diff of the base's policies and the pull request's (review/diff.ts). */
  diff?: PolicyDiff;
  /** Unused allows of a drift report against the base's policies, when one was given. */
  unused?: UnusedAllow[];
  /** The policies directory in the repository, e.g. `policies`. */
  policiesPath: string;
  base: string;
}

interface Risks {
  blockers: string[];
  plaintext: string[];
  broad: string[];
  lowConfidence: string[];
  unseen: string[];
  deniedToday: string[];
}

type NamedRisk = { namespace: string; text: string };

function risksOf(c: PrContext): Record<keyof Risks, NamedRisk[]> {
  const r = c.review;
  return {
    blockers: r.findings.filter((f) => f.severity === 'blocker' || f.severity === 'error').map((f) => ({ namespace: namespaceOf(f.subject), text: `**${md(f.target)}** ${md(f.subject)}: ${md(f.message)}` })),
    plaintext: r.mtls.flatMap((m) => m.plaintext.map((p) => ({ namespace: m.namespace, text: `${md(p.workload)}:${p.port} received ${p.requests} plaintext request(s) from ${md(p.from)}` }))),
    broad: r.coverage.broaderThanObserved.map((b) => ({ namespace: namespaceOf(ruleTarget(b.rule)), text: `${md(b.rule)}: ${b.allows.map(md).join('; ')}` })),
    lowConfidence: c.rules
      .filter((x) => x.confidence === 'low')
      .map((x) => ({ namespace: namespaceOf(x.to.key), text: `${md(x.id)}${x.notes.length === 0 ? '' : `: ${x.notes.map(md).join('; ')}`}` })),
    unseen: [
      ...r.coverage.noInbound.map((w) => ({ namespace: namespaceOf(w.workload), text: `${md(w.workload)}: no inbound traffic seen, its deny-all is untested` })),
      ...r.coverage.noOutbound.map((w) => ({ namespace: namespaceOf(w.workload), text: `${md(w.workload)}: never seen calling out, its default-deny egress is untested` })),
      ...r.coverage.idleJobs.map((j) => ({ namespace: namespaceOf(j), text: `${md(j)}: did not run in the window; its traffic will be denied when it runs` })),
    ],
    deniedToday: r.denied.map((d) => ({
      namespace: namespaceOf(d.to),
      text: `${md(d.from)} → ${md(d.to)}:${d.port}/${d.protocol} ${d.operation === '' ? '(connection)' : md(d.operation)}: ${d.requests} refused (${md(d.kind)}); stays denied`,
    })),
  };
}

/**
 * GitHub refuses a body over 65,536 characters (422): long lists are cut, saying how many more
 * there are and where they are all listed.
 */
interface Limits {
  /** Items per list of risks. */
  items: number;
  /** Rows of the changes and unused-allows tables. */
  changes: number;
  /** Rows of the traffic diff's table. */
  diffRows: number;
}

/** Tried in turn until the body fits BODY_BUDGET; then it is cut with a pointer to the rest. */
const LIMITS: Limits[] = [
  { items: 40, changes: 150, diffRows: 50 },
  { items: 10, changes: 40, diffRows: 20 },
  { items: 3, changes: 10, diffRows: 5 },
  { items: 0, changes: 0, diffRows: 0 },
];
/** Under GitHub's 65,536 characters (counted here in UTF-16 code units, never fewer than GitHub's). */
const BODY_BUDGET = 60_000;

const cut = (items: string[], max: number, where: string) => (items.length <= max ? items : [...items.slice(0, max), `… and ${items.length - max} more (${where})`]);

const section = (lim: Limits, title: string, items: string[], empty = 'none') => [
  `#### ${title} (${items.length})`,
  '',
  ...(items.length === 0 ? [`- ${empty}`] : cut(items, lim.items, "all in the proposal's review.md").map((i) => `- ${i}`)),
  '',
];

function changeCounts(changes: readonly ManifestChange[]): string {
  const n = (k: ManifestChange['change']) => changes.filter((c) => c.change === k).length;
  return `${n('added')} added, ${n('changed')} changed, ${n('removed')} removed`;
}

/** Namespaces the PR touches, fewest risks first (then by name): the order to roll out in. */
function rolloutOrder(c: PrContext, risks: Record<keyof Risks, NamedRisk[]>): { namespace: string; risks: number }[] {
  const namespaces = [...new Set(c.plan.changes.map((x) => x.ref.namespace))];
  const all = Object.values(risks).flat();
  return namespaces
    .map((namespace) => ({ namespace, risks: all.filter((r) => r.namespace === namespace).length }))
    .sort((a, b) => a.risks - b.risks || compare(a.namespace, b.namespace));
}

/** The diff's changes, those with risks first, then the newly allowed, then the rest, each in the diff's order. */
function reviewOrder(d: PolicyDiff): PolicyDiff['destinations'][number]['changes'] {
  const all = d.destinations.flatMap((x) => x.changes);
  const rank = (c: (typeof all)[number]) => (c.risks.length > 0 ? 0 : c.after === 'allowed' ? 1 : 2);
  return all.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map((x) => x.c);
}

/** What the pull request changes for traffic: the semantic diff's summary and its table of changes. */
function trafficSection(d: PolicyDiff, base: string, lim: Limits): string[] {
  const s = d.summary;
  const refused = d.after.problems.map((p) => `${md(p.file)}${p.object === undefined ? '' : ` ${md(p.object)}`}: ${md(p.message)}`);
  return [
    '### What changes for traffic',
    '',
    `Replaying ${d.replayed} requests against the policies on ${code(base)} and on this branch (\`ztmap diff\`): ${s.changes} change(s), ${s.newlyAllowed} newly allowed, ${s.newlyDenied} newly denied, ${s.other} other; ${s.risky} with risks.`,
    '',
    // What lets more through first (with risks, then newly allowed): a first proposal denies
    // thousands of probed requests, which is its point. diffSummaryTable escapes for Markdown;
    // mentions, references and links are GitHub's, so made inert here.
    inert(diffSummaryTable({ ...d, destinations: [{ destination: '', changes: reviewOrder(d) }] }, lim.diffRows).trimEnd()),
    '',
    ...(refused.length === 0 ? [] : ['Manifests the API server or Istio would refuse (not applied):', '', ...cut(refused, lim.items, 'run ztmap verify').map((r) => `- ${r}`), '']),
  ];
}

/** The drift report's unused allows, and what this pull request does to each one's policy. */
function unusedSection(c: PrContext, lim: Limits): string[] {
  const byPolicy = new Map(c.plan.changes.map((x) => [`${x.ref.kind} ${x.ref.namespace}/${x.ref.name}`, x.change]));
  const unused = [...c.unused!].sort((a, b) => compare(a.id, b.id));
  return [
    `### Unused allows (${unused.length}): rules no traffic used in the drift report's window`,
    '',
    ...(unused.length === 0
      ? ['- none']
      : [
          '| rule | allows | last used | in this pull request |',
          '|---|---|---|---|',
          ...unused.slice(0, lim.changes).map((u) => {
            const change = byPolicy.get(u.policy);
            const here = change === 'removed' ? 'policy removed' : change === 'changed' ? 'policy changed (see the diff)' : 'unchanged: still allowed';
            return `| ${md(u.id)} | ${md(u.text)} | ${u.lastUsed === null ? 'not in the data' : md(u.lastUsed)} | ${here} |`;
          }),
          ...(unused.length > lim.changes ? [`| … | ${unused.length - lim.changes} more: all in the drift report | | |`] : []),
        ]),
    '',
  ];
}

export function prText(c: PrContext): PrText {
  const r = c.review;
  const w = r.window;
  const window = `${w.first ?? '?'} .. ${w.last ?? '?'}`;
  const counts = changeCounts(c.plan.changes);
  const title = `ztmap: least-privilege policies from traffic observed ${(w.first ?? '?').slice(0, 10)} .. ${(w.last ?? '?').slice(0, 10)} (${counts})`;
  const risks = risksOf(c);
  const order = rolloutOrder(c, risks);
  const kinds = new Set(c.plan.changes.filter((x) => x.change !== 'removed').map((x) => x.ref.kind));
  const dir = c.policiesPath === '' || c.policiesPath === '.' ? '' : `${c.policiesPath}/`;
  const sources = Object.entries(r.evidence.rulesBySource).sort((a, b) => compare(a[0], b[0]));

  const bodyWith = (lim: Limits) => [
    '## Least-privilege policies proposed by ztmap',
    '',
    `Traffic observed ${md(window)} (${w.hours ?? '?'} h) allows ${r.counts.rules} access rules; everything else is denied. ` +
      `This pull request changes the policies under ${code(dir === '' ? '.' : dir)} on ${code(c.base)}: ${counts} manifests (${c.plan.unchanged} already as proposed). ` +
      `Errors: ${r.counts.errors}, blockers: ${r.counts.blockers}, warnings: ${r.counts.warnings}.`,
    '',
    '### Changes',
    '',
    `Layout: ${describeLayout(c.plan.layout)}.`,
    '',
    ...(c.plan.changes.length === 0
      ? ['- none']
      : [
          '| change | kind | namespace | name | file |',
          '|---|---|---|---|---|',
          ...c.plan.changes.slice(0, lim.changes).map((x) => `| ${x.change} | ${x.ref.kind} | ${md(x.ref.namespace)} | ${md(x.ref.name)} | ${md(dir + x.path)} |`),
          ...(c.plan.changes.length > lim.changes ? [`| … | ${c.plan.changes.length - lim.changes} more: every change is in the commit message | | | |`] : []),
        ]),
    '',
    ...(c.diff === undefined ? [] : trafficSection(c.diff, c.base, lim)),
    '### Evidence',
    '',
    `- Window: ${md(window)} (${w.hours ?? '?'} h)${r.coverage.windowWarnings.length === 0 ? '' : `: ${r.coverage.windowWarnings.map(md).join('; ')}`}`,
    `- Sources, by the rules they support: ${sources.length === 0 ? 'none' : sources.map(([n, k]) => `${md(n)} ${k}`).join(', ')}`,
    `- ${r.counts.rules} access rules, ${r.counts.excluded} observed flows excluded (probes, scrapes, below thresholds: see review.md)`,
    ...(r.evidence.l4IdentityOnly.length === 0 ? [] : [`- ${r.evidence.l4IdentityOnly.length} HTTP/gRPC rule(s) allow any method and path: their sources name none (L4 + identity only)`]),
    '',
    '### Risks',
    '',
    ...section(lim, 'Blockers and errors: observed traffic these policies would deny, or manifests not emitted', risks.blockers.map((x) => x.text)),
    ...section(lim, 'Plaintext sources: no authenticated identity, not ready for STRICT mTLS', risks.plaintext.map((x) => x.text)),
    ...section(lim, 'Broad generalizations: allowed beyond what was observed', risks.broad.map((x) => x.text)),
    ...section(lim, 'Low-confidence rules: little evidence (seen once, or on one day)', risks.lowConfidence.map((x) => x.text)),
    ...section(lim, 'Workloads with no traffic seen', risks.unseen.map((x) => x.text)),
    ...section(lim, 'Traffic denied today: the mesh refused it, and the policies keep denying it', risks.deniedToday.map((x) => x.text)),
    ...section(lim, 'Held back: not in this pull request', c.heldBack.map((f) => `${md(f)}: ztmap marked it not ready (see review.md)`)),
    ...section(
      lim,
      'Name conflicts: hand-written policies with a proposed name, left as they are (the proposal for them is not in this pull request)',
      c.plan.conflicts.map((x) => `${x.ref.kind} ${md(x.ref.namespace)}/${md(x.ref.name)} in ${md(dir + x.path)}`),
    ),
    ...(c.unused === undefined ? [] : unusedSection(c, lim)),
    '### Rollout plan',
    '',
    ...(order.length === 0
      ? ['- nothing to roll out']
      : [
          `Namespaces in order, fewest risks first: ${order.map((o) => `${md(o.namespace)} (${o.risks})`).join(', ')}. For each in turn:`,
          '',
          ...(kinds.has('AuthorizationPolicy')
            ? [
                '1. **Dry run (Istio).** Apply its AuthorizationPolicies with the annotation `istio.io/dry-run: "true"`: the proxies evaluate them and log and count what they would deny (`istio_dry_run_*` metrics, `shadow denied` in access logs) without enforcing.',
                '2. **Watch** for a representative period (a week covers weekly jobs). Re-run ztmap: new traffic comes back as an updated pull request; `ztmap verify` replays the window.',
                '3. **Enforce (Istio).** Remove the dry-run annotation for that namespace only.',
              ]
            : []),
          ...(kinds.has('NetworkPolicy')
            ? [
                `${kinds.has('AuthorizationPolicy') ? '4' : '1'}. **NetworkPolicy.** It has no dry run: apply the namespace's NetworkPolicies only after its Istio policies have run clean in enforcement, so a denial is caught by Istio's logs first.`,
              ]
            : []),
          ...(kinds.has('PeerAuthentication') ? ['- **STRICT mTLS** (PeerAuthentication) last, and only in a namespace with no plaintext source above.'] : []),
          '',
          'Merging this pull request changes nothing in the cluster by itself unless a GitOps controller applies this directory: then apply it one namespace at a time as above.',
        ]),
    '',
    '<sub>Generated by `ztmap pr` from the proposal\'s review.json and rules.json. Names come from telemetry and are escaped.</sub>',
    '',
  ].join('\n');
  let body = bodyWith(LIMITS[0]!);
  for (const lim of LIMITS.slice(1)) {
    if (body.length <= BODY_BUDGET) break;
    body = bodyWith(lim);
  }
  if (body.length > BODY_BUDGET) {
    // Long names alone: the start of the body, and where the rest is.
    const note = "\n\n… cut to GitHub's size limit: the whole proposal is in its review.md, and every change in the commit message.\n";
    const kept = body.slice(0, BODY_BUDGET - note.length);
    body = kept.slice(0, Math.max(0, kept.lastIndexOf('\n'))) + note;
  }

  const message = [
    title,
    '',
    `From traffic observed ${window}; layout ${c.plan.layout.template}.`,
    '',
    ...c.plan.changes.map((x) => printable(`${x.change} ${x.ref.kind} ${x.ref.namespace}/${x.ref.name} (${dir}${x.path})`)),
    '',
  ].join('\n');
  return { title, message, body };
}
