// @e2e: outputs are never half-written (cli/output.ts). The real binary is killed with
// SIGKILL during `observe` and `propose` on the Bookinfo fixtures, starting from a previous
// complete output; afterwards every file is whole, the settled directory holds exactly the
// old output or exactly the new one, and the next run recovers and succeeds.
//
// Two ways to kill, both properties:
// - deterministic: ZTMAP_TEST_KILL_AFTER_WRITES=N makes the binary SIGKILL itself before the
//   Nth step that changes the disk (each half of a file write, an fsync, a rename, a removal).
//   Every kill point is reachable and replays from the seed, including the few steps of the
//   commit and the roll forward that a timer would almost never hit (so they are drawn more often);
// - a timer: SIGKILL from outside after a random delay, with no help from the process.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { observe, OBSERVE_FILES } from '../../src/cli/commands/observe.js';
import { propose } from '../../src/cli/commands/propose.js';
import { recoverOutputs, setOutputStepHook } from '../../src/cli/output.js';
import { DEFAULT_INFER_OPTIONS } from '../../src/infer/infer.js';
import { TARGETS } from '../../src/policy/index.js';
import { tempDir, ztmap } from '../support/cli.js';
import { BIN, FIXTURES } from '../support/paths.js';

const BOOKINFO = join(FIXTURES, 'bookinfo');
const INVENTORY = join(BOOKINFO, 'inventory.json');
const LOGS = join(BOOKINFO, 'logs');
const ONE_LOG = join(LOGS, 'kubectl', 'default_productpage-v1-2d7djr4hhv-xbj9k.log');

type Snapshot = Map<string, Buffer>;

/** Every file under `dir` with its bytes; ztmap's own staging and commit entries only when `hidden`. */
function snapshot(dir: string, hidden = false): Snapshot {
  const snap: Snapshot = new Map();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true, encoding: 'utf8' })) {
    const rel = join(e.parentPath, e.name).slice(dir.length + 1);
    if (!hidden && rel.startsWith('.ztmap-')) continue;
    if (e.isSymbolicLink()) throw new Error(`unexpected link ${rel}`);
    if (e.isFile()) snap.set(rel, readFileSync(join(dir, rel)));
  }
  return snap;
}

const same = (a: Snapshot, b: Snapshot) => a.size === b.size && [...a].every(([k, v]) => b.get(k)?.equals(v) === true);
const describeDiff = (a: Snapshot, b: Snapshot) =>
  [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k)?.equals(b.get(k) ?? Buffer.alloc(0)) !== true || !b.has(k)).slice(0, 8).join(', ');

interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Run the binary; with `killAfterMs`, SIGKILL it from outside after that delay. */
function run(args: string[], opts: { env?: Record<string, string>; killAfterMs?: number } = {}): Promise<Exit> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('error', rej);
    child.on('close', (status, signal) => {
      if (timer) clearTimeout(timer);
      res({ status, signal, stderr });
    });
  });
}

interface Case {
  unit: 'observe' | 'propose';
  owned: readonly string[];
  args: (out: string) => string[];
  /** Steps a complete run takes from the old output (counted in-process once). */
  steps: number;
  old: Snapshot;
  next: Snapshot;
}

