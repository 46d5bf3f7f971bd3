// @e2e: one table of what goes wrong for a user, run against the real binary: each case sets up
// its input, runs one command, and expects an exit code and a message naming the path. Tests
// run as root in CI, where permission bits do not stop a read, so "unreadable" is made the ways
// that stop root too: a directory where a file is expected, a dangling or looping link, a path
// through a file (ENOTDIR), a device, a pipe, /proc.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir, ztmap as run, type Run } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { pod } from '../support/kube.js';
import { CLIENT_LINE, MESH, SERVER_LINE, writeSampleInventory } from '../support/sample-mesh.js';

const GOOD = `${CLIENT_LINE}\n${SERVER_LINE}\n`;

/** Some of these cases hung ztmap once: a run is killed after a minute and then fails its case. */
const ztmap = (args: string[], opts: { input?: string } = {}): Run => run(args, { ...opts, timeoutMs: 60_000 });

/** What every case may use: a sample inventory and log, and a graph, policies and rules made from them. */
interface Ctx {
  /** A fresh directory for this case. */
  dir: string;
  inv: string;
  log: string;
  graph: string;
  policies: string;
  rules: string;
}

interface Case {
  name: string;
  run: (c: Ctx) => Run;
  status: number;
  /** Expected in stderr (or stdout): most name the path at fault. */
  says: (c: Ctx) => RegExp;
  /** More to check after the run. */
  check?: (c: Ctx, r: Run) => void;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const names = (...parts: string[]) => new RegExp(parts.map(esc).join('[^]*'));
const mkfifo = (path: string) => assert.equal(spawnSync('mkfifo', [path]).status, 0, 'mkfifo');
/** Runs ztmap through bash, for pipes the shell makes (process substitution, a FIFO's writer). */
const viaBash = (script: string, env: Record<string, string>): Run => {
  const r = spawnSync('bash', ['-c', script], { env: { PATH: process.env['PATH'] ?? '', ZTMAP: `${process.execPath} ${BIN}`, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const write = (path: string, text: string | Buffer) => {
  writeFileSync(path, text);
  return path;
};
const observe = (c: Ctx, ...args: string[]) => ztmap(['observe', '-i', c.inv, '-o', join(c.dir, 'out'), ...args]);
const propose = (c: Ctx, ...args: string[]) => ztmap(['propose', '-i', c.inv, ...args]);
const verify = (c: Ctx, ...args: string[]) => ztmap(['verify', '-i', c.inv, '-p', c.policies, ...args]);
const BOMB = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill('*' + 'abcdefghi'[i]).join(',')}]`)].join('\n') + '\n';

const CASES: Case[] = [
  // Inputs that do not exist or cannot be opened.
  { name: 'a missing log file', run: (c) => observe(c, join(c.dir, 'missing.log')), status: 2, says: (c) => names('no such file', join(c.dir, 'missing.log')) },
  { name: 'a glob that matches nothing', run: (c) => observe(c, join(c.dir, '*.nothing')), status: 2, says: (c) => names('matches no file', join(c.dir, '*.nothing')) },
  { name: 'an empty directory', run: (c) => (mkdirSync(join(c.dir, 'empty')), observe(c, join(c.dir, 'empty'))), status: 2, says: (c) => names('no input', join(c.dir, 'empty'), 'no regular file') },
  { name: 'a dangling link named as input', run: (c) => (symlinkSync(join(c.dir, 'gone'), join(c.dir, 'x.log')), observe(c, join(c.dir, 'x.log'))), status: 2, says: (c) => names('no such file', join(c.dir, 'x.log')) },
  {
    name: 'a link cycle named as input',
    run: (c) => (symlinkSync(join(c.dir, 'b.log'), join(c.dir, 'a.log')), symlinkSync(join(c.dir, 'a.log'), join(c.dir, 'b.log')), observe(c, join(c.dir, 'a.log'))),
    status: 2,
    says: (c) => names(join(c.dir, 'a.log'), 'link cycle'),
  },
  { name: 'a path through a file (ENOTDIR)', run: (c) => observe(c, join(c.log, 'x.log')), status: 2, says: (c) => names(join(c.log, 'x.log'), 'not a directory') },
  { name: 'a character device named as input (/dev/null)', run: (c) => observe(c, '/dev/null'), status: 2, says: () => names('/dev/null', 'character device') },
  { name: 'an endless device named as input (/dev/zero): refused, not read forever', run: (c) => observe(c, '/dev/zero'), status: 2, says: () => names('/dev/zero', 'character device') },
  // Pipes: read once, as streams.
  { name: 'stdin', run: (c) => ztmap(['observe', '-i', c.inv, '-o', join(c.dir, 'out'), '-'], { input: GOOD }), status: 0, says: () => /read: 1 files, 2 lines/ },
  {
    name: 'a process substitution <(cat log)',
    run: (c) => viaBash(`$ZTMAP observe -i "$INV" -o "$OUT" <(cat "$LOG")`, { INV: c.inv, OUT: join(c.dir, 'out'), LOG: c.log }),
    status: 0,
    says: () => /read: 1 files, 2 lines[^]*graph: 2 nodes, 1 edges/,
  },
  {
    name: 'a FIFO named on the command line, with its writer',
    run: (c) => (mkfifo(join(c.dir, 'pipe')), viaBash(`cat "$LOG" > "$PIPE" & $ZTMAP observe -i "$INV" -o "$OUT" "$PIPE"`, { INV: c.inv, OUT: join(c.dir, 'out'), LOG: c.log, PIPE: join(c.dir, 'pipe') })),
    status: 0,
    says: () => /read: 1 files, 2 lines/,
  },
  {
    name: 'a FIFO with --jobs 4: read by the main process, not cut or sized',
    run: (c) => (mkfifo(join(c.dir, 'pipe')), viaBash(`cat "$LOG" > "$PIPE" & $ZTMAP observe --jobs 4 -i "$INV" -o "$OUT" "$PIPE" "$LOG2"`, { INV: c.inv, OUT: join(c.dir, 'out'), LOG: c.log, LOG2: write(join(c.dir, 'shop_web-1.log'), CLIENT_LINE + '\n'), PIPE: join(c.dir, 'pipe') })),
    status: 0,
    says: () => /read: 2 files, 3 lines/,
  },
  // Directory walks: what is not a regular file is skipped with a note, never opened.
  {
    name: 'a FIFO inside a directory: skipped, named, no hang',
    run: (c) => (mkdirSync(join(c.dir, 'logs')), copyFileSync(c.log, join(c.dir, 'logs', 'a.log')), mkfifo(join(c.dir, 'logs', 'b.log')), observe(c, join(c.dir, 'logs'))),
    status: 0,
    says: (c) => names(join(c.dir, 'logs', 'b.log'), 'a pipe, not a regular file'),
  },
  {
    name: 'a link to /dev/zero inside a directory: skipped, named',
    run: (c) => (mkdirSync(join(c.dir, 'logs')), copyFileSync(c.log, join(c.dir, 'logs', 'a.log')), symlinkSync('/dev/zero', join(c.dir, 'logs', 'z.log')), observe(c, join(c.dir, 'logs'))),
    status: 0,
    says: (c) => names(join(c.dir, 'logs', 'z.log'), 'character device'),
  },
  {
    name: 'a link cycle inside a directory: walked once, the file read once',
    run: (c) => (mkdirSync(join(c.dir, 'logs')), copyFileSync(c.log, join(c.dir, 'logs', 'a.log')), symlinkSync('.', join(c.dir, 'logs', 'loop')), observe(c, join(c.dir, 'logs'))),
    status: 0,
    says: (c) => names('read: 1 files, 2 lines', join(c.dir, 'logs', 'loop'), 'link cycle'),
  },
  {
    name: 'a dangling link inside a directory: skipped, named',
    run: (c) => (mkdirSync(join(c.dir, 'logs')), copyFileSync(c.log, join(c.dir, 'logs', 'a.log')), symlinkSync('nowhere', join(c.dir, 'logs', 'b.log')), observe(c, join(c.dir, 'logs'))),
    status: 0,
    says: (c) => names(join(c.dir, 'logs', 'b.log'), 'a link to nothing'),
  },
  {
    name: 'a glob that matches a FIFO: skipped, named',
    run: (c) => (mkdirSync(join(c.dir, 'logs')), copyFileSync(c.log, join(c.dir, 'logs', 'a.log')), mkfifo(join(c.dir, 'logs', 'b.log')), observe(c, join(c.dir, 'logs', '*.log'))),
    status: 0,
    says: (c) => names('read: 1 files', join(c.dir, 'logs', 'b.log'), 'a pipe'),
  },
  // The same file reached twice is read once, and the summary says so.
  { name: 'the same file named twice', run: (c) => observe(c, c.log, c.log), status: 0, says: (c) => names('read: 1 files, 2 lines', '1 input named twice, read once', c.log) },
  { name: 'a file and a link to it', run: (c) => (symlinkSync(c.log, join(c.dir, 'link.log')), observe(c, c.log, join(c.dir, 'link.log'))), status: 0, says: (c) => names('read: 1 files', join(c.dir, 'link.log'), `same as ${c.log}`) },
  {
    name: 'another spelling of the path (./a/../a/x.log)',
    run: (c) => observe(c, c.log, join(c.dir, '..', c.dir.split('/').pop()!, 'access.log')),
    status: 0,
    says: () => /read: 1 files[^]*1 input named twice, read once/,
  },
  { name: 'overlapping globs', run: (c) => observe(c, join(c.dir, '*.log'), join(c.dir, 'acc*')), status: 0, says: (c) => names('read: 1 files', join(c.dir, 'access.log'), 'same as') },
  { name: 'a directory and a file inside it', run: (c) => observe(c, c.dir, c.log), status: 0, says: (c) => names('read: 1 files', `same as ${c.log}`) },
  { name: 'stdin named twice, as - and /dev/stdin', run: (c) => ztmap(['observe', '-i', c.inv, '-o', join(c.dir, 'out'), '-', '/dev/stdin'], { input: GOOD }), status: 0, says: () => /read: 1 files, 2 lines[^]*\/dev\/stdin {2}same as -/ },
  { name: 'a directory named twice', run: (c) => observe(c, c.dir, join(c.dir, '.')), status: 0, says: (c) => names('read: 1 files', 'named twice', `same as ${c.dir}`) },
  // No usable record: OUT is left as it was.
  {
    name: 'no usable record: the previous graph.json is kept',
    run: (c) => {
      mkdirSync(join(c.dir, 'out'));
      write(join(c.dir, 'out', 'graph.json'), 'previous');
      return observe(c, write(join(c.dir, 'junk.log'), 'not a log line\n'));
    },
    status: 2,
    says: (c) => names('junk.log:1', 'no usable record', join(c.dir, 'out'), 'left as it was'),
    check: (c) => assert.equal(readFileSync(join(c.dir, 'out', 'graph.json'), 'utf8'), 'previous'),
  },
  { name: 'no usable record on stdin (empty)', run: (c) => ztmap(['observe', '-i', c.inv, '-o', join(c.dir, 'out'), '-'], { input: '' }), status: 2, says: () => /no usable record/ },
  { name: '--merge alone is a usable run', run: (c) => ztmap(['observe', '-o', join(c.dir, 'out'), '--merge', c.graph]), status: 0, says: () => /graph: 2 nodes, 1 edges/ },
  // Records.
  {
    name: 'a start_time that is no time: the record is rejected by file:line',
    run: (c) => observe(c, '--fail-on', 'rejected', write(join(c.dir, 'shop_web-1.log'), CLIENT_LINE.replace('2026-03-14T09:15:02.118Z', '2026-13-45T99:15:02.118Z') + '\n' + CLIENT_LINE + '\n')),
    status: 3,
    says: (c) => names('invalid-start-time', `${join(c.dir, 'shop_web-1.log')}:1`),
  },
  {
    name: 'a start_time in 1900: the record is rejected by file:line',
    run: (c) => observe(c, '--fail-on', 'rejected', write(join(c.dir, 'shop_web-1.log'), CLIENT_LINE + '\n' + CLIENT_LINE.replace('2026-03-14', '1900-03-14') + '\n')),
    status: 3,
    says: (c) => names('invalid-start-time', `${join(c.dir, 'shop_web-1.log')}:2`, 'outside the years'),
  },
  {
    name: 'a .gz with trailing garbage keeps every line and notes the garbage',
    run: (c) => observe(c, write(join(c.dir, 'shop_web-1.log.gz'), Buffer.concat([gzipSync(CLIENT_LINE + '\n'), gzipSync(CLIENT_LINE + '\n'), Buffer.from('GARBAGE')]))),
    status: 0,
    says: () => /read: 1 files, 2 lines[^]*gzip-trailing-garbage 1[^]*flows: 2/,
  },
  {
    name: 'a truncated .gz keeps the lines before the cut and rejects the rest by file',
    run: (c) => {
      const gz = gzipSync(Buffer.from((CLIENT_LINE + '\n').repeat(100)));
      return observe(c, '--fail-on', 'rejected', write(join(c.dir, 'shop_web-1.log.gz'), gz.subarray(0, gz.length - 20)));
    },
    status: 3,
    says: (c) => names('truncated-gzip', join(c.dir, 'shop_web-1.log.gz')),
  },
  // The inventory.
  { name: 'a missing inventory', run: (c) => ztmap(['observe', '-i', join(c.dir, 'inv.json'), '-o', join(c.dir, 'out'), c.log]), status: 2, says: (c) => names('inventory', join(c.dir, 'inv.json'), 'no such file') },
  { name: 'an inventory that is a directory', run: (c) => ztmap(['observe', '-i', c.dir, '-o', join(c.dir, 'out'), c.log]), status: 2, says: (c) => names('inventory', c.dir, 'is a directory') },
  { name: 'an inventory YAML alias bomb', run: (c) => ztmap(['observe', '-i', write(join(c.dir, 'bomb.yaml'), BOMB), '-o', join(c.dir, 'out'), c.log]), status: 2, says: (c) => names(join(c.dir, 'bomb.yaml'), 'alias') },
  { name: 'an inventory that is not YAML', run: (c) => ztmap(['observe', '-i', write(join(c.dir, 'bad.yaml'), 'a: [\n'), '-o', join(c.dir, 'out'), c.log]), status: 2, says: (c) => names(join(c.dir, 'bad.yaml'), 'not valid YAML') },
  { name: 'an inventory that is not JSON', run: (c) => ztmap(['observe', '-i', write(join(c.dir, 'bad.json'), '{"items": ['), '-o', join(c.dir, 'out'), c.log]), status: 2, says: (c) => names(join(c.dir, 'bad.json'), 'not valid JSON') },
  {
    name: 'two live pods with one address: a warning naming both',
    run: (c) => {
      const inv = JSON.parse(readFileSync(c.inv, 'utf8')) as { items: unknown[] };
      inv.items.push(pod(MESH.namespace, 'impostor-1', { ip: MESH.cart.ip, start: '2026-03-14T08:00:00Z' }));
      return ztmap(['observe', '-i', write(join(c.dir, 'dup.json'), JSON.stringify(inv)), '-o', join(c.dir, 'out'), c.log]);
    },
    status: 0,
    says: () => names(MESH.cart.ip, `${MESH.namespace}/${MESH.cart.name} and ${MESH.namespace}/impostor-1`),
  },
  {
    name: 'verify: two live pods with one address: a warning naming both',
    run: (c) => {
      const inv = JSON.parse(readFileSync(c.inv, 'utf8')) as { items: unknown[] };
      inv.items.push(pod(MESH.namespace, 'impostor-1', { ip: MESH.cart.ip, start: '2026-03-14T08:00:00Z' }));
      return ztmap(['verify', '-i', write(join(c.dir, 'dup.json'), JSON.stringify(inv)), '-p', c.policies, '-g', c.graph, '--rules', c.rules]);
    },
    status: 0,
    says: () => names('warning', MESH.cart.ip, `${MESH.namespace}/${MESH.cart.name} and ${MESH.namespace}/impostor-1`),
  },
  // Outputs.
  { name: 'observe --out that is a file', run: (c) => ztmap(['observe', '-i', c.inv, '-o', c.log, c.log]), status: 2, says: (c) => names(c.log) },
  { name: 'observe --out under a file', run: (c) => ztmap(['observe', '-i', c.inv, '-o', join(c.log, 'out'), c.log]), status: 2, says: (c) => names(c.log) },
  { name: 'observe --out where nothing can be written (/proc)', run: (c) => ztmap(['observe', '-i', c.inv, '-o', '/proc/ztmap-out', c.log]), status: 2, says: () => names('/proc/ztmap-out') },
  { name: 'propose --out that is a file', run: (c) => propose(c, '-g', c.graph, '-o', c.log), status: 2, says: (c) => names(c.log) },
  { name: 'propose --out where nothing can be written (/proc)', run: (c) => propose(c, '-g', c.graph, '-o', '/proc/ztmap-out'), status: 2, says: () => names('/proc/ztmap-out') },
  // Graphs.
  { name: 'propose: a missing graph.json', run: (c) => propose(c, '-g', join(c.dir, 'graph.json'), '-o', join(c.dir, 'out')), status: 2, says: (c) => names('reading graph', join(c.dir, 'graph.json'), 'no such file') },
  { name: 'propose: a graph.json that is a directory', run: (c) => propose(c, '-g', c.dir, '-o', join(c.dir, 'out')), status: 2, says: (c) => names('reading graph', c.dir, 'is a directory') },
  { name: 'propose: a graph.json that is a dangling link', run: (c) => (symlinkSync('nowhere', join(c.dir, 'g.json')), propose(c, '-g', join(c.dir, 'g.json'), '-o', join(c.dir, 'out'))), status: 2, says: (c) => names(join(c.dir, 'g.json'), 'no such file') },
  { name: 'propose: a graph.json that is not JSON', run: (c) => propose(c, '-g', write(join(c.dir, 'g.json'), 'garbage'), '-o', join(c.dir, 'out')), status: 2, says: (c) => names(join(c.dir, 'g.json'), 'not a ztmap graph') },
  { name: 'propose: JSON that is not a ztmap graph', run: (c) => propose(c, '-g', write(join(c.dir, 'g.json'), '{}'), '-o', join(c.dir, 'out')), status: 2, says: (c) => names(join(c.dir, 'g.json'), 'not a ztmap graph') },
  { name: 'propose: a graph named as a device', run: (c) => propose(c, '-g', '/dev/null', '-o', join(c.dir, 'out')), status: 2, says: () => names('/dev/null', 'not a file') },
  { name: 'propose without --inventory', run: (c) => ztmap(['propose', '-g', c.graph, '-o', join(c.dir, 'out')]), status: 2, says: () => /--inventory is required/ },
  { name: 'observe --merge of a missing graph', run: (c) => observe(c, '--merge', join(c.dir, 'old.json'), c.log), status: 2, says: (c) => names(join(c.dir, 'old.json'), 'no such file') },
  { name: 'observe --merge of a directory', run: (c) => observe(c, '--merge', c.dir, c.log), status: 2, says: (c) => names(c.dir, 'is a directory') },
  { name: 'verify: a missing graph.json', run: (c) => verify(c, '-g', join(c.dir, 'graph.json')), status: 2, says: (c) => names(join(c.dir, 'graph.json'), 'no such file') },
  { name: 'verify: a graph.json that is a directory', run: (c) => verify(c, '-g', c.dir), status: 2, says: (c) => names(c.dir, 'is a directory') },
  // verify's other inputs and its --json.
  { name: 'verify: missing policies', run: (c) => ztmap(['verify', '-i', c.inv, '-p', join(c.dir, 'nope'), '-g', c.graph]), status: 2, says: (c) => names(join(c.dir, 'nope')) },
  { name: 'verify: missing --rules', run: (c) => verify(c, '-g', c.graph, '--rules', join(c.dir, 'rules.json')), status: 2, says: (c) => names(join(c.dir, 'rules.json'), 'no such file') },
  { name: 'verify: --rules that is a directory', run: (c) => verify(c, '-g', c.graph, '--rules', c.dir), status: 2, says: (c) => names(c.dir, 'is a directory') },
  { name: 'verify: --json into a directory', run: (c) => verify(c, '-g', c.graph, '--rules', c.rules, '--json', c.dir), status: 2, says: (c) => names(c.dir, 'is a directory') },
  { name: 'verify: --json in a missing directory', run: (c) => verify(c, '-g', c.graph, '--rules', c.rules, '--json', join(c.dir, 'no', 'v.json')), status: 2, says: (c) => names(join(c.dir, 'no', 'v.json')) },
  { name: 'verify: --json under a file', run: (c) => verify(c, '-g', c.graph, '--rules', c.rules, '--json', join(c.log, 'v.json')), status: 2, says: (c) => names(join(c.log, 'v.json')) },
  { name: 'verify: --json where nothing can be written (/proc)', run: (c) => verify(c, '-g', c.graph, '--rules', c.rules, '--json', '/proc/ztmap-v.json'), status: 2, says: () => names('/proc/ztmap-v.json') },
  { name: 'verify: access logs with no usable record', run: (c) => verify(c, write(join(c.dir, 'junk.log'), 'junk\n')), status: 2, says: () => /verify: no usable record/ },
  { name: 'verify: both --graph and access logs', run: (c) => verify(c, '-g', c.graph, c.log), status: 2, says: () => /either --graph/ },
  // Flags.
  { name: 'an unknown flag', run: () => ztmap(['observe', '--no-such-flag']), status: 2, says: () => /unknown option '--no-such-flag'/ },
  { name: 'a malformed --pod', run: (c) => observe(c, '--pod', 'Not A Pod', c.log), status: 2, says: () => /--pod: expected NAMESPACE\/POD/ },
];

describe('errors: every case a user meets exits with its code and names what to fix @e2e', () => {
  const base = { inv: '', log: '', graph: '', policies: '', rules: '' };
  before(() => {
    const dir = tempDir();
    base.inv = writeSampleInventory(dir);
    base.log = write(join(dir, 'access.log'), GOOD);
    const out = join(dir, 'out');
    const o = ztmap(['observe', '-i', base.inv, '-o', out, base.log]);
    assert.equal(o.status, 0, o.stderr);
    const p = ztmap(['propose', '-i', base.inv, '-g', join(out, 'graph.json'), '-o', out, '--fail-on', 'never']);
    assert.equal(p.status, 0, p.stderr);
    Object.assign(base, { graph: join(out, 'graph.json'), policies: join(out, 'policies'), rules: join(out, 'policies', 'rules.json') });
  });

  it(`has at least forty cases (${CASES.length})`, () => assert.ok(CASES.length >= 40));

  for (const k of CASES) {
    it(k.name, () => {
      const dir = tempDir();
      // Each case has its own copy of the log, so names and links it makes stay its own.
      const c: Ctx = { ...base, dir, log: write(join(dir, 'access.log'), GOOD) };
      const r = k.run(c);
      const said = r.stderr + r.stdout;
      assert.equal(r.status, k.status, said);
      assert.match(said, k.says(c));
      assert.doesNotMatch(said, /internal error|\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
      k.check?.(c, r);
    });
  }
});
