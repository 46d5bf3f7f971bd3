// review.md and review.json beside the manifests: blockers and errors first, then mTLS
// readiness, excluded traffic, and coverage and risk. Names come from telemetry and the
// inventory, so every cell is escaped for Markdown (docs/architecture.md, "Untrusted input").

import { compare } from '../flow/compare.js';
import type { RuleSet } from '../rules/access-rule.js';
import { printable, printableDeep } from '../text.js';
import { sortFindings, type Finding } from '../rules/finding.js';
import { ambientPlaintextInbound, plaintextInbound, type PlaintextInbound } from '../rules/mtls-readiness.js';
import { coverageOf, iso, type Coverage } from './coverage.js';

export interface Review {
  format: 'ztmap-review';
  version: 1;
  window: Coverage['window'];
  targets: string[];
  counts: { rules: number; excluded: number; manifests: number; errors: number; blockers: number; warnings: number };
  findings: Finding[];
  excluded: { from: string; to: string; port: number; protocol: string; reason: string; requests: number; consequence: string }[];
  coverage: Coverage;
  /** Per managed namespace with sidecars: ready for STRICT mTLS when nothing plaintext was received. */
  mtls: { namespace: string; ready: boolean; plaintext: PlaintextInbound[]; refused: PlaintextInbound[] }[];
  /** Requests the mesh refused in the window: the proposal keeps denying them. */
  denied: DeniedToday[];
  /** Which sources the rules rest on, and the HTTP/gRPC rules no source gave methods or paths for (L4 + identity only). */
  evidence: { rulesBySource: Record<string, number>; l4IdentityOnly: string[]; traceClaimsOnly: string[] };
  unmanagedNamespaces: RuleSet['unmanagedNamespaces'];
  settings: RuleSet['settings'];
}

interface DeniedToday {
  from: string;
  to: string;
  port: number;
  protocol: string;
  /** `METHOD PATH`, or '' for a connection. */
  operation: string;
  kind: string;
  policy: string;
  reporter: string;
  requests: number;
  firstSeen: string | null;
  lastSeen: string | null;
  /** The proposal's rule that still admits it, when one does (see the warnings). */
  admittedBy?: string;
}

function deniedToday(rs: RuleSet): DeniedToday[] {
  return rs.denied.map((d) => ({
    from: d.from.key,
    to: d.to.key,
    port: d.port,
    protocol: d.protocol,
    operation: d.method === '' ? '' : `${d.method} ${d.path}`,
    kind: d.kind,
    policy: d.policy,
    reporter: d.reporter,
    requests: d.requests,
    firstSeen: iso(d.firstSeen),
    lastSeen: iso(d.lastSeen),
    ...(d.admittedBy === undefined ? {} : { admittedBy: d.admittedBy }),
  }));
}

/**
 * Plaintext clients that a STRICT port of `namespace` refused today (`NR filter_chain_not_found`
 * at a sidecar): they already fail, and keep failing under the proposal's STRICT mode.
 */
function refusedPlaintext(rs: RuleSet, namespace: string): PlaintextInbound[] {
  const sidecar = new Set(rs.cluster.workloads.filter((w) => w.hasSidecar && !w.isGateway && w.namespace === namespace).map((w) => w.key));
  return rs.denied
    .filter((d) => d.kind === 'no-filter-chain' && sidecar.has(d.to.key))
    .map((d) => ({ workload: d.to.key, from: d.from.key, port: d.port, requests: d.requests }));
}

function evidenceOfRules(rs: RuleSet): Review['evidence'] {
  const bySource = new Map<string, number>();
  for (const r of rs.rules) for (const name of Object.keys(r.evidence.sources)) bySource.set(name, (bySource.get(name) ?? 0) + 1);
  return {
    rulesBySource: Object.fromEntries([...bySource].sort((a, b) => compare(a[0], b[0]))),
    l4IdentityOnly: rs.rules.filter((r) => r.protocol !== 'tcp' && r.evidence.methods.length === 0 && r.evidence.paths.length === 0).map((r) => r.id),
    // Spans name their own workloads: whoever could send to the receiver could claim any.
    traceClaimsOnly: rs.rules.filter((r) => Object.keys(r.evidence.sources).length > 0 && Object.keys(r.evidence.sources).every((n) => n === 'traces')).map((r) => r.id),
  };
}

