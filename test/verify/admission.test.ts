// Admission (src/verify/admission.ts): every manifest in invalid-manifests/ breaks one rule
// of the API server or of Istio's validating webhook, named in its header with the upstream
// function; each must be refused with a problem naming its file and the field. The valid
// edge cases below sit right beside those rules and must still be applied, so the check is
// not stricter than upstream.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { admissionRefusals } from '../../src/verify/admission.js';
import { loadPolicies } from '../../src/verify/manifests.js';
import { tempDir } from '../support/cli.js';
import { CORPUS, corpus, VALID, withApi } from './admission-cases.js';

describe('admission: what the API server and Istio refuse', () => {
  const cases = corpus();

  it('the corpus holds at least thirty invalid manifests, each with its rule and upstream source', () => {
    assert.ok(cases.length >= 30, String(cases.length));
    for (const c of cases) assert.match(c.upstream, /^(istio|kubernetes|k8s\.io|apiextensions)/, c.file);
    assert.equal(new Set(cases.map((c) => c.rule)).size, cases.length, 'each manifest breaks its own rule');
  });

  for (const c of corpus()) {
    it(`refuses ${c.file.slice(CORPUS.length + 1)}: ${c.rule}`, async () => {
      const set = await loadPolicies([c.file]);
      assert.deepEqual([set.authorization.length, set.peerAuthentication.length, set.networkPolicies.length], [0, 0, 0], 'nothing is applied');
      assert.ok(set.problems.length > 0);
      for (const p of set.problems) assert.equal(p.file, c.file);
      assert.ok(
        set.problems.some((p) => p.message.includes(c.field) && /would (refuse|reject) it/.test(p.message)),
        `no problem names ${c.field}: ${JSON.stringify(set.problems)}`,
      );
    });
  }

  it('applies the valid edge cases beside those rules', async () => {
    const dir = tempDir();
    for (const [name, text] of Object.entries(VALID)) writeFileSync(join(dir, `${name}.yaml`), withApi(/^kind: (\w+)/.exec(text)![1]!, text));
    const set = await loadPolicies([dir]);
    assert.deepEqual(set.problems, []);
    assert.equal(set.authorization.length + set.peerAuthentication.length + set.networkPolicies.length, Object.keys(VALID).length);
    assert.deepEqual(set.authorization.filter((p) => p.dryRun).map((p) => p.name), ['deny-dry']);
  });

  it('property: a name is refused exactly when it is not a DNS-1123 subdomain of at most 253 characters', () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
    const valid = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
    const spoiled = fc.tuple(valid, fc.constantFrom('_', 'A', '-', '.', ' ', '/', '..'), fc.nat()).map(([n, bad, at]) => {
      const i = at % (n.length + 1);
      return bad === '-' || bad === '.' ? (i % 2 === 0 ? bad + n : n + bad) : n.slice(0, i) + bad + n.slice(i);
    });
    const refusedName = (name: string, kind: string) =>
      admissionRefusals({ apiVersion: kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'security.istio.io/v1', kind, metadata: { name, namespace: 'shop' }, spec: { podSelector: {}, rules: [{}] } }).some((r) => r.field === 'metadata.name');
    fc.assert(
      fc.property(valid, spoiled, fc.constantFrom('AuthorizationPolicy', 'PeerAuthentication', 'NetworkPolicy'), (good, bad, kind) => {
        assert.equal(refusedName(good, kind), false, good);
        assert.equal(refusedName(bad, kind), true, bad);
      }),
      { numRuns: 200 },
    );
  });
});
