// The emitters by target name (`--target istio,mtls,networkpolicy`), and where each
// manifest is written: TARGET/NAMESPACE/KIND-NAME.yaml under the policies directory.

import type { RuleSet } from '../rules/access-rule.js';
import type { EmitResult, Emitted } from './emitted.js';
import { istioPolicies, type IstioOptions } from './istio.js';
import { mtlsPolicies } from './mtls.js';
import { networkPolicies, type NetworkPolicyOptions } from './network-policy.js';

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
 * The manifest's path relative to the policies directory; names are validated DNS-1123
 * labels. A manifest that is not ready to apply ends in `.yaml.not-ready`, which
 * `kubectl apply -R -f` does not pick up.
 */
export function manifestPath(target: string, e: Emitted): string {
  const suffix = e.notReady === true ? '.yaml.not-ready' : '.yaml';
  return `${target}/${e.manifest.metadata.namespace}/${e.manifest.kind.toLowerCase()}-${e.manifest.metadata.name}${suffix}`;
}
