import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { expandInputsWithNotes, readBytes } from '../../src/sources/transports/files.js';
import { tempDir } from '../support/cli.js';

/** A tree of directories, files and links (to files, to directories up and down, dangling), drawn from the property's seed. */
interface Tree {
  dirs: string[];
  files: string[];
  links: [from: string, to: string][];
}

const name = fc.constantFrom('a', 'b', 'c');
const tree: fc.Arbitrary<Tree> = fc
  .record({
    dirs: fc.uniqueArray(fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => p.join('/')), { maxLength: 6 }),
    files: fc.array(fc.tuple(fc.nat(), fc.constantFrom('x.log', 'y.log')), { maxLength: 6 }),
    links: fc.array(fc.tuple(fc.nat(), fc.constantFrom('l1', 'l2.log'), fc.nat(), fc.constantFrom('dir', 'file', 'up', 'nothing')), { maxLength: 5 }),
  })
  .map(({ dirs, files, links }) => {
    // Every parent of a directory is a directory too.
    const all = new Set<string>(['.']);
    for (const d of dirs) d.split('/').forEach((_, i, parts) => all.add(parts.slice(0, i + 1).join('/')));
    const ds = [...all].sort();
    const fs = [...new Set(files.map(([i, f]) => join(ds[i % ds.length]!, f)))].filter((f) => !all.has(f));
    const taken = new Set([...ds, ...fs]);
    const ls: [string, string][] = [];
    for (const [i, n, j, kind] of links) {
      const from = join(ds[i % ds.length]!, n);
      if (taken.has(from)) continue;
      taken.add(from);
      const to = kind === 'dir' ? ds[j % ds.length]! : kind === 'file' && fs.length > 0 ? fs[j % fs.length]! : kind === 'up' ? '.' : 'nothing-here';
      ls.push([from, to]);
    }
    return { dirs: ds, files: fs, links: ls };
  });

function make(t: Tree): string {
  const root = tempDir('ztmap-expand-');
  for (const d of t.dirs) mkdirSync(join(root, d), { recursive: true });
  for (const f of t.files) writeFileSync(join(root, f), f + '\n');
  // Absolute targets: `up` is the root itself, a cycle through every directory below it.
  for (const [from, to] of t.links) symlinkSync(join(root, to), join(root, from));
  return root;
}

describe('expanding inputs', () => {
  it('walks a directory a quoted glob matches, as the shell-expanded pattern would', async () => {
    const root = tempDir();
    for (const pod of ['a', 'b']) {
      mkdirSync(join(root, 'pods', pod), { recursive: true });
      writeFileSync(join(root, 'pods', pod, '0.log'), 'x\n');
    }
    writeFileSync(join(root, 'pods', 'c.log'), 'x\n');
    const { files } = await expandInputsWithNotes([join(root, 'pods', '*')]);
    assert.deepEqual(files.map((f) => f.path.slice(root.length)).sort(), ['/pods/a/0.log', '/pods/b/0.log', '/pods/c.log']);
  });

  it('closes a file whose reader stops early, plain or gzip (no descriptor left open)', async function () {
    if (!existsSync('/proc/self/fd')) this.skip(); // Linux: counts this process's open descriptors
    const root = tempDir();
    const big = 'line of an access log\n'.repeat(40_000); // several read chunks
    writeFileSync(join(root, 'plain.log'), big);
    writeFileSync(join(root, 'packed.log.gz'), gzipSync(big));
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 20; i++) {
      for (const name of ['plain.log', 'packed.log.gz']) {
        for await (const chunk of readBytes({ path: join(root, name) } as Parameters<typeof readBytes>[0])) {
          assert.ok(chunk.length > 0);
          break; // the bindings pre-pass reads a head and stops
        }
      }
    }
    await new Promise((r) => setTimeout(r, 50)); // a destroyed stream closes its descriptor asynchronously
    assert.ok(open() - before < 3, `${open() - before} descriptors left open by 40 early-stopped reads`);
  });

  it('reads every regular file reachable once, and ends, whatever the links and the repeats (property)', async () => {
    await fc.assert(
      fc.asyncProperty(tree, fc.array(fc.nat(), { maxLength: 4 }), async (t, picks) => {
        const root = make(t);
        // The root, then some of its directories and files again, by other spellings too.
        const spell = (d: string) => (d === '.' ? `${root}/.` : `${root}/./${d}/../${d.split('/').pop()!}`);
        const named = [root, ...picks.map((i) => (i % 2 === 0 ? join(root, t.dirs[i % t.dirs.length]!) : spell(t.dirs[i % t.dirs.length]!)))];
        const { files, notes } = await expandInputsWithNotes(named);
        const real = files.map((f) => realpathSync(f.path));
        assert.equal(new Set(real).size, real.length, 'no file twice');
        assert.deepEqual([...real].sort(), t.files.map((f) => realpathSync(join(root, f))).sort(), 'every regular file');
        // Every name beyond the first is a duplicate: here every input is under the root.
        assert.equal(notes.duplicates.filter((d) => named.includes(d.path)).length, named.length - 1);
        assert.ok(notes.skipped.every((s) => s.reason !== ''));
      }),
      { numRuns: 100 },
    );
  });

  it('skips a FIFO met in a walk, and reads one named as a stream', async () => {
    const root = tempDir('ztmap-expand-');
    writeFileSync(join(root, 'a.log'), 'x\n');
    assert.equal(spawnSync('mkfifo', [join(root, 'p.log')]).status, 0);
    const walked = await expandInputsWithNotes([root]);
    assert.deepEqual(walked.files, [{ path: join(root, 'a.log') }]);
    assert.deepEqual(walked.notes.skipped, [{ path: join(root, 'p.log'), reason: 'a pipe, not a regular file' }]);
    const named = await expandInputsWithNotes([join(root, 'p.log')]);
    assert.deepEqual(named.files, [{ path: join(root, 'p.log'), stream: true }]);
  });
});
