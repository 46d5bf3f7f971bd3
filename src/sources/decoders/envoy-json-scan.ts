// Istio's JSON access-log encoding (envoy-json.ts), read from bytes without JSON.parse.
//
// Only a flat object in a strict form is taken: printable ASCII, no backslash escape
// anywhere, spaces as the only whitespace, scalar values, no `kubernetes` envelope, none of
// the fields ztmap reads given twice, and each of them of the type envoy-json.ts accepts.
// Such a line is valid JSON, and JSON.parse would give each field these very bytes, so the
// string decoder reads it the same way. Anything else returns false and goes to JSON.parse.

import { FNV_OFFSET, FNV_PRIME } from '../../flow/byte-keys.js';
import * as F from './field-offsets.js';
import { clearFields, setField, type FieldOffsets } from './field-offsets.js';

const QUOTE = 34;
const SPACE = 32;

// What a key is to the scanner: a field with offsets (0…), or one of these.
const CODE_KEY = 100;
/** Read by envoy-json.ts only to check it is a string or null. */
const STRING_KEY = 101;
const ENVELOPE_KEY = 102;
const OTHER_KEY = -1;

const KEYS: [string, number][] = [
  ['start_time', F.START],
  ['method', F.METHOD],
  ['path', F.PATH],
  ['protocol', F.PROTOCOL],
  ['authority', F.AUTHORITY],
  ['upstream_host', F.UPSTREAM_HOST],
  ['upstream_cluster', F.CLUSTER],
  ['upstream_local_address', F.UPSTREAM_LOCAL],
  ['downstream_local_address', F.DOWNSTREAM_LOCAL],
  ['downstream_remote_address', F.DOWNSTREAM_REMOTE],
  ['requested_server_name', F.SNI],
  ['response_code', CODE_KEY],
  ['response_flags', F.FLAGS],
  ['response_code_details', F.DETAILS],
  ['user_agent', STRING_KEY],
  ['request_id', STRING_KEY],
  ['route_name', STRING_KEY],
  ['x_forwarded_for', STRING_KEY],
  ['kubernetes', ENVELOPE_KEY],
];

const KEY_SLOTS = 128;
/** Open addressing by key hash: slot → index into KEYS + 1, 0 when empty. */
const keySlots = new Int32Array(KEY_SLOTS);
const keyCodes = KEYS.map(([k]) => Uint8Array.from(k, (c) => c.charCodeAt(0)));
KEYS.forEach(([k], index) => {
  let h = FNV_OFFSET;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), FNV_PRIME);
  let slot = h & (KEY_SLOTS - 1);
  while (keySlots[slot] !== 0) slot = (slot + 1) & (KEY_SLOTS - 1);
  keySlots[slot] = index + 1;
});

function keyOf(b: Uint8Array, start: number, end: number, h: number): number {
  for (let slot = h & (KEY_SLOTS - 1); ; slot = (slot + 1) & (KEY_SLOTS - 1)) {
    const index = keySlots[slot]! - 1;
    if (index < 0) return OTHER_KEY;
    const k = keyCodes[index]!;
    if (k.length !== end - start) continue;
    let same = true;
    for (let i = 0; i < k.length; i++) {
      if (b[start + i] !== k[i]) {
        same = false;
        break;
      }
    }
    if (same) return KEYS[index]![1];
  }
}

/** End of a string's content from `i` (after its opening quote): at the closing quote; -1 on an escape or a byte outside printable ASCII. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c < 32 || c > 126 || c === 92 /* \ */) return -1;
    i++;
  }
  return -1;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/** End of a JSON number at `i`, by RFC 8259's grammar; -1 when it is not one. */
function numberEnd(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 45 /* - */) i++;
  if (b[i] === 48 /* 0 */) i++;
  else if (isDigit(b[i])) while (i < end && isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 46 /* . */) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (i < end && isDigit(b[i])) i++;
  }
  if (b[i] === 101 || b[i] === 69 /* e E */) {
    i++;
    if (b[i] === 43 || b[i] === 45) i++;
    if (!isDigit(b[i])) return -1;
    while (i < end && isDigit(b[i])) i++;
  }
  return i > end ? -1 : i;
}

