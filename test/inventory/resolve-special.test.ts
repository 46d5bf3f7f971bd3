// Addresses that are no endpoint's own: Istio's auto-allocated ServiceEntry addresses, and
// X-Forwarded-For clients of a peer behind a proxy (issue 11, part 3b).
import assert from 'node:assert/strict';
import type { Flow } from '../../src/flow/flow.js';
import { GraphBuilder } from '../../src/graph/build.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import { BEHIND_PROXY } from '../../src/flow/identity.js';
import { isAutoAllocatedIp, Resolver } from '../../src/inventory/resolve.js';
import { Tally } from '../../src/tally.js';
import { pod } from '../support/kube.js';

const T = Date.parse('2026-11-24T10:00:00Z');
const inv = buildInventory([
  pod('shop', 'cart-1', { ip: '10.1.0.5', labels: { app: 'cart' }, sa: 'cart', owner: ['Pod', 'cart-1'] }),
  pod('shop', 'web-1', { ip: '10.1.0.9', labels: { app: 'web' }, sa: 'web', owner: ['Pod', 'web-1'] }),
]);

function outbound(destination: Flow['destination'], key: string): Flow {
  return {
    source: { ip: '10.1.0.5', pod: { namespace: 'shop', name: 'cart-1' } },
    destination,
    protocol: 'tcp',
    mtls: 'unknown',
    responseCode: 0,
    timestamp: T,
    count: 1,
    reporter: 'client',
    endpointKey: key,
    evidence: { decoder: 'test', location: { file: 'f', line: 1 } },
  };
}

function behindProxy(forwardedFor: string | undefined, line: number): Flow {
  return {
    source: { behindProxy: forwardedFor === undefined ? {} : { forwardedFor } },
    destination: { ip: '10.1.0.9', port: 8080, pod: { namespace: 'shop', name: 'web-1' } },
    protocol: 'http',
    l7: { method: 'GET', path: '/' },
    mtls: 'mutual',
    responseCode: 200,
    timestamp: T + line,
    count: 1,
    reporter: 'server',
    // As the sources build it for such lines: the forwarded address is not part of it.
    endpointKey: 'i|shop/web-1|~xff|10.1.0.9|8080|http',
    evidence: { decoder: 'test', location: { file: 'f', line } },
  };
}

describe('resolving addresses that are no endpoint of their own', () => {
  it("knows Istio's auto-allocated ranges, in every IPv6 spelling", () => {
    for (const ip of ['240.240.0.1', '240.240.255.254', '2001:2::1', '2001:2:0:1::5', '2001:0002:0000:ffff::', '2001:2::']) assert.ok(isAutoAllocatedIp(ip), ip);
    for (const ip of ['240.241.0.1', '24.240.0.1', '10.240.240.1', '2001:2:1::5', '2001:3::1', '2001:db8::1', '::1', 'fd00::1', '2001:2']) assert.ok(!isAutoAllocatedIp(ip), ip);
  });

  it('names a ServiceEntry destination at an auto-allocated address by its host, with no address to make an ipBlock of', () => {
    const unresolved = new Tally();
    const [rf] = new Resolver(inv, unresolved).resolve(outbound({ ip: '240.240.0.7', port: 443, host: 'api.example.com' }, 'o|a'));
    assert.equal(rf!.destination.key, 'world:api.example.com');
    assert.equal(rf!.destination.ip, undefined, 'the allocated address is no address of the host');
    assert.equal(rf!.source.key, 'shop/Pod/cart-1');
    assert.deepEqual(unresolved.entries(), []);
    // A real address of an external host stays on the node.
    const [real] = new Resolver(inv, new Tally()).resolve(outbound({ ip: '203.0.113.10', port: 443, host: 'api.example.com' }, 'o|b'));
    assert.equal(real!.destination.ip, '203.0.113.10');
  });

  it('keeps an auto-allocated address without a host unknown (never world), with a note that says why', () => {
    for (const ip of ['240.240.0.7', '2001:2::7']) {
      const unresolved = new Tally();
      const [rf] = new Resolver(inv, unresolved).resolve(outbound({ ip, port: 5432 }, `o|${ip}`));
      assert.equal(rf!.destination.kind, 'unknown');
      assert.equal(rf!.destination.key, `unknown:${ip}`);
      const entries = unresolved.entries();
      assert.deepEqual(entries.map(([r, e]) => [r, e.count]), [['destination-auto-allocated-ip', 1]]);
      assert.match(entries[0]![1].examples[0]!.detail, /ServiceEntry/);
    }
  });

  it('resolves a peer behind a proxy to one node, whatever X-Forwarded-For says, on the memoized path too', () => {
    const unresolved = new Tally();
    const resolver = new Resolver(inv, unresolved);
    const builder = new GraphBuilder();
    const flows = [behindProxy('203.0.113.50', 1), behindProxy('198.51.100.7', 2), behindProxy(undefined, 3), behindProxy('10.1.0.5', 4)];
    for (const f of flows) {
      const [rf] = resolver.resolve(f);
      assert.equal(rf!.source, BEHIND_PROXY);
      assert.deepEqual([rf!.source.key, rf!.source.name, rf!.source.ip], ['unknown:behind-proxy', 'mTLS peer behind a proxy', undefined]);
      assert.equal(rf!.destination.key, 'shop/Pod/web-1');
      builder.add(rf!);
    }
    assert.ok(resolver.lastReuse !== undefined, 'the resolution is memoized');
    assert.deepEqual(unresolved.entries(), [], 'not an unresolved source');
    const g = builder.toGraph();
    assert.deepEqual(g.nodes(), ['shop/Pod/web-1', 'unknown:behind-proxy']);
    assert.deepEqual(g.getNodeAttributes('unknown:behind-proxy').ips, [], 'no forwarded address on the node');
    const [edge] = g.edges();
    assert.deepEqual(g.getEdgeAttributes(edge!).sourceServiceAccounts, [], 'no principal');
    assert.equal(JSON.stringify(g.export()).includes('203.0.113.50'), false, 'the forwarded address is nowhere in the graph');
    assert.equal(JSON.stringify(g.export()).includes('10.1.0.5'), false);
  });
});

