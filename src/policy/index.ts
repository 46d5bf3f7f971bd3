// The emitters by target name (`--target istio,mtls,networkpolicy`), and where each
// manifest is written: TARGET/NAMESPACE/KIND-NAME.yaml under the policies directory.

import type { RuleSet } from '../rules/access-rule.js';
import type { Finding } from '../rules/finding.js';
import type { EmitResult, Emitted } from './emitted.js';
import { istioByNamespace, istioPolicies, type IstioOptions } from './istio.js';
import { mtlsPolicies } from './mtls.js';
import { networkPolicies, networkPoliciesByNamespace, type NetworkPolicyOptions } from './network-policy.js';

export const TARGETS = ['istio', 'mtls', 'networkpolicy'] as const;
export type Target = (typeof TARGETS)[number];

export type PolicyOptions = IstioOptions & NetworkPolicyOptions;

export function emit(target: Target, rs: RuleSet, o: PolicyOptions): EmitResult {
  switch (target) {
    case 'istio':
      return istioPolicies(rs, o);
    case 'mtls':
      return mtlsPolicies(rs, o);
    case 'networkpolicy':
      return networkPolicies(rs, o);
  }
}

/**
 * emit's manifests in parts, a namespace's at a time where the emitter makes them so (the
 * findings are added to `findings` as they come): propose writes each part before the next is
 * made, so that a 5,000-workload proposal's manifests are not all held at once (made whole,
 * they outlived young-generation collections and were copied by each: 0.3 s of 1.1 s of GC).
 */
export function emitInParts(target: Target, rs: RuleSet, o: PolicyOptions, findings: Finding[]): Iterable<Emitted[]> {
  switch (target) {
    case 'istio':
      return istioByNamespace(rs, o, findings);
    case 'networkpolicy':
      return networkPoliciesByNamespace(rs, o, findings);
    case 'mtls': {
      // One PeerAuthentication per namespace: small enough to make whole.
      const r = mtlsPolicies(rs, o);
      findings.push(...r.findings);
      return [r.manifests];
    }
  }
}

/**
 * The manifest's path relative to the policies directory; names are validated DNS-1123
 * labels. A manifest that is not ready to apply ends in `.yaml.not-ready`, which
 * `kubectl apply -R -f` does not pick up.
 */
export function manifestPath(target: string, e: Emitted): string {
  const suffix = e.notReady === true ? '.yaml.not-ready' : '.yaml';
  return `${target}/${e.manifest.metadata.namespace}/${e.manifest.kind.toLowerCase()}-${e.manifest.metadata.name}${suffix}`;
}
