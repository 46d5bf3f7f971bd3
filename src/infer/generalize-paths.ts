// Observed path templates → the path matches a policy can express. Istio matches paths
// exactly, by prefix (`/a/*`), by suffix or by presence only (design.md §3), so:
//   - a template with a placeholder becomes a prefix up to the placeholder
//     (`/api/v1/products/{id}` → `/api/v1/products/*`): the id itself never reaches a policy;
//   - more than `siblingLimit` distinct children under one parent collapse to the parent's
//     prefix (`/static/a.css`, `/static/b.js`, … → `/static/*`);
//   - a literal `*` in an observed path would be read by Istio as a wildcard, so such a path
//     is cut to a prefix before it rather than emitted as an "exact" match that is not;
//   - a match covered by a broader prefix is dropped.
// Without the complete observed set (the graph kept only the first 200 templates) no path
// restriction is safe: the result is `any`, and the rule says so.

import type { PathMatch } from '../rules/access-rule.js';

export interface GeneralizedPaths {
  paths: PathMatch[] | 'any';
  notes: string[];
}

export const DEFAULT_SIBLING_LIMIT = 8;

/** The prefix a template stands for, or undefined when it is a literal path. */
function prefixOf(template: string): string | undefined {
  const brace = template.indexOf('{');
  const star = template.indexOf('*');
  const cut = brace < 0 ? star : star < 0 ? brace : Math.min(brace, star);
  if (cut < 0) return undefined;
  // Cut at the start of the segment holding the placeholder: `/a/b{id}` → `/a/`.
  return template.slice(0, template.lastIndexOf('/', cut) + 1);
}

function parentOf(path: string): string {
  const trimmed = path.endsWith('/') && path.length > 1 ? path.slice(0, -1) : path;
  return trimmed.slice(0, trimmed.lastIndexOf('/') + 1);
}

const byValue = (a: PathMatch, b: PathMatch) => (a.value < b.value ? -1 : a.value > b.value ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0);

/** Merge matches with equal kind and value, and drop those a prefix already covers. */
function normalize(matches: PathMatch[]): PathMatch[] {
  const merged = new Map<string, PathMatch>();
  for (const m of matches) {
    const k = `${m.kind} ${m.value}`;
    const prev = merged.get(k);
    merged.set(k, prev === undefined ? { ...m, covers: [...m.covers] } : { ...prev, covers: [...prev.covers, ...m.covers] });
  }
  const all = [...merged.values()];
  const prefixes = all.filter((m) => m.kind === 'prefix');
  const kept: PathMatch[] = [];
  for (const m of all) {
    const wider = prefixes.find((p) => p !== m && m.value.startsWith(p.value) && (m.kind === 'exact' || p.value.length < m.value.length));
    if (wider === undefined) kept.push(m);
    else wider.covers.push(...m.covers);
  }
  for (const m of kept) m.covers = [...new Set(m.covers)].sort();
  return kept.sort(byValue);
}

export function generalizePaths(templates: readonly string[], truncated: boolean, siblingLimit = DEFAULT_SIBLING_LIMIT): GeneralizedPaths {
  if (truncated) {
    return { paths: 'any', notes: ['paths not restricted: more distinct paths were observed than the graph keeps, so the observed set is incomplete'] };
  }
  if (templates.length === 0) return { paths: 'any', notes: [] };
  // `{invalid}` and other non-paths (`*`, absolute URIs) cannot be matched exactly or by prefix.
  if (templates.some((t) => !t.startsWith('/'))) {
    return { paths: 'any', notes: ['paths not restricted: some observed paths were not origin-form paths'] };
  }
  const notes: string[] = [];
  let matches = normalize(
    templates.map((t): PathMatch => {
      const prefix = prefixOf(t);
      return prefix === undefined ? { kind: 'exact', value: t, covers: [t] } : { kind: 'prefix', value: prefix, covers: [t] };
    }),
  );
  // Collapse crowded parents, deepest first, until no parent has too many children.
  for (;;) {
    const children = new Map<string, number>();
    for (const m of matches) {
      if (m.value === '/') continue;
      const parent = parentOf(m.value);
      children.set(parent, (children.get(parent) ?? 0) + 1);
    }
    const crowded = [...children.entries()].filter(([, n]) => n > siblingLimit).sort((a, b) => b[0].length - a[0].length || (a[0] < b[0] ? -1 : 1))[0];
    if (crowded === undefined) break;
    const [parent, n] = crowded;
    notes.push(`${n} paths under ${parent} collapsed to ${parent}* (more than ${siblingLimit} siblings)`);
    matches = normalize(matches.map((m) => (parentOf(m.value) === parent && m.value !== '/' ? { kind: 'prefix', value: parent, covers: m.covers } : m)));
  }
  if (matches.some((m) => m.kind === 'prefix' && m.value === '/')) {
    notes.push('paths not restricted: an observed template has a placeholder in its first segment');
    return { paths: 'any', notes };
  }
  for (const m of matches) {
    if (m.kind === 'prefix' && m.covers.some((c) => c.includes('*'))) notes.push(`an observed path with a literal * was cut to the prefix ${m.value}*`);
  }
  return { paths: matches, notes };
}
