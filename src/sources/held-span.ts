// What of a span is kept while it waits for its partner: in a receiver's memory and checkpoint
// (`ztmap collect`), and in the partial aggregates Kafka collectors pass to the materializer
// (`ztmap consume`). Exactly the attributes the joiner reads, each bounded, raw paths as an
// exemplar of their template: no header, body, id or token is held, written or published.

import { exemplarPath } from '../flow/path-template.js';
import type { Span } from './decoders/span.js';
import { SPAN_KEYS_READ } from './span-edges.js';

/** The longest value a waiting span keeps: a host, an address, a route; longer is a sender's noise. */
const MAX_HELD_VALUE = 1024;
const URL_KEYS = new Set(['url.full', 'http.url']);
const PATH_KEYS = new Set(['http.target', 'url.path', 'http.path']);
// gRPC instrumentations name their spans `pkg.Service/Method`: the one use the joiner has for a name.
const GRPC_NAME = /^[\w.]+\/\w+$/;

/**
 * The part of a span that waits for its partner, in memory and in the checkpoint: exactly the
 * attributes the joiner reads (span-edges.ts, SPAN_KEYS_READ), each value bounded, raw paths
 * as an exemplar of their template (`/reset/eyJ…` → `/reset/<a dummy token>`), and the name
 * only when it names a gRPC method: no header, body, id or token is held or written, and a
 * sender's many attributes cannot push out the ones that name its workload.
 */
export function heldPart(span: Span): Span {
  return { ...span, name: GRPC_NAME.test(span.name) ? span.name : '', resource: held(span.resource), attributes: held(span.attributes) };
}

function held(attrs: Span['attributes']): Record<string, Span['attributes'][string]> {
  const out: Record<string, Span['attributes'][string]> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (!SPAN_KEYS_READ.has(k)) continue;
    let value: Span['attributes'][string] | undefined = v;
    if (typeof v === 'string') {
      value = URL_KEYS.has(k) || PATH_KEYS.has(k) ? exemplarUrl(v, URL_KEYS.has(k)) : v;
      if (value !== undefined && value.length > MAX_HELD_VALUE) value = undefined;
    }
    if (value === undefined) continue;
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A URL (or a path) with its path replaced by its exemplar; undefined when there is none. */
function exemplarUrl(v: string, url: boolean): string | undefined {
  if (!url) return v.startsWith('/') ? exemplarPath(v) : undefined;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)([\s\S]*)$/.exec(v);
  if (m === null) return v.startsWith('/') ? exemplarPath(v) : undefined;
  if (m[2] === '') return m[1];
  // Without an exemplar the path goes, never the host and port the callee is found by.
  return m[1]! + (exemplarPath(m[2]!) ?? '');
}
