// graph + inventory → the target-free RuleSet: one rule per observed edge that is not
// noise, with its generalized operations, evidence and confidence (docs/policies.md, "From edges to access rules").

import { MAX_IPS_PER_NODE, MAX_METHODS_PER_EDGE, allowedView, requestsBySource, responsesOf, type EdgeAttributes, type NodeAttributes } from '../graph/attributes.js';
import { compare } from '../flow/compare.js';
import { isOtherKey } from '../graph/fold.js';
import { forwardingCallers, type ServiceGraph } from '../graph/graph.js';
import { BEHIND_PROXY } from '../flow/identity.js';
import type { Inventory } from '../inventory/inventory.js';
import { ruleAdmits, ruleId, type AccessRule, type Confidence, type DeniedTraffic, type Exclusion, type Peer, type RuleEvidence, type RuleSet } from '../rules/access-rule.js';
import type { Finding } from '../rules/finding.js';
import { clusterFacts } from './cluster-facts.js';
import { DEFAULT_SIBLING_LIMIT, generalizePaths } from './generalize-paths.js';
import { noiseOf } from './noise.js';

export interface InferOptions {
  /** Edges with fewer requests are excluded as below threshold. */
  minRequests: number;
  /** Edges seen over fewer UTC days (first to last seen) are excluded as below threshold. */
  minDays: number;
  siblingLimit: number;
  includeScrapes: boolean;
  /** Namespaces that only appear as peers: their own policies are not proposed. */
  systemNamespaces: string[];
}

const DEFAULT_SYSTEM_NAMESPACES = ['istio-system', 'kube-node-lease', 'kube-public', 'kube-system'];

export const DEFAULT_INFER_OPTIONS: InferOptions = {
  minRequests: 1,
  minDays: 1,
  siblingLimit: DEFAULT_SIBLING_LIMIT,
  includeScrapes: false,
  systemNamespaces: DEFAULT_SYSTEM_NAMESPACES,
};

/** Requests at or above which an edge with verified identity is high confidence. */
const HIGH_CONFIDENCE_REQUESTS = 10;

function peerOf(key: string, n: NodeAttributes, serviceAccounts: readonly string[]): Peer {
  return {
    kind: n.kind,
    key,
    ...(n.namespace === undefined ? {} : { namespace: n.namespace }),
    name: n.name,
    ...(n.workloadKind === undefined ? {} : { workloadKind: n.workloadKind }),
    serviceAccounts: [...serviceAccounts].sort(compare),
    ips: [...n.ips],
    ipsComplete: n.ips.length < MAX_IPS_PER_NODE,
  };
}

/** Evidence of the edge's allowed traffic (what the mesh refused is not in it: `allowedView`). */
export function evidenceOf(key: string, e: EdgeAttributes): RuleEvidence {
  const allowed = allowedView(e);
  const requests = allowed.requests;
  return {
    requests,
    mutual: e.server.mutual,
    plaintext: e.server.plaintext,
    unverified: Math.max(0, requests - e.server.mutual - e.server.plaintext),
    firstSeen: e.firstSeen,
    lastSeen: e.lastSeen,
    daysSeen: e.days.length,
    decoders: [...e.decoders],
    sources: requestsBySource(e),
    methods: [...allowed.methods],
    paths: [...allowed.paths],
    pathsTruncated: allowed.pathsTruncated,
    edges: [key],
  };
}

/** True when every response the edge got was a failure upstream (5xx or none): intent, not success. */
function onlyFailures(e: EdgeAttributes): boolean {
  const r = responsesOf(e);
  const classes = Object.keys(r).filter((k) => r[k]! > 0);
  return e.protocol !== 'tcp' && classes.length > 0 && classes.every((k) => k === '5xx' || k === '0');
}

function confidenceOf(from: Peer, to: Peer, ev: RuleEvidence, toAmbient = false): { confidence: Confidence; notes: string[] } {
  const notes: string[] = [];
  let confidence: Confidence = 'high';
  if (ev.requests <= 1) {
    notes.push('seen once');
    confidence = 'low';
  } else if (ev.requests < HIGH_CONFIDENCE_REQUESTS) {
    notes.push(`seen ${ev.requests} times`);
    confidence = 'medium';
  }
  if (from.kind === 'workload' && to.kind === 'workload' && ev.mutual === 0 && ev.plaintext === 0) {
    notes.push(
      toAmbient
        ? 'the server is in ambient mode: ztunnel carries it over mTLS (HBONE), but ztunnel\'s own logs are not read yet, so the client identity is not verified by the telemetry'
        : 'no server-side proxy observed it: the client identity is not verified by mTLS',
    );
    confidence = 'low';
  }
  if (ev.daysSeen === 0) notes.push('no record carried a day (no time, or a count over a window): the days it was seen on are unknown');
  if (ev.plaintext > 0) notes.push(`${ev.plaintext} request(s) in plaintext: the source has no authenticated identity for them`);
  return { confidence, notes };
}

