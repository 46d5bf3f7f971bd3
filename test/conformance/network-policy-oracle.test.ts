// Issue 4: ztmap's NetworkPolicy evaluator (src/verify/network-policy.ts) against an
// independent one, Cyclonus's matcher (test/oracle/cyclonus, built with Go by
// scripts/cyclonus-oracle.sh; part of `npm run test:conformance` because it needs Go, which
// `npm test` does not: without Go it says so in one line, and fails under CI=true). The same policies, pods and connections go through both, and
// every case must get the same answer for ingress, egress and the connection: a few hundred
// generated cases over random small clusters (fixed seed) plus a hand-listed set of tricky
// ones whose expected answer is also written down from the Kubernetes API reference.
//
// Semantics both sides share, and the generator keeps to (test/oracle/cyclonus/README.md):
// only policies the API server would accept; policyTypes defaulted as the API server does;
// ipBlock CIDRs match pod IPs too; an endpoint given as an IP is outside the cluster, so its
// own side allows; a named port matches when the destination pod has a containerPort of that
// name and protocol with the connection's number. Not generated: a pod talking to itself
// (loopback is always allowed by Kubernetes, and pod-to-own-IP differs by plugin), hostNetwork.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateConnection, networkPolicyModel, type NpConnection, type NpEndpoint, type NpVerdict, type PodEndpoint } from '../../src/verify/network-policy.js';
import { cyclonus, cyclonusBinary, cyclonusGoTests, type OracleCase, type OracleContainerPort, type OraclePod, type OracleProtocol, type OracleResult } from '../support/cyclonus.js';
import { goNeed, suiteNeeding } from './needs.js';

type Json = Record<string, unknown>;

interface Scenario {
  name: string;
  namespaces: Record<string, Record<string, string>>;
  pods: OraclePod[];
  policies: Json[];
  cases: OracleCase[];
}

/** One case of one scenario with both answers. */
interface Outcome {
  scenario: Scenario;
  c: OracleCase;
  oracle: OracleResult;
  ztmap: NpVerdict;
}

// A cold build downloads the Go modules and compiles Cyclonus and client-go: about 100 s on
// the 2-core machines here, more on a busy one. Warm, the script returns at once.
const BUILD_TIMEOUT_MS = 600_000;
const SEED = Number(process.env['ORACLE_SEED'] ?? 20261125);
const RUNS = Number(process.env['ORACLE_RUNS'] ?? 60);

// ---------------------------------------------------------------------------------------
// Running both evaluators

const podKey = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

function endpoint(s: Scenario, e: OracleCase['from']): NpEndpoint {
  if ('ip' in e) return { ip: e.ip };
  const p = s.pods.find((x) => podKey(x) === e.pod);
  if (!p) throw new Error(`${s.name}: unknown pod ${e.pod}`);
  const pod: PodEndpoint = { namespace: p.namespace, name: p.name, labels: p.labels, ip: p.ip, ports: p.ports.map((x) => ({ ...x })) };
  return { pod };
}

function connection(s: Scenario, c: OracleCase): NpConnection {
  let port = c.port;
  if (typeof port === 'string') {
    const to = 'pod' in c.to ? s.pods.find((x) => podKey(x) === (c.to as { pod: string }).pod) : undefined;
    const cp = to?.ports.find((x) => x.name === port && x.protocol === c.protocol);
    if (!cp) throw new Error(`${s.name}/${c.id}: named port ${port} is not on the destination`);
    port = cp.containerPort;
  }
  return { from: endpoint(s, c.from), to: endpoint(s, c.to), port, protocol: c.protocol };
}

/** ztmap's reasons to refuse a policy, if its model reports any (a valid policy must not be refused). */
function refused(model: unknown): unknown[] {
  const problems = (model as { problems?: unknown }).problems;
  return Array.isArray(problems) ? problems : [];
}

async function runBoth(s: Scenario): Promise<{ outcomes: Outcome[]; refusals: unknown[] }> {
  const oracle = await cyclonus({ policies: s.policies, namespaces: s.namespaces, pods: s.pods, cases: s.cases });
  // ztmap gets its own copy: neither side may see what the other did to the objects.
  const model = networkPolicyModel(structuredClone(s.policies), structuredClone(s.namespaces));
  const outcomes = s.cases.map((c, i) => {
    const o = oracle[i]!;
    if (o.error) throw new Error(`${s.name}/${c.id}: the oracle could not evaluate the case (${o.error}); fix the generator`);
    return { scenario: s, c, oracle: o, ztmap: evaluateConnection(model, connection(s, c)) };
  });
  return { outcomes, refusals: refused(model) };
}

const agrees = (o: Outcome) => o.oracle.allowed === o.ztmap.allowed && o.oracle.ingress === o.ztmap.ingress.allowed && o.oracle.egress === o.ztmap.egress.allowed;

// ---------------------------------------------------------------------------------------
// Readable disagreements, with the policies cut down to the fewest that still disagree

