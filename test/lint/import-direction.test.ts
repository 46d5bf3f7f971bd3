// The lint that npm test runs first (eslint.config.js) must keep rejecting what
// docs/architecture.md forbids. A lint that stops classifying files passes everything, silently
// (an element pattern that matches no file, a resolver that finds nothing), so each direction of
// the doc is checked here on a planted file: the forbidden ones must fail, the allowed ones pass.
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { ROOT } from '../support/paths.js';

// Type-aware rules need the file in the TypeScript program; these planted files are not on disk.
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => !ruleId.startsWith('@typescript-eslint/'),
});

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const importOf = (specifier: string) => `import * as m from '${specifier}';\nexport const n = Object.keys(m).length;\n`;

// [the planted file, what it imports, allowed by docs/architecture.md "Import direction"]
const cases: [string, string, boolean][] = [
  ['src/cli/commands/x.ts', '../../verify/replay.js', true],
  ['src/cli/x.ts', '../policy/yaml.js', true],
  ['src/graph/x.ts', '../flow/flow.js', true],
  ['src/graph/x.ts', '../errors.js', true],
  ['src/graph/x.ts', '../cli/main.js', false],
  ['src/graph/x.ts', '../inventory/inventory.js', false],
  ['src/sources/decoders/x.ts', '../../text.js', true],
  ['src/sources/decoders/x.ts', '../../inventory/inventory.js', false],
  ['src/inventory/x.ts', '../graph/graph.js', false],
  ['src/rules/x.ts', '../flow/identity.js', true],
  ['src/rules/x.ts', '../infer/infer.js', false],
  ['src/infer/x.ts', '../graph/attributes.js', true],
  ['src/infer/x.ts', '../policy/istio.js', false],
  ['src/policy/x.ts', '../rules/access-rule.js', true],
  ['src/policy/x.ts', '../graph/json.js', false],
  ['src/policy/x.ts', '../inventory/inventory.js', false],
  ['src/report/x.ts', '../rules/finding.js', true],
  ['src/report/x.ts', '../verify/table.js', false],
  ['src/verify/x.ts', '../inventory/inventory.js', true],
  ['src/verify/x.ts', '../policy/yaml.js', false],
  ['src/verify/x.ts', '../infer/infer.js', false],
  ['src/flow/x.ts', '../errors.js', true],
  ['src/flow/x.ts', '../rules/access-rule.js', false],
  ['src/x.ts', './errors.js', true],
  ['src/x.ts', './graph/json.js', false],
  ['src/x.ts', './flow/compare.js', true],
  ['src/x.ts', './flow/flow.js', false],
  ['src/graph/x.ts', '../../test/support/cli.js', false],
  // Outside src/ and the tooling folders: unclassified, so an error rather than a pass.
  ['src/graph/x.ts', '../../../elsewhere/x.js', false],
  ['test/x.test.ts', '../src/cli/main.js', true],
];

describe('lint: the import direction of docs/architecture.md', function () {
  this.timeout(60_000);

  for (const [file, specifier, allowed] of cases) {
    it(`${file} ${allowed ? 'may' : 'may not'} import ${specifier}`, async () => {
      const found = await problems(file, importOf(specifier));
      if (allowed) assert.deepEqual(found, []);
      else assert.ok(found.some((p) => p.startsWith('boundaries/')), `expected a boundaries error, got: ${found.join('; ') || 'none'}`);
    });
  }

  it('forbids localeCompare and an ad hoc string comparator in src/', async () => {
    const found = await problems('src/graph/x.ts', "export const a = ['b', 'a'].sort((x, y) => x.localeCompare(y));\nexport const b = ['b', 'a'].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));\n");
    assert.equal(found.filter((p) => p.startsWith('no-restricted-properties')).length, 1, found.join('; '));
    assert.equal(found.filter((p) => p.startsWith('no-restricted-syntax')).length, 2, found.join('; '));
  });
});
