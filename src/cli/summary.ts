// The stderr summary of `observe`: what was read, what was not used and why, what was built.

import { foldedTotals } from '../graph/fold.js';
import { LOCATIONS_PER_REASON, type Tally } from '../tally.js';
import { printable } from '../text.js';
import type { IpConflict } from '../inventory/inventory.js';
import type { ObserveResult } from './commands/observe.js';
import type { ProposeResult } from './commands/propose.js';
import type { Terminal } from './terminal.js';

function tallyLines(title: string, t: Tally, term: Terminal, code: 'red' | 'yellow'): string[] {
  if (t.total === 0) return [];
  const out = [term.color(code, `${title}: ${t.total}`)];
  for (const [reason, e] of t.entries()) {
    out.push(`  ${printable(reason)}: ${e.count}`);
    // Locations name input files and details quote inputs (excerpts are masked where they are made): escaped for the terminal.
    for (const ex of e.examples) out.push(`    ${printable(ex.location)}${ex.detail === '' ? '' : '  ' + printable(ex.detail)}`);
    if (e.count > e.examples.length) out.push(`    … and ${e.count - e.examples.length} more`);
  }
  return out;
}

/** ` (access-log 4, hubble 1)` when more than one source was read. */
function bySource(files: Readonly<Record<string, number>>): string {
  const names = Object.keys(files);
  return names.length < 2 ? '' : ` (${names.map((n) => `${n} ${files[n]}`).join(', ')})`;
}

export function observeSummary(r: ObserveResult, term: Terminal): string {
  const skipped = r.skips.entries().map(([k, e]) => `${k} ${e.count}`).join(', ');
  const lines = [
    term.color('bold', 'ztmap observe'),
    `inventory: ${r.inventory.pods} pods, ${r.inventory.workloads} workloads, ${r.inventory.services} services`,
    ...ipConflictLines(r.inventory.ipConflicts, term),
    `read: ${r.read.files} files${bySource(r.filesBySource)}, ${r.read.lines} lines, ${r.read.bytes} bytes` +
      (r.read.filesSkipped.length > 0 ? ` (${r.read.filesSkipped.length} files of other containers not read)` : ''),
    ...inputNoteLines(r),
    ...(r.prometheus === undefined ? [] : [`prometheus: ${r.prometheus.series} series from ${printable(r.prometheus.url)} (${r.prometheus.queries} queries)`, ...r.prometheus.warnings.map((w) => term.color('yellow', `  warning from Prometheus: ${printable(w)}`))]),
    `skipped (not traffic to count): ${r.skips.total}${skipped === '' ? '' : ` (${skipped})`}`,
    ...tallyLines('rejected records', r.rejects, term, 'red'),
    ...tallyLines('unresolved endpoints (kept as unknown nodes)', r.unresolved, term, 'yellow'),
    ...r.anonymousExplained.map((x) => `explained by other sources, taken out: ${printable(x.edge)} (${x.requests} requests; named by ${x.by.map(printable).join(', ')})`),
    `flows: ${r.flows}`,
    `graph: ${r.graph.order} nodes, ${r.graph.size} edges`,
    ...foldedLines(r),
    r.empty ? term.color('red', 'wrote: nothing: no usable record was read, and the previous output was left as it was') : `wrote: ${r.files.map(printable).join(', ')}`,
  ];
  return lines.join('\n') + '\n';
}

/** Warnings for addresses two live pods claim: the first few, each naming every pod and the one that resolves. */
export function ipConflictLines(conflicts: readonly IpConflict[], term: Terminal): string[] {
  if (conflicts.length === 0) return [];
  const out = [term.color('yellow', `warning: ${conflicts.length} address${conflicts.length === 1 ? ' is' : 'es are'} claimed by more than one live pod in the inventory (a stale or merged dump?); the later-started pod, then the first by name, is used:`)];
  for (const c of conflicts.slice(0, LOCATIONS_PER_REASON)) out.push(`    ${printable(c.ip)}: ${c.pods.map(printable).join(' and ')} (${printable(c.pods[0]!)} used)`);
  if (conflicts.length > LOCATIONS_PER_REASON) out.push(`    … and ${conflicts.length - LOCATIONS_PER_REASON} more`);
  return out;
}

/** Inputs read once though named twice, and entries of walks and globs not read: the first few of each, by name. */
function inputNoteLines(r: ObserveResult): string[] {
  const out: string[] = [];
  const { duplicates, skipped } = r.inputs;
  if (duplicates.length > 0) {
    out.push(`${duplicates.length} input${duplicates.length === 1 ? '' : 's'} named twice, read once (a link, overlapping patterns or another spelling of a path):`);
    for (const d of duplicates.slice(0, LOCATIONS_PER_REASON)) out.push(`    ${printable(d.path)}  same as ${printable(d.first)}`);
    if (duplicates.length > LOCATIONS_PER_REASON) out.push(`    … and ${duplicates.length - LOCATIONS_PER_REASON} more`);
  }
  if (skipped.length > 0) {
    out.push(`${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} of directories or patterns not read (not regular files):`);
    for (const s of skipped.slice(0, LOCATIONS_PER_REASON)) out.push(`    ${printable(s.path)}  ${printable(s.reason)}`);
    if (skipped.length > LOCATIONS_PER_REASON) out.push(`    … and ${skipped.length - LOCATIONS_PER_REASON} more`);
  }
  return out;
}

/** The long tail folded into "(other)" nodes (graph/fold.ts), when there was one. */
function foldedLines(r: ObserveResult): string[] {
  const f = foldedTotals(r.graph);
  if (f.edges === 0) return [];
  return [`folded: ${f.exact ? '' : 'about '}${f.endpoints} world/unknown endpoints past --max-external-endpoints into ${f.edges} "(other)" edges (${f.requests} requests); propose allows none of them (docs/observe.md)`];
}

export function proposeSummary(r: ProposeResult, term: Terminal): string {
  const c = r.review.counts;
  const lines = [
    term.color('bold', 'ztmap propose'),
    ...ipConflictLines(r.ipConflicts, term),
    `rules: ${c.rules}, excluded flows: ${c.excluded}, manifests: ${c.manifests} (${r.review.targets.join(', ')})`,
  ];
  for (const f of r.review.findings) {
    if (f.severity === 'warning') continue;
    // Names in findings come from telemetry and the inventory: no control characters reach the terminal.
    const text = printable(`${f.severity} [${f.target}] ${f.subject}: ${f.message}`);
    lines.push(term.color(f.severity === 'error' ? 'red' : 'yellow', text));
  }
  lines.push(`errors: ${c.errors}, blockers: ${c.blockers}, warnings: ${c.warnings} (all listed in ${printable(r.dir)}/review.md)`);
  lines.push(`wrote: ${printable(r.dir)}`);
  return lines.join('\n') + '\n';
}