const epText = (s: Scenario, e: OracleCase['from']) => {
  if ('ip' in e) return e.ip;
  const p = s.pods.find((x) => podKey(x) === e.pod)!;
  return `${e.pod} (${p.ip}, labels ${JSON.stringify(p.labels)}, ports ${JSON.stringify(p.ports)})`;
};
const verdictText = (v: { allowed: boolean; ingress: boolean; egress: boolean }) => `allowed=${v.allowed} ingress=${v.ingress} egress=${v.egress}`;
const refs = (side: NpVerdict['ingress']) => side.allowedBy.map((r) => `${r.namespace}/${r.name}${r.rule === undefined ? '' : `#${r.rule}`}`).join(', ');

/** Removes whole policies, rules, peers and ports while the case still disagrees (each step stays a valid policy). */
async function minimize(o: Outcome): Promise<Json[]> {
  let policies = structuredClone(o.scenario.policies);
  const stillDisagrees = async (ps: Json[]) => {
    const s: Scenario = { ...o.scenario, policies: ps, cases: [o.c] };
    const { outcomes } = await runBoth(s);
    return !agrees(outcomes[0]!);
  };
  // Candidate deletions: paths to array elements, outermost first.
  const candidates = (ps: Json[]): (string | number)[][] => {
    const out: (string | number)[][] = ps.map((_, i) => [i]);
    ps.forEach((p, i) => {
      const spec = p['spec'] as Json;
      for (const [field, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
        const rules = spec[field];
        if (!Array.isArray(rules)) continue;
        rules.forEach((r: Json, j) => {
          out.push([i, field, j]);
          for (const list of [peers, 'ports']) {
            const xs = r[list];
            if (Array.isArray(xs)) xs.forEach((_, k) => out.push([i, field, j, list, k]));
          }
        });
      }
    });
    return out;
  };
  const without = (ps: Json[], path: (string | number)[]): Json[] => {
    const copy = structuredClone(ps);
    if (path.length === 1) return copy.filter((_, i) => i !== path[0]);
    let node: unknown = (copy[path[0] as number] as Json)['spec'];
    for (const k of path.slice(1, -1)) node = (node as Record<string | number, unknown>)[k];
    (node as unknown[]).splice(path[path.length - 1] as number, 1);
    return copy;
  };
  for (let progress = true; progress; ) {
    progress = false;
    for (const path of candidates(policies)) {
      const next = without(policies, path);
      if (await stillDisagrees(next)) {
        policies = next;
        progress = true;
        break;
      }
    }
  }
  return policies;
}

async function describeDisagreement(o: Outcome, n: number): Promise<string> {
  const s = o.scenario;
  const minimal = await minimize(o);
  const z = o.ztmap;
  return [
    `#${n} ${s.name}/${o.c.id}: ${epText(s, o.c.from)}`,
    `      -> ${epText(s, o.c.to)}  port ${o.c.port}/${o.c.protocol}`,
    `   cyclonus: ${verdictText(o.oracle)}`,
    `   ztmap:    ${verdictText({ allowed: z.allowed, ingress: z.ingress.allowed, egress: z.egress.allowed })}` +
      ` (ingress isolated=${z.ingress.isolated} by [${refs(z.ingress)}], egress isolated=${z.egress.isolated} by [${refs(z.egress)}])`,
    `   namespaces: ${JSON.stringify(s.namespaces)}`,
    `   fewest policies that still disagree (${minimal.length} of ${s.policies.length}):`,
    ...minimal.map((p) => `     ${JSON.stringify(p)}`),
  ].join('\n');
}

async function assertAgreement(outcomes: Outcome[], refusals: { scenario: string; problems: unknown[] }[]) {
  const bad = outcomes.filter((o) => !agrees(o));
  const parts: string[] = [];
  for (const r of refusals) parts.push(`ztmap refused valid policies in ${r.scenario}: ${JSON.stringify(r.problems)}`);
  if (bad.length > 0) {
    parts.push(`${bad.length} of ${outcomes.length} cases disagree with Cyclonus; the first ${Math.min(5, bad.length)}:`);
    for (const [i, o] of bad.slice(0, 5).entries()) parts.push(await describeDisagreement(o, i + 1));
  }
  assert.ok(parts.length === 0, parts.join('\n\n'));
}

// ---------------------------------------------------------------------------------------
// Random clusters, policies and connections

const NS_NAMES = ['alpha', 'beta', 'gamma'];
// Vocabularies include values no pod has ('zzz') and a key no pod has ('version'), so NotIn and
// DoesNotExist meet absent keys; and the empty value, which is a valid label value.
const POD_VOCAB: Record<string, string[]> = { app: ['web', 'api', 'db', 'zzz'], role: ['client', 'server'], tier: ['', 'front'], version: ['v1'] };
const NS_VOCAB: Record<string, string[]> = { env: ['prod', 'dev'], team: ['a', 'b'], flag: [''], 'kubernetes.io/metadata.name': NS_NAMES };

const CONTAINER_PORTS: OracleContainerPort[] = [
  { name: 'http', containerPort: 8080, protocol: 'TCP' },
  { name: 'http', containerPort: 8081, protocol: 'TCP' }, // the same name with another number, on other pods
  { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
  { name: 'dns', containerPort: 53, protocol: 'UDP' },
  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
  { name: 'grpc', containerPort: 9005, protocol: 'TCP' },
  { name: 'syslog', containerPort: 9005, protocol: 'UDP' }, // the same number with another protocol
  { containerPort: 80, protocol: 'TCP' }, // no name
  { name: 'sctp-x', containerPort: 9000, protocol: 'SCTP' },
];
const POLICY_PORT_NUMBERS = [53, 80, 8080, 8081, 9005, 9090, 5432];
const POLICY_PORT_NAMES = ['http', 'metrics', 'dns', 'dns-tcp', 'grpc', 'syslog', 'sctp-x', 'nope'];
const PORT_RANGES: [number, number][] = [[8000, 8080], [8080, 8081], [9000, 9010], [53, 53], [1, 1024]];
const CASE_PORTS = [53, 80, 443, 5432, 8000, 8080, 8081, 9000, 9005, 9010, 9011, 9090];
// Pods get 10.0.<namespace index + 1>.<10 + pod index>; every `except` is a strict subset of its `cidr`.
const IP_BLOCKS: { cidr: string; excepts: string[][] }[] = [
  { cidr: '10.0.0.0/8', excepts: [['10.0.2.0/24'], ['10.0.1.0/24', '10.0.3.0/24'], ['10.0.1.12/30']] },
  { cidr: '10.0.1.0/24', excepts: [['10.0.1.8/29'], ['10.0.1.250/32'], ['10.0.1.0/28']] },
  { cidr: '10.0.0.0/16', excepts: [['10.0.1.0/25'], ['10.0.2.0/24', '10.0.3.16/28']] },
  { cidr: '0.0.0.0/0', excepts: [['10.0.0.0/8'], ['192.168.0.0/16', '10.0.2.0/24']] },
  { cidr: '192.168.0.0/16', excepts: [['192.168.1.0/24']] },
  { cidr: '10.0.2.0/24', excepts: [] },
  { cidr: '10.0.1.11/32', excepts: [] },
];
const EXTERNAL_IPS = ['192.168.1.7', '192.168.5.5', '10.0.1.250', '10.0.2.200', '8.8.8.8', '172.16.0.1'];
const PROTOCOLS: OracleProtocol[] = ['TCP', 'TCP', 'UDP', 'SCTP'];

const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;

const arbRequirement = (vocab: Record<string, string[]>) =>
  fc
    .record({
      op: fc.constantFrom('label', 'label', 'In', 'NotIn', 'Exists', 'DoesNotExist'),
      key: fc.constantFrom(...Object.keys(vocab)),
      values: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }),
    })
    .map(({ op, key, values }) => ({ op, key, values: [...new Set(values.map((i) => pick(vocab[key]!, i)))] }));

/** A label selector: often `{}` (all), sometimes an explicitly empty matchLabels / matchExpressions. */
const arbSelector = (vocab: Record<string, string[]>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant<Json>({}) },
    { weight: 1, arbitrary: fc.constantFrom<Json>({ matchLabels: {} }, { matchExpressions: [] }) },
    {
      weight: 6,
      arbitrary: fc.array(arbRequirement(vocab), { minLength: 1, maxLength: 2 }).map((reqs) => {
        const sel: Json = {};
        const labels: Record<string, string> = {};
        const exprs: Json[] = [];
        for (const r of reqs) {
          if (r.op === 'label') labels[r.key] = r.values[0]!;
          else if (r.op === 'In' || r.op === 'NotIn') exprs.push({ key: r.key, operator: r.op, values: r.values });
          else exprs.push({ key: r.key, operator: r.op });
        }
        if (Object.keys(labels).length > 0) sel['matchLabels'] = labels;
        if (exprs.length > 0) sel['matchExpressions'] = exprs;
        return sel;
      }),
    },
  );

