// Access rules → Istio AuthorizationPolicy (security.istio.io/v1, https://istio.io/latest/docs/reference/config/security/authorization-policy/):
//   - per managed namespace with sidecars, an allow-nothing `spec: {}` (deny-all);
//   - per destination workload with a sidecar, one ALLOW policy whose selector selects
//     exactly its pods, with one rule per distinct operation (port, methods, paths) and
//     the principals of every source that was seen using it over mTLS;
//   - a source without an authenticated identity is never written as a principal: the
//     requests it would lose are reported as blockers instead.
// Ports are the workload's target ports, as Istio evaluates them at the destination.
//
// Ambient workloads (docs/ambient.md) have no sidecar: ztunnel enforces their policies, at L4
// only. An ALLOW rule with HTTP attributes (methods, paths, hosts, …) bound by selector is
// omitted by ztunnel, which makes the policy deny what the rule was meant to allow (handleRule in
// https://github.com/istio/istio/blob/master/pilot/pkg/serviceregistry/kube/controller/ambient/authorization.go). So an
// ambient workload's ALLOW names principals and ports only, and a warning lists the L7
// restrictions left out. Behind a waypoint ztunnel sees the waypoint's identity, not the
// client's: such workloads get no selector policy, and their namespace no deny-all.

import { compare } from '../flow/compare.js';
import type { AccessRule, Exclusion, RuleSet, WorkloadFacts } from '../rules/access-rule.js';
import { istioPath, rulesBy } from '../rules/access-rule.js';
import type { Finding } from '../rules/finding.js';
import { breadthLines, evidenceLine, windowLine, workloadNamePart, type EmitResult, type Emitted } from './emitted.js';
import { checkLabels, checkNamespace, checkSubdomain, invalidNamespace, InvalidNameError, objectName, type Manifest } from './manifest.js';
import { podsIn, selectorFor, workloadsIn } from './selector.js';

export interface IstioOptions {
  /** SPIFFE trust domain of principals (`cluster.local` by default). */
  trustDomain: string;
  /** Istio's root namespace: a policy there applies mesh-wide. */
  rootNamespace: string;
  /** Add `istio.io/dry-run: "true"`: Istio evaluates and logs, but does not enforce. */
  dryRun: boolean;
  /** Add a temporary allow-all per workload, to switch enforcement on safely. */
  firstApply: boolean;
}

const API_VERSION = 'security.istio.io/v1';
const TRUST_DOMAIN = /^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/;

