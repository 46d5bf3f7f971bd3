// The Prometheus API transport against a loopback Node server that answers as Prometheus, a
// proxy in front of it, or a broken server would: what is sent, how an answer is decoded, and
// the InputError (or ConfigError) every failure becomes. The real Prometheus is in
// test/conformance/prometheus-api.test.ts.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ConfigError, InputError, type QueryLocation } from '../../src/errors.js';
import { queryInstant, type PrometheusClientOptions } from '../../src/sources/transports/prometheus-api.js';

const TOKEN = 'tok-3f9a1c77e2b4';
const PASSWORD = 'pw-9d2e77a1';
const QUERY = 'sum by (source_workload) (increase(istio_requests_total[3600s]))';
/** 2025-01-01T01:00:00.123Z */
const AT = Date.UTC(2025, 0, 1, 1, 0, 0, 123);

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: URLSearchParams;
}

type Handler = (req: IncomingMessage, res: ServerResponse, received: Received) => void;

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

const vector = (result: unknown[], extra: Record<string, unknown> = {}) => ({ status: 'success', data: { resultType: 'vector', result }, ...extra });

describe('Prometheus API transport (loopback server)', () => {
  let server: Server;
  let base: string;
  let handler: Handler;
  let received: Received | undefined;

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (b: Buffer) => chunks.push(b));
      req.on('end', () => {
        received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) };
        handler(req, res, received);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  beforeEach(() => {
    received = undefined;
    handler = (_req, res) => json(res, 200, vector([]));
  });

  /** The error `p` rejects with, of class `kind`; checked for what every message must (not) hold. */
  async function failure<T extends Error>(p: Promise<unknown>, kind: new (...args: never[]) => T): Promise<T> {
    const err = await p.then(
      () => assert.fail(`expected a ${kind.name}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof kind, `expected a ${kind.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    assert.equal(err.name, kind.name);
    assert.ok(!/\n\s+at /.test(err.message), `no stack trace in the message: ${err.message}`);
    for (const secret of [TOKEN, PASSWORD, Buffer.from(`u:${PASSWORD}`).toString('base64')]) assert.ok(!err.message.includes(secret), `no credential in the message: ${err.message}`);
    return err;
  }

  const inputError = async (o: Partial<PrometheusClientOptions> = {}, query = QUERY) => {
    const err = await failure(queryInstant({ url: base, ...o }, query, AT), InputError);
    assert.ok(err.message.includes(`${o.url ?? base}`.replace(/\/$/, '')), `names the URL: ${err.message}`);
    assert.ok(err.message.includes(JSON.stringify(query)), `names the query: ${err.message}`);
    return err;
  };

  describe('the request', () => {
    it('POSTs the query form-encoded to /api/v1/query, with the time in seconds and a server-side timeout', async () => {
      await queryInstant({ url: base, timeoutMs: 90_500 }, QUERY, AT);
      assert.ok(received);
      assert.equal(received.method, 'POST');
      assert.equal(received.path, '/api/v1/query');
      assert.equal(received.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.equal(received.body.get('query'), QUERY);
      assert.equal(received.body.get('time'), '1735693200.123');
      assert.equal(received.body.get('timeout'), '91s');
      assert.equal(received.headers['authorization'], undefined);
    });

    it('keeps a path prefix, with or without a trailing slash', async () => {
      await queryInstant({ url: `${base}/prometheus/` }, QUERY, AT);
      assert.equal(received?.path, '/prometheus/api/v1/query');
      await queryInstant({ url: `${base}/prometheus` }, QUERY, AT);
      assert.equal(received?.path, '/prometheus/api/v1/query');
    });

    it('sends a bearer token, basic auth, or a user written in the URL, in the Authorization header only', async () => {
      await queryInstant({ url: base, bearerToken: TOKEN }, QUERY, AT);
      assert.equal(received?.headers['authorization'], `Bearer ${TOKEN}`);
      await queryInstant({ url: base, basicAuth: { username: 'u', password: PASSWORD } }, QUERY, AT);
      assert.equal(received?.headers['authorization'], `Basic ${Buffer.from(`u:${PASSWORD}`).toString('base64')}`);
      const { samples } = await (async () => {
        handler = (_req, res) => json(res, 200, vector([{ metric: {}, value: [1, '1'] }]));
        return queryInstant({ url: base.replace('//', `//u:${PASSWORD}@`) }, QUERY, AT);
      })();
      assert.equal(received?.headers['authorization'], `Basic ${Buffer.from(`u:${PASSWORD}`).toString('base64')}`);
      assert.equal((samples[0]!.location as QueryLocation).url, `${base}/api/v1/query`);
    });
  });

  describe('the answer', () => {
    it('decodes a vector: name, labels, value, time in ms, and a location per series', async () => {
      handler = (_req, res) =>
        json(res, 200, vector([
          { metric: { source_workload: 'a"b\nc\\d', __name__: 'istio_requests_total', __proto__x: 'y' }, value: [1735693200.123, '118.5'] },
          { metric: { source_workload: 'b' }, value: [1735693200, '3e2'] },
        ]));
      const { samples, warnings } = await queryInstant({ url: base }, QUERY, AT);
      assert.deepEqual(warnings, []);
      assert.deepEqual(samples, [
        {
          name: 'istio_requests_total',
          labels: { __proto__x: 'y', source_workload: 'a"b\nc\\d' },
          value: 118.5,
          timestamp: AT,
          location: { url: `${base}/api/v1/query`, query: QUERY, item: 'istio_requests_total{__proto__x="y",source_workload="a\\"b\\nc\\\\d"}' },
        },
        { name: '', labels: { source_workload: 'b' }, value: 300, timestamp: AT - 123, location: { url: `${base}/api/v1/query`, query: QUERY, item: '{source_workload="b"}' } },
      ]);
    });

    it('keeps a label named __proto__ as a label', async () => {
      handler = (_req, res) => {
        const text = '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__proto__":"x"},"value":[1,"1"]}]}}';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(text);
      };
      const { samples } = await queryInstant({ url: base }, QUERY, AT);
      assert.deepEqual(Object.entries(samples[0]!.labels), [['__proto__', 'x']]);
      assert.equal(Object.getPrototypeOf(samples[0]!.labels), Object.prototype);
    });

    it('reads NaN and ±Inf as Prometheus writes them, for the decoder to judge', async () => {
      handler = (_req, res) =>
        json(res, 200, vector([
          { metric: { a: '1' }, value: [1, 'NaN'] },
          { metric: { a: '2' }, value: [1, '+Inf'] },
          { metric: { a: '3' }, value: [1, '-Inf'] },
        ]));
      const { samples } = await queryInstant({ url: base }, QUERY, AT);
      assert.deepEqual(samples.map((s) => s.value), [NaN, Infinity, -Infinity]);
    });

    it('returns warnings and infos beside the samples', async () => {
      handler = (_req, res) => json(res, 200, vector([], { warnings: ['remote read partial'], infos: ['PromQL info: metric might not be a counter'] }));
      assert.deepEqual((await queryInstant({ url: base }, QUERY, AT)).warnings, ['remote read partial', 'PromQL info: metric might not be a counter']);
    });

    it('reads a gzip-encoded answer', async () => {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify(vector([{ metric: { a: 'b' }, value: [1, '2'] }]))));
      };
      assert.equal((await queryInstant({ url: base }, QUERY, AT)).samples[0]?.value, 2);
      assert.equal(received?.headers['accept-encoding'], 'gzip');
    });
  });

  describe('errors', () => {
    it('503 with Retry-After: retriable, with Prometheus\' error and when to try again', async () => {
      handler = (_req, res) => json(res, 503, { status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' }, { 'retry-after': '7' });
      const err = await inputError();
      assert.equal(err.retriable, true);
      assert.match(err.message, /\b7 s\b/);
      assert.ok(err.message.includes('timeout'));
    });

    it('500 with a text body, 502 from a proxy, 429: retriable', async () => {
      for (const status of [500, 502, 429]) {
        handler = (_req, res) => {
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end('upstream connect error or disconnect/reset before headers');
        };
        assert.equal((await inputError()).retriable, true, String(status));
      }
    });

    it('400 and 422 with Prometheus\' errorType and error: not retriable, the error quoted', async () => {
      for (const [status, errorType] of [
        [400, 'bad_data'],
        [422, 'execution'],
      ] as const) {
        handler = (_req, res) => json(res, status, { status: 'error', errorType, error: '1:9: parse error: unexpected end of input' });
        const err = await inputError();
        assert.equal(err.retriable, false);
        assert.ok(err.message.includes(errorType) && err.message.includes('parse error'), err.message);
      }
    });

    it('401 and 403: not retriable, the token not in the message', async () => {
      for (const status of [401, 403]) {
        handler = (req, res) => {
          res.writeHead(status, { 'content-type': 'text/plain' });
          // A proxy that echoes what it was given must not put it into ztmap's message either.
          res.end(`denied: ${req.headers['authorization'] ?? ''}`);
        };
        const err = await inputError({ bearerToken: TOKEN });
        assert.equal(err.retriable, false);
      }
    });

    it('404: not retriable', async () => {
      handler = (_req, res) => {
        res.writeHead(404);
        res.end('404 page not found\n');
      };
      assert.equal((await inputError()).retriable, false);
    });

    it('a redirect: named without its query (an OAuth proxy puts state and tokens there)', async () => {
      handler = (_req, res) => {
        res.writeHead(302, { location: `https://login.example/oauth?token=${TOKEN}` });
        res.end();
      };
      const err = await inputError();
      assert.ok(err.message.includes('https://login.example/oauth'), err.message);
    });

    it('a body that is not JSON, or JSON that is not the envelope', async () => {
      for (const body of ['<html><body>Sign in</body></html>', '[1,2]', '{"status":"maybe"}', '{"status":"success"}', '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}']) {
        handler = (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(body);
        };
        assert.equal((await inputError()).retriable, false, body);
      }
    });

    it('status "error" in a 200 answer', async () => {
      handler = (_req, res) => json(res, 200, { status: 'error', errorType: 'internal', error: 'boom' });
      assert.ok((await inputError()).message.includes('internal'));
    });

    it('a matrix, a scalar or a string: not the vector an instant aggregation gives', async () => {
      for (const resultType of ['matrix', 'scalar', 'string']) {
        handler = (_req, res) => json(res, 200, { status: 'success', data: { resultType, result: resultType === 'matrix' ? [{ metric: {}, values: [[1, '1']] }] : [1, '1'] } });
        const err = await inputError();
        assert.ok(err.message.includes(resultType), err.message);
      }
    });

    it('an answer over the bound: with a length, chunked, or gzip that inflates past it', async () => {
      const big = JSON.stringify(vector(Array.from({ length: 200 }, (_, i) => ({ metric: { source_workload: `w${i}` }, value: [1, '1'] }))));
      const answers: Handler[] = [
        (_req, res) => json(res, 200, JSON.parse(big)),
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          for (let i = 0; i < big.length; i += 100) res.write(big.slice(i, i + 100));
          res.end();
        },
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(big));
        },
      ];
      for (const answer of answers) {
        handler = answer;
        const err = await inputError({ maxAnswerBytes: 1024 });
        assert.equal(err.retriable, false);
        assert.match(err.message, /1024 bytes/);
      }
      handler = answers[0]!;
      assert.equal((await queryInstant({ url: base, maxAnswerBytes: big.length }, QUERY, AT)).samples.length, 200, 'an answer of exactly the bound is read');
    });

    it('a server that does not answer, or stops in the middle: a retriable timeout', async () => {
      handler = () => {};
      const started = Date.now();
      const err = await inputError({ timeoutMs: 200 });
      assert.equal(err.retriable, true);
      assert.ok(Date.now() - started < 5000);
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"status":"success","data":{"resultType":"vector","result":[');
      };
      assert.equal((await inputError({ timeoutMs: 200 })).retriable, true);
    });

    it('a connection cut before the answer\'s end: retriable', async () => {
      handler = (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"status":"success"', () => req.socket.destroy());
      };
      assert.equal((await inputError()).retriable, true);
    });

    it('gzip that does not decompress', async () => {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end('not gzip at all');
      };
      await inputError();
    });

    it('a refused connection (retriable) and a name that does not resolve', async () => {
      const closed = createServer();
      closed.listen(0, '127.0.0.1');
      await once(closed, 'listening');
      const port = (closed.address() as AddressInfo).port;
      closed.close();
      await once(closed, 'close');
      assert.equal((await inputError({ url: `http://127.0.0.1:${port}` })).retriable, true);
      // .invalid never resolves (RFC 6761); without DNS at all the lookup fails too.
      await inputError({ url: 'http://prometheus.invalid:9090', timeoutMs: 10_000 });
    });

    it('https:// to a server without TLS: not retriable', async () => {
      const err = await inputError({ url: base.replace('http:', 'https:') });
      assert.equal(err.retriable, false);
    });

    it('a CA file that cannot be read: an InputError naming the file', async () => {
      const err = await failure(queryInstant({ url: base, caFile: '/nonexistent/ca.pem' }, QUERY, AT), InputError);
      assert.ok(err.message.includes('/nonexistent/ca.pem'));
    });
  });

  describe('options that cannot work: a ConfigError', () => {
    const cases: [string, PrometheusClientOptions][] = [
      ['two sets of credentials', { url: 'http://127.0.0.1:9', bearerToken: TOKEN, basicAuth: { username: 'u', password: PASSWORD } }],
      ['a token and a user in the URL', { url: `http://u:${PASSWORD}@127.0.0.1:9`, bearerToken: TOKEN }],
      ['a URL with a query', { url: `http://127.0.0.1:9/?token=${TOKEN}` }],
      ['not a URL', { url: `http://u:${PASSWORD}@[bad` }],
      ['another scheme', { url: 'ftp://127.0.0.1/' }],
      ['a certificate without its key', { url: 'https://127.0.0.1:9', certFile: '/c.pem' }],
    ];
    for (const [what, o] of cases) {
      it(what, async () => {
        await failure(queryInstant(o, QUERY, AT), ConfigError);
      });
    }
    it('a time that is not a time', async () => {
      await failure(queryInstant({ url: base }, QUERY, NaN), ConfigError);
    });
  });
});
