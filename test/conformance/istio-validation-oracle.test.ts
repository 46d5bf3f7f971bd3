// ztmap's admission check (src/verify/admission.ts and istio.ts's parser) against Istio's own
// webhook validation, built from the istio.io/istio module (test/oracle/istio-validation, by
// scripts/istio-validation-oracle.sh; needs Go, so it is in `npm run test:conformance`).
// Only Istio's kinds, and only the webhook's rules: the API server's (metadata.name, label
// syntax) are not in that module. Three sets must agree:
// - the corpus manifests whose upstream is Istio are refused by Istio; those whose upstream is
//   the API server are accepted by Istio's webhook (the API server refuses them);
// - the valid edge cases are accepted;
// - a cross product of actions, rules, providers, dry-run values, selectors and path
//   templates: ztmap refuses exactly what Istio refuses.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/inventory/load.js';
import { policySetOf } from '../../src/verify/manifests.js';
import { istioValidate, istioValidationBinary } from '../support/istio-validation.js';
import { corpus, VALID, withApi } from '../verify/admission-cases.js';
import { goNeed, suiteNeeding } from './needs.js';

const ISTIO_KINDS = new Set(['AuthorizationPolicy', 'PeerAuthentication']);

/** Whether ztmap refuses the object (a problem, nothing applied). */
function ztmapRefuses(o: unknown): boolean {
  return policySetOf([o as KubeObject]).problems.length > 0;
}

/** The generated cases: every combination, named so a disagreement reads as the manifest. */
function crossProduct(): { name: string; object: unknown }[] {
  const out: { name: string; object: unknown }[] = [];
  const actions = [undefined, 'ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];
  const rulesOf: Record<string, unknown> = {
    absent: undefined,
    empty: [],
    'empty-rule': [{}],
    path: [{ to: [{ operation: { paths: ['PATH'] } }] }],
    'from-ns': [{ from: [{ source: { namespaces: ['shop'] } }] }],
    'when-ip': [{ when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }],
  };
  const providers = [undefined, { name: 'opa' }, {}];
  const dryRuns = [undefined, 'true', 'False', 'yes', ''];
  const selectors = [undefined, { matchLabels: { app: 'api' } }, { matchLabels: { app: 'api*' } }];
  const paths = ['/api/*', '/api/{id}', '/api/{*}/x/{**}', '/{**}/x', '/a//{*}'];
  for (const action of actions)
    for (const [rk, rules] of Object.entries(rulesOf))
      for (const provider of providers)
        for (const dryRun of dryRuns)
          for (const selector of selectors)
            for (const path of rk === 'path' ? paths : ['-']) {
              // Keep the product small where a dimension cannot interact: providers and dry-run values matter with every action, selectors only once each.
              if (selector !== undefined && (dryRun !== undefined || provider !== undefined)) continue;
              const spec: Record<string, unknown> = {};
              if (action !== undefined) spec['action'] = action;
              if (rules !== undefined) spec['rules'] = JSON.parse(JSON.stringify(rules).replace('PATH', path));
              if (provider !== undefined) spec['provider'] = provider;
              if (selector !== undefined) spec['selector'] = selector;
              const metadata: Record<string, unknown> = { name: 'p', namespace: 'shop' };
              if (dryRun !== undefined) metadata['annotations'] = { 'istio.io/dry-run': dryRun };
              out.push({ name: JSON.stringify({ metadata, spec }), object: { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata, spec } });
            }
  for (const dryRun of [undefined, 'true'])
    for (const portLevel of [undefined, { '8080': { mode: 'STRICT' } }, { '0': { mode: 'STRICT' } }])
      for (const selector of [undefined, { matchLabels: { app: 'api' } }, { matchLabels: { 'app*': 'api' } }]) {
        const spec: Record<string, unknown> = { mtls: { mode: 'PERMISSIVE' } };
        if (portLevel !== undefined) spec['portLevelMtls'] = portLevel;
        if (selector !== undefined) spec['selector'] = selector;
        const metadata: Record<string, unknown> = { name: 'p', namespace: 'shop' };
        if (dryRun !== undefined) metadata['annotations'] = { 'istio.io/dry-run': dryRun };
        out.push({ name: JSON.stringify({ kind: 'PeerAuthentication', metadata, spec }), object: { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata, spec } });
      }
  return out;
}

suiteNeeding("admission against Istio's own validation (istio.io/istio pkg/config/validation)", [goNeed("the Istio validation oracle suite")], () => {
  before(async function () {
    // A cold build downloads istio.io/istio's modules and compiles them: about two minutes.
    this.timeout(600_000);
    await istioValidationBinary();
  });

  it('refuses every corpus manifest of an Istio rule, and accepts the API server\'s (not the webhook\'s)', async () => {
    const cases = corpus()
      .map((c) => ({ c, object: parse(readFileSync(c.file, 'utf8')) as { kind: string } }))
      .filter((x) => ISTIO_KINDS.has(x.object.kind));
    assert.ok(cases.length >= 30, String(cases.length));
    const verdicts = await istioValidate(cases.map((x) => x.object));
    const wrong = cases.filter((x, i) => verdicts[i]!.ok !== !x.c.upstream.startsWith('istio ')).map((x, i) => `${x.c.file}: Istio ${verdicts[i]!.ok ? 'accepts' : `refuses (${verdicts[i]!.error})`}`);
    assert.deepEqual(wrong, []);
    assert.ok(cases.some((x) => !x.c.upstream.startsWith('istio ')), 'some cases are the API server\'s');
  });

  it('accepts every valid edge case of Istio\'s kinds', async () => {
    const objects = Object.entries(VALID)
      .map(([name, text]) => ({ name, object: parse(withApi(/^kind: (\w+)/.exec(text)![1]!, text)) as { kind: string } }))
      .filter((x) => ISTIO_KINDS.has(x.object.kind));
    assert.ok(objects.length >= 10);
    const verdicts = await istioValidate(objects.map((x) => x.object));
    assert.deepEqual(verdicts.filter((v) => !v.ok).map((v) => `${objects[v.index]!.name}: ${v.error}`), []);
  });

  it('refuses exactly what Istio refuses over a cross product of actions, rules, providers, dry-run values, selectors and paths', async () => {
    const cases = crossProduct();
    const verdicts = await istioValidate(cases.map((x) => x.object));
    const refusedByIstio = verdicts.filter((v) => !v.ok).length;
    // The mix, so agreement cannot be vacuous.
    assert.ok(refusedByIstio >= 50 && cases.length - refusedByIstio >= 50, `${refusedByIstio} of ${cases.length} refused`);
    const disagreements = cases
      .map((x, i) => ({ x, istio: verdicts[i]!, ztmap: ztmapRefuses(x.object) }))
      .filter((d) => d.ztmap === d.istio.ok)
      .map((d) => `${d.x.name}: Istio ${d.istio.ok ? 'accepts' : `refuses (${d.istio.error?.replace(/\s+/g, ' ')})`}, ztmap ${d.ztmap ? 'refuses' : 'accepts'}`);
    assert.deepEqual(disagreements.slice(0, 10), [], `${disagreements.length} of ${cases.length} disagree`);
  });
});