const arbIpBlock = fc.record({ block: fc.nat(), except: fc.nat(), withExcept: fc.constantFrom(true, true, false) }).map(({ block, except, withExcept }) => {
  const b = pick(IP_BLOCKS, block);
  const ipBlock: Json = { cidr: b.cidr };
  if (withExcept && b.excepts.length > 0) ipBlock['except'] = pick(b.excepts, except);
  return ipBlock;
});

/** podSelector only, namespaceSelector only, both in one element (AND), or an ipBlock. */
const arbPeer = fc.oneof(
  arbSelector(POD_VOCAB).map((podSelector): Json => ({ podSelector })),
  arbSelector(NS_VOCAB).map((namespaceSelector): Json => ({ namespaceSelector })),
  fc.tuple(arbSelector(NS_VOCAB), arbSelector(POD_VOCAB)).map(([namespaceSelector, podSelector]): Json => ({ namespaceSelector, podSelector })),
  arbIpBlock.map((ipBlock): Json => ({ ipBlock })),
);

/**
 * No port (all ports of the protocol), a number, a name, or a range; protocol absent (TCP) or
 * given. Half the numbers and names are some pod's container port with its protocol, so that
 * rules with ports do match now and then.
 */
const NAMED_CONTAINER_PORTS = CONTAINER_PORTS.filter((p) => p.name !== undefined);
const arbPolicyPort = fc
  .record({
    kind: fc.constantFrom('none', 'number', 'pod-number', 'name', 'pod-name', 'pod-name', 'range', 'pod-range'),
    i: fc.nat(),
    protocol: fc.constantFrom(undefined, undefined, 'TCP', 'UDP', 'UDP', 'SCTP'),
  })
  .map(({ kind, i, protocol }) => {
    const p: Json = {};
    if (kind === 'pod-number' || kind === 'pod-name' || kind === 'pod-range') {
      const cp = kind === 'pod-name' ? pick(NAMED_CONTAINER_PORTS, i) : pick(CONTAINER_PORTS, i);
      // TCP is said explicitly or left to the default; another protocol is always said.
      if (cp.protocol !== 'TCP' || protocol === 'TCP') p['protocol'] = cp.protocol;
      p['port'] = kind === 'pod-name' ? cp.name : cp.containerPort;
      // A range around a container port, starting below it, so that it matches past its first port.
      if (kind === 'pod-range') [p['port'], p['endPort']] = [cp.containerPort - 1 - (i % 5), cp.containerPort + (i % 3)];
      return p;
    }
    if (protocol !== undefined) p['protocol'] = protocol;
    if (kind === 'number') p['port'] = pick(POLICY_PORT_NUMBERS, i);
    if (kind === 'name') p['port'] = pick(POLICY_PORT_NAMES, i);
    if (kind === 'range') [p['port'], p['endPort']] = pick(PORT_RANGES, i);
    return p;
  });

/** A rule: peers and ports each absent, empty or listed; `{}` when both are absent. */
const arbRule = (peersKey: 'from' | 'to') =>
  fc
    .record({
      peers: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant([]) }, { weight: 6, arbitrary: fc.array(arbPeer, { minLength: 1, maxLength: 3 }) }),
      ports: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant([]) }, { weight: 8, arbitrary: fc.array(arbPolicyPort, { minLength: 1, maxLength: 3 }) }),
    })
    .map(({ peers, ports }) => {
      const r: Json = {};
      if (peers !== undefined) r[peersKey] = peers;
      if (ports !== undefined) r['ports'] = ports;
      return r;
    });

const arbRules = (peersKey: 'from' | 'to') =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant([]) }, { weight: 5, arbitrary: fc.array(arbRule(peersKey), { minLength: 1, maxLength: 3 }) });

const arbPolicy = fc.record({
  ns: fc.nat(),
  podSelector: arbSelector(POD_VOCAB),
  policyTypes: fc.constantFrom(undefined, undefined, [], ['Ingress'], ['Egress'], ['Ingress', 'Egress'], ['Egress', 'Ingress']),
  ingress: arbRules('from'),
  egress: arbRules('to'),
});

const arbCase = fc.record({
  fromIp: fc.constantFrom(false, false, false, false, true),
  from: fc.nat(),
  toIp: fc.constantFrom(false, false, false, false, true),
  to: fc.nat(),
  containerPort: fc.constantFrom(true, true, true, false),
  port: fc.nat(),
  protocol: fc.nat(),
});

