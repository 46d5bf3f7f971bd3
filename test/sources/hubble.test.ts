import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Flow } from '../../src/flow/flow.js';
import type { Identity } from '../../src/flow/identity.js';
import { GraphBuilder } from '../../src/graph/build.js';
import { decodeHubbleRecord, HUBBLE_DECODER, isHubbleRecord } from '../../src/sources/decoders/hubble.js';
import type { Decoded } from '../../src/sources/decoders/result.js';
import { hubbleRecord, type HubbleEndpointSpec, type HubbleFlowSpec } from '../support/hubble.js';

// Records written by test/support/hubble.ts in the shapes of the published samples
// (../shared/reference/telemetry/hubble-flows*.jsonl), with this test's own values.

const at = { file: 'flows.json', line: 7 };

const client: HubbleEndpointSpec = {
  ip: '10.244.1.17',
  port: 51234,
  namespace: 'shop',
  pod: 'cart-7d9f8b6c5-x2x4q',
  labels: ['k8s:app=cart', 'k8s:io.cilium.k8s.policy.serviceaccount=cart', 'k8s:io.kubernetes.pod.namespace=shop'],
  workload: { name: 'cart', kind: 'Deployment' },
  identity: 41012,
};
const server: HubbleEndpointSpec = {
  ip: '10.244.2.9',
  port: 8080,
  namespace: 'shop',
  pod: 'orders-5c7b9d8f7-9kq2m',
  labels: ['k8s:app=orders', 'k8s:io.cilium.k8s.policy.serviceaccount=orders'],
  workload: { name: 'orders', kind: 'Deployment' },
  identity: 18230,
};

const decode = (spec: HubbleFlowSpec): Decoded<Flow> => decodeHubbleRecord(hubbleRecord(spec), at);

function okFlow(d: Decoded<Flow>): Flow {
  assert.equal(d.kind, 'ok', d.kind === 'ok' ? '' : `${d.kind}: ${d.reason}${d.kind === 'reject' ? ' ' + d.detail : ''}`);
  return (d as { value: Flow }).value;
}

function skipped(d: Decoded<Flow>, reason: string): void {
  assert.deepEqual(d.kind === 'skip' ? d : d.kind === 'reject' ? { kind: d.kind, reason: d.reason, detail: d.detail } : { kind: 'ok' }, { kind: 'skip', reason });
}

function rejected(d: Decoded<Flow>, reason: string, detail?: RegExp): string {
  assert.equal(d.kind, 'reject', d.kind === 'skip' ? `skipped: ${d.reason}` : 'decoded');
  const r = d as { reason: string; detail: string };
  assert.equal(r.reason, reason, r.detail);
  if (detail !== undefined) assert.match(r.detail, detail);
  return r.detail;
}

