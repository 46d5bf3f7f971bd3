import assert from 'node:assert/strict';
import type { Flow } from '../../src/flow/flow.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import { parseObjects } from '../../src/inventory/load.js';
import { podAt, Resolver } from '../../src/inventory/resolve.js';
import { InputError } from '../../src/errors.js';
import { Tally } from '../../src/tally.js';
import { owned, pod, service } from '../support/kube.js';

const t = (s: string) => Date.parse(s);

describe('inventory', () => {
  it('resolves pods to their top-level controller through ownerReferences', () => {
    const inv = buildInventory([
      owned('Deployment', 'default', 'reviews-v1'),
      owned('ReplicaSet', 'default', 'reviews-v1-5b8f4d6c9', ['Deployment', 'reviews-v1']),
      pod('default', 'reviews-v1-5b8f4d6c9-abcde', { owner: ['ReplicaSet', 'reviews-v1-5b8f4d6c9'], labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '5b8f4d6c9' } }),
      owned('StatefulSet', 'data', 'db'),
      pod('data', 'db-0', { owner: ['StatefulSet', 'db'], labels: { app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-0' } }),
      pod('data', 'debug', {}),
    ]);
    assert.deepEqual(
      inv.pods.map((p) => p.workload.key),
      ['default/Deployment/reviews-v1', 'data/StatefulSet/db', 'data/Pod/debug'],
    );
    assert.deepEqual(inv.workloads.get('default/Deployment/reviews-v1')!.labels, { app: 'reviews', version: 'v1' }, 'hash labels are never identity');
    assert.deepEqual(inv.workloads.get('data/StatefulSet/db')!.labels, { app: 'db' });
  });

  it("keeps a CronJob's runs one workload, even when their Jobs and ReplicaSets were cleaned up", () => {
    const inv = buildInventory([
      owned('CronJob', 'default', 'report'),
      owned('Job', 'default', 'report-29400000', ['CronJob', 'report']),
      pod('default', 'report-29400000-aaaaa', { owner: ['Job', 'report-29400000'], labels: { app: 'report', 'job-name': 'report-29400000' } }),
      // Job object gone (ttlSecondsAfterFinished): the name convention still ties it to the CronJob.
      pod('default', 'report-29400030-bbbbb', { owner: ['Job', 'report-29400030'], labels: { app: 'report', 'job-name': 'report-29400030' } }),
      // ReplicaSet not in the dump: pod-template-hash ties it to its Deployment.
      pod('default', 'web-7d9f8c-xyz', { owner: ['ReplicaSet', 'web-7d9f8c'], labels: { app: 'web', 'pod-template-hash': '7d9f8c' } }),
    ]);
    assert.deepEqual([...inv.workloads.keys()], ['default/CronJob/report', 'default/Deployment/web']);
    assert.deepEqual(inv.workloads.get('default/CronJob/report')!.labels, { app: 'report' });
  });

  it('resolves a reused pod IP by time', () => {
    const inv = buildInventory([
      pod('default', 'old', { ip: '10.1.0.5', start: '2026-11-24T10:00:00Z', end: '2026-11-24T10:05:00Z', owner: ['Job', 'old-job'] }),
      pod('default', 'new', { ip: '10.1.0.5', start: '2026-11-24T10:30:00Z' }),
    ]);
    const at = (s: string) => {
      const r = podAt(inv, '10.1.0.5', t(s));
      return 'pod' in r ? r.pod.name : r.reason;
    };
    assert.equal(at('2026-11-24T10:02:00Z'), 'old');
    assert.equal(at('2026-11-24T10:45:00Z'), 'new');
    assert.equal(at('2026-11-24T10:15:00Z'), 'ip-outside-pod-lifetime');
    assert.equal(at('2026-11-24T09:00:00Z'), 'ip-outside-pod-lifetime');
    const untimed = podAt(inv, '10.1.0.5', undefined);
    assert.ok('pod' in untimed && untimed.pod.name === 'new', 'without a time, the running pod');
  });

  it('maps an outbound request with no upstream host through the Service to its single workload and target port', () => {
    const inv = buildInventory([
      pod('default', 'details-1', { ip: '10.1.0.7', labels: { app: 'details' }, owner: ['Pod', 'details-1'], ports: [['http', 9080]] }),
      service('default', 'details', { app: 'details' }, [[80, 'http']]),
    ]);
    const unresolved = new Tally();
    const flow: Flow = {
      source: { ip: '10.9.9.9' },
      destination: { service: 'details.default.svc.cluster.local', servicePort: 80 },
      protocol: 'http',
      mtls: 'unknown',
      responseCode: 503,
      count: 1,
      reporter: 'client',
      evidence: { decoder: 'test', location: { file: 'f', line: 1 } },
    };
    const [rf] = new Resolver(inv, unresolved).resolve(flow);
    assert.equal(rf!.destination.key, 'default/Pod/details-1');
    assert.equal(rf!.port, 9080, 'named targetPort resolved on the pod');
    assert.equal(rf!.source.key, 'unknown:10.9.9.9');
    assert.deepEqual(unresolved.entries().map(([r, e]) => [r, e.examples[0]!.location]), [['source-unknown-ip', 'f:1']]);
  });

  it("names a pod that calls through the ingress gateway as the gateway's client, and an outside address as world", () => {
    const inv = buildInventory([
      pod('foo', 'sleep-1', { ip: '10.44.1.23', labels: { app: 'sleep' }, sa: 'sleep', start: '2020-11-25T21:00:00Z' }),
      pod('foo', 'httpbin-1', { ip: '10.44.1.27', labels: { app: 'httpbin' }, sa: 'httpbin', start: '2020-11-25T21:00:00Z' }),
      pod('istio-system', 'istio-ingressgateway-1', { ip: '10.44.2.5', labels: { app: 'istio-ingressgateway' }, sa: 'gw', start: '2020-11-25T21:00:00Z' }),
    ]);
    // The gateway's outbound line: its listener (downstream local) is its own pod IP.
    const through = (client: string): Flow => ({
      source: { ip: '10.44.2.5' },
      destination: { ip: '10.44.1.27', port: 80, service: 'httpbin.foo.svc.cluster.local', servicePort: 8000 },
      protocol: 'http',
      mtls: 'unknown',
      responseCode: 200,
      timestamp: t('2020-11-25T21:30:00Z'),
      count: 1,
      reporter: 'client',
      proxied: { listener: { ip: '10.44.2.5', port: 8080 }, client: { ip: client, port: 5555 } },
      evidence: { decoder: 'test', location: { file: 'f', line: 1 } },
    });
    const unresolved = new Tally();
    const resolver = new Resolver(inv, unresolved);
    const [main, hop] = resolver.resolve(through('10.44.1.23'));
    assert.equal(main!.source.key, 'istio-system/Pod/istio-ingressgateway-1');
    assert.equal(main!.destination.key, 'foo/Pod/httpbin-1');
    assert.deepEqual([hop!.source.key, hop!.destination.key, hop!.port], ['foo/Pod/sleep-1', 'istio-system/Pod/istio-ingressgateway-1', 8080]);
    assert.equal(resolver.resolve(through('203.0.113.7'))[1]!.source.key, 'world:203.0.113.7');
    assert.deepEqual(unresolved.entries(), []);
  });

  it('reads a kubectl pod dump: a bare ReplicaSet is its own workload, host IPs are node IPs (the published dump: test/conformance/)', () => {
    const dump = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        pod('jobs', 'worker-q7k2m', { ip: '10.61.4.8', owner: ['ReplicaSet', 'worker'], labels: { app: 'worker' }, hostIP: '10.61.0.3' }),
        pod('jobs', 'worker-x9d4p', { ip: '10.61.4.9', owner: ['ReplicaSet', 'worker'], labels: { app: 'worker' }, hostIP: '10.61.0.4' }),
      ],
      metadata: { resourceVersion: '' },
    });
    const inv = buildInventory(parseObjects(dump, 'pods.json'));
    assert.equal(inv.pods.length, 2);
    const p = inv.podsByIp.get('10.61.4.8')![0]!;
    // A bare ReplicaSet (no pod-template-hash label, so not a Deployment's) is its own workload.
    assert.equal(p.workload.key, 'jobs/ReplicaSet/worker');
    assert.ok(inv.nodeIps.has('10.61.0.3') && inv.nodeIps.has('10.61.0.4'));
  });

  it('reads multi-document YAML and reports a broken document with its line', () => {
    const objs = parseObjects('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n- {kind: Namespace, metadata: {name: b}}\n', 'x.yaml');
    assert.deepEqual(objs.map((o) => o.metadata['name']), ['a', 'b']);
    assert.throws(() => parseObjects('kind: [\n', 'bad.yaml'), InputError);
    assert.throws(() => parseObjects('{"items": [1]}', 'bad.json'), (e: Error) => e instanceof InputError && /bad\.json/.test(e.message));
  });
});
