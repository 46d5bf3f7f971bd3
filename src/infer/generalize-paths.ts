// Observed path templates → the path matches a policy can express. Istio matches paths
// exactly, by prefix (`/a/*`), by suffix or by presence only (https://istio.io/latest/docs/reference/config/security/authorization-policy/), so:
//   - a template with a placeholder becomes a prefix up to the placeholder
//     (`/api/v1/products/{id}` → `/api/v1/products/*`): the id itself never reaches a policy;
//   - a position where the siblings are values, not routes, becomes the parent's prefix:
//     VALUE_SIBLINGS or more distinct literals of one value shape (`/giftcards/7K2Q-MZ4P-9XWD`,
//     `/currency/EUR`, `/currency/USD`, …) under one parent — what the templater could not
//     tell from one segment (path-template.ts), the siblings tell; words (`/cart`,
//     `/cart/checkout`, `/api/v1`, `/api/v2`) are never values, however many. The values
//     themselves are not repeated in what the prefix stands for (`/giftcards/{value}/balance`);
//   - more than `siblingLimit` distinct children under one parent collapse to the parent's
//     prefix (`/static/a.css`, `/static/b.js`, … → `/static/*`);
//   - a literal `*` in an observed path would be read by Istio as a wildcard, so such a path
//     is cut to a prefix before it rather than emitted as an "exact" match that is not;
//   - a match covered by a broader prefix is dropped.
// A prefix made from siblings never admits a template the mesh denied on the edge (`protect`)
// unless it was observed allowed too: those siblings stay exact, and a note says why.
// Without the complete observed set (the graph kept only the first 200 templates) no path
// restriction is safe: the result is `any`, and the rule says so.

import type { PathMatch } from '../rules/access-rule.js';
import { compare } from '../flow/compare.js';

export interface GeneralizedPaths {
  paths: PathMatch[] | 'any';
  notes: string[];
  /**
   * Protected templates the result admits all the same: a placeholder's prefix or `any` that
   * observed traffic needs also covers them (exact and prefix matches cannot tell them apart).
   */
  exposed: string[];
}

export interface GeneralizeOptions {
  /**
   * Path templates the mesh denied on this edge. No prefix made from siblings admits one
   * unless it was also observed allowed; the siblings stay exact instead, with a note.
   */
  protect?: readonly string[];
}

export const DEFAULT_SIBLING_LIMIT = 8;
/** Distinct value-like literals of one shape at one position that make the position a value. */
const VALUE_SIBLINGS = 3;

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

const byValue = (a: PathMatch, b: PathMatch) => compare(a.value, b.value) || compare(a.kind, b.kind);

/** Merge matches with equal kind and value, and drop those a prefix already covers. */
function normalize(matches: PathMatch[]): PathMatch[] {
  const merged = new Map<string, PathMatch>();
  for (const m of matches) {
    const k = `${m.kind} ${m.value}`;
    const prev = merged.get(k);
    // Each entry is a copy made here, so adding to its covers changes no caller's match.
    if (prev === undefined) merged.set(k, { kind: m.kind, value: m.value, covers: [...m.covers] });
    else prev.covers.push(...m.covers);
  }
  const all = [...merged.values()];
  const prefixes = all.filter((m) => m.kind === 'prefix');
  const kept: PathMatch[] = [];
  for (const m of all) {
    const wider = prefixes.find((p) => p !== m && m.value.startsWith(p.value) && (m.kind === 'exact' || p.value.length < m.value.length));
    if (wider === undefined) kept.push(m);
    else wider.covers.push(...m.covers);
  }
  for (const m of kept) if (m.covers.length > 1) m.covers = [...new Set(m.covers)].sort(compare);
  return kept.sort(byValue);
}

