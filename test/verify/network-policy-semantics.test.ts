// Hand-written cases for Kubernetes NetworkPolicy semantics (the
// networking.k8s.io/v1 API reference, https://kubernetes.io/docs/concepts/services-networking/network-policies/). Each is a case a naive evaluator gets wrong;
// test/conformance/network-policy-oracle.test.ts checks the same evaluator against Cyclonus.

import assert from 'node:assert/strict';
import { evaluateConnection, networkPolicyModel, type NpConnection, type PodEndpoint } from '../../src/verify/network-policy.js';

const NAMESPACES = { shop: { team: 'a' }, ops: { team: 'b' }, other: {} };

const pod = (namespace: string, name: string, labels: Record<string, string>, ip: string, ports: PodEndpoint['ports'] = [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]): PodEndpoint => ({ namespace, name, labels, ip, ports });
const web = pod('shop', 'web', { app: 'web' }, '10.0.1.1');
const api = pod('shop', 'api', { app: 'api', tier: 'back' }, '10.0.1.2', [
  { name: 'http', containerPort: 8080, protocol: 'TCP' },
  { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
  { name: 'dns', containerPort: 53, protocol: 'UDP' },
]);
const monitor = pod('ops', 'monitor', { app: 'web' }, '10.0.2.1');
const stranger = pod('other', 'stranger', { app: 'web' }, '10.0.3.1');

const np = (namespace: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec });
const conn = (from: PodEndpoint | string, to: PodEndpoint | string, port = 8080, protocol: NpConnection['protocol'] = 'TCP'): NpConnection => ({
  from: typeof from === 'string' ? { ip: from } : { pod: from },
  to: typeof to === 'string' ? { ip: to } : { pod: to },
  port,
  protocol,
});
const allowed = (policies: unknown[], c: NpConnection) => evaluateConnection(networkPolicyModel(policies, NAMESPACES), c).allowed;
const apiIngress = (ingress: unknown[], extra: Record<string, unknown> = {}) => np('shop', 'api-in', { podSelector: { matchLabels: { app: 'api' } }, ingress, ...extra });

