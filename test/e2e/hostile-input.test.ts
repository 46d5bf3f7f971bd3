// @e2e: hostile telemetry and inventory through the real binary (docs/architecture.md, "Untrusted input"). A workload
// controls its own paths and names: what each output may carry of them is asserted per output.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ztmap, tempDir } from '../support/cli.js';
import { MESH, SERVER_JSON, CLIENT_JSON, writeSampleInventory } from '../support/sample-mesh.js';

const BIDI = '\u202E';
const ESC = '\u001b';
/** A pod name no API server would accept, as a compromised or hand-edited dump may hold. */
const EVIL = `evil${BIDI}gpj.exe${ESC}[31m`;
const EVIL_IP = '10.61.4.44';
/** Secrets in matrix parameters, and in an unrecognised line. */
const SECRETS = ['jsessionid', '0A1B2C3D4E5F6A7B8C9D0E1F', 's3cr3tT0k3nValue', 'eyJhbGciOiJIUzI1NiJ9', 'c2lnbmF0dXJlX3NlY3JldA', 'Zx81kQpW'];
const MATRIX_PATH = '/cart;jsessionid=0A1B2C3D4E5F6A7B8C9D0E1F/items;token=s3cr3tT0k3nValue';
/** A refused request whose path tries to leave its Markdown table cell and to drive the terminal. */
const HOSTILE_PATH = `/cart/${BIDI}gnp.exe\r\n| injected | row |\n${ESC}[2J${ESC}]0;pwned\u0007`;
/** Raw characters that may hide or reorder text: none may reach an output meant for people. */
const HIDING = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('hostile input through observe, propose and verify @e2e', () => {
  it('drops matrix parameters, masks secrets in excerpts, escapes names for people and keeps graph.json lossless', () => {
    const dir = tempDir();
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const inv = writeSampleInventory(dir, [{ name: EVIL, ip: EVIL_IP, app: 'evil' }]);
    const json = (o: Record<string, unknown>) => JSON.stringify(o);
    writeFileSync(
      join(logs, 'cart.log'),
      [
        json({ ...SERVER_JSON, path: MATRIX_PATH }),
        json({ ...CLIENT_JSON, path: MATRIX_PATH }),
        json({ ...SERVER_JSON, path: '/cart%3Bjsessionid=0A1B2C3D4E5F6A7B8C9D0E1F/items' }),
        json({ ...SERVER_JSON, method: 'POST', path: HOSTILE_PATH, response_code: 403, response_code_details: 'rbac_access_denied_matched_policy[none]', upstream_host: null, upstream_cluster: 'inbound|8080||' }),
        json({ ...SERVER_JSON, downstream_remote_address: `${EVIL_IP}:5555`, requested_server_name: null }),
      ].join('\n') + '\n',
    );
    // A file name that tries to reorder and colour the summary, holding lines that are no access log.
    const badName = `rej${BIDI}gol.txt${ESC}[1m.log`;
    writeFileSync(
      join(logs, badName),
      'GET /admin HTTP/1.1 Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlX3NlY3JldA\n' +
        'POST /login HTTP/1.1 Cookie: session=Zx81kQpW; password=Zx81kQpW\n' +
        `${ESC}]0;pwned\u0007${BIDI}txet\n`,
    );
    const out = join(dir, 'out');
    const o = ztmap(['observe', '-i', inv, '-o', out, logs]);
    assert.equal(o.status, 3, o.stderr);
    const p = ztmap(['propose', '-g', join(out, 'graph.json'), '-i', inv, '-o', out, '--target', 'istio']);
    assert.ok(p.status !== null && p.status < 10, p.stderr);
    const policies = join(out, 'policies');
    const v = ztmap(['verify', '-p', policies, '-g', join(out, 'graph.json'), '-i', inv, '--rules', join(policies, 'rules.json'), '--json', join(out, 'verification.json')]);
    assert.ok(v.status !== null && v.status < 10, v.stderr);

    const file = (...f: string[]) => readFileSync(join(...f), 'utf8');
    const yaml = readdirSync(policies, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => file(policies, f))
      .join('\n');
    const verification = JSON.parse(file(out, 'verification.json')) as { problems: unknown[]; results: { notes: string[]; expected?: string }[] };
    const outputs: { name: string; text: string; forPeople: boolean }[] = [
      { name: 'graph.json', text: file(out, 'graph.json'), forPeople: false },
      { name: 'edges.csv', text: file(out, 'edges.csv'), forPeople: false },
      { name: 'nodes.csv', text: file(out, 'nodes.csv'), forPeople: false },
      { name: 'policy YAML', text: yaml, forPeople: false },
      { name: 'rules.json', text: file(policies, 'rules.json'), forPeople: false },
      { name: 'review.md', text: file(policies, 'review.md'), forPeople: true },
      { name: 'review.json', text: file(policies, 'review.json'), forPeople: true },
      { name: 'observe stderr', text: o.stderr, forPeople: true },
      { name: 'propose stderr', text: p.stderr, forPeople: true },
      { name: 'verify table', text: v.stdout + v.stderr, forPeople: true },
      { name: 'verification.json messages', text: JSON.stringify([verification.problems, verification.results.map((r) => [r.notes, r.expected])]), forPeople: true },
    ];
    for (const { name, text, forPeople } of outputs) {
      for (const s of SECRETS) assert.ok(!text.includes(s), `${name} holds the secret ${s}`);
      if (forPeople) assert.ok(!HIDING.test(text), `${name} holds a raw control or bidi character: ${JSON.stringify(text.match(HIDING)?.[0])}`);
    }

    // The matrix-parameter requests are one route, /cart/items, in the graph, the rules and the policy.
    assert.match(file(out, 'edges.csv'), /\/cart\/items/);
    assert.match(yaml, /\/cart\/items/);
    // Lossless data: graph.json keeps the name and the refused path as they were.
    const graph = JSON.parse(file(out, 'graph.json')) as { nodes: { key: string }[] };
    assert.ok(graph.nodes.some((n) => n.key === `shop/Pod/${EVIL}`), 'graph.json keeps the inventory name as it is');
    assert.ok(file(out, 'graph.json').includes('\\u001b'), 'graph.json escapes the ESC by JSON, not by dropping it');
    // For people: visible escapes, never the characters.
    const review = file(policies, 'review.md');
    assert.ok(review.includes('\\\\u202E'), 'review.md shows the override as \\u202E (a Markdown-escaped backslash)');
    assert.ok(file(policies, 'review.json').includes('\\\\u202E'), 'review.json shows the override as \\u202E');
    // CR/LF and pipes in a path stay inside one table row of review.md.
    // Every row has as many cells as the header above it (unescaped pipes; `\\` is an escaped backslash).
    const cells = (l: string) => l.replace(/\\\\/g, '').replace(/\\\|/g, '').split('|').length;
    let header: string | undefined;
    for (const line of review.split('\n')) {
      if (!line.startsWith('|')) header = undefined;
      else if (header === undefined) header = line;
      else assert.equal(cells(line), cells(header), `a row with other cells than its header: ${line}`);
    }
    assert.ok(!/^\| injected/m.test(review), 'no injected row');
    assert.match(review, /gnp\.exe\\\\u000D\\\\u000A\\\| injected \\\| row \\\|/, 'the path is in its cell, escaped');
    // The excerpts on stderr say what the lines were without the credentials.
    assert.match(o.stderr, /Authorization: Bearer \*\*\*/);
    assert.match(o.stderr, /Cookie: \*\*\*/);
    assert.ok(o.stderr.includes('rej\\u202Egol.txt\\u001B[1m.log'), 'the file name is escaped in the summary');
  });
});
