// Address blocks, as NetworkPolicy `ipBlock` and Istio `ipBlocks` write them. Node's
// BlockList does the bit arithmetic for both families; this file only parses and caches.

import { BlockList, isIP } from 'node:net';

export interface Cidr {
  readonly text: string;
  readonly family: 'ipv4' | 'ipv6';
  /** The address as written and the prefix length (32 or 128 for a bare address). */
  readonly address: string;
  readonly prefix: number;
  contains(ip: string): boolean;
}

/** Whether `inner` lies inside `outer` and is smaller than it. */
export const strictSubset = (inner: Cidr, outer: Cidr) => inner.family === outer.family && inner.prefix > outer.prefix && outer.contains(inner.address);

const cache = new Map<string, Cidr | undefined>();

/**
 * A CIDR (`10.0.0.0/8`) or, when `bareAddress` is allowed, a single address (`10.0.0.1`,
 * as Istio takes it). Undefined when the text is neither.
 */
export function parseCidr(text: string, bareAddress = false): Cidr | undefined {
  const key = `${bareAddress ? 'a' : 'c'}${text}`;
  if (cache.has(key)) return cache.get(key);
  const parsed = parse(text, bareAddress);
  if (cache.size > 10_000) cache.clear();
  cache.set(key, parsed);
  return parsed;
}

function parse(text: string, bareAddress: boolean): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const v = isIP(address);
  if (v === 0) return undefined;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
    prefix = Number(p);
  } else if (!bareAddress) {
    return undefined;
  }
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return {
    text,
    family,
    address,
    prefix,
    contains: (ip: string) => {
      const f = isIP(ip);
      return (f === 4 ? 'ipv4' : f === 6 ? 'ipv6' : undefined) === family && list.check(ip, family);
    },
  };
}
