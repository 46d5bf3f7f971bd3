// OTLP protobuf traces → Span: one ExportTraceServiceRequest (an OTLP/HTTP or gRPC body), or one
// TracesData message of the Collector's file exporter (`format: proto`). The two messages have
// the same wire form (`repeated ResourceSpans resource_spans = 1`), so one decoder reads both.
//
// Wire parsing is protobufjs over the OpenTelemetry protocol's own definitions (otlp-messages.ts),
// never ours.
// The decoded message is turned into its protobuf-JSON object (ids as base64, int64 as decimal
// strings, enums as numbers) and read by the OTLP/JSON decoder, which accepts exactly those
// encodings: one reader of OTLP's fields, so a span decodes the same whichever encoding carried it.

import type { Location } from '../../errors.js';
import { ExportTraceServiceRequest as Request } from './otlp-messages.js';
import { decodeOtlpJson } from './otlp-json.js';
import { reject, type Decoded } from './result.js';
import type { TraceBatch } from './trace-fields.js';

/** protobufjs's toObject options for the OTLP/JSON reader: int64 as exact decimal strings, bytes as base64, enums as numbers, no default values. */
const AS_JSON = { longs: String, bytes: String, enums: Number, defaults: false, oneofs: false } as const;

export function decodeOtlpProto(body: Uint8Array, location: Location): Decoded<TraceBatch> {
  let message: unknown;
  try {
    message = Request.toObject(Request.decode(body), AS_JSON);
  } catch (err) {
    // protobufjs throws on truncated input, a wrong wire type for a known field, invalid UTF-8 length…
    return reject('malformed-otlp-protobuf', `${body.length} bytes are no OTLP ExportTraceServiceRequest (traces; OTLP metrics or logs are not read here): ${(err as Error).message}`);
  }
  // An empty message (no resource_spans) decodes to {}: the JSON reader wants the field.
  const doc = message as { resourceSpans?: unknown };
  return decodeOtlpJson(doc.resourceSpans === undefined ? { resourceSpans: [] } : doc, location);
}
