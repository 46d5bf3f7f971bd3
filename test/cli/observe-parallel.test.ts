// observe --jobs N: the inputs cut into parts read by worker threads must give what one
// reader gives, byte for byte, rejects' line numbers included.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { observeGraph } from '../../src/cli/commands/observe.js';
import { observeParallel, planParts } from '../../src/cli/observe/parallel.js';
import { graphToJson } from '../../src/graph/json.js';
import { lineRanges } from '../../src/sources/transports/ranges.js';
import { FIXTURES } from '../support/paths.js';
import { CLIENT_LINE as clientLine, SERVER_LINE as serverLine, writeSampleInventory } from '../support/sample-mesh.js';

const cri = (kind: 'P' | 'F', body: string) => `2026-03-14T09:15:02.409000001Z stdout ${kind} ${body}`;

/** Everything observe reports, as comparable data. */
async function observed(inputs: string[], inventory: string[], jobs: number, minPartBytes?: number) {
  const r = await observeGraph({ inputs, inventory, format: 'auto', container: 'istio-proxy', maxLineLength: 4096, merge: [], jobs, ...(minPartBytes === undefined ? {} : { minPartBytes }) });
  return {
    graph: graphToJson(r.graph),
    read: { files: r.read.files, lines: r.read.lines, bytes: r.read.bytes, filesSkipped: r.read.filesSkipped },
    flows: r.flows,
    rejects: r.rejects.entries(),
    skips: r.skips.entries(),
    unresolved: r.unresolved.entries(),
  };
}

function scratch(): { dir: string; inventory: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ztmap-jobs-'));
  return { dir, inventory: writeSampleInventory(dir) };
}

/** Lines of every kind the decoder treats differently, CRI partial records split across lines among them. */
const LINE_KINDS: ((i: number) => string[])[] = [
  () => [clientLine],
  () => [serverLine],
  (i) => [serverLine.replace('10.61.2.14:51234', `10.61.9.${i % 250}:51234`)], // unknown IP
  (i) => [`not a log line ${i}`],
  () => ['[2026-03-14T09:15:02.409Z] "GET / HTTP/1.1" 200 truncated'],
  () => [''],
  () => ['{"upstream_cluster": 1}'],
  () => ['{broken json'],
  () => ['x'.repeat(5000)], // over --max-line-length 4096
  () => [cri('F', clientLine)],
  () => [cri('P', serverLine.slice(0, 40)), cri('P', serverLine.slice(40, 90)), cri('F', serverLine.slice(90))],
  // A partial record interrupted by a line that is no CRI record: joined across it.
  () => [cri('P', clientLine.slice(0, 60)), 'interrupting line', cri('F', clientLine.slice(60))],
  () => [cri('P', 'never finished')],
];

describe('observe --jobs', () => {
  it('gives Bookinfo the graph and summary of one reader, every file cut into ranges', async function () {
    this.timeout(60_000);
    const inputs = [join(FIXTURES, 'bookinfo', 'logs')];
    const inventory = [join(FIXTURES, 'bookinfo', 'inventory.json')];
    const one = await observed(inputs, inventory, 1);
    assert.ok(one.flows > 50);
    for (const jobs of [2, 5]) assert.deepEqual(await observed(inputs, inventory, jobs, 1), one, `--jobs ${jobs}`);
  });

  it('cuts a file at line starts only, never after a CRI partial record, covering every byte once', async () => {
    const { dir } = scratch();
    const file = join(dir, 'mixed.log');
    const lines = Array.from({ length: 300 }, (_, i) => LINE_KINDS[i % LINE_KINDS.length]!(i)).flat();
    const text = lines.join('\n') + '\n';
    writeFileSync(file, text);
    const bytes = Buffer.from(text);
    const ranges = await lineRanges(file, bytes.length, 40);
    assert.ok(ranges.length > 20, `cut into ${ranges.length} ranges`);
    assert.equal(ranges[0]!.start, 0);
    assert.equal(ranges.at(-1)!.end, bytes.length);
    assert.ok(ranges.at(-1)!.last && ranges.slice(0, -1).every((r) => !r.last));
    for (const [i, r] of ranges.entries()) {
      if (i > 0) assert.equal(r.start, ranges[i - 1]!.end, 'contiguous');
      if (r.start > 0) {
        assert.equal(bytes[r.start - 1], 0x0a, 'starts a line');
        const before = bytes.subarray(bytes.lastIndexOf(0x0a, r.start - 2) + 1, r.start - 1).toString();
        assert.doesNotMatch(before, / stdout P /, 'not after a partial record');
      }
    }
  });

  it('reads a range that ends inside a partial record again, joined to the next', async () => {
    const { dir, inventory } = scratch();
    const file = join(dir, 'cri.log');
    const head = `${clientLine}\n${cri('P', serverLine.slice(0, 60))}\ninterrupting line\n`;
    const text = head + `${cri('F', serverLine.slice(60))}\n${clientLine}\n`;
    writeFileSync(file, text);
    const cut = Buffer.byteLength(head);
    // The planner would not cut after a P record, but it cannot see past the interrupting line.
    const parts = [
      { files: [{ path: file, range: { start: 0, end: cut, last: false } }], bytes: cut },
      { files: [{ path: file, range: { start: cut, end: Buffer.byteLength(text), last: true } }], bytes: Buffer.byteLength(text) - cut },
    ];
    const r = await observeParallel(parts, { jobs: 2, inventory: [inventory], decoder: { format: 'auto', container: 'istio-proxy', maxLineLength: 4096 } });
    const one = await observed([file], [inventory], 1);
    assert.equal(r.flows, 3, 'the partial record was joined into a flow');
    assert.equal(graphToJson(r.graph), one.graph);
    assert.deepEqual(r.rejects.entries(), one.rejects);
    assert.equal(r.read.lines, 5);
  });

  it('property: any mix of good, bad and partial lines, cut anywhere, gives what one reader gives', async function () {
    this.timeout(180_000);
    const { dir, inventory } = scratch();
    let run = 0;
    let cutRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.nat(LINE_KINDS.length - 1), { minLength: 0, maxLength: 60 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 4000 }),
        fc.boolean(),
        async (files, jobs, minPartBytes, trailingNewline) => {
          const sub = join(dir, String(run++));
          mkdirSync(sub);
          for (const [f, kinds] of files.entries()) {
            const text = kinds.flatMap((k, i) => LINE_KINDS[k]!(i)).join('\n');
            writeFileSync(join(sub, `${f}.log`), text + (trailingNewline && text !== '' ? '\n' : ''));
          }
          const parts = await planParts(files.map((_, f) => ({ path: join(sub, `${f}.log`) })), jobs, minPartBytes, 'istio-proxy');
          if (parts.some((p) => p.files[0]!.range !== undefined && !p.files[0]!.range.last)) cutRuns++;
          assert.deepEqual(await observed([sub], [inventory], jobs, minPartBytes), await observed([sub], [inventory], 1));
        },
      ),
      { numRuns: 30, seed: 20261202 },
    );
    assert.ok(cutRuns >= 10, `only ${cutRuns} of 30 runs cut a file`);
  });
});
