// Admission: what the Kubernetes API server and Istio's validating webhook refuse before a
// policy is ever stored, so replay never applies what `kubectl apply` would not. Each rule
// names its upstream source; docs/verify.md lists them, and test/verify/invalid-manifests/
// holds one refused manifest per rule. Only what upstream refuses is refused here: a check
// stricter than upstream would fail a CI gate on a policy set that applies cleanly.
//
// Sources (Kubernetes and Istio, read for this file):
// - k8s.io/apimachinery api/validation ValidateObjectMeta: metadata.name by the kind's name
//   rule, namespace a DNS-1123 label, labels and annotation keys qualified names;
// - kubernetes pkg/apis/networking/validation ValidateNetworkPolicy: the name is a DNS-1123
//   subdomain (NameIsDNSSubdomain), at most two policyTypes; the rest of its spec checks
//   live in network-policy.ts's parser, run here per object so a problem names its file;
// - apiextensions-apiserver (custom resources, so Istio's kinds): names are DNS-1123
//   subdomains;
// - istio pkg/config/validation/validation.go: validateMetadata/checkDryRunAnnotation
//   (`istio.io/dry-run` only on AuthorizationPolicy, only ALLOW/DENY, a Go ParseBool value),
//   ValidateAuthorizationPolicy (DENY and CUSTOM need `rules`, CUSTOM needs `provider.name`
//   and reads no identity, targetRef checks, path templates), validateWorkloadSelector (no
//   `*`, no empty key), ValidatePeerAuthentication.

import type { KubeObject } from '../inventory/load.js';
import { isObj, labelKeyProblem, labelValueProblem, type Obj } from './label-selector.js';
import { networkPolicyModel } from './network-policy.js';

export interface AdmissionRefusal {
  /** The field refused, as a path: `metadata.name`, `spec.rules`, … */
  field: string;
  /** What is wrong, with the value. */
  reason: string;
  /** Who refuses it. */
  by: 'the API server' | "Istio's validating webhook";
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const API = 'the API server' as const;
/** A value as messages quote it: long ones cut, so a 300-character name does not fill the table. */
const shown = (v: unknown) => {
  const s = String(v);
  return s.length > 64 ? `${s.slice(0, 61)}…` : s;
};
const ISTIO = "Istio's validating webhook" as const;

/** Go's strconv.ParseBool, which Istio reads `istio.io/dry-run` with. */
const GO_BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);
const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

/** Kinds Istio lets a policy's targetRef(s) name (validation.go allowedTargetRefs): group, kind. */
const TARGET_REF_KINDS = new Set(['core/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass']);

/** Source fields a CUSTOM policy may not read: the external authorizer decides on requests, not identities. */
const CUSTOM_FORBIDDEN_SOURCE = ['namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals'];

/** Everything upstream would refuse about one policy object (empty: admitted). */
export function admissionRefusals(o: KubeObject): AdmissionRefusal[] {
  const out: AdmissionRefusal[] = [];
  metadata(o, out);
  if (o.kind === 'NetworkPolicy') networkPolicy(o, out);
  else if (o.kind === 'AuthorizationPolicy') authorizationPolicy(o, out);
  else if (o.kind === 'PeerAuthentication') peerAuthentication(o, out);
  return out;
}

/** ValidateObjectMeta, and Istio's validateMetadata for the annotation it owns. */
function metadata(o: KubeObject, out: AdmissionRefusal[]): void {
  const meta = o.metadata;
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') {
    out.push({ field: 'metadata.name', reason: 'is required', by: API });
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    out.push({ field: 'metadata.name', reason: `"${shown(name)}" (${name.length} characters) is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253)`, by: API });
  }
  const ns = meta['namespace'];
  if (ns !== undefined && ns !== null && ns !== '' && (typeof ns !== 'string' || ns.length > 63 || !DNS_LABEL.test(ns))) {
    out.push({ field: 'metadata.namespace', reason: `"${shown(ns)}" is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)`, by: API });
  }
  const labels = meta['labels'];
  if (isObj(labels)) {
    for (const [k, v] of Object.entries(labels)) {
      const problem = labelKeyProblem(k) ?? (typeof v === 'string' ? labelValueProblem(v) : `label "${k}" has a value that is not a string`);
      if (problem !== undefined) out.push({ field: `metadata.labels`, reason: problem, by: API });
    }
  }
  const annotations = isObj(meta['annotations']) ? meta['annotations'] : {};
  for (const k of Object.keys(annotations)) {
    // Annotation keys are qualified names once lowercased (ValidateAnnotations); values are free.
    const problem = labelKeyProblem(k.toLowerCase());
    if (problem !== undefined) out.push({ field: 'metadata.annotations', reason: problem.replace('label key', 'annotation key'), by: API });
  }
  const dryRun = annotations[DRY_RUN_ANNOTATION];
  if (dryRun === undefined || (o.kind !== 'AuthorizationPolicy' && o.kind !== 'PeerAuthentication')) return;
  const field = `metadata.annotations["${DRY_RUN_ANNOTATION}"]`;
  if (o.kind !== 'AuthorizationPolicy') {
    out.push({ field, reason: `is only supported on AuthorizationPolicy, not on ${o.kind}: remove the annotation`, by: ISTIO });
    return;
  }
  const spec = isObj(o['spec']) ? o['spec'] : {};
  const action = spec['action'] ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') out.push({ field, reason: `is only supported with action ALLOW or DENY, not ${String(action)}`, by: ISTIO });
  else if (typeof dryRun !== 'string' || !GO_BOOL.has(dryRun)) out.push({ field, reason: `"${String(dryRun)}" is not a boolean (true, false, 1, 0, …)`, by: ISTIO });
}

