// What a policy set allows beyond what was observed (docs/architecture.md, "Least privilege, measurably", 3): workload pairs and
// ports never seen that would be let through, and on observed HTTP edges, methods and paths
// never seen that would be let through. Each is found by replaying a request that did not
// happen, so it is measured with the same evaluators as the observed traffic.
//
// Pairs are not tried all against all (clients × workloads × ports grows with the square of
// the mesh). For each destination, its enforced ALLOW policies bound the clients Istio could
// admit (by principal, service account or namespace) and its isolating NetworkPolicies bound
// those NetworkPolicy could admit (by peer); a client outside either bound is denied for
// certain, so only the clients inside both are replayed. The result equals trying every
// pair (property-tested against that search, test/support/over-permission-all-pairs.ts).

import { compare } from '../flow/compare.js';
import type { L4Protocol } from '../flow/flow.js';
import type { Identity } from '../flow/identity.js';
import { podDataplane, type Pod } from '../inventory/inventory.js';
import { allowIdentityBounds, exactPrincipals, namespacePatternAdmits, principalPatternAdmits, type IdentityBound } from './istio.js';
import type { PathValue } from './istio-match.js';
import { ingressRulesOf, peerAdmits, peerReadsAddress, peerSelectsNamespace, type NpPeer, type PodEndpoint } from './network-policy.js';
import { podEndpoint, principalFor, refText, replay, unobserved, type Observation, type ReplayContext, type ReplayEndpoint, type ReplayIndex, type ReplayResult, type Verdict } from './replay.js';

export interface PairGrant {
  from: string;
  to: string;
  port: number;
  /** allowed: any request; partial / unknown: some requests, or it depends on what replay cannot see. */
  verdict: Verdict;
  istio: Verdict;
  networkPolicy: Verdict;
  /**
   * The policy rules that let it through, as "istio NS/NAME#RULE", "egress NS/NAME#RULE" or
   * "ingress NS/NAME#RULE". Empty: it passes only because no policy isolates either side.
   */
  allowedBy: string[];
}

interface OperationGrant {
  edge: string;
  /** Methods not observed on the edge that would be allowed on its observed paths. */
  methods: string[];
  /** Whether a path never observed, at the root, would be allowed with an observed method. */
  anyPath: boolean;
  /**
   * Unobserved paths beside and below the observed ones (`/api/products` → `/api/ztmap-unobserved`,
   * `/api/products/ztmap-unobserved`) that would be allowed with an observed method: what a
   * prefix or suffix match admits beyond what was seen.
   */
  paths: string[];
}

export interface OverPermission {
  /** Unobserved (client, server, port) triples checked, and those not denied. */
  pairsChecked: number;
  pairs: PairGrant[];
  operations: OperationGrant[];
}

/** A client that is no workload of the cluster and has no identity: the internet. */
export const OUTSIDER: ReplayEndpoint = { key: 'world:203.0.113.1', kind: 'world', name: '203.0.113.1', ips: ['203.0.113.1'] };

/**
 * A pod inside the cluster without a sidecar and without labels, one per namespace: no
 * identity for Istio, and only namespace-wide peers for NetworkPolicy. It finds what is
 * allowed to an unauthenticated in-cluster client (docs/architecture.md, "Least privilege, measurably", 4), which the outsider's
 * address cannot show to namespaceSelector and podSelector peers.
 */
export const UNMESHED_PROBE = 'Probe/unmeshed-pod';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const UNOBSERVED = 'ztmap-unobserved';
const UNOBSERVED_PATH = `/${UNOBSERVED}-path`;
/** Observed paths per edge that get probes beside and below them. */
const MAX_PATH_PROBES = 50;

function unmeshedPod(namespace: string): Pod {
  const workload: Identity = { key: `${namespace}/${UNMESHED_PROBE}`, kind: 'workload', namespace, name: 'unmeshed-pod', workloadKind: 'Probe', serviceAccount: 'default', labels: {} };
  return { namespace, name: 'unmeshed-pod', uid: '', ips: [], hostNetwork: false, serviceAccount: 'default', labels: {}, ports: [], hasSidecar: false, workload, identity: workload };
}

/** Unobserved paths next to an observed one: its sibling and its child (for a template, beside its literal head). */
export function neighbourPaths(path: PathValue): string[] {
  const hole = path.template ? path.text.indexOf('{') : -1;
  const literal = hole >= 0 ? path.text.slice(0, hole) : path.text;
  const parent = literal.slice(0, literal.lastIndexOf('/') + 1);
  if (!literal.startsWith('/')) return [];
  const out = new Set([`${parent}${UNOBSERVED}`]);
  if (hole < 0) out.add(`${literal.replace(/\/$/, '')}/${UNOBSERVED}`);
  return [...out];
}

