import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEnvoyJson } from '../../src/sources/decoders/envoy-json.js';
import { CLIENT_JSON, SERVER_JSON, SERVER_JSON_STRINGS } from '../support/sample-mesh.js';

// Records of the project's own sample mesh (test/support/sample-mesh.ts), as JSON text; the
// published records are checked by test/conformance/reference-samples.test.ts.
const records = [SERVER_JSON, CLIENT_JSON, SERVER_JSON_STRINGS].map((r) => JSON.parse(JSON.stringify(r)) as Record<string, unknown>);

describe('envoy-json decoder', () => {
  it('decodes JSON records numeric (>= 1.14, null) and string-valued (older) alike', () => {
    for (const [i, r] of records.entries()) {
      const d = decodeEnvoyJson(r);
      assert.ok(d.kind === 'ok', `record ${i + 1}`);
      assert.equal(d.value.responseCode, Number(r['response_code']));
      assert.equal(d.value.upstreamCluster, r['upstream_cluster']);
    }
  });

  it('maps null and "-" to absent', () => {
    const d = decodeEnvoyJson(records[1]!);
    assert.ok(d.kind === 'ok');
    assert.equal(d.value.requestedServerName, undefined);
    const old = decodeEnvoyJson(records[2]!);
    assert.ok(old.kind === 'ok');
    assert.equal(old.value.requestedServerName, undefined);
    assert.equal(old.value.responseCode, 200);
  });

  it('reads route_name and x_forwarded_for', () => {
    const d = decodeEnvoyJson({ upstream_cluster: 'outbound|80||a.b.svc.cluster.local', route_name: 'default', x_forwarded_for: '10.0.0.9', response_code: 200 });
    assert.ok(d.kind === 'ok');
    assert.equal(d.value.routeName, 'default');
    assert.equal(d.value.xForwardedFor, '10.0.0.9');
    const none = decodeEnvoyJson({ upstream_cluster: 'outbound|80||a.b.svc.cluster.local', route_name: null, x_forwarded_for: '-' });
    assert.ok(none.kind === 'ok');
    assert.equal(none.value.routeName, undefined);
    assert.equal(none.value.xForwardedFor, undefined);
  });

  it('rejects records whose fields have the wrong type, naming the field', () => {
    const d = decodeEnvoyJson({ ...records[0]!, upstream_host: { ip: 1 } });
    assert.ok(d.kind === 'reject');
    assert.equal(d.reason, 'bad-field-type');
    assert.match(d.detail, /upstream_host/);
    const c = decodeEnvoyJson({ ...records[0]!, response_code: 'lots' });
    assert.ok(c.kind === 'reject');
    assert.match(c.detail, /response_code/);
  });

  it('property: any JSON object either decodes or is rejected, never throws', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('upstream_cluster', 'response_code', 'path', 'downstream_local_address', 'x'), fc.jsonValue()), (obj) => {
        const d = decodeEnvoyJson(obj as Record<string, unknown>);
        assert.ok(d.kind === 'ok' || d.kind === 'reject');
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});
