// Istio AuthorizationPolicy (security.istio.io/v1 and v1beta1) evaluated over one request at
// the destination workload's sidecar, from the API reference (https://istio.io/latest/docs/reference/config/security/authorization-policy/):
//   1. a matching CUSTOM policy hands the request to its external authorizer;
//   2. a matching DENY policy denies;
//   3. no ALLOW policy applying to the workload: allow;
//   4. a matching ALLOW policy allows; 5. otherwise deny.
// A policy in the root namespace applies mesh-wide; without a selector it applies to its
// whole namespace (or the mesh). Rules OR; within a rule from, to and when AND; values in a
// field OR; `notX` requires that no value matches; an empty list is no list. Principals and
// namespaces exist only over mTLS. On TCP traffic the HTTP-only attributes cannot be read: an
// ALLOW rule using any of them never matches, and in a DENY rule they count as matched
// (Istio's documented behaviour, and its model.Generate/checkError).
// What replay cannot know (JWT claims, headers, the external authorizer) is unknown, and an
// unknown that could change the verdict makes the verdict unknown.
//
// At ztunnel (ambient mode, `EvaluateOptions.ztunnel`) Istio converts each policy as its
// https://github.com/istio/istio/blob/master/pilot/pkg/serviceregistry/kube/controller/ambient/authorization.go does: targetRef
// policies are not sent to ztunnel; CUSTOM (and AUDIT) are not supported and not applied;
// a rule with an attribute ztunnel cannot read — hosts, methods, paths (and their notX),
// remoteIpBlocks, requestPrincipals, a `when` key other than source.ip, source.namespace,
// source.principal, destination.ip, destination.port — is omitted whole from an ALLOW
// policy, which still applies (so with no rule left it denies everything). In a DENY rule
// those attributes are dropped from each source, operation and condition; one left with
// nothing becomes an empty match, which ztunnel never matches (https://github.com/istio/ztunnel/blob/master/src/rbac.rs,
// Authorization::matches skips an empty match, and its test rbac_empty_policy), so such a
// DENY rule never applies, however Istio's status words it. Namespaces are plain Istio
// string matches on the peer's namespace (not Envoy's regular expression); trustDomains
// are not converted; principals are compared as written, without the trust-domain alias
// rewriting sidecars get. Requests are connections: no HTTP attribute is known.

import { matchesSelector, isObj, parseMatchLabels, type LabelSelector, type Obj } from './label-selector.js';
import { parseCidr, type Cidr } from './cidr.js';
import { istioStringMatch, pathMatch, type PathValue } from './istio-match.js';
import { and3, not3, or3, type Tri } from './tri.js';
import { compare } from '../flow/compare.js';

type IstioAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface IstioRequest {
  source: {
    /** The mTLS peer principal; null over plaintext (no identity); undefined when not known. */
    principal: string | null | undefined;
    ip?: string;
  };
  destination: {
    namespace: string;
    labels: Readonly<Record<string, string>>;
    ip?: string;
    /** Target (pod) port. */
    port: number;
  };
  /** Absent for TCP. Fields absent inside it are unknown. */
  http?: { method?: string; path?: PathValue; host?: string };
}

export interface IstioPolicyRef {
  namespace: string;
  name: string;
  /** Index in spec.rules of the rule that matched, for allows and denies. */
  rule?: number;
}

export type Decision = 'allow' | 'deny' | 'unknown';

/** A policy or rule ztunnel does not apply as written, with why. */
interface ZtunnelOmission {
  policy: IstioPolicyRef;
  /** The attributes ztunnel cannot evaluate (`methods`, `paths`, `when request.headers[x]`…), or `action CUSTOM`. */
  attributes: string[];
  /**
   * omitted: an ALLOW rule ztunnel drops; reduced: a DENY rule enforced without the
   * attributes (wider); inert: a DENY rule that never matches, some part of it having
   * nothing left; not-applied: a CUSTOM policy.
   */
  effect: 'omitted' | 'reduced' | 'inert' | 'not-applied';
}

export interface IstioVerdict {
  decision: Decision;
  /**
   * no-policy: no ALLOW policy applies; allowed-by / denied-by: the rule that decided;
   * no-allow-match: ALLOW policies apply and none matches (they are listed);
   * custom: an external authorizer decides; unknown-attribute: the verdict depends on
   * something the telemetry does not carry; denied-every-request: the method or path is not
   * known and every value they could take is denied, some by a DENY rule (listed), the others
   * for want of a matching ALLOW rule (listed).
   */
  reason: 'no-policy' | 'allowed-by' | 'denied-by' | 'no-allow-match' | 'custom' | 'unknown-attribute' | 'denied-every-request';
  policies: IstioPolicyRef[];
  /** At ztunnel: ALLOW rules omitted and CUSTOM policies not applied, among those applying to the workload. */
  ztunnelOmitted?: ZtunnelOmission[];
}

interface Source {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: Cidr[];
  notIpBlocks?: Cidr[];
  remoteIpBlocks?: Cidr[];
  notRemoteIpBlocks?: Cidr[];
  /** `NS/SA`, the namespace defaulted to the policy's. */
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  trustDomains?: string[];
  notTrustDomains?: string[];
}