export function reviewOf(rs: RuleSet, targets: string[], findings: Finding[], manifests: number): Review {
  const sorted = sortFindings(findings);
  const count = (s: Finding['severity']) => sorted.filter((f) => f.severity === s).length;
  const coverage = coverageOf(rs);
  // review.json is read by people (and shown by PR tools): every name in it is printable. Its
  // Markdown twin escapes again for Markdown (md), which leaves these escapes as they are.
  return printableDeep<Review>({
    format: 'ztmap-review',
    version: 1,
    window: coverage.window,
    targets,
    counts: { rules: rs.rules.length, excluded: rs.excluded.length, manifests, errors: count('error'), blockers: count('blocker'), warnings: count('warning') },
    findings: sorted,
    excluded: rs.excluded.map((x) => ({ from: x.from.key, to: x.to.key, port: x.port, protocol: x.protocol, reason: x.reason, requests: x.evidence.requests, consequence: x.consequence })),
    coverage,
    mtls: rs.managedNamespaces
      .filter((ns) => rs.cluster.workloads.some((w) => w.namespace === ns && w.dataplane !== 'none'))
      .map((namespace) => {
        // Sidecars report plaintext they received; ztunnel's own logs are not read, so for ambient
        // pods it is every source observed outside the mesh.
        const plaintext = [...plaintextInbound(rs, namespace), ...ambientPlaintextInbound(rs, namespace).map(({ why: _why, ...p }) => p)];
        return { namespace, ready: plaintext.length === 0, plaintext, refused: refusedPlaintext(rs, namespace) };
      }),
    denied: deniedToday(rs),
    evidence: evidenceOfRules(rs),
    unmanagedNamespaces: rs.unmanagedNamespaces,
    settings: rs.settings,
  });
}

