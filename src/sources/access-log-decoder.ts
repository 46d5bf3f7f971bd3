// Lines of an istio-proxy log, from any transport, → Flows.
//
// One line may be, after framing:
//   CRI      2026-11-24T10:00:01.123456789Z stdout F [2026-…] "GET /x HTTP/1.1" …   (P = partial, joined)
//   kubectl  [2026-…] "GET /x HTTP/1.1" …   or   {"start_time": …}   (optionally `--timestamps` prefixed)
//   envelope {"log": "<line>", "kubernetes": {"pod_name": …, "namespace_name": …}}          (Fluent Bit)
//            {"message": "<line>", "kubernetes": {"pod_name": …, "pod_namespace": …}}      (Vector)
//   stern    productpage-v1-6987489c74-6fgz8 istio-proxy [2026-…] …   (`[NS ]POD CONTAINER ` prefix)
//   kubectl  [pod/productpage-v1-6987489c74-6fgz8/istio-proxy] [2026-…] …   (`kubectl logs --prefix`)
// and the proxy's own logging (`…Z\tinfo\txdsproxy\t…`, `[2026-11-24 10:00:00.000][12][info]…`,
// a Rust ztunnel's `…Z  INFO outbound{…}: ztunnel::proxy::…`), which is skipped and counted, not
// rejected. A Rust ztunnel's access log (`…Z\tinfo\taccess\tconnection complete\tsrc.addr=…`) is
// an access log of another format, not proxy logging: it is rejected under its own reason until
// a decoder reads it.

import { ByteKey, ByteKeyTable } from '../flow/byte-keys.js';
import type { Flow, PodRef, RepeatedRequest } from '../flow/flow.js';
import type { Location } from '../errors.js';
import { BLACK_HOLE, DIRECT_RESPONSE, entryToFlow, epochOfMinute, protocolOf, RBAC_DENIED, REFUSAL_FLAGS, startTimeInRange } from './access-log.js';
import type { AccessLogEntry } from './decoders/access-log-entry.js';
import { decodeEnvoyJson, isEnvoyJson } from './decoders/envoy-json.js';
import { scanEnvoyJson } from './decoders/envoy-json-scan.js';
import { decodeEnvoyText } from './decoders/envoy-text.js';
import { scanEnvoyText } from './decoders/envoy-text-scan.js';
import type { Decoded } from './decoders/result.js';
import * as F from './decoders/field-offsets.js';
import { dropDashes, newFieldOffsets, fieldIs, fieldText, type FieldOffsets } from './decoders/field-offsets.js';
import type { FileLayout } from './layout.js';
import { DEFAULT_MAX_LINE_LENGTH } from './framing/lines.js';
import type { Tally } from '../tally.js';
import { excerpt } from '../text.js';

// A line's route shape is the bytes of every field but the time, the response code, the
// method and the path (the addresses, cluster, SNI, authority, reporting pod, format and
// protocol). They decide everything else the pipeline derives from the line, from the Flow's
// endpoints to the graph edge. So the flow's consumer attaches what it derived from the first
// line of a shape, and later lines of it are counted without a string, a Flow or a resolution.

/** Shapes kept per reader; a mesh has far fewer routes, so this bounds a pathological input. */
const MAX_SHAPES = 100_000;

export type AccessLogFormat = 'auto' | 'envoy-text' | 'envoy-json';

export interface AccessLogDecoderOptions {
  format: AccessLogFormat;
  /** Only this container's logs are access logs. */
  container: string;
  /** The reporting pod for every input (for stdin or a single `kubectl logs` file). */
  pod?: PodRef;
  maxLineLength?: number;
}

export interface DecoderSinks<T = unknown> {
  /**
   * A decoded flow. `attach`, when given, attaches a value to the line's route shape (above):
   * later lines of that shape then come to `repeat` with it instead.
   */
  flow(flow: Flow, attach?: (value: T) => void): void;
  /** A line whose shape has a value attached: true when counted; false decodes it into `flow`. */
  repeat?(value: T, request: RepeatedRequest): boolean;
  rejects: Tally;
  skips: Tally;
}

