// What telemetry claims an endpoint is (Istio metrics' and Hubble's workload names, SPIFFE
// principals) against the inventory (inventory/resolve.ts, `_checkClaims` and `_onlyPort`
// through `Resolver.resolve`): a claim is looked up, never trusted, and every disagreement is a
// note in the Tally the Resolver was given.
import assert from 'node:assert/strict';
import type { EndpointRef, Flow, L4Protocol } from '../../src/flow/flow.js';
import type { KubeObject } from '../../src/inventory/load.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import { Resolver } from '../../src/inventory/resolve.js';
import { endpointKeyOf } from '../../src/flow/endpoint-key.js';
import type { ResolvedFlow } from '../../src/flow/identity.js';
import { Tally } from '../../src/tally.js';
import { owned, pod } from '../support/kube.js';

const T = Date.parse('2026-11-25T10:00:00Z');

interface Port {
  name?: string;
  port: number;
  targetPort: number | string;
  protocol?: string;
}

/** A Service with named ports (test/support/kube.ts's `service` names none). */
function svc(ns: string, name: string, selector: Record<string, string>, ports: Port[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { clusterIP: '10.96.1.1', selector, ports: ports.map((p) => ({ protocol: 'TCP', ...p })) },
  };
}

const deployment = (ns: string, name: string, hash: string): KubeObject[] => [owned('Deployment', ns, name), owned('ReplicaSet', ns, `${name}-${hash}`, ['Deployment', name])];

