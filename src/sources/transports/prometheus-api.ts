// The Prometheus HTTP API as a transport: one instant query, evaluated by Prometheus at a
// chosen time, → MetricSample[]. The aggregation (sum by, increase over the window) is the
// query's, done by Prometheus; this file only asks and reads the answer. Knows nothing of Istio.
//
// An answer (POST /api/v1/query, form-encoded `query`, `time` in seconds; the envelope of
// https://prometheus.io/docs/prometheus/latest/querying/api/):
//
//   {"status":"success","data":{"resultType":"vector","result":[
//     {"metric":{"destination_workload":"reviews-v1","reporter":"destination"},"value":[1735693200,"118.5"]}]},
//    "warnings":["..."]}
//
// Decisions:
// - Only a `vector` answer is read: the query is an instant aggregation; a matrix would mean raw
//   series are being pulled, which ztmap never does.
// - Values keep Prometheus' spellings: `NaN`, `+Inf` and `-Inf` become NaN and ±Infinity. A
//   transport does not judge a count; the decoder that reads the samples rejects and tallies a
//   count that is not finite, with its location, and the run goes on (docs/architecture.md,
//   "Untrusted input"). A value that is not a number at all means the server does not speak the
//   API: the whole answer is an InputError.
// - `warnings` (and `infos`, Prometheus >= 2.46) are returned beside the samples: the query ran
//   and its data is there, but the caller must say it may be partial.
// - Credentials travel only in the Authorization header; the URL named in locations and messages
//   has no user information, query or fragment, and no message quotes a header.

import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { createGunzip } from 'node:zlib';
import { describeFsError, formatLocation, ConfigError, InputError, type QueryLocation } from '../../errors.js';
import { compare } from '../../flow/compare.js';
import { excerpt } from '../../text.js';
import type { MetricSample } from '../decoders/metric-sample.js';

export interface PrometheusClientOptions {
  /** Base URL, before `/api/v1`: `http://127.0.0.1:9090`, or with the path prefix Prometheus is served under. */
  url: string;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** PEM file of the CA that signed the server's certificate (instead of the system's CAs). */
  caFile?: string;
  /** PEM client certificate and key, for a server that asks for one (mutual TLS). */
  certFile?: string;
  keyFile?: string;
  /** Do not check the server's certificate: for a throwaway test server only. */
  insecureSkipVerify?: boolean;
  /** The whole request, connection to last byte; also sent as the query's `timeout`. Default 60 s. */
  timeoutMs?: number;
  /** Largest answer read, after decompression. Default 256 MiB. */
  maxAnswerBytes?: number;
}

export interface InstantQueryAnswer {
  samples: MetricSample[];
  /** Prometheus' warnings and infos: the query ran, but its answer may be partial. */
  warnings: string[];
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_ANSWER_BYTES = 256 * 1024 * 1024;
/** Of an error answer, only the start is read: enough for Prometheus' message or a proxy's page. */
const ERROR_BODY_BYTES = 64 * 1024;

/**
 * Evaluates `query` at `time` (epoch ms) with POST /api/v1/query, and decodes the vector it
 * answers. Every failure of the server or the network is an InputError naming the URL and the
 * query and saying what to do; `retriable` when trying again later may succeed (5xx, 429,
 * timeouts, refused or reset connections). Options that cannot work are a ConfigError.
 */
export async function queryInstant(o: PrometheusClientOptions, query: string, time: number): Promise<InstantQueryAnswer> {
  const target = endpoint(o.url, '/api/v1/query');
  const location: QueryLocation = { url: target.shown, query };
  if (!Number.isFinite(time)) throw new ConfigError(`Prometheus query (${formatLocation(location)}): the evaluation time is not a time (${time}). Give the window's end as a date.`);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const body = new URLSearchParams({ query, time: (time / 1000).toFixed(3), timeout: `${Math.max(1, Math.ceil(timeoutMs / 1000))}s` }).toString();
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(body),
    accept: 'application/json',
    'accept-encoding': 'gzip',
    'user-agent': 'ztmap',
  };
  const authorization = authorizationOf(o, target, location);
  if (authorization !== undefined) headers['authorization'] = authorization;
  const tls = await tlsOptions(o, location);
  const answer = await post(target.url, { method: 'POST', headers, agent: false, ...tls }, body, {
    location,
    timeoutMs,
    maxAnswerBytes: o.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES,
  });
  return decodeAnswer(answer, location);
}

