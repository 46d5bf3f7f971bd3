import assert from 'node:assert/strict';
import { objectName, InvalidNameError, isLabelValue } from '../../src/policy/manifest.js';
import { selectorFor, podsIn } from '../../src/policy/selector.js';
import { principalOf } from '../../src/policy/istio.js';
import { manifestYaml } from '../../src/policy/yaml.js';
import { networkPolicies } from '../../src/policy/network-policy.js';
import { istioPolicies } from '../../src/policy/istio.js';
import type { RuleSet, WorkloadFacts } from '../../src/rules/access-rule.js';

const wl = (ns: string, name: string, labels: Record<string, string>, podLabels: Record<string, string>[] = [labels]): WorkloadFacts => ({
  key: `${ns}/Deployment/${name}`,
  namespace: ns,
  name,
  kind: 'Deployment',
  serviceAccounts: ['sa'],
  labels,
  pods: podLabels.map((l, i) => ({ name: `${name}-${i}`, labels: l, ports: [], hasSidecar: true })),
  hasSidecar: true,
  isGateway: false,
  dataplane: 'sidecar',
  waypoints: [],
});

describe('names, selectors and YAML', () => {
  it('object names are DNS-1123 labels, cut with a stable hash, and invalid parts are refused', () => {
    assert.equal(objectName('allow', 'reviews-v1'), 'ztmap-allow-reviews-v1');
    const long = objectName('allow', 'a'.repeat(80));
    assert.ok(long.length <= 63 && /^[a-z0-9-]+$/.test(long));
    assert.equal(long, objectName('allow', 'a'.repeat(80)));
    assert.notEqual(long, objectName('allow', 'a'.repeat(81)));
    assert.throws(() => objectName('allow', 'Bad_Name'), InvalidNameError);
    assert.throws(() => principalOf('cluster.local', 'Bad_NS', 'sa'), InvalidNameError);
    assert.throws(() => principalOf('cluster.local', 'ns', 'sa\nx'), InvalidNameError);
    assert.ok(!isLabelValue('has space'));
  });

  it('a selector adds labels until no other workload of the scope matches, and refuses when none can', () => {
    const v1 = wl('d', 'reviews-v1', { app: 'reviews', version: 'v1' });
    const v2 = wl('d', 'reviews-v2', { app: 'reviews', version: 'v2' });
    const scope = podsIn([v1, v2]);
    assert.deepEqual(selectorFor(v1, scope), { ok: true, matchLabels: { app: 'reviews', version: 'v1' } });
    // The same labels in another namespace do not matter for a namespaced selector...
    const other = wl('e', 'reviews-v1', { app: 'reviews', version: 'v1' });
    assert.deepEqual(selectorFor(v1, podsIn([v1, v2, other], 'd')), { ok: true, matchLabels: { app: 'reviews', version: 'v1' } });
    // ...but do for one in Istio's root namespace, which selects mesh-wide.
    assert.equal(selectorFor(v1, podsIn([v1, v2, other])).ok, false);
    // A pod of another workload carrying all of this workload's labels: no exact selector.
    const twin = wl('d', 'twin', { app: 'reviews' }, [{ app: 'reviews', version: 'v1' }]);
    const r = selectorFor(v1, podsIn([v1, twin]));
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /twin-0/);
  });

  it('a workload whose labels cannot be selected gets no policy and an error, not a broad selector', () => {
    const bad = wl('d', 'bad', { app: 'has space' });
    const peer = wl('d', 'peer', { app: 'peer' });
    const rs: RuleSet = {
      window: { first: 0, last: 1 },
      rules: [
        {
          id: 'x',
          from: { kind: 'workload', key: peer.key, namespace: 'd', name: 'peer', serviceAccounts: ['sa'], ips: [], ipsComplete: true },
          to: { kind: 'workload', key: bad.key, namespace: 'd', name: 'bad', serviceAccounts: ['sa'], ips: [], ipsComplete: true },
          port: 80,
          protocol: 'tcp',
          methods: 'any',
          paths: 'any',
          evidence: { requests: 3, mutual: 3, plaintext: 0, unverified: 0, firstSeen: 0, lastSeen: 1, daysSeen: 1, decoders: ['envoy-text'], methods: [], paths: [], sources: {}, pathsTruncated: false, edges: ['x'] },
          confidence: 'medium',
          notes: [],
        },
      ],
      excluded: [],
      cluster: { workloads: [bad, peer], namespaces: ['d'], dns: [], controlPlane: [] },
      managedNamespaces: ['d'],
      unmanagedNamespaces: [],
      denied: [],
      findings: [],
      settings: { minRequests: 1, minDays: 1, siblingLimit: 8, includeScrapes: false },
    };
    const istio = istioPolicies(rs, { trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply: false });
    assert.ok(istio.findings.some((f) => f.severity === 'error' && f.subject === bad.key));
    assert.ok(!istio.manifests.some((m) => m.manifest.metadata.name.includes('bad')));
    const np = networkPolicies(rs, { firstApply: false });
    assert.ok(np.findings.some((f) => f.severity === 'error' && f.subject === bad.key));
    // No DNS pods in the inventory: egress is not default-denied, and that is an error too.
    assert.ok(np.findings.some((f) => f.severity === 'error' && /no DNS pods/.test(f.message)));
    assert.deepEqual(np.manifests.find((m) => m.manifest.metadata.name === 'ztmap-default-deny')?.manifest.spec['policyTypes'], ['Ingress']);
  });

  it('comments cannot break out of YAML, whatever telemetry put in them', () => {
    const y = manifestYaml(
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'n', namespace: 'ns' }, spec: { a: 1 } },
      ['header\nkind: Injected\u0007'],
      [{ path: ['spec', 'a'], text: 'evil\n- injected: true' }],
    );
    for (const line of y.split('\n')) assert.ok(line === '' || line.trimStart().startsWith('#') || /^(apiVersion|kind|metadata|spec|  )/.test(line), line);
    assert.doesNotMatch(y, /^kind: Injected/m);
    assert.doesNotMatch(y, /\u0007/);
  });
});

