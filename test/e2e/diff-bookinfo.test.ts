// @e2e: `ztmap diff` on the Bookinfo proposal, through the real binary: the proposal against
// itself rewritten (JSON instead of YAML, keys and rules reordered, NetworkPolicies in one
// multi-document file, a policy split in two) shows no change; with one allow rule removed,
// exactly that caller's requests are newly denied, and --exit-code says so.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { PolicyDiff } from '../../src/review/diff.js';
import { tempDir, ztmap, type Run } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');
const DIFF_CHANGED = 9;

type Obj = Record<string, unknown>;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

/** Keys in reverse order, all the way down: the same object, written differently. */
function reversedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversedKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Obj).reverse().map(([k, x]) => [k, reversedKeys(x)]));
}

const objectsOf = (file: string) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Obj).filter((o) => o !== null);
const nameOf = (o: Obj) => (o['metadata'] as Obj)['name'] as string;

describe('diff on the Bookinfo proposal @e2e', () => {
  let policies = '';
  let rewritten = '';
  let lessOne = '';
  let same: Run;
  let sameJson: PolicyDiff;
  let removed: Run;
  let removedJson: PolicyDiff;
  let removedWithout: Run;
  let again: Run;
  let refused: Run;
  let badFile = '';
  let oneSet: Run;
  let missing: Run;
  let help: Run;
  before(function () {
    // observe, propose and several runs of the command, on a machine that may be busy.
    this.timeout(240_000);
    const work = tempDir();
    assert.equal(ztmap(['observe', '-q', '-i', INVENTORY, '-o', work, join(BOOKINFO, 'logs')]).status, 4);
    const p = ztmap(['propose', '-q', '-g', join(work, 'graph.json'), '-i', INVENTORY, '-o', work]);
    assert.ok(p.status === 0 || p.status === 5, p.stderr);
    policies = join(work, 'policies');
    const manifests = filesUnder(policies).filter((f) => f.endsWith('.yaml'));
    assert.ok(manifests.length > 10);

    // The same policies, rewritten.
    rewritten = tempDir();
    const networkPolicies: Obj[] = [];
    for (const f of manifests) {
      for (const o of objectsOf(f)) {
        if (o['kind'] === 'NetworkPolicy') {
          networkPolicies.unshift(o);
          continue;
        }
        const spec = o['spec'] as Obj;
        const rules = (spec['rules'] as Obj[] | undefined) ?? [];
        if (nameOf(o) === 'ztmap-allow-ratings-v1') {
          // Split: one policy per rule, same selector and action.
          rules.forEach((r, i) => writeFileSync(join(rewritten, `ratings-${i}.json`), JSON.stringify(reversedKeys({ ...o, metadata: { ...(o['metadata'] as Obj), name: `ratings-part-${i}` }, spec: { ...spec, rules: [r] } }))));
          continue;
        }
        writeFileSync(join(rewritten, relative(policies, f).replaceAll('/', '_') + '.json'), JSON.stringify(reversedKeys({ ...o, spec: { ...spec, ...(rules.length > 0 ? { rules: [...rules].reverse() } : {}) } }), null, 3));
      }
    }
    writeFileSync(join(rewritten, 'network-policies.yaml'), networkPolicies.map((o) => stringify(reversedKeys(o))).join('---\n'));

    // The proposal less one rule: the CronJob ratings-report's POST to ratings-v1.
    lessOne = tempDir();
    for (const f of manifests) {
      const target = join(lessOne, relative(policies, f));
      mkdirSync(join(target, '..'), { recursive: true });
      const objects = objectsOf(f).map((o) => {
        if (nameOf(o) !== 'ztmap-allow-ratings-v1') return o;
        const spec = o['spec'] as Obj;
        const rules = spec['rules'] as Obj[];
        return { ...o, spec: { ...spec, rules: rules.filter((r) => !JSON.stringify(r).includes('sa/bookinfo-ratings"')) } };
      });
      writeFileSync(target, objects.map((o) => stringify(o)).join('---\n'));
    }

    const out = join(tempDir(), 'diff.json');
    same = ztmap(['diff', policies, rewritten, '-i', INVENTORY, '--exit-code']);
    assert.equal(ztmap(['diff', policies, rewritten, '-i', INVENTORY, '--format', 'json', '--out', out, '-q']).status, 0);
    sameJson = JSON.parse(readFileSync(out, 'utf8')) as PolicyDiff;
    removed = ztmap(['diff', policies, lessOne, '-i', INVENTORY, '--exit-code']);
    const out2 = join(tempDir(), 'diff.json');
    assert.equal(ztmap(['diff', policies, lessOne, '-i', INVENTORY, '--format', 'json', '-o', out2, '-q']).status, 0);
    removedJson = JSON.parse(readFileSync(out2, 'utf8')) as PolicyDiff;
    removedWithout = ztmap(['diff', lessOne, policies]);
    again = ztmap(['diff', policies, lessOne, '-i', INVENTORY, '--exit-code']);
    // A manifest the API server refuses (an upper-case name), beside the proposal.
    const withBad = tempDir();
    badFile = join(withBad, 'bad.yaml');
    writeFileSync(badFile, stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'Allow_All', namespace: 'default' }, spec: { podSelector: {}, ingress: [{}] } }));
    refused = ztmap(['diff', policies, withBad, '-i', INVENTORY, '-q']);
    oneSet = ztmap(['diff', policies]);
    missing = ztmap(['diff', policies, join(policies, 'nope')]);
    help = ztmap(['diff', '--help']);
    rmSync(join(out, '..'), { recursive: true });
  });

  it('shows no change between the proposal and itself rewritten, split and reordered', () => {
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout, /^No change: every one of the \d+ requests replayed is decided the same way by both\.$/m);
    assert.equal(sameJson.format, 'ztmap-policy-diff');
    assert.deepEqual(sameJson.destinations, []);
    assert.ok(sameJson.replayed > 1000, String(sameJson.replayed));
    assert.equal(sameJson.after.authorizationPolicies, sameJson.before.authorizationPolicies + 1);
    assert.deepEqual([sameJson.before.problems, sameJson.after.problems], [[], []]);
  });

  it('shows the rule removed as exactly its caller newly denied, and exits 9 with --exit-code', () => {
    assert.equal(removed.status, DIFF_CHANGED, removed.stderr);
    const changes = removedJson.destinations.flatMap((d) => d.changes);
    assert.deepEqual(
      changes.map((c) => c.text),
      ['default/ratings-report → default/ratings-v1:9080: POST /ratings/, /ratings/{other} newly denied'],
    );
    assert.deepEqual(changes[0]!.decidedBy.before, ['egress allow default/ztmap-workload-ratings-report#0', 'ingress allow default/ztmap-workload-ratings-v1#0', 'istio allow default/ztmap-allow-ratings-v1#1']);
    assert.match(removed.stdout, /^## default\/Deployment\/ratings-v1$/m);
    assert.match(removed.stderr, /^diff: 1 change\(s\): 0 newly allowed, 1 newly denied, 0 other; 0 manifest problem\(s\)/m);
    // Piped: no progress line, no escape sequence.
    assert.ok(!removed.stderr.includes('\x1b') && !removed.stderr.includes('\r'), JSON.stringify(removed.stderr));
  });

  it('gives byte-identical output for the same input', () => {
    assert.equal(again.status, DIFF_CHANGED);
    assert.equal(again.stdout, removed.stdout);
  });

  it('lists a manifest the API server would refuse with its file and reason, and exits 6', () => {
    assert.equal(refused.status, 6, refused.stderr);
    assert.match(refused.stdout, /^## Manifests refused$/m);
    assert.ok(refused.stdout.includes(`| ${badFile} | NetworkPolicy default/Allow\\_All |`), refused.stdout);
  });

  it('reads the other way as newly allowed, and without an inventory per selector', () => {
    assert.equal(removedWithout.status, 0, removedWithout.stderr);
    // Pods labelled as a workload the egress policies let reach ratings, running as its service account.
    assert.match(removedWithout.stdout, /^- default\/\\\[app=ratings-report sa=bookinfo-ratings\\\] → default\/\\\[app=ratings\\\]:9080: POST \/ratings\/, \/ratings\/\{other\} newly allowed/m);
    assert.match(removedWithout.stdout, /^\*\*4 changes\*\* \(4 newly allowed, 0 newly denied, 0 other; 0 with risks\)/m);
  });

  it('refuses to run without two policy sets, and names a missing one', () => {
    assert.equal(oneSet.status, 2);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope/);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Exit codes:/);
  });
});