// ---------------------------------------------------------------------------------------
// Options

interface Endpoint {
  url: URL;
  /** The URL as locations and messages name it: no credentials, query or fragment. */
  shown: string;
  /** User information written in the URL, used as basic auth as curl and Go's clients do. */
  userinfo?: { username: string; password: string };
}

function endpoint(base: string, path: string): Endpoint {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    // The text may hold a password (`https://u:p@host`): quoted only without what precedes `@`.
    // The text may hold a password with any characters in it: everything up to the last `@` goes.
    const at = base.lastIndexOf('@');
    throw new ConfigError(`Prometheus URL is not a URL (${excerpt(at < 0 ? base : `…${base.slice(at + 1)}`, 200)}). Give the base URL of its API, for example http://127.0.0.1:9090.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`Prometheus URL: the scheme ${url.protocol} is not http: nor https:. Give the base URL of its API, for example http://127.0.0.1:9090.`);
  }
  const userinfo = url.username === '' && url.password === '' ? undefined : { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(`Prometheus URL (${url.origin}${url.pathname}) has a query or a fragment. Give the base URL of its API alone, for example http://127.0.0.1:9090 or https://host/prometheus.`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '') + path;
  const shown = url.toString();
  return userinfo === undefined ? { url, shown } : { url, shown, userinfo };
}

function authorizationOf(o: PrometheusClientOptions, target: Endpoint, location: QueryLocation): string | undefined {
  const given = [o.bearerToken !== undefined, o.basicAuth !== undefined, target.userinfo !== undefined].filter(Boolean).length;
  if (given > 1) {
    throw new ConfigError(`Prometheus query (${formatLocation(location)}): more than one set of credentials (a bearer token, basic auth, a user in the URL). Give one.`);
  }
  if (o.bearerToken !== undefined) return `Bearer ${o.bearerToken}`;
  const basic = o.basicAuth ?? target.userinfo;
  if (basic === undefined) return undefined;
  return `Basic ${Buffer.from(`${basic.username}:${basic.password}`, 'utf8').toString('base64')}`;
}

async function tlsOptions(o: PrometheusClientOptions, location: QueryLocation): Promise<RequestOptions> {
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new ConfigError(`Prometheus query (${formatLocation(location)}): a client certificate needs both its certificate file and its key file. Give both, or neither.`);
  }
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new InputError(`Prometheus ${what} (${path}): cannot be read (${describeFsError(err)}). Check the path given.`, { cause: err });
    }
  };
  const out: RequestOptions = {};
  if (o.caFile !== undefined) out.ca = await read('CA file', o.caFile);
  if (o.certFile !== undefined && o.keyFile !== undefined) {
    out.cert = await read('client certificate file', o.certFile);
    out.key = await read('client key file', o.keyFile);
  }
  if (o.insecureSkipVerify === true) out.rejectUnauthorized = false;
  return out;
}

// ---------------------------------------------------------------------------------------
// The exchange

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The body was longer than what was read (an error answer's start is enough). */
  cut: boolean;
}

interface Exchange {
  location: QueryLocation;
  timeoutMs: number;
  maxAnswerBytes: number;
}

