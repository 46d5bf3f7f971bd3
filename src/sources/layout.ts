// Where a log was collected says which pod's proxy wrote it (docs/observe.md, Inputs): the line does not.
//
//   /var/log/pods/NS_POD_UID/CONTAINER/0.log[.20240101-000000[.gz]]   kubelet's tree (CRI lines)
//   /var/log/containers/POD_NS_CONTAINER-CONTAINERID.log              kubelet's symlinks (CRI lines)
//   NS_POD.log / POD.log                                              saved `kubectl logs POD -c istio-proxy`

import type { PodRef } from '../flow/flow.js';

export interface FileLayout {
  layout: 'pods-tree' | 'containers-dir' | 'kubectl' | 'unknown';
  reporter?: PodRef;
  container?: string;
}

const NAME = String.raw`[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?`;
const LABEL = String.raw`[a-z0-9](?:[-a-z0-9]*[a-z0-9])?`;
const PODS_TREE = new RegExp(String.raw`(?:^|/)(${LABEL})_(${NAME})_([0-9a-f-]{8,})/([^/]+)/[^/]+$`);
const CONTAINERS = new RegExp(String.raw`(?:^|/)(${NAME})_(${LABEL})_(${LABEL})-[0-9a-f]{64}\.log$`);
const KUBECTL_NS_POD = new RegExp(String.raw`^(${LABEL})_(${NAME})$`);
const KUBECTL_POD = new RegExp(String.raw`^(${NAME})$`);

export function layoutOf(path: string): FileLayout {
  const p = path.replace(/\\/g, '/');
  let m = PODS_TREE.exec(p);
  if (m !== null) return { layout: 'pods-tree', reporter: { namespace: m[1]!, name: m[2]! }, container: m[4]! };
  m = CONTAINERS.exec(p);
  if (m !== null) return { layout: 'containers-dir', reporter: { namespace: m[2]!, name: m[1]! }, container: m[3]! };
  const base = (p.split('/').pop() ?? '').replace(/\.gz$/, '').replace(/\.(log|txt|jsonl|json)$/, '');
  m = KUBECTL_NS_POD.exec(base);
  if (m !== null) return { layout: 'kubectl', reporter: { namespace: m[1]!, name: m[2]! } };
  m = KUBECTL_POD.exec(base);
  // A bare name is only a hint: inventory/ uses it if a pod of that name exists.
  if (m !== null && base.includes('-')) return { layout: 'kubectl', reporter: { namespace: '', name: m[1]! } };
  return { layout: 'unknown' };
}
