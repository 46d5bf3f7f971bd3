// The admission cases shared by test/verify/admission.test.ts (ztmap alone) and
// test/conformance/istio-validation-oracle.test.ts (against Istio's own validation): the
// invalid-manifests/ corpus with its headers, and the valid edge cases beside those rules.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/paths.js';

export const CORPUS = join(ROOT, 'test', 'verify', 'invalid-manifests');

export interface Case {
  file: string;
  rule: string;
  upstream: string;
  field: string;
}

export function corpus(): Case[] {
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

export const VALID: Record<string, string> = {
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
  'trust-domain-condition': 'kind: AuthorizationPolicy\nmetadata: {name: td, namespace: shop}\nspec: {rules: [{when: [{key: source.trustDomain, values: [cluster.local]}]}]}',
  'np-without-spec': 'kind: NetworkPolicy\nmetadata: {name: deny-all-ingress, namespace: shop}',
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

export const withApi = (kind: string, text: string) => `apiVersion: ${kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'security.istio.io/v1'}\n${text}`;