const arbScenario = fc
  .record({
    nsCount: fc.integer({ min: 2, max: 3 }),
    nsLabels: fc.array(
      fc.record({ env: fc.option(fc.constantFrom('prod', 'dev'), { nil: undefined }), team: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }), flag: fc.boolean() }),
      { minLength: 3, maxLength: 3 },
    ),
    pods: fc.array(
      fc.record({
        ns: fc.nat(),
        app: fc.option(fc.constantFrom('web', 'api', 'db'), { nil: undefined }),
        role: fc.option(fc.constantFrom('client', 'server'), { nil: undefined }),
        tier: fc.option(fc.constantFrom('', 'front'), { nil: undefined }),
        ports: fc.subarray(CONTAINER_PORTS, { maxLength: 4 }),
      }),
      { minLength: 3, maxLength: 7 },
    ),
    policies: fc.array(arbPolicy, { minLength: 1, maxLength: 4 }),
    cases: fc.array(arbCase, { minLength: 6, maxLength: 12 }),
  })
  .map((g): Scenario => {
    const nsNames = NS_NAMES.slice(0, g.nsCount);
    const namespaces: Scenario['namespaces'] = {};
    nsNames.forEach((ns, i) => {
      const l = g.nsLabels[i]!;
      const labels: Record<string, string> = {};
      if (l.env !== undefined) labels['env'] = l.env;
      if (l.team !== undefined) labels['team'] = l.team;
      if (l.flag) labels['flag'] = '';
      namespaces[ns] = labels;
    });
    const pods: OraclePod[] = g.pods.map((p, i) => {
      const nsIndex = p.ns % nsNames.length;
      const labels: Record<string, string> = {};
      if (p.app !== undefined) labels['app'] = p.app;
      if (p.role !== undefined) labels['role'] = p.role;
      if (p.tier !== undefined) labels['tier'] = p.tier;
      // A pod's port names are unique, and so are its (number, protocol) pairs.
      const ports: OracleContainerPort[] = [];
      for (const cp of p.ports) {
        if (ports.some((x) => (cp.name !== undefined && x.name === cp.name) || (x.containerPort === cp.containerPort && x.protocol === cp.protocol))) continue;
        ports.push({ ...cp });
      }
      return { namespace: nsNames[nsIndex]!, name: `pod${i}`, labels, ip: `10.0.${nsIndex + 1}.${10 + i}`, ports };
    });
    const policies: Json[] = g.policies.map((p, i) => {
      const spec: Json = { podSelector: p.podSelector };
      if (p.policyTypes !== undefined) spec['policyTypes'] = p.policyTypes;
      if (p.ingress !== undefined) spec['ingress'] = p.ingress;
      if (p.egress !== undefined) spec['egress'] = p.egress;
      return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `p${i}`, namespace: pick(nsNames, p.ns) }, spec };
    });
    const cases: OracleCase[] = [];
    g.cases.forEach((c, i) => {
      const from: OracleCase['from'] = c.fromIp ? { ip: pick(EXTERNAL_IPS, c.from) } : { pod: podKey(pick(pods, c.from)) };
      let toPod = pick(pods, c.to);
      if (!c.fromIp && podKey(toPod) === (from as { pod: string }).pod) toPod = pick(pods, c.to + 1); // never a pod to itself
      const to: OracleCase['to'] = c.toIp ? { ip: pick(EXTERNAL_IPS, c.to + 1) } : { pod: podKey(toPod) };
      let port = pick(CASE_PORTS, c.port);
      let protocol = pick(PROTOCOLS, c.protocol);
      if (!c.toIp && c.containerPort && toPod.ports.length > 0) {
        const cp = pick(toPod.ports, c.port);
        port = cp.containerPort;
        protocol = cp.protocol;
      }
      cases.push({ id: `c${i}`, from, to, port, protocol });
    });
    return { name: 'random', namespaces, pods, policies, cases };
  });

function randomScenarios(): Scenario[] {
  return fc.sample(arbScenario, { seed: SEED, numRuns: RUNS }).map((s, i) => ({ ...s, name: `random#${i} (seed ${SEED})` }));
}

// ---------------------------------------------------------------------------------------
// What the generated cases exercised, so the agreement cannot be vacuous

function ipv4(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  return m ? m.slice(1).reduce((n, o) => n * 256 + Number(o), 0) : undefined;
}
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const a = ipv4(ip);
  const b = ipv4(base ?? '');
  if (a === undefined || b === undefined) return false;
  const n = Number(bits);
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(b / size);
}

interface Mix {
  cases: number;
  allowed: number;
  denied: number;
  deniedByIngressOnly: number;
  deniedByEgressOnly: number;
  deniedByBoth: number;
  fromIp: number;
  toIp: number;
  allowedViaNamedPort: number;
  allowedViaEndPortRange: number;
  allowedViaIpBlockWithExcept: number;
  ipInExcept: number;
  deniedWithIpInExcept: number;
}

/** The rule an allowedBy ref names. */
function ruleOf(s: Scenario, side: 'ingress' | 'egress', ref: { namespace: string; name: string; rule?: number }): Json | undefined {
  const p = s.policies.find((x) => (x['metadata'] as Json)['name'] === ref.name && (x['metadata'] as Json)['namespace'] === ref.namespace);
  const rules = (p?.['spec'] as Json | undefined)?.[side];
  return Array.isArray(rules) && ref.rule !== undefined ? (rules[ref.rule] as Json | undefined) : undefined;
}

/** How a rule's ports admit the connection: through which kinds of entry (an absent or empty list is 'all'). */
function portKinds(s: Scenario, rule: Json, c: OracleCase): Set<string> {
  const kinds = new Set<string>();
  const ports = rule['ports'];
  if (!Array.isArray(ports) || ports.length === 0) return new Set(['all']);
  const toPod = 'pod' in c.to ? s.pods.find((x) => podKey(x) === (c.to as { pod: string }).pod) : undefined;
  for (const p of ports as Json[]) {
    if ((p['protocol'] ?? 'TCP') !== c.protocol) continue;
    const port = p['port'] as number | string | undefined;
    if (port === undefined) kinds.add('all');
    else if (typeof port === 'string') {
      if (toPod?.ports.some((x) => x.name === port && x.protocol === c.protocol && x.containerPort === c.port)) kinds.add('named');
    } else if (p['endPort'] !== undefined) {
      if (port < Number(c.port) && Number(c.port) <= Number(p['endPort'])) kinds.add('range'); // inside the range, past its first port
      else if (port === c.port) kinds.add('number');
    } else if (port === c.port) kinds.add('number');
  }
  return kinds;
}

function ipOf(s: Scenario, e: OracleCase['from']): string {
  return 'ip' in e ? e.ip : s.pods.find((x) => podKey(x) === e.pod)!.ip;
}

