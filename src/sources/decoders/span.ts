// One span, as every trace format gives it (OTLP, Jaeger, Zipkin): what the trace decoders share
// and what the span joiner (sources/span-edges.ts) turns into flows. Attribute values are kept
// as the exporter wrote them: untrusted claims, checked by the resolver like any other.

import type { Location } from '../../errors.js';

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export type AttributeValue = string | number | boolean;

/** An address a format names for one side of a span (Zipkin's endpoints, Jaeger's process tags). */
export interface SpanEndpoint {
  serviceName?: string;
  ip?: string;
  port?: number;
}

export interface Span {
  /** Lowercase hex, as OTLP JSON and Jaeger write it (Zipkin's 16- or 32-digit ids as they are). */
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  /** Epoch milliseconds. */
  start: number;
  end?: number;
  /** Resource attributes (`service.name`, `k8s.namespace.name`, `k8s.pod.name`, `k8s.deployment.name`…); Jaeger's process tags. */
  resource: Readonly<Record<string, AttributeValue>>;
  /** Span attributes (`http.route`, `server.address`, `rpc.service`, `messaging.destination.name`…); Zipkin's tags. */
  attributes: Readonly<Record<string, AttributeValue>>;
  status: 'unset' | 'ok' | 'error';
  /** Zipkin: a SERVER span that shares its CLIENT's span id (the Zipkin model, not a duplicate). */
  shared?: boolean;
  local?: SpanEndpoint;
  remote?: SpanEndpoint;
  location: Location;
}
