// `ztmap collect` over TLS (--tls-cert/--tls-key): OTLP/HTTPS and OTLP/gRPC with TLS, with a
// throwaway CA that openssl makes; a client that does not trust the CA is refused by its own TLS.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { throwawayCertificates } from '../support/certificates.js';
import { grpcExport, post, startCollect, status, type Collector } from '../support/collect-process.js';
import { tempDir } from '../support/cli.js';
import { deployment, writeInventory } from '../support/kube.js';
import { otlpProto, otlpRequest, type SpanSpec } from '../support/traces.js';
import { opensslNeed, suiteNeeding } from './needs.js';

const span = (n: number): SpanSpec => ({
  traceId: n.toString(16).padStart(32, '0'),
  spanId: n.toString(16).padStart(16, '0'),
  name: 'GET',
  kind: 'client',
  startMicros: Date.now() * 1000,
  durationMicros: 1000,
  service: 'web',
  resource: { 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'web-5d8f-abcde', 'k8s.deployment.name': 'web' },
  attributes: { 'http.request.method': 'GET', 'server.address': 'api.example.com', 'server.port': 443 },
});

suiteNeeding('ztmap collect over TLS (issue 14)', [opensslNeed('the collect TLS suite')], function () {
  this.timeout(60_000);
  let c: Collector | undefined;
  after(() => {
    if (c !== undefined && c.child.exitCode === null) c.child.kill('SIGKILL');
  });

  it('serves OTLP/HTTPS and OTLP/gRPC with TLS to a client that trusts the CA, and nothing in plain text', async () => {
    const dir = tempDir('ztmap-collect-tls-');
    const certs = throwawayCertificates(dir);
    const inv = writeInventory(dir, deployment('shop', 'web', { ip: '10.61.2.14' }));
    const out = join(dir, 'out');
    c = await startCollect(['-i', inv, '-o', out, '--interval', '1', '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey]);
    assert.match(c.http, /^https:\/\/127\.0\.0\.1:/);
    const ca = readFileSync(certs.ca);
    const ok = await post(c.http, JSON.stringify(otlpRequest([span(1)])), { 'Content-Type': 'application/json' }, '/v1/traces', ca);
    assert.equal(ok.status, 200);
    // Without the CA, the client's own TLS refuses the certificate.
    await assert.rejects(post(c.http, JSON.stringify(otlpRequest([span(2)])), { 'Content-Type': 'application/json' }), /self[- ]signed|unable to verify|certificate/i);
    // Plain HTTP to the TLS port gets no OTLP answer: an error, or anything but a 200.
    const plain = await post(c.http.replace('https:', 'http:'), '{}', { 'Content-Type': 'application/json' }).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    assert.notEqual(plain, 200);
    const g = await grpcExport(c.grpc, otlpProto(otlpRequest([span(3)])), { ca });
    assert.equal(g.error, undefined);
    c.child.kill('SIGTERM');
    assert.equal(await c.exited, 0, c.stderr());
    assert.equal(status(out)!.spans.accepted, 2);
  });
});
