// Several inventory snapshots, and pods learned from their own lines (issue 11, part 4).
import assert from 'node:assert/strict';
import { InputError } from '../../src/errors.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import { controllerIndex, guessOwner, type LearnedPod } from '../../src/inventory/learned.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { podAt } from '../../src/inventory/resolve.js';
import { combineSnapshots, newestTimestamp, parseInventorySpec, type Snapshot } from '../../src/inventory/snapshots.js';
import { owned, pod } from '../support/kube.js';

const t = (s: string) => Date.parse(s);
const snap = (time: string | undefined, objects: KubeObject[]): Snapshot => ({ path: `inv-${time ?? 'x'}.json`, time: time === undefined ? undefined : t(time), timeFrom: 'flag', objects });
const learned = (name: string, ips: string[], first: string, last: string, ns = 'shop'): LearnedPod => ({ namespace: ns, name, ips, first: t(first), last: t(last) });
const holder = (objects: KubeObject[], ip: string, at: string) => {
  const r = podAt(buildInventory(objects), ip, t(at));
  return 'pod' in r ? `${r.pod.name} ${r.pod.workload.key}` : r.reason;
};

function template(kind: string, ns: string, name: string, sa: string, labels: Record<string, string>, owner?: [string, string]): KubeObject {
  const o = owned(kind, ns, name, owner);
  const tpl = { metadata: { labels }, spec: { serviceAccountName: sa, containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }] } };
  o['spec'] = kind === 'CronJob' ? { jobTemplate: { spec: { template: tpl } } } : { template: tpl };
  return o;
}

