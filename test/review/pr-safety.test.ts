// review/pr.ts, review/pr-body.ts and review/github.ts where a team's work or a hostile name is
// at stake (the reviewer's cases of issue 16): ztmap changes and removes only its own documents,
// only in namespaces it manages; never deletes a file holding someone's text; keeps the bytes
// and line breaks of what it does not change; never appends to a team's own file; refuses names
// that would leave the policies directory; makes names inert for GitHub (no mention, no
// reference, no link); keeps the body under GitHub's limit; says what a 422 says; and leaves a
// pull request closed by a person closed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { InputError, RemoteError } from '../../src/errors.js';
import { GitHubRepository } from '../../src/review/github.js';
import type { RepoFile } from '../../src/review/layout.js';
import { prText, type ReviewFacts } from '../../src/review/pr-body.js';
import { planProposal, readProposal, repoFile, type ProposedManifest } from '../../src/review/pr.js';
import { tempDir } from '../support/cli.js';
import { GitHubApiDouble } from '../support/github-api.js';

const KINDS = ['AuthorizationPolicy', 'NetworkPolicy', 'PeerAuthentication'];
const GENERATED = { 'ztmap.io/generated-by': 'ztmap propose' };

function manifest(kind: string, namespace: string, name: string, o: { generated?: boolean; principal?: string } = {}): ProposedManifest {
  const apiVersion = kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'security.istio.io/v1';
  const spec = kind === 'PeerAuthentication' ? { mtls: { mode: 'STRICT' } } : kind === 'NetworkPolicy' ? { podSelector: {}, policyTypes: ['Ingress'] } : { action: 'ALLOW', rules: [{ from: [{ source: { principals: [o.principal ?? 'cluster.local/ns/a/sa/b'] } }] }] };
  const object = { apiVersion, kind, metadata: { name, namespace, ...(o.generated === false ? {} : { annotations: GENERATED }) }, spec };
  return { ref: { kind, namespace, name }, object, text: `# ${kind} ${namespace}/${name}\n${YAML.stringify(object, { lineWidth: 0 })}`, file: `${name}.yaml` };
}

const plan = (existing: RepoFile[], proposal: ProposedManifest[], heldBack: ProposedManifest[] = []) => planProposal({ existing, proposal, heldBack: heldBack.map((m) => m.ref), kinds: KINDS });