describe('outputs are never half-written @e2e', function () {
  this.timeout(60_000);
  let base: string; // the previous complete output every case starts from
  let fullGraph: string;
  const cases: Record<'observe' | 'propose', Case> = {} as never;
  const scratch: string[] = [];
  const copyOfBase = () => {
    const d = tempDir('ztmap-atomic-');
    scratch.push(d);
    cpSync(base, d, { recursive: true });
    return d;
  };

  before(async () => {
    // The previous output: observe of one log, propose of one target, a learned-pods.json
    // (stale for the new observe, which learns no pods) and a file ztmap does not own.
    base = tempDir('ztmap-atomic-base-');
    assert.equal(ztmap(['observe', '-q', '--fail-on', 'never', '-i', INVENTORY, '-o', base, ONE_LOG]).status, 0);
    assert.equal(ztmap(['propose', '-q', '--fail-on', 'never', '-g', join(base, 'graph.json'), '-i', INVENTORY, '-o', base, '--target', 'networkpolicy', '--first-apply']).status, 0);
    writeFileSync(join(base, 'learned-pods.json'), '{"apiVersion":"v1","kind":"List","items":[]}\n');
    writeFileSync(join(base, 'notes.txt'), 'not ztmap\'s\n');
    const full = tempDir('ztmap-atomic-graph-');
    assert.equal(ztmap(['observe', '-q', '--fail-on', 'never', '-i', INVENTORY, '-o', full, LOGS]).status, 0);
    fullGraph = join(full, 'graph.json');

    const observeArgs = (out: string) => ['observe', '-q', '--fail-on', 'never', '-i', INVENTORY, '-o', out, LOGS];
    const proposeArgs = (out: string) => ['propose', '-q', '--fail-on', 'never', '-g', fullGraph, '-i', INVENTORY, '-o', out];
    let steps = 0;
    setOutputStepHook(() => steps++);
    try {
      const o = copyOfBase();
      await observe({ inputs: [LOGS], inventory: [INVENTORY], out: o, format: 'auto', container: 'istio-proxy', maxLineLength: 65536, merge: [], jobs: 1 });
      cases.observe = { unit: 'observe', owned: OBSERVE_FILES, args: observeArgs, steps, old: snapshot(base), next: snapshot(o) };
      steps = 0;
      const p = copyOfBase();
      await propose({ ...DEFAULT_INFER_OPTIONS, graph: fullGraph, inventory: [INVENTORY], out: p, targets: [...TARGETS], trustDomain: 'cluster.local', rootNamespace: 'istio-system', dryRun: false, firstApply: false });
      cases.propose = { unit: 'propose', owned: ['policies'], args: proposeArgs, steps, old: snapshot(base), next: snapshot(p) };
    } finally {
      setOutputStepHook(undefined);
    }
    // The binary writes what the in-process run wrote.
    const o = copyOfBase();
    assert.equal((await run(observeArgs(o))).status, 0);
    assert.ok(same(snapshot(o, true), cases.observe.next), describeDiff(snapshot(o, true), cases.observe.next));
    assert.ok(!cases.observe.next.has('learned-pods.json'), 'the stale learned-pods.json is removed on success');
    assert.ok(cases.observe.next.has('notes.txt') && cases.observe.next.has('policies/review.md'), 'what observe does not own is kept');
    assert.ok(!same(cases.observe.old, cases.observe.next) && !same(cases.propose.old, cases.propose.next));
  });

  after(() => {
    for (const d of [...scratch, base, join(fullGraph, '..')]) rmSync(d, { recursive: true, force: true });
  });

  /** After a kill: every visible file whole; settled (after recovery) exactly old or new; the next run succeeds. */
  async function checkAfterKill(c: Case, out: string, r: Exit, recoverInProcess: boolean): Promise<{ killed: boolean; pending: boolean }> {
    const killed = r.signal === 'SIGKILL';
    if (!killed) assert.equal(r.status, 0, r.stderr);
    const visible = snapshot(out);
    for (const [rel, bytes] of visible) {
      assert.ok(c.old.get(rel)?.equals(bytes) === true || c.next.get(rel)?.equals(bytes) === true, `${rel} is neither the old nor the new file`);
    }
    // A mix of old and new entries is only ever seen after the commit point, mid roll forward.
    const pending = existsSync(join(out, `.ztmap-${c.unit}.commit`));
    if (!pending) assert.ok(same(visible, c.old) || same(visible, c.next), `mix without a pending commit: ${describeDiff(visible, c.old)}`);
    // observe puts graph.json in place last: whoever finds the new graph.json finds the new CSVs beside it.
    if (c.unit === 'observe' && c.next.get('graph.json')?.equals(visible.get('graph.json') ?? Buffer.alloc(0)) === true) {
      assert.ok(same(visible, c.next), `new graph.json beside old files: ${describeDiff(visible, c.next)}`);
    }
    if (recoverInProcess) {
      await recoverOutputs(out, c.unit, c.owned);
      const settled = snapshot(out, true);
      assert.ok(same(settled, c.old) || same(settled, c.next), `after recovery: neither old nor new: old≠ ${describeDiff(settled, c.old)}; new≠ ${describeDiff(settled, c.next)}`);
      if (!killed || pending) assert.ok(same(settled, c.next), 'a completed or committed run settles on the new output');
    }
    const again = await run(c.args(out));
    assert.equal(again.status, 0, again.stderr);
    assert.ok(same(snapshot(out, true), c.next), `the next run: ${describeDiff(snapshot(out, true), c.next)}`);
    return { killed, pending };
  }

  for (const unit of ['observe', 'propose'] as const) {
    it(`${unit}: SIGKILL before any step that changes the disk leaves the old or the new output (ZTMAP_TEST_KILL_AFTER_WRITES)`, async () => {
      const c = cases[unit];
      let kills = 0;
      let midRollForward = 0;
      await fc.assert(
        fc.asyncProperty(
          // Uniform over the whole run, and weighted to its last steps: the commit and the roll forward.
          fc.oneof(fc.integer({ min: 0, max: c.steps + 1 }), fc.integer({ min: Math.max(0, c.steps - 12), max: c.steps })),
          fc.boolean(),
          async (n, recoverInProcess) => {
            const out = copyOfBase();
            const r = await run(c.args(out), { env: { ZTMAP_TEST_KILL_AFTER_WRITES: String(n) } });
            assert.equal(r.signal === 'SIGKILL', n < c.steps, `kill point ${n} of ${c.steps}: ${r.stderr}`);
            const k = await checkAfterKill(c, out, r, recoverInProcess);
            if (k.killed) kills++;
            if (k.killed && k.pending) midRollForward++;
            rmSync(out, { recursive: true, force: true });
          },
        ),
        // Always, besides the random draws: the last steps (the roll forward), where a reader could see a mix.
        { numRuns: 6, examples: [1, 2, 3, 4].map((k): [number, boolean] => [c.steps - k, k % 2 === 0]) },
      );
      assert.ok(kills > 0 && midRollForward > 0, `kills ${kills}, of which after the commit point ${midRollForward}`);
    });

    it(`${unit}: SIGKILL from outside after a random delay leaves the old or the new output`, async () => {
      const c = cases[unit];
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 400 }), async (ms) => {
          const out = copyOfBase();
          const r = await run(c.args(out), { killAfterMs: ms });
          await checkAfterKill(c, out, r, true);
          rmSync(out, { recursive: true, force: true });
        }),
        { numRuns: 4 },
      );
    });
  }

  describe('a full disk', () => {
    let mnt: string | undefined;
    before(function () {
      const why = process.getuid?.() !== 0 ? 'not root' : undefined;
      const dir = tempDir('ztmap-atomic-tmpfs-');
      const m = why ?? spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' });
      if (typeof m === 'string' || m.status !== 0) {
        rmSync(dir, { recursive: true, force: true });
        console.log(`      skipped: a full disk needs a small tmpfs; mount failed (${typeof m === 'string' ? m : m.stderr.trim() || m.error?.message})`);
        this.skip();
      }
      mnt = dir;
    });
    after(() => {
      if (mnt === undefined) return;
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });

    for (const unit of ['observe', 'propose'] as const) {
      it(`${unit}: ENOSPC midway keeps the old output, exits 2 naming the cause, and removes its staging`, async () => {
        const c = cases[unit];
        const out = join(mnt!, unit);
        cpSync(base, out, { recursive: true });
        // Leave a few pages free: less than the new output needs, more than its first file.
        const filler = join(mnt!, `filler-${unit}`);
        const { bavail, bsize } = statfsSync(mnt!);
        writeFileSync(filler, Buffer.alloc(Math.max(0, (bavail - 3) * bsize)));
        const r = await run(c.args(out));
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /no space left on device/);
        assert.match(r.stderr, /intact/);
        assert.ok(same(snapshot(out, true), c.old), `old output changed: ${describeDiff(snapshot(out, true), c.old)}`);
        rmSync(filler);
        assert.equal((await run(c.args(out))).status, 0);
        assert.ok(same(snapshot(out, true), c.next));
        rmSync(out, { recursive: true, force: true });
      });
    }
  });

  it('refuses to write through a link where an output goes, and keeps verify --json whole', async () => {
    const out = copyOfBase();
    const elsewhere = tempDir('ztmap-atomic-elsewhere-');
    scratch.push(elsewhere);
    rmSync(join(out, 'policies'), { recursive: true });
    mkdirSync(join(elsewhere, 'policies'));
    writeFileSync(join(elsewhere, 'policies', 'mine.yaml'), 'kind: Mine\n');
    spawnSync('ln', ['-s', join(elsewhere, 'policies'), join(out, 'policies')]);
    const r = await run(cases.propose.args(out));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /symbolic link/);
    assert.deepEqual(readdirSync(join(elsewhere, 'policies')), ['mine.yaml']);

    const json = join(out, 'verification.json');
    spawnSync('ln', ['-s', join(elsewhere, 'v.json'), json]);
    const v = ztmap(['verify', '-q', '--fail-on', 'never', '-p', join(base, 'policies'), '-g', fullGraph, '-i', INVENTORY, '--json', json]);
    assert.equal(v.status, 2, v.stderr);
    assert.ok(!existsSync(join(elsewhere, 'v.json')));
    rmSync(json);
    assert.equal(ztmap(['verify', '-q', '--fail-on', 'never', '-p', join(base, 'policies'), '-g', fullGraph, '-i', INVENTORY, '--json', json]).status, 0);
    assert.equal(JSON.parse(readFileSync(json, 'utf8')).summary === undefined, false);
    assert.deepEqual(readdirSync(out).filter((n) => n.includes('ztmap-tmp')), []);
  });
});
