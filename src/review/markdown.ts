// Markdown for review outputs: names come from manifests, the inventory and telemetry, which
// are untrusted, so every one is escaped before it reaches a PR body or a report.

import { printable } from '../text.js';

/** Markdown-safe inline text: no control characters, no table, link, HTML or code breakouts. */
export function md(s: string): string {
  return printable(s).replace(/([\\`*_[\]<>|#])/g, '\\$1');
}
