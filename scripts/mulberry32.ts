// mulberry32: a small seedable generator, the same on every machine, for the fixtures and test
// models that must come out byte-identical run after run (never for anything secret). Imports
// nothing from src/, so the fixture generators stay independent oracles.

export class Mulberry32 {
  private s: number;
  constructor(state: number) {
    this.s = state >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}
