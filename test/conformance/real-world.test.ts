// Conformance: every line of the real-world access logs in ../shared/reference/telemetry/real-world/
// (published by people outside the project; SOURCES.md there says where each came from) is read
// as the table in expectations.ts says, or skipped or rejected for the reason it gives.
//
// Run with `npm run test:conformance` (not part of `npm test`). The files are read where they
// are, at test time: they are never copied into the project. Without them, needs.ts says so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { EndpointRef, Flow, PodRef } from '../../src/flow/flow.js';
import type { Location } from '../../src/errors.js';
import { observePart } from '../../src/cli/observe/part.js';
import { graphToJson } from '../../src/graph/json.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import { readAccessLogs } from '../../src/sources/read-access-logs.js';
import { Tally } from '../../src/tally.js';
import { BIN } from '../support/paths.js';
import { REFERENCE, referenceNeed, suiteNeeding } from './needs.js';
import { EXPECTATIONS, FILE, NOT_ISTIO_PROXY_REASONS, type EndpointExpectation, type FlowExpectation, type LineExpectation } from './expectations.js';

const DIR = join(REFERENCE, 'telemetry', 'real-world');

type Outcome = { kind: 'flow'; flow: Flow } | { kind: 'skip' | 'reject'; reason: string; detail: string };

/** A Tally that also keeps every outcome by its location (a Tally keeps only the first few). */
class RecordingTally extends Tally {
  constructor(
    private readonly _kind: 'skip' | 'reject',
    private readonly _record: (location: Location | undefined, o: Outcome) => void,
  ) {
    super();
  }
  override add(reason: string, location: Location | undefined, detail = ''): void {
    super.add(reason, location, detail);
    this._record(location, { kind: this._kind, reason, detail });
  }
}

function key(file: string, line: number | undefined): string {
  return `${basename(file)}:${line ?? 0}`;
}

/** Every outcome of every line, decoding each line whole (no repeats counted from bytes). */
async function decodeAll(files: string[]): Promise<Map<string, Outcome[]>> {
  const outcomes = new Map<string, Outcome[]>();
  const record = (location: Location | undefined, o: Outcome) => {
    const k = location === undefined || !('file' in location) ? '?' : key(location.file, location.line);
    outcomes.set(k, [...(outcomes.get(k) ?? []), o]);
  };
  await readAccessLogs(
    files.map((f) => ({ path: join(DIR, f) })),
    { format: 'auto', container: 'istio-proxy' },
    {
      flow: (flow) => record(flow.evidence.location, { kind: 'flow', flow }),
      rejects: new RecordingTally('reject', record),
      skips: new RecordingTally('skip', record),
    },
  );
  return outcomes;
}

function fileHint(file: string): PodRef {
  return { namespace: '', name: file.replace(/\.log$/, '') };
}

function podView(pod: PodRef | undefined, hint: PodRef): PodRef | typeof FILE | null {
  if (pod === undefined) return null;
  return pod.namespace === hint.namespace && pod.name === hint.name ? FILE : pod;
}

/** The endpoint as the expectation looks at it (see expectations.ts): always ip, port, behindProxy; the rest when asked. */
function endpointView(e: EndpointRef, want: EndpointExpectation, side: 'source' | 'destination', hint: PodRef): Record<string, unknown> {
  const out: Record<string, unknown> = { ip: e.ip, behindProxy: e.behindProxy };
  if (side === 'destination' || 'port' in want) out['port'] = e.port;
  if ('pod' in want) out['pod'] = podView(e.pod, hint);
  for (const k of ['service', 'servicePort', 'host'] as const) if (k in want) out[k] = e[k];
  return clean(out);
}

function flowView(f: Flow, want: FlowExpectation, hint: PodRef): Record<string, unknown> {
  const out: Record<string, unknown> = {
    source: endpointView(f.source, want.source, 'source', hint),
    destination: endpointView(f.destination, want.destination, 'destination', hint),
    protocol: f.protocol,
    l7: f.l7 === undefined ? undefined : clean({ method: f.l7.method, path: f.l7.path, host: f.l7.host }),
    responseCode: f.responseCode,
    denial: f.denial === undefined ? undefined : clean({ kind: f.denial.kind, policy: f.denial.policy }),
    upstreamFailure: f.upstreamFailure,
    timestamp: f.timestamp === undefined ? null : new Date(f.timestamp).toISOString(),
  };
  if ('reporter' in want) out['reporter'] = f.reporter;
  if ('mtls' in want) out['mtls'] = f.mtls;
  if ('proxied' in want) out['proxied'] = f.proxied === undefined ? undefined : { listener: { ...f.proxied.listener }, client: { ip: f.proxied.client.ip } };
  return clean(out);
}

function expectedView(want: FlowExpectation): Record<string, unknown> {
  return clean({
    ...want,
    source: clean({ ...want.source }),
    destination: clean({ ...want.destination }),
    l7: want.l7 === undefined ? undefined : clean({ ...want.l7 }),
    denial: want.denial === undefined ? undefined : clean({ ...want.denial }),
  });
}

function clean<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

function describeOutcome(o: Outcome | undefined): string {
  if (o === undefined) return 'nothing';
  return o.kind === 'flow' ? 'a flow' : `${o.kind} ${o.reason}${o.detail === '' ? '' : ` (${o.detail})`}`;
}

