// Summary lines for what observe inferred about pods that came and went: the snapshots it
// combined, pods that ended between them, and pods learned from the logs' own lines.

import type { ChurnReport } from '../../inventory/snapshots.js';
import { printable } from '../../text.js';

const HOW: Record<string, string> = {
  replicaset: 'through their ReplicaSet',
  'deployment-by-name': "through their Deployment's naming (ReplicaSet gone)",
  job: 'through their Job',
  'cronjob-by-name': "through their CronJob's naming (Job gone)",
  statefulset: 'through their StatefulSet',
  daemonset: 'through their DaemonSet',
  none: 'with no controller in any snapshot (each its own workload)',
};

export function churnSummary(r: ChurnReport): string[] {
  const out: string[] = [];
  if (r.snapshots.length > 1) {
    const at = (s: ChurnReport['snapshots'][number]) =>
      s.time === undefined ? 'time unknown' : `${new Date(s.time).toISOString()}${s.timeFrom === 'flag' ? '' : ' (newest time in the dump)'}`;
    out.push(`snapshots: ${r.snapshots.map((s) => `${printable(s.path)} at ${at(s)}, ${s.pods} pods`).join('; ')}; ${r.podsEnded} pods ended between them`);
  }
  const l = r.learned;
  if (l.pods > 0) {
    const added = Object.entries(l.added).map(([how, n]) => `${n} ${HOW[how] ?? how}`);
    out.push(`learned from the pods' own lines: ${l.pods} pods with their addresses and times (${l.inInventory} in a snapshot${added.length === 0 ? '' : `; added ${added.join(', ')}`})`);
    if (l.withoutController.length > 0) out.push(`  no controller: ${l.withoutController.map(printable).join(', ')}`);
    for (const c of l.conflicts) out.push(`  not bound: ${printable(c)}`);
  }
  return out;
}