export function principalOf(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${trustDomain}/ns/${checkNamespace(namespace)}/sa/${checkSubdomain('service account', serviceAccount)}`;
}

/**
 * A source's principal is allowed when its server saw it over mTLS, or when no server
 * proxy logged the edge at all (the client's sidecar would use mTLS; if it does not, the
 * principal simply does not match: an outage risk flagged by low confidence, never an
 * allow for an unauthenticated caller). Seen only in plaintext: no principal.
 */
function allowedByPrincipal(r: AccessRule): boolean {
  const e = r.evidence;
  return e.mutual > 0 || (e.plaintext === 0 && e.unverified > 0);
}

interface Operation {
  port: number;
  methods: string[] | 'any';
  paths: string[] | 'any';
}

function operationOf(r: AccessRule): Operation {
  return { port: r.port, methods: r.methods, paths: r.paths === 'any' ? 'any' : r.paths.map(istioPath) };
}

function operationSpec(op: Operation): Record<string, unknown> {
  const operation: Record<string, unknown> = { ports: [String(op.port)] };
  if (op.methods !== 'any') operation['methods'] = op.methods;
  if (op.paths !== 'any') operation['paths'] = op.paths;
  return { operation };
}

function annotations(o: IstioOptions, extra: Record<string, string> = {}): Record<string, string> {
  return { 'ztmap.io/generated-by': 'ztmap propose', ...(o.dryRun ? { 'istio.io/dry-run': 'true' } : {}), ...extra };
}

function authorizationPolicy(name: string, namespace: string, spec: Record<string, unknown>, o: IstioOptions, extra?: Record<string, string>): Manifest {
  return { apiVersion: API_VERSION, kind: 'AuthorizationPolicy', metadata: { name, namespace, annotations: annotations(o, extra) }, spec };
}

/** What a rule restricts at L7 (methods, paths), in Istio's words; empty when nothing. */
function l7Of(r: AccessRule): string[] {
  const out: string[] = [];
  if (r.methods !== 'any') out.push(`methods ${r.methods.join(', ')}`);
  if (r.paths !== 'any') out.push(`paths ${r.paths.map(istioPath).join(', ')}`);
  return out;
}

/** The ALLOW policy of one destination, or nothing when no source can be allowed by identity. */
function allowFor(w: WorkloadFacts, selector: Record<string, string>, rules: AccessRule[], rs: RuleSet, o: IstioOptions, findings: Finding[]): Emitted | undefined {
  const ambient = w.dataplane === 'ambient';
  const byKey = ambient ? new Map(rs.cluster.workloads.map((x) => [x.key, x])) : undefined;
  const groups = new Map<string, { op: Operation; principals: Set<string>; rules: AccessRule[] }>();
  for (const r of rules) {
    const from = r.from;
    const e = r.evidence;
    if (from.kind !== 'workload' || from.namespace === undefined || from.serviceAccounts.length === 0) {
      findings.push({
        severity: 'blocker',
        target: 'istio',
        subject: w.key,
        message: `${e.requests} request(s) from ${from.key} to port ${r.port} would be denied: the source has no workload identity (${from.kind}), so no principal can allow it. Give it a sidecar, or route it through a gateway.`,
        requests: e.requests,
        flows: [r.id],
      });
      continue;
    }
    if (e.plaintext > 0) {
      findings.push({
        severity: 'blocker',
        target: 'istio',
        subject: w.key,
        message: `${e.plaintext} plaintext request(s) from ${from.key} to port ${r.port} would be denied: without mTLS the source has no authenticated principal. Inject a sidecar into ${from.key} before enforcing.`,
        requests: e.plaintext,
        flows: [r.id],
      });
    }
    if (!allowedByPrincipal(r)) continue;
    // No server proxy logs what reaches an ambient pod, so plaintext is known from the
    // inventory: a source outside the mesh reaches ztunnel without an identity.
    const source = byKey?.get(from.key);
    if (source !== undefined && source.dataplane === 'none' && source.pods.length > 0) {
      findings.push({
        severity: 'blocker',
        target: 'istio',
        subject: w.key,
        message: `${e.requests} request(s) from ${from.key} to port ${r.port} would be denied: ${from.key} is not in the mesh (no sidecar, not in ambient mode), so ztunnel receives them in plaintext, without a principal. Enroll it (label its namespace istio.io/dataplane-mode=ambient) before enforcing.`,
        requests: e.requests,
        flows: [r.id],
      });
      continue;
    }
    let principals: string[];
    try {
      principals = from.serviceAccounts.map((sa) => principalOf(o.trustDomain, from.namespace!, sa));
    } catch (err) {
      if (!(err instanceof InvalidNameError)) throw err;
      findings.push({ severity: 'error', target: 'istio', subject: w.key, message: `${e.requests} request(s) from ${from.key} not allowed: ${err.message}`, requests: e.requests, flows: [r.id] });
      continue;
    }
    // ztunnel reads ports only: one rule per port, whatever the methods and paths observed.
    const op: Operation = ambient ? { port: r.port, methods: 'any', paths: 'any' } : operationOf(r);
    const k = JSON.stringify(op);
    const g = groups.get(k) ?? { op, principals: new Set<string>(), rules: [] };
    for (const p of principals) g.principals.add(p);
    g.rules.push(r);
    groups.set(k, g);
  }
  if (groups.size === 0) return undefined;
  sharedIdentityWarnings(w, rules, rs, findings);
  const sorted = [...groups.entries()].sort(([a], [b]) => compare(a, b)).map(([, g]) => g);
  if (ambient) return ambientAllow(w, selector, sorted, rs, o, findings);
  const spec = {
    selector: { matchLabels: selector },
    action: 'ALLOW',
    rules: sorted.map((g) => ({ from: [{ source: { principals: [...g.principals].sort(compare) } }], to: [operationSpec(g.op)] })),
  };
  const requests = rules.reduce((n, r) => n + r.evidence.requests, 0);
  return {
    manifest: authorizationPolicy(objectName('allow', workloadNamePart(w, rs.cluster.workloads)), w.namespace, spec, o, { 'ztmap.io/observed-requests': String(requests) }),
    header: [`ALLOW for ${w.key}: what was observed reaching it, ${windowLine(rs)}.`],
    comments: sorted.map((g, i) => ({ path: ['spec', 'rules', i], text: ruleComment(g.rules) })),
  };
}

/** The comment beside an ALLOW rule: each rule's evidence, then how its operations relate to what was observed. */
function ruleComment(rules: readonly AccessRule[]): string {
  const lines: string[] = [];
  for (const r of rules) lines.push(evidenceLine(r), ...breadthLines(r));
  return lines.join('\n');
}

/**
 * The ALLOW policy of an ambient workload: principals and ports only, since ztunnel omits
 * an ALLOW rule with HTTP attributes. What the observed traffic would have let restrict at
 * L7 is listed in a warning, per source and port, and beside each rule in the manifest.
 */
function ambientAllow(w: WorkloadFacts, selector: Record<string, string>, groups: { op: Operation; principals: Set<string>; rules: AccessRule[] }[], rs: RuleSet, o: IstioOptions, findings: Finding[]): Emitted {
  const widened = groups.flatMap((g) => g.rules).filter((r) => l7Of(r).length > 0);
  if (widened.length > 0) {
    findings.push({
      severity: 'warning',
      target: 'istio',
      subject: w.key,
      message:
        `${w.key} runs in Istio's ambient mode: ztunnel enforces AuthorizationPolicy at L4 only, and omits an ALLOW rule that has HTTP attributes (the policy would then deny the traffic it was meant to allow). ` +
        `Its ALLOW policy therefore names principals and ports only and admits every method and path on those ports. Left out: ` +
        widened.map((r) => `from ${r.from.key} on port ${r.port}: ${l7Of(r).join('; ')}`).join(' | ') +
        `. To enforce them, deploy a waypoint for it (istio.io/use-waypoint) and bind an L7 policy to the waypoint with targetRefs.`,
      requests: widened.reduce((n, r) => n + r.evidence.requests, 0),
      flows: widened.map((r) => r.id),
    });
  }
  const spec = {
    selector: { matchLabels: selector },
    action: 'ALLOW',
    rules: groups.map((g) => ({ from: [{ source: { principals: [...g.principals].sort(compare) } }], to: [operationSpec(g.op)] })),
  };
  const requests = groups.reduce((n, g) => n + g.rules.reduce((m, r) => m + r.evidence.requests, 0), 0);
  return {
    manifest: authorizationPolicy(objectName('allow', workloadNamePart(w, rs.cluster.workloads)), w.namespace, spec, o, { 'ztmap.io/observed-requests': String(requests), 'ztmap.io/dataplane': 'ambient' }),
    header: [
      `ALLOW for ${w.key}: what was observed reaching it, ${windowLine(rs)}.`,
      `Ambient mode: ztunnel enforces it at L4, so it names principals (ztunnel's mTLS identities) and ports only; the L7 restrictions left out are listed in review.md.`,
    ],
    comments: groups.map((g, i) => ({
      path: ['spec', 'rules', i],
      text: g.rules.flatMap((r) => [evidenceLine(r), ...(l7Of(r).length > 0 ? [`  not enforced by ztunnel (needs a waypoint): ${l7Of(r).join('; ')}`] : []), ...r.notes.map((n) => `  note: ${n}`)]).join('\n'),
    })),
  };
}