describe('inventory snapshots and learned pods', () => {
  it('reads FILE@TIME, and refuses a time without a zone', () => {
    assert.deepEqual(parseInventorySpec('a.json'), { path: 'a.json' });
    assert.deepEqual(parseInventorySpec('dir/a@b.json@2026-11-24T10:00:00Z'), { path: 'dir/a@b.json', time: t('2026-11-24T10:00:00Z') });
    assert.deepEqual(parseInventorySpec('a.json@2026-11-24T11:00:00+01:00'), { path: 'a.json', time: t('2026-11-24T10:00:00Z') });
    assert.throws(() => parseInventorySpec('a.json@2026-11-24T10:00:00'), InputError);
    assert.throws(() => parseInventorySpec('a.json@2026-13-40T10:00:00Z'), InputError);
  });

  it('dates a dump by the newest time it records as past, never by a deletion ahead', () => {
    const p = pod('shop', 'a', { start: '2026-11-24T09:00:00Z' });
    (p['status'] as Record<string, unknown>)['conditions'] = [{ type: 'Ready', lastTransitionTime: '2026-11-24T09:05:00Z' }];
    p.metadata['deletionTimestamp'] = '2026-11-24T12:00:00Z';
    assert.equal(newestTimestamp([p, owned('Deployment', 'shop', 'x')]), t('2026-11-24T09:05:00Z'));
    assert.equal(newestTimestamp([owned('Deployment', 'shop', 'x')]), undefined);
  });

  it('keeps each object once, and ends a pod between the snapshot that has it and a later one of its namespace that has not', () => {
    const a = pod('shop', 'cart-1', { ip: '10.1.0.5', start: '2026-11-24T00:00:00Z' });
    const b = pod('shop', 'cart-2', { ip: '10.1.0.6', start: '2026-11-24T10:00:00Z' });
    const other = pod('ops', 'tool', { ip: '10.1.0.9', start: '2026-11-24T00:00:00Z' });
    const { objects, report } = combineSnapshots([snap('2026-11-24T11:00:00Z', [b]), snap('2026-11-24T09:00:00Z', [a, b, other])]);
    assert.equal(objects.filter((o) => o.kind === 'Pod').length, 3, 'cart-2 once');
    assert.equal(report.podsEnded, 1, "cart-1 only: no later snapshot lists ops' pods");
    assert.equal(holder(objects, '10.1.0.5', '2026-11-24T10:59:00Z'), 'cart-1 shop/Pod/cart-1');
    assert.equal(holder(objects, '10.1.0.5', '2026-11-24T11:02:00Z'), 'ip-outside-pod-lifetime');
    assert.equal(holder(objects, '10.1.0.9', '2026-11-24T23:00:00Z'), 'tool ops/Pod/tool');
  });

  it('names a gone pod by its controller: ReplicaSet, Deployment by name, Job, CronJob by name, StatefulSet, DaemonSet, or none', () => {
    const index = controllerIndex([
      template('ReplicaSet', 'shop', 'web-5b4d9c7b8f', 'web', { app: 'web', 'pod-template-hash': '5b4d9c7b8f' }, ['Deployment', 'web']),
      template('Deployment', 'shop', 'api', 'api', { app: 'api' }),
      template('Job', 'shop', 'migrate', 'migrate', { app: 'migrate' }),
      template('CronJob', 'shop', 'report', 'report', { app: 'report' }),
      template('StatefulSet', 'shop', 'db', 'db', { app: 'db' }),
      template('DaemonSet', 'shop', 'agent', 'agent', { app: 'agent' }),
    ]);
    const owner = (name: string) => {
      const g = guessOwner('shop', name, index);
      return [g.owner, g.ref?.kind, g.ref?.name];
    };
    assert.deepEqual(owner('web-5b4d9c7b8f-x7k2p'), ['replicaset', 'ReplicaSet', 'web-5b4d9c7b8f']);
    assert.deepEqual(owner('api-7c9d5f6b8-q2w4z'), ['deployment-by-name', 'ReplicaSet', 'api-7c9d5f6b8']);
    assert.deepEqual(owner('migrate-h5k2v'), ['job', 'Job', 'migrate']);
    assert.deepEqual(owner('migrate-3-h5k2v'), ['job', 'Job', 'migrate'], 'an Indexed Job');
    assert.deepEqual(owner('report-29400030-bq7zx'), ['cronjob-by-name', 'Job', 'report-29400030']);
    assert.deepEqual(owner('db-2'), ['statefulset', 'StatefulSet', 'db']);
    assert.deepEqual(owner('agent-t8b2m'), ['daemonset', 'DaemonSet', 'agent']);
    assert.deepEqual(owner('other-7c9d5f6b8-q2w4z'), ['none', undefined, undefined], 'a name alone is not enough');
    assert.deepEqual(owner('api-7c9d5f6b8-q2w4'), ['none', undefined, undefined], 'not a controller-made suffix');
  });

  it('adds learned pods with their workload, service account and labels from the template, alive while their lines say', () => {
    const objects = [
      template('Deployment', 'shop', 'api', 'api-sa', { app: 'api', version: 'v2' }),
      template('CronJob', 'shop', 'report', 'report-sa', { app: 'report' }),
      pod('shop', 'db-0', { ip: '10.1.0.5', start: '2026-11-24T00:00:00Z' }),
    ];
    const { objects: combined, report } = combineSnapshots(
      [snap('2026-11-24T09:00:00Z', objects)],
      [learned('api-7c9d5f6b8-q2w4z', ['10.1.0.7'], '2026-11-24T09:30:00Z', '2026-11-24T10:30:00Z'), learned('report-29400030-bq7zx', ['10.1.0.8'], '2026-11-24T10:30:00Z', '2026-11-24T10:33:00Z'), learned('ghost', ['10.1.0.9'], '2026-11-24T10:00:00Z', '2026-11-24T10:10:00Z')],
    );
    assert.deepEqual(report.learned.added, { 'deployment-by-name': 1, 'cronjob-by-name': 1, none: 1 });
    assert.deepEqual(report.learned.withoutController, ['shop/ghost']);
    const inv = buildInventory(combined);
    const api = inv.podsByName.get('api-7c9d5f6b8-q2w4z')![0]!;
    assert.deepEqual([api.identity.key, api.serviceAccount, api.hasSidecar, api.workload.labels], ['shop/Deployment/api', 'api-sa', true, { app: 'api', version: 'v2' }]);
    assert.equal(inv.podsByName.get('report-29400030-bq7zx')![0]!.identity.key, 'shop/CronJob/report');
    assert.equal(holder(combined, '10.1.0.7', '2026-11-24T10:00:00Z'), 'api-7c9d5f6b8-q2w4z shop/Deployment/api');
    assert.equal(holder(combined, '10.1.0.7', '2026-11-24T11:00:00Z'), 'ip-outside-pod-lifetime');
  });

  it('binds no IP that two pods claim at once, or that a snapshot pod certainly held then; a handover is no conflict', () => {
    const objects = [pod('shop', 'db-0', { ip: '10.1.0.5', start: '2026-11-24T00:00:00Z' }), template('StatefulSet', 'shop', 'web', 'web', { app: 'web' })];
    const { objects: combined, report } = combineSnapshots(
      [snap('2026-11-24T09:00:00Z', objects)],
      [
        // Claims db-0's address while the snapshot shows db-0 running: a log in the wrong place.
        learned('web-1', ['10.1.0.5'], '2026-11-24T08:00:00Z', '2026-11-24T08:30:00Z'),
        learned('web-2', ['10.1.0.6'], '2026-11-24T08:00:00Z', '2026-11-24T09:00:00Z'),
        learned('web-3', ['10.1.0.6'], '2026-11-24T08:30:00Z', '2026-11-24T10:00:00Z'),
        // Handed over within a minute: both bound.
        learned('web-4', ['10.1.0.7'], '2026-11-24T08:00:00Z', '2026-11-24T09:00:30Z'),
        learned('web-5', ['10.1.0.7'], '2026-11-24T09:00:00Z', '2026-11-24T10:00:00Z'),
      ],
    );
    assert.equal(report.learned.conflicts.length, 2, report.learned.conflicts.join('\n'));
    assert.equal(holder(combined, '10.1.0.5', '2026-11-24T08:10:00Z'), 'db-0 shop/Pod/db-0');
    assert.equal(holder(combined, '10.1.0.6', '2026-11-24T08:40:00Z'), 'unknown-ip');
    assert.equal(holder(combined, '10.1.0.7', '2026-11-24T08:10:00Z'), 'web-4 shop/StatefulSet/web');
    assert.equal(holder(combined, '10.1.0.7', '2026-11-24T09:30:00Z'), 'web-5 shop/StatefulSet/web');
  });

  it('in a single undated snapshot, a running pod certainly held its address up to the newest time the dump records', () => {
    const db = pod('shop', 'db-0', { ip: '10.1.0.5', start: '2026-11-24T00:00:00Z' });
    (db['status'] as Record<string, unknown>)['conditions'] = [{ type: 'Ready', lastTransitionTime: '2026-11-24T09:00:00Z' }];
    const undated: Snapshot = { path: 'inv.json', time: undefined, timeFrom: 'unknown', objects: [db] };
    const { objects, report } = combineSnapshots([undated], [learned('web-1', ['10.1.0.5'], '2026-11-24T08:00:00Z', '2026-11-24T08:30:00Z')]);
    assert.equal(report.learned.conflicts.length, 1);
    assert.equal(holder(objects, '10.1.0.5', '2026-11-24T08:10:00Z'), 'db-0 shop/Pod/db-0');
  });

  it("widens a snapshot pod's lifetime to its own lines, and gives it the address its lines show when the snapshot has none", () => {
    const a = pod('shop', 'cart-1', { ip: '10.1.0.5', start: '2026-11-24T00:00:00Z' });
    const pending = pod('shop', 'cart-2', { start: '2026-11-24T08:59:00Z' });
    const { objects, report } = combineSnapshots(
      [snap('2026-11-24T09:00:00Z', [a, pending]), snap('2026-11-24T10:00:00Z', [pod('shop', 'x', {})])],
      [learned('cart-1', ['10.1.0.5'], '2026-11-24T08:00:00Z', '2026-11-24T10:30:00Z'), learned('cart-2', ['10.1.0.6'], '2026-11-24T09:01:00Z', '2026-11-24T09:30:00Z')],
    );
    assert.equal(report.learned.inInventory, 2);
    assert.equal(holder(objects, '10.1.0.5', '2026-11-24T10:20:00Z'), 'cart-1 shop/Pod/cart-1', 'past the later snapshot, as its lines show');
    assert.equal(holder(objects, '10.1.0.6', '2026-11-24T09:10:00Z'), 'cart-2 shop/Pod/cart-2');
  });
});