interface Operation {
  hosts?: string[];
  notHosts?: string[];
  ports?: number[];
  notPorts?: number[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

interface Condition {
  key: string;
  values?: string[];
  notValues?: string[];
}

interface Rule {
  from?: Source[];
  to?: Operation[];
  when?: Condition[];
  /** Some source, operation or condition reads an HTTP-only attribute. */
  http: boolean;
  /** The attributes of the rule ztunnel cannot evaluate (empty: ztunnel enforces it as written). */
  l7: string[];
}

export interface AuthorizationPolicyModel {
  namespace: string;
  name: string;
  action: IstioAction;
  /** Undefined: every workload in scope. */
  selector?: LabelSelector;
  rules: Rule[];
  dryRun: boolean;
  /** Gateway or waypoint policies (targetRef): not applied at sidecars. */
  targetRef: boolean;
}

export interface IstioProblem {
  namespace: string;
  name: string;
  message: string;
}

/**
 * Condition keys Istio accepts (its ValidateAttribute); those replay can read are evaluated,
 * the rest are unknown. `source.labels[…]` and `destination.labels[…]` are not among them:
 * Istio rejects them, so they are problems here, not unknowns.
 */
const KNOWN_KEYS = new Set(['source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'source.serviceAccount', 'destination.ip', 'destination.port']);
// source.trustDomain: accepted by recent Istio (pkg/config/security ValidateAttribute); replay does
// not decide on it, so a policy that uses it is applied and its verdicts are unknown, not refused.
const UNKNOWN_KEYS = /^(request\.headers\[.+\]|request\.auth\.(principal|audiences|presenter|claims\[.+\])|connection\.sni|source\.trustDomain|experimental\.envoy\.filters\..+)$/;
const HTTP_ONLY_KEYS = /^(request\.headers|request\.auth)/;
/** The `when` keys ztunnel converts (Istio's l4WhenAttributes); any other is L7 there. */
const ZTUNNEL_WHEN_KEYS = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);
const ZTUNNEL_L7_SOURCE_FIELDS = ['remoteIpBlocks', 'notRemoteIpBlocks', 'requestPrincipals', 'notRequestPrincipals'] as const;
const ZTUNNEL_L7_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

/** Istio's ParseBool reading of `istio.io/dry-run` (anything else is not dry-run). */
const DRY_RUN_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

/** The trust domain a policy may write for "this mesh's" (Istio's trust-domain alias rule). */
const LOCAL_TRUST_DOMAIN = 'cluster.local';

export function parseAuthorizationPolicy(raw: unknown): AuthorizationPolicyModel | IstioProblem {
  const meta = isObj(raw) && isObj(raw['metadata']) ? raw['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '(unnamed)';
  const namespace = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
  const fail = (message: string): IstioProblem => ({ namespace, name, message });
  if (!isObj(raw)) return fail('not an object');
  const spec = raw['spec'] ?? {};
  if (!isObj(spec)) return fail('spec is not an object');
  const action = spec['action'] ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY' && action !== 'AUDIT' && action !== 'CUSTOM') return fail(`unknown action ${String(action)}`);
  if (action === 'CUSTOM' && !isObj(spec['provider'])) return fail('a CUSTOM policy needs a provider');
  if (action !== 'CUSTOM' && spec['provider'] !== undefined) return fail('provider is only for CUSTOM policies');
  // null and [] are unset (the API server prunes null; an empty repeated field is unset).
  const hasTargetRef = isObj(spec['targetRef']) || (Array.isArray(spec['targetRefs']) && spec['targetRefs'].length > 0);
  let selector: LabelSelector | undefined;
  if (spec['selector'] !== undefined && spec['selector'] !== null) {
    if (hasTargetRef) return fail('selector and targetRef cannot both be set');
    const s = spec['selector'];
    const ml = isObj(s) ? parseMatchLabels(s['matchLabels'], 'spec.selector.matchLabels') : 'spec.selector is not an object';
    if (typeof ml === 'string') return fail(ml);
    selector = { matchLabels: ml, matchExpressions: [] };
  }
  const rawRules = spec['rules'] ?? [];
  if (!Array.isArray(rawRules)) return fail('spec.rules is not a list');
  const rules: Rule[] = [];
  for (const [i, r] of rawRules.entries()) {
    const rule = parseRule(r, `spec.rules[${i}]`, namespace);
    if (typeof rule === 'string') return fail(rule);
    rules.push(rule);
  }
  const annotations = isObj(meta['annotations']) ? meta['annotations'] : {};
  return {
    namespace,
    name,
    action,
    ...(selector === undefined ? {} : { selector }),
    rules,
    dryRun: typeof annotations['istio.io/dry-run'] === 'string' && DRY_RUN_TRUE.has(annotations['istio.io/dry-run']),
    targetRef: hasTargetRef,
  };
}

/** A list of strings; absent, null and [] are all "not set" (proto3 has no empty-but-set list). */
function strings(o: Obj, key: string, at: string): string[] | undefined | string {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return `${at}.${key} is not a list of strings`;
  if (v.length === 0) return undefined;
  if (v.some((x) => x === '')) return `${at}.${key} has an empty value`;
  return v as string[];
}

// `from: []`, `to: []` and `when: []` are unset like any other empty list: no constraint.
function parseRule(r: unknown, at: string, policyNamespace: string): Rule | string {
  if (r === null || r === undefined) return { http: false, l7: [] };
  if (!isObj(r)) return `${at} is not an object`;
  const rule: Rule = { http: false, l7: [] };
  const l7 = new Set<string>();
  const from = r['from'];
  if (from !== undefined && from !== null) {
    if (!Array.isArray(from)) return `${at}.from is not a list`;
    if (from.length > 0) rule.from = [];
    for (const [i, f] of from.entries()) {
      const s = isObj(f) ? f['source'] : undefined;
      if (!isObj(s)) return `${at}.from[${i}].source must not be empty`;
      const src = parseSource(s, `${at}.from[${i}].source`, policyNamespace);
      if (typeof src === 'string') return src;
      if (Object.keys(src).length === 0) return `${at}.from[${i}].source must not be empty`;
      if (src.requestPrincipals !== undefined || src.notRequestPrincipals !== undefined) rule.http = true;
      for (const k of ZTUNNEL_L7_SOURCE_FIELDS) if (src[k] !== undefined) l7.add(k);
      rule.from!.push(src);
    }
  }
  const to = r['to'];
  if (to !== undefined && to !== null) {
    if (!Array.isArray(to)) return `${at}.to is not a list`;
    if (to.length > 0) rule.to = [];
    for (const [i, t] of to.entries()) {
      const o = isObj(t) ? t['operation'] : undefined;
      if (!isObj(o)) return `${at}.to[${i}].operation must not be empty`;
      const op = parseOperation(o, `${at}.to[${i}].operation`);
      if (typeof op === 'string') return op;
      if (Object.keys(op).length === 0) return `${at}.to[${i}].operation must not be empty`;
      if (usesHttp(op)) rule.http = true;
      for (const k of ZTUNNEL_L7_OPERATION_FIELDS) if (op[k] !== undefined) l7.add(k);
      rule.to!.push(op);
    }
  }
  const when = r['when'];
  if (when !== undefined && when !== null) {
    if (!Array.isArray(when)) return `${at}.when is not a list`;
    if (when.length > 0) rule.when = [];
    for (const [i, c] of when.entries()) {
      const w = `${at}.when[${i}]`;
      if (!isObj(c) || typeof c['key'] !== 'string') return `${w} has no key`;
      const key = c['key'];
      if (!KNOWN_KEYS.has(key) && !UNKNOWN_KEYS.test(key)) return `${w}.key "${key}" is not an Istio attribute`;
      const values = strings(c, 'values', w);
      const notValues = strings(c, 'notValues', w);
      if (typeof values === 'string') return values;
      if (typeof notValues === 'string') return notValues;
      if (values === undefined && notValues === undefined) return `${w} needs values or notValues`;
      const cond: Condition = { key };
      if (values !== undefined) cond.values = values;
      if (notValues !== undefined) cond.notValues = notValues;
      for (const v of [...(values ?? []), ...(notValues ?? [])]) {
        if ((key.endsWith('.ip')) && parseCidr(v, true) === undefined) return `${w}: "${v}" is not an IP or CIDR`;
        if (key === 'destination.port' && !isPort(v)) return `${w}: "${v}" is not a port`;
      }
      if (key === 'source.serviceAccount') {
        const sas = serviceAccountsOf(values ?? [], policyNamespace, w);
        const notSas = serviceAccountsOf(notValues ?? [], policyNamespace, w);
        if (typeof sas === 'string') return sas;
        if (typeof notSas === 'string') return notSas;
        if (values !== undefined) cond.values = sas;
        if (notValues !== undefined) cond.notValues = notSas;
      }
      if (HTTP_ONLY_KEYS.test(key)) rule.http = true;
      if (!ZTUNNEL_WHEN_KEYS.has(key)) l7.add(`when ${key}`);
      rule.when!.push(cond);
    }
  }
  rule.l7 = [...l7].sort(compare);
  return rule;
}

const isPort = (v: string) => /^\d{1,5}$/.test(v) && Number(v) >= 0 && Number(v) <= 65535;

const SOURCE_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains'];

/** `NS/SA` or `SA` (in the policy's namespace), without wildcards, as `NS/SA`. */
function serviceAccountsOf(values: readonly string[], policyNamespace: string, at: string): string[] | string {
  const out: string[] = [];
  for (const v of values) {
    const parts = v.split('/');
    if (v.includes('*') || parts.length > 2 || parts.some((x) => x === '')) return `${at}: service account "${v}" is not NAMESPACE/NAME or NAME (no wildcards)`;
    out.push(parts.length === 2 ? v : `${policyNamespace}/${v}`);
  }
  return out;
}

function parseSource(s: Obj, at: string, policyNamespace: string): Source | string {
  const out: Source = {};
  for (const key of ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'trustDomains', 'notTrustDomains'] as const) {
    const v = strings(s, key, at);
    if (typeof v === 'string') return v;
    if (v !== undefined) out[key] = v;
  }
  for (const key of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) {
    const v = strings(s, key, at);
    if (typeof v === 'string') return v;
    if (v === undefined) continue;
    const cidrs: Cidr[] = [];
    for (const x of v) {
      const c = parseCidr(x, true);
      if (c === undefined) return `${at}.${key}: "${x}" is not an IP or CIDR`;
      cidrs.push(c);
    }
    out[key] = cidrs;
  }
  for (const key of ['serviceAccounts', 'notServiceAccounts'] as const) {
    const v = strings(s, key, at);
    if (typeof v === 'string') return v;
    if (v === undefined) continue;
    if (v.length > 16) return `${at}.${key} has more than 16 entries`;
    const sas = serviceAccountsOf(v, policyNamespace, `${at}.${key}`);
    if (typeof sas === 'string') return sas;
    out[key] = sas;
  }
  if ((out.serviceAccounts ?? out.notServiceAccounts) !== undefined && (out.principals ?? out.notPrincipals ?? out.namespaces ?? out.notNamespaces) !== undefined) {
    return `${at}: serviceAccounts cannot be set with namespaces or principals`;
  }
  const unknown = Object.keys(s).filter((k) => !SOURCE_FIELDS.includes(k));
  if (unknown.length > 0) return `${at} has unknown field ${unknown[0]}`;
  return out;
}

function parseOperation(o: Obj, at: string): Operation | string {
  const out: Operation = {};
  for (const key of ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const) {
    const v = strings(o, key, at);
    if (typeof v === 'string') return v;
    if (v !== undefined) out[key] = v;
  }
  for (const key of ['ports', 'notPorts'] as const) {
    const v = strings(o, key, at);
    if (typeof v === 'string') return v;
    if (v === undefined) continue;
    if (!v.every(isPort)) return `${at}.${key} holds a value that is not a port number`;
    out[key] = v.map(Number);
  }
  const unknown = Object.keys(o).filter((k) => !['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths', 'ports', 'notPorts'].includes(k));
  if (unknown.length > 0) return `${at} has unknown field ${unknown[0]}`;
  return out;
}

const usesHttp = (o: Operation) => (o.hosts ?? o.notHosts ?? o.methods ?? o.notMethods ?? o.paths ?? o.notPaths) !== undefined;

/** Whether the policy applies to a workload in `namespace` with `labels`. */
function appliesTo(p: AuthorizationPolicyModel, namespace: string, labels: Readonly<Record<string, string>>, rootNamespace: string): boolean {
  if (p.targetRef) return false;
  if (p.namespace !== rootNamespace && p.namespace !== namespace) return false;
  return p.selector === undefined || matchesSelector(p.selector, labels);
}

/**
 * AuthorizationPolicies by the workloads they can select, so that a request is matched only
 * against the policies of its destination's namespace and the root namespace, and a
 * workload's list is worked out once. Lists keep the policies' order in the set, which
 * decides which rule a verdict names; the result is the same as filtering every policy
 * (property-tested in test/verify/policy-index.test.ts).
 */
export interface IstioPolicyIndex {
  readonly policies: readonly AuthorizationPolicyModel[];
  readonly rootNamespace: string;
  /** The policies that apply to a workload, in set order. Memoized per labels object: pods' labels are not mutated. */
  applicable(namespace: string, labels: Readonly<Record<string, string>>): readonly AuthorizationPolicyModel[];
}

export function istioPolicyIndex(policies: readonly AuthorizationPolicyModel[], rootNamespace: string): IstioPolicyIndex {
  // Positions in the set, by namespace; targetRef policies never apply at a sidecar or ztunnel.
  const byNamespace = new Map<string, number[]>();
  policies.forEach((p, i) => {
    if (p.targetRef) return;
    const list = byNamespace.get(p.namespace);
    if (list === undefined) byNamespace.set(p.namespace, [i]);
    else list.push(i);
  });
  const root = byNamespace.get(rootNamespace) ?? [];
  const inNamespace = new Map<string, number[]>();
  const memo = new Map<string, WeakMap<object, readonly AuthorizationPolicyModel[]>>();
  return {
    policies,
    rootNamespace,
    applicable(namespace, labels) {
      let byLabels = memo.get(namespace);
      if (byLabels === undefined) memo.set(namespace, (byLabels = new WeakMap()));
      const known = byLabels.get(labels);
      if (known !== undefined) return known;
      let candidates = inNamespace.get(namespace);
      if (candidates === undefined) {
        const own = namespace === rootNamespace ? [] : (byNamespace.get(namespace) ?? []);
        candidates = [...root, ...own].sort((a, b) => a - b);
        inNamespace.set(namespace, candidates);
      }
      const out: AuthorizationPolicyModel[] = [];
      for (const i of candidates) {
        const p = policies[i]!;
        if (p.selector === undefined || matchesSelector(p.selector, labels)) out.push(p);
      }
      byLabels.set(labels, out);
      return out;
    },
  };
}

/**
 * One positive identity field of a source of an ALLOW rule: a request can match that source
 * only if its peer's principal matches this field (null and unknown principals aside). The
 * over-permission search uses it to find the clients a rule could admit without trying all.
 */
export type IdentityBound = { principals: readonly string[] } | { namespaces: readonly string[] } | { serviceAccounts: readonly string[] };

/**
 * What an ALLOW policy's rules can admit, as the union of bounds over their sources, or
 * `any` when some rule has no `from` or a source without a positive principal, namespace
 * or service-account field (ipBlocks, notPrincipals, …): then any peer may match.
 */
export function allowIdentityBounds(p: AuthorizationPolicyModel): IdentityBound[] | 'any' {
  const out: IdentityBound[] = [];
  for (const r of p.rules) {
    if (r.from === undefined) return 'any';
    for (const s of r.from) {
      if (s.principals !== undefined) out.push({ principals: s.principals });
      else if (s.serviceAccounts !== undefined) out.push({ serviceAccounts: s.serviceAccounts });
      else if (s.namespaces !== undefined) out.push({ namespaces: s.namespaces });
      else return 'any';
    }
  }
  return out;
}

/** Whether a `principals` pattern can match `principal`, at a sidecar (trust-domain aliases) or at ztunnel (as written). */
export function principalPatternAdmits(pattern: string, principal: string, trustDomain: string): boolean {
  return istioStringMatch(localPrincipal(pattern, trustDomain), principal) || istioStringMatch(pattern, principal);
}

/** The pattern a `principals` value is compared with by equality, in either form; undefined for a prefix, suffix or presence match. */
export function exactPrincipals(pattern: string, trustDomain: string): string[] | undefined {
  if (pattern.startsWith('*') || pattern.endsWith('*')) return undefined;
  const local = localPrincipal(pattern, trustDomain);
  return local === pattern ? [pattern] : [local, pattern];
}

/** Whether a `namespaces` pattern can match the peer `principal`, at a sidecar or at ztunnel. */
export function namespacePatternAdmits(pattern: string, principal: string): boolean {
  return namespaceMatch(pattern, principal) !== false || ztunnelNamespaceMatch(pattern, principal) !== false;
}

const isIndex = (x: readonly AuthorizationPolicyModel[] | IstioPolicyIndex): x is IstioPolicyIndex => !Array.isArray(x);

export interface EvaluateOptions {
  rootNamespace: string;
  /** The mesh's trust domain: principals written with `cluster.local` mean this one. */
  trustDomain: string;
  /** Evaluate dry-run policies as if enforced (the verdict once the annotation is removed). */
  enforceDryRun: boolean;
  /** Evaluate as ztunnel does for an ambient workload: L4 only (see the top of this file). */
  ztunnel?: boolean;
}

/**
 * The verdict for one request. `policies` is the whole set, or its index (istioPolicyIndex,
 * for the same root namespace), which gives the same verdict without reading every policy.
 */
export function evaluateIstio(policies: readonly AuthorizationPolicyModel[] | IstioPolicyIndex, request: IstioRequest, opts: EvaluateOptions): IstioVerdict {
  const ztunnel = opts.ztunnel === true;
  const enforced = (p: AuthorizationPolicyModel) => (opts.enforceDryRun || !p.dryRun) && p.action !== 'AUDIT';
  const inScope =
    isIndex(policies) && policies.rootNamespace === opts.rootNamespace
      ? policies.applicable(request.destination.namespace, request.destination.labels).filter(enforced)
      : (isIndex(policies) ? policies.policies : policies).filter((p) => enforced(p) && appliesTo(p, request.destination.namespace, request.destination.labels, opts.rootNamespace));
  const ref = (p: AuthorizationPolicyModel, rule?: number): IstioPolicyRef => ({ namespace: p.namespace, name: p.name, ...(rule === undefined ? {} : { rule }) });
  // ztunnel reads connections: no HTTP attribute, and no CUSTOM action.
  const req: IstioRequest = ztunnel ? { source: request.source, destination: request.destination } : request;
  const applicable = ztunnel ? inScope.filter((p) => p.action !== 'CUSTOM') : inScope;
  const omitted: ZtunnelOmission[] = [];
  if (ztunnel) {
    for (const p of inScope) {
      if (p.action === 'CUSTOM') omitted.push({ policy: ref(p), attributes: ['action CUSTOM'], effect: 'not-applied' });
      else {
        p.rules.forEach((r, i) => {
          if (r.l7.length === 0) return;
          const effect = p.action === 'ALLOW' ? 'omitted' : ztunnelInert(r) ? 'inert' : 'reduced';
          omitted.push({ policy: ref(p, i), attributes: r.l7, effect });
        });
      }
    }
  }
  const first = decideIstio(applicable, req, opts.trustDomain, ztunnel, ref);
  const verdict = first.decision === 'unknown' && first.reason === 'unknown-attribute' ? (decideEveryRequest(applicable, req, opts.trustDomain, ref) ?? first) : first;
  return omitted.length > 0 ? { ...verdict, ztunnelOmitted: omitted } : verdict;
}

function decideIstio(
  applicable: readonly AuthorizationPolicyModel[],
  req: IstioRequest,
  trustDomain: string,
  ztunnel: boolean,
  ref: (p: AuthorizationPolicyModel, rule?: number) => IstioPolicyRef,
): IstioVerdict {
  const matches = (action: IstioAction) =>
    applicable
      .filter((p) => p.action === action)
      .map((p) => ({ p, m: policyMatch(p, req, trustDomain, ztunnel) }));

  // CUSTOM: the external authorizer's answer is not in the telemetry; it can only deny.
  const custom = matches('CUSTOM').filter(({ m }) => m.match !== false);
  const unknownDenies: IstioPolicyRef[] = [];
  for (const { p, m } of matches('DENY')) {
    if (m.match === true) return { decision: 'deny', reason: 'denied-by', policies: [ref(p, m.rule)] };
    if (m.match === undefined) unknownDenies.push(ref(p));
  }
  const allows = matches('ALLOW');
  const hit = allows.find((a) => a.m.match === true);
  const maybe = allows.filter((a) => a.m.match === undefined);
  if (allows.length > 0 && hit === undefined && maybe.length === 0) {
    return { decision: 'deny', reason: 'no-allow-match', policies: allows.map((a) => ref(a.p)) };
  }
  if (custom.length > 0) return { decision: 'unknown', reason: 'custom', policies: custom.map(({ p, m }) => ref(p, m.rule)) };
  if (unknownDenies.length > 0) return { decision: 'unknown', reason: 'unknown-attribute', policies: unknownDenies };
  if (allows.length === 0) return { decision: 'allow', reason: 'no-policy', policies: [] };
  if (hit !== undefined) return { decision: 'allow', reason: 'allowed-by', policies: [ref(hit.p, hit.m.rule)] };
  return { decision: 'unknown', reason: 'unknown-attribute', policies: maybe.map((a) => ref(a.p)) };
}

/** At most this many method and path combinations are tried for one request. */
const MAX_CASES = 1024;

/**
 * An HTTP request whose method or path the telemetry lacks (a probe of "any request", a
 * record without them) decided for every value they could take. The patterns of the
 * applicable policies cut the values of a field into finitely many classes: a value is
 * either one of the exact patterns, or it is matched by exactly the prefixes of the longest
 * prefix pattern it starts with and the suffixes of the longest suffix pattern it ends with.
 * `prefix + F + suffix`, with F a character no pattern holds, stands for each class; every
 * combination is decided, and a verdict they all share is the request's (a DENY on POST
 * beside an ALLOW of only POST denies every request, which rule by rule is unknown).
 * Undefined when they differ, or when a field's patterns are Istio path templates (`{*}`).
 */
function decideEveryRequest(
  applicable: readonly AuthorizationPolicyModel[],
  req: IstioRequest,
  trustDomain: string,
  ref: (p: AuthorizationPolicyModel, rule?: number) => IstioPolicyRef,
): IstioVerdict | undefined {
  const http = req.http;
  if (http === undefined || (http.method !== undefined && http.path !== undefined)) return undefined;
  const methodPatterns: string[] = [];
  const pathPatterns: string[] = [];
  for (const p of applicable) {
    for (const r of p.rules) {
      for (const o of r.to ?? []) {
        methodPatterns.push(...(o.methods ?? []), ...(o.notMethods ?? []));
        pathPatterns.push(...(o.paths ?? []), ...(o.notPaths ?? []));
      }
    }
  }
  const methods = http.method === undefined ? representatives(methodPatterns) : [http.method];
  if (http.path === undefined && pathPatterns.some((p) => p.includes('{*}') || p.includes('{**}'))) return undefined;
  const paths: (PathValue | undefined)[] = http.path === undefined ? representatives(pathPatterns).map((text) => ({ text, template: false })) : [http.path];
  if (methods.length * paths.length > MAX_CASES) return undefined;
  const verdicts: IstioVerdict[] = [];
  for (const method of methods) {
    for (const path of paths) {
      const v = decideIstio(applicable, { ...req, http: { ...http, ...(method === undefined ? {} : { method }), ...(path === undefined ? {} : { path }) } }, trustDomain, false, ref);
      if (v.decision === 'unknown' || (verdicts.length > 0 && v.decision !== verdicts[0]!.decision)) return undefined;
      verdicts.push(v);
    }
  }
  const reasons = new Set(verdicts.map((v) => v.reason));
  const policies = uniqueRefs(verdicts.flatMap((v) => v.policies));
  if (reasons.size === 1) return { decision: verdicts[0]!.decision, reason: verdicts[0]!.reason, policies };
  return verdicts[0]!.decision === 'deny' ? { decision: 'deny', reason: 'denied-every-request', policies } : undefined;
}

/** One value of each class the Istio string patterns cut the values into (see decideEveryRequest). */
function representatives(patterns: readonly string[]): string[] {
  const exact = new Set<string>();
  const prefixes = new Set<string>(['']);
  const suffixes = new Set<string>(['']);
  for (const p of patterns) {
    if (p === '*') continue;
    if (p.startsWith('*')) suffixes.add(p.slice(1));
    else if (p.endsWith('*')) prefixes.add(p.slice(0, -1));
    else exact.add(p);
  }
  const all = patterns.join('');
  let filler = 0;
  while (all.includes(String.fromCharCode(filler))) filler++;
  const out = [...exact];
  for (const pre of prefixes) for (const suf of suffixes) out.push(pre + String.fromCharCode(filler) + suf);
  return out;
}

function uniqueRefs(refs: readonly IstioPolicyRef[]): IstioPolicyRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.namespace}/${r.name}#${r.rule ?? ''}`;
    return !seen.has(k) && seen.add(k) !== undefined;
  });
}

