// The verification as a table a reviewer reads: one line per observation (edge and mTLS
// class), its verdict, requests, and the policies that decided it; then the summary and the
// over-permission. Names come from untrusted input: printed through `printable`.

import { printable } from '../text.js';
import type { PairGrant } from './over-permission.js';
import { refText, type IstioOutcome, type NpOutcome } from './replay.js';
import type { Checked, Verification } from './verification.js';

const pct = (x: number) => `${(Math.floor(x * 10000) / 100).toFixed(2)}%`;

const ISTIO_REASONS: Record<IstioOutcome['reason'], string> = {
  'no-policy': 'no ALLOW policy applies',
  'allowed-by': 'allowed by',
  'denied-by': 'DENY policy',
  'no-allow-match': 'no ALLOW rule matches; policies',
  custom: 'external authorizer decides (CUSTOM)',
  'unknown-attribute': 'depends on attributes not in the telemetry; policies',
  'denied-every-request': 'denied whatever the method and path (a DENY rule, or no ALLOW rule matches); policies',
  'no-sidecar': 'not enforced (no sidecar at the server)',
  'plaintext-refused': 'plaintext refused by STRICT PeerAuthentication',
  'mtls-unknown': 'mTLS not known',
};

function istioLine(x: IstioOutcome): string {
  const what = [x.method, x.path].filter((v) => v !== undefined).join(' ');
  const who = x.principal === null ? ' from a source without identity' : '';
  const policies = x.policies.length === 0 ? '' : ' ' + x.policies.map(refText).join(', ');
  const where = x.enforcedBy === 'ztunnel' ? '(ztunnel, L4) ' : '';
  return `${x.decision} ${where}${what === '' ? '' : `[${what}] `}${ISTIO_REASONS[x.reason]}${policies}${who}`;
}

function npLine(x: NpOutcome): string {
  const pods = x.fromPod !== undefined || x.toPod !== undefined ? ` [${x.fromPod ?? '?'} -> ${x.toPod ?? '?'}]` : '';
  switch (x.reason) {
    case 'allowed': {
      const by = [
        x.egress?.isolated ? `egress ${x.egress.allowedBy.map(refText).join(', ')}` : 'egress not isolated',
        x.ingress?.isolated ? `ingress ${x.ingress.allowedBy.map(refText).join(', ')}` : 'ingress not isolated',
      ];
      return `allow${pods} ${by.join('; ')}`;
    }
    case 'egress-denied':
      return `deny${pods} no egress rule matches at the client; isolated by ${x.egress!.isolatedBy.map(refText).join(', ')}`;
    case 'ingress-denied':
      return `deny${pods} no ingress rule matches at the server; isolated by ${x.ingress!.isolatedBy.map(refText).join(', ')}`;
    case 'node-local':
      return `allow${pods} from the pod's own node (kubelet), which CNIs always admit`;
    case 'no-pods':
      return 'unknown: the workload has no pods in the inventory';
    case 'no-address':
      return 'unknown: no address known for the endpoint';
    case 'waypoint':
      return `unknown${pods}: through a waypoint, which replay does not model`;
  }
}

function resultLines(r: Checked): string[] {
  const o = r.observation;
  const verdict = r.verdict.toUpperCase().padEnd(8);
  const lines = [`${verdict} ${String(o.requests).padStart(7)}  ${o.mtls.padEnd(9)}  ${printable(o.edge)}${r.expected === undefined ? '' : `  (expected: ${printable(r.expected)})`}`];
  const show = r.verdict !== 'allowed';
  for (const x of r.istio.outcomes) if (show || x.decision !== 'not-enforced') lines.push(`           istio: ${printable(istioLine(x))}`);
  if (r.istioDryRun !== undefined) for (const x of r.istioDryRun.outcomes) lines.push(`           istio dry-run: ${printable(istioLine(x))}`);
  for (const x of r.networkPolicy.outcomes) lines.push(`           networkpolicy: ${printable(npLine(x))}`);
  for (const n of r.notes) lines.push(`           note: ${printable(n)}`);
  return lines;
}

/** The platform traffic (DNS, xDS) replayed: a summary, each check not allowed (all with --all), and what was not replayed. */
function platformLines(v: Verification, all: boolean): string[] {
  const p = v.platform;
  const s = v.summary.platform;
  const namespaces = new Set(p.checks.map((c) => c.namespace)).size;
  const out = [`platform traffic (DNS, xDS to istiod; never in access logs): ${s.checks} checks from ${namespaces} namespaces, ${s.denied} denied (fail the gate)${s.unknown > 0 ? `, ${s.unknown} unknown` : ''}`];
  for (const c of p.checks) {
    if (!all && c.verdict === 'allowed') continue;
    const what = `${c.kind === 'dns' ? 'DNS' : 'xDS'} ${c.protocol} ${c.port}`;
    out.push(`  ${c.verdict.toUpperCase().padEnd(8)} ${what.padEnd(13)} ${printable(c.namespace)} -> ${printable(c.server)}`);
    if (c.message !== undefined) out.push(`           ${printable(c.message)}`);
  }
  for (const n of p.notes) out.push(`  note: ${printable(n)}`);
  return out;
}

