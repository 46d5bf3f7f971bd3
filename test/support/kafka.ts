// A real Apache Kafka broker on loopback for one test suite: one KRaft node (broker and
// controller in one JVM) started by scripts/kafka.sh from jars fetched from Maven Central, its
// data in a temporary directory. `stop()` stops it and removes the directory; a process exit
// kills it too (SIGKILL by pid), so no test leaves a broker running.

import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.js';

const KAFKA_SCRIPT = join(ROOT, 'scripts', 'kafka.sh');

const run = promisify(execFile);

export interface KafkaBroker {
  /** host:port of the broker's PLAINTEXT listener on 127.0.0.1, as kafkajs takes them. */
  brokers: string[];
  /** host:port of its SASL_SSL listener (TLS, SASL PLAIN user `ztmap`), when started with `secure`. */
  secureBrokers?: string[];
  /** The broker's directory: server.properties, broker.log, data/. */
  dir: string;
  stop(): Promise<void>;
}

/** Pids of the brokers this process started and has not stopped yet. */
const running = new Set<number>();
let exitHook = false;

function killOnExit(pid: number): void {
  running.add(pid);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const p of running) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * `scripts/kafka.sh --check`: undefined when Java and the broker's jars (or Maven to fetch
 * them) are there, else the script's words on what is missing.
 */
export function kafkaMissing(): string | undefined {
  const r = spawnSync('bash', [KAFKA_SCRIPT, '--check'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

/**
 * Starts a broker (fetching its jars first when they are not cached: up to a minute on a cold
 * Maven repository) and resolves once it serves. KAFKA_VERSION in the environment picks another
 * broker version (scripts/kafka.sh).
 */
export async function startKafka(secure?: { cert: string; key: string; password: string }): Promise<KafkaBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'ztmap-kafka-'));
  const env = secure === undefined ? process.env : { ...process.env, KAFKA_SECURE_CERT: secure.cert, KAFKA_SECURE_KEY: secure.key, KAFKA_SECURE_PASSWORD: secure.password };
  try {
    await run('bash', [KAFKA_SCRIPT, '--start', dir], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    // The script stops what it started when it fails; the pid file may still name a JVM if it was killed itself.
    await run('bash', [KAFKA_SCRIPT, '--stop', dir], { cwd: ROOT }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`scripts/kafka.sh --start failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8').trim());
  killOnExit(pid);
  const bootstrap = readFileSync(join(dir, 'bootstrap'), 'utf8').trim();
  let stopped = false;
  return {
    brokers: [bootstrap],
    ...(secure === undefined ? {} : { secureBrokers: [readFileSync(join(dir, 'bootstrap-secure'), 'utf8').trim()] }),
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await run('bash', [KAFKA_SCRIPT, '--stop', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      } catch (e) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        throw e;
      } finally {
        running.delete(pid);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