/** How a rule is matched: the TCP behaviour of its action, and the mesh's trust domain. */
interface MatchContext {
  /**
   * DENY (and CUSTOM, which Istio builds the same way): on TCP, HTTP-only attributes are
   * dropped from the rule, so they count as matched. ALLOW: a rule that reads any of them
   * is dropped whole on TCP, so it never matches.
   */
  widen: boolean;
  trustDomain: string;
  /** Matched as ztunnel converts the rule (ambient mode). */
  ztunnel: boolean;
}

function policyMatch(p: AuthorizationPolicyModel, req: IstioRequest, trustDomain: string, ztunnel: boolean): { match: Tri; rule?: number } {
  let unknown = false;
  const ctx: MatchContext = { widen: p.action === 'DENY' || p.action === 'CUSTOM', trustDomain, ztunnel };
  for (const [i, r] of p.rules.entries()) {
    const m = ruleMatch(r, req, ctx);
    if (m === true) return { match: true, rule: i };
    if (m === undefined) unknown = true;
  }
  return { match: unknown ? undefined : false };
}

/** A rule against a request (Istio's model.Generate and checkError for the TCP cases). */
function ruleMatch(r: Rule, req: IstioRequest, ctx: MatchContext): Tri {
  // ztunnel omits an ALLOW rule it cannot evaluate whole (its handleRule: rules = nil).
  if (ctx.ztunnel && r.l7.length > 0 && !ctx.widen) return false;
  if (req.http === undefined && r.http && !ctx.widen) return false;
  return and3([
    r.from === undefined ? true : or3(r.from.map((s) => sourceMatch(s, req, ctx))),
    r.to === undefined ? true : or3(r.to.map((o) => (ctx.ztunnel ? ztunnelOperationMatch(o, req) : operationMatch(o, req, ctx.widen)))),
    r.when === undefined ? true : and3(r.when.map((c) => conditionMatch(c, req, ctx))),
  ]);
}

