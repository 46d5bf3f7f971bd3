// Istio AuthorizationPolicy (security.istio.io/v1 and v1beta1) evaluated over one request at
// the destination workload's sidecar, from the API reference (design.md §3):
//   1. a matching CUSTOM policy hands the request to its external authorizer;
//   2. a matching DENY policy denies;
//   3. no ALLOW policy applying to the workload: allow;
//   4. a matching ALLOW policy allows; 5. otherwise deny.
// A policy in the root namespace applies mesh-wide; without a selector it applies to its
// whole namespace (or the mesh). Rules OR; within a rule from, to and when AND; values in a
// field OR; `notX` requires that no value matches. Principals and namespaces exist only over
// mTLS. On TCP traffic the HTTP-only attributes cannot be read: an ALLOW rule using them
// never matches, and for a DENY rule they count as matched (Istio's documented behaviour).
// What replay cannot know (JWT claims, headers, the external authorizer) is unknown, and an
// unknown that could change the verdict makes the verdict unknown.

import { matchesSelector, isObj, type LabelSelector, type Obj } from './label-selector.js';
import { parseCidr, type Cidr } from './cidr.js';
import { istioStringMatch, pathMatch, type PathValue } from './istio-match.js';
import { and3, not3, or3, type Tri } from './tri.js';

export type IstioAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

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

