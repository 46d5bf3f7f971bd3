// Small builders for Kubernetes objects in tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../src/inventory/load.js';

export function pod(
  ns: string,
  name: string,
  o: {
    ip?: string;
    owner?: [string, string];
    labels?: Record<string, string>;
    sa?: string;
    start?: string;
    end?: string;
    hostIP?: string;
    ports?: [string, number][];
    /** Whether an istio-proxy container was injected (default true). */
    sidecar?: boolean;
    annotations?: Record<string, string>;
  } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${ns}-${name}`,
      labels: o.labels ?? {},
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: o.owner[0], name: o.owner[1], controller: true, uid: 'x' }] } : {}),
    },
    spec: {
      serviceAccountName: o.sa ?? 'default',
      containers: [
        { name: 'app', ports: (o.ports ?? []).map(([n, p]) => ({ name: n, containerPort: p, protocol: 'TCP' })) },
        ...(o.sidecar === false ? [] : [{ name: 'istio-proxy' }]),
      ],
    },
    status: {
      phase: o.end ? 'Succeeded' : 'Running',
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      hostIP: o.hostIP ?? '10.0.0.1',
      startTime: o.start ?? '2026-11-24T00:00:00Z',
      containerStatuses: o.end ? [{ name: 'app', state: { terminated: { finishedAt: o.end } } }] : [],
    },
  };
}

/** A Namespace object with its labels (`istio.io/dataplane-mode: ambient` enrolls it in ambient mode). */
export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export function owned(kind: string, ns: string, name: string, owner?: [string, string]): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: ns, ...(owner ? { ownerReferences: [{ kind: owner[0], name: owner[1], controller: true }] } : {}) },
  };
}

export function service(ns: string, name: string, selector: Record<string, string>, ports: [number, number | string][], clusterIP = '10.96.0.10'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { clusterIP, selector, ports: ports.map(([port, targetPort]) => ({ port, targetPort, protocol: 'TCP' })) },
  };
}

/**
 * A Deployment with its ReplicaSet (`NAME-5d8f`) and one pod (`NAME-5d8f-abcde`) labelled
 * `app: NAME` and running as service account NAME; `pod` gives the rest (address, ports, start).
 */
export function deployment(ns: string, name: string, o: Omit<Parameters<typeof pod>[2] & object, 'owner'> = {}): KubeObject[] {
  return [
    owned('Deployment', ns, name),
    owned('ReplicaSet', ns, `${name}-5d8f`, ['Deployment', name]),
    pod(ns, `${name}-5d8f-abcde`, { labels: { app: name }, sa: name, ...o, owner: ['ReplicaSet', `${name}-5d8f`] }),
  ];
}

/** Writes `dir/inventory.json`: the objects as one `kubectl get … -o json` List. Returns its path. */
export function writeInventory(dir: string, items: readonly unknown[]): string {
  const file = join(dir, 'inventory.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  return file;
}
