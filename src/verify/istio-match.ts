// Istio's string matches (exact `abc`, prefix `abc*`, suffix `*abc`, presence `*`; a `*`
// anywhere else is a literal), and the same matches against a path template, which stands
// for every path it was made from.

import type { Tri } from './tri.js';

/** Whether `value` matches the Istio string `pattern`; an absent or empty value matches nothing. */
export function istioStringMatch(pattern: string, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined || value === '') return false;
  const v = ignoreCase ? value.toLowerCase() : value;
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  if (p === '*') return true;
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  return v === p;
}

/**
 * A request path as replay knows it: a concrete path (from a log line, query dropped), or a
 * template from the graph (`/api/products/{id}`), whose placeholders stand for segments.
 */
export interface PathValue {
  text: string;
  template: boolean;
}

/** Placeholders of graph templates, as expressions over the raw text they replaced. */
const PLACEHOLDER: Record<string, string> = {
  '{id}': '[0-9]+',
  '{uuid}': '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}',
  '{hex}': '[0-9A-Fa-f]{8,}',
  '{token}': '[^/]+',
  '{more}': '.*',
};
const HOLE = /\{(?:id|uuid|hex|token|more|invalid)\}/g;

interface TemplateParts {
  /** Literal text before the first placeholder, and after the last. */
  head: string;
  tail: string;
  holes: boolean;
  /** Anything at all (a path that did not start with `/`). */
  opaque: boolean;
  regex: RegExp;
}

const partsCache = new Map<string, TemplateParts>();

function partsOf(template: string): TemplateParts {
  let p = partsCache.get(template);
  if (p !== undefined) return p;
  const pieces = template.split(HOLE);
  const holes: string[] = template.match(HOLE) ?? [];
  const source = pieces.map((lit, i) => escapeRegex(lit) + (i < holes.length ? (PLACEHOLDER[holes[i]!] ?? '.*') : '')).join('');
  p = {
    head: pieces[0]!,
    tail: pieces[pieces.length - 1]!,
    holes: holes.length > 0,
    opaque: holes.includes('{invalid}'),
    regex: new RegExp(`^${source}$`, 's'),
  };
  if (partsCache.size > 10_000) partsCache.clear();
  partsCache.set(template, p);
  return p;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Istio's path match. Besides the string matches, Istio (1.22 and later) takes path
 * templates with `{*}` (one segment) and `{**}` (any number of segments, last only).
 */
export function pathMatch(pattern: string, path: PathValue): Tri {
  const istioTemplate = pattern.includes('{*}') || pattern.includes('{**}');
  if (!path.template) {
    return istioTemplate ? istioTemplateRegex(pattern).test(path.text) : istioStringMatch(pattern, path.text);
  }
  const t = partsOf(path.text);
  if (!t.holes) return pathMatch(pattern, { text: path.text, template: false });
  if (t.opaque || istioTemplate) return undefined;
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1);
    if (t.tail.endsWith(suffix)) return true;
    return suffix.endsWith(t.tail) ? undefined : false;
  }
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    if (t.head.startsWith(prefix)) return true;
    return prefix.startsWith(t.head) ? undefined : false;
  }
  // Exact: some path of the template may be exactly this one.
  return t.regex.test(pattern) ? undefined : false;
}

const templateCache = new Map<string, RegExp>();

function istioTemplateRegex(pattern: string): RegExp {
  let r = templateCache.get(pattern);
  if (r === undefined) {
    const source = pattern
      .split(/(\{\*\*\}|\{\*\})/)
      .map((part) => (part === '{**}' ? '.*' : part === '{*}' ? '[^/]+' : escapeRegex(part)))
      .join('');
    r = new RegExp(`^${source}$`, 's');
    if (templateCache.size > 1_000) templateCache.clear();
    templateCache.set(pattern, r);
  }
  return r;
}
