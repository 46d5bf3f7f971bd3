// A real Prometheus on loopback for one test suite, holding series the test describes:
// rendered as OpenMetrics, backfilled into blocks with `promtool tsdb create-blocks-from
// openmetrics`, then served by `prometheus` from a temporary directory on a free port, with
// basic auth, TLS and client certificates when asked (its --web.config.file). Found by
// scripts/prometheus.sh; `stop()` kills it and removes the directory, and a process exit kills
// it too, so no test leaves one running. Also a loopback proxy that checks a bearer token,
// since Prometheus itself has no bearer auth.

import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare } from '../../src/flow/compare.js';
import { ROOT } from './paths.js';
import { throwawayCertificates } from './certificates.js';

const PROMETHEUS_SCRIPT = join(ROOT, 'scripts', 'prometheus.sh');

/** The basic-auth user every test server knows, and its password. */
export const TEST_USER = 'ztmap';
export const TEST_PASSWORD = 'ztmap-test-password';
// bcrypt (cost 10) of TEST_PASSWORD, made once with Python 3.11's crypt module:
//   python3 -c "import crypt; print(crypt.crypt('ztmap-test-password', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1<<10)))"
// A constant, so the tests need neither htpasswd nor a bcrypt package.
const TEST_PASSWORD_BCRYPT = '$2b$10$n97nY9lj2IxWDJSRdU1zWe25fvkVVGJSXn8YRwTBMGEvVqCacxNPm';

