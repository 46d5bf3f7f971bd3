// Reading policy manifests as `kubectl apply -R -f` reads them: what is applied, and what is
// reported, when a file holds a bad document or an object is defined twice.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicies } from '../../src/verify/manifests.js';
import { tempDir } from '../support/cli.js';

const deny = (name: string, extra = '') =>
  ['apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', `metadata: {name: ${name}, namespace: shop}`, `spec: {action: DENY, rules: [{}]${extra}}`].join('\n');

describe('policy manifests', () => {
  it('a document that is no object is reported; the other documents of its file are applied', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'policies.yaml'), [deny('first'), 'just: a map without kind', deny('second')].join('\n---\n'));
    const set = await loadPolicies([dir]);
    assert.deepEqual(set.authorization.map((p) => p.name), ['first', 'second']);
    assert.equal(set.problems.length, 1);
    assert.match(set.problems[0]!.message, /document 2 has no kind or metadata/);
  });

  it('a later definition replaces an earlier one, unless it is refused: then the earlier one stays', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a.yaml'), deny('p'));
    // Refused: a source with nothing set.
    writeFileSync(join(dir, 'b', 'p.yaml'), deny('p', ', rules: [{from: [{source: {}}]}]').replace('rules: [{}], ', ''));
    const kept = await loadPolicies([dir]);
    assert.equal(kept.authorization.length, 1);
    assert.deepEqual(kept.authorization[0]!.rules, [{ http: false, l7: [] }]);
    assert.ok(kept.problems.some((p) => /refused here: the one in .*a\.yaml stays/.test(p.message)), JSON.stringify(kept.problems));
    assert.ok(kept.problems.some((p) => /must not be empty/.test(p.message)));

    writeFileSync(join(dir, 'b', 'p.yaml'), deny('p').replace('rules: [{}]', "rules: [{to: [{operation: {ports: ['8080']}}]}]"));
    const replaced = await loadPolicies([dir]);
    assert.equal(replaced.authorization.length, 1);
    assert.equal(replaced.authorization[0]!.rules[0]!.to?.[0]?.ports?.[0], 8080);
    assert.ok(replaced.problems.some((p) => /the later one is used/.test(p.message)));
  });

  it('a refused NetworkPolicy does not replace an earlier valid one', async () => {
    const dir = tempDir();
    const np = (cidr: string, except: string) =>
      ['apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', 'metadata: {name: api-in, namespace: shop}', `spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: '${cidr}', except: ['${except}']}}]}]}`].join('\n');
    writeFileSync(join(dir, 'a.yaml'), np('10.0.0.0/16', '10.0.1.0/24'));
    writeFileSync(join(dir, 'b.yaml'), np('10.0.0.0/24', '192.168.0.0/16'));
    const set = await loadPolicies([dir]);
    assert.equal(set.networkPolicies.length, 1);
    assert.match(JSON.stringify(set.networkPolicies[0]), /10\.0\.0\.0\/16/);
    assert.ok(set.problems.some((p) => /strict subset/.test(p.message)), JSON.stringify(set.problems));
  });

  it('a refused definition is never stored, so a later valid one of the same name is the first, not a replacement', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), deny('p').replace(', rules: [{}]', ''));
    writeFileSync(join(dir, 'b.yaml'), deny('p'));
    const set = await loadPolicies([dir]);
    assert.deepEqual(set.authorization.map((p) => p.name), ['p']);
    assert.deepEqual(set.problems.map((p) => `${p.file.slice(dir.length + 1)}: ${p.message.split(':')[0]}`), ['a.yaml: spec.rules']);
  });
});
