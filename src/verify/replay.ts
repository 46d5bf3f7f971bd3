// Replay: every observation of traffic against a policy set, with each target's semantics.
// An observation is one graph edge's requests of one mTLS class (or, from logs, one request
// shape). Each is evaluated for every distinct pod shape of the client and the server (pods
// of a workload usually share labels and ports, so this is one pair), every identity the
// client may have had, and every operation observed, and the verdict says whether all,
// none or some of those are allowed.
//
// Ambient pods (docs/ambient.md) are enforced by ztunnel: Istio's policies are evaluated as
// ztunnel converts them (L4 only, see istio.ts), PeerAuthentication DISABLE is ignored, and
// between two meshed pods of which one is ambient the connection NetworkPolicy sees goes to
// port 15008 (HBONE), while kubelet probes to an ambient pod come from 169.254.7.127.

import type { L4Protocol, Mtls } from '../flow/flow.js';
import type { NodeKind } from '../flow/identity.js';
import { podDataplane, type Dataplane, type Inventory, type Pod } from '../inventory/inventory.js';
import { evaluateIstio, istioPolicyIndex, type Decision, type IstioPolicyIndex, type IstioPolicyRef, type IstioRequest, type IstioVerdict } from './istio.js';
import type { PathValue } from './istio-match.js';
import type { PolicySet } from './manifests.js';
import { evaluateConnection, type NetworkPolicyModel, type NpEndpoint, type NpPolicyRef, type NpProtocol, type PodEndpoint } from './network-policy.js';
import { mtlsPolicyFor } from './peer-authentication.js';
import { compare } from '../flow/compare.js';

export interface ReplayEndpoint {
  key: string;
  kind: NodeKind;
  namespace?: string;
  name: string;
  /** Addresses observed (world, node, unknown endpoints). */
  ips: string[];
}

export interface Observation {
  edge: string;
  from: ReplayEndpoint;
  to: ReplayEndpoint;
  port: number;
  protocol: L4Protocol;
  /** How the server saw it: over mTLS, in plaintext, or not seen by a server proxy. */
  mtls: Mtls;
  /** Service accounts the client pods used (the edge's, else the workload's). */
  serviceAccounts: string[];
  requests: number;
  /** HTTP detail; empty lists mean not known. */
  methods: string[];
  paths: PathValue[];
  /** The graph kept only some of the paths: the others are unknown. */
  pathsIncomplete: boolean;
  /** The transport NetworkPolicy sees (absent: TCP, which is all telemetry shows); Istio never applies to UDP or SCTP. */
  transport?: NpProtocol;
}

/**
 * A request nobody was seen making, as replay takes it (over-permission's probes, diff's): the
 * identity auto-mTLS would present (none without a sidecar), no count of its own unless told,
 * and the method and path or the transport probed, if any.
 */
export function unobserved(from: ReplayEndpoint, to: ReplayEndpoint, port: number, protocol: L4Protocol, serviceAccounts: string[], o: { requests?: number; op?: { method: string; path: string }; transport?: NpProtocol } = {}): Observation {
  return {
    edge: `${from.key}->${to.key}:${port}/${o.transport ?? protocol}`,
    from,
    to,
    port,
    protocol,
    ...(o.transport === undefined ? {} : { transport: o.transport }),
    mtls: 'unknown',
    serviceAccounts,
    requests: o.requests ?? 0,
    methods: o.op === undefined ? [] : [o.op.method],
    paths: o.op === undefined ? [] : [{ text: o.op.path, template: false }],
    pathsIncomplete: false,
  };
}

export type Verdict = 'allowed' | 'denied' | 'partial' | 'unknown';

/** Istio's HBONE port, which NetworkPolicy sees for connections ztunnel carries. */
export const HBONE_PORT = 15008;
/** The address istio-cni rewrites kubelet probes of ambient pods to. */
const AMBIENT_PROBE_SOURCE = '169.254.7.127';

export interface IstioOutcome {
  decision: Decision | 'not-enforced';
  reason: IstioVerdict['reason'] | 'no-sidecar' | 'plaintext-refused' | 'mtls-unknown';
  /** Where Istio enforced it: the sidecar, or ztunnel for an ambient pod (L4 only). */
  enforcedBy?: 'ztunnel';
  policies: IstioPolicyRef[];
  /** What this outcome was seen for (absent: every case). */
  method?: string;
  path?: string;
  principal?: string | null;
}

