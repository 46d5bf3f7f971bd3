// What the conformance suite needs beyond Node, and what it does when that is missing: for each
// suite that cannot run, one line on stdout saying what did not run, what it needs and how to
// get it; under CI=true a failing test instead of silence, so CI cannot pass without running it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ORACLE_SCRIPT } from '../support/cyclonus.js';
import { kafkaMissing } from '../support/kafka.js';
import { ROOT } from '../support/paths.js';

export interface Need {
  /** What is missing, as the one line names it. */
  what: string;
  /** What did not run without it. */
  notRun: string;
  /** How to get it. */
  how: string;
  /** Why it is missing, when known (shown in the CI failure). */
  detail: string;
}

/** ../shared/reference beside the repository: published samples, read where they are, never copied. */
const REFERENCE_RELATIVE = '../shared/reference';
export const REFERENCE = join(ROOT, REFERENCE_RELATIVE);

const GET_REFERENCE = 'put the shared reference checkout beside this repository (as ../shared) and run npm run test:conformance again';

/** `sub` of ../shared/reference; when the whole of it is missing, one need for every suite that reads it. */
export function referenceNeed(sub: string, notRun: string): Need | undefined {
  if (!existsSync(REFERENCE)) {
    return {
      what: REFERENCE_RELATIVE,
      notRun: 'the suites on published samples (real-world access logs; Istio docs samples and a kubectl dump)',
      how: GET_REFERENCE,
      detail: `${REFERENCE} is missing`,
    };
  }
  const dir = join(REFERENCE, sub);
  if (existsSync(dir)) return undefined;
  return { what: `${REFERENCE_RELATIVE}/${sub}`, notRun, how: GET_REFERENCE, detail: `${dir} is missing` };
}

/** Go for the Cyclonus oracle, found as scripts/cyclonus-oracle.sh finds it (GO=, PATH, /usr/local/go). */
export function goNeed(notRun: string): Need | undefined {
  const r = spawnSync('bash', [ORACLE_SCRIPT, '--go'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return {
    what: 'Go (>= 1.22)',
    notRun,
    how: 'install Go (https://go.dev/doc/install) or set GO=/path/to/go, and run npm run test:conformance again',
    detail: (r.stderr || r.error?.message || `exit ${r.status}`).trim(),
  };
}

const said = new Set<string>();

/**
 * Declares the suite `title` when nothing it needs is missing. Otherwise prints, per missing
 * need, the one line saying what was not run and how to get it (once, however many suites
 * share the need), and under CI=true declares a failing test for each.
 */
export function suiteNeeding(title: string, needs: (Need | undefined)[], body: (this: Mocha.Suite) => void): void {
  const missing = [...new Map(needs.filter((n): n is Need => n !== undefined).map((n) => [n.what, n])).values()];
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  for (const n of missing) {
    const line = `conformance: ${n.what} not found, so ${n.notRun} did not run; ${n.how}`;
    if (!said.has(line)) console.log(line);
    said.add(line);
  }
  if (process.env['CI'] === 'true') {
    describe(title, () => {
      for (const n of missing) {
        it(`needs ${n.what} (CI must not pass without it)`, () => {
          assert.fail(n.detail);
        });
      }
    });
  }
}

/** prometheus and promtool for the Prometheus API suite, found as scripts/prometheus.sh finds them (PROMETHEUS=, PROMTOOL=, PATH, /usr/bin, /usr/sbin). */
export function prometheusNeed(notRun: string): Need | undefined {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'prometheus.sh')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return {
    what: 'Prometheus (prometheus and promtool)',
    notRun,
    how: 'run bash scripts/prometheus.sh --install (Debian\'s prometheus package) or set PROMETHEUS= and PROMTOOL=, and run npm run test:conformance again',
    detail: (r.stderr || r.error?.message || `exit ${r.status}`).trim(),
  };
}

/** openssl, which makes the throwaway CA and certificates of the Prometheus TLS tests (test/support/prometheus.ts). */
export function opensslNeed(notRun: string): Need | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return { what: 'openssl', notRun, how: 'install it (apt-get install openssl) and run npm run test:conformance again', detail: (r.stderr || r.error?.message || `exit ${r.status}`).trim() };
}

/** Java and the Kafka broker's jars (or Maven to fetch them), as scripts/kafka.sh --check finds them. */
export function kafkaNeed(notRun: string): Need | undefined {
  const detail = kafkaMissing();
  if (detail === undefined) return undefined;
  return {
    what: 'Java 17 and the Kafka broker jars (scripts/kafka.sh)',
    notRun,
    how: 'install Java 17 and Maven (Debian: apt-get install openjdk-17-jre-headless maven), run bash scripts/kafka.sh --install, and run npm run test:conformance again',
    detail,
  };
}