/** ValidateNetworkPolicy: the spec checks in network-policy.ts, and the count of policyTypes. */
function networkPolicy(o: KubeObject, out: AdmissionRefusal[]): void {
  const spec = isObj(o['spec']) ? o['spec'] : {};
  const types = spec['policyTypes'];
  if (Array.isArray(types) && types.length > 2) out.push({ field: 'spec.policyTypes', reason: `may not specify more than two policyTypes (${types.length})`, by: API });
  for (const p of networkPolicyModel([o], {}).problems) {
    const field = /^spec(\.[A-Za-z]+|\[\d+\])*/.exec(p.message)?.[0] ?? 'spec';
    out.push({ field, reason: p.message.startsWith(field) ? p.message.slice(field.length).replace(/^[:\s]+/, '') : p.message, by: API });
  }
}

/** Istio's workload selector rule: no `*` in a key or value, no empty key. */
function workloadSelector(spec: Obj, out: AdmissionRefusal[]): void {
  const sel = spec['selector'];
  if (!isObj(sel) || !isObj(sel['matchLabels'])) return;
  for (const [k, v] of Object.entries(sel['matchLabels'])) {
    if (k === '') out.push({ field: 'spec.selector.matchLabels', reason: 'an empty key is not supported', by: ISTIO });
    if (k.includes('*') || (typeof v === 'string' && v.includes('*'))) out.push({ field: 'spec.selector.matchLabels', reason: `wildcard is not supported ("${k}=${String(v)}")`, by: ISTIO });
  }
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const hasList = (o: Obj, k: string) => Array.isArray(o[k]) && (o[k] as unknown[]).length > 0;

function targetRefs(spec: Obj, out: AdmissionRefusal[]): void {
  const refs: [string, unknown][] = [];
  if (spec['targetRef'] !== undefined && spec['targetRef'] !== null) refs.push(['spec.targetRef', spec['targetRef']]);
  for (const [i, r] of list(spec['targetRefs']).entries()) refs.push([`spec.targetRefs[${i}]`, r]);
  const set = (spec['selector'] !== undefined && spec['selector'] !== null ? 1 : 0) + (spec['targetRef'] !== undefined && spec['targetRef'] !== null ? 1 : 0) + (hasList(spec, 'targetRefs') ? 1 : 0);
  if (set > 1) out.push({ field: 'spec.selector', reason: 'only one of selector, targetRef or targetRefs can be set', by: ISTIO });
  for (const [at, r] of refs) {
    if (!isObj(r)) {
      out.push({ field: at, reason: 'is not an object', by: ISTIO });
      continue;
    }
    if (typeof r['name'] !== 'string' || r['name'] === '') out.push({ field: `${at}.name`, reason: 'must be set', by: ISTIO });
    if (typeof r['namespace'] === 'string' && r['namespace'] !== '') out.push({ field: `${at}.namespace`, reason: 'must not be set: cross-namespace references are not supported', by: ISTIO });
    const group = typeof r['group'] === 'string' && r['group'] !== '' ? r['group'] : 'core';
    if (!TARGET_REF_KINDS.has(`${group}/${String(r['kind'])}`)) out.push({ field: `${at}.kind`, reason: `must be a Service, ServiceEntry, Gateway or GatewayClass, not ${String(r['group'] ?? '')}/${String(r['kind'])}`, by: ISTIO });
  }
}

/** CheckValidPathTemplate: `{*}` and `{**}` only as whole segments, `{**}` last, no other braces. */
function pathTemplateProblem(path: string): string | undefined {
  const template = path.includes('{*}') || path.includes('{**}');
  let any = false;
  for (const glob of path.replace(/^\/+|\/+$/g, '').split('/')) {
    if ((glob === '{*}' || glob === '{**}') && any) return `"${path}": {**} must be the last operator`;
    if (glob === '{*}') continue;
    if (glob === '{**}') {
      any = true;
      continue;
    }
    if (/[{}]/.test(glob)) return `"${path}" contains '{' or '}' beyond a supported path template ({*}, {**})`;
    if (template && !/^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/.test(glob)) return `"${path}": segment "${glob}" is not a valid literal in a path template`;
  }
  return undefined;
}

/** ValidateAuthorizationPolicy, where parseAuthorizationPolicy (istio.ts) does not already refuse. */
function authorizationPolicy(o: KubeObject, out: AdmissionRefusal[]): void {
  const spec = isObj(o['spec']) ? o['spec'] : {};
  workloadSelector(spec, out);
  targetRefs(spec, out);
  const action = spec['action'] ?? 'ALLOW';
  // An empty list is unset, as in proto3 (Istio reads the spec with protojson).
  const rules = hasList(spec, 'rules') ? (spec['rules'] as unknown[]) : undefined;
  if ((action === 'DENY' || action === 'CUSTOM') && rules === undefined) {
    out.push({ field: 'spec.rules', reason: `${action} action without rules is meaningless as it will never be triggered: add an empty rule {} to trigger it for every request`, by: ISTIO });
  }
  if (action === 'CUSTOM' && rules !== undefined) {
    const provider = spec['provider'];
    if (!isObj(provider) || typeof provider['name'] !== 'string' || provider['name'] === '') out.push({ field: 'spec.provider.name', reason: 'must not be empty for a CUSTOM policy', by: ISTIO });
  }
  for (const [i, r] of (rules ?? []).entries()) {
    if (!isObj(r)) continue;
    for (const [j, f] of list(r['from']).entries()) {
      const src = isObj(f) && isObj(f['source']) ? f['source'] : undefined;
      if (src === undefined || action !== 'CUSTOM') continue;
      for (const k of CUSTOM_FORBIDDEN_SOURCE) {
        if (hasList(src, k)) out.push({ field: `spec.rules[${i}].from[${j}].source.${k}`, reason: 'is not supported with the CUSTOM action', by: ISTIO });
      }
    }
    for (const [j, t] of list(r['to']).entries()) {
      const op = isObj(t) && isObj(t['operation']) ? t['operation'] : undefined;
      if (op === undefined) continue;
      for (const k of ['paths', 'notPaths']) {
        for (const p of list(op[k])) {
          const problem = typeof p === 'string' ? pathTemplateProblem(p) : undefined;
          if (problem !== undefined) out.push({ field: `spec.rules[${i}].to[${j}].operation.${k}`, reason: problem, by: ISTIO });
        }
      }
    }
    for (const [j, c] of list(r['when']).entries()) {
      const key = isObj(c) ? c['key'] : undefined;
      if (action !== 'CUSTOM' || typeof key !== 'string') continue;
      if (key === 'source.namespace' || key === 'source.serviceAccount' || key === 'source.principal' || key.startsWith('request.auth.')) {
        out.push({ field: `spec.rules[${i}].when[${j}].key`, reason: `${key} is not supported with the CUSTOM action`, by: ISTIO });
      }
    }
  }
  if (action !== 'CUSTOM' && spec['provider'] !== undefined && spec['provider'] !== null) {
    out.push({ field: 'spec.provider', reason: `must not be set with a non-CUSTOM action (${String(action)})`, by: ISTIO });
  }
  if (action !== 'ALLOW' && action !== 'DENY' && action !== 'AUDIT' && action !== 'CUSTOM') {
    out.push({ field: 'spec.action', reason: `"${String(action)}" is not ALLOW, DENY, AUDIT or CUSTOM`, by: API });
  }
}

const MTLS_MODES = new Set(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']);

/** ValidatePeerAuthentication, and the CRD's enum for mTLS modes. */
function peerAuthentication(o: KubeObject, out: AdmissionRefusal[]): void {
  const spec = isObj(o['spec']) ? o['spec'] : {};
  workloadSelector(spec, out);
  const mode = isObj(spec['mtls']) ? spec['mtls']['mode'] : undefined;
  if (mode !== undefined && mode !== null && (typeof mode !== 'string' || !MTLS_MODES.has(mode))) {
    out.push({ field: 'spec.mtls.mode', reason: `"${String(mode)}" is not UNSET, DISABLE, PERMISSIVE or STRICT`, by: API });
  }
  const pl = spec['portLevelMtls'];
  if (!isObj(pl)) return;
  const sel = isObj(spec['selector']) && isObj(spec['selector']['matchLabels']) ? spec['selector']['matchLabels'] : {};
  if (Object.keys(pl).length > 0 && Object.keys(sel).length === 0) {
    out.push({ field: 'spec.portLevelMtls', reason: 'a mesh- or namespace-wide PeerAuthentication (no selector labels) cannot have port-level mTLS', by: ISTIO });
  }
  for (const [port, v] of Object.entries(pl)) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) out.push({ field: `spec.portLevelMtls`, reason: `port ${port} is not in 1..65535`, by: ISTIO });
    const m = isObj(v) ? v['mode'] : undefined;
    if (m !== undefined && m !== null && (typeof m !== 'string' || !MTLS_MODES.has(m))) out.push({ field: `spec.portLevelMtls.${port}.mode`, reason: `"${String(m)}" is not UNSET, DISABLE, PERMISSIVE or STRICT`, by: API });
  }
}

/** A refusal as a problem message: the field, what is wrong, and who refuses it. */
export function refusalMessage(r: AdmissionRefusal): string {
  return `${r.field}: ${r.reason}: ${r.by} would refuse it, so it is not applied`;
}
