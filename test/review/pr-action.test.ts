// action.yml and the workflow of docs/review.md ("In GitHub Actions"): valid YAML of the shape
// GitHub reads, inputs only through the environment (never `${{ }}` inside a script), every
// ztmap flag the action passes known to that command's --help, and a workflow that asks for the
// permissions `pr` needs and gives the action only inputs it has.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { tempDir, ztmap } from '../support/cli.js';
import { ROOT } from '../support/paths.js';

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Action {
  name: string;
  description: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = YAML.parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as Action;
const doc = readFileSync(join(ROOT, 'docs', 'review.md'), 'utf8');
const workflowText = /### In GitHub Actions[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];

describe('action.yml and the documented workflow', () => {
  const help: Record<string, string> = {};
  before(function () {
    // Spawns ztmap and git several times: minutes on a busy machine.
    this.timeout(60_000);
    for (const c of ['observe', 'propose', 'pr']) {
      const r = ztmap([c, '--help']);
      assert.equal(r.status, 0, r.stderr);
      help[c] = r.stdout;
    }
  });

  it('is a composite action whose scripts read inputs from the environment only', () => {
    assert.equal(action.runs.using, 'composite');
    assert.ok(action.name !== '' && action.description !== '');
    for (const s of action.runs.steps) {
      if (s.run === undefined) continue;
      assert.equal(s.shell, 'bash');
      assert.ok(!/\$\{\{/.test(s.run), `a script interpolates an expression: ${s.run}`);
      for (const v of Object.values(s.env ?? {})) {
        for (const m of v.matchAll(/inputs\.([\w-]+)/g)) assert.ok(m[1]! in action.inputs, `unknown input ${m[1]}`);
      }
    }
    assert.ok(action.inputs['telemetry']!.required && action.inputs['inventory']!.required);
    assert.match(action.outputs['pull-request']!.value, /steps\.pr\.outputs\.url/);
  });

  it('passes ztmap only flags its commands know', () => {
    const scripts = action.runs.steps.flatMap((s) => (s.run === undefined ? [] : [s.run.replace(/\\\n\s*/g, ' ')]));
    let calls = 0;
    for (const script of scripts) {
      for (const m of script.matchAll(/node "\$ZTMAP" (\w+)([^\n]*)/g)) {
        calls++;
        const flags = [...m[2]!.matchAll(/(?<=\s)(--?[a-z][\w-]*)/g)].map((f) => f[1]!);
        assert.ok(flags.length > 0);
        for (const f of flags) assert.ok(new RegExp(`(^|[\\s,])${f}[\\s,<]`, 'm').test(help[m[1]!]!), `ztmap ${m[1]} has no ${f}`);
      }
    }
    assert.equal(calls, 3);
  });

  it('passes pr the same inventory as observe and propose', () => {
    // The step's script as it is, with a stand-in for ztmap that records its arguments.
    const dir = tempDir('ztmap-action-');
    const fake = join(dir, 'ztmap.cjs');
    writeFileSync(fake, `require('node:fs').appendFileSync(${JSON.stringify(join(dir, 'argv'))}, JSON.stringify(process.argv.slice(2)) + '\\n'); console.log('https://github.example/pr/1');\n`);
    const step = action.runs.steps.find((s) => s.id === 'pr')!;
    const env = { PATH: process.env['PATH'] ?? '', ZTMAP: fake, OUT: dir, POLICIES_PATH: 'policies', BRANCH: 'ztmap/policies', BASE: '', INVENTORY: 'pods.json\n\nservices.json\n', GITHUB_TOKEN: 't', GITHUB_WORKSPACE: dir, GITHUB_REPOSITORY: 'acme/gitops', GITHUB_API_URL: 'https://api.github.com', GITHUB_OUTPUT: join(dir, 'output') };
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', step.run!], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const argv = JSON.parse(readFileSync(join(dir, 'argv'), 'utf8')) as string[];
    assert.equal(argv[0], 'pr');
    assert.deepEqual(argv.flatMap((a, i) => (a === '-i' ? [argv[i + 1]] : [])), ['pods.json', 'services.json']);
    assert.match(readFileSync(join(dir, 'output'), 'utf8'), /^url=https:\/\/github\.example\/pr\/1$/m);
  });

  it('documents a scheduled workflow with the permissions pr needs, using the action as it is', () => {
    assert.ok(workflowText !== undefined, 'docs/review.md has no workflow');
    const wf = YAML.parse(workflowText) as { on: { schedule: { cron: string }[] }; permissions: Record<string, string>; jobs: Record<string, { steps: Step[] }> };
    assert.equal(wf.on.schedule[0]!.cron.split(/\s+/).length, 5);
    assert.deepEqual(wf.permissions, { contents: 'write', 'pull-requests': 'write' });
    const steps = Object.values(wf.jobs)[0]!.steps;
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    // The base's history: a shallow clone cannot tell ztmap's branch from someone's once main moves.
    assert.equal(String(checkout?.with?.['fetch-depth']), '0');
    const ours = steps.find((s) => s.uses?.includes('/ztmap@'))!;
    for (const k of Object.keys(ours.with!)) assert.ok(k in action.inputs, `the action has no input ${k}`);
    for (const [k, v] of Object.entries(action.inputs)) if (v.required === true) assert.ok(k in ours.with!, `required input ${k} missing`);
    assert.match(ours.with!['github-token']!, /secrets\.GITHUB_TOKEN/);
  });
});
