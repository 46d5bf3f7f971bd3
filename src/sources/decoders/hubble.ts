// Cilium Hubble flows (`hubble observe -o json` / `-o jsonpb`, the Hubble exporter's files: one
// `{"flow":{…},"node_name":…,"time":…}` per line, or a bare flow from Hubble before 0.8) → Flow.
// Field names and enums are those of cilium/cilium api/v1/flow/flow.proto; what Hubble sets
// when is read from its parsers (pkg/hubble/parser/threefour and seven). Telemetry is
// untrusted: every field is type-checked, a malformed record is rejected, nothing throws.
//
// Which flows become Flows, and why:
// - Replies are skipped (`hubble-reply`): `is_reply` (a BoolValue, absent when Hubble does not
//   know), else the deprecated `reply`, `trace_reason: REPLY`, an L7 RESPONSE, or TCP SYN+ACK
//   (always the responder's packet; drops carry no is_reply). The edge is the request's direction;
//   a reply is never flipped into it, since its `traffic_direction` is already the connection's.
// - Reporter: `traffic_direction` EGRESS was observed at the source endpoint (like a client
//   sidecar: `client`), INGRESS at the destination (`server`). Both see one connection; the graph
//   counts each reporter apart and takes the larger, as for access logs. Unknown (field-masked
//   exports, traces from the network): the destination's side when it is a pod, where most
//   policies are enforced, else the source's.
// - Count is connections, so that one connection's many packets count once per side: 1 for a flow
//   that opens one (TCP SYN without ACK, `trace_reason` NEW or REOPENED, a policy verdict event —
//   Hubble emits those for a connection's first packet — or an L7 HTTP request), 0 for the rest,
//   which prove the edge and its times but add nothing. The same SYN is traced again at FROM_*
//   points (monitor aggregation off), TO_PROXY (the proxy then opens its own connection) and
//   TO_NETWORK (the host's device, after the pod's own point): those count 0. An export with
//   policy verdicts and traces both counts a connection up to twice per side: an overcount never
//   hides an edge, a count of 0 would put it below --min-requests.
// - Verdicts: FORWARDED and REDIRECTED (to Cilium's L7 proxy) are allowed traffic; so is AUDIT
//   (policy audit mode: today's policy would drop it, but it flowed; whether it is legitimate is
//   what the proposal decides). DROPPED with POLICY_DENIED (133), POLICY_DENY (181) or any
//   POLICY_DENY* reason, or an L7 record DROPPED (the proxy's L7 policy refused it: Hubble gives
//   no reason there), is evidence of denial (`policy-drop`), one attempt per dropped opening
//   packet (each SYN retry is one more attempt). Other drops (INVALID_SOURCE_IP,
//   CT_MAP_INSERTION_FAILED, AUTH_REQUIRED while mutual auth completes…) are the datapath's, not
//   a refusal of the pair: `hubble-datapath-drop`. ERROR, TRACED (no verdict yet), TRANSLATED
//   (socket load-balancing; the connection's own flows follow) and unknown verdicts are skipped.
// - Protocol: an L7 HTTP request gives method, path (from the URL: scheme and host dropped; the
//   query stays for graph/ to drop with the path's template, as access logs keep it) and host;
//   gRPC as access logs tell it. Other TCP is `tcp`. DNS (port 53, or an L7 DNS record) is
//   platform traffic the emitters and verify model themselves: `hubble-dns`. UDP has no place
//   in Flow (a `tcp` rule would open the wrong protocol and leave the UDP traffic denied):
//   `hubble-udp`; ICMP and SCTP likewise. Kafka L7 records are skipped: the connection's L3/L4
//   flows carry the edge, and a topic refusal as a `tcp` denial would claim the port was refused.
// - Endpoints: IPs from `IP`, ports from l4 (the source's ephemeral port kept as `port`, as
//   access logs keep it), `pod` from namespace + pod_name, `workload` from workloads[0] (Hubble
//   sets one, the pod's top-level controller), labels with the `k8s:` source stripped and other
//   sources kept whole (`reserved:host`; the service account is the label
//   `io.cilium.k8s.policy.serviceaccount`). A `reserved:world` destination is named by its first
//   `destination_names` entry (an FQDN Cilium's DNS proxy saw); `reserved:host` and
//   `remote-node` are nodes, left to their address; `reserved:health` (Cilium's own probes) is
//   skipped. A `destination_service` on an endpoint that is no pod means the address was the
//   Service's frontend (Hubble looks services up by frontend address): the Service and its port
//   stand in for it.
// - mTLS is `unknown`: Hubble sees Istio's mTLS as opaque TCP.