/**
 * For each edge from behind a proxy (by edge key), the gateways seen calling its target there:
 * the hops that explain it. And, for the one gateway's rule where there is exactly one, the
 * server-side account of those requests: the server's line is the only mTLS evidence of that
 * hop (the gateway's outbound line cannot show it).
 */
function behindProxy(graph: ServiceGraph, gateways: ReadonlySet<string>): { callers: Map<string, string[]>; evidence: Map<string, { mutual: number; plaintext: number }> } {
  const callers = new Map<string, string[]>();
  const evidence = new Map<string, { mutual: number; plaintext: number }>();
  if (!graph.hasNode(BEHIND_PROXY.key)) return { callers, evidence };
  for (const k of graph.outEdges(BEHIND_PROXY.key)) {
    const a = graph.getEdgeAttributes(k);
    const via = forwardingCallers(graph, a.target, a.port, a.protocol).filter((w) => gateways.has(w));
    callers.set(k, via);
    if (via.length === 1) evidence.set(ruleId(via[0]!, a.target, a.port, a.protocol), { mutual: a.server.mutual, plaintext: a.server.plaintext });
  }
  return { callers, evidence };
}

export function inferRules(graph: ServiceGraph, inventory: Inventory, opts: InferOptions = DEFAULT_INFER_OPTIONS): RuleSet {
  const rules: AccessRule[] = [];
  const excluded: Exclusion[] = [];
  const cluster = clusterFacts(inventory);
  const facts = new Map(cluster.workloads.map((w) => [w.key, w]));
  const denied: DeniedTraffic[] = [];
  const findings: Finding[] = [];
  const gatewayKeys = new Set(cluster.workloads.filter((w) => w.isGateway).map((w) => w.key));
  const proxied = behindProxy(graph, gatewayKeys);
  let first: number | null = null;
  let last: number | null = null;
  const seen = (t: number | null) => {
    if (t === null) return;
    first = first === null ? t : Math.min(first, t);
    last = last === null ? t : Math.max(last, t);
  };
  // The nodes a workload's pods ran on, made once per workload rather than once per edge into it.
  const hostIPs = new Map<string, ReadonlySet<string>>();
  const hostIPsOf = (key: string): ReadonlySet<string> => {
    let ips = hostIPs.get(key);
    if (ips === undefined) hostIPs.set(key, (ips = new Set(facts.get(key)?.pods.flatMap((p) => (p.hostIP === undefined ? [] : [p.hostIP])) ?? [])));
    return ips;
  };
  // One Peer per node and accounts, shared by the rules it takes part in (nothing changes a
  // rule's peers after this): at 5,000 workloads, 40,000 copies fewer to make and keep.
  const peers = new Map<string, Peer>();
  const peer = (key: string, n: NodeAttributes, serviceAccounts: readonly string[]): Peer => {
    const k = serviceAccounts === n.serviceAccounts ? key : `${key}\n${serviceAccounts.join('\n')}`;
    let p = peers.get(k);
    if (p === undefined) peers.set(k, (p = peerOf(key, n, serviceAccounts)));
    return p;
  };
  const edgeKeys = graph.edges().sort(compare);
  for (const key of edgeKeys) {
    const e = graph.getEdgeAttributes(key);
    const fromNode = graph.getNodeAttributes(e.source);
    const toNode = graph.getNodeAttributes(e.target);
    seen(e.firstSeen);
    seen(e.lastSeen);
    const from = peer(e.source, fromNode, e.sourceServiceAccounts.length > 0 ? e.sourceServiceAccounts : fromNode.serviceAccounts);
    const to = peer(e.target, toNode, toNode.serviceAccounts);
    const evidence = evidenceOf(key, e);
    const id = ruleId(e.source, e.target, e.port, e.protocol);
    const viaProxy = proxied.evidence.get(id);
    if (viaProxy !== undefined && evidence.mutual + evidence.plaintext === 0) {
      evidence.mutual = Math.min(evidence.requests, viaProxy.mutual);
      evidence.plaintext = Math.min(evidence.requests - evidence.mutual, viaProxy.plaintext);
      evidence.unverified = evidence.requests - evidence.mutual - evidence.plaintext;
    }
    const deniedHere: DeniedTraffic[] = e.denied.map((d) => ({ from, to, port: e.port, protocol: e.protocol, ...d }));
    for (const d of deniedHere) {
      seen(d.firstSeen);
      seen(d.lastSeen);
    }
    denied.push(...deniedHere);
    if (e.deniedTruncated) {
      findings.push({ severity: 'warning', target: 'observe', subject: e.target, message: `more distinct refused operations from ${e.source} on port ${e.port} were observed than the graph keeps: the denied-today list is incomplete`, flows: [key] });
    }
    // Only refused: the mesh denies this traffic today, and the proposal keeps denying it. An
    // edge seen but never counted (Hubble's packets of a connection opened before the capture)
    // refused nothing: it is traffic to allow.
    if (evidence.requests === 0 && e.denied.length > 0) continue;
    if (e.source === BEHIND_PROXY.key) {
      const via = (proxied.callers.get(key) ?? []).join(', ');
      if (via !== '') {
        excluded.push({
          from, to, port: e.port, protocol: e.protocol, reason: 'behind-proxy',
          consequence: `the server's proxy saw these requests arrive through a proxy (X-Forwarded-For); the proxy's own lines name the hop: ${via} → ${e.target}, whose rule allows them. No rule for the forwarded client (it is never a principal).`,
          evidence,
        });
      } else {
        const consequence =
          `${evidence.requests} request(s) reached ${e.target}:${e.port} from a peer behind a proxy (an ingress gateway or another hop that sets X-Forwarded-For): ` +
          `the server's line names only the original client, never the peer, so no principal can allow it. Collect the istio-proxy logs of the gateway (or proxy) in front of ${e.target} and run observe again: its outbound lines name the hop.`;
        excluded.push({ from, to, port: e.port, protocol: e.protocol, reason: 'behind-proxy', consequence, evidence });
        findings.push({ severity: 'blocker', target: 'observe', subject: e.target, message: consequence, requests: evidence.requests, flows: [key] });
      }
      continue;
    }
    // The long tail of external endpoints folded by observe (graph/fold.ts): many endpoints, not
    // one destination, so no rule — an allow of "(other)" would be an allow of no host, or of all.
    if (e.folded !== undefined) {
      const outbound = isOtherKey(e.target);
      const n = `${e.folded.exact ? '' : 'about '}${e.folded.endpoints}`;
      const consequence = outbound
        ? `${n} external destination(s) that ${e.source} called on port ${e.port} were folded into ${e.target} (${evidence.requests} request(s)): observe keeps at most --max-external-endpoints of them per workload and port. No rule allows them, so once egress is enforced they are denied. If they are legitimate, send them through an egress gateway or allow them by hand (a CIDR, or a CNI's FQDN policy); to see them one by one, re-run observe with a higher --max-external-endpoints.`
        : `${n} external client(s) that reached ${e.target} on port ${e.port} were folded into ${e.source} (${evidence.requests} request(s)): observe keeps at most --max-external-endpoints of them per workload and port. No rule allows them by address; if they must keep reaching it, front it with a gateway or allow them by hand, or re-run observe with a higher --max-external-endpoints to see them one by one.`;
      excluded.push({ from, to, port: e.port, protocol: e.protocol, reason: 'folded-endpoints', consequence, evidence });
      findings.push({ severity: 'blocker', target: 'observe', subject: outbound ? e.source : e.target, message: consequence, requests: evidence.requests, flows: [key] });
      continue;
    }
    // No source named the port (metrics have no port label, and the Service has several that
    // could be it): a rule for port 0 would be no rule, or one for every port.
    if (e.port === 0) {
      const consequence = `${evidence.requests} request(s) from ${e.source} to ${e.target} on a port no source named (${e.decoders.join('+')}: Istio metrics have no port label, and the Service has several ports that could be it). No rule allows them: collect the access logs or Hubble flows of ${e.target} and run observe again with them, whose ports fuse in.`;
      excluded.push({ from, to, port: e.port, protocol: e.protocol, reason: 'unknown-port', consequence, evidence });
      findings.push({ severity: 'blocker', target: 'observe', subject: e.target, message: consequence, requests: evidence.requests, flows: [key] });
      continue;
    }
    const noise = noiseOf(e, fromNode, hostIPsOf(e.target), evidence, opts);
    if (noise !== undefined) {
      excluded.push({ from, to, port: e.port, protocol: e.protocol, reason: noise.reason, consequence: noise.consequence, evidence });
      continue;
    }
    const { confidence, notes } = confidenceOf(from, to, evidence, facts.get(e.target)?.dataplane === 'ambient');
    if (viaProxy !== undefined && evidence.mutual + evidence.plaintext > 0) {
      notes.push(`mTLS evidence from ${e.target}'s own lines, which name the caller only by X-Forwarded-For: attributed to ${e.source}, the one gateway seen calling it there`);
    }
    let methods: AccessRule['methods'] = 'any';
    let paths: AccessRule['paths'] = 'any';
    if (e.protocol !== 'tcp') {
      // `{invalid}` stands for a method the decoder could not read: no exact list is safe then.
      const observed = evidence.methods;
      if (observed.some((m) => m.includes('{'))) notes.push('methods not restricted: some observed methods were not valid HTTP methods');
      else if (observed.length > 0 && observed.length < MAX_METHODS_PER_EDGE) methods = [...observed];
      else if (observed.length > 0) notes.push('methods not restricted: the observed set reached the cap the graph keeps');
      // What the mesh refused on this edge must not come back through a generalization.
      const protect = e.denied.filter((d) => d.path !== '').map((d) => d.path);
      const g = generalizePaths(evidence.paths, evidence.pathsTruncated, opts.siblingLimit, { protect });
      paths = g.paths;
      notes.push(...g.notes);
      if (onlyFailures(e)) notes.push('every observed request failed upstream (5xx or no response, e.g. UH, UF, URX): the call was attempted but never succeeded; the rule keeps the intent, confirm it is wanted');
      // Metrics (and Hubble without L7 visibility) name no method or path: the rule is L4 + identity.
      if (evidence.methods.length === 0 && evidence.paths.length === 0) {
        notes.push(`L4 + identity only: ${e.decoders.join('+')} ${e.decoders.length === 1 ? 'names' : 'name'} no method or path, so the rule allows any method and path on port ${e.port}; collect access logs (or Hubble with L7 visibility) to narrow it`);
      }
    }
    if (e.methods.length !== evidence.methods.length || e.paths.length !== evidence.paths.length) {
      notes.push('the server proxy refused some requests of this pair: methods and paths are those it let through');
    }
    const rule: AccessRule = { id, from, to, port: e.port, protocol: e.protocol, methods, paths, evidence, confidence, notes };
    rules.push(rule);
    // A refused operation the rule would still admit: seen allowed as well (the policy changed
    // in the window, or it depends on more than the caller), or a product of methods and paths.
    for (const d of deniedHere) {
      const request = { from: e.source, to: e.target, port: e.port, ...(d.method === '' ? {} : { method: d.method }), ...(d.path === '' ? {} : { path: d.path }) };
      if (!ruleAdmits(rule, request)) continue;
      d.admittedBy = rule.id;
      const op = d.method === '' ? `port ${e.port}` : `${d.method} ${d.path}`;
      findings.push({
        severity: 'warning',
        target: 'observe',
        subject: e.target,
        message: `the rule for ${e.source} admits ${op}, which the mesh refused ${d.requests} time(s) in the window (${d.kind}${d.policy === '' ? '' : ` by ${d.policy}`}): it was ${
          e.protocol === 'tcp' ? 'also allowed on this port' : 'also seen allowed, or methods and paths allow it as a product'
        }. Narrow the rule by hand if it must stay denied.`,
        requests: d.requests,
        flows: [rule.id],
      });
    }
  }

  const system = new Set(opts.systemNamespaces);
  const gateways = new Set(cluster.workloads.filter((w) => w.isGateway).map((w) => w.namespace));
  const touched = new Set<string>();
  for (const r of rules) for (const p of [r.from, r.to]) if (p.kind === 'workload' && p.namespace !== undefined) touched.add(p.namespace);
  const all = [...new Set([...cluster.namespaces, ...touched])].sort(compare);
  const managedNamespaces = all.filter((ns) => touched.has(ns) && !system.has(ns) && !gateways.has(ns));
  const unmanagedNamespaces = all
    .filter((ns) => !managedNamespaces.includes(ns))
    .map((namespace) => ({
      namespace,
      reason: system.has(namespace)
        ? 'system namespace (--system-namespaces): its own traffic — xDS, webhooks, DNS, probes — is not in access logs, so ztmap does not propose its policies; its workloads appear only as peers'
        : gateways.has(namespace)
          ? 'runs an Istio gateway: its internet-facing traffic is not something access logs can bound, so ztmap proposes no policies here; write them by hand'
          : 'no allowed traffic was observed into or out of it (at most excluded traffic): no policies proposed, so nothing here is restricted',
    }));

  return {
    window: { first, last },
    rules,
    excluded,
    cluster,
    managedNamespaces,
    unmanagedNamespaces,
    denied,
    findings,
    settings: { minRequests: opts.minRequests, minDays: opts.minDays, siblingLimit: opts.siblingLimit, includeScrapes: opts.includeScrapes },
  };
}
