// Istio's own webhook validation (test/oracle/istio-validation, built with Go by
// scripts/istio-validation-oracle.sh) from TypeScript: one run judges a list of objects.

import { join } from 'node:path';
import { goOracleBinary, runGoOracle } from './go-oracle.js';
import { ROOT } from './paths.js';

const ISTIO_VALIDATION_SCRIPT = join(ROOT, 'scripts', 'istio-validation-oracle.sh');

export interface IstioJudgement {
  index: number;
  ok: boolean;
  error?: string;
}

/** Builds the oracle if needed (about two minutes cold) and returns its path; once per process. */
export const istioValidationBinary = goOracleBinary('istio validation oracle', ISTIO_VALIDATION_SCRIPT);

/** Istio's verdict on each object (AuthorizationPolicy, PeerAuthentication), in order. */
export async function istioValidate(objects: readonly unknown[]): Promise<IstioJudgement[]> {
  const results = (await runGoOracle('istio validation oracle', await istioValidationBinary(), objects)) as IstioJudgement[];
  if (results.length !== objects.length || results.some((r, i) => r.index !== i || typeof r.ok !== 'boolean')) {
    throw new Error(`istio validation oracle: ${results.length} results for ${objects.length} objects, or out of order`);
  }
  return results;
}