function mixOf(outcomes: Outcome[]): Mix {
  const m: Mix = {
    cases: 0, allowed: 0, denied: 0, deniedByIngressOnly: 0, deniedByEgressOnly: 0, deniedByBoth: 0, fromIp: 0, toIp: 0,
    allowedViaNamedPort: 0, allowedViaEndPortRange: 0, allowedViaIpBlockWithExcept: 0, ipInExcept: 0, deniedWithIpInExcept: 0,
  };
  for (const o of outcomes) {
    const { scenario: s, c, oracle: r } = o;
    m.cases++;
    if (r.allowed) m.allowed++;
    else m.denied++;
    if (!r.ingress && r.egress) m.deniedByIngressOnly++;
    if (r.ingress && !r.egress) m.deniedByEgressOnly++;
    if (!r.ingress && !r.egress) m.deniedByBoth++;
    if ('ip' in c.from) m.fromIp++;
    if ('ip' in c.to) m.toIp++;
    // Through which rules ztmap allowed it (counted only where Cyclonus agrees).
    let named = false;
    let range = false;
    let ipExcept = false;
    for (const side of ['ingress', 'egress'] as const) {
      const sv = o.ztmap[side];
      if (!sv.isolated || !sv.allowed || r[side] !== true) continue;
      const peerIp = ipOf(s, side === 'ingress' ? c.from : c.to);
      const allowing = sv.allowedBy.map((ref) => ruleOf(s, side, ref)).filter((x): x is Json => x !== undefined);
      for (const rule of allowing) {
        const k = portKinds(s, rule, c);
        if (k.size === 1 && k.has('named')) named = true;
        if (k.size === 1 && k.has('range')) range = true;
        // An ipBlock with except that admits the peer: in its cidr, in none of its excepts.
        const peers = rule[side === 'ingress' ? 'from' : 'to'];
        for (const p of Array.isArray(peers) ? (peers as Json[]) : []) {
          const b = p['ipBlock'] as Json | undefined;
          if (b && Array.isArray(b['except']) && inCidr(peerIp, String(b['cidr'])) && !(b['except'] as string[]).some((e) => inCidr(peerIp, e))) ipExcept = true;
        }
      }
    }
    if (named) m.allowedViaNamedPort++;
    if (range) m.allowedViaEndPortRange++;
    if (ipExcept) m.allowedViaIpBlockWithExcept++;
    // The peer's IP falls in the `except` of an ipBlock of a policy in the target's namespace.
    let inExcept = false;
    for (const [side, self, other] of [['ingress', c.to, c.from], ['egress', c.from, c.to]] as const) {
      if (!('pod' in self)) continue;
      const ns = self.pod.split('/')[0];
      const peerIp = ipOf(s, other);
      for (const p of s.policies.filter((x) => (x['metadata'] as Json)['namespace'] === ns)) {
        const rules = (p['spec'] as Json)[side];
        if (!Array.isArray(rules)) continue;
        for (const rule of rules as Json[]) {
          const peers = rule[side === 'ingress' ? 'from' : 'to'];
          if (!Array.isArray(peers)) continue;
          for (const peer of peers as Json[]) {
            const b = peer['ipBlock'] as Json | undefined;
            if (b && inCidr(peerIp, String(b['cidr'])) && Array.isArray(b['except']) && (b['except'] as string[]).some((e) => inCidr(peerIp, e))) inExcept = true;
          }
        }
      }
    }
    if (inExcept) {
      m.ipInExcept++;
      if (!r.allowed) m.deniedWithIpInExcept++;
    }
  }
  return m;
}

interface Shape {
  policies: number;
  policyTypesAbsent: number;
  policyTypesEmpty: number;
  egressEmptyListNoTypes: number;
  ingressOnlyWithEgressRules: number;
  emptyRule: number;
  peersEmptyList: number;
  andPeer: number;
  orPeers: number;
  podSelectorEmptyPeer: number;
  namespaceSelectorEmpty: number;
  portNone: number;
  portNamed: number;
  portRange: number;
  protocolUdp: number;
  ipBlockExcept: number;
  ops: Record<string, number>;
}

function shapeOf(scenarios: Scenario[]): Shape {
  const sh: Shape = {
    policies: 0, policyTypesAbsent: 0, policyTypesEmpty: 0, egressEmptyListNoTypes: 0, ingressOnlyWithEgressRules: 0, emptyRule: 0, peersEmptyList: 0,
    andPeer: 0, orPeers: 0, podSelectorEmptyPeer: 0, namespaceSelectorEmpty: 0, portNone: 0, portNamed: 0, portRange: 0, protocolUdp: 0, ipBlockExcept: 0,
    ops: { matchLabels: 0, In: 0, NotIn: 0, Exists: 0, DoesNotExist: 0 },
  };
  const selector = (sel: unknown) => {
    const s = sel as Json;
    if (s['matchLabels'] && Object.keys(s['matchLabels'] as Json).length > 0) sh.ops['matchLabels']!++;
    for (const e of (s['matchExpressions'] as Json[] | undefined) ?? []) sh.ops[String(e['operator'])]!++;
  };
  const isEmptySel = (sel: unknown) => sel !== undefined && Object.values(sel as Json).every((v) => (Array.isArray(v) ? v.length === 0 : Object.keys(v as Json).length === 0));
  for (const s of scenarios) {
    for (const p of s.policies) {
      const spec = p['spec'] as Json;
      sh.policies++;
      if (spec['policyTypes'] === undefined) sh.policyTypesAbsent++;
      else if ((spec['policyTypes'] as unknown[]).length === 0) sh.policyTypesEmpty++;
      if (spec['policyTypes'] === undefined && Array.isArray(spec['egress']) && spec['egress'].length === 0) sh.egressEmptyListNoTypes++;
      if (JSON.stringify(spec['policyTypes']) === '["Ingress"]' && Array.isArray(spec['egress']) && spec['egress'].length > 0) sh.ingressOnlyWithEgressRules++;
      selector(spec['podSelector']);
      for (const [field, key] of [['ingress', 'from'], ['egress', 'to']] as const) {
        for (const rule of (spec[field] as Json[] | undefined) ?? []) {
          if (Object.keys(rule).length === 0) sh.emptyRule++;
          const peers = rule[key] as Json[] | undefined;
          if (peers?.length === 0) sh.peersEmptyList++;
          if ((peers?.length ?? 0) > 1) sh.orPeers++;
          for (const peer of peers ?? []) {
            if (peer['podSelector'] && peer['namespaceSelector']) sh.andPeer++;
            if (isEmptySel(peer['podSelector'])) sh.podSelectorEmptyPeer++;
            if (isEmptySel(peer['namespaceSelector'])) sh.namespaceSelectorEmpty++;
            if (peer['podSelector']) selector(peer['podSelector']);
            if (peer['namespaceSelector']) selector(peer['namespaceSelector']);
            if ((peer['ipBlock'] as Json | undefined)?.['except']) sh.ipBlockExcept++;
          }
          for (const port of (rule['ports'] as Json[] | undefined) ?? []) {
            if (port['port'] === undefined) sh.portNone++;
            else if (typeof port['port'] === 'string') sh.portNamed++;
            if (port['endPort'] !== undefined) sh.portRange++;
            if (port['protocol'] === 'UDP') sh.protocolUdp++;
          }
        }
      }
    }
  }
  return sh;
}