export function overPermission(ctx: ReplayContext, index: ReplayIndex, observed: readonly Observation[]): OverPermission {
  const seen = new Set(observed.map((o) => `${o.from.key}\n${o.to.key}\n${o.port}`));
  const workloads = [...index.podsOf.keys()].sort(compare);
  const endpoint = (key: string): ReplayEndpoint => {
    const p = index.podsOf.get(key)![0]!;
    return { key, kind: 'workload', namespace: p.namespace, name: p.workload.name, ips: [] };
  };
  const portsOf = new Map<string, number[]>();
  for (const key of workloads) {
    const ports = new Set<number>();
    for (const p of index.podsOf.get(key)!) for (const c of p.ports) if (c.protocol === 'TCP') ports.add(c.port);
    for (const o of observed) if (o.to.key === key) ports.add(o.port);
    portsOf.set(key, [...ports].sort((a, b) => a - b));
  }

  const pairs: PairGrant[] = [];
  let pairsChecked = 0;
  // The unmeshed probes are clients only: their pods join an index of their own.
  const probeIndex: ReplayIndex = { ...index, podsOf: new Map(index.podsOf) };
  const probes: ReplayEndpoint[] = [];
  for (const ns of [...ctx.inventory.namespaces].sort(compare)) {
    const pod = unmeshedPod(ns);
    probeIndex.podsOf.set(pod.workload.key, [pod]);
    probes.push({ key: pod.workload.key, kind: 'workload', namespace: ns, name: pod.workload.name, ips: [] });
  }
  const serviceAccountsOf = (key: string) => [...new Set(probeIndex.podsOf.get(key)!.map((p) => p.serviceAccount))].sort(compare);
  const sources: ReplayEndpoint[] = [...workloads.map(endpoint), ...probes, OUTSIDER];
  const admission = new Admission(ctx, probeIndex, sources, serviceAccountsOf);
  // Observed triples among those searched, by destination.
  const sourceKeys = new Set(sources.map((x) => x.key));
  const seenTo = new Map<string, number>();
  const counted = new Set<string>();
  for (const o of observed) {
    const triple = `${o.from.key}\n${o.to.key}\n${o.port}`;
    if (counted.has(triple) || !sourceKeys.has(o.from.key) || !(portsOf.get(o.to.key)?.includes(o.port) ?? false)) continue;
    counted.add(triple);
    seenTo.set(o.to.key, (seenTo.get(o.to.key) ?? 0) + 1);
  }
  const found: { from: number; to: number; port: number; grant: PairGrant }[] = [];
  workloads.forEach((toKey, t) => {
    const to = endpoint(toKey);
    const ports = portsOf.get(toKey)!;
    // Every unobserved triple counts as checked: those outside the bounds are denied for certain.
    pairsChecked += ports.length * sources.length - (seenTo.get(toKey) ?? 0);
    for (const f of admission.candidates(toKey)) {
      const from = sources[f]!;
      ports.forEach((port, p) => {
        if (seen.has(`${from.key}\n${toKey}\n${port}`)) return;
        const o = unobserved(from, to, port, 'http', from.kind === 'workload' ? serviceAccountsOf(from.key) : []);
        const r = replay(ctx, probeIndex, o);
        if (r.verdict !== 'denied') found.push({ from: f, to: t, port: p, grant: { from: from.key, to: toKey, port, verdict: r.verdict, istio: r.istio.verdict, networkPolicy: r.networkPolicy.verdict, allowedBy: allowedBy(r) } });
      });
    }
  });
  // In the order of the search over all pairs: by source, then workload, then port.
  found.sort((a, b) => a.from - b.from || a.to - b.to || a.port - b.port);
  for (const x of found) pairs.push(x.grant);

  const operations: OperationGrant[] = [];
  const done = new Set<string>();
  for (const o of observed) {
    if (o.protocol === 'tcp' || done.has(o.edge) || o.methods.length === 0) continue;
    done.add(o.edge);
    const methods = METHODS.filter((m) => !o.methods.includes(m)).filter((m) => replay(ctx, index, { ...o, methods: [m] }).verdict !== 'denied');
    const admits = (text: string) => replay(ctx, index, { ...o, paths: [{ text, template: false }], pathsIncomplete: false }).verdict !== 'denied';
    const anyPath = admits(UNOBSERVED_PATH);
    const observedPaths = new Set(o.paths.map((p) => p.text));
    const neighbours = [...new Set(o.paths.slice(0, MAX_PATH_PROBES).flatMap(neighbourPaths))].filter((p) => !observedPaths.has(p)).sort(compare);
    const paths = anyPath ? [] : neighbours.filter(admits);
    if (methods.length > 0 || anyPath || paths.length > 0) operations.push({ edge: o.edge, methods, anyPath, paths });
  }
  return { pairsChecked, pairs, operations };
}