export interface NpOutcome {
  decision: Decision;
  reason: 'allowed' | 'egress-denied' | 'ingress-denied' | 'node-local' | 'no-pods' | 'no-address' | 'waypoint';
  egress?: { isolated: boolean; allowedBy: NpPolicyRef[]; isolatedBy: NpPolicyRef[] };
  ingress?: { isolated: boolean; allowedBy: NpPolicyRef[]; isolatedBy: NpPolicyRef[] };
  fromPod?: string;
  toPod?: string;
}

export interface ReplayResult {
  observation: Observation;
  verdict: Verdict;
  istio: { verdict: Verdict; outcomes: IstioOutcome[] };
  /** The Istio verdict with dry-run policies enforced, when any applied and it differs. */
  istioDryRun?: { verdict: Verdict; outcomes: IstioOutcome[] };
  networkPolicy: { verdict: Verdict; outcomes: NpOutcome[] };
  /** Assumptions replay made (auto-mTLS between sidecars, …). */
  notes: string[];
}

export interface ReplayContext {
  inventory: Inventory;
  policies: PolicySet;
  networkPolicies: NetworkPolicyModel;
  trustDomain: string;
  rootNamespace: string;
}

export interface PodShape {
  pod: Pod;
  np: PodEndpoint;
}

/** Pods by workload key, and whether any policy reads addresses (then pods differ by IP). */
export interface ReplayIndex {
  podsOf: Map<string, Pod[]>;
  addressSensitive: boolean;
  hasDryRun: boolean;
  /** The AuthorizationPolicies by the workloads they select. */
  istio: IstioPolicyIndex;
  /** Each workload's pod shapes, worked out once (key: workload key, then whether by node). */
  shapes: Map<string, PodShape[]>;
}

export function replayIndex(ctx: ReplayContext): ReplayIndex {
  const podsOf = new Map<string, Pod[]>();
  for (const p of ctx.inventory.pods) {
    const list = podsOf.get(p.workload.key) ?? [];
    list.push(p);
    podsOf.set(p.workload.key, list);
  }
  for (const list of podsOf.values()) list.sort((a, b) => compare(a.name, b.name));
  const addressSensitive =
    ctx.policies.networkPolicies.some((p) => JSON.stringify(p).includes('"ipBlock"')) ||
    ctx.policies.authorization.some((p) => p.rules.some((r) => (r.from ?? []).some((s) => s.ipBlocks ?? s.notIpBlocks ?? s.remoteIpBlocks ?? s.notRemoteIpBlocks) || (r.when ?? []).some((c) => c.key.endsWith('.ip'))));
  return { podsOf, addressSensitive, hasDryRun: ctx.policies.authorization.some((p) => p.dryRun), istio: istioPolicyIndex(ctx.policies.authorization, ctx.rootNamespace), shapes: new Map() };
}

export function podEndpoint(p: Pod): PodEndpoint {
  return {
    namespace: p.namespace,
    name: p.name,
    labels: p.labels,
    ...(p.ips[0] === undefined ? {} : { ip: p.ips[0] }),
    ...(p.hostIP === undefined ? {} : { hostIP: p.hostIP }),
    ports: p.ports.map((c) => ({ ...(c.name === undefined ? {} : { name: c.name }), containerPort: c.port, protocol: (c.protocol === 'UDP' || c.protocol === 'SCTP' ? c.protocol : 'TCP') as 'TCP' | 'UDP' | 'SCTP' })),
  };
}

/** One pod per distinct (labels, ports, sidecar[, address, node]): what policies can tell apart. */
export function podShapes(pods: readonly Pod[], withAddress: boolean, withNode: boolean): PodShape[] {
  const seen = new Map<string, PodShape>();
  for (const pod of pods) {
    const key = JSON.stringify([
      Object.entries(pod.labels).sort(([a], [b]) => compare(a, b)),
      pod.ports,
      pod.hasSidecar,
      podDataplane(pod),
      pod.waypoint ?? '',
      withAddress ? pod.ips[0] : '',
      withNode ? pod.hostIP : '',
    ]);
    if (!seen.has(key)) seen.set(key, { pod, np: podEndpoint(pod) });
  }
  return [...seen.values()];
}

type Side = { kind: 'pods'; shapes: PodShape[] } | { kind: 'ips'; ips: string[] } | { kind: 'none'; why: 'no-pods' | 'no-address' };

