// @e2e: `ztmap pr` through the real binary, against real git repositories in temporary folders
// (a bare repository as the remote) and the GitHub REST double on loopback: the proposal lands
// in each repository's own layout, every file it does not change keeps its bytes, a second run
// over the same traffic makes no commit and no API write, and GitHub's refusals exit 10 with
// what to do.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ztmap, tempDir } from '../support/cli.js';
import { BOOKINFO_INVENTORY, git, GIT_ENV, proposal, repoWith, show, treeFiles } from '../support/git-repo.js';
import { GitHubApiDouble, ztmapAsync, type AsyncRun } from '../support/github-api.js';
import { BIN, FIXTURES } from '../support/paths.js';

const INVENTORY = BOOKINFO_INVENTORY;
const TOKEN = 'ghp_e2eSecretToken0123456789abcdefghijk';
const BRANCH = 'ztmap/policies';


const pr = (args: string[]) => ztmap(['pr', ...args], { env: GIT_ENV });
const remoteHead = (remote: string) => git(remote, 'rev-parse', `refs/heads/${BRANCH}`).trim();

const TEAM_POLICY = `# Kept by the platform team: ztmap must never change or remove it.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: team-allow-ingress
  namespace: default
spec:
  selector: {matchLabels: {app: productpage}}   # flow style, as the team writes it
  action: ALLOW
  rules:
  - from:
    - source: {principals: ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]}
`;