/** `values` OR-matched and `notValues` none matched; an absent list is no constraint. */
function field<T>(values: readonly T[] | undefined, notValues: readonly T[] | undefined, match: (v: T) => Tri): Tri {
  return and3([values === undefined ? true : or3(values.map(match)), notValues === undefined ? true : not3(or3(notValues.map(match)))]);
}

/**
 * A principal pattern as Istio applies it (https://github.com/istio/istio/tree/master/pilot/pkg/security/trustdomain, ReplaceTrustDomainAliases,
 * with the configured trust domain as the only member of the bundle): only a full
 * `TD/ns/NS/sa/SA` pattern is rewritten, and only when TD is `cluster.local` or matches the
 * trust domain (exactly, or as a `*`-prefix or `*`-suffix pattern). A `*` trust domain, a
 * `*x` pattern that already matches, and any pattern of another shape are kept as written:
 * `cluster.local/ns/default/*` is 4 parts and stays literal.
 */
const localPrincipals = new Map<string, string>();

/** localPrincipal, remembered: replay asks it for the same patterns on every request. */
function localPrincipal(pattern: string, trustDomain: string): string {
  const key = `${trustDomain}\n${pattern}`;
  let local = localPrincipals.get(key);
  if (local === undefined) {
    if (localPrincipals.size > 100_000) localPrincipals.clear();
    localPrincipals.set(key, (local = rewriteTrustDomain(pattern, trustDomain)));
  }
  return local;
}

