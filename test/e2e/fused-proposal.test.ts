// @e2e: the Bookinfo hour observed from access logs alone, and from access logs, Istio metrics
// and Hubble flows together (fusion, docs/sources.md): the proposals must be the same policies
// (only the evidence comments differ, which name the sources), and verify must allow every
// observed request of the fused graph.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ztmap, tempDir } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');

function manifests(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      // Policies without their comments: the comments carry the evidence, which names the sources.
      else if (name.endsWith('.yaml')) out.set(relative(dir, p), readFileSync(p, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n'));
    }
  };
  walk(dir);
  return out;
}

describe('a proposal from fused sources @e2e', () => {
  let logsOnly: string;
  let fused: string;
  let verify: ReturnType<typeof ztmap>;

  before(() => {
    logsOnly = tempDir('ztmap-fused-logs-');
    fused = tempDir('ztmap-fused-all-');
    for (const [out, inputs] of [
      [logsOnly, [join(BOOKINFO, 'logs')]],
      [fused, [join(BOOKINFO, 'logs'), join(BOOKINFO, 'metrics'), join(BOOKINFO, 'hubble')]],
    ] as const) {
      const o = ztmap(['observe', '-q', '-i', INVENTORY, '-o', out, '--fail-on', 'never', ...inputs]);
      assert.equal(o.status, 0, o.stderr);
      const p = ztmap(['propose', '-q', '-g', join(out, 'graph.json'), '-i', INVENTORY, '-o', out, '--fail-on', 'never']);
      assert.equal(p.status, 0, p.stderr);
    }
    verify = ztmap(['verify', '-p', join(fused, 'policies'), '-g', join(fused, 'graph.json'), '-i', INVENTORY, '--rules', join(fused, 'policies', 'rules.json')]);
  });

  it('writes the same policies, comments aside', () => {
    const a = manifests(join(logsOnly, 'policies'));
    const b = manifests(join(fused, 'policies'));
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [k, v] of a) assert.equal(b.get(k), v, k);
  });

  it('names every source in the evidence comments', () => {
    const text = readFileSync(join(fused, 'policies', 'istio', 'default', 'authorizationpolicy-ztmap-allow-details-v1.yaml'), 'utf8');
    assert.match(text, /access-log \d+, hubble \d+, istio-metrics \d+/);
  });

  it('verify allows every observed request of the fused graph (exit 0)', () => {
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });
});