describe('memoized resolution of reused IPs and pod names', () => {
  it('property: a memoized resolver answers every flow as a fresh one would, whatever the holders of an IP and a name', async () => {
    const fc = (await import('fast-check')).default;
    const H = 3_600_000;
    const lifetime = fc.record({ start: fc.option(fc.integer({ min: 0, max: 10 * H }), { nil: undefined }), length: fc.option(fc.integer({ min: 0, max: 5 * H }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(lifetime, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: -H, max: 16 * H }), { minLength: 1, maxLength: 40 }), fc.boolean(), (lives, times, byName) => {
        const objects = lives.map((l, i) => {
          const start = l.start === undefined ? undefined : new Date(T + l.start).toISOString();
          const end = l.start === undefined || l.length === undefined ? undefined : new Date(T + l.start + l.length).toISOString();
          const o = pod('shop', byName ? 'web-0' : `web-${i}`, { ip: '10.1.0.5', owner: ['Pod', `w${i}`], ...(end === undefined ? {} : { end }) });
          o.metadata['uid'] = `uid-${i}`;
          const status = o['status'] as Record<string, unknown>;
          if (start === undefined) delete status['startTime'];
          else status['startTime'] = start;
          return o;
        });
        const inventory = buildInventory(objects);
        const flowAt = (t: number, line: number): Flow => ({
          source: byName ? { pod: { namespace: 'shop', name: 'web-0' } } : { ip: '10.1.0.5' },
          destination: { ip: '10.1.0.9', port: 8080, pod: { namespace: 'shop', name: 'web-1x' } },
          protocol: 'http',
          mtls: 'mutual',
          responseCode: 200,
          timestamp: T + t,
          count: 1,
          reporter: 'server',
          endpointKey: 'i|k',
          evidence: { decoder: 'test', location: { file: 'f', line } },
        });
        const memo = new Resolver(inventory, new Tally());
        for (const [i, t] of times.entries()) {
          const fresh = new Tally();
          const want = new Resolver(inventory, fresh).resolve(flowAt(t, i))[0]!;
          const before = memo.unresolved.total;
          const got = memo.resolve(flowAt(t, i))[0]!;
          assert.equal(got.source.key, want.source.key, `t=${t}`);
          assert.equal(memo.unresolved.total - before, fresh.total);
        }
      }),
      { numRuns: 300 },
    );
  });
});