describe('review findings (regressions)', () => {
  it('workloads whose names would collide get the kind in their object names', async () => {
    const { workloadNamePart } = await import('../../src/policy/emitted.js');
    const d = wl('d', 'redis', { app: 'redis' });
    const s = { ...wl('d', 'redis', { app: 'redis', role: 's' }), key: 'd/StatefulSet/redis', kind: 'StatefulSet' };
    const dotted = wl('d', 'a.b', { app: 'x' });
    const dashed = wl('d', 'a-b', { app: 'y' });
    assert.equal(workloadNamePart(d, [d, s]), 'deployment-redis');
    assert.equal(workloadNamePart(s, [d, s]), 'statefulset-redis');
    assert.notEqual(objectName('allow', workloadNamePart(dotted, [dotted, dashed])), objectName('allow', workloadNamePart(dashed, [dotted, dashed])));
    assert.equal(workloadNamePart(d, [d, wl('e', 'redis', {})]), 'redis');
  });

  it('only the destination pod\'s own node is a kubelet probe; other node addresses are traffic to allow', async () => {
    const { noiseOf } = await import('../../src/infer/noise.js');
    const { emptySide } = await import('../../src/graph/attributes.js');
    const node = { kind: 'node' as const, name: '10.0.0.12', serviceAccounts: [], labels: {}, ips: ['10.0.0.12'] };
    const edge = { source: 'node:10.0.0.12', target: 'd/Deployment/x', port: 8443, protocol: 'http' as const, client: emptySide(), server: { ...emptySide(), requests: 3, plaintext: 3 }, sources: {}, firstSeen: 0, lastSeen: 0, days: ['1970-01-01'], methods: ['POST'], paths: ['/validate'], pathsTruncated: false, services: [], sourceServiceAccounts: [], decoders: [], serverMethods: [], serverPaths: [], serverPathsTruncated: false, denied: [], deniedTruncated: false };
    const ev = { requests: 3, mutual: 0, plaintext: 3, unverified: 0, firstSeen: 0, lastSeen: 0, daysSeen: 1, decoders: [], sources: {}, methods: [], paths: [], pathsTruncated: false, edges: [] };
    const t = { minRequests: 1, minDays: 1, includeScrapes: false };
    assert.equal(noiseOf(edge, node, new Set(['10.0.0.12']), ev, t)?.reason, 'kubelet-probe');
    assert.equal(noiseOf(edge, node, new Set(['10.0.0.11']), ev, t), undefined);
  });
});