/** Markdown-safe inline text: no control characters, no table or code breakouts. */
function md(s: string): string {
  return printable(s).replace(/([\\`*_[\]<>|#])/g, '\\$1');
}

const dataplaneTag = (w: { sidecar: boolean; ambient?: boolean }) => (w.sidecar ? '' : w.ambient === true ? ' (ambient)' : ' (no sidecar)');

const list = (items: string[], empty: string) => (items.length === 0 ? [`- ${empty}`] : items.map((i) => `- ${i}`));

export function reviewMarkdown(r: Review): string {
  const c = r.coverage;
  const bySeverity = (s: Finding['severity']) => r.findings.filter((f) => f.severity === s).map((f) => `**${f.target}** ${md(f.subject)}: ${md(f.message)}`);
  const lines = [
    '# ztmap proposal: review',
    '',
    `Observed ${md(c.window.first ?? '?')} .. ${md(c.window.last ?? '?')} (${c.window.hours ?? '?'} h). ` +
      `${r.counts.rules} access rules, ${r.counts.excluded} excluded flows, ${r.counts.manifests} manifests for ${r.targets.join(', ')}.`,
    `Errors: ${r.counts.errors}, blockers: ${r.counts.blockers}, warnings: ${r.counts.warnings}.`,
    '',
    '## Errors (manifests not emitted)',
    '',
    ...list(bySeverity('error'), 'none'),
    '',
    '## Blockers (observed traffic the proposal would deny)',
    '',
    ...list(bySeverity('blocker'), 'none'),
    '',
    '## Warnings',
    '',
    ...list(bySeverity('warning'), 'none'),
    '',
    '## mTLS readiness',
    '',
    ...list(
      r.mtls.map((m) =>
        m.ready
          ? `${md(m.namespace)}: ready for STRICT: every request its sidecars received was mTLS`
          : `${md(m.namespace)}: NOT READY for STRICT: ` + m.plaintext.map((p) => `${md(p.workload)}:${p.port} received ${p.requests} plaintext request(s) from ${md(p.from)}`).join('; '),
      ),
      'no managed namespace is in the mesh (sidecars or ambient)',
    ),
    ...r.mtls
      .filter((m) => m.refused.length > 0)
      .map(
        (m) =>
          `- ${md(m.namespace)}: already refused today by STRICT mTLS (no filter chain for plaintext): ` +
          m.refused.map((p) => `${md(p.workload)}:${p.port} refused ${p.requests} plaintext connection(s) from ${md(p.from)}`).join('; '),
      ),
    '',
    '## Denied today (the mesh refused these requests; the proposal keeps denying them)',
    '',
    ...(r.denied.length === 0
      ? ['- none']
      : [
          '| from | to | port | operation | refused by | policy | requests | first seen | last seen |',
          '|---|---|---|---|---|---|---|---|---|',
          ...r.denied.map(
            (d) =>
              `| ${md(d.from)} | ${md(d.to)} | ${d.port}/${d.protocol} | ${d.operation === '' ? '(connection)' : md(d.operation)} | ${d.kind} (${d.reporter} proxy) | ${d.policy === '' ? '-' : md(d.policy)} | ${d.requests}${d.admittedBy === undefined ? '' : ' (still admitted by a proposed rule: see Warnings)'} | ${d.firstSeen ?? '?'} | ${d.lastSeen ?? '?'} |`,
          ),
        ]),
    '',
    '## Evidence',
    '',
    `Rules by the sources that saw their traffic: ${Object.keys(r.evidence.rulesBySource).length === 0 ? 'none' : Object.entries(r.evidence.rulesBySource).map(([n, k]) => `${md(n)} ${k}`).join(', ')}.`,
    '',
    ...(r.evidence.l4IdentityOnly.length === 0
      ? []
      : [
          `HTTP/gRPC rules that allow any method and path, because their sources (Istio metrics, Hubble without L7 visibility) name none: L4 + identity only (principals and ports). Collect access logs to narrow them:`,
          '',
          ...r.evidence.l4IdentityOnly.map((id) => `- ${md(id)}`),
          '',
        ]),
    ...(r.evidence.traceClaimsOnly.length === 0
      ? []
      : [
          `Rules that rest on trace claims alone: the workloads on both sides are what the exporting processes said they are (resource attributes), which the inventory checked but no proxy or CNI confirmed. Check that only your Collector could send to ztmap, or confirm them with access logs, metrics or Hubble:`,
          '',
          ...r.evidence.traceClaimsOnly.map((id) => `- ${md(id)}`),
          '',
        ]),
    '## Excluded traffic',
    '',
    ...(r.excluded.length === 0
      ? ['- none']
      : [
          '| from | to | port | reason | requests | what enforcing does |',
          '|---|---|---|---|---|---|',
          ...r.excluded.map((x) => `| ${md(x.from)} | ${md(x.to)} | ${x.port}/${x.protocol} | ${x.reason} | ${x.requests} | ${md(x.consequence)} |`),
        ]),
    '',
    '## Coverage and risk',
    '',
    '### Observation window',
    '',
    ...list(c.windowWarnings.map(md), `${c.window.hours} h`),
    '',
    '### Workloads with no observed inbound traffic (their deny-all is untested)',
    '',
    ...list(c.noInbound.map((w) => `${md(w.workload)}${dataplaneTag(w)}`), 'none'),
    '',
    '### Workloads never observed calling out (their default-deny egress is untested)',
    '',
    ...list(c.noOutbound.map((w) => `${md(w.workload)}${dataplaneTag(w)}`), 'none'),
    '',
    '### CronJobs and Jobs that did not run in the window',
    '',
    ...list(c.idleJobs.map((j) => `${md(j)}: its traffic is not in the proposal and will be denied when it runs`), 'none'),
    '',
    '### Edges seen only once',
    '',
    ...list(c.seenOnce.map(md), 'none'),
    '',
    '### Edges seen on one day only',
    '',
    ...list(c.oneDay.map(md), c.multiDay ? 'none' : 'not measured: the whole window lies within one UTC day, so every edge was seen on one day'),
    '',
    '### Rules broader than what was observed',
    '',
    ...(c.broaderThanObserved.length === 0
      ? ['- none']
      : [
          '| rule | observed path templates | exact | prefix | also allows |',
          '|---|---|---|---|---|',
          ...c.broaderThanObserved.map((b) => `| ${md(b.rule)} | ${b.observedPaths} | ${b.exactPaths} | ${b.prefixPaths} | ${b.allows.map(md).join('; ')} |`),
        ]),
    '',
    '## Namespaces not managed',
    '',
    ...list(r.unmanagedNamespaces.map((u) => `${md(u.namespace)}: ${md(u.reason)}`), 'none'),
    '',
    '## Settings',
    '',
    `--min-requests ${r.settings.minRequests}, --min-days ${r.settings.minDays}, --sibling-limit ${r.settings.siblingLimit}${r.settings.includeScrapes ? ', --include-scrapes' : ''}`,
    '',
  ];
  return lines.join('\n');
}