function sideOf(e: ReplayEndpoint, index: ReplayIndex, withNode: boolean): Side {
  if (e.kind === 'workload') {
    const pods = index.podsOf.get(e.key) ?? [];
    if (pods.length === 0) return { kind: 'none', why: 'no-pods' };
    const key = `${withNode ? 'n' : '-'}${e.key}`;
    let shapes = index.shapes.get(key);
    if (shapes === undefined) index.shapes.set(key, (shapes = podShapes(pods, index.addressSensitive, withNode)));
    return { kind: 'pods', shapes };
  }
  const ips = e.ips.length > 0 ? e.ips : ipOfKey(e.key);
  return ips.length === 0 ? { kind: 'none', why: 'no-address' } : { kind: 'ips', ips };
}

/** `world:1.2.3.4`, `node:10.0.0.1`, `unknown:10.1.2.3`: the address in the key. */
function ipOfKey(key: string): string[] {
  const rest = key.slice(key.indexOf(':') + 1);
  return /^[0-9a-fA-F.:]+$/.test(rest) && rest.includes('.') ? [rest] : [];
}

/** A policy, and its rule when one decided, as reports print it: `NS/NAME#RULE`. */
export const refText = (p: { namespace: string; name: string; rule?: number }) => `${p.namespace}/${p.name}${p.rule === undefined ? '' : `#${p.rule}`}`;

export function principalFor(trustDomain: string, namespace: string, sa: string): string {
  return `${trustDomain}/ns/${namespace}/sa/${sa}`;
}

export function combine(decisions: Iterable<Decision | 'not-enforced'>): Verdict {
  let allow = false;
  let deny = false;
  let unknown = false;
  for (const d of decisions) {
    if (d === 'deny') deny = true;
    else if (d === 'unknown') unknown = true;
    else allow = true;
  }
  if (deny) return allow || unknown ? 'partial' : 'denied';
  if (unknown) return 'unknown';
  return 'allowed';
}

/** Both targets must allow: a denial anywhere is one, then partial, then unknown. */
function both(a: Verdict, b: Verdict): Verdict {
  for (const v of ['denied', 'partial', 'unknown'] as const) if (a === v || b === v) return v;
  return 'allowed';
}