export function verificationTable(v: Verification, opts: { all: boolean } = { all: true }): string {
  const s = v.summary;
  const out: string[] = [];
  out.push(
    `policies: ${v.policies.files} files, ${v.policies.authorizationPolicies} AuthorizationPolicies, ${v.policies.peerAuthentications} PeerAuthentications, ${v.policies.networkPolicies} NetworkPolicies` +
      (v.policies.ignored.length > 0 ? `, ${v.policies.ignored.length} other objects not evaluated` : ''),
  );
  for (const p of v.problems) out.push(`problem: ${printable(p.file)}${p.object === undefined ? '' : ` ${printable(p.object)}`}: ${printable(p.message)}`);
  out.push('', 'VERDICT  REQUESTS  MTLS       EDGE');
  for (const r of v.results) if (opts.all || r.verdict !== 'allowed') out.push(...resultLines(r));
  out.push('');
  const t = (x: { observations: number; requests: number }) => `${x.requests} requests (${x.observations} observations)`;
  out.push(`observed: ${s.edges} edges, ${t({ observations: s.observations, requests: s.requests })}`);
  out.push(`allowed: ${t(s.allowed)}, ${pct(s.allowedShare)} of requests`);
  if (s.denied.observations + s.partial.observations > 0) out.push(`denied: ${t(s.denied)}; partly denied: ${t(s.partial)}`);
  if (v.settings.rules) out.push(`  expected by the proposal (its blockers and exclusions): ${t(s.expectedDenials)}`);
  out.push(`  unexpected denials (fail the gate): ${t(s.unexpectedDenials)}`);
  if (s.dryRunDenials.observations > 0) out.push(`  denied once dry-run policies are enforced: ${t(s.dryRunDenials)}`);
  if (s.unknown.observations > 0) out.push(`unknown (depends on what the telemetry does not show): ${t(s.unknown)}`);
  out.push(...platformLines(v, opts.all));
  const refused = s.deniedToday;
  if (refused.stillDenied.observations + refused.nowAllowed.observations + refused.undecided.observations > 0) {
    out.push(`refused by the mesh today: still denied ${t(refused.stillDenied)}; admitted by these policies ${t(refused.nowAllowed)}; undecided ${t(refused.undecided)}`);
    for (const r of v.refusals.filter((x) => x.verdict !== 'denied')) {
      const o = r.observation;
      out.push(`  ${r.verdict.padEnd(8)} ${printable(o.edge)} ${printable([...o.methods, ...o.paths.map((p) => p.text)].join(' '))} (refused today: ${r.kind}${r.policy === '' ? '' : ` by ${printable(r.policy)}`})`);
    }
  }
  const op = v.overPermission;
  if (op !== undefined) {
    // Those a policy rule admits come first: a reviewer can tighten them. The rest pass only
    // because nothing isolates either side (unmanaged namespaces, pods no policy selects).
    const byRule = op.pairs.filter((p) => p.allowedBy.length > 0);
    const open = op.pairs.filter((p) => p.allowedBy.length === 0);
    out.push(
      `over-permission: ${op.pairs.length} of ${op.pairsChecked} unobserved (client, server, port) combinations not denied: ` +
        `${byRule.length} admitted by a policy rule, ${open.length} because no policy isolates either side`,
    );
    const shown = [...byRule, ...open];
    const pairLine = (p: PairGrant) =>
      `  ${p.verdict.padEnd(8)} ${printable(p.from)} -> ${printable(p.to)}:${p.port} (istio ${p.istio}, networkpolicy ${p.networkPolicy}; ${p.allowedBy.length > 0 ? `by ${printable(p.allowedBy.join(', '))}` : 'not isolated'})`;
    for (const p of shown.slice(0, 20)) out.push(pairLine(p));
    if (shown.length > 20) out.push(`  … and ${shown.length - 20} more (all in the JSON)`);
    for (const x of op.operations) {
      const parts = [
        ...(x.methods.length > 0 ? [`methods not observed: ${x.methods.join(', ')}`] : []),
        ...(x.anyPath ? ['any path'] : []),
        ...(x.paths.length > 0 ? [`paths beside the observed ones: ${x.paths.slice(0, 5).join(', ')}${x.paths.length > 5 ? ` … (${x.paths.length})` : ''}`] : []),
      ];
      out.push(`  operations ${printable(x.edge)}: ${printable(parts.join('; '))}`);
    }
  }
  return out.join('\n') + '\n';
}
