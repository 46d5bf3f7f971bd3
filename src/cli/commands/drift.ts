// `ztmap drift --baseline POLICIES`: the traffic seen now (a saved graph, or telemetry read as
// `observe` reads it) replayed against approved policies: what they do not allow, and which
// of their allow rules nothing used (review/drift.ts, review/usage.ts).

import { ConfigError } from '../../errors.js';
import { loadInventory, type IpConflict } from '../../inventory/inventory.js';
import { drift, type DriftReport } from '../../review/drift.js';
import { loadPolicies } from '../../verify/manifests.js';
import { graphToReplay, type ObserveOptions } from './observe.js';

export interface DriftCommandOptions {
  baseline: string[];
  graph?: string;
  /** Telemetry inputs, read as `observe` reads them, instead of a graph. */
  inputs: string[];
  observe: Omit<ObserveOptions, 'inputs' | 'inventory' | 'out' | 'merge'>;
  inventory: string[];
  trustDomain: string;
  rootNamespace: string;
  /** RFC 3339: traffic last seen before it is outside the window. */
  since?: string;
  onIpConflicts?: (conflicts: IpConflict[]) => void;
}

export async function driftCommand(o: DriftCommandOptions): Promise<DriftReport> {
  if (o.baseline.length === 0) throw new ConfigError('drift: --baseline is required: the approved policies, a directory or file of manifests (e.g. policies/).');
  if (o.inventory.length === 0) throw new ConfigError('drift: --inventory is required: policies select pods by their labels.');
  if ((o.graph === undefined) === (o.inputs.length === 0)) throw new ConfigError('drift: give either --graph graph.json or telemetry inputs, not both and not neither.');
  let since: number | undefined;
  if (o.since !== undefined) {
    since = Date.parse(o.since);
    // RFC 3339 requires the offset: without one, Date.parse would read it in this machine's zone.
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(o.since) || Number.isNaN(since)) {
      throw new ConfigError(`drift: --since ${JSON.stringify(o.since)} is not an RFC 3339 time with Z or an offset. For example --since 2026-11-24T00:00:00Z.`);
    }
  }
  const inventory = await loadInventory(o.inventory);
  if (inventory.ipConflicts.length > 0) o.onIpConflicts?.(inventory.ipConflicts);
  const graph = await graphToReplay(o, 'drift');
  const baseline = await loadPolicies(o.baseline);
  return drift(graph, inventory, baseline, { trustDomain: o.trustDomain, rootNamespace: o.rootNamespace, ...(since === undefined ? {} : { since }) });
}
