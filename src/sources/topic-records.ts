// Kafka records into flows: the existing decoders over one more transport (`ztmap consume`).
// A topic carries one format, named by the user per topic (the OpenTelemetry Collector's Kafka
// exporter writes `otlp_proto` or `otlp_json`; Fluent Bit and Vector write JSON records with a
// `kubernetes` envelope, or raw lines; Hubble's exporter writes its JSON).
//
// Records are read a chunk at a time, one partition's consecutive records, and each chunk's
// result is what the collector publishes with the chunk's offsets in one transaction: so nothing
// in here outlives a chunk. A trace's client and server spans in one chunk join here; the spans
// left waiting travel with the chunk's result to the materializer, which joins across chunks,
// partitions and collectors (a trace's spans need not share a partition).
//
// A record that cannot be read (undecodable, too large, another format than the topic's) is
// poison: counted, and returned with its offset and reason for the dead-letter topic, never
// dropped and never blocking the partition.

import type { TopicLocation } from '../errors.js';
import type { Flow } from '../flow/flow.js';
import { Tally } from '../tally.js';
import { excerpt } from '../text.js';
import { AccessLogDecoder, type AccessLogDecoderOptions } from './access-log-decoder.js';
import { decodeHubbleRecord } from './decoders/hubble.js';
import { decodeOtlpJson } from './decoders/otlp-json.js';
import { decodeOtlpProto } from './decoders/otlp-proto.js';
import type { Decoded } from './decoders/result.js';
import type { Span } from './decoders/span.js';
import type { TraceBatch } from './decoders/trace-fields.js';
import { heldPart } from './held-span.js';
import { deliver, type FlowSinks } from './source.js';
import { SpanJoiner } from './span-edges.js';
import { endpointKeyOf } from '../flow/endpoint-key.js';

export const TOPIC_FORMATS = ['otlp_proto', 'otlp_json', 'access-log', 'hubble'] as const;
export type TopicFormat = (typeof TOPIC_FORMATS)[number];

/** The source each format's flows are counted under (graph edges keep counts per source). */
export const SOURCE_OF_FORMAT: Readonly<Record<TopicFormat, string>> = { otlp_proto: 'traces', otlp_json: 'traces', 'access-log': 'access-log', hubble: 'hubble' };

export interface TopicRecord {
  offset: string;
  /** Null for a tombstone. */
  value: Buffer | null;
}

/** A record that could not be read: for the dead-letter topic, with why. */
export interface PoisonRecord {
  offset: string;
  reason: string;
  detail: string;
}

export interface TopicChunkResult {
  records: number;
  poison: PoisonRecord[];
  /** Spans whose partner was not in the chunk, as held while waiting (sources/held-span.ts). */
  waitingSpans: Span[];
}

export interface TopicReadOptions {
  /** A record larger than this is poison, unread (`record-too-large`). */
  maxRecordBytes: number;
  accessLog: AccessLogDecoderOptions;
}

/** Rejects of one record, seen as they are counted: the first tells the record is poison and why. */
class RecordRejects extends Tally {
  private _first: { reason: string; detail: string } | undefined;
  constructor(private readonly _into: Tally) {
    super();
  }
  override add(reason: string, location: Parameters<Tally['add']>[1], detail = ''): void {
    this._first ??= { reason, detail };
    this._into.add(reason, location, detail);
  }
  /** The first reject since the last call, if any. */
  takeFirst(): { reason: string; detail: string } | undefined {
    const f = this._first;
    this._first = undefined;
    return f;
  }
}

/**
 * One chunk of a partition's records, in offset order, into `sinks`: flows (spans joined within
 * the chunk), counted skips and rejects, and the poison records and waiting spans returned.
 */
