// The resolution key of a flow from any source (Flow.endpointKey): every field the resolver
// reads, and none it does not (the source's ephemeral port, labels, time), so that flows of one
// route share a memoized resolution. Access logs build theirs from the line's bytes instead.

import type { EndpointRef, Flow } from './flow.js';

function refKey(r: EndpointRef, withPort: boolean): unknown[] {
  const w = r.workload;
  return [
    r.ip ?? null,
    withPort ? (r.port ?? null) : null,
    r.pod === undefined ? null : [r.pod.namespace, r.pod.name],
    r.service ?? null,
    r.servicePort ?? null,
    r.host ?? null,
    w === undefined ? null : [w.namespace, w.kind ?? null, w.name],
    r.principal ?? null,
    r.behindProxy !== undefined,
  ];
}

/** JSON, so that no value, whatever bytes it holds, can make two flows' keys equal. */
export function endpointKeyOf(f: Flow): string {
  return `k${JSON.stringify([refKey(f.source, false), refKey(f.destination, true), f.protocol, f.reporter])}`;
}