describe('review/pr: a team’s work is never lost', () => {
  it('changes a hand-written policy with a proposed name in no way, and reports the clash', () => {
    const team = `# do not loosen: audited 2026-10\n${manifest('AuthorizationPolicy', 'default', 'ztmap-allow-details-v1', { generated: false, principal: 'cluster.local/ns/default/sa/only-this' }).text}`;
    const p = plan([{ path: 'default/details.yaml', text: team }], [manifest('AuthorizationPolicy', 'default', 'ztmap-allow-details-v1')]);
    assert.deepEqual(p.writes, []);
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.conflicts, [{ ref: { kind: 'AuthorizationPolicy', namespace: 'default', name: 'ztmap-allow-details-v1' }, path: 'default/details.yaml' }]);
  });

  it('keeps a file, and its other documents byte for byte, when what is left is not a policy', () => {
    const helm = '{{- if .Values.extraPolicy }}\nkind: AuthorizationPolicy\n{{- end }}\n';
    for (const other of [helm, '# kept by hand\n', 'just a scalar\n']) {
      const text = `${manifest('AuthorizationPolicy', 'default', 'ztmap-old').text}---\n${other}`;
      const p = plan([{ path: 'mixed.yaml', text }], [manifest('AuthorizationPolicy', 'default', 'ztmap-new')]);
      assert.ok(p.changes.some((c) => c.change === 'removed' && c.ref.name === 'ztmap-old'));
      const w = p.writes.find((x) => x.path === 'mixed.yaml');
      assert.ok(w !== undefined && w.text !== null, 'the file is kept');
      assert.ok(w.text.endsWith(other));
      assert.ok(!w.text.includes('ztmap-old'));
    }
    // Only whitespace left: the file goes.
    const p = plan([{ path: 'gone.yaml', text: `${manifest('AuthorizationPolicy', 'default', 'ztmap-old').text}---\n\n` }], [manifest('AuthorizationPolicy', 'default', 'ztmap-new')]);
    assert.deepEqual(p.writes.find((x) => x.path === 'gone.yaml'), { path: 'gone.yaml', text: null });
  });

  it('removes only in namespaces the proposal manages, and keeps what it held back', () => {
    const existing = [
      { path: 'payments/deny.yaml', text: manifest('AuthorizationPolicy', 'payments', 'ztmap-deny-all').text },
      { path: 'default/strict.yaml', text: manifest('PeerAuthentication', 'default', 'ztmap-strict').text },
      { path: 'default/old.yaml', text: manifest('AuthorizationPolicy', 'default', 'ztmap-old').text },
    ];
    const p = plan(existing, [manifest('AuthorizationPolicy', 'default', 'ztmap-allow')], [manifest('PeerAuthentication', 'default', 'ztmap-strict')]);
    assert.deepEqual(
      p.changes.filter((c) => c.change === 'removed').map((c) => c.ref.name),
      ['ztmap-old'],
    );
  });

  it("never appends to a file without a ztmap document, nor learns a team's literal file name as a layout", () => {
    const team = (ns: string, n: string) => manifest('AuthorizationPolicy', ns, n, { generated: false }).text;
    // One multi-document file whose name is no placeholder: not a layout.
    const crlf = { path: 'crlf.yaml', text: `${team('default', 'a')}---\n${team('default', 'b')}` };
    const p1 = plan([crlf], [manifest('AuthorizationPolicy', 'default', 'ztmap-allow-x')]);
    assert.equal(p1.layout.template, '{target}/{namespace}/{kind}-{name}.yaml');
    assert.deepEqual(p1.writes.map((w) => w.path), ['istio/default/authorizationpolicy-ztmap-allow-x.yaml']);
    // {namespace}.yaml, the team's default.yaml: ztmap's new policy goes to a file of its own beside it.
    const p2 = plan([{ path: 'default.yaml', text: `${team('default', 'a')}---\n${team('default', 'b')}` }, { path: 'shop.yaml', text: `${team('shop', 'c')}---\n${manifest('AuthorizationPolicy', 'shop', 'ztmap-d').text}` }], [
      manifest('AuthorizationPolicy', 'default', 'ztmap-allow-x'),
      manifest('AuthorizationPolicy', 'shop', 'ztmap-allow-y'),
      manifest('AuthorizationPolicy', 'shop', 'ztmap-d'),
    ]);
    assert.equal(p2.layout.template, '{namespace}.yaml');
    assert.deepEqual(p2.writes.map((w) => w.path), ['default.ztmap.yaml', 'shop.yaml']);
  });

  it("writes with the file's own line breaks and never writes a file that is not UTF-8", () => {
    const crlf = `${manifest('AuthorizationPolicy', 'shop', 'ztmap-a').text}---\n${manifest('AuthorizationPolicy', 'shop', 'team-b', { generated: false }).text}`.replace(/\n/g, '\r\n');
    const p = planProposal({ existing: [{ path: 'shop.yaml', text: crlf }, { path: 'pay.yaml', text: `${manifest('AuthorizationPolicy', 'pay', 'ztmap-c').text}---\n${manifest('AuthorizationPolicy', 'pay', 'ztmap-d').text}` }], proposal: [manifest('AuthorizationPolicy', 'shop', 'ztmap-a'), manifest('AuthorizationPolicy', 'shop', 'ztmap-new')], kinds: KINDS });
    const text = p.writes.find((w) => w.path === 'shop.yaml')!.text!;
    assert.ok(text.startsWith(crlf), 'the file as it was, then the new document');
    assert.ok(!/(?<!\r)\n/.test(text), 'no bare line feed in a CRLF file');

    const latin1 = Buffer.concat([Buffer.from(`# équipe\n${manifest('AuthorizationPolicy', 'shop', 'ztmap-a', { principal: 'old' }).text}`, 'latin1')]);
    const file = repoFile('shop.yaml', latin1);
    assert.equal(file.undecodable, true);
    assert.equal(Buffer.from(file.text, 'latin1').equals(latin1), true, 'read byte for byte');
    const q = planProposal({ existing: [file], proposal: [manifest('AuthorizationPolicy', 'shop', 'ztmap-a')], kinds: KINDS });
    assert.deepEqual(q.writes, []);
    assert.equal(q.conflicts.length, 1);
    // UTF-8 with a byte order mark reads back as the same bytes.
    const bom = Buffer.from('\uFEFFa: é\n', 'utf8');
    assert.ok(Buffer.from(repoFile('x.yaml', bom).text, 'utf8').equals(bom));
  });
});