describe('ztmap pr: a proposal as a branch in the repository’s own layout @e2e', () => {
  let day1: string;
  let both: string;
  before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(240_000);
    day1 = proposal(join(FIXTURES, 'bookinfo', 'logs'));
    both = proposal(join(FIXTURES, 'bookinfo', 'logs'), join(FIXTURES, 'bookinfo-day2', 'logs'));
  });

  describe('one file per resource, a directory per namespace', () => {
    let repo: string;
    let remote: string;
    let first: ReturnType<typeof pr>;
    let second: ReturnType<typeof pr>;
    let headAfterFirst: string;
    let twin: { repo: string; remote: string };
    let inTwin: ReturnType<typeof pr>;
    let afterMerge: ReturnType<typeof pr>;
    let mainBefore: string;
    before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(240_000);
      ({ repo, remote } = repoWith({ 'policies/default/team-allow-ingress.yaml': TEAM_POLICY, 'policies/kustomization.yaml': 'resources: []\n', 'apps/web.yaml': 'kind: Deployment\n' }));
      first = pr(['--repo', repo, '--proposal', day1, '--push', 'origin']);
      headAfterFirst = remoteHead(remote);
      second = pr(['--repo', repo, '--proposal', day1, '--push', 'origin']);
      twin = repoWith({ 'policies/default/team-allow-ingress.yaml': TEAM_POLICY, 'policies/kustomization.yaml': 'resources: []\n', 'apps/web.yaml': 'kind: Deployment\n' });
      inTwin = pr(['--repo', twin.repo, '--proposal', day1]);
      mainBefore = git(repo, 'rev-parse', 'main').trim();
      git(repo, 'merge', '--quiet', '--ff-only', BRANCH);
      afterMerge = pr(['--repo', repo, '--proposal', day1, '--push', 'origin']);
    });

    it('writes each manifest as {namespace}/{name}.yaml, pushes the branch, and prints the body', () => {
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stderr, /layout \{namespace\}\/\{name\}\.yaml/);
      assert.match(first.stderr, /pushed ztmap\/policies to origin/);
      assert.match(first.stdout, /^## Least-privilege policies proposed by ztmap/);
      const files = treeFiles(remote, BRANCH);
      assert.ok(files.includes('policies/default/ztmap-allow-details-v1.yaml'), files.join(' '));
      assert.ok(files.includes('policies/legacy/ztmap-workload-legacy-client.yaml'));
      // STRICT mTLS with blockers is held back, and named in the body.
      assert.ok(!files.some((f) => f.includes('peerauthentication') || f.includes('ztmap-strict')));
      assert.match(first.stdout, /Held back: not in this pull request \(1\)/);
      // A new manifest is the proposal's file, byte for byte.
      assert.equal(show(remote, BRANCH, 'policies/default/ztmap-allow-details-v1.yaml'), readFileSync(join(day1, 'istio/default/authorizationpolicy-ztmap-allow-details-v1.yaml'), 'utf8'));
    });

    it('keeps every file it does not change byte for byte, and the work tree untouched', () => {
      for (const f of ['README.md', 'policies/default/team-allow-ingress.yaml', 'policies/kustomization.yaml', 'apps/web.yaml']) assert.equal(show(remote, BRANCH, f), show(repo, 'main', f), f);
      assert.equal(git(repo, 'status', '--porcelain'), '');
      assert.equal(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'main');
      assert.equal(git(repo, 'rev-parse', `${BRANCH}^`).trim(), mainBefore);
      assert.match(git(repo, 'log', '-1', '--format=%an <%ae>%n%s', BRANCH), /^Policy Owner <owner@example.com>\nztmap: least-privilege policies from traffic observed 2026-11-24 \.\. 2026-11-24 \(20 added, 0 changed, 0 removed\)/);
    });

    it('the same inputs give the same tree in another clone', () => {
      const r = inTwin;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, first.stdout);
      assert.equal(git(twin.repo, 'rev-parse', `${BRANCH}^{tree}`), git(remote, 'rev-parse', `${BRANCH}^{tree}`));
    });

    it('a second run over the same traffic makes no commit', () => {
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stderr, /already holds this proposal/);
      assert.equal(remoteHead(remote), headAfterFirst);
      // The body is the same bytes.
      assert.equal(second.stdout, first.stdout);
    });

    it('after the branch is merged, the same proposal has nothing to propose', () => {
      const r = afterMerge;
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /nothing to propose/);
      assert.equal(r.stdout, '');
    });
  });

  describe('several documents per namespace file', () => {
    let repo: string;
    let r: ReturnType<typeof pr>;
    const other = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n    name: team-np\n    namespace: legacy\nspec:\n    podSelector: {}\n';
    before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(240_000);
      ({ repo } = repoWith({ 'policies/default.yaml': `${TEAM_POLICY}---\n${TEAM_POLICY.replace('team-allow-ingress', 'team-allow-other')}`, 'policies/legacy.yaml': other }));
      r = pr(['--repo', repo, '--proposal', day1]);
    });

    it("puts the proposal's documents in one file per namespace beside the team's, whose files keep their bytes", () => {
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /layout \{namespace\}\.yaml/);
      assert.equal(show(repo, BRANCH, 'policies/default.yaml'), show(repo, 'main', 'policies/default.yaml'));
      assert.equal(show(repo, BRANCH, 'policies/legacy.yaml'), other);
      // The proposal's 17 documents for default (7 AuthorizationPolicies, 10 NetworkPolicies).
      assert.equal(show(repo, BRANCH, 'policies/default.ztmap.yaml')!.split(/^---$/m).length, 17);
      assert.deepEqual(treeFiles(repo, BRANCH).filter((f) => f.startsWith('policies/')), ['policies/default.yaml', 'policies/default.ztmap.yaml', 'policies/legacy.yaml', 'policies/legacy.ztmap.yaml']);
    });
  });

  describe('a flat directory of .yml files, elsewhere in the repository', () => {
    let repo: string;
    let r: ReturnType<typeof pr>;
    before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(240_000);
      ({ repo } = repoWith({ 'k8s/security/authorizationpolicy-team-allow-ingress.yml': TEAM_POLICY }));
      r = pr(['--repo', repo, '--proposal', day1, '--policies-path', 'k8s/security/', '--branch', 'policy-bot', '--author', 'Policy Bot <bot@example.com>']);
    });

    it('names files {kind}-{name}.yml there, on the branch asked for, as the author asked for', () => {
      assert.equal(r.status, 0, r.stderr);
      const files = treeFiles(repo, 'policy-bot').filter((f) => f.startsWith('k8s/'));
      assert.ok(files.includes('k8s/security/authorizationpolicy-ztmap-allow-details-v1.yml'), files.join(' '));
      // The template has no namespace: the two namespaces' ztmap-default-deny share one file, as two documents.
      const denyAll = show(repo, 'policy-bot', 'k8s/security/networkpolicy-ztmap-default-deny.yml')!;
      assert.deepEqual([...denyAll.matchAll(/^  namespace: (\S+)$/gm)].map((m) => m[1]), ['default', 'legacy']);
      assert.equal(git(repo, 'log', '-1', '--format=%an <%ae>', 'policy-bot').trim(), 'Policy Bot <bot@example.com>');
    });
  });

  describe('a repository whose own policies already decide every request as proposed', () => {
    let r: ReturnType<typeof pr>;
    let repo: string;
    before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(240_000);
      // The team's copies of day 1's proposal, under their own names: the same policies in other words.
      const files: Record<string, string> = {};
      for (const f of readdirSync(day1, { recursive: true, encoding: 'utf8' }).filter((x) => x.endsWith('.yaml'))) {
        files[`policies/team/${f.replace(/\//g, '-')}`] = readFileSync(join(day1, f), 'utf8').replace(/name: ztmap-/g, 'name: team-').replace(/^ {4}ztmap\.io\/generated-by: .*\n/m, '');
      }
      ({ repo } = repoWith(files));
      r = pr(['--repo', repo, '--proposal', day1, '-i', INVENTORY]);
    });

    it('has nothing to propose: the manifests differ in text, not in what they decide', () => {
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /nothing to propose: 20 manifests differ in text, but main's policies decide every one of \d+ requests replayed as the proposal does/);
      assert.equal(r.stdout, '');
      assert.equal(git(repo, 'branch', '--list', BRANCH), '');
    });
  });

  describe('refusals', () => {
    let repo: string;
    let dirty: ReturnType<typeof pr>;
    let noToken: ReturnType<typeof pr>;
    let notRepo: ReturnType<typeof pr>;
    let help: ReturnType<typeof pr>;
    let dryRun: ReturnType<typeof pr>;
    let tty: SpawnSyncReturns<string>;
    before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(240_000);
      ({ repo } = repoWith({}));
      dryRun = pr(['--repo', repo, '--proposal', day1, '--dry-run']);
      // `script` gives the command a pseudo-terminal, as an interactive shell would.
      const cmd = `${process.execPath} ${BIN} pr --repo ${repo} --proposal ${day1} -i ${INVENTORY} --dry-run > /dev/null`;
      tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', TERM: 'xterm', NO_COLOR: '1', ...GIT_ENV } });
      writeFileSync(join(repo, 'README.md'), 'edited\n');
      dirty = pr(['--repo', repo, '--proposal', day1]);
      noToken = pr(['--repo', repo, '--proposal', day1, '--github-repo', 'acme/gitops', '--push', 'origin']);
      notRepo = pr(['--repo', tempDir(), '--proposal', day1]);
      help = pr(['--help']);
    });

    it('--dry-run prints the body and makes no branch; progress only on a TTY, no colour with NO_COLOR', () => {
      assert.equal(dryRun.status, 0, dryRun.stderr);
      assert.doesNotMatch(dryRun.stderr, /\x1b|\r/, 'no escape codes when piped');
      assert.equal(tty.status, 0, tty.stdout);
      assert.match(tty.stdout, /\r\x1b\[Kpr: replaying requests to destination \d+\/\d+/);
      assert.doesNotMatch(tty.stdout, /\x1b\[\d+m/);
      assert.match(dryRun.stdout, /### Rollout plan/);
      assert.equal(git(repo, 'branch', '--list', BRANCH), '');
    });

    it('a dirty work tree, a missing token, a folder that is no repository: exit 2, saying what to do', () => {
      assert.equal(dirty.status, 2);
      assert.match(dirty.stderr, /uncommitted changes \(README\.md\)\. Commit or stash them first/);
      assert.equal(noToken.status, 2);
      assert.match(noToken.stderr, /needs a token: the environment variable GITHUB_TOKEN is empty or unset/);
      assert.equal(notRepo.status, 2);
      assert.match(notRepo.stderr, /is not a git work tree/);
    });

    it('--help explains the command and its exit codes', () => {
      assert.equal(help.status, 0);
      assert.match(help.stdout, /--github-repo <owner\/name>/);
      assert.match(help.stdout, /10 GitHub or the git remote refused or failed/);
    });
  });

  describe('the pull request on GitHub (the REST double)', () => {
    let api: GitHubApiDouble;
    let repo: string;
    let remote: string;
    const runs: Record<string, AsyncRun> = {};
    const writesAfter: Record<string, number> = {};
    const gheRequests: string[] = [];
    const args = (p: string) => ['pr', '--repo', repo, '--proposal', p, '--push', 'origin', '--github-repo', 'acme/gitops', '--api-url', api.url];
    const env = { ...GIT_ENV, GITHUB_TOKEN: TOKEN };
    before(async function () {
    this.timeout(240_000);
      api = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'] });
      ({ repo, remote } = repoWith({ 'policies/default/team-allow-ingress.yaml': TEAM_POLICY }));
      const step = async (name: string, p: string, o: { env?: Record<string, string> } = {}) => {
        runs[name] = await ztmapAsync(args(p), { env: o.env ?? env });
        writesAfter[name] = api.writes.length;
      };
      await step('open', day1);
      await step('again', day1);
      await step('new traffic', both);
      // Approval: the pull request is merged.
      git(repo, 'fetch', '--quiet', 'origin', BRANCH);
      git(repo, 'merge', '--quiet', '--ff-only', 'FETCH_HEAD');
      git(repo, 'push', '--quiet', 'origin', 'main');
      api.pulls[0]!.state = 'closed';
      const before = api.requests.length;
      await step('merged', both);
      writesAfter['merged requests'] = api.requests.length - before;
      api.faults.push({ kind: 'bad-credentials' });
      await step('401', day1);
      runs['404'] = await ztmapAsync([...args(day1).slice(0, -4), '--github-repo', 'acme/missing', '--api-url', api.url], { env });
      const ghe = await GitHubApiDouble.start({ token: TOKEN, repositories: ['acme/gitops'], prefix: '/api/v3' });
      try {
        const other = repoWith({});
        runs['ghe'] = await ztmapAsync(['pr', '--repo', other.repo, '--proposal', day1, '--push', 'origin', '--github-repo', 'acme/gitops', '--api-url', ghe.url], { env });
        gheRequests.push(...ghe.requests.map((x) => `${x.method} ${x.path}`), ...ghe.violations);
      } finally {
        await ghe.close();
      }
      api.faults.push({ kind: 'primary-rate-limit', status: 403 });
      await step('rate limited', day1);
    });
    after(async () => {
      await api.close();
    });

    it('opens the pull request and prints its URL', () => {
      const r = runs['open']!;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'https://github.example/acme/gitops/pull/1\n');
      assert.match(r.stderr, /pull request #1 opened/);
      assert.equal(api.pulls[0]!.head, BRANCH);
      assert.match(api.pulls[0]!.body, /\| added \| AuthorizationPolicy \| default \| ztmap-allow-details-v1 \| policies\/default\/ztmap-allow-details-v1\.yaml \|/);
    });

    it('a second run over the same traffic writes nothing', () => {
      assert.equal(runs['again']!.status, 0, runs['again']!.stderr);
      assert.match(runs['again']!.stderr, /already holds this proposal[\s\S]*pull request #1 unchanged/);
      assert.equal(writesAfter['again'], writesAfter['open']);
    });

    it('new traffic updates the open pull request (PATCH) on a new commit', () => {
      const r = runs['new traffic']!;
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /committed [0-9a-f]{12}[\s\S]*pull request #1 updated/);
      assert.deepEqual(api.writes.slice(writesAfter['again'], writesAfter['new traffic']).map((w) => `${w.method} ${w.path}`), ['PATCH /repos/acme/gitops/pulls/1']);
      assert.match(api.pulls[0]!.body, /reviews-v1/);
      assert.equal(api.pulls.length, 1);
    });

    it('once merged, the same traffic makes no commit and no API call at all', () => {
      const r = runs['merged']!;
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /nothing to propose/);
      assert.equal(writesAfter['merged requests'], 0);
      assert.equal(git(remote, 'rev-parse', 'main').trim(), git(repo, 'rev-parse', 'main').trim());
    });

    it('a repository GitHub does not show: exit 10, saying the token may not see it', () => {
      assert.equal(runs['404']!.status, 10, runs['404']!.stderr);
      assert.match(runs['404']!.stderr, /repository acme\/missing not found, or the token cannot see it/);
    });

    it('GitHub Enterprise Server: the same calls under --api-url …/api/v3', () => {
      assert.equal(runs['ghe']!.status, 0, runs['ghe']!.stderr);
      assert.deepEqual(gheRequests, ['GET /api/v3/repos/acme/gitops', 'GET /api/v3/repos/acme/gitops/pulls', 'POST /api/v3/repos/acme/gitops/pulls']);
    });

    it('GitHub refusing the token or rate limiting: exit 10, saying what to do, never the token', () => {
      const bad = runs['401']!;
      assert.equal(bad.status, 10, bad.stderr);
      assert.match(bad.stderr, /the token was refused \(bad credentials\)/);
      const limited = runs['rate limited']!;
      assert.equal(limited.status, 10, limited.stderr);
      assert.ok(limited.stderr.includes(`Try again after ${new Date(api.reset * 1000).toISOString()}`), limited.stderr);
      for (const r of Object.values(runs)) assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
      assert.deepEqual(api.violations, []);
    });
  });
});