// ---------------------------------------------------------------------------------------
// Hand-listed tricky cases. One small cluster; each scenario has its own policies and, for
// every connection, the answer the Kubernetes API reference gives (checked on both sides).

const T_NAMESPACES: Scenario['namespaces'] = { prod: { env: 'prod', team: 'a' }, dev: { env: 'dev' }, other: { env: 'prod', flag: '' } };
const T_PODS: OraclePod[] = [
  { namespace: 'prod', name: 'web', labels: { app: 'web', tier: 'front' }, ip: '10.0.1.10', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] },
  { namespace: 'prod', name: 'client', labels: { role: 'client' }, ip: '10.0.1.11', ports: [] },
  { namespace: 'prod', name: 'db', labels: { app: 'db' }, ip: '10.0.1.12', ports: [{ name: 'pg', containerPort: 5432, protocol: 'TCP' }] },
  { namespace: 'dev', name: 'client', labels: { role: 'client' }, ip: '10.0.2.10', ports: [] },
  { namespace: 'dev', name: 'api', labels: { app: 'api', role: 'server' }, ip: '10.0.2.11', ports: [{ name: 'http', containerPort: 8081, protocol: 'TCP' }, { name: 'grpc', containerPort: 9000, protocol: 'TCP' }] },
  { namespace: 'other', name: 'client', labels: { role: 'client', tier: '' }, ip: '10.0.3.10', ports: [] },
  { namespace: 'other', name: 'bare', labels: {}, ip: '10.0.3.11', ports: [] },
];

type T = [from: string, to: string, port: number, protocol: OracleProtocol, allowed: boolean];