function rewriteTrustDomain(pattern: string, trustDomain: string): string {
  const parts = pattern.split('/');
  if (parts.length !== 5 || parts[0] === '*') return pattern;
  const td = parts[0]!;
  const prefix = td.endsWith('*') && trustDomain.startsWith(td.slice(0, -1));
  const suffix = td.startsWith('*') && trustDomain.endsWith(td.slice(1));
  if (td !== LOCAL_TRUST_DOMAIN && td !== trustDomain && !prefix && !suffix) return pattern;
  if (suffix) return pattern;
  return [trustDomain, ...parts.slice(1)].join('/');
}

const namespaceRegexes = new Map<string, RegExp | null>();

/**
 * Istio matches a namespace against the principal with the regular expression
 * `.*\/ns/VALUE/.*`, after replacing each `*` in VALUE by `.*` and escaping nothing
 * (srcNamespaceGenerator): `team-*-prod` is a wildcard here, unlike in the other string
 * fields, and a `.` matches any character. Envoy's safe_regex matches the whole principal.
 * A value that is not a valid expression here is unknown, not a guess.
 */
function namespaceMatch(pattern: string, principal: string | null | undefined): Tri {
  if (principal === undefined) return undefined;
  if (principal === null) return false;
  let re = namespaceRegexes.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:.*/ns/${pattern.replaceAll('*', '.*')}/.*)$`);
    } catch {
      re = null;
    }
    if (namespaceRegexes.size > 1_000) namespaceRegexes.clear();
    namespaceRegexes.set(pattern, re);
  }
  // Envoy matches the peer's URI SAN, which carries the scheme the principal here leaves out.
  return re === null ? undefined : re.test(`spiffe://${principal}`);
}

