// Conformance: the published samples in ../shared/reference (the Istio documentation's access-log
// lines, JSON records and variants users posted, a kubectl pod dump) are read as they were
// written. They moved here from the unit tests, assertions unchanged, so that `npm test` runs
// from a clone alone; the unit tests check the same code on lines of their own
// (test/support/sample-mesh.ts). The files are read where they are, never copied.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInventory } from '../../src/inventory/inventory.js';
import { parseObjects } from '../../src/inventory/load.js';
import { decodeEnvoyJson } from '../../src/sources/decoders/envoy-json.js';
import { scanEnvoyJson } from '../../src/sources/decoders/envoy-json-scan.js';
import { decodeEnvoyText } from '../../src/sources/decoders/envoy-text.js';
import { scanEnvoyText } from '../../src/sources/decoders/envoy-text-scan.js';
import { decodeText } from '../support/decode.js';
import { decodedFields, scanned } from '../support/scan.js';
import { REFERENCE, referenceNeed, suiteNeeding } from './needs.js';

const ref = (f: string) => readFileSync(join(REFERENCE, 'telemetry', f), 'utf8');
const lines = (f: string) => ref(f).split('\n').filter((l) => l.trim() !== '');

suiteNeeding(
  'conformance: published reference samples',
  [referenceNeed('telemetry', 'the reference-samples suite (Istio docs access logs)'), referenceNeed('k8s', 'the reference-samples suite (a kubectl pod dump)')],
  () => {
    describe('access-log entries to flows', () => {
      it('the client line is an outbound flow naming the server by upstream host and Service', () => {
        const { flows } = decodeText(ref('istio-access-log-text.log'));
        assert.equal(flows.length, 2);
        const [c, s] = flows;
        assert.equal(c!.reporter, 'client');
        assert.deepEqual(c!.source, { ip: '10.44.1.23' });
        assert.deepEqual(c!.destination, { ip: '10.44.1.27', port: 80, service: 'httpbin.foo.svc.cluster.local', servicePort: 8000 });
        assert.equal(c!.mtls, 'unknown');
        assert.equal(s!.reporter, 'server');
        assert.deepEqual(s!.source, { ip: '10.44.1.23', port: 37652 });
        assert.deepEqual(s!.destination, { ip: '10.44.1.27', port: 80 });
        assert.equal(s!.mtls, 'mutual', 'an outbound_ SNI on the inbound line is Istio mTLS');
        assert.deepEqual(s!.l7, { method: 'GET', path: '/status/418', host: 'httpbin:8000' });
      });

      it('an inbound line without SNI is plaintext', () => {
        const { flows } = decodeText(ref('istio-access-log-json.jsonl').split('\n')[5]!);
        assert.equal(flows[0]!.mtls, 'plaintext');
        assert.equal(flows[0]!.reporter, 'server');
      });

      it('passthrough TCP goes to the external address and SNI host', () => {
        const { flows } = decodeText(ref('istio-access-log-text-tcp.log'));
        const cnn = flows.find((f) => f.destination.host === 'edition.cnn.com');
        assert.ok(cnn);
        assert.equal(cnn.protocol, 'tcp');
        assert.equal(cnn.destination.port, 443);
      });

      it('a gateway line records the downstream listener for the ingress hop', () => {
        const { flows } = decodeText(ref('istio-access-log-rbac-denied.log').split('\n')[4]!);
        assert.deepEqual(flows[0]!.proxied, { listener: { ip: '10.10.0.6', port: 8080 }, client: { ip: '172.18.0.1', port: 53824 } });
      });
    });

    describe('envoy-json decoder', () => {
      const records = () => lines('istio-access-log-json.jsonl').map((l) => JSON.parse(l) as Record<string, unknown>);

      it('decodes every real JSON record, numeric (>= 1.14, null) and string-valued (older) alike', () => {
        for (const [i, r] of records().entries()) {
          const d = decodeEnvoyJson(r);
          assert.ok(d.kind === 'ok', `record ${i + 1}`);
          assert.equal(d.value.responseCode, Number(r['response_code']));
          assert.equal(d.value.upstreamCluster, r['upstream_cluster']);
        }
      });

      it('maps null and "-" to absent', () => {
        const d = decodeEnvoyJson(records()[1]!);
        assert.ok(d.kind === 'ok');
        assert.equal(d.value.requestedServerName, undefined);
        const old = decodeEnvoyJson(records()[5]!);
        assert.ok(old.kind === 'ok');
        assert.equal(old.value.requestedServerName, undefined);
        assert.equal(old.value.responseCode, 200);
      });
    });

    describe('envoy-text decoder', () => {
      it('decodes the Istio docs sample field by field (client and server line)', () => {
        const [client, server] = lines('istio-access-log-text.log');
        const c = decodeEnvoyText(client!);
        assert.equal(c.kind, 'ok');
        if (c.kind !== 'ok') return;
        assert.deepEqual(c.value, {
          startTime: '2020-11-25T21:26:18.409Z',
          method: 'GET',
          path: '/status/418',
          protocol: 'HTTP/1.1',
          responseCode: 418,
          responseFlags: undefined,
          responseCodeDetails: 'via_upstream',
          userAgent: 'curl/7.73.0-DEV',
          requestId: '84961386-6d84-929d-98bd-c5aee93b5c88',
          authority: 'httpbin:8000',
          upstreamHost: '10.44.1.27:80',
          upstreamCluster: 'outbound|8000||httpbin.foo.svc.cluster.local',
          upstreamLocalAddress: '10.44.1.23:37652',
          downstreamLocalAddress: '10.0.45.184:8000',
          downstreamRemoteAddress: '10.44.1.23:46520',
          requestedServerName: undefined,
          routeName: 'default',
          xForwardedFor: undefined,
        });
        const s = decodeEnvoyText(server!);
        assert.equal(s.kind, 'ok');
        if (s.kind !== 'ok') return;
        assert.equal(s.value.upstreamCluster, 'inbound|8000||');
        assert.equal(s.value.requestedServerName, 'outbound_.8000_._.httpbin.foo.svc.cluster.local');
        assert.equal(s.value.downstreamRemoteAddress, '10.44.1.23:37652');
      });

      for (const file of ['istio-access-log-text.log', 'istio-access-log-text-tcp.log', 'istio-access-log-rbac-denied.log', 'istio-access-log-text-variants.log']) {
        it(`decodes every real line of ${file}`, () => {
          for (const [i, l] of lines(file).entries()) {
            const d = decodeEnvoyText(l);
            assert.equal(d.kind, 'ok', `${file}:${i + 1} ${d.kind === 'reject' ? d.detail : ''}`);
            if (d.kind === 'ok') assert.ok(d.value.upstreamCluster !== undefined || d.value.downstreamLocalAddress !== undefined);
          }
        });
      }

      it('reads the pre-1.9 formats: mixer status field, no route name (Istio 1.3)', () => {
        const v = lines('istio-access-log-text-variants.log');
        const l2 = decodeEnvoyText(v[1]!);
        assert.ok(l2.kind === 'ok');
        assert.equal(l2.value.upstreamCluster, 'outbound|80||hello-world.default.svc.cluster.local');
        assert.equal(l2.value.downstreamRemoteAddress, '192.168.167.113:39953');
        const l4 = decodeEnvoyText(v[3]!);
        assert.ok(l4.kind === 'ok');
        assert.equal(l4.value.upstreamCluster, 'inbound|9080|http|productpage.default.svc.cluster.local');
        assert.equal(l4.value.requestedServerName, 'outbound_.9080_._.productpage.default.svc.cluster.local');
      });

      it('reads TCP lines as method-less entries', () => {
        const d = decodeEnvoyText(lines('istio-access-log-text-tcp.log')[0]!);
        assert.ok(d.kind === 'ok');
        assert.equal(d.value.method, undefined);
        assert.equal(d.value.responseCode, 0);
        assert.equal(d.value.upstreamHost, '10.244.0.70:9080');
      });
    });

    describe('byte scanners', () => {
      it('takes the published Istio samples in the current formats, and reads them as the decoders do', () => {
        for (const line of lines('istio-access-log-text.log')) {
          const slow = decodeEnvoyText(line);
          assert.ok(slow.kind === 'ok');
          assert.deepEqual(scanned(line, scanEnvoyText), decodedFields(slow.value));
        }
        for (const line of lines('istio-access-log-json.jsonl')) {
          const slow = decodeEnvoyJson(JSON.parse(line));
          assert.ok(slow.kind === 'ok');
          assert.deepEqual(scanned(line, scanEnvoyJson), decodedFields(slow.value));
        }
        // Refused and failed requests too: their flags and details are read as the decoder reads them.
        for (const line of lines('istio-access-log-rbac-denied.log')) {
          const slow = decodeEnvoyText(line);
          assert.ok(slow.kind === 'ok');
          const fast = scanned(line, scanEnvoyText);
          assert.deepEqual(fast, decodedFields(slow.value));
          assert.equal(fast?.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
        }
        // The 1.3–1.8 formats are left to the expression.
        const legacy = ref('istio-access-log-text-variants.log').split('\n')[1]!;
        assert.equal(decodeEnvoyText(legacy).kind, 'ok');
        assert.equal(scanned(legacy, scanEnvoyText), undefined);
      });
    });

    describe('inventory', () => {
      it('reads the real kubectl pod dump from the reference set', () => {
        const objects = parseObjects(readFileSync(join(REFERENCE, 'k8s', 'kubectl-get-pods-kuard.json'), 'utf8'), 'kuard.json');
        const inv = buildInventory(objects);
        assert.ok(inv.pods.length > 0);
        const p = inv.podsByIp.get('172.17.0.6')![0]!;
        // A bare ReplicaSet (no pod-template-hash label, so not a Deployment's) is its own workload.
        assert.equal(p.workload.key, 'default/ReplicaSet/queue');
        assert.ok(inv.nodeIps.has('192.168.49.2'));
      });
    });
  },
);