function np(ns: string, name: string, spec: Json): Json {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

const TRICKY: { name: string; policies: Json[]; cases: T[] }[] = [
  {
    name: 'AND: namespaceSelector and podSelector in one element',
    policies: [np('prod', 'web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } }, podSelector: { matchLabels: { role: 'client' } } }] }] })],
    cases: [
      ['dev/client', 'prod/web', 8080, 'TCP', true],
      ['prod/client', 'prod/web', 8080, 'TCP', false], // right pod, wrong namespace
      ['dev/api', 'prod/web', 8080, 'TCP', false], // right namespace, wrong pod
    ],
  },
  {
    name: 'OR: the same selectors as two elements',
    policies: [np('prod', 'web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } } }, { podSelector: { matchLabels: { role: 'client' } } }] }] })],
    cases: [
      ['dev/api', 'prod/web', 8080, 'TCP', true], // namespace branch
      ['prod/client', 'prod/web', 8080, 'TCP', true], // pod branch, policy's namespace
      ['other/client', 'prod/web', 8080, 'TCP', false], // pod branch is the policy's namespace only
      ['8.8.8.8', 'prod/web', 8080, 'TCP', false],
    ],
  },
  {
    name: 'namespaceSelector {} (all namespaces) vs absent (the policy namespace)',
    policies: [
      np('prod', 'web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } }, namespaceSelector: {} }] }] }),
      np('prod', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] }),
    ],
    cases: [
      ['other/client', 'prod/web', 8080, 'TCP', true],
      ['dev/client', 'prod/web', 8080, 'TCP', true],
      ['other/bare', 'prod/web', 8080, 'TCP', false],
      ['other/client', 'prod/db', 5432, 'TCP', false],
      ['prod/client', 'prod/db', 5432, 'TCP', true],
    ],
  },
  {
    name: 'empty selectors: namespaceSelector {} alone, podSelector {} alone, matchLabels {} as the target',
    policies: [
      np('prod', 'web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      np('prod', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: {} }] }] }),
      np('dev', 'all', { podSelector: { matchLabels: {} }, policyTypes: ['Ingress'] }),
    ],
    cases: [
      ['other/bare', 'prod/web', 9090, 'TCP', true],
      ['10.0.1.250', 'prod/web', 9090, 'TCP', false], // an IP is no pod of any namespace
      ['prod/web', 'prod/db', 5432, 'TCP', true],
      ['dev/client', 'prod/db', 5432, 'TCP', false],
      ['prod/client', 'dev/api', 8081, 'TCP', false],
      ['prod/client', 'dev/client', 80, 'TCP', false],
    ],
  },
  {
    name: 'empty rules: ingress [{}] allows all, ingress [] allows none, from [] is every source, ports [{}] is every TCP port',
    policies: [
      np('prod', 'web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] }),
      np('prod', 'db', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'], ingress: [] }),
      np('dev', 'api', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [], ports: [{}] }] }),
    ],
    cases: [
      ['8.8.8.8', 'prod/web', 53, 'UDP', true],
      ['prod/client', 'prod/db', 5432, 'TCP', false],
      ['192.168.1.7', 'dev/api', 8081, 'TCP', true],
      ['192.168.1.7', 'dev/api', 8081, 'UDP', false], // {} is TCP: the protocol defaults
      ['dev/client', 'dev/api', 9000, 'SCTP', false],
    ],
  },
  {
    name: 'named ports resolve per destination pod, by name and protocol',
    policies: [
      np('prod', 'client-out', { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] }),
      np('prod', 'web-in', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 'dns', protocol: 'UDP' }, { port: 'metrics' }] }] }),
    ],
    cases: [
      ['prod/client', 'prod/web', 8080, 'TCP', false], // egress ok (http = 8080 on web), ingress: 8080 is not dns/metrics
      ['prod/client', 'prod/web', 9090, 'TCP', false], // ingress ok (metrics), egress: 9090 is not http
      ['prod/client', 'dev/api', 8081, 'TCP', true], // http is 8081 on api
      ['prod/client', 'dev/api', 8080, 'TCP', false],
      ['prod/client', '8.8.8.8', 8080, 'TCP', false], // every destination, but an IP has no port names
      ['dev/client', 'prod/web', 53, 'UDP', true],
      ['dev/client', 'prod/web', 53, 'TCP', false],
      ['dev/client', 'prod/web', 9090, 'TCP', true],
    ],
  },
  {
    name: 'named port with the wrong protocol does not match',
    policies: [np('prod', 'web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 'dns' }] }] })],
    cases: [
      ['dev/client', 'prod/web', 53, 'UDP', false], // dns is UDP; the policy's port defaults to TCP
      ['dev/client', 'prod/web', 53, 'TCP', false],
    ],
  },
  {
    name: 'endPort ranges are inclusive and per protocol',
    policies: [
      np('dev', 'api', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 9000, endPort: 9010 }, { protocol: 'UDP', port: 8000, endPort: 8000 }] }] }),
    ],
    cases: [
      ['prod/client', 'dev/api', 9000, 'TCP', true],
      ['prod/client', 'dev/api', 9010, 'TCP', true],
      ['prod/client', 'dev/api', 9011, 'TCP', false],
      ['prod/client', 'dev/api', 8999, 'TCP', false],
      ['prod/client', 'dev/api', 9005, 'UDP', false],
      ['prod/client', 'dev/api', 8000, 'UDP', true],
      ['prod/client', 'dev/api', 8001, 'UDP', false],
    ],
  },
  {
    name: 'ipBlock except, and ipBlocks on pod IPs',
    policies: [
      np('prod', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }] }] }),
      np('prod', 'client', { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }] }),
    ],
    cases: [
      ['dev/client', 'prod/db', 5432, 'TCP', true],
      ['prod/web', 'prod/db', 5432, 'TCP', false],
      ['10.0.1.250', 'prod/db', 5432, 'TCP', false],
      ['10.0.9.9', 'prod/db', 5432, 'TCP', true],
      ['192.168.1.1', 'prod/db', 5432, 'TCP', false],
      ['prod/client', '8.8.8.8', 443, 'TCP', true],
      ['prod/client', 'prod/web', 8080, 'TCP', false],
      ['prod/client', '10.5.5.5', 443, 'TCP', false],
    ],
  },
  {
    name: "an except in one ipBlock does not deny what another peer allows",
    policies: [np('prod', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }, { ipBlock: { cidr: '10.0.1.8/29' } }] }] })],
    cases: [
      ['prod/client', 'prod/db', 5432, 'TCP', true], // 10.0.1.11: excepted by the first, in the second
      ['10.0.1.20', 'prod/db', 5432, 'TCP', false],
    ],
  },
  {
    name: 'an IPv6 address is not in 0.0.0.0/0',
    policies: [np('prod', 'client', { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] })],
    cases: [
      ['prod/client', '2001:db8::1', 443, 'TCP', false],
      ['prod/client', '203.0.113.9', 443, 'TCP', true],
    ],
  },
  {
    name: 'policyTypes absent: Ingress always, Egress only when egress has rules',
    policies: [
      np('prod', 'client', { podSelector: { matchLabels: { role: 'client' } }, egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }] }] }),
      np('dev', 'client', { podSelector: { matchLabels: { role: 'client' } }, egress: [] }),
    ],
    cases: [
      ['prod/client', 'prod/web', 8080, 'TCP', true],
      ['prod/client', 'prod/db', 5432, 'TCP', false], // Egress was defaulted in
      ['prod/web', 'prod/client', 80, 'TCP', false], // Ingress always: no ingress rules
      ['dev/client', 'prod/db', 5432, 'TCP', true], // egress: [] does not isolate egress
      ['dev/api', 'dev/client', 80, 'TCP', false],
    ],
  },
  {
    name: 'policyTypes given: rules of an unlisted type are ignored; [] is defaulted',
    policies: [
      np('prod', 'client', { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Egress'], egress: [{}], ingress: [] }),
      np('dev', 'client', { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Ingress'], ingress: [{}], egress: [{ to: [{ ipBlock: { cidr: '1.2.3.4/32' } }] }] }),
      np('dev', 'api', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: [], egress: [{ to: [{ ipBlock: { cidr: '1.2.3.4/32' } }] }] }),
    ],
    cases: [
      ['prod/web', 'prod/client', 80, 'TCP', true], // Egress only: ingress not isolated
      ['dev/client', 'prod/db', 5432, 'TCP', true], // Ingress only: its egress rules do nothing
      ['dev/api', 'prod/db', 5432, 'TCP', false], // [] defaulted to Ingress + Egress
      ['dev/api', '1.2.3.4', 443, 'TCP', true],
      ['dev/client', 'dev/api', 8081, 'TCP', false],
    ],
  },
  {
    name: 'matchExpressions on pods: In, NotIn and DoesNotExist over absent keys, Exists and matchLabels with the empty value',
    policies: [
      np('prod', 'web', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          { from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['client', 'server'] }] } }], ports: [{ port: 8080 }] },
          { from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['client'] }] } }], ports: [{ port: 9090 }] },
          { from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }], ports: [{ port: 81 }] },
          { from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }], ports: [{ port: 82 }] },
          { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { tier: '' } } }], ports: [{ port: 83 }] },
        ],
      }),
    ],
    cases: [
      ['dev/api', 'prod/web', 8080, 'TCP', true],
      ['other/bare', 'prod/web', 8080, 'TCP', false],
      ['other/bare', 'prod/web', 9090, 'TCP', true], // NotIn: an absent key matches
      ['dev/client', 'prod/web', 9090, 'TCP', false],
      ['other/client', 'prod/web', 81, 'TCP', true], // tier: '' exists
      ['prod/client', 'prod/web', 81, 'TCP', false],
      ['prod/client', 'prod/web', 82, 'TCP', true],
      ['other/client', 'prod/web', 82, 'TCP', false],
      ['other/client', 'prod/web', 83, 'TCP', true],
      ['other/bare', 'prod/web', 83, 'TCP', false], // {tier: ''} needs the key
    ],
  },
  {
    name: 'matchExpressions on namespaces and on the policy target, kubernetes.io/metadata.name',
    policies: [
      np('prod', 'web', {
        podSelector: { matchExpressions: [{ key: 'role', operator: 'DoesNotExist' }] },
        ingress: [
          { from: [{ namespaceSelector: { matchExpressions: [{ key: 'flag', operator: 'Exists' }] } }], ports: [{ port: 8080 }] },
          { from: [{ namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } }], ports: [{ port: 9090 }] },
          { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } } }], ports: [{ port: 5432 }] },
        ],
      }),
    ],
    cases: [
      ['other/bare', 'prod/web', 8080, 'TCP', true],
      ['dev/client', 'prod/web', 8080, 'TCP', false],
      ['dev/client', 'prod/web', 9090, 'TCP', true],
      ['other/bare', 'prod/web', 9090, 'TCP', false],
      ['dev/api', 'prod/db', 5432, 'TCP', true],
      ['other/bare', 'prod/db', 5432, 'TCP', false],
      ['other/bare', 'prod/client', 80, 'TCP', true], // has role: not a target
    ],
  },
  {
    name: 'policies add up; a policy selects only in its own namespace',
    policies: [
      np('prod', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }),
      np('prod', 'web-dev', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } } }], ports: [{ port: 8080 }] }] }),
      np('prod', 'web-client', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 9090 }] }] }),
      np('dev', 'everything', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }),
    ],
    cases: [
      ['dev/client', 'prod/web', 8080, 'TCP', true],
      ['dev/client', 'prod/web', 9090, 'TCP', false],
      ['prod/client', 'prod/web', 9090, 'TCP', true],
      ['prod/client', 'prod/db', 5432, 'TCP', false],
      ['other/client', 'dev/api', 8081, 'TCP', false],
      ['dev/client', 'dev/api', 8081, 'TCP', true],
    ],
  },
  {
    name: 'both sides must allow; IP to IP is outside the cluster',
    policies: [
      np('prod', 'client-out', { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] }),
      np('prod', 'web-in', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }] }),
    ],
    cases: [
      ['prod/client', 'prod/web', 8080, 'TCP', false], // ingress yes, egress no
      ['prod/client', 'prod/db', 5432, 'TCP', true],
      ['prod/db', 'prod/web', 8080, 'TCP', false],
      ['8.8.8.8', '1.1.1.1', 443, 'TCP', true],
    ],
  },
];

