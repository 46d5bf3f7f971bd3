// Istio's default TEXT format (the >= 1.9 form, envoy-text.ts), read from bytes.
//
//   [START] "METHOD PATH PROTOCOL" CODE FLAGS DETAILS TERMINATION "FAILURE" RECEIVED SENT
//   DURATION SERVICE_TIME "XFF" "USER_AGENT" "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST" CLUSTER
//   UPSTREAM_LOCAL DOWNSTREAM_LOCAL DOWNSTREAM_REMOTE SNI [ROUTE]
//
// Only a line in a strict form is taken: printable ASCII, single spaces, no quote inside any
// field, 1–9 digits of response code, five or six fields after the last quote. In that form
// the 14 quotes are the structural ones, so envoy-text.ts's expression can only split the
// line the same way (its lazy and greedy quoted groups have one place to end). Anything else,
// the legacy formats included, returns false and goes to that expression.

import * as F from './field-offsets.js';
import { clearFields, setField, type FieldOffsets } from './field-offsets.js';

const SPACE = 32;
const QUOTE = 34;
/** The fields after the last quote, in order (ROUTE, when there, is not read). */
const TAIL = [F.CLUSTER, F.UPSTREAM_LOCAL, F.DOWNSTREAM_LOCAL, F.DOWNSTREAM_REMOTE, F.SNI];

/** End of an unquoted field at `i`: a run of printable, non-space, non-quote bytes; -1 if empty or bad. */
function bare(b: Uint8Array, i: number, end: number): number {
  const s = i;
  while (i < end) {
    const c = b[i]!;
    if (c === SPACE) break;
    if (c < 33 || c > 126 || c === QUOTE) return -1;
    i++;
  }
  return i === s ? -1 : i;
}

/** End of a quoted field's content starting after its opening quote at `i`: at the closing quote; -1 if bad. */
function quoted(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c < 32 || c > 126) return -1;
    i++;
  }
  return -1;
}

/** Fills `offsets` from the TEXT line `b[start, end)`; false when the line is not in the strict form. */
export function scanEnvoyText(b: Uint8Array, start: number, end: number, offsets: FieldOffsets): boolean {
  clearFields(offsets);
  if (b[start] !== 91 /* [ */) return false;
  let i = start + 1;
  while (i < end && b[i] !== 93 /* ] */) {
    const c = b[i]!;
    if (c < 32 || c > 126 || c === QUOTE) return false;
    i++;
  }
  if (i === start + 1 || i + 2 >= end || b[i + 1] !== SPACE || b[i + 2] !== QUOTE) return false;
  setField(offsets, F.START, start + 1, i);
  i += 3;
  // "METHOD PATH PROTOCOL"
  let e = bare(b, i, end);
  if (e < 0 || b[e] !== SPACE) return false;
  setField(offsets, F.METHOD, i, e);
  i = e + 1;
  e = bare(b, i, end);
  if (e < 0 || b[e] !== SPACE) return false;
  setField(offsets, F.PATH, i, e);
  i = e + 1;
  e = i;
  while (e < end && b[e] !== QUOTE) {
    const c = b[e]!;
    if (c < 33 || c > 126) return false;
    e++;
  }
  if (e === i || e + 1 >= end || b[e + 1] !== SPACE) return false;
  setField(offsets, F.PROTOCOL, i, e);
  i = e + 2;
  // CODE, digits only
  let code = 0;
  e = i;
  while (e < end && b[e]! >= 48 && b[e]! <= 57) code = code * 10 + (b[e++]! - 48);
  if (e === i || e - i > 9 || b[e] !== SPACE) return false;
  offsets[F.RESPONSE_CODE] = code;
  i = e + 1;
  // FLAGS DETAILS TERMINATION
  for (let n = 0; n < 3; n++) {
    e = bare(b, i, end);
    if (e < 0 || b[e] !== SPACE) return false;
    if (n === 0) setField(offsets, F.FLAGS, i, e);
    else if (n === 1) setField(offsets, F.DETAILS, i, e);
    i = e + 1;
  }
  // "FAILURE"
  if (b[i] !== QUOTE) return false;
  e = quoted(b, i + 1, end);
  if (e < 0 || b[e + 1] !== SPACE) return false;
  i = e + 2;
  // RECEIVED SENT DURATION SERVICE_TIME
  for (let n = 0; n < 4; n++) {
    e = bare(b, i, end);
    if (e < 0 || b[e] !== SPACE) return false;
    i = e + 1;
  }
  // "XFF" "USER_AGENT" "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST"
  for (let n = 0; n < 5; n++) {
    if (b[i] !== QUOTE) return false;
    e = quoted(b, i + 1, end);
    if (e < 0 || e + 1 >= end || b[e + 1] !== SPACE) return false;
    if (n === 3) setField(offsets, F.AUTHORITY, i + 1, e);
    else if (n === 4) setField(offsets, F.UPSTREAM_HOST, i + 1, e);
    i = e + 2;
  }
  // CLUSTER UPSTREAM_LOCAL DOWNSTREAM_LOCAL DOWNSTREAM_REMOTE SNI [ROUTE], to the end
  for (let n = 0; ; n++) {
    e = bare(b, i, end);
    if (e < 0 || n === 6) return false;
    if (n < 5) setField(offsets, TAIL[n]!, i, e);
    if (e === end) return n >= 4;
    i = e + 1;
  }
}
