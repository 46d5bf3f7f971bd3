// A deliberately small evaluator of the manifest shapes `ztmap propose` emits, written from
// the documented semantics (docs/policies.md), for the tests of issue 3: does a request from
// pod A to pod B pass Istio's ALLOW policies and both NetworkPolicy sides? It reads only
// the manifests and the pods, never the rules they came from. The full verifier (every
// field, notX, when, named ports, ipBlock except) is src/verify's job.

import type { Manifest } from '../../src/policy/manifest.js';

export interface EvalPod {
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  ip: string;
  /** Istio enforces AuthorizationPolicy only where a proxy runs. */
  sidecar: boolean;
}

export interface EvalRequest {
  from: EvalPod;
  to: EvalPod;
  port: number;
  /** Whether the request arrives over Istio mTLS (so it has a principal). */
  mtls: boolean;
  method?: string;
  path?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const matchLabels = (sel: unknown, labels: Record<string, string>) => Object.entries(obj(obj(sel)['matchLabels'])).every(([k, v]) => labels[k] === v);

function istioString(pattern: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

const anyOf = (list: unknown, value: string | undefined) => list === undefined || arr(list).some((p) => istioString(String(p), value));

export function istioAllows(policies: Manifest[], req: EvalRequest, trustDomain = 'cluster.local'): boolean {
  if (!req.to.sidecar) return true;
  const applicable = policies.filter(
    (p) => p.kind === 'AuthorizationPolicy' && p.metadata.namespace === req.to.namespace && (p.spec['selector'] === undefined || matchLabels(p.spec['selector'], req.to.labels)),
  );
  const allow = applicable.filter((p) => (p.spec['action'] ?? 'ALLOW') === 'ALLOW');
  if (allow.length === 0) return true;
  const principal = req.mtls ? `${trustDomain}/ns/${req.from.namespace}/sa/${req.from.serviceAccount}` : undefined;
  return allow.some((p) =>
    arr(p.spec['rules']).some((rule) => {
      const r = obj(rule);
      const fromOk = r['from'] === undefined || arr(r['from']).some((f) => anyOf(obj(obj(f)['source'])['principals'], principal));
      const toOk =
        r['to'] === undefined ||
        arr(r['to']).some((t) => {
          const op = obj(obj(t)['operation']);
          return anyOf(op['ports'], String(req.port)) && anyOf(op['methods'], req.method) && anyOf(op['paths'], req.path);
        });
      return fromOk && toOk;
    }),
  );
}

function ipIn(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const toInt = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const n = Number(bits);
  if (ip.includes(':') || (base ?? '').includes(':')) return n === 128 && ip === base;
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base ?? '') & mask) >>> 0);
}

function peerMatches(peer: unknown, policyNs: string, other: EvalPod): boolean {
  const p = obj(peer);
  if (p['ipBlock'] !== undefined) return ipIn(other.ip, String(obj(p['ipBlock'])['cidr']));
  const nsOk = p['namespaceSelector'] === undefined ? other.namespace === policyNs : matchLabels(p['namespaceSelector'], { 'kubernetes.io/metadata.name': other.namespace });
  const podOk = p['podSelector'] === undefined || matchLabels(p['podSelector'], other.labels);
  return nsOk && podOk;
}

function sideAllows(policies: Manifest[], self: EvalPod, other: EvalPod, port: number, dir: 'Ingress' | 'Egress'): boolean {
  const selecting = policies.filter((p) => p.kind === 'NetworkPolicy' && p.metadata.namespace === self.namespace && matchLabels(p.spec['podSelector'], self.labels));
  const isolating = selecting.filter((p) => arr(p.spec['policyTypes']).includes(dir));
  if (isolating.length === 0) return true;
  const field = dir === 'Ingress' ? 'ingress' : 'egress';
  const peers = dir === 'Ingress' ? 'from' : 'to';
  return isolating.some((p) =>
    arr(p.spec[field]).some((rule) => {
      const r = obj(rule);
      const peerOk = r[peers] === undefined || arr(r[peers]).some((x) => peerMatches(x, p.metadata.namespace, other));
      const portOk = r['ports'] === undefined || arr(r['ports']).some((x) => obj(x)['port'] === undefined || (obj(x)['port'] === port && (obj(x)['protocol'] ?? 'TCP') === 'TCP'));
      return peerOk && portOk;
    }),
  );
}

export function networkPolicyAllows(policies: Manifest[], req: EvalRequest): boolean {
  return sideAllows(policies, req.from, req.to, req.port, 'Egress') && sideAllows(policies, req.to, req.from, req.port, 'Ingress');
}