function post(url: URL, options: RequestOptions, body: string, x: Exchange): Promise<Answer> {
  const where = formatLocation(x.location);
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    const fail = (err: InputError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, options, (res) => {
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      const limit = ok ? x.maxAnswerBytes : Math.min(x.maxAnswerBytes, ERROR_BODY_BYTES);
      const declared = Number(res.headers['content-length']);
      if (ok && res.headers['content-encoding'] === undefined && declared > limit) {
        fail(tooLarge(where, x.maxAnswerBytes));
        return;
      }
      const encoding = res.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'gzip' && encoding !== 'identity') {
        fail(new InputError(`Prometheus query (${where}): the answer is encoded as ${excerpt(encoding)}, which ztmap did not ask for (only gzip). Check what stands between ztmap and Prometheus (a proxy).`));
        return;
      }
      const stream = encoding === 'gzip' ? res.pipe(createGunzip()) : res;
      const parts: Buffer[] = [];
      let size = 0;
      let cut = false;
      stream.on('data', (chunk: Buffer) => {
        if (settled || cut) return;
        if (size + chunk.length > limit) {
          if (ok) {
            fail(tooLarge(where, x.maxAnswerBytes));
            return;
          }
          parts.push(chunk.subarray(0, limit - size));
          size = limit;
          cut = true;
          settled = true;
          clearTimeout(timer);
          req.destroy();
          resolve({ status, headers: res.headers, body: Buffer.concat(parts), cut });
          return;
        }
        parts.push(chunk);
        size += chunk.length;
      });
      stream.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers: res.headers, body: Buffer.concat(parts), cut });
      });
      stream.on('error', (err: NodeJS.ErrnoException) => {
        if (stream !== res && err.code?.startsWith('Z_') === true) {
          fail(new InputError(`Prometheus query (${where}): the answer says it is gzip but does not decompress (${err.code}). Check what stands between ztmap and Prometheus (a proxy).`, { cause: err }));
        } else fail(connectionError(where, err));
      });
      if (stream !== res) res.on('error', (err: NodeJS.ErrnoException) => fail(connectionError(where, err)));
      // A connection closed before the answer's end: 'end' never comes.
      res.on('close', () => {
        if (!res.complete) fail(connectionError(where, Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' })));
      });
    });
    const timer = setTimeout(() => {
      fail(
        new InputError(
          `Prometheus query (${where}): no whole answer within ${x.timeoutMs / 1000} s. Try again, give a longer timeout, or ask for a shorter window (a query over many series or a long range takes longer).`,
          { retriable: true },
        ),
      );
    }, x.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => fail(connectionError(where, err)));
    req.end(body);
  });
}

function tooLarge(where: string, max: number): InputError {
  return new InputError(
    `Prometheus query (${where}): the answer is larger than ${mib(max)} (the bound on what is read). Ask for a shorter window or fewer series (a narrower namespace), or raise the bound.`,
  );
}

const mib = (n: number) => (n >= 1024 * 1024 ? `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB` : `${n} bytes`);

/** Certificate checks that fail because the server's CA is not among those trusted. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** A network or TLS failure, in words a user can act on; the Node error is the cause, never the message. */
function connectionError(where: string, err: NodeJS.ErrnoException): InputError {
  const code = err.code ?? 'unknown';
  const say = (what: string, todo: string, retriable = false) => new InputError(`Prometheus query (${where}): ${what} (${code}). ${todo}`, { retriable, cause: err });
  switch (code) {
    case 'ECONNREFUSED':
      return say(
        'nothing accepts connections at that address',
        'Check the URL\'s host and port and that Prometheus is running (for one in a cluster: kubectl -n istio-system port-forward svc/prometheus 9090, then http://127.0.0.1:9090).',
        true,
      );
    case 'ENOTFOUND':
      return say('the host name does not resolve', 'Check the URL\'s host name.');
    case 'EAI_AGAIN':
      return say('the host name could not be resolved now (DNS)', 'Try again; if it persists, check the URL\'s host name and the DNS.', true);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return say('the connection failed', 'Try again; if it persists, check the network path to Prometheus (a proxy, a port-forward that ended, or a server that asks for a client certificate).', true);
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return say('the server\'s TLS certificate is not valid now', 'Renew the server\'s certificate, or check this machine\'s clock.');
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return say('the server\'s TLS certificate is not for this host name', 'Use a host name the certificate names in the URL.');
  }
  if (UNTRUSTED.has(code)) {
    return say('the server\'s TLS certificate is not signed by a trusted CA', 'Give the certificate of the CA that signed it (a CA file), or check that the URL names the right server.');
  }
  // OpenSSL's words when the answer to its hello is plain HTTP.
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(err.message)) {
    return say('the server does not speak TLS at that port', 'Use http:// for a server without TLS, or the port where it serves https.');
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    const alert = /certificate required|handshake failure|bad certificate|unknown ca/i.test(err.message) ? ' If the server asks for a client certificate, give one and its key.' : '';
    return say('the TLS handshake failed', `Check the server's TLS settings and the certificates given.${alert}`);
  }
  return say('the request failed', 'Check the URL and the network path to Prometheus.', true);
}

