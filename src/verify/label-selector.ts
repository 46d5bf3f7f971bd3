// Kubernetes LabelSelector (matchLabels AND matchExpressions), as NetworkPolicy uses it.

import { selects } from '../flow/labels.js';

export interface Requirement {
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

/** A selector, or a message saying why the API server would reject it. */
export function parseLabelSelector(v: unknown, where: string): LabelSelector | string {
  if (v === null || v === undefined) return { matchLabels: {}, matchExpressions: [] };
  if (!isObj(v)) return `${where} is not an object`;
  const matchLabels: Record<string, string> = {};
  const ml = v['matchLabels'];
  if (ml !== undefined && ml !== null) {
    if (!isObj(ml)) return `${where}.matchLabels is not a map`;
    for (const [k, val] of Object.entries(ml)) {
      if (typeof val !== 'string') return `${where}.matchLabels.${k} is not a string`;
      matchLabels[k] = val;
    }
  }
  const matchExpressions: Requirement[] = [];
  const me = v['matchExpressions'];
  if (me !== undefined && me !== null) {
    if (!Array.isArray(me)) return `${where}.matchExpressions is not a list`;
    for (const [i, e] of me.entries()) {
      const at = `${where}.matchExpressions[${i}]`;
      if (!isObj(e) || typeof e['key'] !== 'string') return `${at} has no key`;
      const op = e['operator'];
      const values = e['values'] ?? [];
      if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) return `${at}.values is not a list of strings`;
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

export function describeSelector(s: LabelSelector): string {
  const parts = Object.keys(s.matchLabels)
    .sort()
    .map((k) => `${k}=${s.matchLabels[k]}`);
  for (const r of s.matchExpressions) parts.push(r.values.length > 0 ? `${r.key} ${r.operator} (${r.values.join(',')})` : `${r.operator === 'Exists' ? '' : '!'}${r.key}`);
  return parts.length === 0 ? '(all)' : parts.join(',');
}
