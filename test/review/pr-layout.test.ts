// review/layout.ts and review/pr.ts: a repository's layout is learned from its files, a
// proposal is planned into it, and what the plan does not change keeps its bytes. Properties
// (fast-check): splitting a file into documents loses no byte; a path's template fills back to
// the path; planning a proposal into the result of planning it changes nothing.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import YAML from 'yaml';
import { detectLayout, fillTemplate, joinDocuments, splitDocuments, templateOf, type ObjectRef, type RepoFile } from '../../src/review/layout.js';
import { planProposal, type ProposedManifest } from '../../src/review/pr.js';

function manifest(kind: 'AuthorizationPolicy' | 'NetworkPolicy', namespace: string, name: string, o: { principals?: string[]; generated?: boolean; annotations?: Record<string, string> } = {}): ProposedManifest {
  const apiVersion = kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'security.istio.io/v1';
  const annotations = { ...(o.generated === false ? {} : { 'ztmap.io/generated-by': 'ztmap propose' }), ...o.annotations };
  const spec = kind === 'NetworkPolicy' ? { podSelector: { matchLabels: { app: name } }, policyTypes: ['Ingress'] } : { action: 'ALLOW', rules: [{ from: [{ source: { principals: o.principals ?? ['cluster.local/ns/a/sa/b'] } }] }] };
  const object = { apiVersion, kind, metadata: { name, namespace, ...(Object.keys(annotations).length === 0 ? {} : { annotations }) }, spec };
  const text = `# ${kind} ${namespace}/${name}\n\n${YAML.stringify(object, { lineWidth: 0 })}`;
  return { ref: { kind, namespace, name }, object, text, file: `${kind}/${namespace}/${name}.yaml` };
}

/** The repository's files after a plan's writes. */
function applyPlan(files: readonly RepoFile[], writes: { path: string; text: string | null }[]): RepoFile[] {
  const m = new Map(files.map((f) => [f.path, f.text]));
  for (const w of writes) {
    if (w.text === null) m.delete(w.path);
    else m.set(w.path, w.text);
  }
  return [...m].map(([path, text]) => ({ path, text }));
}

const KINDS = ['AuthorizationPolicy', 'NetworkPolicy'];

describe('review/layout: documents and templates', () => {
  it('splits a file into documents and joins them back byte for byte', () => {
    const line = fc.oneof(fc.constantFrom('---', '--- # next', '---\r', '', '  ---', 'a: 1', '# c', '...'), fc.string({ maxLength: 12 }).filter((s) => !s.includes('\n')));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.boolean(), (lines, trailing) => {
        const text = lines.join('\n') + (trailing ? '\n' : '');
        assert.equal(joinDocuments(splitDocuments(text)), text);
      }),
    );
  });

  it('finds the objects of a multi-document file and keeps what is not a policy', () => {
    const docs = splitDocuments('# header\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n---\n: bad: [\n');
    assert.deepEqual(docs.map((d) => d.ref), [undefined, undefined, { kind: 'NetworkPolicy', namespace: 'shop', name: 'np' }, undefined]);
  });

  it("learns a path's template, which fills back to the path", () => {
    const templates = ['{namespace}/{kind}-{name}.yaml', '{namespace}/{name}.yml', '{kinds}/{namespace}/{name}.yaml', 'base/{namespace}_{name}.yaml', '{target}/{namespace}/{kind}-{name}.yaml', '{name}.{namespace}.yaml', '{Kind}/{name}.yaml'];
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
    fc.assert(
      fc.property(fc.constantFrom(...templates), fc.constantFrom(...KINDS), label, label, (t, kind, ns, name) => {
        const ref: ObjectRef = { kind, namespace: `ns-${ns}`, name: `p-${name}` };
        const path = fillTemplate(t, ref);
        const learned = templateOf(path, [ref]);
        assert.ok(learned !== undefined, path);
        assert.equal(fillTemplate(learned, ref), path);
        // Values that cannot be confused with one another give the template back.
        if (kind === 'AuthorizationPolicy') assert.equal(learned, t);
      }),
    );
  });

  it('detects one file per resource by namespace, several documents per namespace file, and a flat .yml directory', () => {
    const ap = (ns: string, n: string) => manifest('AuthorizationPolicy', ns, n, { generated: false }).text;
    assert.equal(detectLayout([{ path: 'shop/allow-web.yaml', text: ap('shop', 'allow-web') }, { path: 'pay/allow-api.yaml', text: ap('pay', 'allow-api') }]).template, '{namespace}/{name}.yaml');
    assert.equal(detectLayout([{ path: 'shop.yaml', text: `${ap('shop', 'a')}---\n${ap('shop', 'b')}` }, { path: 'pay.yaml', text: `${ap('pay', 'c')}---\n${ap('pay', 'd')}` }]).template, '{namespace}.yaml');
    assert.equal(detectLayout([{ path: 'authorizationpolicy-a.yml', text: ap('shop', 'a') }, { path: 'authorizationpolicy-b.yml', text: ap('pay', 'b') }, { path: 'notes.yml', text: 'x: 1\n' }]).template, '{kind}-{name}.yml');
    // ztmap's own layout: a NetworkPolicy's kind and target are both `networkpolicy`; the AuthorizationPolicies tell them apart.
    const own = [manifest('NetworkPolicy', 'shop', 'a'), manifest('NetworkPolicy', 'shop', 'b'), manifest('AuthorizationPolicy', 'shop', 'c')].map((m) => ({ path: fillTemplate('{target}/{namespace}/{kind}-{name}.yaml', m.ref), text: m.text }));
    assert.equal(detectLayout(own).template, '{target}/{namespace}/{kind}-{name}.yaml');
    // No policies yet: ztmap's own layout.
    assert.deepEqual(detectLayout([{ path: 'README.yaml', text: 'a: 1\n' }]), { template: '{target}/{namespace}/{kind}-{name}.yaml', matched: 0, files: 0 });
  });
});

