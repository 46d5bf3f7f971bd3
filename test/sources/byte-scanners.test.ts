// The byte scanners may take fewer lines than the string decoders, never read one otherwise:
// every line a scanner takes must give each field exactly what envoy-text.ts / envoy-json.ts
// give it. Lines are generated around the shapes that tell the two apart (quotes and spaces
// inside fields, dashes, escapes, non-ASCII, number forms, duplicate keys, envelopes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { dash, type AccessLogEntry } from '../../src/sources/decoders/access-log-entry.js';
import { decodeEnvoyJson, isEnvoyJson } from '../../src/sources/decoders/envoy-json.js';
import { scanEnvoyJson } from '../../src/sources/decoders/envoy-json-spans.js';
import { decodeEnvoyText } from '../../src/sources/decoders/envoy-text.js';
import { scanEnvoyText } from '../../src/sources/decoders/envoy-text-spans.js';
import * as S from '../../src/sources/decoders/spans.js';
import { REFERENCE } from '../support/paths.js';

const FIELDS: [number, keyof AccessLogEntry][] = [
  [S.START, 'startTime'],
  [S.METHOD, 'method'],
  [S.PATH, 'path'],
  [S.PROTOCOL, 'protocol'],
  [S.AUTHORITY, 'authority'],
  [S.UPSTREAM_HOST, 'upstreamHost'],
  [S.CLUSTER, 'upstreamCluster'],
  [S.UPSTREAM_LOCAL, 'upstreamLocalAddress'],
  [S.DOWNSTREAM_LOCAL, 'downstreamLocalAddress'],
  [S.DOWNSTREAM_REMOTE, 'downstreamRemoteAddress'],
  [S.SNI, 'requestedServerName'],
  [S.FLAGS, 'responseFlags'],
  [S.DETAILS, 'responseCodeDetails'],
];

/** What a scanner read, as the entry fields it stands for. */
function scanned(line: string, scan: typeof scanEnvoyText): Partial<AccessLogEntry> | undefined {
  // The line sits inside a larger buffer, newline after it, as the framing passes it.
  const buf = Buffer.from('xx\n' + line + '\nyy', 'utf8');
  const start = 3;
  const end = buf.length - 3;
  const spans = S.newSpans();
  if (!scan(buf, start, end, spans)) return undefined;
  S.dropDashes(buf, spans);
  const out: Partial<AccessLogEntry> = { responseCode: spans[S.RESPONSE_CODE]! };
  for (const [f, name] of FIELDS) {
    const text = S.spanText(buf, spans, f);
    if (text !== undefined) (out as Record<string, unknown>)[name] = text;
  }
  return out;
}

function decodedFields(entry: AccessLogEntry): Partial<AccessLogEntry> {
  const out: Partial<AccessLogEntry> = { responseCode: entry.responseCode };
  // envoy-text.ts keeps a `-` start time as written; parseTimestamp makes it undefined all the same.
  const e = { ...entry, startTime: dash(entry.startTime) };
  for (const [, name] of FIELDS) if (e[name] !== undefined) (out as Record<string, unknown>)[name] = e[name];
  return out;
}

// Field text: mostly plain, now and then with what tells the readings apart (dashes,
// empties, spaces, quotes, brackets, escapes, non-ASCII, control bytes).
const plain = fc.stringMatching(/^[a-z0-9.:/|_-]{1,12}$/);
const odd = fc.constantFrom('-', '', ' ', '"', ']', '[', '\\', 'é', '\t', '\u00a0', 'a b', '"x"', '{', '}', 'P', '\r', '-"', '" "');
const field = fc.oneof({ weight: 30, arbitrary: plain }, { weight: 1, arbitrary: fc.tuple(plain, odd, plain).map((p) => p.join('')) }, { weight: 1, arbitrary: odd });
const time = fc.oneof(fc.constant('2020-11-25T21:26:18.409Z'), field);

const textLine = fc
  .record({
    start: time,
    method: fc.oneof(fc.constantFrom('GET', 'POST', '-'), field),
    path: fc.oneof(fc.constantFrom('/status/418', '/a?b=1', '-'), field),
    protocol: fc.oneof(fc.constantFrom('HTTP/1.1', 'HTTP/2', '-'), field),
    code: fc.oneof(fc.constantFrom('200', '0', '0418', '1234567890'), field),
    mid: fc.tuple(fc.oneof(fc.constantFrom('-', 'UH', 'UF,URX', 'NR'), field), fc.oneof(fc.constantFrom('via_upstream', 'rbac_access_denied_matched_policy[none]', '-'), field), field),
    legacy: fc.boolean(),
    failure: field,
    counts: fc.array(field, { minLength: 4, maxLength: 4 }),
    quoted: fc.array(field, { minLength: 5, maxLength: 5 }),
    tail: fc.array(field, { minLength: 4, maxLength: 7 }),
  })
  .map((r) => {
    const head = `[${r.start}] "${r.method} ${r.path} ${r.protocol}" ${r.code} `;
    const middle = r.legacy ? `${r.mid[0]} "${r.failure}" ` : `${r.mid.join(' ')} "${r.failure}" `;
    return head + middle + r.counts.join(' ') + ' ' + r.quoted.map((q) => `"${q}"`).join(' ') + ' ' + r.tail.join(' ');
  });

