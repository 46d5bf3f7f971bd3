// A binary heap kept in a plain array, ordered by `first(a, b)` (a before b: a nearer the root).
// Functions over the array rather than a class, so a caller may keep the array where its state
// lives (the graph's fold buckets) and still read its root as `a[0]`.

export type Before<T> = (a: T, b: T) => boolean;

export function heapPush<T>(a: T[], x: T, first: Before<T>): void {
  a.push(x);
  for (let i = a.length - 1; i > 0; ) {
    const up = (i - 1) >> 1;
    if (!first(a[i]!, a[up]!)) break;
    [a[i], a[up]] = [a[up]!, a[i]!];
    i = up;
  }
}

/** Puts `x` at the root and sifts it down: `heapPop` then `heapPush` in one pass. */
export function heapReplaceTop<T>(a: T[], x: T, first: Before<T>): void {
  a[0] = x;
  for (let i = 0; ; ) {
    const l = 2 * i + 1;
    const r = l + 1;
    let top = i;
    if (l < a.length && first(a[l]!, a[top]!)) top = l;
    if (r < a.length && first(a[r]!, a[top]!)) top = r;
    if (top === i) break;
    [a[i], a[top]] = [a[top]!, a[i]!];
    i = top;
  }
}

export function heapPop<T>(a: T[], first: Before<T>): T | undefined {
  const top = a[0];
  const last = a.pop();
  if (a.length > 0 && last !== undefined) heapReplaceTop(a, last, first);
  return top;
}
