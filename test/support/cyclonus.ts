// The Cyclonus NetworkPolicy oracle (test/oracle/cyclonus) from TypeScript: builds it once
// per process through scripts/cyclonus-oracle.sh, then runs it once per input document.
// Protocol and what the oracle does beyond Cyclonus: test/oracle/cyclonus/README.md.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { goOracleBinary, runGoOracle } from './go-oracle.js';
import { ROOT } from './paths.js';

export type OracleProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface OracleContainerPort {
  name?: string;
  containerPort: number;
  protocol: OracleProtocol;
}

export interface OraclePod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  ports: OracleContainerPort[];
}

/** A pod as "namespace/name", or an address outside the cluster. */
type OracleEndpoint = { pod: string } | { ip: string };

export interface OracleCase {
  id: string;
  from: OracleEndpoint;
  to: OracleEndpoint;
  /** The destination port: a number, or a name resolved against the destination pod's containerPorts. */
  port: number | string;
  protocol: OracleProtocol;
}

export interface OracleInput {
  /** NetworkPolicy objects as kubectl prints them (policyTypes may be absent). */
  policies: unknown[];
  /** Namespace name → labels (kubernetes.io/metadata.name is added by the oracle). */
  namespaces: Record<string, Record<string, string>>;
  pods: OraclePod[];
  cases: OracleCase[];
}

export interface OracleResult {
  id: string;
  allowed: boolean;
  ingress: boolean;
  egress: boolean;
  /** Set when the case could not be evaluated (unknown pod, unresolvable port name, bad IP). */
  error?: string;
}

export const ORACLE_SCRIPT = join(ROOT, 'scripts', 'cyclonus-oracle.sh');

/** Builds the oracle if needed (a few minutes cold) and returns its path; once per process. */
export const cyclonusBinary = goOracleBinary('cyclonus oracle', ORACLE_SCRIPT);

/** Runs the oracle's own Go tests (`scripts/cyclonus-oracle.sh --check`); rejects with their output when they fail. */
export function cyclonusGoTests(): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile('bash', [ORACLE_SCRIPT, '--check'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`cyclonus oracle: go test failed (${err.message}).\n${stderr}`));
      else resolve();
    });
  });
}

function isResult(v: unknown): v is OracleResult {
  const r = v as Record<string, unknown> | null;
  return typeof r === 'object' && r !== null && typeof r['id'] === 'string' && typeof r['allowed'] === 'boolean' && typeof r['ingress'] === 'boolean' && typeof r['egress'] === 'boolean';
}

/** Evaluates every case of `input` with Cyclonus; one result per case, in order. */
export async function cyclonus(input: OracleInput): Promise<OracleResult[]> {
  const results = (await runGoOracle('cyclonus oracle', await cyclonusBinary(), input)).map((v) => {
    if (!isResult(v)) throw new Error(`cyclonus oracle: unexpected output line ${JSON.stringify(v)}`);
    return v;
  });
  if (results.length !== input.cases.length || results.some((r, i) => r.id !== input.cases[i]!.id)) {
    throw new Error(`cyclonus oracle: ${results.length} results for ${input.cases.length} cases, or out of order`);
  }
  return results;
}
