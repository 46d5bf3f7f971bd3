// Kubernetes LabelSelector (matchLabels AND matchExpressions), as NetworkPolicy uses it.

import { selects } from '../flow/labels.js';

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values: string[];
}

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: Requirement[];
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Why the API server would refuse a label key (`[prefix/]name`: a DNS subdomain of at most
 * 253 characters, then a name of at most 63), or undefined. Checking matters beyond
 * politeness: a key like `__proto__` would otherwise vanish from a plain object and leave a
 * selector that selects everything.
 */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `label key "${key}" has an invalid prefix (a DNS subdomain)`;
  if (name.length > 63 || !NAME.test(name)) return `label key "${key}" is not a valid label name (alphanumerics, '-', '_' or '.', at most 63)`;
  return undefined;
}

/** Why the API server would refuse a label value (empty, or a name of at most 63), or undefined. */
export function labelValueProblem(value: string): string | undefined {
  return value === '' || (value.length <= 63 && NAME.test(value)) ? undefined : `label value "${value}" is not a valid label value (alphanumerics, '-', '_' or '.', at most 63)`;
}

/** A matchLabels map checked key by key and value by value, or why it would be refused. */
export function parseMatchLabels(ml: unknown, where: string): Record<string, string> | string {
  if (ml === undefined || ml === null) return {};
  if (!isObj(ml)) return `${where} is not a map`;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(ml)) {
    if (typeof val !== 'string') return `${where}.${k} is not a string`;
    const problem = labelKeyProblem(k) ?? labelValueProblem(val);
    if (problem !== undefined) return `${where}: ${problem}`;
    out[k] = val;
  }
  return out;
}

/** A selector, or a message saying why the API server would reject it. */
export function parseLabelSelector(v: unknown, where: string): LabelSelector | string {
  if (v === null || v === undefined) return { matchLabels: {}, matchExpressions: [] };
  if (!isObj(v)) return `${where} is not an object`;
  const matchLabels = parseMatchLabels(v['matchLabels'], `${where}.matchLabels`);
  if (typeof matchLabels === 'string') return matchLabels;
  const matchExpressions: Requirement[] = [];
  const me = v['matchExpressions'];
  if (me !== undefined && me !== null) {
    if (!Array.isArray(me)) return `${where}.matchExpressions is not a list`;
    for (const [i, e] of me.entries()) {
      const at = `${where}.matchExpressions[${i}]`;
      if (!isObj(e) || typeof e['key'] !== 'string') return `${at} has no key`;
      const keyProblem = labelKeyProblem(e['key']);
      if (keyProblem !== undefined) return `${at}: ${keyProblem}`;
      const op = e['operator'];
      const values = e['values'] ?? [];
      if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) return `${at}.values is not a list of strings`;
      const valueProblem = values.map(labelValueProblem).find((x) => x !== undefined);
      if (valueProblem !== undefined) return `${at}: ${valueProblem}`;
      if (op === 'In' || op === 'NotIn') {
        if (values.length === 0) return `${at}: operator ${op} needs values`;
      } else if (op === 'Exists' || op === 'DoesNotExist') {
        if (values.length > 0) return `${at}: operator ${op} takes no values`;
      } else {
        return `${at}: unknown operator ${String(op)}`;
      }
      matchExpressions.push({ key: e['key'], operator: op, values: values as string[] });
    }
  }
  return { matchLabels, matchExpressions };
}

export function matchesSelector(s: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  if (!selects(s.matchLabels, labels)) return false;
  for (const r of s.matchExpressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'In':
        if (!has || !r.values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && r.values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