/**
 * ztunnel's namespace match: the Istio string match (exact, `abc*`, `*abc`, `*`) against the
 * namespace of the peer's identity (stringToMatch in Istio's ambient conversion).
 */
function ztunnelNamespaceMatch(pattern: string, principal: string | null | undefined): Tri {
  if (principal === undefined) return undefined;
  if (principal === null) return false;
  const m = /(?:^|\/)ns\/([^/]+)\//.exec(principal);
  return m !== null && istioStringMatch(pattern, m[1]);
}

/** A `NS/SA` service account against the principal, whatever its trust domain. */
function serviceAccountMatch(nsSa: string, principal: string | null | undefined): Tri {
  if (principal === undefined) return undefined;
  if (principal === null) return false;
  const [ns, sa] = nsSa.split('/');
  const m = /\/ns\/([^/]+)\/(?:.+\/|)sa\/([^/]+)(?:\/.+)?$/.exec(principal);
  return m !== null && m[1] === ns && m[2] === sa;
}

/** A string attribute that may be absent (null) or unknown (undefined). */
function stringMatch(pattern: string, value: string | null | undefined, ignoreCase = false): Tri {
  if (value === undefined) return undefined;
  return istioStringMatch(pattern, value ?? undefined, ignoreCase);
}

function sourceMatch(s: Source, req: IstioRequest, ctx: MatchContext): Tri {
  const principal = req.source.principal;
  const ip = req.source.ip;
  const ipMatch = (c: Cidr): Tri => (ip === undefined ? undefined : c.contains(ip));
  if (ctx.ztunnel) return ztunnelSourceMatch(s, principal, ipMatch);
  const parts: Tri[] = [
    field(s.principals, s.notPrincipals, (p) => stringMatch(localPrincipal(p, ctx.trustDomain), principal)),
    field(s.namespaces, s.notNamespaces, (p) => namespaceMatch(p, principal)),
    field(s.serviceAccounts, s.notServiceAccounts, (sa) => serviceAccountMatch(sa, principal)),
    // Trust domains and their aliases are the mesh's configuration, which replay does not read.
    field(s.trustDomains, s.notTrustDomains, () => (principal === null ? false : undefined)),
    field(s.ipBlocks, s.notIpBlocks, ipMatch),
    // Without X-Forwarded-For or the PROXY protocol configured, the remote IP is the peer's.
    field(s.remoteIpBlocks, s.notRemoteIpBlocks, ipMatch),
  ];
  if (s.requestPrincipals !== undefined || s.notRequestPrincipals !== undefined) {
    // JWT identities: HTTP only, and never in the telemetry replay reads.
    parts.push(req.http === undefined ? ctx.widen : undefined);
  }
  return and3(parts);
}

