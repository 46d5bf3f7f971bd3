// The resolution key of a flow from any source (Flow.endpointKey): every field the resolver
// reads, and none it does not (the source's ephemeral port, labels, time), so that flows of one
// route share a memoized resolution. Access logs build theirs from the line's bytes instead.

import type { EndpointRef, Flow } from './flow.js';

function refKey(r: EndpointRef, withPort: boolean): string {
  const w = r.workload;
  return [
    r.ip ?? '',
    withPort ? (r.port ?? '') : '',
    r.pod === undefined ? '' : `${r.pod.namespace}/${r.pod.name}`,
    r.service ?? '',
    r.servicePort ?? '',
    r.host ?? '',
    w === undefined ? '' : `${w.namespace}/${w.kind ?? ''}/${w.name}`,
    r.principal ?? '',
    r.behindProxy === undefined ? '' : 'p',
  ].join('\u0000');
}

export function endpointKeyOf(f: Flow): string {
  return `k\u0001${refKey(f.source, false)}\u0001${refKey(f.destination, true)}\u0001${f.protocol}\u0001${f.reporter}`;
}
