// Three-valued logic (Kleene). Replay knows some request attributes only partly: a path
// template stands for many paths, a JWT or a header was never logged. A match is then
// `undefined` (unknown), and AND/OR/NOT carry that through, so a verdict is only "allowed"
// or "denied" when every possible value of what is unknown gives the same answer.

export type Tri = boolean | undefined;

export function and3(values: Iterable<Tri>): Tri {
  let unknown = false;
  for (const v of values) {
    if (v === false) return false;
    if (v === undefined) unknown = true;
  }
  return unknown ? undefined : true;
}

export function or3(values: Iterable<Tri>): Tri {
  let unknown = false;
  for (const v of values) {
    if (v === true) return true;
    if (v === undefined) unknown = true;
  }
  return unknown ? undefined : false;
}

export const not3 = (v: Tri): Tri => (v === undefined ? undefined : !v);
