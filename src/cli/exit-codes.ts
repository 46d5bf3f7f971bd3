// Exit codes a CI job can act on. Documented in docs/observe.md and docs/policies.md.
export const EXIT = {
  ok: 0,
  /** A bug or an unexpected failure. */
  internal: 1,
  /** Bad flags, missing or unreadable inputs, or an output that cannot be written (no space, a link in the way): nothing new was put in place; the previous output is intact. */
  usage: 2,
  /** Outputs were written, but some input records were rejected. */
  rejected: 3,
  /** Outputs were written from every record, but some endpoints could not be identified. */
  unresolved: 4,
  /** propose: manifests were written, but they would deny traffic that was observed (blockers). */
  blockers: 5,
  /** propose: some manifests could not be emitted (invalid names, no exact selector); verify: some manifests would be rejected. */
  errors: 6,
  /** verify: observed traffic would be denied (and the proposal does not expect it); drift: traffic seen that the baseline does not allow. */
  denied: 7,
  /** verify --fail-on unknown: a verdict depends on what the telemetry does not show. */
  unknown: 8,
  /** diff --exit-code: the two policy sets decide some request differently. */
  changed: 9,
  /** pr: GitHub's API or the git remote refused or failed (token, permissions, rate limit, network); the local branch and commit are made. */
  remote: 10,
} as const;