const accountIndex = new WeakMap<RuleSet, ReadonlyMap<string, readonly WorkloadFacts[]>>();
const dataplaneIndex = new WeakMap<RuleSet, ReadonlyMap<string, WorkloadFacts['dataplane']>>();

/** Each workload's dataplane by key, built once per rule set (it was built for every policy). */
function dataplanes(rs: RuleSet): ReadonlyMap<string, WorkloadFacts['dataplane']> {
  let m = dataplaneIndex.get(rs);
  if (m === undefined) dataplaneIndex.set(rs, (m = new Map(rs.cluster.workloads.map((x) => [x.key, x.dataplane]))));
  return m;
}

/** The cluster's workloads by the `NS/SA` accounts they run as, in inventory order: built once per rule set, not per workload. */
function workloadsByAccount(rs: RuleSet): ReadonlyMap<string, readonly WorkloadFacts[]> {
  let index = accountIndex.get(rs);
  if (index === undefined) {
    const m = new Map<string, WorkloadFacts[]>();
    for (const x of rs.cluster.workloads) {
      for (const sa of new Set(x.serviceAccounts)) {
        const account = `${x.namespace}/${sa}`;
        const list = m.get(account);
        if (list === undefined) m.set(account, [x]);
        else list.push(x);
      }
    }
    accountIndex.set(rs, (index = m));
  }
  return index;
}

