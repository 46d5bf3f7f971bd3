// Names in ztmap's outputs come from telemetry and the inventory, which are untrusted
// (design.md §6): before they reach a terminal, a YAML comment or Markdown, control
// characters and line or paragraph separators are replaced, never passed through.

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `s` with every control character and line/paragraph separator replaced by `?`. */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, '?');
}