import { isIP } from 'node:net';
import type { Location } from '../../errors.js';
import type { Denial, EndpointRef, Flow, Reporter } from '../../flow/flow.js';
import { excerpt } from '../../text.js';
import { kubernetesServiceOf } from '../address.js';
import { protocolOf, startTimeInRange } from '../access-log.js';
import { ok, reject, skip, type Decoded } from './result.js';

export const HUBBLE_DECODER = 'hubble-json';

type Obj = Record<string, unknown>;
type Rejected = Extract<Decoded<never>, { kind: 'reject' }>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Obj, k: string): boolean => Object.hasOwn(o, k);
// Helpers return a field's value or a rejection: only rejections made here count as one, so a
// record whose `l4` reads `{"kind":"reject",…}` is data, not this decoder's answer.
const rejections = new WeakSet<object>();
function fail(reason: string, detail: string): Rejected {
  const r = reject(reason, detail) as Rejected;
  rejections.add(r);
  return r;
}
const isRejected = (v: unknown): v is Rejected => typeof v === 'object' && v !== null && rejections.has(v);
const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
/** The value as a message quotes it (JSON.stringify cannot throw on what JSON.parse made). */
const quoted = (v: unknown, max = 40): string => excerpt(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)), max);
const badType = (field: string, v: unknown): Rejected => fail('bad-field-type', `${field} is ${kindOf(v)}: ${quoted(v)}`);

/** Whether a file's first record is a Hubble flow: `{"flow":{…}}`, or a bare flow (Hubble < 0.8). */
export function isHubbleRecord(obj: unknown): boolean {
  if (!isObj(obj)) return false;
  const inner = obj['flow'];
  if (isObj(inner)) return has(inner, 'verdict') || isObj(inner['IP']) || isObj(inner['source']);
  return has(obj, 'verdict') && (isObj(obj['IP']) || (isObj(obj['source']) && isObj(obj['destination'])));
}

// Enums as protojson writes them: by name, or by number when asked to.
const VERDICTS = new Map([[0, 'VERDICT_UNKNOWN'], [1, 'FORWARDED'], [2, 'DROPPED'], [3, 'ERROR'], [4, 'AUDIT'], [5, 'REDIRECTED'], [6, 'TRACED'], [7, 'TRANSLATED']]);
const DIRECTIONS = new Map([[0, 'TRAFFIC_DIRECTION_UNKNOWN'], [1, 'INGRESS'], [2, 'EGRESS']]);
const TRACE_REASONS = new Map([[0, 'TRACE_REASON_UNKNOWN'], [1, 'NEW'], [2, 'ESTABLISHED'], [3, 'REPLY'], [4, 'RELATED'], [5, 'REOPENED']]);
const L7_TYPES = new Map([[0, 'UNKNOWN_L7_TYPE'], [1, 'REQUEST'], [2, 'RESPONSE'], [3, 'SAMPLE']]);
const POINTS = new Map([
  [0, 'UNKNOWN_POINT'], [1, 'TO_PROXY'], [2, 'TO_HOST'], [3, 'TO_STACK'], [4, 'TO_OVERLAY'], [101, 'TO_ENDPOINT'], [5, 'FROM_ENDPOINT'],
  [6, 'FROM_PROXY'], [7, 'FROM_HOST'], [8, 'FROM_STACK'], [9, 'FROM_OVERLAY'], [10, 'FROM_NETWORK'], [11, 'TO_NETWORK'],
]);
/** The drop reasons that are policy denials, by number (drop_reason, or drop_reason_desc as a number). */
const POLICY_DROPS = new Map([[133, 'POLICY_DENIED'], [181, 'POLICY_DENY']]);
/** Points where a connection's opening packet is traced the one time per side that counts (see the header). */
const COUNTING_POINTS = new Set(['UNKNOWN_POINT', 'TO_ENDPOINT', 'TO_STACK', 'TO_OVERLAY', 'TO_HOST']);
/** Cilium's reserved identities by number (pkg/identity), for records that carry no labels. */
const RESERVED_IDENTITIES = new Map([[1, 'host'], [2, 'world'], [4, 'health'], [6, 'remote-node'], [7, 'kube-apiserver'], [9, 'world-ipv4'], [10, 'world-ipv6']]);
const POLICY_VERDICT_EVENT = 5;