/** `v2`, `v1beta1`, `v1.2`, and a name ending in one (`GetV2`, `ListProductsV2`, `productsv2`): routes. */
const VERSION = /^[vV][0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?$|^[A-Za-z]*[a-z][A-Za-z]*[vV][0-9]+$/;
/** A gRPC service (`/hipstershop.ProductCatalogService/`): its methods are routes, however they are spelled. */
const GRPC_SERVICE = /^\/[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\.[A-Z][A-Za-z0-9_]*\/$/;

/**
 * The value shape of a literal segment, or undefined when it reads as a route word. Values:
 * letters with digits (`7K2Q-MZ4P-9XWD`, `item42`, `sha1`), keyed by their character
 * classes; capitals without lowercase (`EUR`, `OLJCESPCZZ`), keyed by classes and length,
 * since such codes have a fixed length. Never a version (`v2`, `v1beta1`, `v1.2`, `GetV2`), a
 * lowercase or capitalized word, a number without letters (`1.0`), or anything shorter than 3;
 * and no method of a gRPC service is a value.
 */
function valueShape(segment: string): string | undefined {
  // A proposal asks about the same few route words (`api`, `v1`, `items`) for every edge.
  const known = shapes.get(segment);
  if (known !== undefined) return known === '' ? undefined : known;
  const shape = shapeOf(segment);
  if (shapes.size >= SHAPES_LIMIT) shapes.clear();
  shapes.set(segment, shape ?? '');
  return shape;
}

/** valueShape's answers by segment ('' for a route word), cleared when full. */
const shapes = new Map<string, string>();
const SHAPES_LIMIT = 50_000;

function shapeOf(segment: string): string | undefined {
  if (segment.length < 3 || VERSION.test(segment) || /[{}*]|%7B|%7D/.test(segment)) return undefined;
  const upper = /[A-Z]/.test(segment);
  const lower = /[a-z]/.test(segment);
  const digit = /[0-9]/.test(segment);
  const other = /[^A-Za-z0-9]/.test(segment);
  const classes = [upper ? 'capitals' : '', lower ? 'lowercase' : '', digit ? 'digits' : '', other ? 'punctuation' : ''].filter((x) => x !== '').join(', ');
  if (digit && (upper || lower)) return classes;
  if (upper && !lower && !digit && /^[A-Z0-9_-]+$/.test(segment)) return `${segment.length} characters: ${classes}`;
  return undefined;
}

/** Positions whose siblings are values: parent prefix → the value shapes seen there, each with its distinct segments. */
function valuePositions(templates: readonly string[]): Map<string, Map<string, Set<string>>> {
  const positions = new Map<string, Map<string, Set<string>>>();
  for (const t of templates) {
    // Each segment of `t` (after its leading `/`), with its parent: `t` up to the segment.
    for (let start = 1; start <= t.length; ) {
      const slash = t.indexOf('/', start);
      const end = slash < 0 ? t.length : slash;
      const segment = t.slice(start, end);
      // Past a placeholder or `*` the template is a prefix already.
      if (/[{*]/.test(segment)) break;
      const parent = t.slice(0, start);
      start = end + 1;
      const shape = parent === '/' ? undefined : valueShape(segment);
      if (shape !== undefined && !GRPC_SERVICE.test(parent)) {
        let shapes = positions.get(parent);
        if (shapes === undefined) positions.set(parent, (shapes = new Map()));
        let values = shapes.get(shape);
        if (values === undefined) shapes.set(shape, (values = new Set()));
        values.add(segment);
      }
    }
  }
  return positions;
}

const sample = (xs: readonly string[]) => (xs.length <= 3 ? xs.join(', ') : `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more`);

export function generalizePaths(templates: readonly string[], truncated: boolean, siblingLimit = DEFAULT_SIBLING_LIMIT, options: GeneralizeOptions = {}): GeneralizedPaths {
  const observed = new Set(templates);
  // What must stay denied: denied on the edge and never observed allowed.
  const protect = [...new Set(options.protect ?? [])].filter((t) => !observed.has(t) && t.startsWith('/')).sort(compare);
  const admits = (prefix: string) => protect.filter((t) => t.startsWith(prefix));
  const unrestricted = (notes: string[]): GeneralizedPaths => {
    if (protect.length > 0) notes.push(`paths not restricted, so this rule also admits what the mesh denied on this edge: ${sample(protect)}`);
    return { paths: 'any', notes, exposed: protect };
  };
  if (truncated) return unrestricted(['paths not restricted: more distinct paths were observed than the graph keeps, so the observed set is incomplete']);
  if (templates.length === 0) return unrestricted([]);
  // `{invalid}` and other non-paths (`*`, absolute URIs) cannot be matched exactly or by prefix.
  if (templates.some((t) => !t.startsWith('/'))) return unrestricted(['paths not restricted: some observed paths were not origin-form paths']);
  const notes: string[] = [];
  let matches = normalize(
    templates.map((t): PathMatch => {
      const prefix = prefixOf(t);
      return prefix === undefined ? { kind: 'exact', value: t, covers: [t] } : { kind: 'prefix', value: prefix, covers: [t] };
    }),
  );
  const collapse = (parent: string) => normalize(matches.map((m) => (m.value.startsWith(parent) && m.value !== '/' ? { kind: 'prefix', value: parent, covers: m.covers } : m)));
  const kept = (n: number, parent: string, denied: string[]) => `${n} paths under ${parent} kept exact: ${parent}* would also admit ${sample(denied)}, which the mesh denied on this edge`;

  // Value positions, shallowest first: one prefix there covers the deeper ones.
  const positions = [...valuePositions(templates)].sort(([a], [b]) => a.length - b.length || compare(a, b));
  for (const [parent, shapes] of positions) {
    const values = [...shapes].filter(([, segments]) => segments.size >= VALUE_SIBLINGS).sort(([a], [b]) => compare(a, b));
    if (values.length === 0) continue;
    if (matches.some((m) => m.kind === 'prefix' && parent.startsWith(m.value))) continue; // covered already
    const under = matches.filter((m) => m.value.startsWith(parent)).reduce((n, m) => n + m.covers.length, 0);
    const denied = admits(parent);
    if (denied.length > 0) {
      notes.push(kept(under, parent, denied));
      continue;
    }
    const evidence = values.map(([shape, segments]) => `${segments.size} distinct values (${shape})`).join('; ');
    notes.push(`${under} paths under ${parent} generalized to ${parent}*: the siblings at that position are values, not routes (${evidence}; ${VALUE_SIBLINGS} or more of one shape make a value position)`);
    // The values themselves (gift-card codes, customer codes) stay out of the review: what the
    // prefix stands for shows `{value}` in their place.
    // Every sibling there but a word is masked, of the position's value shapes or not
    // (`TCTG-KYHB-ORFS` beside `7K2Q-MZ4P-9XWD`): words have lowercase and no digit.
    const at = parent.split('/').length - 1;
    const masked = (t: string) => {
      const segments = t.split('/');
      const segment = segments[at] ?? '';
      if (!t.startsWith(parent) || /[{*]/.test(segment) || (/[a-z]/.test(segment) && !/[0-9]/.test(segment))) return t;
      segments[at] = '{value}';
      return segments.join('/');
    };
    matches = matches.map((m) => (m.value.startsWith(parent) ? { ...m, covers: m.covers.map(masked) } : m));
    matches = collapse(parent);
  }

  // Collapse crowded parents, deepest first, until no parent has too many children (none
  // has while there are no more matches than one parent may have children).
  const refused = new Set<string>();
  while (matches.length > siblingLimit) {
    const children = new Map<string, number>();
    for (const m of matches) {
      if (m.value === '/') continue;
      const parent = parentOf(m.value);
      children.set(parent, (children.get(parent) ?? 0) + 1);
    }
    const crowded = [...children.entries()].filter(([p, n]) => n > siblingLimit && !refused.has(p)).sort((a, b) => b[0].length - a[0].length || compare(a[0], b[0]))[0];
    if (crowded === undefined) break;
    const [parent, n] = crowded;
    const denied = admits(parent);
    if (denied.length > 0) {
      refused.add(parent);
      notes.push(kept(n, parent, denied));
      continue;
    }
    notes.push(`${n} paths under ${parent} collapsed to ${parent}* (more than ${siblingLimit} siblings)`);
    matches = collapse(parent);
  }
  if (matches.some((m) => m.kind === 'prefix' && m.value === '/')) {
    notes.push('paths not restricted: an observed template has a placeholder in its first segment');
    return unrestricted(notes);
  }
  for (const m of matches) {
    if (m.kind === 'prefix' && m.covers.some((c) => c.includes('*'))) notes.push(`an observed path with a literal * was cut to the prefix ${m.value}*`);
  }
  // Prefixes that observed traffic needs (a placeholder's) may still admit a denied template.
  const exposed = protect.filter((t) => matches.some((m) => (m.kind === 'prefix' ? t.startsWith(m.value) : t === m.value)));
  for (const m of matches) {
    const denied = m.kind === 'prefix' ? exposed.filter((t) => t.startsWith(m.value)) : [];
    if (denied.length > 0) notes.push(`${m.value}* also admits ${sample(denied)}, which the mesh denied on this edge: ${m.covers.join(', ')} need${m.covers.length === 1 ? 's' : ''} the prefix, and a path match cannot tell them apart`);
  }
  return { paths: matches, notes, exposed };
}