describe('review/pr: hostile names', () => {
  async function proposalWith(name: string, namespace = 'default'): Promise<string> {
    const dir = tempDir('ztmap-pr-hostile-');
    writeFileSync(join(dir, 'review.json'), '{}');
    writeFileSync(join(dir, 'rules.json'), '{}');
    mkdirSync(join(dir, 'istio'), { recursive: true });
    const m = manifest('AuthorizationPolicy', namespace, 'placeholder');
    (m.object['metadata'] as Record<string, unknown>)['name'] = name;
    writeFileSync(join(dir, 'istio', 'p.yaml'), YAML.stringify(m.object));
    return dir;
  }

  it('refuses a manifest whose name or namespace is not a Kubernetes name', async () => {
    for (const [name, ns] of [
      ['evil\n0 0000000000000000000000000000000000000000\t.github/workflows/ci', 'default'],
      ['x/../../../../.github/workflows/deploy', 'default'],
      ['ok', '../..'],
      ['"quoted', 'default'],
      ['Upper', 'default'],
    ] as const) {
      await assert.rejects(readProposal(await proposalWith(name, ns)), InputError, JSON.stringify(name));
    }
    assert.equal((await readProposal(await proposalWith('ztmap-allow.v1'))).manifests[0]!.ref.name, 'ztmap-allow.v1');
  });

  it('refuses a path that would leave the policies directory, whatever the layout', () => {
    const m = manifest('AuthorizationPolicy', 'default', 'x/../../../../.github/workflows/deploy');
    assert.throws(() => plan([], [m]), InputError);
  });
});

function review(o: Partial<ReviewFacts> = {}): ReviewFacts {
  return {
    window: { first: '2026-11-24T10:00:00.000Z', last: '2026-11-25T10:00:00.000Z', hours: 24 },
    targets: ['istio'],
    counts: { rules: 1, excluded: 0, manifests: 1, errors: 0, blockers: 0, warnings: 0 },
    findings: [],
    coverage: { windowWarnings: [], noInbound: [], noOutbound: [], idleJobs: [], broaderThanObserved: [] },
    mtls: [],
    denied: [],
    evidence: { rulesBySource: {}, l4IdentityOnly: [] },
    ...o,
  };
}

const emptyPlan = { layout: { template: '{namespace}/{name}.yaml', matched: 1, files: 1 }, changes: [], conflicts: [], writes: [], unchanged: 0 };