const CRI = /^(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) ?(.*)$/s;
const TIMESTAMP_PREFIX = /^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d) (?=[[{])/;
const AGENT_LOG = /^\d{4}-\d\d-\d\dT[\d:.]+Z\t(?:debug|info|warn|warning|error|critical|fatal)\t/;
const ENVOY_LOG = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\]\[/;
/** A Rust ztunnel's own logging (tracing's default format): `…Z  INFO outbound{id=…}: ztunnel::…`. */
const RUST_LOG = /^\d{4}-\d\d-\d\dT[\d:.]+Z +(?:TRACE|DEBUG|INFO|WARN|ERROR) /;
/**
 * A Rust ztunnel's access log: `[TIME\t]LEVEL\taccess\tconnection complete\tsrc.addr=…` (L4), or
 * `http access\thttp request` (tabs published as spaces are taken too).
 */
const ZTUNNEL_ACCESS = /^(?:\d{4}-\d\d-\d\dT[\d:.]+Z\s+)?(?:trace|debug|info|warn|error)\s+(?:http )?access\s+(?:connection complete|http request)\s/i;
/** A TEXT line whose `[` was lost (copy damage in published lines): `2024-05-29T02:46:11.488Z] "GET …`. */
const BRACKETLESS_TEXT = /^\d{4}-\d\d-\d\dT[\d:.]+Z\] "/;
/** `kubectl logs --prefix`: `[pod/POD/CONTAINER] ` before the entry. */
const KUBECTL_PREFIX = /^\[pod\/([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)\/([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\] /;
/** stern's prefix: `[NAMESPACE ]POD CONTAINER ` before the entry. */
const STERN = /^(?:([a-z0-9](?:[-a-z0-9]*[a-z0-9])?) )?([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?) ([a-z0-9](?:[-a-z0-9]*[a-z0-9])?) (?=\[\d{4}-|\{")/;

// Route key bytes: field markers below any printable byte a scanned field can hold.
const FIELD_END = 0;
const ABSENT = 1;
const ADDRESS_IP = 2;
const ADDRESS_WHOLE = 3;
const FORMAT_TEXT = 1;
const FORMAT_JSON = 2;
const PROTOCOL_CODE = { tcp: 1, http: 2, grpc: 3 } as const;
/** The fields of a route key, besides the reporter, format and protocol; addresses by IP only where entryToFlow reads only the IP. */
const KEY_FIELDS = [F.AUTHORITY, F.UPSTREAM_HOST, F.CLUSTER, F.DOWNSTREAM_LOCAL, F.SNI];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const PROTOCOLS = ['HTTP/1.1', 'HTTP/2', 'HTTP/1.0'];
/** Offsets of the seconds and milliseconds digits in `2026-11-24T10:00:01.123Z`. */
const SECOND_DIGITS = [17, 18, 20, 21, 22];

export class AccessLogDecoder<T = unknown> {
  private _file = '-';
  private _reporter: PodRef | undefined;
  private _partial = '';
  private _partialLine = 0;
  private readonly _max: number;
  // Route shapes (the `bytes` path): per reader, keyed with the reporting pod's number.
  private readonly _shapes = new ByteKeyTable<T>(MAX_SHAPES);
  private readonly _key = new ByteKey();
  private readonly _offsets: FieldOffsets = newFieldOffsets();
  private readonly _reporterNumbers = new Map<string, number>();
  private _reporterNumber = 0;
  // The shape (entry in _shapes, of its generation) of the line `bytes` declined last, and
  // that line's number: `line` takes it over when it decodes that very line, for its flow.
  private _pendingShape = -1;
  private _pendingGeneration = 0;
  private _pendingLine = -1;
  /** The shape of the line being decoded, or -1; used by the one flow it makes. */
  private _lineShape = -1;
  private _lineGeneration = 0;
  private readonly _repeat: RepeatedRequest = { timestamp: 0, responseCode: 0, method: undefined, raw: Buffer.alloc(0), pathStart: -1, pathEnd: -1, file: '-', line: 0 };
  private _minute = '';
  private readonly _minuteBytes = new Uint8Array(16);
  private _minuteEpoch = NaN;

  constructor(
    private readonly _options: AccessLogDecoderOptions,
    private readonly _sinks: DecoderSinks<T>,
  ) {
    this._max = _options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    // Offered to the line splitter only when someone counts repeats: otherwise lines are
    // decoded a chunk at a time, as before.
    this.bytes = _sinks.repeat === undefined ? undefined : this._bytes.bind(this);
  }

  /** LineSink.bytes, when the sinks take repeats (see `_bytes`). */
  readonly bytes: ((b: Buffer, start: number, end: number, lineNumber: number) => boolean) | undefined;

  /** Start a file; returns false when the whole file is another container's log. */
  beginFile(file: string, layout: FileLayout): boolean {
    this._file = file;
    this._partial = '';
    this._reporter = this._options.pod ?? layout.reporter;
    this._pendingLine = -1;
    const reporterKey = this._reporter === undefined ? '' : this._reporter.namespace + '/' + this._reporter.name;
    let n = this._reporterNumbers.get(reporterKey);
    if (n === undefined) {
      n = this._reporterNumbers.size;
      this._reporterNumbers.set(reporterKey, n);
    }
    this._reporterNumber = n;
    if (layout.container !== undefined && layout.container !== this._options.container) return false;
    return true;
  }

  /**
   * End of a file, or of a range of one (`final` false): returns whether it ended inside a CRI
   * partial record. At a file's end that is reported; a range's reader says so instead, and
   * the range is read again together with the next.
   */
  endFile(final = true): boolean {
    const pending = this._partial !== '';
    if (pending && final) {
      this._sinks.rejects.add('unterminated-cri-partial', { file: this._file, line: this._partialLine }, 'P records without a final F record');
    }
    this._partial = '';
    return pending && !final;
  }

  line(text: string, lineNumber: number): void {
    this._lineShape = this._pendingLine === lineNumber ? this._pendingShape : -1;
    this._lineGeneration = this._pendingGeneration;
    this._pendingLine = -1;
    const c = text.charCodeAt(0);
    // Digits first: CRI framing or a `kubectl logs --timestamps` prefix.
    if (c >= 48 && c <= 57) {
      const m = CRI.exec(text);
      if (m !== null) {
        const body = m[4]!;
        if (m[3] === 'P') {
          if (this._partial === '') this._partialLine = lineNumber;
          if (this._partial.length + body.length > this._max) {
            this._sinks.rejects.add('line-too-long', { file: this._file, line: this._partialLine }, `CRI partial records exceed ${this._max} characters`);
            this._partial = '';
            return;
          }
          this._partial += body;
          return;
        }
        const full = this._partial === '' ? body : this._partial + body;
        const at = this._partial === '' ? lineNumber : this._partialLine;
        this._partial = '';
        this._payload(full, this._reporter, { file: this._file, line: at }, true);
        return;
      }
      const t = TIMESTAMP_PREFIX.exec(text);
      if (t !== null) {
        this._payload(text.slice(t[0].length), this._reporter, { file: this._file, line: lineNumber }, true);
        return;
      }
    }
    // `stern` and `kubectl logs --prefix`: the pod in front names the proxy better than the file does.
    const prefix = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 91 /* [ */ ? podPrefix(text) : undefined;
    if (prefix !== undefined) {
      const location = { file: this._file, line: lineNumber };
      if (prefix.container !== this._options.container) {
        this._sinks.skips.add('other-container', location);
        return;
      }
      this._payload(text.slice(prefix.length), prefix.pod, location, true);
      return;
    }
    this._payload(text, this._reporter, { file: this._file, line: lineNumber }, true);
  }

  /**
   * The line as bytes. When it is a plain TEXT or JSON entry (alone, in a CRI F record or
   * after a `kubectl logs --timestamps` time) whose route shape has a value attached, it goes
   * to `repeat` and true is returned. Otherwise false: the caller decodes the line and passes
   * it to `line`, and if it was scanned, the flow it makes comes with its shape.
   */
  private _bytes(b: Buffer, start: number, stop: number, lineNumber: number): boolean {
    const repeat = this._sinks.repeat!;
    // A CRLF line end's CR is no part of the line, as the splitter strips it for `line`.
    const end = stop > start && b[stop - 1] === 13 ? stop - 1 : stop;
    let at = start;
    const c = b[start]!;
    if (c >= 48 && c <= 57) {
      // A CRI F record completes a pending partial one: only the expressions join them.
      if (this._partial !== '') return false;
      at = bodyAfterTime(b, start, end);
      if (at < 0) return false;
    }
    const offsets = this._offsets;
    let format: number;
    if (b[at] === 91 /* [ */ && this._options.format !== 'envoy-json') {
      if (!scanEnvoyText(b, at, end, offsets)) return false;
      format = FORMAT_TEXT;
    } else if (b[at] === 123 /* { */ && this._options.format !== 'envoy-text') {
      if (!scanEnvoyJson(b, at, end, offsets)) return false;
      format = FORMAT_JSON;
    } else return false;
    dropDashes(b, offsets);
    // A line that may record a refusal (what denialOf reads: RBAC details, a UAEX or NR flag, a
    // direct response, BlackHoleCluster) or that has no upstream cluster (entryToFlow then reads
    // its flags) is decoded whole: that is no part of the route shape, so it must neither count
    // as a repeat of a shape nor give a shape its value. An upstream failure (UH, UF, UC …) on
    // a cluster is counted like any request of its route: nothing derived from it differs.
    if (offsets[F.CLUSTER * 2]! < 0 || fieldIs(b, offsets, F.CLUSTER, BLACK_HOLE)) return false;
    if (offsets[F.FLAGS * 2]! >= 0 && flagsMayDeny(b, offsets[F.FLAGS * 2]!, offsets[F.FLAGS * 2 + 1]!)) return false;
    if (offsets[F.DETAILS * 2]! >= 0 && (fieldStartsWith(b, offsets, F.DETAILS, RBAC_DENIED) || fieldIs(b, offsets, F.DETAILS, DIRECT_RESPONSE))) return false;
    const timestamp = this._timestamp(b, offsets);
    if (timestamp === undefined) return false;
    const method = internedText(b, offsets, F.METHOD, METHODS);
    const protocolText = method === undefined ? undefined : internedText(b, offsets, F.PROTOCOL, PROTOCOLS);
    // protocolOf reads the path only of an HTTP/2 POST (is it gRPC?): no string otherwise.
    const path = protocolText === 'HTTP/2' && method === 'POST' ? fieldText(b, offsets, F.PATH) : undefined;
    const protocol = protocolOf(method, protocolText, path);

    const key = this._key;
    key.reset();
    key.uint32(this._reporterNumber);
    key.byte(format);
    key.byte(PROTOCOL_CODE[protocol]);
    for (const f of KEY_FIELDS) keyField(key, b, offsets, f);
    keyAddressIp(key, b, offsets, F.UPSTREAM_LOCAL);
    keyAddressIp(key, b, offsets, F.DOWNSTREAM_REMOTE);
    const shape = this._shapes.find(key);
    const value = this._shapes.value(shape);
    if (value !== undefined) {
      const request = this._repeat;
      request.timestamp = timestamp;
      request.responseCode = offsets[F.RESPONSE_CODE]!;
      request.method = protocol === 'tcp' ? undefined : method;
      request.raw = b;
      request.pathStart = offsets[F.PATH * 2]!;
      request.pathEnd = offsets[F.PATH * 2 + 1]!;
      request.file = this._file;
      request.line = lineNumber;
      if (repeat(value, request)) return true;
    }
    this._pendingShape = shape;
    this._pendingGeneration = this._shapes.generation;
    this._pendingLine = lineNumber;
    return false;
  }

  /** parseTimestamp of the START field, for the one form it reads by digits; undefined otherwise. */
  private _timestamp(b: Buffer, offsets: FieldOffsets): number | undefined {
    const s = offsets[F.START * 2]!;
    if (s < 0 || offsets[F.START * 2 + 1]! - s !== 24 || b[s + 23] !== 90 || b[s + 19] !== 46 || b[s + 16] !== 58) return undefined;
    for (const i of SECOND_DIGITS) if (b[s + i]! < 48 || b[s + i]! > 57) return undefined;
    const sec = (b[s + 17]! - 48) * 10 + (b[s + 18]! - 48);
    if (sec >= 60) return undefined;
    const ms = (b[s + 20]! - 48) * 100 + (b[s + 21]! - 48) * 10 + (b[s + 22]! - 48);
    const minute = this._minuteBytes;
    let same = this._minute !== '';
    for (let i = 0; i < 16 && same; i++) same = b[s + i] === minute[i];
    if (!same) {
      this._minute = b.toString('latin1', s, s + 16);
      minute.set(b.subarray(s, s + 16));
      this._minuteEpoch = epochOfMinute(this._minute);
    }
    if (Number.isNaN(this._minuteEpoch)) return undefined;
    const t = this._minuteEpoch + sec * 1000 + ms;
    // Out of range: entryToFlow rejects it, with its reason.
    return startTimeInRange(t) ? t : undefined;
  }

  oversize(lineNumber: number, length: number): void {
    this._sinks.rejects.add('line-too-long', { file: this._file, line: lineNumber }, `${length} characters; the limit is ${this._max} (--max-line-length)`);
  }

  private _payload(text: string, reporter: PodRef | undefined, location: Location, envelopeAllowed: boolean): void {
    const c = text.charCodeAt(0);
    let decoded: Decoded<AccessLogEntry>;
    let decoder: string;
    if (c === 123 /* { */) {
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        this._sinks.rejects.add('malformed-json', location, (err as Error).message);
        return;
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        this._sinks.rejects.add('unrecognized-json', location, 'not a JSON object');
        return;
      }
      const record = obj as Record<string, unknown>;
      const meta = record['kubernetes'];
      if (envelopeAllowed && typeof meta === 'object' && meta !== null) {
        this._envelope(record, meta as Record<string, unknown>, reporter, location);
        return;
      }
      if (!isEnvoyJson(record)) {
        this._sinks.rejects.add('unrecognized-json', location, 'a JSON object without Envoy access-log fields (upstream_cluster, downstream_remote_address)');
        return;
      }
      if (this._options.format === 'envoy-text') {
        this._sinks.rejects.add('wrong-format', location, 'a JSON line, but --format envoy-text was given');
        return;
      }
      decoded = decodeEnvoyJson(record);
      decoder = 'envoy-json';
    } else if (c === 91 /* [ */ || c === 34 /* " */ || (c >= 48 && c <= 57 && BRACKETLESS_TEXT.test(text))) {
      // A TEXT entry; `"` and a time without `[` begin lines published with their head damaged.
      if (ENVOY_LOG.test(text)) {
        this._sinks.skips.add('proxy-log-line', location);
        return;
      }
      if (this._options.format === 'envoy-json') {
        this._sinks.rejects.add('wrong-format', location, 'a TEXT line, but --format envoy-json was given');
        return;
      }
      decoded = decodeEnvoyText(text);
      decoder = 'envoy-text';
    } else if (ZTUNNEL_ACCESS.test(text)) {
      this._sinks.rejects.add('ztunnel-access-log', location, 'a Rust ztunnel access log (L4, ambient mode): not read yet');
      return;
    } else if (AGENT_LOG.test(text) || RUST_LOG.test(text)) {
      this._sinks.skips.add('proxy-log-line', location);
      return;
    } else if (text.trim() === '') {
      this._sinks.skips.add('blank-line', location);
      return;
    } else {
      this._sinks.rejects.add('unrecognized-line', location, 'neither an Envoy access-log entry nor proxy logging: ' + excerpt(text));
      return;
    }
    if (decoded.kind !== 'ok') {
      this._tallyOutcome(decoded, location);
      return;
    }
    this._emit(decoded.value, reporter, decoder, location);
  }

  private _emit(entry: AccessLogEntry, reporter: PodRef | undefined, decoder: string, location: Location): void {
    const flow = entryToFlow(entry, { reporter, decoder, location });
    if (flow.kind !== 'ok') return this._tallyOutcome(flow, location);
    const shape = this._lineShape;
    if (shape < 0) return this._sinks.flow(flow.value);
    this._lineShape = -1;
    const shapes = this._shapes;
    const generation = this._lineGeneration;
    this._sinks.flow(flow.value, (value) => {
      if (shapes.generation === generation) shapes.set(shape, value);
    });
  }

  private _envelope(record: Record<string, unknown>, meta: Record<string, unknown>, fallback: PodRef | undefined, location: Location): void {
    const container = meta['container_name'];
    if (typeof container === 'string' && container !== this._options.container) {
      this._sinks.skips.add('other-container', location);
      return;
    }
    const ns = meta['namespace_name'] ?? meta['pod_namespace'];
    const pod = meta['pod_name'];
    const reporter = typeof ns === 'string' && typeof pod === 'string' ? { namespace: ns, name: pod } : fallback;
    const inner = record['log'] ?? record['message'];
    if (typeof inner === 'string') {
      this._payload(inner.endsWith('\n') ? inner.slice(0, -1) : inner, reporter, location, false);
      return;
    }
    // Fluent Bit's Merge_Log puts the parsed entry beside the envelope or under log_processed.
    const merged = isEnvoyJson(record) ? record : record['log_processed'];
    if (typeof merged === 'object' && merged !== null && isEnvoyJson(merged as Record<string, unknown>)) {
      const decoded = decodeEnvoyJson(merged as Record<string, unknown>);
      if (decoded.kind !== 'ok') return this._tallyOutcome(decoded, location);
      this._emit(decoded.value, reporter, 'envoy-json', location);
      return;
    }
    this._sinks.rejects.add('unrecognized-json', location, 'a collector record with a kubernetes envelope but no log or message field');
  }

  private _tallyOutcome(d: { kind: 'skip'; reason: string } | { kind: 'reject'; reason: string; detail: string }, location: Location): void {
    if (d.kind === 'skip') this._sinks.skips.add(d.reason, location);
    else this._sinks.rejects.add(d.reason, location, d.detail);
  }
}

/** The pod and container a `stern` or `kubectl logs --prefix` prefix names, and the prefix's length. */
function podPrefix(text: string): { pod: PodRef; container: string; length: number } | undefined {
  if (text.charCodeAt(0) === 91 /* [ */) {
    if (!text.startsWith('[pod/')) return undefined;
    const m = KUBECTL_PREFIX.exec(text);
    return m === null ? undefined : { pod: { namespace: '', name: m[1]! }, container: m[2]!, length: m[0].length };
  }
  const m = STERN.exec(text);
  return m === null ? undefined : { pod: { namespace: m[1] ?? '', name: m[2]! }, container: m[3]!, length: m[0].length };
}

/**
 * Where the body of a line with a time in front starts: a CRI `F` record (`…Z stdout F `
 * + body) or a `kubectl logs --timestamps` prefix (`…Z ` + `[` or `{`); -1 for anything
 * else (partials, offsets other than Z), which goes to the expressions.
 */
function bodyAfterTime(b: Uint8Array, start: number, end: number): number {
  // \d{4}-\d\d-\d\dT
  for (let k = 0; k < 10; k++) {
    const c = b[start + k]!;
    if (k === 4 || k === 7 ? c !== 45 : c < 48 || c > 57) return -1;
  }
  if (b[start + 10] !== 84 /* T */) return -1;
  // [\d:.]+Z
  let i = start + 11;
  while (i < end && ((b[i]! >= 48 && b[i]! <= 57) || b[i] === 58 || b[i] === 46)) i++;
  if (i === start + 11 || b[i] !== 90 /* Z */ || b[i + 1] !== 32) return -1;
  i += 2;
  if (b[i] === 91 || b[i] === 123) return i < end ? i : -1; // --timestamps: the entry itself
  const std = b[i] === 115 && b[i + 1] === 116 && b[i + 2] === 100;
  const out = b[i + 3] === 111 && b[i + 4] === 117 && b[i + 5] === 116;
  const err = b[i + 3] === 101 && b[i + 4] === 114 && b[i + 5] === 114;
  if (!std || !(out || err) || b[i + 6] !== 32 || b[i + 7] !== 70 /* F */ || b[i + 8] !== 32) return -1;
  return i + 9 < end ? i + 9 : -1;
}

/** Whether comma-separated response flags `b[s, e)` hold one of REFUSAL_FLAGS. */
function flagsMayDeny(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; ) {
    let j = i;
    while (j < e && b[j] !== 44 /* , */) j++;
    for (const flag of REFUSAL_FLAGS) if (bytesAre(b, i, j, flag)) return true;
    i = j + 1;
  }
  return false;
}

/** Whether `b[s, e)` is the ASCII text `ascii`. */
function bytesAre(b: Uint8Array, s: number, e: number, ascii: string): boolean {
  if (e - s !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[s + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

function fieldStartsWith(b: Uint8Array, offsets: FieldOffsets, field: number, ascii: string): boolean {
  const s = offsets[field * 2]!;
  if (s < 0 || offsets[field * 2 + 1]! - s < ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[s + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** A field's text, as one of `common` (a shared string) when it is one of them. */
function internedText(b: Buffer, offsets: FieldOffsets, field: number, common: readonly string[]): string | undefined {
  if (offsets[field * 2]! < 0) return undefined;
  for (const s of common) if (fieldIs(b, offsets, field, s)) return s;
  return fieldText(b, offsets, field);
}

function keyField(key: ByteKey, b: Uint8Array, offsets: FieldOffsets, field: number): void {
  const s = offsets[field * 2]!;
  if (s < 0) {
    key.byte(ABSENT);
    return;
  }
  key.bytesOf(b, s, offsets[field * 2 + 1]!);
  key.byte(FIELD_END);
}

/**
 * An address by its IP when it ends in a port parseAddress accepts: entryToFlow keeps only
 * the IP of these (the client's ephemeral port), so lines that differ in the port share a
 * shape. Any other text, and port 0, is keyed whole.
 */
function keyAddressIp(key: ByteKey, b: Uint8Array, offsets: FieldOffsets, field: number): void {
  const s = offsets[field * 2]!;
  if (s < 0) {
    key.byte(ABSENT);
    return;
  }
  const e = offsets[field * 2 + 1]!;
  let colon = e - 1;
  while (colon > s && b[colon] !== 58 /* : */) colon--;
  const digits = e - colon - 1;
  let port = 0;
  let valid = colon > s && digits >= 1 && digits <= 5;
  for (let i = colon + 1; valid && i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) valid = false;
    else port = port * 10 + d;
  }
  // Port 0 is no ephemeral port: Envoy puts the X-Forwarded-For client there, which entryToFlow
  // reads as a peer behind a proxy, so it is keyed whole, apart from that IP's real connections.
  if (valid && port <= 65535 && port !== 0) {
    key.byte(ADDRESS_IP);
    key.bytesOf(b, s, colon);
  } else {
    key.byte(ADDRESS_WHOLE);
    key.bytesOf(b, s, e);
  }
  key.byte(FIELD_END);
}
