// readPrometheusHttpConfig (sources/transports/prometheus-http-config.ts): credentials and TLS
// for the Prometheus API in promtool's --http.config.file format, through real files in a
// temporary directory. Every refusal is a ConfigError naming the file, and none quotes a secret.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { readPrometheusHttpConfig } from '../../src/sources/transports/prometheus-http-config.js';

const PASSWORD = 'pa55-w0rd-3f9c1e';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.tok3n-77aa21';

describe('the Prometheus HTTP client configuration (readPrometheusHttpConfig)', () => {
  let dir: string;
  let conf: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ztmap-promconf-'));
    conf = join(dir, 'conf');
    await mkdir(conf);
    await mkdir(join(conf, 'secrets'));
    // Secret files as Kubernetes mounts them: sometimes with a trailing newline.
    await writeFile(join(conf, 'secrets', 'password'), PASSWORD + '\n');
    await writeFile(join(conf, 'secrets', 'token'), TOKEN + '\n');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  async function configFile(text: string): Promise<string> {
    const path = join(conf, `http-${++n}.yml`);
    await writeFile(path, text);
    return path;
  }

  const read = async (text: string) => readPrometheusHttpConfig(await configFile(text));

  /** The ConfigError a file's text gives: it names the file, and quotes no secret. */
  async function refused(text: string, mentions: RegExp): Promise<ConfigError> {
    const path = await configFile(text);
    try {
      await readPrometheusHttpConfig(path);
    } catch (err) {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.ok(err.message.includes(path), `names the file: ${err.message}`);
      assert.match(err.message, mentions);
      for (const secret of [PASSWORD, TOKEN, 'hunter2', 's3cr3t-inline']) assert.ok(!err.message.includes(secret), `quotes a secret: ${err.message}`);
      return err;
    }
    assert.fail(`accepted ${JSON.stringify(text)}`);
  }

  describe('credentials', () => {
    it('reads basic_auth with an inline password', async () => {
      assert.deepEqual(await read(`basic_auth:\n  username: ztmap\n  password: ${PASSWORD}\n`), { basicAuth: { username: 'ztmap', password: PASSWORD } });
    });

    it("reads basic_auth's password_file relative to the config file's directory, trimmed", async () => {
      assert.deepEqual(await read('basic_auth:\n  username: ztmap\n  password_file: secrets/password\n'), { basicAuth: { username: 'ztmap', password: PASSWORD } });
    });

    it('reads basic_auth without a password as an empty one', async () => {
      assert.deepEqual(await read('basic_auth:\n  username: ztmap\n'), { basicAuth: { username: 'ztmap', password: '' } });
    });

    it('reads authorization credentials, with type Bearer or no type', async () => {
      assert.deepEqual(await read(`authorization:\n  type: Bearer\n  credentials: ${TOKEN}\n`), { bearerToken: TOKEN });
      assert.deepEqual(await read(`authorization:\n  credentials: ${TOKEN}\n`), { bearerToken: TOKEN });
    });

    it('reads authorization credentials_file relative to the config file', async () => {
      assert.deepEqual(await read('authorization:\n  type: Bearer\n  credentials_file: ./secrets/token\n'), { bearerToken: TOKEN });
    });

    it('reads the legacy bearer_token_file relative to the config file, and an absolute one as it is', async () => {
      assert.deepEqual(await read('bearer_token_file: secrets/token\n'), { bearerToken: TOKEN });
      assert.deepEqual(await read(`bearer_token_file: ${join(conf, 'secrets', 'token')}\n`), { bearerToken: TOKEN });
    });

    it('reads secret files relative to the config file, not to the working directory', async () => {
      const path = await configFile('bearer_token_file: secrets/token\n');
      const cwd = process.cwd();
      try {
        // The config file named relative to the working directory, its secret relative to itself.
        process.chdir(dir);
        assert.deepEqual(await readPrometheusHttpConfig(join('conf', path.slice(conf.length + 1))), { bearerToken: TOKEN });
      } finally {
        process.chdir(cwd);
      }
    });
  });

  describe('TLS', () => {
    it('resolves ca, cert and key files relative to the config file, and reads insecure_skip_verify', async () => {
      assert.deepEqual(await read('tls_config:\n  ca_file: tls/ca.pem\n  cert_file: ../client.crt\n  key_file: /etc/ztmap/client.key\n  insecure_skip_verify: true\n'), {
        caFile: join(conf, 'tls', 'ca.pem'),
        certFile: join(dir, 'client.crt'),
        keyFile: '/etc/ztmap/client.key',
        insecureSkipVerify: true,
      });
    });

    it('leaves insecure_skip_verify: false out', async () => {
      assert.deepEqual(await read('tls_config:\n  ca_file: ca.pem\n  insecure_skip_verify: false\n'), { caFile: join(conf, 'ca.pem') });
    });

    it('reads TLS beside credentials, and the keys Prometheus allows that ztmap needs not', async () => {
      assert.deepEqual(await read('bearer_token_file: secrets/token\ntls_config:\n  ca_file: ca.pem\nfollow_redirects: true\nenable_http2: false\n'), {
        bearerToken: TOKEN,
        caFile: join(conf, 'ca.pem'),
      });
    });
  });

  describe('an empty configuration', () => {
    it('reads an empty file, a comment and an empty document as no settings', async () => {
      for (const text of ['', '\n', '# nothing here\n', '---\n', 'null\n']) assert.deepEqual(await read(text), {}, JSON.stringify(text));
    });
  });

  describe('refusals', () => {
    it('refuses an unknown key, naming it', async () => {
      await refused('basic_auth:\n  username: u\n  password: hunter2\noauth2:\n  client_id: x\n', /unknown key "oauth2"/);
      await refused('bearer_tokn_file: secrets/token\n', /unknown key "bearer_tokn_file"/);
    });

    it('refuses two kinds of credentials', async () => {
      await refused(`basic_auth:\n  username: u\n  password: hunter2\nauthorization:\n  credentials: s3cr3t-inline\n`, /basic_auth or a bearer token/);
      await refused(`basic_auth:\n  username: u\n  password_file: secrets/password\nbearer_token_file: secrets/token\n`, /basic_auth or a bearer token/);
      await refused(`authorization:\n  credentials: s3cr3t-inline\nbearer_token_file: secrets/token\n`, /authorization or bearer_token/);
    });

    it('refuses password and password_file both (and credentials and credentials_file both)', async () => {
      await refused('basic_auth:\n  username: u\n  password: hunter2\n  password_file: secrets/password\n', /password or basic_auth\.password_file, not both/);
      await refused('authorization:\n  credentials: s3cr3t-inline\n  credentials_file: secrets/token\n', /credentials_file, not both/);
    });

    it('refuses a config file that cannot be read', async () => {
      const missing = join(conf, 'absent.yml');
      await assert.rejects(readPrometheusHttpConfig(missing), (err: unknown) => err instanceof ConfigError && err.message.includes(missing) && /cannot be read.*ENOENT/.test(err.message));
      await assert.rejects(readPrometheusHttpConfig(conf), (err: unknown) => err instanceof ConfigError && err.message.includes(conf) && /EISDIR/.test(err.message));
    });

    it('refuses a secret file that cannot be read, naming it', async () => {
      await refused('basic_auth:\n  username: u\n  password_file: secrets/absent\n', /password_file secrets\/absent cannot be read/);
      await refused('bearer_token_file: nowhere/token\n', /bearer_token_file nowhere\/token cannot be read/);
    });

    it('refuses what is not YAML, without quoting it', async () => {
      await refused(`basic_auth: {username: u, password: hunter2\n`, /is not YAML/);
      await refused(`basic_auth:\n  username: u\n  password: "hunter2\n`, /is not YAML/);
      await refused(`authorization:\n\tcredentials: s3cr3t-inline\n`, /is not YAML/);
      await refused(`basic_auth:\n  username: u\n  password: hunter2\n  password: s3cr3t-inline\n`, /is not YAML/);
    });

    it('refuses a YAML list and a scalar', async () => {
      await refused('- basic_auth:\n    username: u\n', /is not a mapping/);
      await refused('s3cr3t-inline\n', /is not a mapping/);
      await refused('42\n', /is not a mapping/);
    });

    it('refuses wrong types, naming the field', async () => {
      await refused('basic_auth: hunter2\n', /basic_auth is not a mapping/);
      await refused('basic_auth:\n  - username: u\n', /basic_auth is not a mapping/);
      await refused('basic_auth:\n  username: [u]\n', /basic_auth\.username is not a string/);
      await refused('basic_auth:\n  password: hunter2\n', /basic_auth has no username/);
      await refused('basic_auth:\n  username: u\n  password: {value: hunter2}\n', /basic_auth\.password is not a string/);
      await refused('authorization: s3cr3t-inline\n', /authorization is not a mapping/);
      await refused('authorization:\n  credentials: [s3cr3t-inline]\n', /authorization\.credentials is not a string/);
      await refused('bearer_token_file: 7\n', /bearer_token_file is not a string/);
      await refused('tls_config: true\n', /tls_config is not a mapping/);
      await refused('tls_config:\n  ca_file: 12\n', /tls_config\.ca_file is not a string/);
      await refused('tls_config:\n  insecure_skip_verify: "yes"\n', /insecure_skip_verify is not true or false/);
    });

    it('refuses an authorization type other than Bearer', async () => {
      await refused('authorization:\n  type: Basic\n  credentials: s3cr3t-inline\n', /authorization\.type is not Bearer/);
      await refused('authorization:\n  type: bearer\n  credentials: s3cr3t-inline\n', /authorization\.type is not Bearer/);
    });

    // Regression (this test found it, since fixed): only the top-level keys are checked: a misspelt key inside basic_auth, authorization
    // or tls_config is ignored without a word, so `basic_auth: {username: u, pasword_file: p}`
    // sends an empty password and `tls_config: {ca: ca.pem}` trusts the system CAs instead of
    // the one meant. Prometheus' own reader (strict YAML unmarshalling) refuses both. Expected a
    // ConfigError naming the unknown key.
    it('refuses an unknown key inside basic_auth, authorization or tls_config', async () => {
      await refused('basic_auth:\n  username: u\n  pasword_file: secrets/password\n', /unknown key "pasword_file"/);
      await refused('authorization:\n  credential: s3cr3t-inline\n', /unknown key "credential"/);
      await refused('tls_config:\n  ca: ca.pem\n', /unknown key "ca"/);
    });
  });
});