describe('hubble decoder', () => {
  describe('the shapes Hubble writes', () => {
    it('hubble observe {"flow":…} with full endpoints: pods, workloads, labels, ports, time in ms', () => {
      const f = okFlow(decode({ source: client, destination: server, direction: 'EGRESS', point: 'TO_ENDPOINT', traceReason: 'ESTABLISHED', isReply: false, flags: ['ACK', 'PSH'] }));
      assert.deepEqual(f.source, {
        ip: '10.244.1.17',
        port: 51234,
        pod: { namespace: 'shop', name: 'cart-7d9f8b6c5-x2x4q' },
        workload: { namespace: 'shop', name: 'cart', kind: 'Deployment' },
        labels: { app: 'cart', 'io.cilium.k8s.policy.serviceaccount': 'cart', 'io.kubernetes.pod.namespace': 'shop' },
      });
      assert.deepEqual(f.destination, {
        ip: '10.244.2.9',
        port: 8080,
        pod: { namespace: 'shop', name: 'orders-5c7b9d8f7-9kq2m' },
        workload: { namespace: 'shop', name: 'orders', kind: 'Deployment' },
        labels: { app: 'orders', 'io.cilium.k8s.policy.serviceaccount': 'orders' },
      });
      assert.equal(f.protocol, 'tcp');
      assert.equal(f.mtls, 'unknown');
      assert.equal(f.responseCode, 0);
      assert.equal(f.denial, undefined);
      assert.equal(f.timestamp, Date.UTC(2026, 10, 24, 10, 0, 1, 123));
      assert.equal(f.reporter, 'client');
      assert.equal(f.count, 0, 'an established connection adds nothing');
      assert.deepEqual(f.evidence, { decoder: HUBBLE_DECODER, location: at });
    });

    it('the exporter {"flow":…,"node_name","time"}: a policy drop of a SYN is one refused attempt', () => {
      const f = okFlow(
        decode({
          shape: 'exporter',
          verdict: 'DROPPED',
          dropReason: 'POLICY_DENIED',
          source: { ip: '10.244.1.60', port: 44916, namespace: 'galaxy', pod: 'xwing' },
          destination: { ip: '10.244.1.5', port: 80, namespace: 'galaxy', pod: 'deathstar-7848d6c4d5-th9v2' },
          flags: ['SYN'],
        }),
      );
      assert.deepEqual(f.denial, { kind: 'policy-drop' });
      assert.equal(f.count, 1);
      // No traffic_direction (a field-masked export): the destination pod's side.
      assert.equal(f.reporter, 'server');
      assert.deepEqual(f.destination.pod, { namespace: 'galaxy', name: 'deathstar-7848d6c4d5-th9v2' });
    });

    it('the exporter: a datapath drop with empty endpoints is skipped, not a denial', () => {
      const r = hubbleRecord({ shape: 'exporter', verdict: 'DROPPED', dropReason: 'INVALID_SOURCE_IP', l4: 'ICMPv6', source: { ip: 'fe80::1c2d:3eff:fe4f:5a6b' }, destination: { ip: 'ff02::2' } });
      skipped(decodeHubbleRecord(r, at), 'hubble-datapath-drop');
      skipped(decode({ verdict: 'DROPPED', dropReason: 'CT_MAP_INSERTION_FAILED', source: client, destination: server, flags: ['SYN'] }), 'hubble-datapath-drop');
      skipped(decode({ verdict: 'DROPPED', source: client, destination: server, flags: ['SYN'] }), 'hubble-datapath-drop');
    });

    it('legacy bare flow (Hubble < 0.8): reserved:host to a pod, the service account kept as its label', () => {
      const f = okFlow(
        decode({
          shape: 'legacy',
          source: { ip: '10.0.0.69', port: 40112, identity: 1, labels: ['reserved:host'] },
          destination: { ip: '10.0.0.120', port: 8181, namespace: 'kube-system', pod: 'coredns-6d4b75cb6d-7xk2p', identity: 2087, labels: ['k8s:io.cilium.k8s.policy.serviceaccount=coredns', 'k8s:k8s-app=kube-dns'] },
          direction: 'INGRESS',
          point: 'TO_ENDPOINT',
          flags: ['SYN'],
        }),
      );
      assert.deepEqual(f.source, { ip: '10.0.0.69', port: 40112, labels: { 'reserved:host': '' } });
      assert.equal(f.destination.labels?.['io.cilium.k8s.policy.serviceaccount'], 'coredns');
      assert.equal(f.reporter, 'server');
      assert.equal(f.count, 1);
    });

    it('jsonpb as Hubble prints it: is_reply false, numeric drop_reason of a policy denial', () => {
      const r = hubbleRecord({ verdict: 'DROPPED', source: { ip: '10.1.1.1', port: 31793, identity: 41012 }, destination: { ip: '10.2.2.2', port: 8080, identity: 12345 }, isReply: false });
      const flow = r['flow'] as Record<string, unknown>;
      flow['drop_reason'] = 133;
      flow['event_type'] = { type: 1, sub_type: 133 };
      flow['Summary'] = 'TCP Flags: SYN';
      const f = okFlow(decodeHubbleRecord(r, at));
      assert.deepEqual(f.denial, { kind: 'policy-drop' });
      assert.equal(f.count, 1, 'flags masked off: the Summary says SYN');
    });

    it('every POLICY_DENY* reason, named or numbered, is a policy drop; the denying policy is named when given', () => {
      for (const reason of ['POLICY_DENY', 'POLICY_DENIED', 'POLICY_DENY_BY_SOMETHING_NEW']) {
        assert.deepEqual(okFlow(decode({ verdict: 'DROPPED', dropReason: reason, source: client, destination: server, flags: ['SYN'] })).denial, { kind: 'policy-drop' }, reason);
      }
      const r = hubbleRecord({ verdict: 'DROPPED', source: client, destination: server, flags: ['SYN'] });
      const flow = r['flow'] as Record<string, unknown>;
      flow['drop_reason_desc'] = 181;
      flow['ingress_denied_by'] = [{ name: 'deny-cart', namespace: 'shop', kind: 'CiliumNetworkPolicy' }];
      assert.deepEqual(okFlow(decodeHubbleRecord(r, at)).denial, { kind: 'policy-drop', policy: 'shop/deny-cart' });
    });
  });

  describe('replies', () => {
    it('are skipped, never flipped: is_reply, legacy reply, trace_reason REPLY, SYN+ACK, an L7 response', () => {
      const reply = { source: server, destination: client, direction: 'EGRESS', point: 'TO_ENDPOINT' } as const;
      skipped(decode({ ...reply, isReply: true, traceReason: 'REPLY', flags: ['ACK', 'PSH'] }), 'hubble-reply');
      const legacy = hubbleRecord({ ...reply, shape: 'legacy', flags: ['ACK', 'FIN'] });
      legacy['reply'] = true;
      skipped(decodeHubbleRecord(legacy, at), 'hubble-reply');
      skipped(decode({ ...reply, traceReason: 'REPLY', flags: ['ACK'] }), 'hubble-reply');
      skipped(decode({ ...reply, verdict: 'DROPPED', dropReason: 'POLICY_DENIED', flags: ['SYN', 'ACK'] }), 'hubble-reply');
      skipped(decode({ ...reply, http: { type: 'RESPONSE', method: 'GET', url: 'http://orders/x', code: 200 } }), 'hubble-reply');
    });

    it('is_reply false wins over a stale legacy reply', () => {
      const r = hubbleRecord({ source: client, destination: server, flags: ['SYN'], isReply: false });
      (r['flow'] as Record<string, unknown>)['reply'] = true;
      assert.equal(okFlow(decodeHubbleRecord(r, at)).count, 1);
    });
  });

  describe('direction and count', () => {
    it('EGRESS is the client side, INGRESS the server side; unknown goes to a pod destination', () => {
      assert.equal(okFlow(decode({ source: client, destination: server, direction: 'EGRESS', flags: ['SYN'] })).reporter, 'client');
      assert.equal(okFlow(decode({ source: client, destination: server, direction: 'INGRESS', flags: ['SYN'] })).reporter, 'server');
      const numeric = hubbleRecord({ source: client, destination: server, flags: ['SYN'] });
      (numeric['flow'] as Record<string, unknown>)['traffic_direction'] = 2;
      assert.equal(okFlow(decodeHubbleRecord(numeric, at)).reporter, 'client');
      assert.equal(okFlow(decode({ source: client, destination: { ip: '203.0.113.7', port: 443 }, flags: ['SYN'] })).reporter, 'client');
    });

    it('counts 1 for the flow that opens a connection, 0 for the rest of it', () => {
      const base = { source: client, destination: server, direction: 'INGRESS', point: 'TO_ENDPOINT' } as const;
      assert.equal(okFlow(decode({ ...base, flags: ['SYN'] })).count, 1);
      assert.equal(okFlow(decode({ ...base, flags: ['ACK'] })).count, 0);
      assert.equal(okFlow(decode({ ...base, flags: ['ACK', 'FIN'] })).count, 0);
      assert.equal(okFlow(decode({ ...base, traceReason: 'NEW' })).count, 1, 'flags masked off, trace_reason NEW');
      assert.equal(okFlow(decode({ ...base, traceReason: 'ESTABLISHED' })).count, 0);
      assert.equal(okFlow(decode({ ...base })).count, 0, 'nothing says it opened');
    });

    it('the same SYN traced again at FROM_* points, the proxy or the host device counts 0', () => {
      for (const point of ['FROM_ENDPOINT', 'FROM_NETWORK', 'FROM_OVERLAY', 'TO_PROXY', 'TO_NETWORK']) {
        assert.equal(okFlow(decode({ source: client, destination: server, direction: 'EGRESS', point, flags: ['SYN'] })).count, 0, point);
      }
      for (const point of ['TO_ENDPOINT', 'TO_STACK', 'TO_OVERLAY']) {
        assert.equal(okFlow(decode({ source: client, destination: server, direction: 'EGRESS', point, flags: ['SYN'] })).count, 1, point);
      }
    });

    it('a count of 0 still makes the edge, with its times and no connections (graph/build.ts)', () => {
      const cart: Identity = { kind: 'workload', key: 'shop/Deployment/cart', name: 'cart', namespace: 'shop' };
      const orders: Identity = { kind: 'workload', key: 'shop/Deployment/orders', name: 'orders', namespace: 'shop' };
      const b = new GraphBuilder();
      for (const [flags, time] of [[['ACK', 'PSH'], '2026-11-24T10:00:01Z'], [['ACK', 'FIN'], '2026-11-24T10:05:00Z']] as const) {
        const f = okFlow(decode({ time, source: client, destination: server, direction: 'INGRESS', point: 'TO_ENDPOINT', flags: [...flags] }));
        b.add({ flow: f, source: cart, destination: orders, port: 8080, reporter: f.reporter, mtls: f.mtls });
      }
      const g = b.toGraph();
      assert.equal(g.size, 1);
      const e = g.getEdgeAttributes(g.edges()[0]!);
      assert.deepEqual([e.client.requests, e.server.requests], [0, 0]);
      assert.deepEqual([e.firstSeen, e.lastSeen], [Date.UTC(2026, 10, 24, 10, 0, 1), Date.UTC(2026, 10, 24, 10, 5, 0)]);
      assert.deepEqual(e.decoders, [HUBBLE_DECODER]);
    });

    it('a policy verdict event stands for its connection', () => {
      const r = hubbleRecord({ source: client, destination: server, direction: 'INGRESS' });
      (r['flow'] as Record<string, unknown>)['event_type'] = { type: 5 };
      assert.equal(okFlow(decodeHubbleRecord(r, at)).count, 1);
    });

    it('AUDIT and REDIRECTED are allowed traffic', () => {
      for (const verdict of ['AUDIT', 'REDIRECTED', 4, 5]) {
        const r = hubbleRecord({ source: client, destination: server, flags: ['SYN'] });
        (r['flow'] as Record<string, unknown>)['verdict'] = verdict;
        const f = okFlow(decodeHubbleRecord(r, at));
        assert.equal(f.denial, undefined, String(verdict));
        assert.equal(f.count, 1);
      }
    });
  });

  describe('L7 and names', () => {
    it('an HTTP request: method, path without scheme and host (query left for templating), host, count 1', () => {
      const f = okFlow(decode({ source: client, destination: server, direction: 'INGRESS', http: { method: 'GET', url: 'http://orders.shop:8080/orders/123?token=abc' } }));
      assert.equal(f.protocol, 'http');
      assert.deepEqual(f.l7, { method: 'GET', path: '/orders/123?token=abc', host: 'orders.shop' });
      assert.equal(f.count, 1);
      assert.equal(f.reporter, 'server');
      assert.equal(f.destination.port, 8080);
    });

    it('gRPC over HTTP/2 as access logs tell it; an origin-form URL has no host', () => {
      const g = okFlow(decode({ source: client, destination: server, http: { method: 'POST', url: 'http://orders:8080/shop.Orders/Get', protocol: 'HTTP/2' } }));
      assert.equal(g.protocol, 'grpc');
      const o = okFlow(decode({ source: client, destination: server, http: { method: 'GET', url: '/health' } }));
      assert.deepEqual(o.l7, { method: 'GET', path: '/health' });
      const u = okFlow(decode({ source: client, destination: server, http: { method: 'GET', url: 'https://user:HUBBLE_REDACTED@api.example.com' } }));
      assert.deepEqual(u.l7, { method: 'GET', path: '/', host: 'api.example.com' });
    });

    it('an HTTP request the L7 policy dropped is a policy denial of that operation', () => {
      const f = okFlow(decode({ verdict: 'DROPPED', source: client, destination: server, direction: 'INGRESS', http: { method: 'DELETE', url: 'http://orders/orders/9' } }));
      assert.deepEqual(f.denial, { kind: 'policy-drop' });
      assert.deepEqual(f.l7, { method: 'DELETE', path: '/orders/9', host: 'orders' });
    });

    it('reserved:world with destination_names names the external host; a pod never takes a name', () => {
      const world = { ip: '198.51.100.20', port: 443, identity: 2, labels: ['reserved:world'] };
      const f = okFlow(decode({ source: client, destination: world, direction: 'EGRESS', flags: ['SYN'], destinationNames: ['api.payments.example.', 'alias.example'] }));
      assert.deepEqual(f.destination, { ip: '198.51.100.20', port: 443, host: 'api.payments.example', labels: { 'reserved:world': '' } });
      const byNumber = okFlow(decode({ source: client, destination: { ip: '198.51.100.20', port: 443, identity: 2 }, flags: ['SYN'], destinationNames: ['api.payments.example'] }));
      assert.equal(byNumber.destination.host, 'api.payments.example');
      const pod = okFlow(decode({ source: client, destination: server, flags: ['SYN'], destinationNames: ['orders.example'] }));
      assert.equal(pod.destination.host, undefined);
    });

    it('reserved:remote-node stays an address; a Service frontend stands for its backends', () => {
      const node = okFlow(decode({ source: { ip: '172.18.0.3', port: 53001, labels: ['reserved:remote-node'] }, destination: server, flags: ['SYN'] }));
      assert.deepEqual(node.source, { ip: '172.18.0.3', port: 53001, labels: { 'reserved:remote-node': '' } });
      const svc = okFlow(decode({ source: client, destination: { ip: '10.96.14.2', port: 80 }, destinationService: { name: 'orders', namespace: 'shop' }, flags: ['SYN'] }));
      assert.deepEqual(svc.destination, { service: 'orders.shop.svc.cluster.local', servicePort: 80 });
      const bad = okFlow(decode({ source: client, destination: { ip: '10.96.14.2', port: 80 }, destinationService: { name: 'a.b', namespace: 'shop' }, flags: ['SYN'] }));
      assert.deepEqual(bad.destination, { ip: '10.96.14.2', port: 80 }, 'a name that is no DNS label is not a Service');
    });

    it('a field shaped like a decoder answer is data, not the answer', () => {
      const answer = { kind: 'reject', reason: 'chosen-by-the-record', detail: { not: 'a string' } };
      for (const path of [['l4'], ['l7'], ['IP'], ['source'], ['l4', 'TCP'], ['l4', 'TCP', 'flags']]) {
        const r = hubbleRecord({ source: client, destination: server, flags: ['SYN'] });
        let o = r['flow'] as Record<string, unknown>;
        for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
        o[path[path.length - 1]!] = answer;
        const d = decodeHubbleRecord(r, at);
        assert.notEqual(d.kind === 'ok' ? undefined : d.reason, 'chosen-by-the-record', path.join('.'));
        if (d.kind === 'reject') assert.equal(typeof d.detail, 'string');
      }
    });

    it('hostile strings are data: control characters and __proto__ in labels', () => {
      const f = okFlow(decode({ source: { ...client, labels: ['k8s:app=\u001b[31mred\r', 'k8s:__proto__=x', 'k8s:app=second'] }, destination: server, flags: ['SYN'] }));
      assert.equal(f.source.labels?.['app'], '\u001b[31mred\r');
      assert.equal(Object.getPrototypeOf(f.source.labels), Object.prototype);
      assert.ok(Object.hasOwn(f.source.labels!, '__proto__'));
    });
  });

  describe('every skip reason', () => {
    const cases: [string, HubbleFlowSpec | Record<string, unknown>][] = [
      ['hubble-error', { verdict: 'ERROR', source: client, destination: server, flags: ['SYN'] }],
      ['hubble-translated', { verdict: 'TRANSLATED', source: client, destination: server }],
      ['hubble-no-verdict', { verdict: 'TRACED', source: client, destination: server, flags: ['SYN'] }],
      ['hubble-no-verdict', { verdict: 'VERDICT_UNKNOWN', source: client, destination: server, flags: ['SYN'] }],
      ['hubble-dns', { l4: 'UDP', source: client, destination: { ...server, port: 53 } }],
      ['hubble-dns', { source: client, destination: { ...server, port: 53 }, flags: ['SYN'] }],
      ['hubble-udp', { l4: 'UDP', source: client, destination: { ...server, port: 5353 } }],
      ['hubble-icmp', { l4: 'ICMPv4', source: client, destination: server }],
      ['hubble-sctp', { l4: 'SCTP', source: client, destination: server }],
      ['hubble-health', { source: { ip: '10.244.0.4', port: 40000, identity: 4 }, destination: server, flags: ['SYN'] }],
      ['hubble-health', { source: client, destination: { ip: '10.244.0.4', port: 4240, labels: ['reserved:health'] }, flags: ['SYN'] }],
    ];
    for (const [reason, spec] of cases) {
      it(`${reason}: ${JSON.stringify(spec).slice(0, 70)}`, () => skipped(decode(spec as HubbleFlowSpec), reason));
    }

    it('L7 records other than HTTP requests', () => {
      const dns = hubbleRecord({ source: client, destination: server, flags: ['SYN'] });
      (dns['flow'] as Record<string, unknown>)['l7'] = { type: 'REQUEST', dns: { query: 'orders.shop.svc.cluster.local.' } };
      skipped(decodeHubbleRecord(dns, at), 'hubble-dns');
      const kafka = hubbleRecord({ source: client, destination: server, flags: ['SYN'] });
      (kafka['flow'] as Record<string, unknown>)['l7'] = { type: 'REQUEST', latency_ns: '10', kafka: { api_key: 'produce', topic: 'orders' } };
      skipped(decodeHubbleRecord(kafka, at), 'hubble-l7-kafka');
      skipped(decode({ source: client, destination: server, http: { type: 'RESPONSE', method: 'GET', url: '/' } }), 'hubble-reply');
      const sample = hubbleRecord({ source: client, destination: server, http: { method: 'GET', url: '/' } });
      ((sample['flow'] as Record<string, unknown>)['l7'] as Record<string, unknown>)['type'] = 'SAMPLE';
      skipped(decodeHubbleRecord(sample, at), 'hubble-l7-other');
    });

    it('no l4, lost events, node status', () => {
      const r = hubbleRecord({ source: client, destination: server });
      delete (r['flow'] as Record<string, unknown>)['l4'];
      skipped(decodeHubbleRecord(r, at), 'hubble-no-ports');
      skipped(decodeHubbleRecord({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '12' } }, at), 'hubble-lost-events');
      skipped(decodeHubbleRecord({ node_status: { state_change: 'NODE_CONNECTED' }, node_name: 'n1', time: '2026-11-24T10:00:00Z' }, at), 'hubble-not-a-flow');
    });
  });

  describe('every reject reason', () => {
    it('malformed-hubble-json: not an object, neither shape', () => {
      for (const v of [null, 3, 'flow', [{ flow: {} }]]) rejected(decodeHubbleRecord(v, at), 'malformed-hubble-json');
      rejected(decodeHubbleRecord({ kind: 'something else' }, at), 'malformed-hubble-json');
    });

    it('bad-field-type names the field', () => {
      rejected(decodeHubbleRecord({ flow: 'x' }, at), 'bad-field-type', /^flow is a string/);
      const set = (path: string[], value: unknown): Decoded<Flow> => {
        const r = hubbleRecord({ source: client, destination: server, flags: ['SYN'], direction: 'EGRESS' });
        let o = r['flow'] as Record<string, unknown>;
        for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
        o[path[path.length - 1]!] = value;
        return decodeHubbleRecord(r, at);
      };
      rejected(set(['source', 'labels'], 'k8s:app=cart'), 'bad-field-type', /source\.labels/);
      rejected(set(['source', 'labels'], [1]), 'bad-field-type', /source\.labels\[\]/);
      rejected(set(['destination', 'workloads'], [7]), 'bad-field-type', /destination\.workloads\[0\]/);
      rejected(set(['l4', 'TCP', 'destination_port'], '8080'), 'bad-field-type', /destination_port/);
      rejected(set(['is_reply'], 'false'), 'bad-field-type', /is_reply/);
      rejected(set(['verdict'], { name: 'FORWARDED' }), 'bad-field-type', /verdict/);
      rejected(set(['traffic_direction'], true), 'bad-field-type', /traffic_direction/);
      rejected(set(['IP'], []), 'bad-field-type', /^IP is an array/);
    });

    it('bad-field-value: an address that is none, a port out of range, a URL that is none (its query never quoted)', () => {
      rejected(decode({ source: { ...client, ip: '10.0.0.1\nX' }, destination: server }), 'bad-field-value', /IP\.source "10\.0\.0\.1\\nX" is no IP address/);
      rejected(decode({ source: client, destination: { ...server, port: 70000 } }), 'bad-field-value', /destination_port/);
      const detail = rejected(decode({ source: client, destination: server, http: { method: 'GET', url: 'orders/x?password=hunter2' } }), 'bad-field-value', /l7\.http\.url/);
      assert.doesNotMatch(detail, /hunter2|password/);
    });

    it('missing-field: no destination port, no source, no destination, a request without a method', () => {
      rejected(decode({ source: client, destination: { ...server, port: undefined } }), 'missing-field', /destination_port/);
      rejected(decode({ source: { port: 4000 }, destination: server }), 'missing-field', /source/);
      rejected(decode({ source: client, destination: { port: 80 } }), 'missing-field', /destination/);
      const r = hubbleRecord({ source: client, destination: server, http: { method: 'GET', url: '/' } });
      delete (((r['flow'] as Record<string, unknown>)['l7'] as Record<string, unknown>)['http'] as Record<string, unknown>)['method'];
      rejected(decodeHubbleRecord(r, at), 'missing-field', /method/);
    });

    it('invalid-start-time: not RFC 3339, no such day, outside 2000 to 2099, not a string', () => {
      for (const time of ['1970-01-01T00:20:34.567800Z', '2026-04-31T10:00:00Z', 'Tue, 24 Nov 2026 10:00:00 GMT', '2026-11-24T25:00:00Z', '2100-01-01T00:00:00Z']) {
        rejected(decode({ time, source: client, destination: server, flags: ['SYN'] }), 'invalid-start-time');
      }
      const r = hubbleRecord({ source: client, destination: server });
      (r['flow'] as Record<string, unknown>)['time'] = { seconds: 1, nanos: 2 };
      rejected(decodeHubbleRecord(r, at), 'invalid-start-time', /an object/);
      const offset = okFlow(decode({ time: '2026-11-24T12:00:01.5+02:00', source: client, destination: server }));
      assert.equal(offset.timestamp, Date.UTC(2026, 10, 24, 10, 0, 1, 500));
      const outer = hubbleRecord({ shape: 'exporter', source: client, destination: server });
      delete (outer['flow'] as Record<string, unknown>)['time'];
      assert.equal(okFlow(decodeHubbleRecord(outer, at)).timestamp, Date.UTC(2026, 10, 24, 10, 0, 1, 123), 'the envelope time stands in');
    });
  });

  it('isHubbleRecord sniffs the wrapped and the bare shapes, and nothing else', () => {
    assert.equal(isHubbleRecord(hubbleRecord({ source: client, destination: server })), true);
    assert.equal(isHubbleRecord(hubbleRecord({ shape: 'exporter', source: client, destination: server })), true);
    assert.equal(isHubbleRecord(hubbleRecord({ shape: 'legacy', source: client, destination: server })), true);
    assert.equal(isHubbleRecord({ flow: { source: {} } }), true);
    for (const v of [null, [], 'x', { flow: 'x' }, { flow: {} }, { verdict: 'FORWARDED' }, { upstream_cluster: 'outbound|80||a', response_code: 200 }, { lost_events: {} }]) {
      assert.equal(isHubbleRecord(v), false, JSON.stringify(v));
    }
  });

  describe('properties', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/);
    const endpointArb = (port: fc.Arbitrary<number>): fc.Arbitrary<HubbleEndpointSpec> =>
      fc.record(
        {
          ip: fc.oneof(fc.ipV4(), fc.ipV6()),
          port,
          pod: fc.option(fc.tuple(name, name), { nil: undefined }),
          labels: fc.option(fc.array(fc.tuple(name, name).map(([k, v]) => `k8s:${k}=${v}`), { maxLength: 4 }), { nil: undefined }),
        },
        { requiredKeys: ['ip', 'port'] },
      ).map(({ ip, port: p, pod, labels }) => ({ ip, port: p, ...(pod === undefined ? {} : { namespace: pod[0], pod: pod[1] }), ...(labels === undefined ? {} : { labels }) }));
    const servicePort = fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 53);
    const flagsArb = fc.constantFrom(['SYN'], ['ACK'], ['ACK', 'PSH'], ['ACK', 'FIN'], ['RST']).map((f): string[] => [...f]);
    const wellFormed = fc.record({
      shape: fc.constantFrom('observe' as const, 'exporter' as const, 'legacy' as const),
      source: endpointArb(fc.integer({ min: 1024, max: 65535 })),
      destination: endpointArb(servicePort),
      flags: flagsArb,
      direction: fc.constantFrom('INGRESS' as const, 'EGRESS' as const),
      dropped: fc.boolean(),
      http: fc.option(fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), path: fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => '/' + p.join('/')), host: fc.option(name, { nil: undefined }) }), { nil: undefined }),
    });

    type Generated = typeof wellFormed extends fc.Arbitrary<infer T> ? T : never;
    /** The spec a generated record is written from: an HTTP request's URL has a query when it names a host. */
    const specOf = ({ http, dropped, ...rest }: Generated): HubbleFlowSpec => ({
      ...rest,
      ...(dropped ? { verdict: 'DROPPED', dropReason: 'POLICY_DENIED' } : {}),
      ...(http === undefined ? {} : { http: { method: http.method, url: http.host === undefined ? http.path : `http://${http.host}:8080${http.path}?q=1` } }),
    });

    it('(1) arbitrary JSON never makes the decoder throw, nor does any field of a real record set to anything', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => {
          const d = decodeHubbleRecord(v, at);
          assert.ok(d.kind === 'ok' || d.kind === 'skip' || d.kind === 'reject');
        }),
        { seed: 13, numRuns: 1000 },
      );
      const paths = [
        ['flow'], ['flow', 'time'], ['flow', 'verdict'], ['flow', 'IP'], ['flow', 'IP', 'source'], ['flow', 'l4'], ['flow', 'l4', 'TCP'],
        ['flow', 'l4', 'TCP', 'flags'], ['flow', 'l4', 'TCP', 'source_port'], ['flow', 'source'], ['flow', 'source', 'labels'],
        ['flow', 'destination', 'workloads'], ['flow', 'destination_names'], ['flow', 'destination_service'], ['flow', 'l7'],
        ['flow', 'is_reply'], ['flow', 'traffic_direction'], ['flow', 'trace_observation_point'], ['flow', 'drop_reason_desc'],
        ['flow', 'event_type'], ['flow', 'Summary'], ['flow', 'ingress_denied_by'], ['time'],
      ];
      fc.assert(
        fc.property(wellFormed, fc.array(fc.tuple(fc.constantFrom(...paths), fc.jsonValue()), { minLength: 1, maxLength: 3 }), (g, edits) => {
          const r = hubbleRecord({ ...specOf(g), shape: 'exporter' });
          for (const [path, value] of edits) {
            let o: unknown = r;
            for (const k of path.slice(0, -1)) o = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
            if (typeof o === 'object' && o !== null) (o as Record<string, unknown>)[path[path.length - 1]!] = value;
          }
          const d = decodeHubbleRecord(r, at);
          assert.ok(d.kind === 'ok' || d.kind === 'skip' || d.kind === 'reject');
        }),
        { seed: 14, numRuns: 1000 },
      );
    });

    it('(2) a well-formed record decodes to the endpoints, ports, protocol, denial, reporter and count it was written with', () => {
      fc.assert(
        fc.property(wellFormed, (g) => {
          const http = g.http;
          const f = okFlow(decode({ ...specOf(g), point: 'TO_ENDPOINT', isReply: false }));
          assert.equal(f.source.ip, g.source.ip);
          assert.equal(f.source.port, g.source.port);
          assert.equal(f.destination.ip, g.destination.ip);
          assert.equal(f.destination.port, g.destination.port);
          assert.deepEqual(f.source.pod, g.source.pod === undefined ? undefined : { namespace: g.source.namespace, name: g.source.pod });
          assert.deepEqual(f.destination.pod, g.destination.pod === undefined ? undefined : { namespace: g.destination.namespace, name: g.destination.pod });
          assert.equal(f.protocol, http === undefined ? 'tcp' : 'http');
          const l7 = http === undefined ? undefined : http.host === undefined ? { method: http.method, path: http.path } : { method: http.method, path: http.path + '?q=1', host: http.host };
          assert.deepEqual(f.l7, l7);
          assert.deepEqual(f.denial, g.dropped ? { kind: 'policy-drop' } : undefined);
          assert.equal(f.reporter, g.direction === 'EGRESS' ? 'client' : 'server');
          assert.equal(f.count, http !== undefined || (g.flags.length === 1 && g.flags[0] === 'SYN') ? 1 : 0);
          assert.equal(f.mtls, 'unknown');
        }),
        { seed: 15, numRuns: 500 },
      );
    });

    it('(3) replies are always skipped, whatever else they say', () => {
      const replyArb = fc.record({
        g: wellFormed,
        how: fc.constantFrom('is_reply', 'legacy', 'trace_reason', 'syn-ack', 'l7'),
        verdict: fc.constantFrom('FORWARDED', 'DROPPED', 'AUDIT', 'ERROR'),
      });
      fc.assert(
        fc.property(replyArb, ({ g, how, verdict }) => {
          const spec: HubbleFlowSpec = { ...specOf(g), verdict, dropReason: 'POLICY_DENIED' };
          if (how === 'is_reply') spec.isReply = true;
          if (how === 'trace_reason') spec.traceReason = 'REPLY';
          if (how === 'syn-ack') spec.flags = ['SYN', 'ACK'];
          if (how === 'l7') spec.http = { type: 'RESPONSE', method: 'GET', url: 'http://orders/x', code: 503 };
          const r = hubbleRecord(spec);
          if (how === 'legacy') ((g.shape === 'legacy' ? r : r['flow']) as Record<string, unknown>)['reply'] = true;
          skipped(decodeHubbleRecord(r, at), 'hubble-reply');
        }),
        { seed: 16, numRuns: 500 },
      );
    });
  });
});
