// Lines of an istio-proxy log, from any transport, → Flows.
//
// One line may be, after framing:
//   CRI      2026-11-24T10:00:01.123456789Z stdout F [2026-…] "GET /x HTTP/1.1" …   (P = partial, joined)
//   kubectl  [2026-…] "GET /x HTTP/1.1" …   or   {"start_time": …}   (optionally `--timestamps` prefixed)
//   envelope {"log": "<line>", "kubernetes": {"pod_name": …, "namespace_name": …}}          (Fluent Bit)
//            {"message": "<line>", "kubernetes": {"pod_name": …, "pod_namespace": …}}      (Vector)
// and the proxy's own logging (`…Z\tinfo\txdsproxy\t…`, `[2026-11-24 10:00:00.000][12][info]…`),
// which is skipped and counted, not rejected.

import type { Flow, PodRef } from '../flow/flow.js';
import type { Location } from '../errors.js';
import { entryToFlow } from './access-log.js';
import type { AccessLogEntry } from './decoders/access-log-entry.js';
import { decodeEnvoyJson, isEnvoyJson } from './decoders/envoy-json.js';
import { decodeEnvoyText } from './decoders/envoy-text.js';
import type { Decoded } from './decoders/result.js';
import type { FileLayout } from './layout.js';
import { DEFAULT_MAX_LINE_LENGTH } from './framing/lines.js';
import type { Tally } from '../tally.js';

export type AccessLogFormat = 'auto' | 'envoy-text' | 'envoy-json';

export interface AccessLogDecoderOptions {
  format: AccessLogFormat;
  /** Only this container's logs are access logs. */
  container: string;
  /** The reporting pod for every input (for stdin or a single `kubectl logs` file). */
  pod?: PodRef;
  maxLineLength?: number;
}

export interface DecoderSinks {
  flow(flow: Flow): void;
  rejects: Tally;
  skips: Tally;
}

const CRI = /^(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) ?(.*)$/s;
const TIMESTAMP_PREFIX = /^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d) (?=[[{])/;
const AGENT_LOG = /^\d{4}-\d\d-\d\dT[\d:.]+Z\t(?:debug|info|warn|warning|error|critical|fatal)\t/;
const ENVOY_LOG = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\]\[/;

export class AccessLogDecoder {
  private _file = '-';
  private _reporter: PodRef | undefined;
  private _partial = '';
  private _partialLine = 0;
  private readonly _max: number;

  constructor(
    private readonly _options: AccessLogDecoderOptions,
    private readonly _sinks: DecoderSinks,
  ) {
    this._max = _options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  }

  /** Start a file; returns false when the whole file is another container's log. */
  beginFile(file: string, layout: FileLayout): boolean {
    this._file = file;
    this._partial = '';
    this._reporter = this._options.pod ?? layout.reporter;
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
    this._payload(text, this._reporter, { file: this._file, line: lineNumber }, true);
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
    } else if (c === 91 /* [ */) {
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
    } else if (AGENT_LOG.test(text)) {
      this._sinks.skips.add('proxy-log-line', location);
      return;
    } else if (text.trim() === '') {
      this._sinks.skips.add('blank-line', location);
      return;
    } else {
      this._sinks.rejects.add('unrecognized-line', location, 'neither an Envoy access-log entry nor proxy logging: ' + JSON.stringify(text.slice(0, 60)));
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
    if (flow.kind === 'ok') this._sinks.flow(flow.value);
    else this._tallyOutcome(flow, location);
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