function literalEnd(b: Uint8Array, i: number, end: number, word: string): number {
  if (end - i < word.length) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

function skipSpaces(b: Uint8Array, i: number, end: number): number {
  while (i < end && b[i] === SPACE) i++;
  return i;
}

/** Fills `offsets` from the JSON line `b[start, end)`; false when the line is not in the strict form. */
export function scanEnvoyJson(b: Uint8Array, start: number, end: number, offsets: FieldOffsets): boolean {
  clearFields(offsets);
  if (b[start] !== 123 /* { */) return false;
  let seen = 0; // bits: fields and the response code, each allowed once
  let envoy = false; // upstream_cluster or downstream_remote_address present, as isEnvoyJson asks
  let i = skipSpaces(b, start + 1, end);
  for (;;) {
    if (b[i] !== QUOTE) return false;
    // The key, hashed as it is scanned.
    const ks = i + 1;
    let h = FNV_OFFSET;
    i = ks;
    while (i < end) {
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c < 32 || c > 126 || c === 92) return false;
      h = Math.imul(h ^ c, FNV_PRIME);
      i++;
    }
    if (i >= end) return false;
    const key = keyOf(b, ks, i, h);
    i = skipSpaces(b, i + 1, end);
    if (b[i] !== 58 /* : */) return false;
    i = skipSpaces(b, i + 1, end);
    if (key === ENVELOPE_KEY) return false;
    if (key === F.CLUSTER || key === F.DOWNSTREAM_REMOTE) envoy = true;
    if (key >= 0 && key !== STRING_KEY) {
      const bit = 1 << (key === CODE_KEY ? 31 : key);
      if ((seen & bit) !== 0) return false;
      seen |= bit;
    }
    // The value.
    const c = b[i];
    let ve: number;
    if (c === QUOTE) {
      ve = stringEnd(b, i + 1, end);
      if (ve < 0) return false;
      if (key === CODE_KEY) {
        const n = ve - i - 1;
        if (n === 1 && b[i + 1] === 45) offsets[F.RESPONSE_CODE] = 0;
        else if (n >= 1 && n <= 3) {
          let code = 0;
          for (let k = i + 1; k < ve; k++) {
            if (!isDigit(b[k])) return false;
            code = code * 10 + (b[k]! - 48);
          }
          offsets[F.RESPONSE_CODE] = code;
        } else return false;
      } else if (key >= 0 && key < CODE_KEY) setField(offsets, key, i + 1, ve);
      ve++;
    } else if (c === 110 /* n */) {
      ve = literalEnd(b, i, end, 'null');
      if (ve < 0) return false;
    } else if (key >= 0 && key !== CODE_KEY) {
      return false; // a field envoy-json.ts wants as a string or null
    } else if (c === 116 /* t */ || c === 102 /* f */) {
      if (key === CODE_KEY) return false;
      ve = literalEnd(b, i, end, c === 116 ? 'true' : 'false');
      if (ve < 0) return false;
    } else {
      ve = numberEnd(b, i, end);
      if (ve < 0) return false;
      if (key === CODE_KEY) {
        // A non-negative integer, written as digits only (2e2 and 200.0 go to JSON.parse).
        if (ve - i > 9 || b[i] === 45) return false;
        let code = 0;
        for (let k = i; k < ve; k++) {
          if (!isDigit(b[k])) return false;
          code = code * 10 + (b[k]! - 48);
        }
        offsets[F.RESPONSE_CODE] = code;
      }
    }
    i = skipSpaces(b, ve, end);
    if (b[i] === 44 /* , */) {
      i = skipSpaces(b, i + 1, end);
      continue;
    }
    if (b[i] !== 125 /* } */) return false;
    return envoy && skipSpaces(b, i + 1, end) === end;
  }
}