/** One series as a test gives it: points are [epoch ms, value], in any order. */
export interface Series {
  metric: string;
  labels: Readonly<Record<string, string>>;
  points: readonly (readonly [time: number, value: number])[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeLabelValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * The series as OpenMetrics text that `promtool tsdb create-blocks-from openmetrics` takes:
 * every sample with its timestamp in seconds, a metric's series together (a family is
 * contiguous), each series' samples in time order, and the closing `# EOF`. No `# TYPE`
 * lines: an untyped family takes any sample name, and PromQL does not read types.
 */
function openMetrics(series: readonly Series[]): string {
  const lines: string[] = [];
  const metrics = [...new Set(series.map((s) => s.metric))];
  for (const metric of metrics) {
    if (!NAME.test(metric)) throw new Error(`openMetrics: ${JSON.stringify(metric)} is not a metric name`);
    for (const s of series.filter((x) => x.metric === metric)) {
      const labels = Object.entries(s.labels).sort((a, b) => compare(a[0], b[0]));
      for (const [k] of labels) if (!LABEL.test(k) || k.startsWith('__')) throw new Error(`openMetrics: ${JSON.stringify(k)} is not a label name`);
      const selector = `${metric}{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
      for (const [t, v] of [...s.points].sort((a, b) => a[0] - b[0])) lines.push(`${selector} ${numberText(v)} ${t / 1000}`);
    }
  }
  return `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}# EOF\n`;
}

interface Tools {
  prometheus: string;
  promtool: string;
}

let tools: Tools | undefined;

/** prometheus and promtool as scripts/prometheus.sh finds them; throws with its words when missing. */
function prometheusTools(): Tools {
  if (tools !== undefined) return tools;
  const r = spawnSync('bash', [PROMETHEUS_SCRIPT], { cwd: ROOT, encoding: 'utf8' });
  const [prometheus, promtool] = r.stdout.trim().split('\n');
  if (r.status !== 0 || prometheus === undefined || promtool === undefined) throw new Error(`${PROMETHEUS_SCRIPT} failed: ${r.stderr.trim()}`);
  tools = { prometheus, promtool };
  return tools;
}

export interface PrometheusServerOptions {
  series: readonly Series[];
  /** Ask for TEST_USER and TEST_PASSWORD. */
  basicAuth?: boolean;
  /** Serve https with a certificate of a throwaway CA for 127.0.0.1; `clientCertificate`: and require a client certificate of that CA. */
  tls?: { clientCertificate?: boolean };
}

export interface PrometheusServer {
  /** Base URL: http(s)://127.0.0.1:PORT. */
  url: string;
  /** With `tls`: the throwaway CA's certificate, and a client certificate and key it signed. */
  caFile?: string;
  clientCertFile?: string;
  clientKeyFile?: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/** Starts Prometheus on the series; call `stop()` in an `after` hook. */
export async function startPrometheus(o: PrometheusServerOptions): Promise<PrometheusServer> {
  const { prometheus, promtool } = prometheusTools();
  const dir = mkdtempSync(join(tmpdir(), 'ztmap-prometheus-'));
  try {
    const input = join(dir, 'series.om');
    writeFileSync(input, openMetrics(o.series));
    const data = join(dir, 'data');
    const backfill = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, data], { encoding: 'utf8' });
    if (backfill.status !== 0) throw new Error(`promtool could not backfill the series: ${backfill.stderr.trim() || backfill.stdout.trim()}`);
    // JSON is YAML: no scrape targets, nothing but the backfilled blocks.
    const config = join(dir, 'prometheus.json');
    writeFileSync(config, JSON.stringify({ global: { scrape_interval: '1h', evaluation_interval: '1h' }, scrape_configs: [] }));
    const web: Record<string, unknown> = {};
    const server: Omit<PrometheusServer, 'url' | 'stop'> = {};
    if (o.basicAuth === true) web['basic_auth_users'] = { [TEST_USER]: TEST_PASSWORD_BCRYPT };
    if (o.tls !== undefined) {
      const certs = throwawayCertificates(dir);
      web['tls_server_config'] = {
        cert_file: certs.serverCert,
        key_file: certs.serverKey,
        ...(o.tls.clientCertificate === true ? { client_auth_type: 'RequireAndVerifyClientCert', client_ca_file: certs.ca } : {}),
      };
      Object.assign(server, { caFile: certs.ca, clientCertFile: certs.clientCert, clientKeyFile: certs.clientKey });
    }
    const args = [
      `--config.file=${config}`,
      `--storage.tsdb.path=${data}`,
      // Time retention counts back from the newest block, not from now; long anyway.
      '--storage.tsdb.retention.time=10y',
      '--log.level=warn',
    ];
    if (Object.keys(web).length > 0) {
      const webConfig = join(dir, 'web.json');
      writeFileSync(webConfig, JSON.stringify(web));
      args.push(`--web.config.file=${webConfig}`);
    }
    // A free port can be taken between asking and binding: try another then.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const scheme = o.tls === undefined ? 'http' : 'https';
      const url = `${scheme}://127.0.0.1:${port}`;
      const child = spawn(prometheus, [...args, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      const log: string[] = [];
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (s: string) => {
        log.push(s);
        if (log.length > 200) log.shift();
      });
      const killOnExit = () => child.kill('SIGKILL');
      process.on('exit', killOnExit);
      const stopChild = async () => {
        process.off('exit', killOnExit);
        await stopProcess(child);
      };
      const ready = await waitReady(url, child, server, o.basicAuth === true);
      if (ready === 'ready') {
        return {
          url,
          ...server,
          stop: async () => {
            await stopChild();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await stopChild();
      const said = log.join('');
      if (attempt < 3 && /address already in use/.test(said)) continue;
      throw new Error(`prometheus did not become ready (${ready}): ${said.trim().slice(-2000)}`);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

/** Polls /-/ready (with the server's own credentials and CA) until 200, the process ends, or the time runs out. */
async function waitReady(url: string, child: ChildProcess, tls: { caFile?: string; clientCertFile?: string; clientKeyFile?: string }, basicAuth: boolean): Promise<string> {
  const exited = once(child, 'exit').then(([code, signal]) => `exited with ${String(code ?? signal)}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const headers = basicAuth ? { authorization: `Basic ${Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')}` } : {};
  const options = {
    headers,
    agent: false as const,
    ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
    ...(tls.clientCertFile === undefined || tls.clientKeyFile === undefined ? {} : { cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) }),
  };
  while (Date.now() < deadline) {
    const status = await new Promise<number>((resolve) => {
      const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(`${url}/-/ready`, options, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.setTimeout(1000, () => req.destroy());
      req.on('error', () => resolve(0));
      req.end();
    });
    if (status === 200) return 'ready';
    const end = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 100))]);
    if (end !== undefined) return end;
  }
  return `not ready after ${READY_TIMEOUT_MS / 1000} s`;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface BearerProxy {
  url: string;
  stop(): Promise<void>;
}

/**
 * A loopback reverse proxy in front of `target` (an http Prometheus) that forwards only requests
 * carrying `Authorization: Bearer TOKEN`, as an auth proxy in front of a cluster's Prometheus
 * does; anything else gets 401 with a plain-text body, as such proxies answer.
 */
export async function bearerProxy(target: string, token: string): Promise<BearerProxy> {
  const server: Server = createServer((req, res) => {
    if (req.headers['authorization'] !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      res.end('Unauthorized\n');
      return;
    }
    const headers = { ...req.headers };
    delete headers['authorization'];
    delete headers['host'];
    const upstream = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method, headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