/** The keys of the workloads running as an account other than its observed sources and `w` itself: one loop, as it runs for every account of every policy. */
function othersRunningAs(running: readonly WorkloadFacts[], observed: ReadonlySet<string>, w: WorkloadFacts): string[] {
  const others: string[] = [];
  for (const x of running) if (!observed.has(x.key) && x.key !== w.key) others.push(x.key);
  return others;
}

/**
 * Istio identifies a source by its service account, not its workload: when other workloads
 * run as the same account as an allowed source, the policy admits them too. Said, not hidden.
 */
function sharedIdentityWarnings(w: WorkloadFacts, rules: AccessRule[], rs: RuleSet, findings: Finding[]): void {
  const accounts = new Map<string, Set<string>>(); // `NS/SA` → allowed source workloads running as it
  for (const r of rules) {
    if (r.from.kind !== 'workload' || r.from.namespace === undefined || !allowedByPrincipal(r)) continue;
    for (const sa of r.from.serviceAccounts) {
      const account = `${r.from.namespace}/${sa}`;
      const observed = accounts.get(account) ?? new Set<string>();
      accounts.set(account, observed.add(r.from.key));
    }
  }
  const runningAs = workloadsByAccount(rs);
  const byAccount = [...accounts.entries()].sort(([a], [b]) => compare(a, b));
  for (const [account, observed] of byAccount) {
    const others = othersRunningAs(runningAs.get(account) ?? [], observed, w);
    if (others.length === 0) continue;
    findings.push({
      severity: 'warning',
      target: 'istio',
      subject: w.key,
      message: `service account ${account} of ${[...observed].sort(compare).join(', ')} is shared by ${others.join(', ')}: Istio authorizes by service account, so ${w.key} also admits ${others.length === 1 ? 'it' : 'them'}, unobserved. Give each workload its own service account to tell them apart (NetworkPolicy does tell them apart).`,
    });
  }
  // Ambient: NetworkPolicy admits a peer's HBONE tunnel (15008) whatever port it carries, so
  // it no longer keeps apart the ports of observed sources that share an account when one
  // of them tunnels to `w` (w is ambient, or the source is).
  for (const [account, observed] of byAccount) {
    if (observed.size < 2) continue;
    const dataplaneOf = dataplanes(rs);
    const portsOf = (key: string) => [...new Set(rules.filter((r) => r.from.key === key && allowedByPrincipal(r)).map((r) => r.port))].sort((a, b) => a - b);
    const sources = [...observed].sort(compare).map((key) => ({ key, ports: portsOf(key), tunnel: w.dataplane === 'ambient' || dataplaneOf.get(key) === 'ambient' }));
    const widened = sources.filter((x) => x.tunnel && sources.some((y) => y.ports.some((p) => !x.ports.includes(p))));
    if (widened.length === 0) continue;
    findings.push({
      severity: 'warning',
      target: 'istio',
      subject: w.key,
      message: `service account ${account} is shared by ${sources.map((x) => `${x.key} (port ${x.ports.join(', ')})`).join(', ')}, which reach ${w.key} on different ports: Istio authorizes by service account, and NetworkPolicy admits an HBONE tunnel (15008, ambient mode) whatever port it carries, so ${widened.map((x) => x.key).join(', ')} may reach ${w.key} on the others' ports too, unobserved. Give each workload its own service account to tell them apart.`,
    });
  }
}

