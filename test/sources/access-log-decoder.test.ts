// What the record framing makes of lines around the access-log entry (access-log-decoder.ts):
// prefixes that name the pod, other proxies' logs, and lines whose head was damaged.
import assert from 'node:assert/strict';
import { decodeText } from '../support/decode.js';

const ENTRY =
  '[2022-01-11T06:44:07.918Z] "GET /customer HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{connection_failure} - "-" 0 201 77 - ' +
  '"192.168.64.90" "curl/7.77.0" "id-1" "192.168.64.90" "172.16.0.20:8080" outbound|8080|v1|customer.default.svc.cluster.local 172.16.0.12:40000 172.16.0.12:8080 192.168.64.90:19213 - -';

const reasons = (t: { entries(): [string, { count: number }][] }) => Object.fromEntries(t.entries().map(([r, e]) => [r, e.count]));

describe('access-log records around the entry', () => {
  it("takes the reporting pod from stern's '[NS ]POD CONTAINER ' prefix, and skips other containers", () => {
    const text = [`ingressgateway-7cc46d9596-v8qnt istio-proxy ${ENTRY}`, `istio-system ingressgateway-7cc46d9596-v8qnt istio-proxy ${ENTRY}`, `ingressgateway-7cc46d9596-v8qnt discovery ${ENTRY}`].join('\n');
    const { flows, skips, rejects } = decodeText(text, 'stern.txt');
    assert.equal(rejects.total, 0);
    assert.deepEqual(reasons(skips), { 'other-container': 1 });
    assert.deepEqual(
      flows.map((f) => f.source.pod),
      [
        { namespace: '', name: 'ingressgateway-7cc46d9596-v8qnt' },
        { namespace: 'istio-system', name: 'ingressgateway-7cc46d9596-v8qnt' },
      ],
    );
    assert.equal(flows[0]!.upstreamFailure, 'UF,URX');
  });

  it("takes the reporting pod from `kubectl logs --prefix`'s '[pod/POD/CONTAINER] '", () => {
    const { flows, skips, rejects } = decodeText([`[pod/gw-7cc46d9596-v8qnt/istio-proxy] ${ENTRY}`, `[pod/gw-7cc46d9596-v8qnt/discovery] ${ENTRY}`].join('\n'), 'prefixed.txt');
    assert.equal(rejects.total, 0);
    assert.deepEqual(reasons(skips), { 'other-container': 1 });
    assert.deepEqual(flows[0]!.source.pod, { namespace: '', name: 'gw-7cc46d9596-v8qnt' });
  });

  it('reads entries published without their [ or their [time]', () => {
    const { flows, rejects } = decodeText([ENTRY.slice(1), ENTRY.slice(ENTRY.indexOf('"'))].join('\n'));
    assert.equal(rejects.total, 0);
    assert.equal(flows.length, 2);
    assert.equal(flows[0]!.timestamp, Date.parse('2022-01-11T06:44:07.918Z'));
    assert.equal(flows[1]!.timestamp, undefined);
  });

  it('rejects Rust ztunnel access logs under their own reason, and skips ztunnel and agent logging', () => {
    const text = [
      '2025-04-01T14:01:02.476412Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.3.9:52462 dst.addr=10.244.3.8:15008 direction="inbound"',
      'error   access  connection complete     src.addr=10.244.1.6:42020 dst.addr=10.244.1.9:15008 error="connection closed due to policy rejection"',
      '2024-07-16T23:23:38.426650Z\tinfo\thttp access\thttp request\tsrc.addr=10.102.158.12:39900 method=GET path="/reviews/0"',
      '2023-08-28T11:48:01.708804Z  INFO outbound{id=e69949c7ec4f07f497e5fb9460f520d5}: ztunnel::proxy::outbound: complete dur=43.172542ms',
      '2022-04-26T12:47:30.333876Z\tinfo\txdsproxy\tconnected to upstream XDS server: istiod.istio-system.svc:15012',
    ].join('\n');
    const { flows, rejects, skips } = decodeText(text);
    assert.equal(flows.length, 0);
    assert.deepEqual(reasons(rejects), { 'ztunnel-access-log': 3 });
    assert.deepEqual(reasons(skips), { 'proxy-log-line': 2 });
  });
});