export function replay(ctx: ReplayContext, index: ReplayIndex, o: Observation): ReplayResult {
  const notes: string[] = [];
  const from = sideOf(o.from, index, false);
  const to = sideOf(o.to, index, o.from.kind === 'node');

  // Network policy: every client shape against every server shape.
  const np: NpOutcome[] = [];
  const fromEnds: { ep?: NpEndpoint; name?: string; dataplane?: Dataplane }[] =
    from.kind === 'pods'
      ? from.shapes.map((s) => ({ ep: { pod: s.np }, name: `${s.pod.namespace}/${s.pod.name}`, dataplane: podDataplane(s.pod) }))
      : from.kind === 'ips'
        ? from.ips.map((ip) => ({ ep: { ip } }))
        : [{}];
  const toEnds: { ep?: NpEndpoint; name?: string; hostIP?: string; dataplane?: Dataplane; waypoint?: string }[] =
    to.kind === 'pods'
      ? to.shapes.map((s) => ({
          ep: { pod: s.np },
          name: `${s.pod.namespace}/${s.pod.name}`,
          dataplane: podDataplane(s.pod),
          ...(s.pod.hostIP === undefined ? {} : { hostIP: s.pod.hostIP }),
          ...(s.pod.waypoint === undefined ? {} : { waypoint: s.pod.waypoint }),
        }))
      : to.kind === 'ips'
        ? to.ips.map((ip) => ({ ep: { ip } }))
        : [{}];
  for (const f of fromEnds) {
    for (const t of toEnds) {
      const names = { ...(f.name === undefined ? {} : { fromPod: f.name }), ...(t.name === undefined ? {} : { toPod: t.name }) };
      if (f.ep === undefined || t.ep === undefined) {
        const why = from.kind === 'none' ? from.why : to.kind === 'none' ? to.why : 'no-address';
        np.push({ decision: 'unknown', reason: why, ...names });
        continue;
      }
      // Meshed traffic to a pod behind a waypoint may go through the waypoint's pods (all of
      // it when addressed to the Service), a path replay does not model: unknown, not a guess.
      if (t.waypoint !== undefined && f.dataplane !== undefined && f.dataplane !== 'none') {
        addNote(notes, `${t.name ?? 'the server'} is behind the waypoint ${t.waypoint}: NetworkPolicy sees client -> waypoint -> server on ${HBONE_PORT}, which replay does not model`);
        np.push({ decision: 'unknown', reason: 'waypoint', ...names });
        continue;
      }
      const ownNode = o.from.kind === 'node' && 'ip' in f.ep && t.hostIP !== undefined && f.ep.ip === t.hostIP;
      // Ambient: the kubelet's probes arrive from istio-cni's link-local address, which a CNI
      // may drop like any other under a default deny; meshed pairs talk HBONE on 15008.
      const ambientProbe = ownNode && t.dataplane === 'ambient';
      const transport = o.transport ?? 'TCP';
      // ztunnel carries TCP only: UDP and SCTP between ambient pods go as they are.
      const hbone = transport === 'TCP' && f.dataplane !== undefined && t.dataplane !== undefined && f.dataplane !== 'none' && t.dataplane !== 'none' && (f.dataplane === 'ambient' || t.dataplane === 'ambient');
      if (ambientProbe) addNote(notes, `the kubelet's probes to ambient pods come from ${AMBIENT_PROBE_SOURCE}: replayed from that address`);
      if (hbone) addNote(notes, `ambient mode: the connection between meshed pods travels in HBONE, replayed for NetworkPolicy on port ${HBONE_PORT}`);
      const conn = ambientProbe ? { from: { ip: AMBIENT_PROBE_SOURCE }, to: t.ep } : { from: f.ep, to: t.ep };
      const v = evaluateConnection(ctx.networkPolicies, { ...conn, port: hbone ? HBONE_PORT : o.port, protocol: transport });
      // Traffic from a pod's own node (kubelet probes) is always allowed by the CNI.
      const nodeLocal = ownNode && !ambientProbe;
      const sides = { egress: slim(v.egress), ingress: slim(v.ingress) };
      if (nodeLocal && !v.ingress.allowed && v.egress.allowed) {
        np.push({ decision: 'allow', reason: 'node-local', ...sides, ...names });
      } else {
        np.push({ decision: v.allowed ? 'allow' : 'deny', reason: v.allowed ? 'allowed' : !v.egress.allowed ? 'egress-denied' : 'ingress-denied', ...sides, ...names });
      }
    }
  }

  // Istio: at the server's sidecar, for each identity the client may have presented.
  const istio: IstioOutcome[] = [];
  const istioDry: IstioOutcome[] = [];
  const principals = principalsOf(o, from, to, notes, ctx.trustDomain);
  const ops = operationsOf(o);
  const serverShapes = to.kind === 'pods' ? to.shapes : [];
  if (to.kind !== 'pods') istio.push({ decision: 'not-enforced', reason: 'no-sidecar', policies: [] });
  const clientIps = from.kind === 'pods' ? [...new Set(from.shapes.map((s) => s.pod.ips[0]))] : from.kind === 'ips' ? from.ips : [undefined];
  for (const s of serverShapes) {
    const dataplane = podDataplane(s.pod);
    if (dataplane === 'none') {
      istio.push({ decision: 'not-enforced', reason: 'no-sidecar', policies: [] });
      continue;
    }
    if (dataplane === 'ambient') {
      replayAtZtunnel(ctx, index, o, s, principals, clientIps, notes, istio, istioDry);
      continue;
    }
    const strict = mtlsPolicyFor(ctx.policies.peerAuthentication, s.pod.namespace, s.pod.labels, o.port, ctx.rootNamespace);
    // With mTLS disabled at the server, auto-mTLS clients send plaintext: no identity arrives.
    const disabled = strict.mode === 'DISABLE';
    if (disabled && principals.some((x) => x !== null)) {
      notes.push(`mTLS is disabled for ${s.pod.namespace}/${s.pod.name}:${o.port} by PeerAuthentication ${strict.by!.namespace}/${strict.by!.name}: replayed in plaintext, without a principal`);
    }
    for (const principal of disabled ? [null] : principals) {
      if (strict.mode === 'STRICT' && principal !== undefined && principal === null) {
        const refused: IstioOutcome = { decision: 'deny', reason: 'plaintext-refused', policies: strict.by === undefined ? [] : [strict.by], principal };
        istio.push(refused);
        istioDry.push(refused);
        continue;
      }
      for (const ip of clientIps) {
        for (const op of ops) {
          const req: IstioRequest = {
            source: { principal, ...(ip === undefined ? {} : { ip }) },
            destination: { namespace: s.pod.namespace, labels: s.pod.labels, ...(s.pod.ips[0] === undefined ? {} : { ip: s.pod.ips[0] }), port: o.port },
            ...(op === undefined ? {} : { http: op }),
          };
          const detail = { ...(op?.method === undefined ? {} : { method: op.method }), ...(op?.path === undefined ? {} : { path: op.path.text }), principal };
          const v = evaluateIstio(index.istio, req, { rootNamespace: ctx.rootNamespace, trustDomain: ctx.trustDomain, enforceDryRun: false });
          // An unknown principal (mTLS not observed) only matters when it changes the answer.
          istio.push({ ...v, ...detail });
          if (index.hasDryRun) istioDry.push({ ...evaluateIstio(index.istio, req, { rootNamespace: ctx.rootNamespace, trustDomain: ctx.trustDomain, enforceDryRun: true }), ...detail });
        }
      }
    }
  }
  const istioVerdict = combine(istio.map((x) => x.decision));
  const npVerdict = combine(np.map((x) => x.decision));
  const result: ReplayResult = {
    observation: o,
    verdict: both(istioVerdict, npVerdict),
    istio: { verdict: istioVerdict, outcomes: distinct(istio) },
    networkPolicy: { verdict: npVerdict, outcomes: distinct(np) },
    notes,
  };
  if (index.hasDryRun && istioDry.length > 0) {
    const dry = combine([...istioDry.map((x) => x.decision), ...istio.filter((x) => x.decision === 'not-enforced').map((x) => x.decision)]);
    if (dry !== istioVerdict || JSON.stringify(distinct(istioDry)) !== JSON.stringify(result.istio.outcomes)) {
      result.istioDryRun = { verdict: dry, outcomes: distinct(istioDry) };
    }
  }
  return result;
}