/**
 * Kubelet probes are excluded from rules, but those that pass through a sidecar in plaintext
 * still break under an ALLOW policy: by the namespace probed, in the order excluded, gathered
 * once (scanning every exclusion for each namespace grew with namespaces x exclusions).
 */
function plaintextProbesByNamespace(rs: RuleSet): Map<string | undefined, Exclusion[]> {
  const out = new Map<string | undefined, Exclusion[]>();
  for (const x of rs.excluded) {
    if (x.reason !== 'kubelet-probe' || x.evidence.plaintext === 0) continue;
    const list = out.get(x.to.namespace);
    if (list === undefined) out.set(x.to.namespace, [x]);
    else list.push(x);
  }
  return out;
}

function probeBlockers(probes: readonly Exclusion[], findings: Finding[]): void {
  for (const x of probes) {
    findings.push({
      severity: 'blocker',
      target: 'istio',
      subject: x.to.key,
      message: `${x.evidence.plaintext} kubelet probe request(s) from ${x.from.key} on port ${x.port} pass through the sidecar in plaintext and would be denied: ${x.consequence}`,
      requests: x.evidence.plaintext,
    });
  }
}

export function istioPolicies(rs: RuleSet, o: IstioOptions): EmitResult {
  const findings: Finding[] = [];
  const manifests = [...istioByNamespace(rs, o, findings)].flat();
  return { target: 'istio', manifests, findings };
}

/**
 * istioPolicies one namespace at a time (its findings added to `findings` as they come): a
 * caller that writes each namespace's manifests before the next are made keeps only those.
 */