/** The rules of either target that admitted a replayed request, sorted and once each. */
function allowedBy(r: ReplayResult): string[] {
  const by = new Set<string>();
  for (const x of r.istio.outcomes) if (x.decision === 'allow' && x.reason === 'allowed-by') for (const p of x.policies) by.add(`istio ${refText(p)}`);
  for (const x of r.networkPolicy.outcomes) {
    if (x.decision !== 'allow') continue;
    for (const p of x.egress?.isolated ? x.egress.allowedBy : []) by.add(`egress ${refText(p)}`);
    for (const p of x.ingress?.isolated ? x.ingress.allowedBy : []) by.add(`ingress ${refText(p)}`);
  }
  return [...by].sort(compare);
}

/** Source positions, in the order of the search's sources. */
type Positions = readonly number[];

/**
 * Which sources a destination's policies could admit. Each bound over-approximates: a
 * source it leaves out gets a denial from every outcome of that target (Istio: no ALLOW
 * rule can match its principal, null or known; NetworkPolicy: no ingress peer matches any
 * of its pods or addresses), so the pair is denied and need not be replayed.
 */
export class Admission {
  /** Sources by the principal they present when replay gives them one. */
  private readonly byPrincipal = new Map<string, number[]>();
  private readonly byAccount = new Map<string, number[]>();
  /** Sources whose principal replay may leave unknown: every rule may match them. */
  private readonly unknownPrincipal: number[] = [];
  private readonly byNamespace = new Map<string, number[]>();
  private readonly all: Positions;
  private readonly withAddress: { at: number; ips: string[] }[] = [];
  private readonly boundMemo = new Map<string, Positions>();
  private readonly peerMemo = new Map<string, WeakMap<object, Positions>>();
  private readonly endpoints: (readonly PodEndpoint[] | undefined)[] = [];
  /** The trust domain is a path segment of principals; with a `/` in it the index cannot parse them. */
  private readonly exact: boolean;

  constructor(
    private readonly ctx: ReplayContext,
    private readonly index: ReplayIndex,
    private readonly sources: readonly ReplayEndpoint[],
    serviceAccountsOf: (key: string) => string[],
  ) {
    this.all = sources.map((_, i) => i);
    this.exact = !ctx.trustDomain.includes('/');
    sources.forEach((s, i) => {
      const pods = s.kind === 'workload' ? (index.podsOf.get(s.key) ?? []) : [];
      if (s.namespace !== undefined && s.kind === 'workload') push(this.byNamespace, s.namespace, i);
      const ips = s.kind === 'workload' ? pods.flatMap((p) => p.ips) : s.ips;
      if (ips.length > 0) this.withAddress.push({ at: i, ips });
      // As replay's principalsOf gives them to a request not seen by a server proxy.
      if (s.kind !== 'workload' || s.namespace === undefined) return;
      const sas = serviceAccountsOf(s.key);
      if (pods.length > 0 && pods.every((p) => podDataplane(p) === 'none')) return; // plaintext: no principal
      if (pods.length === 0 || sas.length === 0 || !pods.every((p) => podDataplane(p) !== 'none')) {
        this.unknownPrincipal.push(i);
        return;
      }
      for (const sa of sas) {
        push(this.byPrincipal, principalFor(ctx.trustDomain, s.namespace, sa), i);
        push(this.byAccount, `${s.namespace}/${sa}`, i);
      }
    });
  }

  /** The sources to replay against `toKey`, in search order. */
  candidates(toKey: string): Positions {
    const pods = this.index.podsOf.get(toKey) ?? [];
    if (pods.length === 0) return this.all;
    const istio = this.istioBound(pods);
    const np = this.networkPolicyBound(pods);
    if (istio === this.all) return np;
    if (np === this.all) return istio;
    const inNp = new Set(np);
    return istio.filter((i) => inNp.has(i));
  }

