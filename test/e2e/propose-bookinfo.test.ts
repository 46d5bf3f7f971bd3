// @e2e: `ztmap propose` on the Bookinfo fixtures, through the real binary: the manifests
// match the reviewed golden files (UPDATE_GOLDEN=1 rewrites them), validate against the
// upstream schemas, are byte-identical across runs, and the exit code reports blockers.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Manifest } from '../../src/policy/manifest.js';
import { ztmap, tempDir } from '../support/cli.js';
import { FIXTURES, ROOT } from '../support/paths.js';
import { validateManifest } from '../support/schema.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');
const GOLDEN = join(ROOT, 'test', 'golden', 'bookinfo-policies');

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

function observed(): string {
  const out = tempDir();
  const r = ztmap(['observe', '-q', '-i', INVENTORY, '-o', out, join(BOOKINFO, 'logs')]);
  assert.equal(r.status, 4, r.stderr);
  return join(out, 'graph.json');
}

function proposeInto(graph: string, extra: string[] = []) {
  const out = tempDir();
  const r = ztmap(['propose', '-g', graph, '-i', INVENTORY, '-o', out, ...extra]);
  return { r, dir: join(out, 'policies') };
}

function manifestsIn(dir: string): Manifest[] {
  return files(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yaml.not-ready'))
    .map((f) => YAML.parse(readFileSync(join(dir, f), 'utf8')) as Manifest);
}

describe('propose on the Bookinfo fixtures @e2e', () => {
  let graph: string;
  let first: ReturnType<typeof proposeInto>;

  // In a hook, not the describe body: mocha runs every describe body while it collects tests
  // (even when --grep selects none of these), and a throw there ends the whole run.
  before(function () {
    this.timeout(60_000);
    graph = observed();
    first = proposeInto(graph);
  });

  it('exits 5 because observed traffic would be denied, and names each blocker on stderr', () => {
    assert.equal(first.r.status, 5, first.r.stderr);
    assert.match(first.r.stderr, /blocker \[istio\] default\/Deployment\/productpage-v1: 29 plaintext request\(s\) from legacy\/Deployment\/legacy-client/);
    assert.match(first.r.stderr, /blocker \[istio\] default\/Deployment\/ratings-v1: 360 kubelet probe request\(s\)/);
    assert.match(first.r.stderr, /blocker \[networkpolicy\] default\/Deployment\/details-v1: 8 request\(s\) from unknown:10\.244\.9\.99/);
    assert.equal(proposeInto(graph, ['--fail-on', 'errors']).r.status, 0);
  });

  it('writes the reviewed golden manifests and review, byte for byte', () => {
    if (process.env['UPDATE_GOLDEN'] === '1') {
      rmSync(GOLDEN, { recursive: true, force: true });
      cpSync(first.dir, GOLDEN, { recursive: true });
    }
    assert.deepEqual(files(first.dir), files(GOLDEN));
    for (const f of files(GOLDEN)) assert.equal(readFileSync(join(first.dir, f), 'utf8'), readFileSync(join(GOLDEN, f), 'utf8'), `${f} differs from the golden file (UPDATE_GOLDEN=1 npm test rewrites them; review the diff)`);
  });

  it('is byte-identical across runs', () => {
    const again = proposeInto(graph);
    for (const f of files(first.dir)) assert.equal(readFileSync(join(again.dir, f), 'utf8'), readFileSync(join(first.dir, f), 'utf8'), f);
  });

  it('every manifest of every mode validates against the upstream schemas', () => {
    for (const extra of [[], ['--dry-run', '--first-apply'], ['--include-scrapes', '--trust-domain', 'prod.example.com']]) {
      const { dir } = proposeInto(graph, extra);
      const ms = manifestsIn(dir);
      assert.ok(ms.length > 20, `${ms.length} manifests`);
      for (const m of ms) validateManifest(m);
    }
  });

  it('proposes what the issue asks for on these fixtures', () => {
    const ms = manifestsIn(first.dir);
    const find = (kind: string, ns: string, name: string) => ms.find((m) => m.kind === kind && m.metadata.namespace === ns && m.metadata.name === name);
    assert.deepEqual(find('AuthorizationPolicy', 'default', 'ztmap-deny-all')?.spec, {});
    // reviews-v1..v3 share app=reviews: the selector needs the version to select exactly one.
    assert.deepEqual((find('AuthorizationPolicy', 'default', 'ztmap-allow-reviews-v2')?.spec['selector'] as { matchLabels: object }).matchLabels, { app: 'reviews', version: 'v2' });
    // The gateway's traffic is allowed by the gateway's principal; ids become prefixes; no query reaches a policy.
    const productpage = YAML.stringify(find('AuthorizationPolicy', 'default', 'ztmap-allow-productpage-v1'));
    assert.match(productpage, /cluster\.local\/ns\/istio-system\/sa\/istio-ingressgateway-service-account/);
    const paths = ms.flatMap((m) => ((m.spec['rules'] as { to?: { operation: { paths?: string[] } }[] }[] | undefined) ?? []).flatMap((r) => (r.to ?? []).flatMap((t) => t.operation.paths ?? [])));
    assert.ok(paths.includes('/details/*') && paths.includes('/productpage'), paths.join(' '));
    for (const p of paths) assert.doesNotMatch(p, /[?{}]|\*./, p);
    // Plaintext and unresolved sources never become principals.
    assert.doesNotMatch(YAML.stringify(ms.filter((m) => m.kind === 'AuthorizationPolicy')), /legacy|prometheus|10\.244\.9\.99/);
    // DNS egress selects the CoreDNS pods by the labels they carry; istiod on 15012.
    const dns = YAML.stringify(find('NetworkPolicy', 'default', 'ztmap-allow-dns'));
    assert.match(dns, /k8s-app: kube-dns/);
    assert.match(YAML.stringify(find('NetworkPolicy', 'default', 'ztmap-allow-istiod')), /port: 15012/);
    // External HTTPS from ratings as an ipBlock of the address observed.
    assert.match(YAML.stringify(find('NetworkPolicy', 'default', 'ztmap-workload-ratings-v1')?.spec['egress']), /cidr: 203\.0\.113\.10\/32/);
    // STRICT is proposed but marked not ready (plaintext was observed), under a name kubectl apply -R skips.
    assert.equal(find('PeerAuthentication', 'default', 'ztmap-strict')?.metadata.annotations?.['ztmap.io/mtls-ready'], 'false');
    assert.ok(existsSync(join(first.dir, 'mtls', 'default', 'peerauthentication-ztmap-strict.yaml.not-ready')));
    // Egress evidence names the destination each rule backs.
    assert.match(readFileSync(join(first.dir, 'networkpolicy', 'default', 'networkpolicy-ztmap-workload-productpage-v1.yaml'), 'utf8'), /# -> default\/Deployment\/details-v1:9080\/http/);
    // No policies for system namespaces.
    assert.ok(!ms.some((m) => m.metadata.namespace === 'istio-system' || m.metadata.namespace === 'kube-system'));
  });

  it('lists coverage and risk: idle workloads and jobs, the one-off edge, the shared service account, excluded noise', () => {
    const review = JSON.parse(readFileSync(join(first.dir, 'review.json'), 'utf8')) as {
      coverage: { noInbound: { workload: string }[]; idleJobs: string[]; seenOnce: string[]; broaderThanObserved: { rule: string }[] };
      excluded: { reason: string; from: string }[];
      findings: { severity: string; message: string }[];
    };
    assert.ok(review.coverage.noInbound.some((w) => w.workload === 'default/StatefulSet/mongodb-v1'));
    assert.deepEqual(review.coverage.idleJobs, ['default/CronJob/reviews-cleanup']);
    assert.deepEqual(review.coverage.seenOnce, ['default/Deployment/details-v1 -> default/Deployment/ratings-v1:9080/http']);
    assert.deepEqual(review.excluded.map((x) => `${x.reason} ${x.from}`), ['metrics-scrape monitoring/Deployment/prometheus-server', 'kubelet-probe node:10.0.0.12', 'behind-proxy unknown:behind-proxy']);
    // productpage's inbound lines name the gateway's client by X-Forwarded-For (port 0): the hop is
    // the gateway's own edge, no blocker, and the XFF address is no node and no principal.
    assert.ok(!review.findings.some((f) => f.severity === 'blocker' && /productpage/.test(f.message) && /gateway|proxy/.test(f.message)));
    assert.ok(review.findings.some((f) => f.severity === 'warning' && /bookinfo-reviews .* shared by default\/Deployment\/reviews-v1/.test(f.message)));
  });

  it('--target chooses the emitters; --first-apply adds one temporary allow-all per workload; --dry-run marks Istio policies', () => {
    const np = proposeInto(graph, ['--target', 'networkpolicy', '--first-apply', '--fail-on', 'never']);
    assert.equal(np.r.status, 0);
    assert.ok(!existsSync(join(np.dir, 'istio')));
    const temporary = manifestsIn(np.dir).filter((m) => m.metadata.name.startsWith('ztmap-temporary-allow-all-'));
    assert.ok(temporary.some((m) => m.metadata.name === 'ztmap-temporary-allow-all-productpage-v1'));
    const dry = proposeInto(graph, ['--target', 'istio', '--dry-run', '--fail-on', 'never']);
    for (const m of manifestsIn(dry.dir)) assert.equal(m.metadata.annotations?.['istio.io/dry-run'], 'true', m.metadata.name);
    assert.equal(ztmap(['propose', '-g', graph, '-i', INVENTORY, '--target', 'cilium']).status, 2);
    assert.equal(ztmap(['propose', '-g', graph]).status, 2);
    assert.match(ztmap(['propose', '--help']).stdout, /--first-apply/);
  });

  it('stays inside the output directory and removes stale manifests of an earlier run', () => {
    const out = tempDir();
    const dir = join(out, 'policies');
    const proposeHere = (extra: string[]) => ztmap(['propose', '-q', '-g', graph, '-i', INVENTORY, '-o', out, '--fail-on', 'never', ...extra]);
    // The earlier run writes manifests the later one will not: every target, and --first-apply's allow-alls.
    assert.equal(proposeHere(['--first-apply']).status, 0);
    const earlier = files(dir);
    assert.ok(earlier.some((f) => f.startsWith('networkpolicy/')), earlier.join(' '));
    assert.ok(earlier.some((f) => f.includes('ztmap-temporary-allow-all-')), earlier.join(' '));
    const later = proposeHere(['--target', 'istio']);
    assert.equal(later.status, 0, later.stderr);
    // What the directory holds now is exactly what the same command writes into an empty one.
    const fresh = proposeInto(graph, ['--target', 'istio', '--fail-on', 'never']).dir;
    assert.deepEqual(files(dir), files(fresh));
    for (const f of files(fresh)) assert.equal(readFileSync(join(dir, f), 'utf8'), readFileSync(join(fresh, f), 'utf8'), f);
    const stale = earlier.filter((f) => !files(fresh).includes(f));
    assert.ok(stale.length > 0, 'the two runs differ, or this test shows nothing');
    for (const f of stale) assert.ok(!existsSync(join(dir, f)), `${f} of the earlier run is still there`);
    // Nothing was written beside policies/: no staging, no commit directory, nothing outside OUT.
    assert.deepEqual(readdirSync(out), ['policies']);
  });
});