describe('review/pr-body: inert for GitHub, and within its limit', () => {
  it('no mention, no issue reference, no entity, no autolink from a name', () => {
    const names = ['@acme/security', 'fixes #123', 'acme/gitops#7', '&#64;team', 'https://evil.example/x', 'www.evil.example', 'GH-12'];
    const t = prText({
      review: review({ denied: names.map((n) => ({ from: `default/Deployment/${n}`, to: 'default/Deployment/b', port: 80, protocol: 'http', operation: `GET ${n}`, kind: 'rbac', requests: 1 })) }),
      rules: [],
      plan: emptyPlan,
      heldBack: [],
      policiesPath: 'policies',
      base: 'main',
    });
    assert.ok(!/@(?!\u200B)/.test(t.body), 'a mention');
    assert.ok(!/#(?!\u200B)\d|#(?!\u200B)[a-z]/i.test(t.body.split('\n').filter((l) => !l.startsWith('#')).join('\n')), 'a reference');
    assert.ok(!t.body.includes('&#64;'), 'an entity GitHub would decode');
    assert.ok(!t.body.includes('://') && !/www\./i.test(t.body), 'a link');
    assert.match(t.body, /&amp;/);
  });

  it('cuts a body that lists alone exceed, with a pointer to the whole text', () => {
    const t = prText({ review: review({ coverage: { windowWarnings: ['w'.repeat(100_000)], noInbound: [], noOutbound: [], idleJobs: [], broaderThanObserved: [] } }), rules: [], plan: emptyPlan, heldBack: [], policiesPath: 'policies', base: 'main' });
    assert.ok(t.body.length <= 60_000, String(t.body.length));
    assert.match(t.body, /cut to GitHub's size limit: the whole proposal is in its review\.md/);
  });

  it('names a hand-written policy it left alone under Risks', () => {
    const t = prText({ review: review(), rules: [], plan: { ...emptyPlan, conflicts: [{ ref: { kind: 'AuthorizationPolicy', namespace: 'default', name: 'ztmap-allow-details-v1' }, path: 'default/details.yaml' }] }, heldBack: [], policiesPath: 'policies', base: 'main' });
    assert.match(t.body, /#### Name conflicts[^\n]*\(1\)\n\n- AuthorizationPolicy default\/ztmap-allow-details-v1 in policies\/default\/details\.yaml/);
  });
});

describe('review/github: what GitHub says, and a person’s decision', () => {
  const TOKEN = 'ghp_test0123456789abcdefghijklmnopqrstuv';
  let api: GitHubApiDouble;
  let sha = 'a'.repeat(40);
  let gh: GitHubRepository;
  beforeEach(async () => {
    api = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'], headShaOf: () => sha });
    gh = new GitHubRepository({ repository: 'acme/gitops', token: TOKEN, apiUrl: api.url, userAgent: 'ztmap-test' });
  });
  afterEach(async () => {
    assert.deepEqual(api.violations, []);
    await api.close();
  });
  const PR = { head: 'ztmap/policies', base: 'main', title: 't', body: 'b' };

  it('prints the reason of a 422 (a body over 65,536 characters) and never blames --base for it', async () => {
    const err = await gh.openOrUpdate({ ...PR, body: 'x'.repeat(65_537) }).then(
      () => assert.fail('expected a 422'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RemoteError);
    assert.equal(err.status, 422);
    assert.match(err.message, /body is too long \(maximum is 65536 characters\)/);
  });

  it('says which setting to turn on when GitHub Actions may not open pull requests', async () => {
    api.faults.push({ kind: 'actions-may-not-open' });
    const err = await gh.openOrUpdate(PR).then(
      () => assert.fail('expected a 403'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RemoteError);
    assert.equal(err.status, 403);
    assert.match(err.message, /Allow GitHub Actions to create and approve pull requests/);
  });

  it('leaves a pull request a person closed unmerged closed, until the branch moves', async () => {
    sha = 'a'.repeat(40);
    assert.equal((await gh.openOrUpdate({ ...PR, same: async (c: { sha: string }) => c.sha === sha })).action, 'opened');
    api.pulls[0]!.state = 'closed';
    const writes = api.writes.length;
    assert.deepEqual(await gh.openOrUpdate({ ...PR, same: async (c: { sha: string }) => c.sha === sha }), { number: 1, url: 'https://github.example/acme/gitops/pull/1', action: 'left closed' });
    assert.equal(api.writes.length, writes);
    sha = 'b'.repeat(40);
    assert.equal((await gh.openOrUpdate({ ...PR, body: 'new traffic', same: async (c: { sha: string }) => c.sha === sha })).action, 'opened');
    assert.equal(api.pulls.length, 2);
  });
});