/**
 * A source as ztunnel holds it: only principals, namespaces, serviceAccounts and ipBlocks
 * (and their notX) are converted; requestPrincipals, remoteIpBlocks and trustDomains are
 * dropped. A source left with none of them is an empty match, which ztunnel never matches
 * (https://github.com/istio/ztunnel/blob/master/src/rbac.rs: an empty match is skipped, so its clause fails).
 */
function ztunnelSourceMatch(s: Source, principal: string | null | undefined, ipMatch: (c: Cidr) => Tri): Tri {
  if ((s.principals ?? s.notPrincipals ?? s.namespaces ?? s.notNamespaces ?? s.serviceAccounts ?? s.notServiceAccounts ?? s.ipBlocks ?? s.notIpBlocks) === undefined) return false;
  return and3([
    // No trust-domain alias rewriting for ztunnel: the peer's identity is compared as written.
    field(s.principals, s.notPrincipals, (p) => stringMatch(p, principal)),
    field(s.namespaces, s.notNamespaces, (p) => ztunnelNamespaceMatch(p, principal)),
    field(s.serviceAccounts, s.notServiceAccounts, (sa) => serviceAccountMatch(sa, principal)),
    field(s.ipBlocks, s.notIpBlocks, ipMatch),
  ]);
}

function operationMatch(o: Operation, req: IstioRequest, widen: boolean): Tri {
  const parts: Tri[] = [field(o.ports, o.notPorts, (p) => p === req.destination.port)];
  if (usesHttp(o)) {
    if (req.http === undefined) {
      parts.push(widen);
    } else {
      const h = req.http;
      parts.push(field(o.hosts, o.notHosts, (p) => (h.host === undefined ? undefined : hostMatch(p, h.host))));
      parts.push(field(o.methods, o.notMethods, (p) => stringMatch(p, h.method)));
      parts.push(field(o.paths, o.notPaths, (p) => (h.path === undefined ? undefined : pathMatch(p, h.path))));
    }
  }
  return and3(parts);
}