function trickyScenarios(): { scenario: Scenario; expected: Map<string, boolean> }[] {
  return TRICKY.map((t, i) => {
    const expected = new Map<string, boolean>();
    const cases = t.cases.map(([from, to, port, protocol, allowed], j): OracleCase => {
      const id = `t${i}.${j}`;
      expected.set(id, allowed);
      const ep = (s: string): OracleCase['from'] => (s.includes('/') ? { pod: s } : { ip: s });
      return { id, from: ep(from), to: ep(to), port, protocol };
    });
    return { scenario: { name: `tricky "${t.name}"`, namespaces: T_NAMESPACES, pods: T_PODS, policies: t.policies, cases }, expected };
  });
}

// ---------------------------------------------------------------------------------------

suiteNeeding('NetworkPolicy evaluator against Cyclonus (issue 4)', [goNeed('the Cyclonus NetworkPolicy oracle suite')], () => {
  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS);
    await cyclonusBinary();
  });

  it("the oracle passes its own Go tests (selector workaround, corpora from the Kubernetes docs)", async function () {
    this.timeout(BUILD_TIMEOUT_MS);
    await cyclonusGoTests();
  });

  it('agrees on the hand-listed tricky cases, and both give the documented answer', async function () {
    this.timeout(60_000);
    const outcomes: Outcome[] = [];
    const refusals: { scenario: string; problems: unknown[] }[] = [];
    const wrongOracle: string[] = [];
    for (const { scenario, expected } of trickyScenarios()) {
      const r = await runBoth(scenario);
      outcomes.push(...r.outcomes);
      if (r.refusals.length > 0) refusals.push({ scenario: scenario.name, problems: r.refusals });
      for (const o of r.outcomes) {
        if (o.oracle.allowed !== expected.get(o.c.id)) wrongOracle.push(`${scenario.name}/${o.c.id} ${JSON.stringify(o.c)}: Cyclonus says ${verdictText(o.oracle)}, the spec says allowed=${expected.get(o.c.id)}`);
      }
    }
    assert.deepEqual(wrongOracle, [], 'the oracle itself disagrees with the documented answer');
    assert.ok(outcomes.length >= 80, `only ${outcomes.length} tricky cases`);
    await assertAgreement(outcomes, refusals);
  });

  it(`agrees on random clusters, policies and connections (seed ${SEED}, ${RUNS} clusters)`, async function () {
    this.timeout(120_000);
    const scenarios = randomScenarios();
    const outcomes: Outcome[] = [];
    const refusals: { scenario: string; problems: unknown[] }[] = [];
    for (const s of scenarios) {
      const r = await runBoth(s);
      outcomes.push(...r.outcomes);
      if (r.refusals.length > 0) refusals.push({ scenario: s.name, problems: r.refusals });
    }

    await assertAgreement(outcomes, refusals);

    // The generator must have produced a meaningful mix, or agreement proves little.
    const mix = mixOf(outcomes);
    const shape = shapeOf(scenarios);
    console.log(`      ${mix.cases} cases: ${mix.allowed} allowed, ${mix.denied} denied (${mix.deniedByIngressOnly} by ingress only, ${mix.deniedByEgressOnly} by egress only, ${mix.deniedByBoth} by both); ` +
      `allowed through a named port ${mix.allowedViaNamedPort}, an endPort range ${mix.allowedViaEndPortRange}, an ipBlock with except ${mix.allowedViaIpBlockWithExcept}; peer IP in an except ${mix.ipInExcept} (${mix.deniedWithIpInExcept} denied)`);
    const atLeast = (what: string, n: number, min: number) => assert.ok(n >= min, `the generator produced only ${n} ${what} (want >= ${min}); mix ${JSON.stringify(mix)} shape ${JSON.stringify(shape)}`);
    atLeast('cases', mix.cases, 300);
    atLeast('allowed cases', mix.allowed, mix.cases * 0.2);
    atLeast('denied cases', mix.denied, mix.cases * 0.2);
    atLeast('cases denied by ingress only', mix.deniedByIngressOnly, 20);
    atLeast('cases denied by egress only', mix.deniedByEgressOnly, 20);
    atLeast('cases from an IP', mix.fromIp, 20);
    atLeast('cases to an IP', mix.toIp, 20);
    atLeast('cases allowed through a named port only', mix.allowedViaNamedPort, 5);
    atLeast('cases allowed through an endPort range only (past its first port)', mix.allowedViaEndPortRange, 5);
    atLeast('cases allowed through an ipBlock with except', mix.allowedViaIpBlockWithExcept, 5);
    atLeast('cases whose peer IP is in an except', mix.ipInExcept, 5);
    atLeast('denied cases whose peer IP is in an except', mix.deniedWithIpInExcept, 3);
    const { ops, ...counts } = shape;
    for (const [k, n] of Object.entries(counts)) atLeast(`policies/rules/peers/ports with ${k}`, n, 3);
    for (const [op, n] of Object.entries(ops)) atLeast(`selectors using ${op}`, n, 3);
  });
});