describe('NetworkPolicy semantics', () => {
  it('a pod no policy selects is open; one selected for ingress with no rules is closed', () => {
    assert.equal(allowed([], conn(web, api)), true);
    assert.equal(allowed([apiIngress([])], conn(web, api)), false);
    assert.equal(allowed([apiIngress([])], conn(api, web)), true);
  });

  it('policyTypes decides isolation: ingress rules of an Egress-only policy isolate nothing', () => {
    const egressOnly = apiIngress([{ from: [{ podSelector: { matchLabels: { app: 'nobody' } } }] }], { policyTypes: ['Egress'] });
    assert.equal(allowed([egressOnly], conn(web, api)), true);
    assert.equal(allowed([egressOnly], conn(api, web)), false);
  });

  it('without policyTypes, a policy with egress rules isolates egress too; one without only ingress', () => {
    const withEgress = np('shop', 'e', { podSelector: { matchLabels: { app: 'web' } }, egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] });
    assert.equal(allowed([withEgress], conn(web, api)), false);
    const ingressOnly = np('shop', 'i', { podSelector: { matchLabels: { app: 'web' } } });
    assert.equal(allowed([ingressOnly], conn(web, api)), true);
    assert.equal(allowed([ingressOnly], conn(api, web)), false);
  });

  it('namespaceSelector and podSelector in one peer AND; in two peers OR', () => {
    const and = apiIngress([{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'web' } } }] }]);
    const or = apiIngress([{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { podSelector: { matchLabels: { app: 'web' } } }] }]);
    assert.equal(allowed([and], conn(monitor, api)), true);
    assert.equal(allowed([and], conn(web, api)), false, 'web is in shop, not a team-b namespace');
    assert.equal(allowed([or], conn(web, api)), true, 'web matches the podSelector peer (in the policy\'s namespace)');
    assert.equal(allowed([or], conn(stranger, api)), false, 'a podSelector alone means the policy\'s own namespace');
  });

  it('an empty namespaceSelector means every namespace; kubernetes.io/metadata.name is always there', () => {
    assert.equal(allowed([apiIngress([{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }] }])], conn(stranger, api)), true);
    assert.equal(allowed([apiIngress([{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }] }])], conn(monitor, api)), true);
  });

  it('an empty from list, or an empty rule, admits every source; an ingress list with no rules admits none', () => {
    assert.equal(allowed([apiIngress([{}])], conn('203.0.113.9', api)), true);
    assert.equal(allowed([apiIngress([{ from: [] }])], conn(stranger, api)), true);
  });

  it('named ports resolve per destination pod and protocol; endPort makes a range; protocol defaults to TCP', () => {
    const named = apiIngress([{ ports: [{ port: 'metrics' }] }]);
    assert.equal(allowed([named], conn(web, api, 9090)), true);
    assert.equal(allowed([named], conn(web, api, 8080)), false);
    const udpName = apiIngress([{ ports: [{ port: 'dns' }] }]);
    assert.equal(allowed([udpName], conn(web, api, 53, 'UDP')), false, 'the rule\'s protocol defaults to TCP; dns is UDP');
    assert.equal(allowed([apiIngress([{ ports: [{ port: 'dns', protocol: 'UDP' }] }])], conn(web, api, 53, 'UDP')), true);
    const range = apiIngress([{ ports: [{ port: 8000, endPort: 8100 }] }]);
    assert.equal(allowed([range], conn(web, api, 8080)), true);
    assert.equal(allowed([range], conn(web, api, 9090)), false);
  });

  it('a named port in an egress rule resolves against the destination pod', () => {
    const egress = np('shop', 'web-out', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'metrics' }] }] });
    assert.equal(allowed([egress], conn(web, api, 9090)), true);
    assert.equal(allowed([egress], conn(web, '198.51.100.1', 9090)), false, 'an address outside the cluster has no named ports');
  });

  it('ipBlock admits its CIDR except the excepted ranges', () => {
    const p = apiIngress([{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }]);
    assert.equal(allowed([p], conn('203.0.113.9', api)), true);
    assert.equal(allowed([p], conn('203.0.113.200', api)), false);
    assert.equal(allowed([p], conn('198.51.100.1', api)), false);
  });

  it('a connection needs egress at the client and ingress at the server', () => {
    const ingressOk = apiIngress([{ from: [{ podSelector: {} }] }]);
    const egressClosed = np('shop', 'web-out', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'] });
    const v = evaluateConnection(networkPolicyModel([ingressOk, egressClosed], NAMESPACES), conn(web, api));
    assert.deepEqual([v.allowed, v.egress.allowed, v.ingress.allowed], [false, false, true]);
    assert.deepEqual(v.egress.isolatedBy, [{ namespace: 'shop', name: 'web-out' }]);
  });

  it('policies are additive: another policy\'s allow opens what one policy isolated', () => {
    const closed = apiIngress([]);
    const open = np('shop', 'api-from-web', { podSelector: { matchLabels: { tier: 'back' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });
    const v = evaluateConnection(networkPolicyModel([closed, open], NAMESPACES), conn(web, api));
    assert.equal(v.allowed, true);
    assert.deepEqual(v.ingress.allowedBy, [{ namespace: 'shop', name: 'api-from-web', rule: 0 }]);
  });

  it('matchExpressions: NotIn and DoesNotExist match a pod without the key', () => {
    const notIn = apiIngress([{ from: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] } }] }]);
    assert.equal(allowed([notIn], conn(web, api)), true);
    const exists = apiIngress([{ from: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }] }]);
    assert.equal(allowed([exists], conn(web, api)), false);
  });

  it('policies the API server would reject are reported and not applied', () => {
    const m = networkPolicyModel(
      [apiIngress([{ ports: [{ port: '8080' }] }]), apiIngress([{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }]), apiIngress([{ ports: [{ port: 'http', endPort: 90 }] }])],
      NAMESPACES,
    );
    assert.equal(m.problems.length, 3);
    assert.equal(evaluateConnection(m, conn(web, api)).allowed, true);
  });

  it('an except outside its cidr is refused, as the API server refuses it, not applied', () => {
    const m = networkPolicyModel([apiIngress([{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['192.168.0.0/16'] } }] }])], NAMESPACES);
    assert.equal(m.problems.length, 1);
    assert.match(m.problems[0]!.message, /strict subset/);
    // Not even a CIDR equal to its block.
    assert.equal(networkPolicyModel([apiIngress([{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.0/24'] } }] }])], NAMESPACES).problems.length, 1);
    assert.equal(networkPolicyModel([apiIngress([{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.3.0/24'] } }] }])], NAMESPACES).problems.length, 0);
  });

  it('label keys and values the API server refuses are problems: __proto__ must not vanish into a select-all', () => {
    // JSON.parse keeps "__proto__" as an own key; copied into a plain object it would disappear.
    const proto = JSON.parse('{"podSelector":{"matchLabels":{"__proto__":"trusted"}}}') as Record<string, unknown>;
    const m = networkPolicyModel([apiIngress([{ from: [proto] }])], NAMESPACES);
    assert.equal(m.problems.length, 1);
    assert.match(m.problems[0]!.message, /label key "__proto__"/);
    assert.equal(evaluateConnection(m, conn(web, api)).allowed, true, 'the refused policy isolates nothing');
    for (const peer of [{ podSelector: { matchLabels: { app: 'bad value!' } } }, { podSelector: { matchExpressions: [{ key: '-x', operator: 'Exists' }] } }, { namespaceSelector: { matchLabels: { 'Example.com/x': 'y' } } }]) {
      assert.equal(networkPolicyModel([apiIngress([{ from: [peer] }])], NAMESPACES).problems.length, 1, JSON.stringify(peer));
    }
    assert.equal(networkPolicyModel([apiIngress([{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'web', tier: '' } } }] }])], NAMESPACES).problems.length, 0);
  });
});
