// Lint is the check of what the compiler cannot see: the one-way imports of
// docs/architecture.md ("Import direction") and a few correctness rules. No style rules.
import { defineConfig } from 'eslint/config';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

// The base every module may import: the Flow and Identity models (flow/) and the files directly
// in src/ (errors.ts, tally.ts, text.ts), which import only each other and flow/compare.ts: the one
// string order, a leaf that imports nothing, so tally.ts sorts as everything else does.
const base = ['flow', 'shared'];
// docs/architecture.md, "Import direction": what each module may import besides itself and the base.
// A module missing here, or a pair missing from its list, is an error: the direction is a decision,
// so a new one is made here and in the doc together.
const mayImport = {
  cli: ['sources', 'inventory', 'graph', 'rules', 'infer', 'policy', 'report', 'verify', 'review'],
  sources: [],
  inventory: [],
  graph: [],
  rules: [],
  infer: ['graph', 'inventory', 'rules'],
  policy: ['rules'],
  report: ['rules'],
  // Not policy/ nor infer/: an emitter's bug must not be shared by the evaluator that checks it.
  verify: ['graph', 'inventory', 'rules'],
  review: ['verify', 'rules', 'graph', 'inventory'],
};
// An ad hoc string comparator (`a < b ? -1 : …`) and .sort() without one (its default order is
// code units after converting to strings: numbers sort as text, arrays as their joined text).
const comparatorSyntax = [
  { selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='localeCompare']", message: 'Use compare from src/flow/compare.ts.' },
  {
    selector: "ConditionalExpression[test.operator=/^[<>]$/][consequent.operator='-'][consequent.argument.value=1][alternate.type=/^(ConditionalExpression|Literal)$/]",
    message: 'Use compare from src/flow/compare.ts (strings) or a subtraction (numbers), not an ad hoc comparator.',
  },
  { selector: "CallExpression[callee.property.name=/^(sort|toSorted)$/][arguments.length=0]", message: 'Pass a comparator: compare from src/flow/compare.ts for strings, (a, b) => a - b for numbers.' },
];
const folders = ['cli', 'sources', 'inventory', 'graph', 'rules', 'infer', 'policy', 'report', 'verify', 'review', 'flow'];

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'output/**', '.cache/**', 'bench-data/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    plugins: { boundaries, '@typescript-eslint': tseslint.plugin },
    settings: {
      // Resolves `./x.js` to `./x.ts` as NodeNext does, so every relative import is classified.
      'import/resolver': { typescript: { project: './tsconfig.json' } },
      'boundaries/elements': [
        ...folders.map((m) => ({ type: m, pattern: `src/${m}/**`, partialMatch: false })),
        // Last, so that it takes only what no folder above took: the files directly in src/.
        { type: 'shared', pattern: 'src', partialMatch: false },
        { type: 'tooling', pattern: '{test,bench,scripts}/**', partialMatch: false },
      ],
      // flow/compare.ts is in flow/ like the rest of it; named here so that the shared files may import it.
      'boundaries/files': [{ category: 'compare', pattern: 'src/flow/compare.ts' }],
    },
    rules: {
      'boundaries/dependencies': [2, {
        default: 'disallow',
        policies: [
          ...Object.entries(mayImport).map(([from, to]) => ({
            from: { element: { type: from } },
            allow: { to: { element: { types: { anyOf: [from, ...to, ...base] } } } },
          })),
          { from: { element: { type: 'flow' } }, allow: { to: { element: { types: { anyOf: ['flow', 'shared'] } } } } },
          { from: { element: { type: 'shared' } }, allow: { to: { element: { type: 'shared' } } } },
          { from: { element: { type: 'shared' } }, allow: { to: { file: { categories: 'compare' } } } },
          // Tests, benches and scripts may import anything in src/; src/ never imports them.
          { from: { element: { type: 'tooling' } }, allow: { to: { element: { types: { anyOf: [...folders, 'shared', 'tooling'] } } } } },
        ],
      }],
      '@typescript-eslint/no-floating-promises': 2,
      '@typescript-eslint/no-misused-promises': [2, { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 2,
      '@typescript-eslint/only-throw-error': 2,
      // An import boundaries cannot classify (a path outside src/ and the tooling folders) is an error, not a pass.
      'boundaries/no-unknown-dependencies': 2,
    },
  },
  {
    // One string order everywhere: src/flow/compare.ts, code-unit order, the same in every locale.
    // localeCompare and Intl.Collator depend on the locale and ICU version, so output would too.
    files: ['**/*.ts'],
    rules: {
      'no-restricted-properties': [2, { property: 'localeCompare', message: 'Use compare from src/flow/compare.ts: code-unit order, independent of locale.' }],
      'no-restricted-syntax': [2, ...comparatorSyntax],
    },
  },
  {
    // compare.ts is the comparator itself; no other file joins it.
    files: ['src/flow/compare.ts'],
    rules: { 'no-restricted-syntax': [2, comparatorSyntax[0]] },
  },
  {
    // Tests sort expected and actual values alike for set equality, where any fixed order will do.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-restricted-syntax': [2, comparatorSyntax[0]] },
  },
);