/** The enum's name, undefined when absent; a number outside the table is `#N`. */
function readEnum(o: Obj, key: string, names: ReadonlyMap<number, string>, field: string): string | undefined | Rejected {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return names.get(v) ?? `#${v}`;
  return badType(field, v);
}

function readString(o: Obj, key: string, field: string): string | undefined | Rejected {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : badType(field, v);
}

function readBool(o: Obj, key: string, field: string): boolean | undefined | Rejected {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'boolean' ? v : badType(field, v);
}

function readObj(o: Obj, key: string, field: string): Obj | undefined | Rejected {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return isObj(v) ? v : badType(field, v);
}

function readPort(o: Obj, key: string, field: string): number | undefined | Rejected {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') return badType(field, v);
  if (!Number.isInteger(v) || v < 0 || v > 65535) return fail('bad-field-value', `${field} ${excerpt(String(v), 20)} is no port`);
  return v === 0 ? undefined : v;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Epoch ms of an RFC 3339 time (nanoseconds cut to milliseconds), or undefined when it is none. */
function parseTime(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return undefined;
  const day = Date.UTC(y, mo - 1, d);
  if (new Date(day).getUTCDate() !== d) return undefined; // 31 April
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  let offset = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[8] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return day + ((h * 60 + mi) * 60 + sec) * 1000 + ms - offset;
}

interface TcpFlags {
  syn: boolean;
  ack: boolean;
}

/** SYN and ACK from l4.TCP.flags, or from the Summary `TCP Flags: SYN, ACK` when flags are masked off. */
function tcpFlags(tcp: Obj, summary: unknown): TcpFlags | undefined | Rejected {
  const flags = readObj(tcp, 'flags', 'l4.TCP.flags');
  if (isRejected(flags)) return flags;
  if (flags !== undefined) return { syn: flags['SYN'] === true, ack: flags['ACK'] === true };
  if (typeof summary === 'string' && summary.startsWith('TCP Flags: ')) {
    const names = summary.slice(11, 80).split(', ');
    return { syn: names.includes('SYN'), ack: names.includes('ACK') };
  }
  return undefined;
}

interface Side {
  ref: EndpointRef;
  /** Reserved identities (`host`, `world`…), from labels or the numeric identity. */
  reserved: Set<string>;
  hasPod: boolean;
}

function endpointOf(flow: Obj, key: 'source' | 'destination', ip: string | undefined, port: number | undefined): Side | Rejected {
  const ep = readObj(flow, key, key);
  if (isRejected(ep)) return ep;
  const ref: EndpointRef = {};
  if (ip !== undefined) ref.ip = ip;
  if (port !== undefined) ref.port = port;
  const reserved = new Set<string>();
  if (ep === undefined) return { ref, reserved, hasPod: false };
  const namespace = readString(ep, 'namespace', `${key}.namespace`);
  if (isRejected(namespace)) return namespace;
  const podName = readString(ep, 'pod_name', `${key}.pod_name`);
  if (isRejected(podName)) return podName;
  if (namespace !== undefined && podName !== undefined) ref.pod = { namespace, name: podName };

  const workloads = ep['workloads'];
  if (workloads !== undefined && workloads !== null) {
    if (!Array.isArray(workloads)) return badType(`${key}.workloads`, workloads);
    const w: unknown = workloads[0];
    if (w !== undefined) {
      if (!isObj(w)) return badType(`${key}.workloads[0]`, w);
      const name = readString(w, 'name', `${key}.workloads[0].name`);
      if (isRejected(name)) return name;
      const kind = readString(w, 'kind', `${key}.workloads[0].kind`);
      if (isRejected(kind)) return kind;
      if (name !== undefined && namespace !== undefined) ref.workload = kind === undefined ? { namespace, name } : { namespace, name, kind };
    }
  }

  const labels = ep['labels'];
  if (labels !== undefined && labels !== null) {
    if (!Array.isArray(labels)) return badType(`${key}.labels`, labels);
    const out: Record<string, string> = {};
    let n = 0;
    for (const l of labels as unknown[]) {
      if (typeof l !== 'string') return badType(`${key}.labels[]`, l);
      // `source:key=value`; only the k8s source is stripped, so `reserved:host` stays readable.
      const text = l.startsWith('k8s:') ? l.slice(4) : l;
      const eq = text.indexOf('=');
      const k = eq < 0 ? text : text.slice(0, eq);
      if (k === '' || Object.hasOwn(out, k)) continue;
      // defineProperty: a label named `__proto__` is data like any other.
      Object.defineProperty(out, k, { value: eq < 0 ? '' : text.slice(eq + 1), enumerable: true, writable: true, configurable: true });
      n++;
      if (l.startsWith('reserved:')) reserved.add(k.slice(9));
    }
    if (n > 0) ref.labels = out;
  }
  if (reserved.size === 0) {
    const id = ep['identity'];
    const name = typeof id === 'number' ? RESERVED_IDENTITIES.get(id) : undefined;
    if (name !== undefined) reserved.add(name);
  }
  return { ref, reserved, hasPod: ref.pod !== undefined };
}

const isWorld = (s: Side): boolean => s.reserved.has('world') || s.reserved.has('world-ipv4') || s.reserved.has('world-ipv6');

/** `NS/NAME` of the first policy that denied it, when the record names one (`ingress_denied_by`, `egress_denied_by`). */
function denyingPolicy(flow: Obj): string | undefined {
  for (const key of ['ingress_denied_by', 'egress_denied_by']) {
    const list = flow[key];
    const p: unknown = Array.isArray(list) ? list[0] : undefined;
    if (isObj(p) && typeof p['name'] === 'string' && p['name'] !== '') {
      return typeof p['namespace'] === 'string' && p['namespace'] !== '' ? `${p['namespace']}/${p['name']}` : p['name'];
    }
  }
  return undefined;
}

/** Whether a DROPPED L3/L4 record was refused by policy, from drop_reason_desc or the deprecated drop_reason. */
function policyDrop(flow: Obj): boolean | Rejected {
  const desc = readEnum(flow, 'drop_reason_desc', POLICY_DROPS, 'drop_reason_desc');
  if (isRejected(desc)) return desc;
  if (desc !== undefined && !desc.startsWith('#')) return desc === 'POLICY_DENIED' || desc.startsWith('POLICY_DENY');
  const code = flow['drop_reason'];
  return typeof code === 'number' && POLICY_DROPS.has(code);
}

/** Path (with its query, which graph/ drops with the template) and host of an L7 URL. */
function splitUrl(url: string): { path: string; host: string | undefined } | undefined {
  if (url.startsWith('/')) return { path: url, host: undefined };
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/s.exec(url);
  if (m === null) return undefined;
  const authority = m[1]!.slice(m[1]!.lastIndexOf('@') + 1);
  const host = authority.replace(/:\d*$/, '');
  const rest = m[2]!;
  return { path: rest.startsWith('/') ? rest : '/' + rest, host: host === '' ? undefined : host };
}

/** How a reject detail quotes a URL: never its query. */
const urlExcerpt = (url: string): string => excerpt(url.split('?')[0]!, 60);

export function decodeHubbleRecord(obj: unknown, location: Location): Decoded<Flow> {
  if (!isObj(obj)) return reject('malformed-hubble-json', `record is ${kindOf(obj)}, not a flow: ${quoted(obj)}`);
  let flow: Obj;
  let outerTime: unknown;
  if (has(obj, 'flow')) {
    const inner = obj['flow'];
    if (!isObj(inner)) return badType('flow', inner);
    flow = inner;
    outerTime = obj['time'];
  } else if (has(obj, 'lost_events')) {
    // Hubble's ring buffer overflowed: flows are missing here, and the count says so.
    return skip('hubble-lost-events');
  } else if (has(obj, 'node_status') || has(obj, 'agent_event') || has(obj, 'debug_event')) {
    return skip('hubble-not-a-flow');
  } else if (has(obj, 'verdict') || has(obj, 'IP') || has(obj, 'source')) {
    flow = obj;
  } else {
    return reject('malformed-hubble-json', `record is neither {"flow":…} nor a flow: ${quoted(obj, 60)}`);
  }

  // Replies first: half of all flows, and nothing else about them matters.
  const l4 = readObj(flow, 'l4', 'l4');
  if (isRejected(l4)) return l4;
  const l7 = readObj(flow, 'l7', 'l7');
  if (isRejected(l7)) return l7;
  const tcp = l4 === undefined ? undefined : readObj(l4, 'TCP', 'l4.TCP');
  if (isRejected(tcp)) return tcp;
  const flags = tcp === undefined ? undefined : tcpFlags(tcp, flow['Summary']);
  if (isRejected(flags)) return flags;
  const isReply = readBool(flow, 'is_reply', 'is_reply');
  if (isRejected(isReply)) return isReply;
  const legacyReply = readBool(flow, 'reply', 'reply');
  if (isRejected(legacyReply)) return legacyReply;
  const traceReason = readEnum(flow, 'trace_reason', TRACE_REASONS, 'trace_reason');
  if (isRejected(traceReason)) return traceReason;
  const l7Type = l7 === undefined ? undefined : readEnum(l7, 'type', L7_TYPES, 'l7.type');
  if (isRejected(l7Type)) return l7Type;
  if (
    isReply === true ||
    (isReply === undefined && (legacyReply === true || traceReason === 'REPLY')) ||
    l7Type === 'RESPONSE' ||
    (flags !== undefined && flags.syn && flags.ack)
  ) {
    return skip('hubble-reply');
  }

  const time = flow['time'] ?? outerTime;
  let timestamp: number | undefined;
  if (time !== undefined && time !== null) {
    timestamp = typeof time === 'string' ? parseTime(time) : undefined;
    if (timestamp === undefined || !startTimeInRange(timestamp)) {
      const shown = typeof time === 'string' ? excerpt(time, 40) : `${kindOf(time)} ${quoted(time)}`;
      return reject('invalid-start-time', `time ${shown} is ${timestamp === undefined ? 'not an RFC 3339 time' : 'outside the years 2000 to 2099'}`);
    }
  }

  const verdict = readEnum(flow, 'verdict', VERDICTS, 'verdict');
  if (isRejected(verdict)) return verdict;
  let denial: Denial | undefined;
  switch (verdict) {
    case 'FORWARDED':
    case 'REDIRECTED':
    case 'AUDIT':
      break;
    case 'DROPPED': {
      // An L7 record is DROPPED when the proxy's L7 policy refused it; Hubble gives no reason there.
      const byPolicy = l7 !== undefined ? true : policyDrop(flow);
      if (isRejected(byPolicy)) return byPolicy;
      if (!byPolicy) return skip('hubble-datapath-drop');
      const policy = denyingPolicy(flow);
      denial = policy === undefined ? { kind: 'policy-drop' } : { kind: 'policy-drop', policy };
      break;
    }
    case 'ERROR':
      return skip('hubble-error');
    case 'TRANSLATED':
      return skip('hubble-translated');
    default:
      return skip('hubble-no-verdict');
  }

  // Protocol and ports.
  let l7Detail: Flow['l7'];
  let protocol: Flow['protocol'] = 'tcp';
  if (l7 !== undefined) {
    if (has(l7, 'dns')) return skip('hubble-dns');
    if (has(l7, 'kafka')) return skip('hubble-l7-kafka');
    const http = readObj(l7, 'http', 'l7.http');
    if (isRejected(http)) return http;
    if (http === undefined || l7Type !== 'REQUEST') return skip('hubble-l7-other');
    const method = readString(http, 'method', 'l7.http.method');
    if (isRejected(method)) return method;
    if (method === undefined) return reject('missing-field', 'L7 HTTP request without a method');
    const url = readString(http, 'url', 'l7.http.url');
    if (isRejected(url)) return url;
    const parts = url === undefined ? { path: '/', host: undefined } : splitUrl(url);
    if (parts === undefined) return reject('bad-field-value', `l7.http.url ${urlExcerpt(url!)} is no URL`);
    const httpProtocol = readString(http, 'protocol', 'l7.http.protocol');
    if (isRejected(httpProtocol)) return httpProtocol;
    protocol = protocolOf(method, httpProtocol ?? 'HTTP/1.1', parts.path);
    l7Detail = parts.host === undefined ? { method, path: parts.path } : { method, path: parts.path, host: parts.host };
  }
  if (l4 === undefined) return skip('hubble-no-ports');
  if (tcp === undefined) {
    if (has(l4, 'UDP')) {
      const udp = readObj(l4, 'UDP', 'l4.UDP');
      if (isRejected(udp)) return udp;
      return udp !== undefined && udp['destination_port'] === 53 ? skip('hubble-dns') : skip('hubble-udp');
    }
    if (has(l4, 'ICMPv4') || has(l4, 'ICMPv6')) return skip('hubble-icmp');
    if (has(l4, 'SCTP')) return skip('hubble-sctp');
    return skip('hubble-no-ports');
  }
  const sourcePort = readPort(tcp, 'source_port', 'l4.TCP.source_port');
  if (isRejected(sourcePort)) return sourcePort;
  const destinationPort = readPort(tcp, 'destination_port', 'l4.TCP.destination_port');
  if (isRejected(destinationPort)) return destinationPort;
  if (destinationPort === undefined) return reject('missing-field', 'TCP flow without a destination_port');
  if (destinationPort === 53) return skip('hubble-dns');

  // Endpoints.
  const ip = readObj(flow, 'IP', 'IP');
  if (isRejected(ip)) return ip;
  let sourceIp: string | undefined;
  let destinationIp: string | undefined;
  if (ip !== undefined) {
    const s = readString(ip, 'source', 'IP.source');
    if (isRejected(s)) return s;
    const d = readString(ip, 'destination', 'IP.destination');
    if (isRejected(d)) return d;
    if (s !== undefined && isIP(s) === 0) return reject('bad-field-value', `IP.source ${excerpt(s, 50)} is no IP address`);
    if (d !== undefined && isIP(d) === 0) return reject('bad-field-value', `IP.destination ${excerpt(d, 50)} is no IP address`);
    sourceIp = s;
    destinationIp = d;
  }
  const source = endpointOf(flow, 'source', sourceIp, sourcePort);
  if (isRejected(source)) return source;
  const destination = endpointOf(flow, 'destination', destinationIp, destinationPort);
  if (isRejected(destination)) return destination;
  if (source.reserved.has('health') || destination.reserved.has('health')) return skip('hubble-health');

  if (isWorld(destination)) {
    const names = flow['destination_names'];
    const first: unknown = Array.isArray(names) ? names[0] : undefined;
    if (typeof first === 'string' && first !== '') destination.ref.host = first.endsWith('.') ? first.slice(0, -1) : first;
  }
  if (!destination.hasPod && destination.ref.host === undefined) {
    const svc = readObj(flow, 'destination_service', 'destination_service');
    if (isRejected(svc)) return svc;
    const name = svc?.['name'];
    const namespace = svc?.['namespace'];
    if (typeof name === 'string' && typeof namespace === 'string') {
      const fqdn = `${name}.${namespace}.svc.cluster.local`;
      const parsed = kubernetesServiceOf(fqdn);
      if (parsed !== undefined && parsed.name === name && parsed.namespace === namespace) {
        // The frontend address is no pod's: the Service and its port resolve to the backend.
        const ref = destination.ref;
        delete ref.ip;
        delete ref.port;
        ref.service = fqdn;
        ref.servicePort = destinationPort;
      }
    }
  }
  if (source.ref.ip === undefined && source.ref.pod === undefined) return reject('missing-field', 'flow names its source by neither IP.source nor a pod');
  if (destination.ref.ip === undefined && destination.ref.pod === undefined && destination.ref.service === undefined) {
    return reject('missing-field', 'flow names its destination by neither IP.destination, a pod nor a Service');
  }

  const direction = readEnum(flow, 'traffic_direction', DIRECTIONS, 'traffic_direction');
  if (isRejected(direction)) return direction;
  const reporter: Reporter =
    direction === 'EGRESS' ? 'client' : direction === 'INGRESS' ? 'server' : destination.hasPod ? 'server' : source.hasPod ? 'client' : 'server';

  const count = l7Detail !== undefined ? 1 : opensConnection(flow, flags, traceReason, denial !== undefined);
  if (isRejected(count)) return count;

  const result: Flow = {
    source: source.ref,
    destination: destination.ref,
    protocol,
    l7: l7Detail,
    mtls: 'unknown',
    responseCode: 0,
    denial,
    upstreamFailure: undefined,
    timestamp,
    count,
    reporter,
    proxied: undefined,
    endpointKey: undefined,
    evidence: { decoder: HUBBLE_DECODER, location },
  };
  return ok(result);
}

/** 1 when this L3/L4 flow is the one per side that stands for its connection (or a refused attempt), else 0. */
function opensConnection(flow: Obj, flags: TcpFlags | undefined, traceReason: string | undefined, dropped: boolean): number | Rejected {
  const point = readEnum(flow, 'trace_observation_point', POINTS, 'trace_observation_point');
  if (isRejected(point)) return point;
  if (point !== undefined && !COUNTING_POINTS.has(point)) return 0;
  if (flags !== undefined) return flags.syn && !flags.ack ? 1 : 0;
  if (traceReason === 'NEW' || traceReason === 'REOPENED') return 1;
  const eventType = flow['event_type'];
  if (isObj(eventType) && eventType['type'] === POLICY_VERDICT_EVENT) return 1;
  // A drop whose packet is not known: one attempt refused.
  return dropped ? 1 : 0;
}
