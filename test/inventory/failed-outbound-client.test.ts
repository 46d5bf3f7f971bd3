// The client of an outbound request that reached no upstream (UH, BlackHole, a refusal) is in
// downstream_remote_address; a gateway's line, whose listener is its own pod, is still read as
// the gateway's (issue 11 part 3).

import assert from 'node:assert/strict';
import type { Flow } from '../../src/flow/flow.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import { Resolver } from '../../src/inventory/resolve.js';
import type { AccessLogEntry } from '../../src/sources/decoders/access-log-entry.js';
import { decodeEnvoyText } from '../../src/sources/decoders/envoy-text.js';
import { entryToFlow } from '../../src/sources/access-log.js';
import { Tally } from '../../src/tally.js';
import { owned, pod } from '../support/kube.js';

const inv = buildInventory([
  owned('Deployment', 'default', 'sleep'),
  pod('default', 'sleep-1', { ip: '10.122.158.52', owner: ['Deployment', 'sleep'], labels: { app: 'sleep' }, sa: 'sleep', start: '2022-04-26T00:00:00Z' }),
  owned('Deployment', 'istio-system', 'istio-ingressgateway'),
  pod('istio-system', 'gw-1', { ip: '10.48.0.24', owner: ['Deployment', 'istio-ingressgateway'], labels: { istio: 'ingressgateway' }, start: '2022-04-26T00:00:00Z' }),
]);

function resolve(line: string) {
  const e = decodeEnvoyText(line);
  assert.equal(e.kind, 'ok');
  const f = entryToFlow((e as { value: AccessLogEntry }).value, { reporter: undefined, decoder: 'envoy-text', location: { file: 'x.log', line: 1 } });
  assert.equal(f.kind, 'ok');
  const unresolved = new Tally();
  return { hops: new Resolver(inv, unresolved).resolve((f as { value: Flow }).value), unresolved };
}

describe('the client of a failed outbound request', () => {
  it('is the pod at downstream_remote_address when no upstream_local_address was logged (BlackHole, 403)', () => {
    const { hops, unresolved } = resolve('[2026-11-24T13:14:30.905Z] "- - -" 0 UH - - "-" 0 0 7 - "-" "-" "-" "-" "-" BlackHoleCluster - 180.97.34.94:443 10.122.158.52:54192 - -');
    assert.deepEqual(hops.map((h) => [h.source.key, h.destination.key, h.port, h.flow.denial?.kind]), [['default/Deployment/sleep', 'world:180.97.34.94', 443, 'registry-only']]);
    assert.equal(unresolved.total, 0);
  });

  it('but a gateway that answered itself is still the gateway, with its client as the first hop', () => {
    const { hops } = resolve(
      '[2026-11-24T13:35:27.054Z] "GET / HTTP/2" 403 UAEX ext_authz_denied - "-" 0 387 16 - "192.168.0.24" "Mozilla/5.0 (ztmap test)" "00000000-0000-4000-a000-000000000001" "kubeflow.example" "-" outbound|80||centraldashboard.kubeflow.svc.cluster.local - 10.48.0.24:8443 192.168.0.24:41604 kubeflow.example -',
    );
    assert.deepEqual(
      hops.map((h) => [h.source.key, h.destination.key, h.port]),
      [
        ['istio-system/Deployment/istio-ingressgateway', 'unknown:service/centraldashboard.kubeflow.svc.cluster.local', 80],
        ['unknown:192.168.0.24', 'istio-system/Deployment/istio-ingressgateway', 8443],
      ],
    );
  });
});