describe('byte scanners', () => {
  it('property: a TEXT line the scanner takes decodes to the same fields', () => {
    let taken = 0;
    fc.assert(
      fc.property(textLine, (line) => {
        const fast = scanned(line, scanEnvoyText);
        if (fast === undefined) return;
        taken++;
        const slow = decodeEnvoyText(line);
        assert.equal(slow.kind, 'ok', line);
        if (slow.kind === 'ok') assert.deepEqual(fast, decodedFields(slow.value), line);
      }),
      { seed: 7, numRuns: 3000 },
    );
    assert.ok(taken > 100, `only ${taken} lines taken: the property says little`);
  });

  const JSON_KEYS = ['start_time', 'method', 'path', 'protocol', 'response_code', 'authority', 'upstream_host', 'upstream_cluster', 'upstream_local_address', 'downstream_local_address', 'downstream_remote_address', 'requested_server_name', 'response_flags', 'response_code_details', 'route_name', 'x_forwarded_for', 'user_agent', 'request_id', 'kubernetes', 'duration', 'log'];
  // Raw JSON value texts, valid or not: JSON.parse is the judge.
  const jsonValue = fc.oneof(
    { weight: 5, arbitrary: field.map((s) => JSON.stringify(s)) },
    { weight: 1, arbitrary: fc.constantFrom('null', 'true', 'false', '200', '0', '-1', '2e2', '200.0', '0123', '1.', '-', '"-"', '"200"', '"2000"', '"\\u0041"', '{}', '[]', '{"a":1}', '"a\\"b"', '12345678901') },
  );
  const jsonLine = fc
    .record({
      pairs: fc.array(fc.tuple(fc.constantFrom(...JSON_KEYS), jsonValue, fc.constantFrom('', ' ', '  ')), { minLength: 0, maxLength: 14 }),
      trail: fc.constantFrom('', '', ' ', ',', 'x', '\t'),
    })
    .map(({ pairs, trail }) => '{' + pairs.map(([k, v, sp]) => `${sp}"${k}"${sp}:${sp}${v}${sp}`).join(',') + '}' + trail);

  it('property: a JSON line the scanner takes parses, is an Envoy entry, and decodes to the same fields', () => {
    let taken = 0;
    fc.assert(
      fc.property(jsonLine, (line) => {
        const fast = scanned(line, scanEnvoyJson);
        if (fast === undefined) return;
        taken++;
        const obj = JSON.parse(line) as Record<string, unknown>;
        assert.ok(isEnvoyJson(obj) && !('kubernetes' in obj), line);
        const slow = decodeEnvoyJson(obj);
        // Rejected for what the fields say, not how they are written: the spans say it too.
        if (slow.kind === 'reject' && slow.reason === 'missing-field') {
          assert.ok(fast.upstreamCluster === undefined && fast.downstreamLocalAddress === undefined, line);
          return;
        }
        assert.equal(slow.kind, 'ok', line);
        if (slow.kind === 'ok') assert.deepEqual(fast, decodedFields(slow.value), line);
      }),
      { seed: 7, numRuns: 4000 },
    );
    assert.ok(taken > 100, `only ${taken} lines taken: the property says little`);
  });

  it('takes the published Istio samples in the current formats, and reads them as the decoders do', () => {
    const text = readFileSync(join(REFERENCE, 'telemetry', 'istio-access-log-text.log'), 'utf8').split('\n').filter(Boolean);
    const json = readFileSync(join(REFERENCE, 'telemetry', 'istio-access-log-json.jsonl'), 'utf8').split('\n').filter(Boolean);
    for (const line of text) {
      const slow = decodeEnvoyText(line);
      assert.ok(slow.kind === 'ok');
      assert.deepEqual(scanned(line, scanEnvoyText), decodedFields(slow.value));
    }
    for (const line of json) {
      const slow = decodeEnvoyJson(JSON.parse(line));
      assert.ok(slow.kind === 'ok');
      assert.deepEqual(scanned(line, scanEnvoyJson), decodedFields(slow.value));
    }
    // Refused and failed requests too: their flags and details are read as the decoder reads them.
    for (const line of readFileSync(join(REFERENCE, 'telemetry', 'istio-access-log-rbac-denied.log'), 'utf8').split('\n').filter(Boolean)) {
      const slow = decodeEnvoyText(line);
      assert.ok(slow.kind === 'ok');
      const fast = scanned(line, scanEnvoyText);
      assert.deepEqual(fast, decodedFields(slow.value));
      assert.equal(fast?.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
    }
    // The 1.3–1.8 formats are left to the expression.
    const legacy = readFileSync(join(REFERENCE, 'telemetry', 'istio-access-log-text-variants.log'), 'utf8').split('\n')[1]!;
    assert.equal(decodeEnvoyText(legacy).kind, 'ok');
    assert.equal(scanned(legacy, scanEnvoyText), undefined);
  });
});
