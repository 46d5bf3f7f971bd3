// cli/output.ts in-process: the typed errors and the cases the kill tests do not reach
// (a link in the way, a write outside the unit, a failing writer, another run's staging).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InternalError, OutputError } from '../../src/errors.js';
import { recoverOutputs, replaceOutputs, setOutputStepHook, writeFileAtomic } from '../../src/cli/output.js';
import { tempDir } from '../support/cli.js';

describe('cli/output', () => {
  let out: string;
  beforeEach(() => {
    out = tempDir('ztmap-output-');
    mkdirSync(join(out, 'policies'));
    writeFileSync(join(out, 'policies', 'old.yaml'), 'old\n');
    writeFileSync(join(out, 'graph.json'), '{}\n');
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const hidden = () => readdirSync(out).filter((n) => n.startsWith('.ztmap-'));

  it('replaces a directory whole and a file in place, and removes an owned entry not written again', async () => {
    writeFileSync(join(out, 'mine.txt'), 'mine\n');
    const r = await replaceOutputs({
      out,
      unit: 'u',
      owned: ['policies', 'graph.json'],
      write: async (s) => {
        await s.write('policies/a/new.yaml', 'new\n');
        return 42;
      },
    });
    assert.equal(r, 42);
    assert.deepEqual(readdirSync(join(out, 'policies'), { recursive: true }).sort(), ['a', 'a/new.yaml']);
    assert.ok(!existsSync(join(out, 'graph.json')), 'owned and not written: stale');
    assert.equal(readFileSync(join(out, 'mine.txt'), 'utf8'), 'mine\n');
    assert.deepEqual(hidden(), []);
  });

  it('writes a file from pieces (a generator, sync or async), a disk-changing step between each, and keeps the old file until committed', async () => {
    const steps: string[] = [];
    setOutputStepHook(() => steps.push(existsSync(join(out, 'graph.json')) ? readFileSync(join(out, 'graph.json'), 'utf8') : '(none)'));
    try {
      async function* pieces() {
        for (let i = 0; i < 5; i++) yield i % 2 === 0 ? `piece ${i}\n` : Buffer.from(`piece ${i}\n`);
      }
      function* more() {
        yield 'a';
        yield 'b\n';
      }
      await replaceOutputs({
        out,
        unit: 'u',
        owned: ['graph.json', 'nodes.csv'],
        write: async (s) => {
          const stepsBefore = steps.length;
          await s.write('graph.json', pieces());
          // Open + one step per piece: a kill between any two pieces is a kill point.
          assert.equal(steps.length - stepsBefore, 1 + 5);
          await s.write('nodes.csv', more());
          return undefined;
        },
      });
      assert.equal(readFileSync(join(out, 'graph.json'), 'utf8'), 'piece 0\npiece 1\npiece 2\npiece 3\npiece 4\n');
      assert.equal(readFileSync(join(out, 'nodes.csv'), 'utf8'), 'ab\n');
      // Every step before the commit point saw the previous graph.json intact.
      assert.ok(steps.slice(0, 8).every((x) => x === '{}\n'), JSON.stringify(steps.slice(0, 8)));
    } finally {
      setOutputStepHook(undefined);
    }
  });

  it('a generator that fails midway leaves the previous output and no staging', async () => {
    function* failing() {
      yield 'half of it';
      throw new InternalError('the writer failed');
    }
    await assert.rejects(replaceOutputs({ out, unit: 'u', owned: ['graph.json'], write: async (s) => s.write('graph.json', failing()) }), InternalError);
    assert.equal(readFileSync(join(out, 'graph.json'), 'utf8'), '{}\n');
    assert.deepEqual(hidden(), []);
  });

  it('a link where an owned entry goes is an OutputError, and nothing is written through it', async () => {
    const elsewhere = tempDir('ztmap-output-elsewhere-');
    rmSync(join(out, 'policies'), { recursive: true });
    symlinkSync(elsewhere, join(out, 'policies'));
    await assert.rejects(
      replaceOutputs({ out, unit: 'u', owned: ['policies'], write: (s) => s.write('policies/x.yaml', 'x\n') }),
      (e: unknown) => e instanceof OutputError && e.path === join(out, 'policies'),
    );
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.deepEqual(hidden(), []);
    rmSync(elsewhere, { recursive: true });
  });

  it('a write outside the entries the unit owns is refused', async () => {
    for (const rel of ['../escape.txt', 'graph.json', 'policies/../graph.json', '/tmp/abs.txt']) {
      await assert.rejects(replaceOutputs({ out, unit: 'u', owned: ['policies'], write: (s) => s.write(rel, 'x') }), OutputError, rel);
    }
    assert.equal(readFileSync(join(out, 'graph.json'), 'utf8'), '{}\n');
    assert.ok(!existsSync(join(out, '..', 'escape.txt')));
  });

  // write takes a path of plain names without path.resolve, and ASCII text as Latin-1: both
  // shortcuts must give what the general way gives, for any spelling and any text.
  it('writes the UTF-8 bytes of any text, at the place path.join names, however the path is spelled', async () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9.-]{0,8}$/);
    const spelling = fc.constantFrom('', './', 'x/../', '/');
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(name, name), { minLength: 1, maxLength: 4, selector: ([a, b]) => `${a}/${b}` }), fc.array(spelling, { minLength: 4, maxLength: 4 }), fc.array(text, { minLength: 4, maxLength: 4 }), async (files, spellings, texts) => {
        const dirs = new Set(files.map(([d]) => d));
        // A directory and a file of one name cannot both be written.
        fc.pre(files.every(([, f]) => !dirs.has(f) || files.every(([d]) => d !== f)));
        const returned = await replaceOutputs({
          out,
          unit: 'u',
          owned: ['policies'],
          write: async (s) => Promise.all(files.map(([d, f], i) => s.write(`policies/${d}/${spellings[i]}${f}`, texts[i]!))),
        });
        files.forEach(([d, f], i) => {
          assert.equal(returned[i], join(out, `policies/${d}/${spellings[i]}${f}`));
          assert.deepEqual(readFileSync(join(out, 'policies', d, f)), Buffer.from(texts[i]!));
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a failing writer leaves the previous output and no staging; its error passes through', async () => {
    const bug = new InternalError('two manifests, one path');
    await assert.rejects(
      replaceOutputs({
        out,
        unit: 'u',
        owned: ['policies'],
        write: async (s) => {
          await s.write('policies/half.yaml', 'x\n');
          throw bug;
        },
      }),
      (e: unknown) => e === bug,
    );
    assert.deepEqual(readdirSync(join(out, 'policies')), ['old.yaml']);
    assert.deepEqual(hidden(), []);
  });

  it("recovery removes a dead run's staging and keeps a live one's", async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    mkdirSync(join(out, `.ztmap-u.tmp-${dead}-abc`));
    mkdirSync(join(out, `.ztmap-u.tmp-1-abc`)); // pid 1 is alive
    mkdirSync(join(out, `.ztmap-other.tmp-${dead}-abc`)); // another unit's
    await recoverOutputs(out, 'u', ['policies']);
    assert.deepEqual(hidden().sort(), ['.ztmap-other.tmp-' + dead + '-abc', '.ztmap-u.tmp-1-abc']);
  });

  it('writeFileAtomic replaces a file, and refuses a link or a directory with an OutputError', async () => {
    const f = join(out, 'v.json');
    writeFileSync(f, 'old');
    await writeFileAtomic(f, 'new', 'verify --json');
    assert.equal(readFileSync(f, 'utf8'), 'new');
    symlinkSync(join(out, 'graph.json'), join(out, 'link.json'));
    await assert.rejects(writeFileAtomic(join(out, 'link.json'), 'x', 'verify --json'), OutputError);
    await assert.rejects(writeFileAtomic(join(out, 'policies'), 'x', 'verify --json'), OutputError);
    await assert.rejects(writeFileAtomic(join(out, 'missing', 'v.json'), 'x', 'verify --json'), (e: unknown) => e instanceof OutputError && e.code === 'ENOENT');
    assert.equal(readFileSync(join(out, 'graph.json'), 'utf8'), '{}\n');
    assert.deepEqual(readdirSync(out).filter((n) => n.includes('ztmap-tmp')), []);
  });
});