const OBJECTS: KubeObject[] = [
  ...deployment('shop', 'frontend', '6c9f7b'),
  pod('shop', 'frontend-6c9f7b-x1', { ip: '10.1.0.9', owner: ['ReplicaSet', 'frontend-6c9f7b'], sa: 'frontend', labels: { app: 'frontend' } }),
  ...deployment('shop', 'cart', '7d4b5c'),
  pod('shop', 'cart-7d4b5c-a1', { ip: '10.1.0.5', owner: ['ReplicaSet', 'cart-7d4b5c'], sa: 'cart', labels: { app: 'cart' }, ports: [['web', 9090]] }),
  // One name, two controllers in one namespace.
  ...deployment('shop', 'db', '5f6a7b'),
  pod('shop', 'db-5f6a7b-b1', { ip: '10.1.0.20', owner: ['ReplicaSet', 'db-5f6a7b'], sa: 'db', labels: { app: 'db-cache' } }),
  owned('StatefulSet', 'shop', 'db'),
  pod('shop', 'db-0', { ip: '10.1.0.21', owner: ['StatefulSet', 'db'], sa: 'db', labels: { app: 'db' } }),
  // Services of `cart` with every port layout _onlyPort reads.
  svc('shop', 'cart', { app: 'cart' }, [{ name: 'http', port: 80, targetPort: 8080 }]),
  svc('shop', 'cart-named', { app: 'cart' }, [{ port: 80, targetPort: 'web' }]),
  svc('shop', 'cart-udp', { app: 'cart' }, [
    { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' },
    { name: 'web', port: 80, targetPort: 8081 },
  ]),
  svc('shop', 'cart-mixed', { app: 'cart' }, [
    { name: 'http-web', port: 80, targetPort: 8080 },
    { name: 'tcp-admin', port: 9000, targetPort: 9001 },
  ]),
  svc('shop', 'cart-grpc', { app: 'cart' }, [
    { name: 'grpc', port: 7070, targetPort: 7071 },
    { name: 'metrics', port: 9000, targetPort: 9001 },
  ]),
  svc('shop', 'cart-mongo', { app: 'cart' }, [
    { name: 'mongo-main', port: 27017, targetPort: 27017 },
    { name: 'httpx', port: 80, targetPort: 8080 },
  ]),
  svc('shop', 'cart-vague', { app: 'cart' }, [
    { name: 'web', port: 80, targetPort: 8080 },
    { name: 'admin', port: 81, targetPort: 8081 },
  ]),
];
const inv = buildInventory(OBJECTS);

/** A flow as Istio metrics give it: claims and a Service, no address or port. */
function claimed(source: EndpointRef, destination: EndpointRef, protocol: L4Protocol = 'http', line = 1): Flow {
  return {
    source,
    destination,
    protocol,
    mtls: 'mutual',
    responseCode: 200,
    timestamp: T,
    count: 3,
    reporter: 'server',
    evidence: { decoder: 'istio-metrics', location: { file: 'metrics.prom', line } },
  };
}

const FRONTEND: EndpointRef = { workload: { namespace: 'shop', name: 'frontend' }, principal: 'spiffe://cluster.local/ns/shop/sa/frontend' };
const CART: EndpointRef = { workload: { namespace: 'shop', name: 'cart' }, principal: 'spiffe://cluster.local/ns/shop/sa/cart' };

function resolve(flow: Flow): { rf: ResolvedFlow; notes: Record<string, { count: number; details: string[] }> } {
  const tally = new Tally();
  const out = new Resolver(inv, tally).resolve(flow);
  assert.equal(out.length, 1);
  const notes: Record<string, { count: number; details: string[] }> = {};
  for (const [reason, e] of tally.entries()) {
    notes[reason] = { count: e.count, details: e.examples.map((x) => x.detail) };
    const loc = flow.evidence.location;
    for (const x of e.examples) assert.equal(x.location, `metrics.prom:${'line' in loc ? String(loc.line) : ''}`, 'each note has the flow location');
  }
  return { rf: out[0]!, notes };
}

describe('resolving what telemetry claims (workloads, principals, Service ports)', () => {
  describe('workload claims', () => {
    it("resolves a workload named by name and namespace, with no address, to that Deployment's identity", () => {
      const { rf, notes } = resolve(claimed(FRONTEND, { ...CART, service: 'cart.shop.svc.cluster.local' }));
      assert.equal(rf.source.key, 'shop/Deployment/frontend');
      assert.equal(rf.source.serviceAccount, 'frontend');
      assert.equal(rf.destination.key, 'shop/Deployment/cart');
      assert.equal(rf.destination.serviceAccount, 'cart');
      assert.equal(rf.port, 8080);
      assert.deepEqual(notes, {});
    });

    it('accepts a claimed kind that matches, and tells a Deployment from a StatefulSet of one name by it', () => {
      const dep = resolve(claimed({ workload: { namespace: 'shop', name: 'db', kind: 'Deployment' } }, CART));
      assert.equal(dep.rf.source.key, 'shop/Deployment/db');
      const sts = resolve(claimed({ workload: { namespace: 'shop', name: 'db', kind: 'StatefulSet' } }, CART));
      assert.equal(sts.rf.source.key, 'shop/StatefulSet/db');
      assert.deepEqual(sts.notes, {});
    });

    it('does not accept a claimed kind that does not match', () => {
      const { rf, notes } = resolve(claimed({ workload: { namespace: 'shop', name: 'frontend', kind: 'StatefulSet' } }, CART));
      assert.equal(rf.source.kind, 'unknown');
      assert.equal(rf.source.key, 'unknown:workload/shop/frontend');
      assert.deepEqual(Object.keys(notes), ['source-workload-not-in-inventory']);
      assert.equal(notes['source-workload-not-in-inventory']!.details[0], 'shop/StatefulSet/frontend');
    });

    it('notes a name that is a Deployment and a StatefulSet alike as ambiguous, and trusts neither', () => {
      const { rf, notes } = resolve(claimed(FRONTEND, { workload: { namespace: 'shop', name: 'db' } }));
      assert.equal(rf.destination.kind, 'unknown');
      assert.equal(rf.destination.key, 'unknown:workload/shop/db');
      assert.deepEqual(Object.keys(notes), ['destination-workload-ambiguous']);
      assert.equal(notes['destination-workload-ambiguous']!.details[0], 'shop/db: shop/Deployment/db, shop/StatefulSet/db');
      assert.equal(rf.source.key, 'shop/Deployment/frontend');
    });

    it('notes a name not in the inventory, and keys it unknown:workload/NS/NAME', () => {
      const { rf, notes } = resolve(claimed({ workload: { namespace: 'shop', name: 'ghost' } }, CART));
      assert.equal(rf.source.key, 'unknown:workload/shop/ghost');
      assert.equal(rf.source.kind, 'unknown');
      assert.deepEqual(notes, { 'source-workload-not-in-inventory': { count: 1, details: ['shop/ghost'] } });
      // The same name in another namespace is another workload.
      const other = resolve(claimed({ workload: { namespace: 'billing', name: 'frontend' } }, CART));
      assert.equal(other.rf.source.key, 'unknown:workload/billing/frontend');
      assert.deepEqual(Object.keys(other.notes), ['source-workload-not-in-inventory']);
    });

    it('lets the inventory win when an address resolves to another workload than the claim, and notes it', () => {
      // 10.1.0.5 is cart's pod; the telemetry says frontend.
      const { rf, notes } = resolve(claimed({ ...FRONTEND, ip: '10.1.0.5', principal: 'spiffe://cluster.local/ns/shop/sa/cart' }, CART));
      assert.equal(rf.source.key, 'shop/Deployment/cart');
      assert.deepEqual(Object.keys(notes), ['source-claim-disagrees']);
      assert.equal(notes['source-claim-disagrees']!.details[0], 'the telemetry names shop/frontend, the inventory shop/Deployment/cart');
    });

    it('notes a claimed kind that disagrees with the pod an address resolves to', () => {
      const { rf, notes } = resolve(claimed({ workload: { namespace: 'shop', name: 'cart', kind: 'StatefulSet' }, ip: '10.1.0.5' }, FRONTEND));
      assert.equal(rf.source.key, 'shop/Deployment/cart');
      assert.deepEqual(Object.keys(notes), ['source-claim-disagrees']);
    });

    it('is silent when the address and the claim agree', () => {
      const { rf, notes } = resolve(claimed({ ...CART, ip: '10.1.0.5' }, FRONTEND));
      assert.equal(rf.source.key, 'shop/Deployment/cart');
      assert.deepEqual(notes, {});
    });
  });

  describe('principal claims', () => {
    it('notes a principal whose service account the pod an address resolves to does not run as', () => {
      const { rf, notes } = resolve(claimed({ ip: '10.1.0.9', principal: 'spiffe://cluster.local/ns/shop/sa/cart' }, CART));
      assert.equal(rf.source.key, 'shop/Deployment/frontend');
      assert.equal(rf.source.serviceAccount, 'frontend');
      assert.deepEqual(Object.keys(notes), ['source-principal-disagrees']);
      assert.match(notes['source-principal-disagrees']!.details[0]!, /runs as shop\/frontend/);
    });

    it('notes a principal of another namespace than the pod, though the account name matches', () => {
      const { notes } = resolve(claimed({ ip: '10.1.0.9', principal: 'spiffe://cluster.local/ns/billing/sa/frontend' }, CART));
      assert.deepEqual(Object.keys(notes), ['source-principal-disagrees']);
    });

    it("notes a principal the claimed workload's pods do not run as (no address)", () => {
      const { rf, notes } = resolve(claimed({ workload: { namespace: 'shop', name: 'frontend' }, principal: 'spiffe://cluster.local/ns/shop/sa/admin' }, CART));
      assert.equal(rf.source.key, 'shop/Deployment/frontend', 'the workload still resolves');
      assert.deepEqual(Object.keys(notes), ['source-principal-disagrees']);
      assert.match(notes['source-principal-disagrees']!.details[0]!, /run as shop\/frontend/);
    });

    it('notes a malformed principal as unreadable, and nothing more', () => {
      for (const p of ['cart', 'spiffe://cluster.local/ns/shop', 'spiffe://cluster.local/ns/shop/sa/', 'spiffe:///ns/shop/sa/cart', 'spiffe://td/ns/shop/sa/cart/extra']) {
        const { rf, notes } = resolve(claimed({ ...FRONTEND, principal: p }, CART));
        assert.equal(rf.source.key, 'shop/Deployment/frontend', p);
        assert.deepEqual(notes, { 'source-principal-unreadable': { count: 1, details: [p] } }, p);
      }
    });

    it('accepts any trust domain', () => {
      const { notes } = resolve(claimed({ ...FRONTEND, principal: 'spiffe://prod.example.org/ns/shop/sa/frontend' }, CART));
      assert.deepEqual(notes, {});
    });
  });

  describe('the target port of a Service addressed without a port', () => {
    const to = (service: string, protocol: L4Protocol = 'http') => resolve(claimed(FRONTEND, { ...CART, service: `${service}.shop.svc.cluster.local` }, protocol));

    it("a Service with one TCP port → its numeric targetPort", () => {
      for (const p of ['http', 'grpc', 'tcp'] as const) {
        const { rf, notes } = to('cart', p);
        assert.equal(rf.port, 8080, p);
        assert.deepEqual(notes, {});
      }
    });

    it("a Service with one TCP port and a named targetPort → the pod's port of that name", () => {
      const { rf, notes } = to('cart-named');
      assert.equal(rf.port, 9090);
      assert.deepEqual(notes, {});
    });

    it('a UDP port beside the one TCP port does not count', () => {
      const { rf, notes } = to('cart-udp', 'tcp');
      assert.equal(rf.port, 8081);
      assert.deepEqual(notes, {});
    });

    it("two ports, one named for the flow's protocol → that one (http-…, tcp-…, grpc, mongo-…)", () => {
      assert.equal(to('cart-mixed', 'http').rf.port, 8080);
      assert.equal(to('cart-mixed', 'tcp').rf.port, 9001);
      assert.equal(to('cart-grpc', 'grpc').rf.port, 7071);
      assert.equal(to('cart-mongo', 'tcp').rf.port, 27017);
      for (const [s, p] of [['cart-mixed', 'http'], ['cart-mixed', 'tcp'], ['cart-grpc', 'grpc'], ['cart-mongo', 'tcp']] as const) assert.deepEqual(to(s, p).notes, {}, `${s} ${p}`);
    });

    it('two ports, none fitting → destination-port-ambiguous and port 0', () => {
      for (const [s, p] of [['cart-vague', 'http'], ['cart-vague', 'tcp'], ['cart-grpc', 'http'], ['cart-mongo', 'http'], ['cart-mixed', 'grpc']] as const) {
        const { rf, notes } = to(s, p);
        assert.equal(rf.port, 0, `${s} ${p}`);
        assert.equal(rf.destination.key, 'shop/Deployment/cart', 'the workload still resolves');
        assert.deepEqual(Object.keys(notes), ['destination-port-ambiguous'], `${s} ${p}`);
      }
      assert.equal(to('cart-vague').notes['destination-port-ambiguous']!.details[0], 'shop/cart-vague has ports web:80, admin:81 and the telemetry names none');
    });

    it('a port name only beginning like a protocol (`httpx`) does not declare it', () => {
      const { rf, notes } = to('cart-mongo', 'http');
      assert.equal(rf.port, 0);
      assert.deepEqual(Object.keys(notes), ['destination-port-ambiguous']);
    });
  });

  describe('a claim beside a Service', () => {
    // Regression (this test found it, since fixed): a destination claim the inventory cannot back falls through to the Service's
    // backends, so the flow lands on a workload the telemetry did not name, with only a
    // not-in-inventory note. Input: destination { workload: shop/cart-v2 (no such workload),
    // service: cart.shop.svc.cluster.local } → destination shop/Deployment/cart (port 0),
    // expected unknown:workload/shop/cart-v2 (the claim is "noted, never trusted", and no other
    // workload is trusted in its place) or at least a destination-claim-disagrees note.
    it('does not put an unbacked claim on the workload its Service fronts', () => {
      const { rf, notes } = resolve(claimed(FRONTEND, { workload: { namespace: 'shop', name: 'cart-v2' }, service: 'cart.shop.svc.cluster.local' }));
      assert.equal(rf.destination.key, 'unknown:workload/shop/cart-v2');
      assert.deepEqual(Object.keys(notes), ['destination-workload-not-in-inventory']);
    });

    // Regression (this test found it, since fixed): a destination named by its Service alone (metrics with destination_workload="unknown",
    // e.g. a client's report of a request that never reached a pod) resolves through the
    // Service's backends, but that path reads the port with targetPort(service, undefined) and
    // never _onlyPort: destination { service: cart.shop.svc.cluster.local } of a Service with one
    // port 80 → 8080 gives port 0, with no note (nothing says why the port is unknown).
    it("a Service's only port gives the target port when the Service alone names the destination", () => {
      const { rf, notes } = resolve(claimed(FRONTEND, { service: 'cart.shop.svc.cluster.local' }));
      assert.equal(rf.destination.key, 'shop/Deployment/cart');
      assert.equal(rf.port, 8080);
      assert.deepEqual(notes, {});
    });

    it('a destination named by its Service alone resolves to the workload the Service fronts', () => {
      const { rf, notes } = resolve(claimed(FRONTEND, { service: 'cart.shop.svc.cluster.local' }));
      assert.equal(rf.destination.key, 'shop/Deployment/cart');
      assert.deepEqual(notes, {});
    });
  });

  describe('which pod of a claimed workload gives the service account', () => {
    // A rollout that changed the service account: api-old ran as api-v1 until the 24th, api-new
    // runs as api-v2 from two minutes before (both alive 23:58 to midnight).
    const rollout = buildInventory([
      ...deployment('shop', 'api', '1a2b3c'),
      ...deployment('shop', 'web', '4d5e6f'),
      pod('shop', 'api-1a2b3c-old', { ip: '10.1.1.1', owner: ['ReplicaSet', 'api-1a2b3c'], sa: 'api-v1', start: '2026-11-20T00:00:00Z', end: '2026-11-24T00:00:00Z' }),
      pod('shop', 'api-1a2b3c-new', { ip: '10.1.1.2', owner: ['ReplicaSet', 'api-1a2b3c'], sa: 'api-v2', start: '2026-11-23T23:58:00Z' }),
      pod('shop', 'web-4d5e6f-a', { ip: '10.1.1.9', owner: ['ReplicaSet', 'web-4d5e6f'], sa: 'web' }),
    ]);
    const API = { namespace: 'shop', name: 'api' };
    function at(time: string | undefined, destination: EndpointRef) {
      const tally = new Tally();
      const flow = claimed({ workload: { namespace: 'shop', name: 'web' } }, destination);
      if (time === undefined) delete flow.timestamp;
      else flow.timestamp = Date.parse(time);
      const [rf] = new Resolver(rollout, tally).resolve(flow);
      return { rf: rf!, notes: tally.entries().map(([reason]) => reason) };
    }

    it('the pod alive at the flow\'s time', () => {
      assert.equal(at('2026-11-22T00:00:00Z', { workload: API }).rf.destination.serviceAccount, 'api-v1');
      assert.equal(at('2026-11-25T00:00:00Z', { workload: API }).rf.destination.serviceAccount, 'api-v2');
      for (const t of ['2026-11-22T00:00:00Z', '2026-11-25T00:00:00Z']) assert.equal(at(t, { workload: API }).rf.destination.key, 'shop/Deployment/api');
    });

    it('a running pod when the flow has no time', () => {
      assert.equal(at(undefined, { workload: API }).rf.destination.serviceAccount, 'api-v2');
    });

    it('the later-started pod where both were alive', () => {
      assert.equal(at('2026-11-23T23:59:00Z', { workload: API }).rf.destination.serviceAccount, 'api-v2');
    });

    it('the pod whose service account the principal names, among those alive', () => {
      for (const sa of ['api-v1', 'api-v2']) {
        const r = at('2026-11-23T23:59:00Z', { workload: API, principal: `spiffe://cluster.local/ns/shop/sa/${sa}` });
        assert.equal(r.rf.destination.serviceAccount, sa);
        assert.deepEqual(r.notes, []);
      }
    });

    // Regression (this test found it, since fixed): since metric and Hubble flows carry an endpoint key (endpointKeyOf, as the sources
    // now set it), one Resolver memoizes a claim's resolution; but _checkClaims picks the pod
    // alive at the flow's time without narrowing the memo's validity, so the first flow's pod
    // is reused at every later time. Input: this inventory, two flows with destination
    // { workload: shop/api } and endpointKey = endpointKeyOf(flow), at 2026-11-22 then
    // 2026-11-25, through one Resolver → both api-v1; a fresh Resolver gives api-v2 for the
    // second. The service account (so the principal a rule allows) depends on the order flows come in.
    it('a memoized claim still gives the pod alive at each flow\'s time', () => {
      const resolver = new Resolver(rollout, new Tally());
      const accounts = ['2026-11-22T00:00:00Z', '2026-11-25T00:00:00Z'].map((time) => {
        const flow = claimed({ workload: { namespace: 'shop', name: 'web' } }, { workload: API });
        flow.timestamp = Date.parse(time);
        flow.endpointKey = endpointKeyOf(flow);
        return resolver.resolve(flow)[0]!.destination.serviceAccount;
      });
      assert.deepEqual(accounts, ['api-v1', 'api-v2']);
    });

    it('notes a principal that no pod alive then ran as', () => {
      const r = at('2026-11-22T00:00:00Z', { workload: API, principal: 'spiffe://cluster.local/ns/shop/sa/api-v2' });
      assert.equal(r.rf.destination.key, 'shop/Deployment/api');
      assert.deepEqual(r.notes, ['destination-principal-disagrees']);
    });
  });

  describe('counting', () => {
    it('counts each flow: one Resolver notes the same unbacked claim once per flow, at its line', () => {
      const tally = new Tally();
      const r = new Resolver(inv, tally);
      for (const line of [4, 9, 12]) r.resolve(claimed({ workload: { namespace: 'shop', name: 'ghost' } }, CART, 'http', line));
      const entries = tally.entries();
      assert.equal(entries.length, 1);
      const [reason, e] = entries[0]!;
      assert.equal(reason, 'source-workload-not-in-inventory');
      assert.equal(e.count, 3);
      assert.deepEqual(e.examples.map((x) => x.location), ['metrics.prom:4', 'metrics.prom:9', 'metrics.prom:12']);
    });
  });
});
