import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildInventory } from '../../src/inventory/inventory.js';
import { podAt } from '../../src/inventory/resolve.js';
import { pod } from '../support/kube.js';

const IP = '10.1.0.7';
const t = (s: string) => Date.parse(s);

describe('two live pods with one address', () => {
  it('are reported as a conflict naming both, the later-started first', () => {
    const inv = buildInventory([
      pod('shop', 'web-a', { ip: IP, start: '2026-11-24T10:00:00Z' }),
      pod('shop', 'cart-b', { ip: IP, start: '2026-11-24T11:00:00Z' }),
      pod('shop', 'other', { ip: '10.1.0.8' }),
    ]);
    assert.deepEqual(inv.ipConflicts, [{ ip: IP, pods: ['shop/cart-b', 'shop/web-a'] }]);
    const r = podAt(inv, IP, t('2026-11-24T12:00:00Z'));
    assert.ok('pod' in r && r.pod.name === 'cart-b');
  });

  it('a pod that ended and the pod that took its address over are no conflict', () => {
    const inv = buildInventory([
      pod('shop', 'web-a', { ip: IP, start: '2026-11-24T10:00:00Z', end: '2026-11-24T10:30:00Z' }),
      pod('shop', 'cart-b', { ip: IP, start: '2026-11-24T11:00:00Z' }),
    ]);
    assert.deepEqual(inv.ipConflicts, []);
  });

  it('which pod resolves, and the conflicts reported, do not depend on the order of the items (property)', () => {
    const starts = ['2026-11-24T10:00:00Z', '2026-11-24T11:00:00Z', undefined];
    const items = fc.uniqueArray(
      fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'e'), ns: fc.constantFrom('x', 'y'), start: fc.constantFrom(...starts), ip: fc.constantFrom(IP, '10.1.0.9') }),
      { minLength: 2, maxLength: 6, selector: (p) => `${p.ns}/${p.name}` },
    );
    const times = [undefined, t('2026-11-24T10:30:00Z'), t('2026-11-24T12:00:00Z')];
    fc.assert(
      fc.property(items, fc.nat(), (ps, seed) => {
        const objects = ps.map((p) => pod(p.ns, p.name, { ip: p.ip, ...(p.start === undefined ? {} : { start: p.start }) }));
        // A shuffle drawn from the property's seed, so a failure replays.
        const shuffled = objects.map((o, i) => ({ o, k: (i * 7919 + seed) % 104729 })).sort((a, b) => a.k - b.k).map((x) => x.o);
        const a = buildInventory(objects);
        const b = buildInventory(shuffled);
        const reversed = buildInventory([...objects].reverse());
        assert.deepEqual(b.ipConflicts, a.ipConflicts);
        assert.deepEqual(reversed.ipConflicts, a.ipConflicts);
        for (const ip of [IP, '10.1.0.9']) {
          for (const time of times) {
            const name = (inv: typeof a) => {
              const r = podAt(inv, ip, time);
              return 'pod' in r ? `${r.pod.namespace}/${r.pod.name}` : r.reason;
            };
            assert.equal(name(b), name(a));
            assert.equal(name(reversed), name(a));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
