// Four small services of a shop, instrumented by ./telemetry.js (loaded first with `--import`),
// each a child process of test/e2e/otel-services.test.ts: `node --import telemetry.js shop.js ROLE`.
//
//   web       GET  /shop/{userId}?cart=ID[&order=ID][&token=…]  (called by the test, as an ingress would)
//             → cart   GET  /cart/{cartId}[?token=…]
//             → orders POST /orders/{orderId}/items             (when `order` is given)
//             → recommendations GET /recommendations/{userId}[?token=…]  (not traced: the test serves it)
//   cart      GET  /cart/{cartId}
//   orders    POST /orders/{orderId}/items → payments gRPC shop.Payments/Charge
//   payments  gRPC shop.Payments/Charge
//
// Every process listens on 127.0.0.1 at a port the system chooses and tells the test which one
// (IPC message `{ port }`). Callers address their callees by Kubernetes names and their Services'
// ports (`cart.shop.svc.cluster.local:PORT`; the test forwards each Service port to the pod's, as
// kube-proxy would), resolved to 127.0.0.1 by a `lookup` of their own, so that the client spans say
// `server.address=cart.shop.svc.cluster.local` as they would in a cluster. The Services' ports come
// from the environment (ShopEnv).

import http from 'node:http';
import type { LookupFunction } from 'node:net';
import grpc from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';

export type Role = 'web' | 'cart' | 'orders' | 'payments';

/** The ports of the callees' Services, as the test gives them. */
export type ShopEnv = {
  SHOP_CART_PORT?: string;
  SHOP_ORDERS_PORT?: string;
  SHOP_PAYMENTS_PORT?: string;
  SHOP_RECOMMENDATIONS_PORT?: string;
};

/** The payments service: no .proto, JSON messages, as a generic grpc-js service definition. */
const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString('utf8')),
};
const PAYMENTS: grpc.ServiceDefinition = {
  Charge: {
    path: '/shop.Payments/Charge',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

/** Every Kubernetes name resolves to the loopback address (Node 20 asks for all addresses). */
const loopback: LookupFunction = (_host, options, callback) => {
  if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

function portOf(name: keyof ShopEnv): number {
  const v = Number(process.env[name]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} is not set`);
  return v;
}

function ready(port: number): void {
  process.send?.({ port });
}

/** An HTTP request to `service` in namespace shop, by its cluster name. */
function request(service: string, port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: `${service}.shop.svc.cluster.local`,
        port,
        method,
        path,
        lookup: loopback,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A route of a plain node:http server. A web framework's instrumentation (Express, Fastify…) sets
 * `http.route` on the server span to the route that matched; node:http has no routes, so the
 * handler does it itself, on the span the HTTP instrumentation made active for this request.
 */
interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  handle(params: string[], url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
}

function serve(routes: Route[]): void {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://service');
    const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    if (route === undefined) return send(res, 404, { error: 'no route' });
    trace.getActiveSpan()?.setAttribute('http.route', route.template);
    const params = route.pattern.exec(url.pathname)!.slice(1);
    route.handle(params, url, req, res).catch((e: unknown) => send(res, 502, { error: String(e) }));
  });
  server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port));
}

function web(): void {
  const cart = portOf('SHOP_CART_PORT');
  const orders = portOf('SHOP_ORDERS_PORT');
  const recommendations = portOf('SHOP_RECOMMENDATIONS_PORT');
  serve([
    {
      method: 'GET',
      template: '/shop/{userId}',
      pattern: /^\/shop\/([^/]+)$/,
      async handle([user], url, _req, res) {
        const token = url.searchParams.get('token');
        const query = token === null ? '' : `?token=${encodeURIComponent(token)}`;
        const c = await request('cart', cart, 'GET', `/cart/${url.searchParams.get('cart') ?? ''}${query}`);
        const order = url.searchParams.get('order');
        const o = order === null ? undefined : await request('orders', orders, 'POST', `/orders/${order}/items`, { user, sku: 'sku-1', quantity: 1 });
        const r = await request('recommendations', recommendations, 'GET', `/recommendations/${user}${query}`);
        const ok = c.status === 200 && (o === undefined || o.status === 201) && r.status === 200;
        send(res, ok ? 200 : 502, { cart: c.status, orders: o?.status ?? null, recommendations: r.status });
      },
    },
  ]);
}

function cart(): void {
  serve([
    {
      method: 'GET',
      template: '/cart/{cartId}',
      pattern: /^\/cart\/([^/]+)$/,
      async handle([id], _url, _req, res) {
        send(res, 200, { cart: id, items: [] });
        return Promise.resolve();
      },
    },
  ]);
}

/**
 * grpc-js resolves `dns:` names itself (there is no `lookup` option to give it), so the channel
 * names the Service through a resolver of our own, scheme `loopback`, which resolves every name to
 * 127.0.0.1: `loopback:payments.shop.svc.cluster.local:PORT`. The gRPC instrumentation takes
 * `server.address` and `server.port` from the channel target, so the client span names the
 * Service as it would in a cluster (`dns:payments.shop.svc.cluster.local:PORT`).
 */
class LoopbackResolver implements grpc.experimental.Resolver {
  private readonly _port: number;
  constructor(
    target: grpc.experimental.GrpcUri,
    private readonly _listener: grpc.experimental.ResolverListener,
  ) {
    this._port = grpc.experimental.splitHostPort(target.path)?.port ?? 0;
  }
  updateResolution(): void {
    process.nextTick(() => this._listener({ ok: true, value: [{ addresses: [{ host: '127.0.0.1', port: this._port }] }] }, {}, null, ''));
  }
  destroy(): void {}
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return target.path;
  }
}

function orders(): void {
  const port = portOf('SHOP_PAYMENTS_PORT');
  grpc.experimental.registerResolver('loopback', LoopbackResolver);
  const Payments = grpc.makeGenericClientConstructor(PAYMENTS, 'Payments');
  const payments = new Payments(`loopback:payments.shop.svc.cluster.local:${port}`, grpc.credentials.createInsecure());
  const charge = (order: string) =>
    new Promise<unknown>((resolve, reject) => {
      payments['Charge']!({ order, amount: 1250 }, (err: grpc.ServiceError | null, reply: unknown) => (err ? reject(err) : resolve(reply)));
    });
  serve([
    {
      method: 'POST',
      template: '/orders/{orderId}/items',
      pattern: /^\/orders\/([^/]+)\/items$/,
      async handle([id], _url, req, res) {
        await readBody(req);
        const receipt = await charge(id!);
        send(res, 201, { order: id, receipt });
      },
    },
  ]);
}

function payments(): void {
  const server = new grpc.Server();
  server.addService(PAYMENTS, {
    Charge: (call: grpc.ServerUnaryCall<{ order: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, { order: call.request.order, status: 'charged' });
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    ready(port);
  });
}

const roles: Record<Role, () => void> = { web, cart, orders, payments };
const role = Object.hasOwn(roles, process.argv[2] ?? '') ? roles[process.argv[2] as Role] : undefined;
if (role === undefined) throw new Error(`usage: shop.js ${Object.keys(roles).join('|')}`);
role();
