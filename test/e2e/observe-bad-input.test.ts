// @e2e: spawns the real binary on inputs that go wrong in each of the ways real logs do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { ztmap, tempDir } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { CLIENT_LINE as clientLine, SERVER_LINE as serverLine, writeSampleInventory } from '../support/sample-mesh.js';

describe('observe on bad input @e2e', () => {
  it('counts and locates every kind of bad record, uses every good one, and exits 3', () => {
    const dir = tempDir();
    const logs = join(dir, 'logs');
    const inv = writeSampleInventory(dir);
    mkdirSync(logs, { recursive: true });
    const good = `${clientLine}\n${serverLine}\n`;
    writeFileSync(join(logs, 'a-malformed.log'), `this is not a log line\n[2026-03-14T09:15:02.409Z] "GET / HTTP/1.1" 200 truncated\n${clientLine}\n`);
    const gz = gzipSync(Buffer.from(good.repeat(200)));
    writeFileSync(join(logs, 'b-truncated.log.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
    // Deterministic binary garbage: a SHA-256 chain.
    const garbage = Buffer.concat(Array.from({ length: 2048 }, (_, i) => createHash('sha256').update(String(i)).digest()));
    writeFileSync(join(logs, 'c-binary.log'), garbage);
    writeFileSync(join(logs, 'd-huge.log'), `${clientLine}\n${'A'.repeat(10 * 1024 * 1024)}\n${serverLine}\n`);
    writeFileSync(join(logs, 'e-unknown-ip.log'), serverLine.replace(/10\.61\.2\.14:51234/, '10.61.9.99:51234') + '\n');
    const out = join(dir, 'out');
    const r = ztmap(['observe', '-i', inv, '-o', out, logs]);
    assert.equal(r.status, 3, r.stderr);
    const f = (name: string) => join(logs, name);
    assert.match(r.stderr, new RegExp(`unrecognized-line: \\d+\\n\\s+${f('a-malformed.log')}:1`));
    assert.match(r.stderr, new RegExp(`malformed-envoy-text: \\d+\\n\\s+${f('a-malformed.log')}:2`));
    assert.match(r.stderr, new RegExp(`truncated-gzip: 1\\n\\s+${f('b-truncated.log.gz')}:\\d+`));
    assert.match(r.stderr, new RegExp(`line-too-long: 1\\n\\s+${f('d-huge.log')}:2  10485760 characters`));
    assert.match(r.stderr, new RegExp(`source-unknown-ip: 1\\n\\s+${f('e-unknown-ip.log')}:1  10.61.9.99`));
    assert.match(r.stderr, new RegExp(`${f('c-binary.log')}:\\d+`), 'binary garbage is rejected with its location');
    const edges = parse(readFileSync(join(out, 'edges.csv')), { columns: true }) as Record<string, string>[];
    const main = edges.find((e) => e['Source'] === 'shop/Pod/web-1' && e['Target'] === 'shop/Pod/cart-1')!;
    assert.ok(main, 'good lines around the bad ones were used');
    assert.equal(main['port'], '8080');
    assert.ok(Number(main['client_reported']) >= 3, 'lines before the break in the truncated .gz were used');
    assert.ok(edges.some((e) => e['Source'] === 'unknown:10.61.9.99'), 'an unknown IP becomes an unknown node, not a dropped flow');
  });

  it('exits 4 when every record was used but an endpoint is unknown, 0 when all is clean', () => {
    const dir = tempDir();
    const inv = writeSampleInventory(dir);
    const unknown = ztmap(['observe', '-i', inv, '-o', join(dir, 'o1'), '-'], { input: serverLine.replace('10.61.2.14:51234', '10.61.9.99:1') + '\n' });
    assert.equal(unknown.status, 4, unknown.stderr);
    const clean = ztmap(['observe', '-i', inv, '-o', join(dir, 'o2'), '-'], { input: `${clientLine}\n${serverLine}\n` });
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(clean.stderr, /graph: 2 nodes, 1 edges/);
    const tolerant = ztmap(['observe', '-i', inv, '-o', join(dir, 'o3'), '--fail-on', 'rejected', '-'], { input: serverLine.replace('10.61.2.14:51234', '10.61.9.99:1') + '\nnot a log\n' });
    assert.equal(tolerant.status, 3, '--fail-on rejected still fails on rejected records');
    // One usable record: with none, observe writes nothing and exits 2 whatever --fail-on says.
    const never = ztmap(['observe', '-i', inv, '-o', join(dir, 'o4'), '--fail-on', 'never', '-'], { input: `${clientLine}\nnot a log\n` });
    assert.equal(never.status, 0);
    assert.match(never.stderr, /rejected records: 1/);
  });

  it('exits 2 with a message naming the path when an input is missing', () => {
    const r = ztmap(['observe', '/nonexistent/ztmap.log']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\/nonexistent\/ztmap\.log/);
    const flag = ztmap(['observe', '--no-such-flag', 'x']);
    assert.equal(flag.status, 2);
    const pod = ztmap(['observe', '--pod', 'not a pod', '-']);
    assert.equal(pod.status, 2);
    assert.match(pod.stderr, /NAMESPACE\/POD/);
  });

  it('every command has --help, exiting 0', () => {
    for (const args of [['--help'], ['observe', '--help'], ['help', 'observe']]) {
      const r = ztmap(args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /Usage: ztmap/);
    }
    assert.match(ztmap(['observe', '--help']).stdout, /Exit codes/);
  });

  it('reads stdin with --pod, and writes byte-identical outputs on the same input', () => {
    const dir = tempDir();
    const inv = writeSampleInventory(dir);
    // web-1's own outbound line without its local address: only --pod names the client.
    const input = `${clientLine.replace('10.61.2.14:51234', '-')}\n`.repeat(3);
    const runs = ['a', 'b'].map((n) => {
      const out = join(dir, n);
      const r = ztmap(['observe', '-i', inv, '-o', out, '--pod', 'shop/web-1', '-'], { input });
      assert.equal(r.status, 0, r.stderr);
      return ['graph.json', 'nodes.csv', 'edges.csv'].map((f) => readFileSync(join(out, f), 'utf8'));
    });
    assert.deepEqual(runs[0], runs[1]);
    const edges = parse(runs[0]![2]!, { columns: true }) as Record<string, string>[];
    assert.deepEqual(edges.map((e) => [e['Source'], e['Target'], e['requests']]), [['shop/Pod/web-1', 'shop/Pod/cart-1', '3']]);
  });

  it('reports a log location that contradicts the addresses in the line, trusting the line', () => {
    const dir = tempDir();
    const r = ztmap(['observe', '-i', writeSampleInventory(dir), '-o', join(dir, 'o'), '--pod', 'shop/web-1', '-'], { input: serverLine + '\n' });
    assert.equal(r.status, 4);
    assert.match(r.stderr, /destination-reporter-mismatch: 1\n.*log location says shop\/web-1, address 10\.61\.3\.25 is shop\/cart-1/);
  });

  it('draws progress only on a TTY, and honours NO_COLOR', function () {
    const dir = tempDir();
    const inv = writeSampleInventory(dir);
    const log = join(dir, 'access.log');
    writeFileSync(log, `${clientLine}\n${serverLine}\n`.repeat(20000));
    const cmd = `${process.execPath} ${BIN} observe -i ${inv} -o ${join(dir, 'o')} ${log}`;
    // `script` gives the command a pseudo-terminal, as an interactive shell would.
    const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', TERM: 'xterm' } });
    assert.equal(tty.status, 0, tty.stdout);
    assert.match(tty.stdout, /\r\x1b\[Kreading .*access\.log \(1\/1\)/);
    assert.match(tty.stdout, /\x1b\[1mztmap observe/, 'colour on a TTY');
    const noColor = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', TERM: 'xterm', NO_COLOR: '1' } });
    assert.doesNotMatch(noColor.stdout, /\x1b\[\d+m/);
    const piped = ztmap(['observe', '-i', inv, '-o', join(dir, 'p'), log]);
    assert.equal(piped.status, 0);
    assert.doesNotMatch(piped.stderr, /\x1b/, 'no escape codes when piped');
    assert.match(piped.stderr, /read: 1 files, 40000 lines/);
  });
});