function addNote(notes: string[], n: string): void {
  if (!notes.includes(n)) notes.push(n);
}

/**
 * An ambient server: ztunnel evaluates each connection at L4 (istio.ts, `ztunnel`), once
 * per identity and address whatever the HTTP operations. PeerAuthentication STRICT refuses
 * plaintext; DISABLE is ignored (HBONE is mTLS). Behind a waypoint, ztunnel sees the
 * waypoint's identity, which replay does not know.
 */
function replayAtZtunnel(
  ctx: ReplayContext,
  index: ReplayIndex,
  o: Observation,
  s: PodShape,
  principals: (string | null | undefined)[],
  clientIps: (string | undefined)[],
  notes: string[],
  istio: IstioOutcome[],
  istioDry: IstioOutcome[],
): void {
  const mtls = mtlsPolicyFor(ctx.policies.peerAuthentication, s.pod.namespace, s.pod.labels, o.port, ctx.rootNamespace);
  if (mtls.mode === 'DISABLE') addNote(notes, `PeerAuthentication ${mtls.by!.namespace}/${mtls.by!.name} sets DISABLE, which ambient mode ignores for ${s.pod.namespace}/${s.pod.name}`);
  const waypoint = s.pod.waypoint;
  if (waypoint !== undefined) {
    addNote(notes, `${s.pod.namespace}/${s.pod.name} is behind the waypoint ${waypoint}: ztunnel sees the waypoint's identity, which replay does not know, and waypoint (targetRefs) policies are not replayed`);
  }
  for (const p of principals) {
    const principal = waypoint !== undefined && p !== null ? undefined : p;
    if (mtls.mode === 'STRICT' && principal === null) {
      const refused: IstioOutcome = { decision: 'deny', reason: 'plaintext-refused', policies: mtls.by === undefined ? [] : [mtls.by], principal, enforcedBy: 'ztunnel' };
      istio.push(refused);
      istioDry.push(refused);
      continue;
    }
    for (const ip of clientIps) {
      const req: IstioRequest = {
        source: { principal, ...(ip === undefined ? {} : { ip }) },
        destination: { namespace: s.pod.namespace, labels: s.pod.labels, ...(s.pod.ips[0] === undefined ? {} : { ip: s.pod.ips[0] }), port: o.port },
      };
      const opts = { rootNamespace: ctx.rootNamespace, trustDomain: ctx.trustDomain, enforceDryRun: false, ztunnel: true };
      const v = evaluateIstio(index.istio, req, opts);
      const pod = `ambient ${s.pod.namespace}/${s.pod.name}`;
      for (const x of v.ztunnelOmitted ?? []) {
        const attrs = x.attributes.join(', ');
        addNote(
          notes,
          x.effect === 'not-applied'
            ? `ztunnel does not apply CUSTOM policy ${refText(x.policy)} to ${pod}`
            : x.effect === 'omitted'
              ? `ztunnel omits ALLOW rule ${refText(x.policy)} for ${pod}: it reads ${attrs}, which only a waypoint enforces (Istio: "rules matching HTTP attributes are omitted")`
              : x.effect === 'reduced'
                ? `ztunnel enforces DENY rule ${refText(x.policy)} for ${pod} without ${attrs}: it denies more than it says`
                : `ztunnel never applies DENY rule ${refText(x.policy)} for ${pod}: without ${attrs} part of it matches nothing, so what it was written to deny is not denied`,
        );
      }
      const { ztunnelOmitted: _omitted, ...verdict } = v;
      istio.push({ ...verdict, principal, enforcedBy: 'ztunnel' });
      if (index.hasDryRun) {
        const { ztunnelOmitted: _o, ...dry } = evaluateIstio(index.istio, req, { ...opts, enforceDryRun: true });
        istioDry.push({ ...dry, principal, enforcedBy: 'ztunnel' });
      }
    }
  }
}

