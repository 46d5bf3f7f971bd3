// How one access-log entry says the mesh refused a request, failed upstream, or was forwarded by
// a proxy (issue 11; docs/observe.md, "Traffic the mesh denies today"). Lines are written here in the shapes Istio
// users published (the conformance suite reads the published ones themselves).

import assert from 'node:assert/strict';
import type { Flow } from '../../src/flow/flow.js';
import { denialOf, entryToFlow } from '../../src/sources/access-log.js';
import type { AccessLogEntry } from '../../src/sources/decoders/access-log-entry.js';
import { decodeEnvoyText } from '../../src/sources/decoders/envoy-text.js';

const ctx = { reporter: { namespace: 'foo', name: 'web-1' }, decoder: 'envoy-text', location: { file: 'f.log', line: 1 } };

function flowOf(line: string): Flow {
  const e = decodeEnvoyText(line);
  assert.equal(e.kind, 'ok', line);
  const f = entryToFlow((e as { value: AccessLogEntry }).value, ctx);
  assert.equal(f.kind, 'ok', JSON.stringify(f));
  return (f as { value: Flow }).value;
}

const entry = (o: Partial<AccessLogEntry>): AccessLogEntry => ({ responseCode: 200, ...o });

describe('evidence of denial in one entry', () => {
  it('RBAC: the policy is named from the details, none is no policy, and a gRPC 200 is still a denial', () => {
    assert.deepEqual(denialOf(entry({ responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[ns[istio-system]-policy[external-deny]-rule[0]]' }), false), {
      kind: 'rbac',
      policy: 'ns[istio-system]-policy[external-deny]-rule[0]',
    });
    assert.deepEqual(denialOf(entry({ responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' }), false), { kind: 'rbac' });
    assert.deepEqual(denialOf(entry({ responseCode: 200, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' }), false), { kind: 'rbac' });
  });

  it('an application 403 is not a denial; a 302 UAEX is a login redirect; a 403 UAEX is', () => {
    assert.equal(denialOf(entry({ responseCode: 403, responseCodeDetails: 'via_upstream' }), false), undefined);
    assert.equal(denialOf(entry({ responseCode: 302, responseFlags: 'UAEX', responseCodeDetails: 'ext_authz_denied' }), false), undefined);
    assert.deepEqual(denialOf(entry({ responseCode: 403, responseFlags: 'UAEX', responseCodeDetails: 'ext_authz_denied' }), false), { kind: 'ext-authz' });
  });

  it('NR: no filter chain, no route; direct_response block_all; BlackHoleCluster; flags are matched whole', () => {
    assert.deepEqual(denialOf(entry({ responseCode: 0, responseFlags: 'NR', responseCodeDetails: 'filter_chain_not_found' }), false), { kind: 'no-filter-chain' });
    assert.deepEqual(denialOf(entry({ responseCode: 404, responseFlags: 'NR', responseCodeDetails: 'route_not_found' }), false), { kind: 'no-route' });
    assert.deepEqual(denialOf(entry({ responseCode: 502, responseCodeDetails: 'direct_response', routeName: 'block_all' }), false), { kind: 'blocked' });
    assert.equal(denialOf(entry({ responseCode: 200, responseCodeDetails: 'direct_response', routeName: 'healthz' }), false), undefined);
    assert.deepEqual(denialOf(entry({ responseCode: 0, responseFlags: 'UH' }), true), { kind: 'registry-only' });
    assert.equal(denialOf(entry({ responseCode: 503, responseFlags: 'UNR' }), false), undefined);
  });

  it('a refused inbound request names its client and carries the denial', () => {
    const f = flowOf(
      '[2026-11-24T00:56:18.465Z] "GET /v1/customer/123456789 HTTP/1.1" 403 UAEX ext_authz_denied - "-" 0 125 11 - "-" "curl/8.11.0" "00000000-0000-4000-a000-000000000001" "dummy-svc-app:8080" "-" inbound|8080|| - 10.244.0.28:8080 10.244.0.30:36340 outbound_.8080_._.dummy-svc-app.foo.svc.cluster.local default',
    );
    assert.deepEqual([f.reporter, f.source.ip, f.destination.ip, f.destination.port, f.mtls, f.denial?.kind], ['server', '10.244.0.30', '10.244.0.28', 8080, 'mutual', 'ext-authz']);
  });

  it('a plaintext client refused by STRICT (no filter chain, no cluster) is read: client, server, port, plaintext', () => {
    const f = flowOf('[2026-11-24T08:32:08.511Z] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - 10.10.0.17:8080 10.10.0.16:51930 - -');
    assert.deepEqual([f.reporter, f.source.ip, f.destination.ip, f.destination.port, f.destination.pod?.name, f.mtls, f.protocol, f.denial?.kind], [
      'server', '10.10.0.16', '10.10.0.17', 8080, 'web-1', 'plaintext', 'tcp', 'no-filter-chain',
    ]);
  });

  it('a gateway that found no route names its outside client and itself by address, never its own pod as the caller', () => {
    const f = flowOf(
      '[2026-11-24T00:01:25.979Z] "GET /.env HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "100.117.94.128" "Mozilla/5.0 (ztmap test)" "00000000-0000-4000-a000-000000000002" "34.213.68.78" "-" - - 100.97.92.14:8080 100.117.94.128:49723 - -',
    );
    assert.deepEqual([f.source, f.destination, f.denial?.kind], [{ ip: '100.117.94.128' }, { ip: '100.97.92.14', port: 8080 }, 'no-route']);
  });

  it('a failed upstream is intent, not a denial', () => {
    const f = flowOf(
      '[2026-11-24T09:30:47.919Z] "- - -" 0 UF,URX - - "-" 0 0 2285 - "-" "-" "-" "-" "127.0.0.1:12950" inbound|12950|| - 10.244.0.31:12950 10.244.0.1:11504 - -',
    );
    assert.equal(f.denial, undefined);
    assert.equal(f.upstreamFailure, 'UF,URX');
  });

  it('an inbound remote with port 0 is the X-Forwarded-For client: the peer is a proxy the line does not name', () => {
    const f = flowOf(
      '[2026-11-24T20:53:27.509Z] "GET /get HTTP/1.1" 200 - via_upstream - "-" 0 2459 2 2 "10.48.0.1" "Mozilla/5.0 (ztmap test)" "00000000-0000-4000-a000-000000000003" "httpbin.glootest.com" "10.48.0.25:80" inbound|80|| 127.0.0.6:57255 10.48.0.25:80 10.48.0.1:0 outbound_.8000_._.in-mesh.httpbin.svc.cluster.local default',
    );
    assert.deepEqual(f.source, { behindProxy: { forwardedFor: '10.48.0.1' } });
    assert.equal(f.mtls, 'mutual');
    assert.doesNotMatch(f.endpointKey!, /10\.48\.0\.1/, 'one route for every forwarded client');
  });
});