// ---------------------------------------------------------------------------------------
// The answer

interface Envelope {
  status?: unknown;
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
  warnings?: unknown;
  infos?: unknown;
}

function decodeAnswer(a: Answer, location: QueryLocation): InstantQueryAnswer {
  const where = formatLocation(location);
  const text = a.body.toString('utf8');
  let envelope: Envelope | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) envelope = parsed as Envelope;
  } catch {
    envelope = undefined;
  }
  if (a.status < 200 || a.status >= 300) throw statusError(a, where, envelope, text);
  if (envelope === undefined || (envelope.status !== 'success' && envelope.status !== 'error')) {
    throw new InputError(
      `Prometheus query (${where}): the answer (HTTP ${a.status}) is not the Prometheus API's JSON (it starts ${excerpt(text, 120)}). Check that the URL is Prometheus' base URL, with its path prefix if it has one.`,
    );
  }
  if (envelope.status === 'error') throw new InputError(`Prometheus query (${where}): the server answered with an error (${prometheusError(envelope)}). Check the query and the server.`);
  const data = envelope.data as { resultType?: unknown; result?: unknown } | null | undefined;
  if (data === null || typeof data !== 'object' || typeof data.resultType !== 'string' || !Array.isArray(data.result)) {
    throw new InputError(`Prometheus query (${where}): the answer has no data.resultType and data.result. Check that the server speaks the Prometheus API at this URL.`);
  }
  if (data.resultType !== 'vector') {
    throw new InputError(
      `Prometheus query (${where}): the answer is a ${excerpt(data.resultType, 20)}, not the vector an instant aggregation gives. Check that the server evaluates instant queries as Prometheus does.`,
    );
  }
  const samples = data.result.map((item, i) => sampleOf(item, i, location, where));
  return { samples, warnings: [...strings(envelope.warnings), ...strings(envelope.infos)] };
}

