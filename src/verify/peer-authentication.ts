// Istio PeerAuthentication: which mTLS mode a workload's sidecar accepts on a port. The most
// specific policy wins: a workload policy (selector, in the workload's namespace; portLevelMtls
// only here), then the namespace's policy, then the mesh policy in the root namespace; UNSET
// inherits from the next level. Without any, the mode is PERMISSIVE. STRICT refuses plaintext;
// DISABLE makes clients' auto-mTLS send plaintext, so requests arrive without an identity.

import { isObj, parseMatchLabels } from './label-selector.js';
import { selects } from '../flow/labels.js';
import { compare } from '../flow/compare.js';

type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
type ModeOrUnset = MtlsMode | 'UNSET';

export interface PeerAuthenticationModel {
  namespace: string;
  name: string;
  selector?: Record<string, string>;
  mode: ModeOrUnset;
  portLevel: Map<number, ModeOrUnset>;
}

export interface MtlsPolicy {
  mode: MtlsMode;
  /** The policy that set it, when one did. */
  by?: { namespace: string; name: string };
}

const MODES = new Set(['STRICT', 'PERMISSIVE', 'DISABLE', 'UNSET']);

export function parsePeerAuthentication(raw: unknown): PeerAuthenticationModel | { namespace: string; name: string; message: string } {
  const meta = isObj(raw) && isObj(raw['metadata']) ? raw['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '(unnamed)';
  const namespace = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
  const fail = (message: string) => ({ namespace, name, message });
  const spec = isObj(raw) ? (raw['spec'] ?? {}) : undefined;
  if (!isObj(spec)) return fail('spec is not an object');
  const mtls = spec['mtls'];
  const mode = isObj(mtls) ? (mtls['mode'] ?? 'UNSET') : 'UNSET';
  if (typeof mode !== 'string' || !MODES.has(mode)) return fail(`unknown mtls.mode ${String(mode)}`);
  let selector: Record<string, string> | undefined;
  if (isObj(spec['selector'])) {
    const ml = parseMatchLabels(spec['selector']['matchLabels'], 'spec.selector.matchLabels');
    if (typeof ml === 'string') return fail(ml);
    selector = ml;
  }
  const portLevel = new Map<number, ModeOrUnset>();
  const pl = spec['portLevelMtls'];
  if (pl !== undefined && pl !== null) {
    if (!isObj(pl)) return fail('spec.portLevelMtls is not a map');
    if (selector === undefined || Object.keys(selector).length === 0) return fail('portLevelMtls needs a workload selector');
    for (const [port, v] of Object.entries(pl)) {
      const m = isObj(v) ? (v['mode'] ?? 'UNSET') : undefined;
      if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return fail(`portLevelMtls key ${port} is not a port`);
      if (typeof m !== 'string' || !MODES.has(m)) return fail(`portLevelMtls.${port}.mode is not a mode`);
      portLevel.set(Number(port), m as ModeOrUnset);
    }
  }
  return { namespace, name, ...(selector === undefined ? {} : { selector }), mode: mode as ModeOrUnset, portLevel };
}

export function mtlsPolicyFor(
  policies: readonly PeerAuthenticationModel[],
  namespace: string,
  labels: Readonly<Record<string, string>>,
  port: number,
  rootNamespace: string,
): MtlsPolicy {
  // Ties between policies of one level: Istio takes the oldest; replay has no creation
  // times, so the first by name, which is at least stable.
  const byName = [...policies].sort((a, b) => compare(a.name, b.name));
  // "PeerAuthentication policies with workload selectors are ignored when deployed in the root namespace."
  const workload = byName.find((p) => p.namespace === namespace && p.namespace !== rootNamespace && p.selector !== undefined && Object.keys(p.selector).length > 0 && selects(p.selector, labels));
  const ns = byName.find((p) => p.namespace === namespace && (p.selector === undefined || Object.keys(p.selector).length === 0));
  const mesh = byName.find((p) => p.namespace === rootNamespace && (p.selector === undefined || Object.keys(p.selector).length === 0));
  const levels: { mode: ModeOrUnset | undefined; p: PeerAuthenticationModel | undefined }[] = [
    { mode: workload?.portLevel.get(port), p: workload },
    { mode: workload?.mode, p: workload },
    { mode: ns?.mode, p: ns },
    { mode: mesh?.mode, p: mesh },
  ];
  for (const { mode, p } of levels) {
    if (mode !== undefined && mode !== 'UNSET' && p !== undefined) return { mode, by: { namespace: p.namespace, name: p.name } };
  }
  return { mode: 'PERMISSIVE' };
}
