// An independent model of ztunnel's authorization, transcribed as literally as practical
// from upstream, to check src/verify/istio.ts (`ztunnel: true`) against:
//   - https://github.com/istio/istio/blob/master/pilot/pkg/serviceregistry/kube/controller/ambient/authorization.go:
//     convertAuthorizationPolicy and handleRule turn an AuthorizationPolicy into groups
//     (rules) of clauses of matches;
//   - https://github.com/istio/ztunnel/blob/master/src/rbac.rs, Authorization::matches: a rule matches when every clause
//     has a non-empty match whose every field matches (positive: any; negative: none);
//     an empty match is skipped; a policy without rules matches nothing;
//   - ztunnel's order: a matching DENY denies; no ALLOW policy: allow; a matching ALLOW
//     allows; otherwise deny.
// It reads raw manifests and shares no code with the evaluator.

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

type StringMatch = { exact: string } | { prefix: string } | { suffix: string } | { presence: true };
interface Match {
  namespaces: StringMatch[];
  notNamespaces: StringMatch[];
  serviceAccounts: { ns: string; sa: string }[];
  notServiceAccounts: { ns: string; sa: string }[];
  principals: StringMatch[];
  notPrincipals: StringMatch[];
  sourceIps: string[];
  notSourceIps: string[];
  destinationIps: string[];
  notDestinationIps: string[];
  destinationPorts: number[];
  notDestinationPorts: number[];
}

export interface ZtunnelPolicy {
  namespace: string;
  selector?: Record<string, string>;
  action: 'ALLOW' | 'DENY';
  /** Groups (rules) of clauses of matches. */
  rules: Match[][][];
}

const emptyMatch = (): Match => ({
  namespaces: [],
  notNamespaces: [],
  serviceAccounts: [],
  notServiceAccounts: [],
  principals: [],
  notPrincipals: [],
  sourceIps: [],
  notSourceIps: [],
  destinationIps: [],
  notDestinationIps: [],
  destinationPorts: [],
  notDestinationPorts: [],
});

function stringToMatch(values: string[]): StringMatch[] {
  return values.map((v) => (v === '*' ? { presence: true } : v.startsWith('*') ? { suffix: v.slice(1) } : v.endsWith('*') ? { prefix: v.slice(0, -1) } : { exact: v }));
}
const stringToPort = (values: string[]) => values.map(Number).filter((p) => Number.isInteger(p) && p >= 0 && p <= 65535);
const stringToSa = (values: string[], ns: string) => values.map((v) => (v.includes('/') ? { ns: v.split('/')[0]!, sa: v.split('/')[1]! } : { ns, sa: v }));
const L4_WHEN = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);

/** convertAuthorizationPolicy: undefined when the policy is not sent to ztunnel. */
export function convert(raw: unknown): ZtunnelPolicy | undefined {
  const meta = obj(obj(raw)['metadata']);
  const spec = obj(obj(raw)['spec']);
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : 'default';
  if (spec['targetRef'] !== undefined || strs(spec['targetRefs']).length > 0 || (Array.isArray(spec['targetRefs']) && spec['targetRefs'].length > 0)) return undefined;
  const action = spec['action'] ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') return undefined;
  const selector = spec['selector'] === undefined ? undefined : (obj(obj(spec['selector'])['matchLabels']) as Record<string, string>);
  const rules: Match[][][] = [];
  for (const r of Array.isArray(spec['rules']) ? spec['rules'] : []) {
    const rule = handleRule(action, obj(r), namespace);
    if (rule !== undefined) rules.push(rule);
  }
  return { namespace, ...(selector === undefined ? {} : { selector }), action, rules };
}

