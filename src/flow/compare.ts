/** Code-unit order for strings: what every sorted output of ztmap uses, independent of locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
