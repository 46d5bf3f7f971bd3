// `ztmap diff OLD NEW`: the semantic difference between two policy sets (directories or files
// of manifests, ztmap's or hand-written), decided by replay (review/diff.ts), never by text.

import { ConfigError } from '../../errors.js';
import { loadInventory, type Inventory, type IpConflict } from '../../inventory/inventory.js';
import { policyDiff, type PolicyDiff } from '../../review/diff.js';
import { loadPolicies } from '../../verify/manifests.js';

export interface DiffCommandOptions {
  before: string;
  after: string;
  inventory: string[];
  trustDomain: string;
  rootNamespace: string;
  onIpConflicts?: (conflicts: IpConflict[]) => void;
  onProgress?: (done: number, total: number) => void;
}

export async function diffCommand(o: DiffCommandOptions): Promise<PolicyDiff> {
  if (o.before === '' || o.after === '') throw new ConfigError('diff: name two policy sets, OLD and NEW: directories or files of manifests (e.g. main/policies output/policies).');
  let inventory: Inventory | undefined;
  if (o.inventory.length > 0) {
    inventory = await loadInventory(o.inventory);
    if (inventory.ipConflicts.length > 0) o.onIpConflicts?.(inventory.ipConflicts);
  }
  const [before, after] = [await loadPolicies([o.before]), await loadPolicies([o.after])];
  return policyDiff(before, after, { ...(inventory === undefined ? {} : { inventory }), trustDomain: o.trustDomain, rootNamespace: o.rootNamespace, ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }) });
}
