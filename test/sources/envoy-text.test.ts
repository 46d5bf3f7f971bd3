import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEnvoyText } from '../../src/sources/decoders/envoy-text.js';
import { CLIENT_LINE, GATEWAY_LINE, LEGACY_1_3_LINE, LEGACY_1_6_LINE, PASSTHROUGH_TCP_LINE, RBAC_DENIED_LINE, SERVER_LINE, TCP_LINE } from '../support/sample-mesh.js';

// Lines of the project's own sample mesh (test/support/sample-mesh.ts) and lines written here;
// the published samples are checked by test/conformance/reference-samples.test.ts.

describe('envoy-text decoder', () => {
  it('decodes a client and a server line field by field', () => {
    const c = decodeEnvoyText(CLIENT_LINE);
    assert.equal(c.kind, 'ok');
    if (c.kind !== 'ok') return;
    assert.deepEqual(c.value, {
      startTime: '2026-03-14T09:15:02.118Z',
      method: 'GET',
      path: '/cart/items',
      protocol: 'HTTP/1.1',
      responseCode: 200,
      responseFlags: undefined,
      responseCodeDetails: 'via_upstream',
      userAgent: 'okhttp/4.12.0',
      requestId: '5f0c2a7e-3b1d-4e8a-9c61-0d2f7b8a4e13',
      authority: 'cart:9080',
      upstreamHost: '10.61.3.25:8080',
      upstreamCluster: 'outbound|9080||cart.shop.svc.cluster.local',
      upstreamLocalAddress: '10.61.2.14:51234',
      downstreamLocalAddress: '10.96.61.9:9080',
      downstreamRemoteAddress: '10.61.2.14:46810',
      requestedServerName: undefined,
      routeName: 'default',
      xForwardedFor: undefined,
    });
    const s = decodeEnvoyText(SERVER_LINE);
    assert.equal(s.kind, 'ok');
    if (s.kind !== 'ok') return;
    assert.equal(s.value.upstreamCluster, 'inbound|8080||');
    assert.equal(s.value.requestedServerName, 'outbound_.9080_._.cart.shop.svc.cluster.local');
    assert.equal(s.value.downstreamRemoteAddress, '10.61.2.14:51234');
  });

  it('decodes lines of every kind: HTTP, TCP, passthrough, refused, gateway, pre-1.9', () => {
    const all = [CLIENT_LINE, SERVER_LINE, TCP_LINE, PASSTHROUGH_TCP_LINE, RBAC_DENIED_LINE, GATEWAY_LINE, LEGACY_1_3_LINE, LEGACY_1_6_LINE];
    for (const [i, l] of all.entries()) {
      const d = decodeEnvoyText(l);
      assert.equal(d.kind, 'ok', `line ${i + 1} ${d.kind === 'reject' ? d.detail : ''}`);
      if (d.kind === 'ok') assert.ok(d.value.upstreamCluster !== undefined || d.value.downstreamLocalAddress !== undefined);
    }
  });

  it('reads the pre-1.9 formats: mixer status field, no route name (Istio 1.3)', () => {
    const l13 = decodeEnvoyText(LEGACY_1_3_LINE);
    assert.ok(l13.kind === 'ok');
    assert.equal(l13.value.upstreamCluster, 'outbound|9080||cart.shop.svc.cluster.local');
    assert.equal(l13.value.upstreamLocalAddress, undefined);
    assert.equal(l13.value.downstreamRemoteAddress, '10.61.2.14:40022');
    assert.equal(l13.value.routeName, undefined);
    const l16 = decodeEnvoyText(LEGACY_1_6_LINE);
    assert.ok(l16.kind === 'ok');
    assert.equal(l16.value.upstreamCluster, 'inbound|9080|http|cart.shop.svc.cluster.local');
    assert.equal(l16.value.requestedServerName, 'outbound_.9080_._.cart.shop.svc.cluster.local');
    assert.equal(l16.value.routeName, 'default');
  });

  it('reads TCP lines as method-less entries', () => {
    const d = decodeEnvoyText(TCP_LINE);
    assert.ok(d.kind === 'ok');
    assert.equal(d.value.method, undefined);
    assert.equal(d.value.responseCode, 0);
    assert.equal(d.value.upstreamHost, '10.61.3.25:8080');
  });

  // Synthetic lines in the shapes met in published real-world logs (docs/real-clusters.md).
  const MODERN_LINE =
    '[2024-04-22T04:26:10.731Z] "GET /a HTTP/1.1" 200 - via_upstream - "-" 0 5 1 1 "10.0.0.9" "curl/8" "id-1" "svc:80" "10.1.0.2:8080" ' +
    'outbound|80||svc.ns.svc.cluster.local 10.1.0.1:40000 10.96.0.10:80 10.1.0.1:40002 - default';

  it('reads ROUTE_NAME and X-Forwarded-For', () => {
    const d = decodeEnvoyText(MODERN_LINE);
    assert.ok(d.kind === 'ok');
    assert.equal(d.value.routeName, 'default');
    assert.equal(d.value.xForwardedFor, '10.0.0.9');
  });

  it('reads IPv6 addresses, fields after ROUTE_NAME, and a line cut after SNI', () => {
    const v6 = MODERN_LINE.replace('10.1.0.2:8080', '[fd00::2]:8080').replace('10.1.0.1:40002', '[fd00::1]:40002');
    const a = decodeEnvoyText(v6);
    assert.ok(a.kind === 'ok');
    assert.equal(a.value.upstreamHost, '[fd00::2]:8080');
    assert.equal(a.value.downstreamRemoteAddress, '[fd00::1]:40002');
    const extra = decodeEnvoyText(MODERN_LINE + ' outbound capture');
    assert.ok(extra.kind === 'ok');
    assert.equal(extra.value.routeName, 'default');
    assert.equal(extra.value.requestedServerName, undefined);
    const cut = decodeEnvoyText(MODERN_LINE.replace(/ default$/, ' '));
    assert.ok(cut.kind === 'ok');
    assert.equal(cut.value.routeName, undefined);
    assert.equal(cut.value.downstreamRemoteAddress, '10.1.0.1:40002');
    // Fewer than the five fields after UPSTREAM_HOST: not read.
    assert.equal(decodeEnvoyText(MODERN_LINE.replace(/ 10\.1\.0\.1:40002 - default$/, '')).kind, 'reject');
  });

  it('reads a line with no upstream cluster (`- -`), as Envoy writes a refused connection', () => {
    const d = decodeEnvoyText('[2022-07-06T03:33:58.083Z] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - 10.1.0.3:8090 10.1.0.4:43434 - -');
    assert.ok(d.kind === 'ok');
    assert.equal(d.value.upstreamCluster, undefined);
    assert.equal(d.value.responseFlags, 'NR');
    assert.equal(d.value.responseCodeDetails, 'filter_chain_not_found');
    assert.equal(d.value.downstreamLocalAddress, '10.1.0.3:8090');
  });

  it('reads lines published without their `[` or their whole `[time]`, and with escaped quotes', () => {
    const bracketless = decodeEnvoyText(MODERN_LINE.slice(1));
    assert.ok(bracketless.kind === 'ok');
    assert.equal(bracketless.value.startTime, '2024-04-22T04:26:10.731Z');
    const timeless = decodeEnvoyText(MODERN_LINE.slice(MODERN_LINE.indexOf('"')));
    assert.ok(timeless.kind === 'ok');
    assert.equal(timeless.value.startTime, undefined);
    assert.equal(timeless.value.upstreamCluster, 'outbound|80||svc.ns.svc.cluster.local');
    const escaped = decodeEnvoyText(MODERN_LINE.replace(/"/g, '\\"'));
    assert.ok(escaped.kind === 'ok');
    assert.equal(escaped.value.userAgent, 'curl/8');
    // A time-like head without its `]` is no TEXT line.
    assert.equal(decodeEnvoyText('2024-04-22T04:26:10.731Z "GET /a HTTP/1.1" 200').kind, 'reject');
  });

  it('reads the Istio 1.0 format (nothing between RESPONSE_FLAGS and BYTES_RECEIVED)', () => {
    const d = decodeEnvoyText(
      '[2019-02-17T03:25:41.929Z] "GET /r/0 HTTP/1.1" 200 - 0 425 18 17 "-" "ua" "id" "r:9080" "127.0.0.1:9080" inbound|9080|http|r.t.svc.cluster.local - 10.2.0.2:9080 10.2.0.3:37748 outbound_.9080_.v3_.r.t.svc.cluster.local',
    );
    assert.ok(d.kind === 'ok');
    assert.equal(d.value.upstreamCluster, 'inbound|9080|http|r.t.svc.cluster.local');
    assert.equal(d.value.requestedServerName, 'outbound_.9080_.v3_.r.t.svc.cluster.local');
    assert.equal(d.value.routeName, undefined);
  });

  it('rejects plain Envoy default lines and the 2022 Envoy-based ztunnel, each with its own reason', () => {
    const plain = decodeEnvoyText('[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21" "locations" "tcp://10.0.2.1:80"');
    assert.ok(plain.kind === 'reject');
    assert.equal(plain.reason, 'envoy-default-format');
    const tunnel = decodeEnvoyText(
      '[2022-08-31T11:28:06.269Z] "CONNECT - HTTP/2" 200 - via_upstream - "-" 1 2 5 - "-" "-" "id" "10.3.0.4:8080" "10.3.0.4:8080" virtual_inbound 10.3.0.3:56737 10.3.0.4:15088 10.3.0.3:44612 - - inbound hcm',
    );
    assert.ok(tunnel.kind === 'reject');
    assert.equal(tunnel.reason, 'envoy-ztunnel-2022');
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
          `[2026-03-14T09:15:02.118Z] "GET /cart/items HTTP/1.1" 200 - via_upstream - "-" 0 412 6 5 "${xff}" "${ua}" ` +
          `"5f0c2a7e-3b1d" "cart:9080" "10.61.3.25:8080" outbound|9080||cart.shop.svc.cluster.local 10.61.2.14:51234 10.96.61.9:9080 10.61.2.14:46810 - default`;
        const d = decodeEnvoyText(line);
        if (xff.includes('"') && d.kind === 'reject') return; // ambiguous header split: rejected, never misread
        assert.ok(d.kind === 'ok');
        assert.equal(d.value.upstreamHost, '10.61.3.25:8080');
        assert.equal(d.value.upstreamCluster, 'outbound|9080||cart.shop.svc.cluster.local');
        assert.equal(d.value.downstreamRemoteAddress, '10.61.2.14:46810');
        assert.equal(d.value.authority, 'cart:9080');
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
