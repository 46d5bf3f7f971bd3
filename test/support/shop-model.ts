// A small shop in a mesh, as a traffic model: who calls whom, on which routes, with ids of
// every shape (product codes, numbers, UUIDs, emails, dates, JWTs, gift-card and currency
// codes) and fixed routes beside them. `day(model, n, seed)` renders one day of Istio TEXT
// access-log lines (both sidecars of every request, as fixtures/bookinfo/logs), with ids
// drawn from `seed`: two days of one model differ only in their ids. Deterministic.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../src/inventory/load.js';
import { Mulberry32 } from '../../scripts/mulberry32.js';
import { owned, pod, service } from './kube.js';

/** The model's generator: mulberry32 (scripts/mulberry32.ts) with pickers for ids. */
class Rng extends Mulberry32 {
  constructor(seed: number) {
    super(seed * 0x9e3779b1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HEX = '0123456789abcdef';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar', 'peggy', 'trent', 'victor', 'walter'];
const DOMAINS = ['example.com', 'mail.example.org', 'shop.example.co.uk'];
const CURRENCIES = ['EUR', 'USD', 'JPY', 'GBP', 'CAD', 'CHF', 'AUD', 'SEK', 'NOK', 'PLN', 'CZK', 'HUF'];

/** Id generators, by the shape a real service would use. */
const ids = {
  product: (r: Rng) => r.chars(UPPER_ALNUM, 10), // Online Boutique: 0PUK6V6EV0, OLJCESPC7Z
  number: (r: Rng) => String(r.int(1, 99_999_999)),
  uuid: (r: Rng) => `${r.chars(HEX, 8)}-${r.chars(HEX, 4)}-4${r.chars(HEX, 3)}-${r.pick(['8', '9', 'a', 'b'])}${r.chars(HEX, 3)}-${r.chars(HEX, 12)}`,
  email: (r: Rng) => `${r.pick(NAMES)}${r.pick(['', '.', '_'])}${r.pick(NAMES)}${r.int(0, 99)}@${r.pick(DOMAINS)}`,
  jwt: (r: Rng) => `eyJhbGciOiJSUzI1NiJ9.eyJ${r.chars(B64URL, 40)}.${r.chars(B64URL, 43)}`,
  giftcard: (r: Rng) => `${r.chars(UPPER_ALNUM, 4)}-${r.chars(UPPER_ALNUM, 4)}-${r.chars(UPPER_ALNUM, 4)}`,
  currency: (r: Rng) => r.pick(CURRENCIES),
};

/** One route of an edge: method, how the path is drawn for a day (its ids from `r`), and weight. */
interface Route {
  method: string;
  path: (r: Rng, day: Date) => string;
  weight: number;
}

interface Workload {
  ns: string;
  name: string;
  ip: string;
  port: number;
  clusterIP: string;
}

interface Edge {
  from: Workload;
  to: Workload;
  grpc?: boolean;
  routes: Route[];
}

interface Model {
  workloads: Workload[];
  gateway: Workload;
  edges: Edge[];
}

const date = (d: Date, r: Rng) => new Date(d.getTime() - r.int(0, 30) * 86_400_000).toISOString().slice(0, 10);

function shopModel(): Model {
  let n = 10;
  const w = (name: string, port: number): Workload => ({ ns: 'shop', name, ip: `10.244.1.${n}`, port, clusterIP: `10.96.1.${n++}` });
  const frontend = w('frontend', 8080);
  const catalog = w('productcatalog', 3550);
  const currency = w('currency', 7000);
  const cart = w('cart', 7070);
  const orders = w('orders', 8080);
  const payments = w('payments', 8080);
  const users = w('users', 8080);
  const shipping = w('shipping', 50051);
  const recommend = w('recommendation', 8080);
  const reports = w('reports', 8080);
  const gateway: Workload = { ns: 'istio-system', name: 'istio-ingressgateway', ip: '10.244.0.5', port: 8080, clusterIP: '10.96.0.80' };
  const route = (method: string, weight: number, path: Route['path']): Route => ({ method, weight, path });
  const edges: Edge[] = [
    {
      from: gateway,
      to: frontend,
      routes: [
        route('GET', 10, () => '/'),
        route('GET', 30, (r) => `/product/${ids.product(r)}`),
        route('GET', 8, () => '/cart'),
        route('POST', 4, () => '/cart/checkout'),
        route('POST', 2, () => '/setCurrency'),
        route('GET', 6, (r) => `/static/img/products/${r.pick(['sunglasses', 'tank-top', 'watch', 'loafers', 'hairdryer'])}.jpg`),
        route('GET', 2, () => '/_healthz'),
      ],
    },
    {
      from: frontend,
      to: catalog,
      grpc: true,
      routes: [route('POST', 10, () => '/hipstershop.ProductCatalogService/GetProduct'), route('POST', 4, () => '/hipstershop.ProductCatalogService/ListProducts')],
    },
    { from: frontend, to: currency, routes: [route('GET', 6, (r) => `/convert/${ids.currency(r)}`), route('GET', 2, () => '/currencies')] },
    {
      from: frontend,
      to: cart,
      routes: [route('GET', 8, (r) => `/users/${ids.email(r)}/cart`), route('POST', 4, (r) => `/users/${ids.email(r)}/cart/items`), route('DELETE', 1, (r) => `/users/${ids.email(r)}/cart`)],
    },
    {
      from: frontend,
      to: orders,
      routes: [route('POST', 4, () => '/orders'), route('GET', 6, (r) => `/orders/${ids.number(r)}`), route('GET', 3, (r) => `/orders/${ids.uuid(r)}/status`)],
    },
    { from: frontend, to: users, routes: [route('GET', 5, (r) => `/sessions/${ids.jwt(r)}`), route('POST', 1, () => '/login')] },
    { from: frontend, to: recommend, routes: [route('GET', 5, (r) => `/recommendations?user=${ids.email(r)}`)] },
    { from: recommend, to: catalog, routes: [route('GET', 5, (r) => `/products/${ids.product(r)}/related`)] },
    {
      from: orders,
      to: payments,
      routes: [route('POST', 4, (r) => `/payments/${ids.uuid(r)}/capture`), route('GET', 2, (r) => `/giftcards/${ids.giftcard(r)}/balance`)],
    },
    { from: orders, to: users, routes: [route('GET', 4, (r) => `/users/${ids.email(r)}`)] },
    { from: orders, to: shipping, routes: [route('GET', 3, (r) => `/quotes/${ids.product(r)}`), route('POST', 2, () => '/shipments')] },
    {
      from: reports,
      to: orders,
      routes: [route('GET', 2, (r, d) => `/reports/daily/${date(d, r)}`), route('GET', 1, (r, d) => `/orders/by-day/${date(d, r)}T${String(r.int(0, 23)).padStart(2, '0')}:00:00Z`)],
    },
  ];
  return { workloads: [frontend, catalog, currency, cart, orders, payments, users, shipping, recommend, reports], gateway, edges };
}

/** The inventory of the model: the shop's Deployments with sidecars, the ingress gateway, istiod and CoreDNS. */
function writeShopInventory(model: Model, file: string): void {
  const start = '2026-11-20T00:00:00Z';
  const items: KubeObject[] = [];
  const deployment = (ns: string, name: string, ip: string, o: { labels: Record<string, string>; sa: string; ports: [string, number][] }) => {
    const hash = `${name.length}b${name.length * 7}c9d4f`;
    items.push(owned('Deployment', ns, name), owned('ReplicaSet', ns, `${name}-${hash}`, ['Deployment', name]));
    items.push(pod(ns, `${name}-${hash}-x${name.length}z9q`, { ip, owner: ['ReplicaSet', `${name}-${hash}`], labels: { ...o.labels, 'pod-template-hash': hash }, sa: o.sa, start, ports: o.ports }));
  };
  for (const ns of ['shop', 'istio-system', 'kube-system']) {
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, ...(ns === 'shop' ? { 'istio-injection': 'enabled' } : {}) } } });
  }
  for (const wl of model.workloads) {
    deployment(wl.ns, wl.name, wl.ip, { labels: { app: wl.name }, sa: wl.name, ports: [[wl.port === 3550 || wl.port === 50051 ? 'grpc' : 'http', wl.port]] });
    items.push(service(wl.ns, wl.name, { app: wl.name }, [[wl.port, wl.port]], wl.clusterIP));
  }
  const gw = model.gateway;
  deployment(gw.ns, gw.name, gw.ip, { labels: { app: gw.name, istio: 'ingressgateway', 'sidecar.istio.io/inject': 'false' }, sa: 'istio-ingressgateway-service-account', ports: [['http2', 8080]] });
  items.push(service(gw.ns, gw.name, { istio: 'ingressgateway' }, [[80, 8080]], gw.clusterIP));
  deployment('istio-system', 'istiod', '10.244.0.6', { labels: { app: 'istiod', istio: 'pilot', 'sidecar.istio.io/inject': 'false' }, sa: 'istiod', ports: [['grpc-xds', 15012]] });
  items.push(service('istio-system', 'istiod', { app: 'istiod' }, [[15012, 15012]], '10.96.0.12'));
  deployment('kube-system', 'coredns', '10.244.0.7', { labels: { 'k8s-app': 'kube-dns' }, sa: 'coredns', ports: [['dns', 53]] });
  items.push(service('kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, [[53, 53]], '10.96.0.10'));
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

/**
 * One day of traffic: `requests` requests spread over the day, each edge chosen by the
 * total weight of its routes and a route by its weight, ids drawn from `seed`. Each request
 * is logged by the client's sidecar (outbound; the gateway for ingress) and by the server's
 * (inbound, over mTLS). Returns the lines, in time order.
 */
function day(model: Model, day: Date, requests: number, seed: number): string[] {
  const r = new Rng(seed);
  const choices: { edge: Edge; route: Route }[] = [];
  for (const edge of model.edges) for (const route of edge.routes) for (let i = 0; i < route.weight; i++) choices.push({ edge, route });
  const lines: string[] = [];
  const step = 86_000_000 / requests;
  for (let i = 0; i < requests; i++) {
    const { edge, route } = r.pick(choices);
    const t = new Date(day.getTime() + Math.floor(i * step) + r.int(0, 999)).toISOString();
    const path = route.path(r, day);
    const { from, to } = edge;
    const fqdn = `${to.name}.${to.ns}.svc.cluster.local`;
    const protocol = edge.grpc === true ? 'HTTP/2' : 'HTTP/1.1';
    const id = `${r.chars(HEX, 8)}-${r.chars(HEX, 4)}-${r.chars(HEX, 4)}-${r.chars(HEX, 4)}-${r.chars(HEX, 12)}`;
    const [p1, p2, p3] = [r.int(32768, 60999), r.int(32768, 60999), r.int(32768, 60999)];
    const request = `[${t}] "${route.method} ${path} ${protocol}" 200 - via_upstream - "-" 0 ${r.int(100, 9000)} ${r.int(1, 40)} ${r.int(1, 39)} "-" "shop/${from.name}" "${id}" "${to.name}:${to.port}"`;
    lines.push(`${request} "${to.ip}:${to.port}" outbound|${to.port}||${fqdn} ${from.ip}:${p1} ${to.clusterIP}:${to.port} ${from.ip}:${p2} - default`);
    lines.push(`${request} "${to.ip}:${to.port}" inbound|${to.port}|| 127.0.0.6:${p3} ${to.ip}:${to.port} ${from.ip}:${p1} outbound_.${to.port}_._.${fqdn} default`);
  }
  return lines;
}

/** Writes day 1 and day 2 of the model (seeds 1 and 2) and the inventory under `dir`. */
export function writeTwoDays(dir: string, requests: number): { inventory: string; day1: string; day2: string } {
  const model = shopModel();
  const inventory = join(dir, 'inventory.json');
  writeShopInventory(model, inventory);
  const day1 = join(dir, 'day1.log');
  const day2 = join(dir, 'day2.log');
  writeFileSync(day1, day(model, new Date('2026-11-24T00:00:00Z'), requests, 1).join('\n') + '\n');
  writeFileSync(day2, day(model, new Date('2026-11-25T00:00:00Z'), requests, 2).join('\n') + '\n');
  return { inventory, day1, day2 };
}
