// Validates a generated manifest against the upstream schema, through the typed models of
// kubernetes-models (Kubernetes OpenAPI) and @kubernetes-models/istio (Istio's CRD
// schemas). Those check types, enums, required fields and sizes but not the CRDs' CEL
// rules, unknown fields or API-server cross-field checks (they validate against JSON
// Schema, which skips x-kubernetes-validations), so those are checked here by hand.
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { Manifest } from '../../src/policy/manifest.js';

type Obj = Record<string, unknown>;

const FIELDS: Record<string, Set<string>> = {
  metadata: new Set(['name', 'namespace', 'labels', 'annotations']),
  authz: new Set(['selector', 'action', 'rules']),
  rule: new Set(['from', 'to', 'when']),
  source: new Set(['principals', 'namespaces', 'ipBlocks', 'notPrincipals']),
  operation: new Set(['ports', 'methods', 'paths', 'hosts']),
  np: new Set(['podSelector', 'policyTypes', 'ingress', 'egress']),
  npRule: new Set(['from', 'to', 'ports']),
  peer: new Set(['podSelector', 'namespaceSelector', 'ipBlock']),
  port: new Set(['protocol', 'port', 'endPort']),
};

function fail(m: Manifest, why: string): never {
  throw new Error(`${m.kind} ${m.metadata.namespace}/${m.metadata.name}: ${why}`);
}

function onlyKnown(m: Manifest, o: unknown, set: keyof typeof FIELDS, where: string): void {
  for (const k of Object.keys(o as Obj)) if (!FIELDS[set]!.has(k)) fail(m, `unknown field ${where}.${k}`);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkSelector(m: Manifest, sel: unknown, where: string): void {
  for (const [k, v] of Object.entries(((sel as Obj | undefined)?.['matchLabels'] as Obj | undefined) ?? {})) {
    if (k.includes('*') || String(v).includes('*')) fail(m, `wildcard in ${where} label ${k}=${String(v)}`);
    if (['pod-template-hash', 'controller-revision-hash'].includes(k)) fail(m, `per-revision label ${k} in ${where}`);
  }
}

export function validateManifest(m: Manifest): void {
  if (!DNS_LABEL.test(m.metadata.name) || m.metadata.name.length > 63) fail(m, 'name is not a DNS-1123 label');
  if (!DNS_LABEL.test(m.metadata.namespace)) fail(m, 'namespace is not a DNS-1123 label');
  onlyKnown(m, m.metadata, 'metadata', 'metadata');
  switch (m.kind) {
    case 'AuthorizationPolicy': {
      new AuthorizationPolicy(m as never).validate();
      onlyKnown(m, m.spec, 'authz', 'spec');
      checkSelector(m, m.spec['selector'], 'selector');
      for (const r of (m.spec['rules'] as Obj[] | undefined) ?? []) {
        onlyKnown(m, r, 'rule', 'rule');
        for (const f of (r['from'] as Obj[] | undefined) ?? []) {
          const s = f['source'] as Obj;
          onlyKnown(m, s, 'source', 'source');
          for (const p of (s['principals'] as string[] | undefined) ?? []) {
            if (!/^[A-Za-z0-9.-]+\/ns\/[a-z0-9-]+\/sa\/[a-z0-9.-]+$/.test(p)) fail(m, `principal ${p} is not TRUST_DOMAIN/ns/NS/sa/SA`);
          }
        }
        for (const t of (r['to'] as Obj[] | undefined) ?? []) {
          const op = t['operation'] as Obj;
          onlyKnown(m, op, 'operation', 'operation');
          for (const p of (op['paths'] as string[] | undefined) ?? []) {
            if (/[{}?]/.test(p) || p.slice(0, -1).includes('*')) fail(m, `path ${p} is not an exact or prefix match`);
          }
        }
      }
      return;
    }
    case 'PeerAuthentication':
      new PeerAuthentication(m as never).validate();
      return;
    case 'NetworkPolicy': {
      new NetworkPolicy(m as never).validate();
      onlyKnown(m, m.spec, 'np', 'spec');
      checkSelector(m, m.spec['podSelector'], 'podSelector');
      for (const dir of ['ingress', 'egress'] as const) {
        for (const r of (m.spec[dir] as Obj[] | undefined) ?? []) {
          onlyKnown(m, r, 'npRule', dir);
          for (const p of ((r['from'] ?? r['to']) as Obj[] | undefined) ?? []) {
            onlyKnown(m, p, 'peer', 'peer');
            if (p['ipBlock'] !== undefined && (p['podSelector'] !== undefined || p['namespaceSelector'] !== undefined)) fail(m, 'ipBlock with a selector in one peer');
            checkSelector(m, p['podSelector'], 'peer podSelector');
          }
          for (const port of (r['ports'] as Obj[] | undefined) ?? []) {
            onlyKnown(m, port, 'port', 'port');
            if (port['endPort'] !== undefined && typeof port['port'] !== 'number') fail(m, 'endPort needs a numeric port');
          }
        }
      }
      return;
    }
    default:
      fail(m, 'unexpected kind');
  }
}