export function readTopicChunk(format: TopicFormat, topic: string, partition: number, records: readonly TopicRecord[], options: TopicReadOptions, sinks: FlowSinks): TopicChunkResult {
  const poison: PoisonRecord[] = [];
  const recordRejects = new RecordRejects(sinks.rejects);
  const recordSinks: FlowSinks = { ...sinks, rejects: recordRejects };
  const spans: Span[] = [];
  // The access-log decoder keeps CRI partial records between lines: one per chunk, so that no
  // state outlives the chunk's transaction. Its locations read `kafka:TOPIC/PARTITION:OFFSET`.
  const accessLog = format === 'access-log' ? new AccessLogDecoder(options.accessLog, recordSinks) : undefined;
  accessLog?.beginFile(`kafka:${topic}/${partition}`, { layout: 'unknown' });

  for (const r of records) {
    const location: TopicLocation = { topic, partition, offset: r.offset };
    if (r.value === null || r.value.length === 0) {
      sinks.skips.add('empty-record', location);
      continue;
    }
    if (r.value.length > options.maxRecordBytes) {
      const detail = `${r.value.length} bytes; the limit is ${options.maxRecordBytes} (--max-record-bytes)`;
      sinks.rejects.add('record-too-large', location, detail);
      poison.push({ offset: r.offset, reason: 'record-too-large', detail });
      continue;
    }
    recordRejects.takeFirst();
    if (format === 'access-log') readAccessLogRecord(accessLog!, r);
    else if (format === 'hubble') readHubbleRecord(r.value, location, recordSinks);
    // Spans rejected inside a readable request are counted, not poison (as collect's partial success): outer sinks.
    else {
      const batch = readTraceRecord(format, r.value, location, sinks, recordRejects);
      if (batch !== undefined) spans.push(...batch.spans.map(heldPart));
    }
    const first = recordRejects.takeFirst();
    if (first !== undefined) poison.push({ offset: r.offset, ...first });
  }
  if (accessLog !== undefined) accessLog.endFile();

  let waitingSpans: Span[] = [];
  if (spans.length > 0) {
    // No clock inside a chunk: every span waits until the chunk ends, then travels on unjoined.
    const joiner = new SpanJoiner(
      { maxPending: Number.MAX_SAFE_INTEGER, maxWaitMs: Number.POSITIVE_INFINITY, decoder: format === 'otlp_proto' ? 'otlp-proto' : 'otlp-json', now: () => 0 },
      { flow: (f: Flow) => sinks.flow({ ...f, endpointKey: endpointKeyOf(f) }), rejects: sinks.rejects, skips: sinks.skips },
    );
    joiner.addBatch(spans);
    waitingSpans = joiner.pendingSpans();
  }
  return { records: records.length, poison, waitingSpans };
}

/** A record of raw access-log lines (or collector JSON records), one entry a line. */
function readAccessLogRecord(decoder: AccessLogDecoder, r: TopicRecord): void {
  const text = r.value!.toString('utf8');
  // The record's offset is its "line" in locations; a record of several lines shares it.
  const line = Number(r.offset);
  for (const l of text.split('\n')) {
    const trimmed = l.endsWith('\r') ? l.slice(0, -1) : l;
    if (trimmed.trim() === '') continue;
    decoder.line(trimmed, line);
  }
}

function readHubbleRecord(value: Buffer, location: TopicLocation, sinks: FlowSinks): void {
  const text = value.toString('utf8');
  let obj: unknown;
  try {
    obj = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    sinks.rejects.add('malformed-hubble-json', location, `${(err as Error).message}: ${excerpt(text)}`);
    return;
  }
  deliver(decodeHubbleRecord(obj, location), location, sinks);
}

/** An OTLP ExportTraceServiceRequest, protobuf or JSON: its spans, or undefined when rejected whole. */
function readTraceRecord(format: 'otlp_proto' | 'otlp_json', value: Buffer, location: TopicLocation, sinks: FlowSinks, recordRejects: Tally): TraceBatch | undefined {
  let d: Decoded<TraceBatch>;
  if (format === 'otlp_proto') d = decodeOtlpProto(value, location);
  else {
    let doc: unknown;
    try {
      doc = JSON.parse(value.toString('utf8'));
    } catch (err) {
      recordRejects.add('malformed-otlp-json', location, `${(err as Error).message}: ${excerpt(value.subarray(0, 200).toString('utf8'))}`);
      return undefined;
    }
    d = decodeOtlpJson(doc, location);
  }
  if (d.kind === 'reject') {
    recordRejects.add(d.reason, location, d.detail);
    return undefined;
  }
  if (d.kind === 'skip') {
    sinks.skips.add(d.reason, location);
    return undefined;
  }
  for (const r of d.value.rejected) sinks.rejects.add(r.reason, location, `${r.at}: ${r.detail}`);
  for (const n of d.value.notes) sinks.skips.add(`span-repaired-${n.reason}`, location, `${n.at}: ${n.detail}`);
  return d.value;
}