/** Whether some source, operation or condition of the rule has nothing ztunnel converts: then the rule never matches there. */
function ztunnelInert(r: Rule): boolean {
  const emptySource = (s: Source) => (s.principals ?? s.notPrincipals ?? s.namespaces ?? s.notNamespaces ?? s.serviceAccounts ?? s.notServiceAccounts ?? s.ipBlocks ?? s.notIpBlocks) === undefined;
  const emptyOperation = (o: Operation) => o.ports === undefined && o.notPorts === undefined;
  // A list fails only when every element is empty (elements OR); conditions AND.
  return (
    (r.from !== undefined && r.from.every(emptySource)) ||
    (r.to !== undefined && r.to.every(emptyOperation)) ||
    (r.when ?? []).some((c) => !ZTUNNEL_WHEN_KEYS.has(c.key))
  );
}

/** An operation as ztunnel holds it: its ports only; without any, an empty match that never matches. */
function ztunnelOperationMatch(o: Operation, req: IstioRequest): Tri {
  if (o.ports === undefined && o.notPorts === undefined) return false;
  return field(o.ports, o.notPorts, (p) => p === req.destination.port);
}

/** Hosts match case-insensitively, with or without the port the client put in the header. */
function hostMatch(pattern: string, host: string): boolean {
  const bare = host.replace(/:\d+$/, '');
  return istioStringMatch(pattern, host, true) || istioStringMatch(pattern, bare, true);
}

function conditionMatch(c: Condition, req: IstioRequest, ctx: MatchContext): Tri {
  // Another key converts to an empty match at ztunnel, which never matches.
  if (ctx.ztunnel && !ZTUNNEL_WHEN_KEYS.has(c.key)) return false;
  if (HTTP_ONLY_KEYS.test(c.key) && req.http === undefined) return ctx.widen;
  const principal = req.source.principal;
  let match: (v: string) => Tri;
  switch (c.key) {
    case 'source.ip':
    case 'remote.ip':
      match = (v) => (req.source.ip === undefined ? undefined : parseCidr(v, true)!.contains(req.source.ip));
      break;
    case 'destination.ip':
      match = (v) => (req.destination.ip === undefined ? undefined : parseCidr(v, true)!.contains(req.destination.ip));
      break;
    case 'destination.port':
      match = (v) => Number(v) === req.destination.port;
      break;
    case 'source.principal':
      match = (v) => stringMatch(ctx.ztunnel ? v : localPrincipal(v, ctx.trustDomain), principal);
      break;
    case 'source.namespace':
      match = (v) => (ctx.ztunnel ? ztunnelNamespaceMatch(v, principal) : namespaceMatch(v, principal));
      break;
    case 'source.serviceAccount':
      match = (v) => serviceAccountMatch(v, principal);
      break;
    default:
      match = () => undefined;
  }
  return field(c.values, c.notValues, match);
}
