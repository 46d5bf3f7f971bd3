// Credentials and TLS for the Prometheus API in the file format Prometheus' own clients read
// (promtool's --http.config.file, a scrape config's http settings): basic_auth, authorization,
// bearer_token(_file), tls_config. Secrets come from files or this file, never the command line,
// where other users of the machine can read them. Relative paths are relative to the file, as
// Prometheus reads them.

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, describeFsError } from '../../errors.js';
import type { PrometheusClientOptions } from './prometheus-api.js';

type Credentials = Omit<PrometheusClientOptions, 'url' | 'timeoutMs' | 'maxAnswerBytes'>;

const KNOWN = new Set(['basic_auth', 'authorization', 'bearer_token', 'bearer_token_file', 'tls_config', 'follow_redirects', 'enable_http2']);

export async function readPrometheusHttpConfig(path: string): Promise<Credentials> {
  const fail = (what: string): never => {
    throw new ConfigError(`--prometheus-http-config ${path}: ${what}. The file takes basic_auth, authorization (type Bearer), bearer_token_file and tls_config, as promtool's --http.config.file does.`);
  };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return fail(`cannot be read (${describeFsError(err)})`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 50 });
  } catch (err) {
    return fail(`is not YAML (${(err as Error).message.split('\n')[0]!})`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) return fail('is not a mapping');
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) fail(`has an unknown key ${JSON.stringify(k)}`);
  const base = dirname(resolve(path));
  const str = (v: unknown, name: string): string | undefined => (v === undefined || v === null ? undefined : typeof v === 'string' ? v : fail(`${name} is not a string`));
  const secret = async (value: unknown, file: unknown, name: string): Promise<string | undefined> => {
    const inline = str(value, name);
    const fromFile = str(file, `${name}_file`);
    if (inline !== undefined && fromFile !== undefined) fail(`give ${name} or ${name}_file, not both`);
    if (fromFile === undefined) return inline;
    try {
      return (await readFile(resolve(base, fromFile), 'utf8')).trim();
    } catch (err) {
      return fail(`${name}_file ${fromFile} cannot be read (${describeFsError(err)})`);
    }
  };
  // A misspelt key (`pasword_file`, `ca`) would silently send no password or trust the system's CAs.
  const mapping = (v: unknown, name: string, keys: readonly string[]): Record<string, unknown> | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return fail(`${name} is not a mapping`);
    for (const k of Object.keys(v)) if (!keys.includes(k)) fail(`${name} has an unknown key ${JSON.stringify(k)} (it takes ${keys.join(', ')})`);
    return v as Record<string, unknown>;
  };

  const out: Credentials = {};
  const basic = mapping(o['basic_auth'], 'basic_auth', ['username', 'password', 'password_file']);
  if (basic !== undefined) {
    const username = str(basic['username'], 'basic_auth.username') ?? fail('basic_auth has no username');
    out.basicAuth = { username, password: (await secret(basic['password'], basic['password_file'], 'basic_auth.password')) ?? '' };
  }
  const authz = mapping(o['authorization'], 'authorization', ['type', 'credentials', 'credentials_file']);
  if (authz !== undefined) {
    const type = str(authz['type'], 'authorization.type') ?? 'Bearer';
    // Not quoted: a token pasted into `type` by mistake must not reach a log.
    if (type !== 'Bearer') fail('authorization.type is not Bearer, the one type supported');
    const token = await secret(authz['credentials'], authz['credentials_file'], 'authorization.credentials');
    if (token !== undefined) out.bearerToken = token;
  }
  const legacy = await secret(o['bearer_token'], o['bearer_token_file'], 'bearer_token');
  if (legacy !== undefined) {
    if (out.bearerToken !== undefined) fail('give authorization or bearer_token, not both');
    out.bearerToken = legacy;
  }
  if (out.bearerToken !== undefined && out.basicAuth !== undefined) fail('give basic_auth or a bearer token, not both');
  const tls = mapping(o['tls_config'], 'tls_config', ['ca_file', 'cert_file', 'key_file', 'insecure_skip_verify']);
  if (tls !== undefined) {
    const file = (k: string) => {
      const v = str(tls[k], `tls_config.${k}`);
      return v === undefined ? undefined : resolve(base, v);
    };
    const ca = file('ca_file');
    const cert = file('cert_file');
    const key = file('key_file');
    if (ca !== undefined) out.caFile = ca;
    if (cert !== undefined) out.certFile = cert;
    if (key !== undefined) out.keyFile = key;
    const skip = tls['insecure_skip_verify'];
    if (skip !== undefined && typeof skip !== 'boolean') fail('tls_config.insecure_skip_verify is not true or false');
    if (skip === true) out.insecureSkipVerify = true;
  }
  return out;
}