function check(want: LineExpectation, got: Outcome[] | undefined, file: string, line: string): void {
  assert.equal(got?.length, 1, `one outcome per line, got ${got?.map(describeOutcome).join(', ') ?? 'none'}\n  ${line}`);
  const o = got![0]!;
  if ('flow' in want) {
    assert.equal(o.kind, 'flow', `expected a flow (${want.why}), got ${describeOutcome(o)}\n  ${line}`);
    if (o.kind !== 'flow') return;
    assert.deepStrictEqual(flowView(o.flow, want.flow, fileHint(file)), expectedView(want.flow), `${want.why}\n  ${line}`);
  } else {
    const kind = 'skip' in want ? 'skip' : 'reject';
    const reason = 'skip' in want ? want.skip : want.reject;
    assert.equal(describeOutcome(o).split(' (')[0], `${kind} ${reason}`, `${want.why}\n  ${line}`);
  }
}

function logFiles(): string[] {
  return readdirSync(DIR)
    .filter((f) => f !== 'SOURCES.md' && !f.startsWith('.'))
    .sort();
}

function linesOf(file: string): string[] {
  const text = readFileSync(join(DIR, file), 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

suiteNeeding('conformance: real-world access logs', [referenceNeed('telemetry/real-world', 'the real-world access-log suite')], function () {
  this.timeout(60_000);
  const files = logFiles();
  let outcomes: Map<string, Outcome[]>;

  before(async () => {
    outcomes = await decodeAll(files);
  });

  it('has an expectation for every line of every file, and for no other file', () => {
    assert.deepEqual(Object.keys(EXPECTATIONS).sort(), files);
    for (const f of files) assert.equal(EXPECTATIONS[f]!.length, linesOf(f).length, `${f}: lines in the file vs the table`);
  });

  it('rejects no Istio sidecar, gateway or waypoint line: only what is honestly something else', () => {
    for (const [f, table] of Object.entries(EXPECTATIONS)) {
      for (const [i, e] of table.entries()) if ('reject' in e) assert.ok(NOT_ISTIO_PROXY_REASONS.has(e.reject), `${f}:${i + 1} ${e.reject}`);
    }
  });

  for (const file of files) {
    describe(file, () => {
      const lines = existsSync(join(DIR, file)) ? linesOf(file) : [];
      for (const [i, line] of lines.entries()) {
        const want = EXPECTATIONS[file]?.[i];
        const label = want === undefined ? 'no expectation' : 'flow' in want ? `flow: ${want.why}` : 'skip' in want ? `skip ${want.skip}` : `reject ${want.reject}`;
        it(`${i + 1}: ${label}`, () => {
          assert.ok(want !== undefined, `${file}:${i + 1} has no expectation`);
          check(want, outcomes.get(key(file, i + 1)), file, line);
        });
      }
    });
  }

  it('counting repeats from bytes gives what decoding every line gives, denials and failures included', async () => {
    const inventory = buildInventory([]);
    const input = files.map((f) => ({ path: join(DIR, f) }));
    const seen = [];
    for (const repeats of [false, true]) {
      const r = await observePart(inventory, input, { format: 'auto', container: 'istio-proxy' }, undefined, { repeats });
      seen.push({ graph: graphToJson(r.graph), flows: r.flows, rejects: r.rejects.entries(), skips: r.skips.entries(), unresolved: r.unresolved.entries() });
    }
    assert.deepStrictEqual(seen[1], seen[0]);
  });

  it('`ztmap observe` on the directory: the counts of read, skipped and rejected lines are the table\'s', () => {
    const out = mkdtempSync(join(tmpdir(), 'ztmap-conformance-'));
    const r = spawnSync(process.execPath, [BIN, 'observe', '--out', out, '--fail-on', 'never', join(DIR, '*.log')], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    const summary = parseSummary(r.stderr);
    const want = tableCounts();
    assert.deepEqual(summary, want, r.stderr);
    for (const reason of Object.keys(summary.rejected)) assert.ok(NOT_ISTIO_PROXY_REASONS.has(reason), `rejected as ${reason}:\n${r.stderr}`);
  });
});

interface Counts {
  files: number;
  lines: number;
  flows: number;
  skipped: Record<string, number>;
  rejected: Record<string, number>;
}

function tableCounts(): Counts {
  const c: Counts = { files: 0, lines: 0, flows: 0, skipped: {}, rejected: {} };
  for (const table of Object.values(EXPECTATIONS)) {
    c.files++;
    for (const e of table) {
      c.lines++;
      if ('flow' in e) c.flows++;
      else if ('skip' in e) c.skipped[e.skip] = (c.skipped[e.skip] ?? 0) + 1;
      else c.rejected[e.reject] = (c.rejected[e.reject] ?? 0) + 1;
    }
  }
  return c;
}

/** The counts in observe's stderr summary (src/cli/summary.ts). */
function parseSummary(stderr: string): Counts {
  const c: Counts = { files: 0, lines: 0, flows: 0, skipped: {}, rejected: {} };
  const read = /^read: (\d+) files, (\d+) lines/m.exec(stderr);
  if (read !== null) {
    c.files = Number(read[1]);
    c.lines = Number(read[2]);
  }
  const skipped = /^skipped \(not traffic to count\): \d+(?: \((.*)\))?$/m.exec(stderr);
  for (const part of skipped?.[1]?.split(', ') ?? []) {
    const [reason, n] = part.split(' ');
    c.skipped[reason!] = Number(n);
  }
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => l.startsWith('rejected records: '));
  for (let i = at + 1; at >= 0 && i < lines.length && lines[i]!.startsWith('  '); i++) {
    const m = /^ {2}(\S+): (\d+)$/.exec(lines[i]!);
    if (m !== null) c.rejected[m[1]!] = Number(m[2]);
  }
  const flows = /^flows: (\d+)$/m.exec(stderr);
  if (flows !== null) c.flows = Number(flows[1]);
  return c;
}