  /** Sources some enforced ALLOW rule at any of the pods could match; all when a pod has no ALLOW policy or none enforced. */
  private istioBound(pods: readonly Pod[]): Positions {
    if (!this.exact) return this.all;
    const admitted = new Set<number>();
    for (const pod of pods) {
      const dataplane = podDataplane(pod);
      // Not enforced; or behind a waypoint, where ztunnel sees an identity replay does not know.
      if (dataplane === 'none' || (dataplane === 'ambient' && pod.waypoint !== undefined)) return this.all;
      const allows = this.index.istio.applicable(pod.namespace, pod.labels).filter((p) => !p.dryRun && p.action === 'ALLOW');
      if (allows.length === 0) return this.all;
      for (const p of allows) {
        const bounds = allowIdentityBounds(p);
        if (bounds === 'any') return this.all;
        for (const b of bounds) for (const i of this.admittedBy(b)) admitted.add(i);
      }
    }
    for (const i of this.unknownPrincipal) admitted.add(i);
    return [...admitted].sort((a, b) => a - b);
  }

  private admittedBy(b: IdentityBound): Positions {
    const key = JSON.stringify(b);
    const known = this.boundMemo.get(key);
    if (known !== undefined) return known;
    const out = new Set<number>();
    const principals = [...this.byPrincipal.keys()];
    if ('principals' in b) {
      for (const pattern of b.principals) {
        const exact = exactPrincipals(pattern, this.ctx.trustDomain);
        if (exact !== undefined) for (const x of exact) for (const i of this.byPrincipal.get(x) ?? []) out.add(i);
        else for (const x of principals) if (principalPatternAdmits(pattern, x, this.ctx.trustDomain)) for (const i of this.byPrincipal.get(x)!) out.add(i);
      }
    } else if ('serviceAccounts' in b) {
      for (const account of b.serviceAccounts) for (const i of this.byAccount.get(account) ?? []) out.add(i);
    } else {
      for (const pattern of b.namespaces) for (const x of principals) if (namespacePatternAdmits(pattern, x)) for (const i of this.byPrincipal.get(x)!) out.add(i);
    }
    const positions = [...out];
    this.boundMemo.set(key, positions);
    return positions;
  }

  /** Sources some ingress peer at any of the pods could match; all when a pod is not isolated for ingress. */
  private networkPolicyBound(pods: readonly Pod[]): Positions {
    const admitted = new Set<number>();
    for (const pod of pods) {
      // Meshed clients reach a pod behind a waypoint through the waypoint: replay says unknown.
      if (pod.waypoint !== undefined) return this.all;
      const rules = ingressRulesOf(this.ctx.networkPolicies, podEndpoint(pod));
      if (rules === undefined) return this.all;
      for (const r of rules) {
        if (r.peers === undefined) return this.all;
        for (const peer of r.peers) for (const i of this.peerAdmitted(r.namespace, peer)) admitted.add(i);
      }
    }
    return [...admitted].sort((a, b) => a - b);
  }

  private peerAdmitted(policyNamespace: string, peer: NpPeer): Positions {
    let byPeer = this.peerMemo.get(policyNamespace);
    if (byPeer === undefined) this.peerMemo.set(policyNamespace, (byPeer = new WeakMap()));
    const known = byPeer.get(peer);
    if (known !== undefined) return known;
    const model = this.ctx.networkPolicies;
    const out: number[] = [];
    if (peerReadsAddress(peer)) {
      for (const { at, ips } of this.withAddress) if (ips.some((ip) => peerAdmits(model, policyNamespace, peer, { ip }))) out.push(at);
    } else {
      for (const [ns, positions] of this.byNamespace) {
        if (!peerSelectsNamespace(model, policyNamespace, peer, ns)) continue;
        for (const i of positions) if (this.podsOfSource(i).some((pod) => peerAdmits(model, policyNamespace, peer, { pod }))) out.push(i);
      }
    }
    byPeer.set(peer, out);
    return out;
  }

  /** A source's pods as NetworkPolicy sees them (none for the outsider). */
  private podsOfSource(i: number): readonly PodEndpoint[] {
    return (this.endpoints[i] ??= (this.index.podsOf.get(this.sources[i]!.key) ?? []).map(podEndpoint));
  }
}

function push(m: Map<string, number[]>, key: string, i: number): void {
  const list = m.get(key);
  if (list === undefined) m.set(key, [i]);
  else if (list[list.length - 1] !== i) list.push(i);
}
