// What every emitter returns: manifests with the comments a reviewer reads beside them,
// and findings for what it could not or would not express.

import type { AccessRule, RuleSet } from '../rules/access-rule.js';
import { istioPath } from '../rules/access-rule.js';
import type { Finding } from '../rules/finding.js';
import type { Manifest } from './manifest.js';
import type { NodeComment } from './yaml.js';

export interface Emitted {
  manifest: Manifest;
  header: string[];
  comments: NodeComment[];
}

export interface EmitResult {
  target: string;
  manifests: Emitted[];
  findings: Finding[];
}

export type Emitter<O> = (rules: RuleSet, options: O) => EmitResult;

const iso = (ms: number | null) => (ms === null ? '?' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** One line of evidence: who, how much, when, how sure. */
export function evidenceLine(r: AccessRule): string {
  const e = r.evidence;
  const mtls = e.mutual + e.plaintext === 0 ? 'mTLS not observed' : `${e.mutual} mTLS / ${e.plaintext} plaintext`;
  return `${r.from.key} -> :${r.port}/${r.protocol}: ${e.requests} requests (${mtls}), ${iso(e.firstSeen)} .. ${iso(e.lastSeen)}, from ${e.sources.join('+')}, confidence ${r.confidence}`;
}

/** Lines saying how the rule's operations relate to what was observed. */
export function breadthLines(r: AccessRule): string[] {
  const out: string[] = [];
  if (r.paths !== 'any') {
    for (const m of r.paths) if (m.kind === 'prefix') out.push(`  ${istioPath(m)} stands for ${m.covers.join(', ')}`);
  }
  for (const n of r.notes) out.push(`  note: ${n}`);
  return out;
}

export function windowLine(rs: RuleSet): string {
  return `observed ${iso(rs.window.first)} .. ${iso(rs.window.last)}`;
}
