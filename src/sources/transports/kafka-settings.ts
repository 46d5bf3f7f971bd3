// How ztmap reaches a Kafka cluster (`ztmap consume`, `ztmap materialize`): brokers, TLS and SASL,
// as kafkajs takes them, from flags, then the environment, then a config file — the first that
// says something wins, per setting. Secrets never come from argv (a process list shows it): a
// SASL password comes from KAFKA_SASL_PASSWORD or a file.

import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { parse } from 'yaml';
import { ConfigError, InputError } from '../../errors.js';

/** What the flags said (undefined: not given). */
export interface KafkaFlags {
  brokers?: string;
  config?: string;
  clientId?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Skip the broker certificate's verification (a test cluster only). */
  tlsInsecure?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  saslPasswordFile?: string;
}

/** The config file's shape (YAML or JSON); file paths are relative to the file. */
interface KafkaFile {
  brokers?: string[] | string;
  clientId?: string;
  tls?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  sasl?: { mechanism?: string; username?: string; password?: string; passwordFile?: string };
}

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
type Mechanism = (typeof MECHANISMS)[number];

const BROKER = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;

function brokerList(v: string[] | string, where: string): string[] {
  const list = (Array.isArray(v) ? v : v.split(',')).map((b) => String(b).trim()).filter((b) => b !== '');
  if (list.length === 0) throw new ConfigError(`${where}: no broker. Give HOST:PORT[,HOST:PORT…].`);
  for (const b of list) if (!BROKER.test(b)) throw new ConfigError(`${where}: ${JSON.stringify(b)} is not HOST:PORT.`);
  return list;
}

function readSecretFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new InputError(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InputError(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
}

function loadFile(file: string): { doc: KafkaFile; dir: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`--kafka-config: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  let doc: unknown;
  try {
    // A handful of aliases at most: a config file is small, and an alias bomb is not one.
    doc = parse(text, { maxAliasCount: 10 });
  } catch (err) {
    throw new ConfigError(`--kafka-config ${file}: not YAML or JSON (${(err as Error).message}).`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`--kafka-config ${file}: expected a mapping with brokers, tls, sasl.`);
  checkShape(doc as Record<string, unknown>, file);
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
  return { doc: doc as KafkaFile, dir };
}

/** Every field of the file of the type KafkaFile says, or a ConfigError naming it. */
function checkShape(doc: Record<string, unknown>, file: string): void {
  const bad = (field: string, want: string): never => {
    throw new ConfigError(`--kafka-config ${file}: ${field} must be ${want}.`);
  };
  const str = (v: unknown) => v === undefined || typeof v === 'string';
  const known = new Set(['brokers', 'clientId', 'tls', 'sasl']);
  for (const k of Object.keys(doc)) if (!known.has(k)) bad(k, `one of ${[...known].join(', ')} (unknown key)`);
  const b = doc['brokers'];
  if (!(b === undefined || typeof b === 'string' || (Array.isArray(b) && b.every((x) => typeof x === 'string')))) bad('brokers', 'a list of HOST:PORT strings');
  if (!str(doc['clientId'])) bad('clientId', 'a string');
  const tls = doc['tls'];
  if (tls !== undefined && typeof tls !== 'boolean') {
    if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) bad('tls', 'true, false or a mapping of ca, cert, key, rejectUnauthorized');
    const t = tls as Record<string, unknown>;
    for (const k of ['ca', 'cert', 'key']) if (!str(t[k])) bad(`tls.${k}`, 'a file path');
    if (!(t['rejectUnauthorized'] === undefined || typeof t['rejectUnauthorized'] === 'boolean')) bad('tls.rejectUnauthorized', 'true or false');
  }
  const sasl = doc['sasl'];
  if (sasl !== undefined) {
    if (typeof sasl !== 'object' || sasl === null || Array.isArray(sasl)) bad('sasl', 'a mapping of mechanism, username, password or passwordFile');
    const t = sasl as Record<string, unknown>;
    for (const k of ['mechanism', 'username', 'password', 'passwordFile']) if (!str(t[k])) bad(`sasl.${k}`, 'a string');
  }
}

const relative = (dir: string, p: string) => (p.startsWith('/') ? p : dir + p);

/**
 * The kafkajs client settings. `env` is the environment read: KAFKA_BROKERS, KAFKA_CLIENT_ID,
 * KAFKA_TLS (1/true), KAFKA_TLS_CA, KAFKA_TLS_CERT, KAFKA_TLS_KEY, KAFKA_SASL_MECHANISM,
 * KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE).
 */
export function kafkaSettings(flags: KafkaFlags, env: NodeJS.ProcessEnv, defaultClientId: string): KafkaConfig {
  const file = flags.config === undefined ? undefined : loadFile(flags.config);
  const doc = file?.doc ?? {};
  const fileWhere = `--kafka-config ${flags.config ?? ''}`;

  const brokersText = flags.brokers ?? env['KAFKA_BROKERS'];
  let brokers: string[];
  if (brokersText !== undefined) brokers = brokerList(brokersText, flags.brokers !== undefined ? '--brokers' : 'KAFKA_BROKERS');
  else if (doc.brokers !== undefined) brokers = brokerList(doc.brokers, fileWhere);
  else throw new ConfigError('No Kafka broker: give --brokers HOST:PORT[,…], KAFKA_BROKERS, or brokers in --kafka-config.');

  const config: KafkaConfig = { clientId: flags.clientId ?? env['KAFKA_CLIENT_ID'] ?? doc.clientId ?? defaultClientId, brokers };

  // TLS: on when any TLS setting is given anywhere; files named in flags or env win over the file's.
  const fileTls = typeof doc.tls === 'object' && doc.tls !== null ? doc.tls : undefined;
  const envTls = env['KAFKA_TLS'];
  const ca = flags.tlsCa ?? env['KAFKA_TLS_CA'] ?? (fileTls?.ca === undefined ? undefined : relative(file!.dir, fileTls.ca));
  const cert = flags.tlsCert ?? env['KAFKA_TLS_CERT'] ?? (fileTls?.cert === undefined ? undefined : relative(file!.dir, fileTls.cert));
  const key = flags.tlsKey ?? env['KAFKA_TLS_KEY'] ?? (fileTls?.key === undefined ? undefined : relative(file!.dir, fileTls.key));
  const tlsOn = flags.tls === true || envTls === '1' || envTls === 'true' || doc.tls === true || fileTls !== undefined || ca !== undefined || cert !== undefined;
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('Kafka TLS: a client certificate needs its key, and a key its certificate (--tls-cert with --tls-key).');
  if (tlsOn) {
    const rejectUnauthorized = flags.tlsInsecure === true ? false : (fileTls?.rejectUnauthorized ?? true);
    config.ssl = {
      rejectUnauthorized,
      ...(ca === undefined ? {} : { ca: [readPem(ca, 'Kafka TLS CA')] }),
      ...(cert === undefined ? {} : { cert: readPem(cert, 'Kafka TLS certificate'), key: readPem(key!, 'Kafka TLS key') }),
    };
  }

  const mechanismText = flags.saslMechanism ?? env['KAFKA_SASL_MECHANISM'] ?? doc.sasl?.mechanism;
  if (mechanismText !== undefined) {
    const mechanism = mechanismText.toLowerCase() as Mechanism;
    if (!MECHANISMS.includes(mechanism)) throw new ConfigError(`Kafka SASL mechanism ${JSON.stringify(mechanismText)}: ztmap speaks ${MECHANISMS.join(', ')}.`);
    const username = flags.saslUsername ?? env['KAFKA_SASL_USERNAME'] ?? doc.sasl?.username;
    const passwordFile = flags.saslPasswordFile ?? env['KAFKA_SASL_PASSWORD_FILE'] ?? (doc.sasl?.passwordFile === undefined ? undefined : relative(file!.dir, doc.sasl.passwordFile));
    const password = passwordFile !== undefined ? readSecretFile(passwordFile, 'Kafka SASL password file') : (env['KAFKA_SASL_PASSWORD'] ?? doc.sasl?.password);
    if (username === undefined || password === undefined) {
      throw new ConfigError(`Kafka SASL ${mechanism} needs a username (--sasl-username, KAFKA_SASL_USERNAME) and a password (--sasl-password-file, KAFKA_SASL_PASSWORD).`);
    }
    config.sasl = { mechanism, username, password } as SASLOptions;
  }
  return config;
}
