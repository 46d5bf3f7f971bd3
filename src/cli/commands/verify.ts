// `ztmap verify`: replay observed traffic (a saved graph, or access logs read as `observe`
// reads them) against a policy set (any manifests: ztmap's proposal or hand-written ones)
// and say what would be allowed and denied, by which policy, and what is allowed beyond
// what was observed.

import { ConfigError, InputError } from '../../errors.js';
import { loadInventory, type IpConflict } from '../../inventory/inventory.js';
import type { AccessRule, Exclusion } from '../../rules/access-rule.js';
import { loadPolicies } from '../../verify/manifests.js';
import { readNamedText } from '../../sources/transports/files.js';
import { verify, type Verification } from '../../verify/verification.js';
import { graphToReplay, type ObserveOptions } from './observe.js';

export interface VerifyCommandOptions {
  policies: string[];
  graph?: string;
  /** Access-log inputs, read as `observe` reads them, instead of a graph. */
  inputs: string[];
  observe: Omit<ObserveOptions, 'inputs' | 'inventory' | 'out' | 'merge'>;
  inventory: string[];
  rules?: string;
  trustDomain: string;
  rootNamespace: string;
  overPermission: boolean;
  /** Told of addresses more than one live pod of the inventory claims (the CLI warns on stderr). */
  onIpConflicts?: (conflicts: IpConflict[]) => void;
}

async function readRules(path: string): Promise<{ rules: AccessRule[]; excluded: Exclusion[] }> {
  let doc: { format?: string; rules?: AccessRule[]; excluded?: Exclusion[] };
  try {
    doc = JSON.parse(await readNamedText(path, 'rules', 'Pass the rules.json `ztmap propose` wrote beside the policies.'));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`reading rules: ${path}: ${(err as Error).message}. Pass the rules.json \`ztmap propose\` wrote beside the policies.`);
  }
  if (doc.format !== 'ztmap-rules' || !Array.isArray(doc.rules) || !Array.isArray(doc.excluded)) {
    throw new InputError(`reading rules: ${path} is not a rules.json written by \`ztmap propose\`.`);
  }
  return { rules: doc.rules, excluded: doc.excluded };
}

export async function verifyCommand(o: VerifyCommandOptions): Promise<Verification> {
  if (o.policies.length === 0) throw new ConfigError('verify: --policies is required: a directory or file of manifests, e.g. output/policies.');
  if (o.inventory.length === 0) throw new ConfigError('verify: --inventory is required: policies select pods by their labels.');
  if ((o.graph === undefined) === (o.inputs.length === 0)) {
    throw new ConfigError('verify: give either --graph graph.json or access-log inputs, not both and not neither.');
  }
  const inventory = await loadInventory(o.inventory);
  if (inventory.ipConflicts.length > 0) o.onIpConflicts?.(inventory.ipConflicts);
  const graph = await graphToReplay(o, 'verify');
  const policies = await loadPolicies(o.policies);
  return verify(graph, inventory, policies, {
    trustDomain: o.trustDomain,
    rootNamespace: o.rootNamespace,
    overPermission: o.overPermission,
    ...(o.rules === undefined ? {} : { rules: await readRules(o.rules) }),
  });
}
