import assert from 'node:assert/strict';
import { parseAddress, parseCluster } from '../../src/sources/address.js';

describe('addresses and clusters', () => {
  it('reads IPv4 and IPv6 addresses', () => {
    assert.deepEqual(parseAddress('10.44.1.27:80'), { ip: '10.44.1.27', port: 80 });
    assert.deepEqual(parseAddress('[fd00::1]:8080'), { ip: 'fd00::1', port: 8080 });
    assert.deepEqual(parseAddress('[2406:da24:8:c201:6969::14]:45890'), { ip: '2406:da24:8:c201:6969::14', port: 45890 });
    for (const s of ['-', 'fd00::1:80', '[fd00::1]', '10.0.0.1:99999', 'unix:/tmp/x', '10.0.0:80']) assert.equal(parseAddress(s), undefined, s);
  });

  it("reads a waypoint's Envoy internal addresses: the tunnel's pod address, or none", () => {
    assert.deepEqual(parseAddress('envoy://connect_originate/10.244.0.32:9080'), { ip: '10.244.0.32', port: 9080 });
    assert.deepEqual(parseAddress('envoy://connect_originate/[fd00::5]:9080'), { ip: 'fd00::5', port: 9080 });
    assert.deepEqual(parseAddress('envoy://inbound-pod|9080||10.244.2.9/'), { ip: '10.244.2.9', port: 9080 });
    assert.equal(parseAddress('envoy://internal_client_address/'), undefined);
    assert.equal(parseAddress('envoy://inbound-vip|9080||productpage.default.svc.cluster.local/'), undefined);
    assert.equal(parseAddress('envoy://connect_originate/envoy://x/1.2.3.4:5'), undefined);
    assert.equal(parseAddress('envoy://outbound_tunnel_lis_spiffe://cluster.local/ns/default/sa/x/10.1.1.4:8080'), undefined);
  });

  it('reads inbound, outbound and waypoint (inbound-vip) clusters', () => {
    assert.deepEqual(parseCluster('outbound|9080|v3|reviews.default.svc.cluster.local'), { direction: 'outbound', port: 9080, host: 'reviews.default.svc.cluster.local' });
    assert.deepEqual(parseCluster('inbound|8000||'), { direction: 'inbound', port: 8000, host: undefined });
    assert.deepEqual(parseCluster('inbound-vip|9080|http|details.bookinfo.svc.cluster.local'), { direction: 'inbound-vip', port: 9080, host: 'details.bookinfo.svc.cluster.local' });
    assert.deepEqual(parseCluster('BlackHoleCluster'), { direction: 'blackhole' });
    assert.equal(parseCluster(undefined), undefined);
  });
});
