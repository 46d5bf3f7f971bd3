// What an emitter could not express, or expressed with a caveat, stated for the reviewer.
// A blocker is traffic the proposal would break once enforced; an error is a manifest that
// was not emitted because its names or selectors cannot be made valid.

import { compare } from '../flow/compare.js';

type Severity = 'error' | 'blocker' | 'warning';

export interface Finding {
  severity: Severity;
  /** The emitter that raised it: `istio`, `mtls`, `networkpolicy`. */
  target: string;
  /** The workload or namespace it is about. */
  subject: string;
  message: string;
  /** Requests observed that the finding affects, when it is about traffic. */
  requests?: number;
  /** Rule ids (or excluded-flow ids) the finding is about. */
  flows?: string[];
}

const ORDER: Record<Severity, number> = { error: 0, blocker: 1, warning: 2 };

export function sortFindings(fs: Finding[]): Finding[] {
  return [...fs].sort(
    (a, b) =>
      ORDER[a.severity] - ORDER[b.severity] ||
      compare(a.target, b.target) ||
      compare(a.subject, b.subject) ||
      compare(a.message, b.message),
  );
}