describe('review/pr: planning a proposal into a repository', () => {
  const handWritten = manifest('AuthorizationPolicy', 'shop', 'team-allow-web', { generated: false });
  const old = manifest('AuthorizationPolicy', 'shop', 'ztmap-allow-api', { principals: ['cluster.local/ns/shop/sa/web'] });
  const stale = manifest('NetworkPolicy', 'shop', 'ztmap-ingress-gone');
  const untouchedNp = manifest('NetworkPolicy', 'shop', 'ztmap-default-deny');
  const repo: RepoFile[] = [
    { path: 'shop.yaml', text: `# shop's policies, kept by hand\n${handWritten.text}---\n${old.text}---\n${untouchedNp.text}---\n${stale.text}` },
    { path: 'pay.yaml', text: manifest('NetworkPolicy', 'pay', 'team-np', { generated: false }).text },
  ];
  const changed = manifest('AuthorizationPolicy', 'shop', 'ztmap-allow-api', { principals: ['cluster.local/ns/shop/sa/web', 'cluster.local/ns/shop/sa/admin'], annotations: { 'ztmap.io/observed-requests': '12' } });
  const added = manifest('AuthorizationPolicy', 'billing', 'ztmap-allow-ledger');
  const proposal = [changed, added, untouchedNp];

  it('changes in place, adds in the layout, removes its own stale manifests, and keeps every other byte', () => {
    const plan = planProposal({ existing: repo, proposal, kinds: KINDS });
    assert.equal(plan.layout.template, '{namespace}.yaml');
    assert.deepEqual(
      plan.changes.map((c) => `${c.change} ${c.ref.namespace}/${c.ref.name} ${c.path}`),
      ['added billing/ztmap-allow-ledger billing.yaml', 'removed shop/ztmap-ingress-gone shop.yaml', 'changed shop/ztmap-allow-api shop.yaml'],
    );
    assert.equal(plan.unchanged, 1);
    assert.deepEqual(plan.writes.map((w) => w.path), ['billing.yaml', 'shop.yaml']);
    const shop = splitDocuments(plan.writes.find((w) => w.path === 'shop.yaml')!.text!);
    const before = splitDocuments(repo[0]!.text);
    // The hand-written policy and the unchanged one keep their bytes; the stale one is gone.
    assert.equal(shop[0]!.text, before[0]!.text);
    assert.equal(shop[2]!.text, before[2]!.text);
    assert.equal(shop.length, 3);
    assert.equal(shop[1]!.text, changed.text);
    assert.equal(plan.writes.find((w) => w.path === 'billing.yaml')!.text, added.text);
  });

  it('never removes a hand-written policy, nor a kind the proposal does not cover', () => {
    const plan = planProposal({ existing: repo, proposal: [untouchedNp], kinds: ['AuthorizationPolicy'] });
    assert.deepEqual(plan.changes.map((c) => `${c.change} ${c.ref.name}`), ['removed ztmap-allow-api']);
  });

  it('deletes a file whose last document it removes', () => {
    const plan = planProposal({ existing: [{ path: 'shop/gone.yaml', text: stale.text }, { path: 'shop/keep.yaml', text: untouchedNp.text }], proposal: [untouchedNp], kinds: KINDS });
    assert.deepEqual(plan.writes, [{ path: 'shop/gone.yaml', text: null }]);
  });

  it("keeps the team's dry-run state and ignores the observed-request count", () => {
    const inDryRun = manifest('AuthorizationPolicy', 'shop', 'ztmap-allow-api', { principals: ['cluster.local/ns/shop/sa/web'], annotations: { 'istio.io/dry-run': 'true', 'ztmap.io/observed-requests': '3' } });
    const files = [{ path: 'shop/ztmap-allow-api.yaml', text: inDryRun.text }];
    assert.deepEqual(planProposal({ existing: files, proposal: [old], kinds: KINDS }).writes, []);
    const plan = planProposal({ existing: files, proposal: [changed], kinds: KINDS });
    const written = YAML.parse(plan.writes[0]!.text!) as { metadata: { annotations: Record<string, string> }; spec: unknown };
    assert.equal(written.metadata.annotations['istio.io/dry-run'], 'true');
    assert.deepEqual(written.spec, changed.object['spec']);
  });

  it('changes nothing when planned again into its own result (any layout, any subset)', () => {
    const layouts = [[], repo, [{ path: 'x/authorizationpolicy-a.yml', text: manifest('AuthorizationPolicy', 'x', 'a', { generated: false }).text }]];
    const all = [changed, added, untouchedNp, stale, manifest('NetworkPolicy', 'billing', 'ztmap-default-deny'), manifest('AuthorizationPolicy', 'pay', 'ztmap-allow-pay')];
    fc.assert(
      fc.property(fc.constantFrom(...layouts), fc.subarray(all), (existing, chosen) => {
        const first = planProposal({ existing, proposal: chosen, kinds: KINDS });
        const after = applyPlan(existing, first.writes);
        const second = planProposal({ existing: after, proposal: chosen, kinds: KINDS });
        assert.deepEqual(second.writes, []);
        assert.deepEqual(second.changes, []);
        assert.equal(second.unchanged, chosen.length);
      }),
    );
  });
});