function statusError(a: Answer, where: string, envelope: Envelope | undefined, text: string): InputError {
  const said = envelope !== undefined && (envelope.error !== undefined || envelope.errorType !== undefined) ? prometheusError(envelope) : `it says ${excerpt(text, 200)}${a.cut ? ' …' : ''}`;
  const at = `Prometheus query (${where}): HTTP ${a.status}`;
  const s = a.status;
  // Go's answer to plain HTTP at a TLS port.
  if (s === 400 && /HTTP request to an HTTPS server/i.test(text)) return new InputError(`${at}, the server speaks https at that port (${said}). Use https:// in the URL.`);
  if (s === 400 || s === 422) {
    return new InputError(
      `${at}, the query was refused (${said}). Check that the URL is Prometheus' API (with its path prefix) and that its version knows every function the query uses.`,
    );
  }
  if (s === 401) return new InputError(`${at}, the server asks for credentials (${said}). Give a bearer token or a basic-auth user and password, or check the ones given.`);
  if (s === 403) return new InputError(`${at}, the credentials given are not allowed to query (${said}). Check the token or user, and its permissions.`);
  if (s === 404) return new InputError(`${at}, there is no Prometheus API at this URL (${said}). Give the base URL before /api/v1, with the path prefix Prometheus is served under (--web.route-prefix), if any.`);
  if (s === 408 || s === 429 || s >= 500) {
    const after = retryAfter(a.headers['retry-after']);
    const busy = s === 503 ? 'Prometheus is unavailable or the query timed out or was aborted' : s === 429 ? 'too many requests' : 'the server failed';
    return new InputError(`${at}, ${busy} (${said}). Try again${after}; if it persists, ask for a shorter window or check the server.`, { retriable: true });
  }
  if (s >= 300 && s < 400) {
    return new InputError(`${at}, a redirect${redirectTarget(a.headers['location'])}. Give the URL Prometheus answers at directly.`);
  }
  return new InputError(`${at} (${said}). Check the URL and the credentials given.`);
}

function prometheusError(e: Envelope): string {
  const type = typeof e.errorType === 'string' ? e.errorType : 'no errorType';
  const message = typeof e.error === 'string' ? excerpt(e.error, 300) : 'no message';
  return `${type}: ${message}`;
}

/** `Retry-After` in seconds (or an HTTP date) as words, or nothing. */
function retryAfter(v: string | undefined): string {
  if (v === undefined) return '';
  if (/^\d+$/.test(v.trim())) return ` in ${Number(v.trim())} s, as the server asks`;
  const t = Date.parse(v);
  return Number.isNaN(t) ? '' : ` after ${new Date(t).toISOString()}, as the server asks`;
}

/** A redirect's target without what could be a credential (user information, query, fragment). */
function redirectTarget(v: string | undefined): string {
  if (v === undefined) return '';
  try {
    const u = new URL(v);
    return ` to ${excerpt(`${u.origin}${u.pathname}`, 200)}`;
  } catch {
    return '';
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function sampleOf(item: unknown, i: number, location: QueryLocation, where: string): MetricSample {
  const bad = (what: string) =>
    new InputError(`Prometheus query (${where}): answer item ${i} ${what}. Check that the server speaks the Prometheus API at this URL.`);
  if (item === null || typeof item !== 'object') throw bad('is not an object');
  const { metric, value } = item as { metric?: unknown; value?: unknown };
  if (metric === null || typeof metric !== 'object' || Array.isArray(metric)) throw bad('has no metric labels');
  const entries = Object.entries(metric as Record<string, unknown>);
  for (const [k, v] of entries) if (typeof v !== 'string') throw bad(`has a label (${excerpt(k)}) whose value is not a string`);
  const all = entries as [string, string][];
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'number' || !Number.isFinite(value[0]) || typeof value[1] !== 'string') {
    throw bad('has no [time, "value"] pair');
  }
  const number = valueOf(value[1]);
  if (number === undefined) throw bad(`has a value that is not a number (${excerpt(value[1])})`);
  const name = all.find(([k]) => k === '__name__')?.[1] ?? '';
  // fromEntries defines own properties, so a label named __proto__ stays a label.
  const labels = Object.fromEntries(all.filter(([k]) => k !== '__name__').sort((a, b) => compare(a[0], b[0])));
  return { name, labels, value: number, timestamp: Math.round(value[0] * 1000), location: { ...location, item: seriesNotation(name, labels) } };
}

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A sample value as Prometheus writes it (Go's FormatFloat, NaN, +Inf, -Inf); undefined when it is none of those. */
function valueOf(s: string): number | undefined {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return FLOAT.test(s) ? Number(s) : undefined;
}

/** `name{a="b",…}` as PromQL writes a series, label values escaped as in the exposition format. */
function seriesNotation(name: string, labels: Readonly<Record<string, string>>): string {
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',')}}`;
}