export function* istioByNamespace(rs: RuleSet, o: IstioOptions, findings: Finding[]): Generator<Emitted[]> {
  if (!TRUST_DOMAIN.test(o.trustDomain)) throw new InvalidNameError('trust domain', o.trustDomain, 'expected a DNS-like name such as cluster.local');
  const inbound = rulesBy(rs.rules, 'to');
  const plaintextProbes = plaintextProbesByNamespace(rs);
  for (const ns of rs.managedNamespaces) {
    if (ns === o.rootNamespace) {
      findings.push({ severity: 'warning', target: 'istio', subject: ns, message: `${ns} is Istio's root namespace, where a policy applies to the whole mesh: no AuthorizationPolicy proposed for it.` });
      continue;
    }
    const invalid = invalidNamespace('istio', ns);
    if (invalid !== undefined) {
      findings.push(invalid);
      continue;
    }
    const scope = podsIn(rs.cluster.workloads, ns);
    const nsManifests: Emitted[] = [];
    const behindWaypoint: string[] = [];
    probeBlockers(plaintextProbes.get(ns) ?? [], findings);
    for (const w of workloadsIn(rs.cluster.workloads, ns)) {
      const rules = inbound.get(w.key) ?? [];
      if (w.dataplane === 'none') {
        if (rules.length > 0) {
          findings.push({ severity: 'warning', target: 'istio', subject: w.key, message: `${w.key} has no sidecar and is not in ambient mode: AuthorizationPolicy is not enforced for it; only NetworkPolicy restricts who reaches it.` });
        }
        continue;
      }
      if (w.dataplane === 'ambient' && w.waypoints.length > 0) {
        behindWaypoint.push(w.key);
        findings.push({
          severity: 'warning',
          target: 'istio',
          subject: w.key,
          message: `${w.key} is in ambient mode behind the waypoint ${w.waypoints.join(', ')} (istio.io/use-waypoint): ztunnel sees the waypoint's identity, not the clients', so a policy bound to it by selector cannot name its sources. ztmap does not write waypoint (targetRefs) policies yet: nothing is proposed for it, and Istio does not restrict who reaches it.`,
        });
        continue;
      }
      try {
        const sel = selectorFor(w, scope);
        if (!sel.ok) {
          if (w.pods.length > 0) findings.push({ severity: 'error', target: 'istio', subject: w.key, message: `no policy for ${w.key}: ${sel.reason}. The namespace deny-all would deny its traffic, so review before applying.` });
          continue;
        }
        checkLabels(sel.matchLabels);
        const allow = allowFor(w, sel.matchLabels, rules, rs, o, findings);
        if (allow !== undefined) nsManifests.push(allow);
        if (o.firstApply) {
          nsManifests.push({
            manifest: authorizationPolicy(objectName('temporary-allow-all', workloadNamePart(w, rs.cluster.workloads)), ns, { selector: { matchLabels: sel.matchLabels }, action: 'ALLOW', rules: [{}] }, { ...o, dryRun: false }, { 'ztmap.io/temporary': 'true' }),
            header: [`TEMPORARY: allows everything to ${w.key} while enforcement is switched on. Delete this object to enforce the proposal for it.`],
            comments: [],
          });
        }
      } catch (err) {
        if (!(err instanceof InvalidNameError)) throw err;
        findings.push({ severity: 'error', target: 'istio', subject: w.key, message: `no policy for ${w.key}: ${err.message}` });
      }
    }
    // Every managed namespace with sidecars (or ambient pods) gets the deny-all, also one that
    // only sends: its workloads were never observed receiving, so least privilege is to
    // receive nothing. ztunnel enforces `spec: {}` too (an ALLOW policy with no rule).
    const meshed = workloadsIn(rs.cluster.workloads, ns).filter((w) => w.dataplane !== 'none');
    if (meshed.length === 0) continue;
    const ambient = meshed.some((w) => w.dataplane === 'ambient');
    if (ambient && o.dryRun) {
      findings.push({
        severity: 'warning',
        target: 'istio',
        subject: ns,
        message: `${ns} has workloads in ambient mode: ztunnel ignores dry-run policies since Istio 1.25 (so a dry run shows nothing for them), and earlier versions enforce them as if istio.io/dry-run were absent. Check the Istio version before applying a dry run here.`,
      });
    }
    if (behindWaypoint.length > 0) {
      findings.push({
        severity: 'warning',
        target: 'istio',
        subject: ns,
        message: `no deny-all proposed for ${ns}: it would also deny what the waypoint forwards to ${behindWaypoint.join(', ')} (ztunnel sees the waypoint's identity). Workloads of ${ns} without an ALLOW policy are not restricted by Istio.`,
      });
    } else {
      nsManifests.unshift({
        manifest: authorizationPolicy(objectName('deny-all'), ns, {}, o),
        header: [
          `Deny-all default for namespace ${ns}: with it, a workload receives only what an ALLOW policy names.`,
          `It also denies everything to ${ns}'s workloads with no observed inbound traffic: see review.md, "Coverage and risk".`,
          ...(ambient ? ['ztunnel enforces it for the ambient workloads of the namespace too (kubelet probes, rewritten to 169.254.7.127, are exempt).'] : []),
        ],
        comments: [],
      });
    }
    yield nsManifests;
  }
}
