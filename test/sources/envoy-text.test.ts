import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { decodeEnvoyText } from '../../src/sources/decoders/envoy-text.js';
import { REFERENCE } from '../support/paths.js';

const lines = (f: string) => readFileSync(join(REFERENCE, 'telemetry', f), 'utf8').split('\n').filter((l) => l.trim() !== '');

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

  it('rejects lines that are not the format, with a reason', () => {
    for (const bad of ['[2020-11-25T21:26:18.409Z] "GET / HTTP/1.1" 200', '[x] garbage', '\u0000\u0001[\uFFFD']) {
      const d = decodeEnvoyText(bad);
      assert.equal(d.kind, 'reject');
      if (d.kind === 'reject') assert.equal(d.reason, 'malformed-envoy-text');
    }
  });

  it('property: quotes in client-controlled headers cannot forge the identity fields at the end of the line', () => {
    const header = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n'));
    fc.assert(
      fc.property(header, header, (ua, xff) => {
        const line =
          `[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "${xff}" "${ua}" ` +
          `"84961386-6d84" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`;
        const d = decodeEnvoyText(line);
        if (xff.includes('"') && d.kind === 'reject') return; // ambiguous header split: rejected, never misread
        assert.ok(d.kind === 'ok');
        assert.equal(d.value.upstreamHost, '10.44.1.27:80');
        assert.equal(d.value.upstreamCluster, 'outbound|8000||httpbin.foo.svc.cluster.local');
        assert.equal(d.value.downstreamRemoteAddress, '10.44.1.23:46520');
        assert.equal(d.value.authority, 'httpbin:8000');
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