export interface IstioVerdict {
  decision: Decision;
  /**
   * no-policy: no ALLOW policy applies; allowed-by / denied-by: the rule that decided;
   * no-allow-match: ALLOW policies apply and none matches (they are listed);
   * custom: an external authorizer decides; unknown-attribute: the verdict depends on
   * something the telemetry does not carry.
   */
  reason: 'no-policy' | 'allowed-by' | 'denied-by' | 'no-allow-match' | 'custom' | 'unknown-attribute';
  policies: IstioPolicyRef[];
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

/** Condition keys Istio accepts; those replay can read are evaluated, the rest are unknown. */
const KNOWN_KEYS = new Set(['source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);
const UNKNOWN_KEYS = /^(request\.headers\[.+\]|request\.auth\.(principal|audiences|presenter|claims\[.+\])|connection\.sni|destination\.labels\[.+\]|source\.labels\[.+\]|experimental\.envoy\.filters\..+)$/;
const HTTP_ONLY_KEYS = /^(request\.headers|request\.auth)/;

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
  const hasTargetRef = spec['targetRef'] !== undefined || spec['targetRefs'] !== undefined;
  let selector: LabelSelector | undefined;
  if (spec['selector'] !== undefined && spec['selector'] !== null) {
    if (hasTargetRef) return fail('selector and targetRef cannot both be set');
    const s = spec['selector'];
    const ml = isObj(s) ? (s['matchLabels'] ?? {}) : undefined;
    if (!isObj(ml) || !Object.values(ml).every((v) => typeof v === 'string')) return fail('spec.selector.matchLabels is not a map of strings');
    selector = { matchLabels: ml as Record<string, string>, matchExpressions: [] };
  }
  const rawRules = spec['rules'] ?? [];
  if (!Array.isArray(rawRules)) return fail('spec.rules is not a list');
  const rules: Rule[] = [];
  for (const [i, r] of rawRules.entries()) {
    const rule = parseRule(r, `spec.rules[${i}]`);
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
    dryRun: annotations['istio.io/dry-run'] === 'true',
    targetRef: hasTargetRef,
  };
}

function strings(o: Obj, key: string, at: string): string[] | undefined | string {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return `${at}.${key} is not a list of strings`;
  if (v.some((x) => x === '')) return `${at}.${key} has an empty value`;
  return v as string[];
}

function parseRule(r: unknown, at: string): Rule | string {
  if (r === null || r === undefined) return {};
  if (!isObj(r)) return `${at} is not an object`;
  const rule: Rule = {};
  const from = r['from'];
  if (from !== undefined && from !== null) {
    if (!Array.isArray(from)) return `${at}.from is not a list`;
    rule.from = [];
    for (const [i, f] of from.entries()) {
      const s = isObj(f) ? f['source'] : undefined;
      if (!isObj(s) || Object.keys(s).length === 0) return `${at}.from[${i}].source must not be empty`;
      const src = parseSource(s, `${at}.from[${i}].source`);
      if (typeof src === 'string') return src;
      rule.from.push(src);
    }
  }
  const to = r['to'];
  if (to !== undefined && to !== null) {
    if (!Array.isArray(to)) return `${at}.to is not a list`;
    rule.to = [];
    for (const [i, t] of to.entries()) {
      const o = isObj(t) ? t['operation'] : undefined;
      if (!isObj(o) || Object.keys(o).length === 0) return `${at}.to[${i}].operation must not be empty`;
      const op = parseOperation(o, `${at}.to[${i}].operation`);
      if (typeof op === 'string') return op;
      rule.to.push(op);
    }
  }
  const when = r['when'];
  if (when !== undefined && when !== null) {
    if (!Array.isArray(when)) return `${at}.when is not a list`;
    rule.when = [];
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
      rule.when.push(cond);
    }
  }
  return rule;
}

const isPort = (v: string) => /^\d{1,5}$/.test(v) && Number(v) >= 0 && Number(v) <= 65535;

function parseSource(s: Obj, at: string): Source | string {
  const out: Source = {};
  for (const key of ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces'] as const) {
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
  const unknown = Object.keys(s).filter((k) => !(k in out) && !['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'].includes(k));
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

/** Whether the policy applies to a workload in `namespace` with `labels`. */
export function appliesTo(p: AuthorizationPolicyModel, namespace: string, labels: Readonly<Record<string, string>>, rootNamespace: string): boolean {
  if (p.targetRef) return false;
  if (p.namespace !== rootNamespace && p.namespace !== namespace) return false;
  return p.selector === undefined || matchesSelector(p.selector, labels);
}

export interface EvaluateOptions {
  rootNamespace: string;
  /** Evaluate dry-run policies as if enforced (the verdict once the annotation is removed). */
  enforceDryRun: boolean;
}

export function evaluateIstio(policies: readonly AuthorizationPolicyModel[], req: IstioRequest, opts: EvaluateOptions): IstioVerdict {
  const applicable = policies.filter(
    (p) => (opts.enforceDryRun || !p.dryRun) && p.action !== 'AUDIT' && appliesTo(p, req.destination.namespace, req.destination.labels, opts.rootNamespace),
  );
  const ref = (p: AuthorizationPolicyModel, rule?: number): IstioPolicyRef => ({ namespace: p.namespace, name: p.name, ...(rule === undefined ? {} : { rule }) });
  const matches = (action: IstioAction) =>
    applicable
      .filter((p) => p.action === action)
      .map((p) => ({ p, m: policyMatch(p, req) }));

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

function policyMatch(p: AuthorizationPolicyModel, req: IstioRequest): { match: Tri; rule?: number } {
  let unknown = false;
  for (const [i, r] of p.rules.entries()) {
    const m = ruleMatch(r, req, p.action === 'DENY');
    if (m === true) return { match: true, rule: i };
    if (m === undefined) unknown = true;
  }
  return { match: unknown ? undefined : false };
}

/**
 * A rule against a request. `deny` selects the TCP behaviour for HTTP-only attributes:
 * matched in a DENY rule, never matched in any other.
 */
function ruleMatch(r: Rule, req: IstioRequest, deny: boolean): Tri {
  return and3([
    r.from === undefined ? true : or3(r.from.map((s) => sourceMatch(s, req, deny))),
    r.to === undefined ? true : or3(r.to.map((o) => operationMatch(o, req, deny))),
    r.when === undefined ? true : and3(r.when.map((c) => conditionMatch(c, req, deny))),
  ]);
}

/** `values` OR-matched and `notValues` none matched; an absent list is no constraint. */
function field<T>(values: readonly T[] | undefined, notValues: readonly T[] | undefined, match: (v: T) => Tri): Tri {
  return and3([values === undefined ? true : or3(values.map(match)), notValues === undefined ? true : not3(or3(notValues.map(match)))]);
}

function namespaceOfPrincipal(principal: string): string | undefined {
  const m = /\/ns\/([^/]+)\/sa\//.exec(principal);
  return m?.[1];
}

/** A string attribute that may be absent (null) or unknown (undefined). */
function stringMatch(pattern: string, value: string | null | undefined, ignoreCase = false): Tri {
  if (value === undefined) return undefined;
  return istioStringMatch(pattern, value ?? undefined, ignoreCase);
}

function sourceMatch(s: Source, req: IstioRequest, deny: boolean): Tri {
  const principal = req.source.principal;
  const namespace = principal === null ? null : principal === undefined ? undefined : (namespaceOfPrincipal(principal) ?? null);
  const ip = req.source.ip;
  const ipMatch = (c: Cidr): Tri => (ip === undefined ? undefined : c.contains(ip));
  const parts: Tri[] = [
    field(s.principals, s.notPrincipals, (p) => stringMatch(p, principal)),
    field(s.namespaces, s.notNamespaces, (p) => stringMatch(p, namespace)),
    field(s.ipBlocks, s.notIpBlocks, ipMatch),
    // Without X-Forwarded-For or the PROXY protocol configured, the remote IP is the peer's.
    field(s.remoteIpBlocks, s.notRemoteIpBlocks, ipMatch),
  ];
  if (s.requestPrincipals !== undefined || s.notRequestPrincipals !== undefined) {
    // JWT identities: HTTP only, and never in the telemetry replay reads.
    parts.push(req.http === undefined ? deny : undefined);
  }
  return and3(parts);
}

function operationMatch(o: Operation, req: IstioRequest, deny: boolean): Tri {
  const parts: Tri[] = [field(o.ports, o.notPorts, (p) => p === req.destination.port)];
  const httpOnly = o.hosts ?? o.notHosts ?? o.methods ?? o.notMethods ?? o.paths ?? o.notPaths;
  if (httpOnly !== undefined) {
    if (req.http === undefined) {
      parts.push(deny);
    } else {
      const h = req.http;
      parts.push(field(o.hosts, o.notHosts, (p) => (h.host === undefined ? undefined : hostMatch(p, h.host))));
      parts.push(field(o.methods, o.notMethods, (p) => stringMatch(p, h.method)));
      parts.push(field(o.paths, o.notPaths, (p) => (h.path === undefined ? undefined : pathMatch(p, h.path))));
    }
  }
  return and3(parts);
}

/** Hosts match case-insensitively, with or without the port the client put in the header. */
function hostMatch(pattern: string, host: string): boolean {
  const bare = host.replace(/:\d+$/, '');
  return istioStringMatch(pattern, host, true) || istioStringMatch(pattern, bare, true);
}

function conditionMatch(c: Condition, req: IstioRequest, deny: boolean): Tri {
  if (HTTP_ONLY_KEYS.test(c.key) && req.http === undefined) return deny;
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
      match = (v) => stringMatch(v, principal);
      break;
    case 'source.namespace':
      match = (v) => stringMatch(v, principal === null ? null : principal === undefined ? undefined : (namespaceOfPrincipal(principal) ?? null));
      break;
    default:
      match = () => undefined;
  }
  return field(c.values, c.notValues, match);
}