function handleRule(action: 'ALLOW' | 'DENY', rule: Obj, ruleNamespace: string): Match[][] | undefined {
  let l7 = false;
  const toMatches: Match[] = [];
  for (const to of Array.isArray(rule['to']) ? rule['to'] : []) {
    const op = obj(obj(to)['operation']);
    if (['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'].some((k) => strs(op[k]).length > 0)) l7 = true;
    toMatches.push({ ...emptyMatch(), destinationPorts: stringToPort(strs(op['ports'])), notDestinationPorts: stringToPort(strs(op['notPorts'])) });
  }
  const fromMatches: Match[] = [];
  for (const from of Array.isArray(rule['from']) ? rule['from'] : []) {
    const s = obj(obj(from)['source']);
    if (['remoteIpBlocks', 'notRemoteIpBlocks', 'requestPrincipals', 'notRequestPrincipals'].some((k) => strs(s[k]).length > 0)) l7 = true;
    fromMatches.push({
      ...emptyMatch(),
      sourceIps: strs(s['ipBlocks']),
      notSourceIps: strs(s['notIpBlocks']),
      namespaces: stringToMatch(strs(s['namespaces'])),
      notNamespaces: stringToMatch(strs(s['notNamespaces'])),
      serviceAccounts: stringToSa(strs(s['serviceAccounts']), ruleNamespace),
      notServiceAccounts: stringToSa(strs(s['notServiceAccounts']), ruleNamespace),
      principals: stringToMatch(strs(s['principals'])),
      notPrincipals: stringToMatch(strs(s['notPrincipals'])),
    });
  }
  const clauses: Match[][] = [];
  if (toMatches.length > 0) clauses.push(toMatches);
  if (fromMatches.length > 0) clauses.push(fromMatches);
  for (const w of Array.isArray(rule['when']) ? rule['when'] : []) {
    const c = obj(w);
    const key = String(c['key']);
    if (!L4_WHEN.has(key)) l7 = true;
    const values = strs(c['values']);
    const notValues = strs(c['notValues']);
    const m = emptyMatch();
    if (key === 'source.namespace') [m.namespaces, m.notNamespaces] = [stringToMatch(values), stringToMatch(notValues)];
    if (key === 'source.principal') [m.principals, m.notPrincipals] = [stringToMatch(values), stringToMatch(notValues)];
    if (key === 'source.ip') [m.sourceIps, m.notSourceIps] = [values, notValues];
    if (key === 'destination.port') [m.destinationPorts, m.notDestinationPorts] = [stringToPort(values), stringToPort(notValues)];
    if (key === 'destination.ip') [m.destinationIps, m.notDestinationIps] = [values, notValues];
    clauses.push([m]);
  }
  // "L7 policies never match for ALLOW"
  return action === 'ALLOW' && l7 ? undefined : clauses;
}

export interface ZtunnelConnection {
  /** `TD/ns/NS/sa/SA`, or null without mTLS. */
  identity: string | null;
  srcIp: string;
  dstIp: string;
  dstPort: number;
}

function ipv4InCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
  const toInt = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const n = Number(bits);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base!) & mask) >>> 0);
}

function sm(m: StringMatch, check: string): boolean {
  if ('exact' in m) return m.exact === check;
  if ('prefix' in m) return check.startsWith(m.prefix);
  if ('suffix' in m) return check.endsWith(m.suffix);
  return check !== '';
}

function internal<T>(positive: T[], negative: T[], predicate: (t: T) => boolean): boolean {
  return (positive.length === 0 || positive.some(predicate)) && (negative.length === 0 || !negative.some(predicate));
}

const isEmpty = (m: Match) => Object.values(m).every((v) => (v as unknown[]).length === 0);

/** Authorization::matches. */
function policyMatches(p: ZtunnelPolicy, conn: ZtunnelConnection): boolean {
  const id = conn.identity ?? '';
  const parsed = conn.identity === null ? undefined : /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(conn.identity);
  const ns = parsed?.[1] ?? '';
  if (p.rules.length === 0) return false;
  return p.rules.some((rule) =>
    rule.every((clause) => {
      if (clause.length === 0) return true;
      return clause.some(
        (mg) =>
          !isEmpty(mg) &&
          internal(mg.destinationIps, mg.notDestinationIps, (c) => ipv4InCidr(conn.dstIp, c)) &&
          internal(mg.sourceIps, mg.notSourceIps, (c) => ipv4InCidr(conn.srcIp, c)) &&
          internal(mg.destinationPorts, mg.notDestinationPorts, (port) => port === conn.dstPort) &&
          internal(mg.serviceAccounts, mg.notServiceAccounts, (x) => parsed !== undefined && parsed !== null && parsed[1] === x.ns && parsed[2] === x.sa) &&
          // matches_principal strips spiffe://; an absent identity is "" and fails it.
          internal(mg.principals, mg.notPrincipals, (x) => id !== '' && sm(x, id)) &&
          internal(mg.namespaces, mg.notNamespaces, (x) => sm(x, ns)),
      );
    }),
  );
}

/** The connection's fate at the destination's ztunnel. */
export function ztunnelDecides(policies: ZtunnelPolicy[], dst: { namespace: string; labels: Record<string, string> }, conn: ZtunnelConnection, rootNamespace: string): 'allow' | 'deny' {
  const applies = (p: ZtunnelPolicy) =>
    (p.namespace === rootNamespace || p.namespace === dst.namespace) && (p.selector === undefined || Object.entries(p.selector).every(([k, v]) => dst.labels[k] === v));
  const inScope = policies.filter(applies);
  if (inScope.some((p) => p.action === 'DENY' && policyMatches(p, conn))) return 'deny';
  const allows = inScope.filter((p) => p.action === 'ALLOW');
  if (allows.length === 0) return 'allow';
  return allows.some((p) => policyMatches(p, conn)) ? 'allow' : 'deny';
}