function slim(s: { isolated: boolean; allowedBy: NpPolicyRef[]; isolatedBy: NpPolicyRef[] }) {
  return { isolated: s.isolated, allowedBy: s.allowedBy, isolatedBy: s.isolatedBy };
}

/** Outcomes without repeats, in first-seen order: the report lists each reason once. */
function distinct<T>(xs: T[]): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The identities the client may have presented. mTLS observed: its service accounts'
 * principals. Plaintext: none. Not seen by a server proxy: Istio's auto-mTLS gives a
 * principal when both ends run sidecars, none otherwise.
 */
function principalsOf(o: Observation, from: Side, to: Side, notes: string[], trustDomain: string): (string | null | undefined)[] {
  const sas = o.from.kind === 'workload' && o.from.namespace !== undefined ? o.serviceAccounts.map((sa) => principalFor(trustDomain, o.from.namespace!, sa)) : [];
  if (o.mtls === 'plaintext') return [null];
  // Seen over mTLS: the peer had a certificate. For a source the inventory cannot name, its
  // identity is unknown, not absent.
  if (o.mtls === 'mutual') return sas.length > 0 ? sas : [undefined];
  if (o.from.kind !== 'workload') return [null];
  const clientSidecar = from.kind === 'pods' && from.shapes.every((s) => s.pod.hasSidecar);
  const serverSidecar = to.kind === 'pods' && to.shapes.some((s) => s.pod.hasSidecar);
  // Ambient pods are meshed too: ztunnel and sidecars talk HBONE, which is mTLS.
  const clientMeshed = from.kind === 'pods' && from.shapes.every((s) => podDataplane(s.pod) !== 'none');
  const serverMeshed = to.kind === 'pods' && to.shapes.some((s) => podDataplane(s.pod) !== 'none');
  if (!serverMeshed) return [null];
  if (clientMeshed && sas.length > 0) {
    notes.push(
      clientSidecar && serverSidecar
        ? 'no server proxy logged these requests: replayed as mTLS, which Istio uses automatically between sidecars'
        : 'no server proxy logged these requests: replayed as mTLS, which Istio uses between meshed pods (HBONE where one is ambient)',
    );
    return sas;
  }
  if (from.kind === 'pods' && from.shapes.every((s) => podDataplane(s.pod) === 'none')) return [null];
  return [undefined];
}

/** The HTTP operations observed (undefined: TCP). Graph edges keep methods and paths apart, so each pair is tried. */
function operationsOf(o: Observation): ({ method?: string; path?: PathValue } | undefined)[] {
  if (o.protocol === 'tcp') return [undefined];
  const methods: (string | undefined)[] = o.methods.length > 0 ? o.methods : [undefined];
  const paths: (PathValue | undefined)[] = o.paths.length > 0 ? [...o.paths] : [undefined];
  if (o.pathsIncomplete && o.paths.length > 0) paths.push(undefined);
  const ops: { method?: string; path?: PathValue }[] = [];
  for (const m of methods) for (const p of paths) ops.push({ ...(m === undefined ? {} : { method: m }), ...(p === undefined ? {} : { path: p }) });
  return ops;
}
