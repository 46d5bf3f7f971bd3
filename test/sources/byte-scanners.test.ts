// The byte scanners may take fewer lines than the string decoders, never read one otherwise:
// every line a scanner takes must give each field exactly what envoy-text.ts / envoy-json.ts
// give it. Lines are generated around the shapes that tell the two apart (quotes and spaces
// inside fields, dashes, escapes, non-ASCII, number forms, duplicate keys, envelopes).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEnvoyJson, isEnvoyJson } from '../../src/sources/decoders/envoy-json.js';
import { scanEnvoyJson } from '../../src/sources/decoders/envoy-json-scan.js';
import { decodeEnvoyText } from '../../src/sources/decoders/envoy-text.js';
import { scanEnvoyText } from '../../src/sources/decoders/envoy-text-scan.js';
import { CLIENT_JSON, CLIENT_LINE, LEGACY_1_3_LINE, LEGACY_1_6_LINE, RBAC_DENIED_LINE, SERVER_JSON, SERVER_JSON_STRINGS, SERVER_LINE, TCP_LINE } from '../support/sample-mesh.js';
import { decodedFields, scanned } from '../support/scan.js';

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
        // Rejected for what the fields say, not how they are written: the offsets say it too.
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

  it('takes lines in the current formats, and reads them as the decoders do (published samples: test/conformance/)', () => {
    for (const line of [CLIENT_LINE, SERVER_LINE, TCP_LINE]) {
      const slow = decodeEnvoyText(line);
      assert.ok(slow.kind === 'ok');
      assert.deepEqual(scanned(line, scanEnvoyText), decodedFields(slow.value));
    }
    for (const record of [CLIENT_JSON, SERVER_JSON, SERVER_JSON_STRINGS]) {
      const line = JSON.stringify(record);
      const slow = decodeEnvoyJson(record);
      assert.ok(slow.kind === 'ok');
      assert.deepEqual(scanned(line, scanEnvoyJson), decodedFields(slow.value));
    }
    // Refused and failed requests too: their flags and details are read as the decoder reads them.
    const slow = decodeEnvoyText(RBAC_DENIED_LINE);
    assert.ok(slow.kind === 'ok');
    const fast = scanned(RBAC_DENIED_LINE, scanEnvoyText);
    assert.deepEqual(fast, decodedFields(slow.value));
    assert.equal(fast?.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
    // The 1.3–1.8 formats are left to the expression.
    for (const legacy of [LEGACY_1_3_LINE, LEGACY_1_6_LINE]) {
      assert.equal(decodeEnvoyText(legacy).kind, 'ok');
      assert.equal(scanned(legacy, scanEnvoyText), undefined);
    }
  });
});
