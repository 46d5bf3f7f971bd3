// Admission (src/verify/admission.ts): every manifest in invalid-manifests/ breaks one rule
// of the API server or of Istio's validating webhook, named in its header with the upstream
// function; each must be refused with a problem naming its file and the field. The valid
// edge cases below sit right beside those rules and must still be applied, so the check is
// not stricter than upstream.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { admissionRefusals } from '../../src/verify/admission.js';
import { loadPolicies } from '../../src/verify/manifests.js';
import { tempDir } from '../support/cli.js';
import { ROOT } from '../support/paths.js';

const CORPUS = join(ROOT, 'test', 'verify', 'invalid-manifests');

interface Case {
  file: string;
  rule: string;
  upstream: string;
  field: string;
}

function corpus(): Case[] {
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(CORPUS, f), 'utf8');
      const header = (key: string) => {
        const m = new RegExp(`^# ${key}: (.+)$`, 'm').exec(text);
        assert.ok(m !== null, `${f} has no "# ${key}:" line`);
        return m[1]!;
      };
      return { file: join(CORPUS, f), rule: header('rule'), upstream: header('upstream'), field: header('field') };
    });
}

const VALID: Record<string, string> = {
  'deny-all-with-empty-rule': 'kind: AuthorizationPolicy\nmetadata: {name: deny-all, namespace: shop}\nspec: {action: DENY, rules: [{}]}',
  'allow-nothing': 'kind: AuthorizationPolicy\nmetadata: {name: allow-nothing, namespace: shop}\nspec: {}',
  'audit-without-rules': 'kind: AuthorizationPolicy\nmetadata: {name: audit, namespace: shop}\nspec: {action: AUDIT}',
  'custom-with-provider-and-paths': 'kind: AuthorizationPolicy\nmetadata: {name: ext-authz, namespace: shop}\nspec: {action: CUSTOM, provider: {name: opa}, rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]}',
  'dry-run-True-on-deny': 'kind: AuthorizationPolicy\nmetadata: {name: deny-dry, namespace: shop, annotations: {istio.io/dry-run: "True"}}\nspec: {action: DENY, rules: [{}]}',
  'dry-run-0-on-allow': 'kind: AuthorizationPolicy\nmetadata: {name: allow-dry, namespace: shop, annotations: {istio.io/dry-run: "0"}}\nspec: {rules: [{}]}',
  'name-with-dots': 'kind: AuthorizationPolicy\nmetadata: {name: allow.web.v1, namespace: shop}\nspec: {rules: [{}]}',
  'name-of-253': `kind: AuthorizationPolicy\nmetadata: {name: ${'a'.repeat(253)}, namespace: shop}\nspec: {rules: [{}]}`,
  'no-namespace': 'kind: AuthorizationPolicy\nmetadata: {name: allow-all}\nspec: {rules: [{}]}',
  'path-templates': 'kind: AuthorizationPolicy\nmetadata: {name: templates, namespace: shop}\nspec: {rules: [{to: [{operation: {paths: ["/api/{*}/items/{**}", "/reviews/*"], notPaths: ["/{**}"]}}]}]}',
  'target-refs-service': 'kind: AuthorizationPolicy\nmetadata: {name: svc, namespace: shop}\nspec: {targetRefs: [{kind: Service, group: "", name: api}], rules: [{}]}',
  'header-condition': 'kind: AuthorizationPolicy\nmetadata: {name: header, namespace: shop, labels: {team: ""}, annotations: {example.com/owner: "Shop Team", Example.COM/Reviewed-By: ops}}\nspec: {rules: [{when: [{key: "request.headers[x-token]", values: [abc]}]}]}',
  'peer-auth-port-level': 'kind: PeerAuthentication\nmetadata: {name: api, namespace: shop}\nspec: {selector: {matchLabels: {app: api}}, mtls: {mode: UNSET}, portLevelMtls: {"8080": {mode: PERMISSIVE}}}',
  'np-every-feature': [
    'kind: NetworkPolicy',
    `metadata: {name: ${'n'.repeat(253)}, namespace: shop}`,
    'spec:',
    '  podSelector: {matchExpressions: [{key: app, operator: Exists}]}',
    '  policyTypes: [Ingress, Egress]',
    '  ingress: [{ports: [{port: 8000, endPort: 8000}, {port: http}, {protocol: SCTP}]}]',
    '  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}, {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}]}]',
  ].join('\n'),
};

const withApi = (kind: string, text: string) => `apiVersion: ${kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'security.istio.io/v1'}\n${text}`;

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
