// Counts what was rejected or skipped, by reason, with the first few locations of each,
// so the summary and the exit code can say exactly what was not used (design.md §6).

import { formatLocation, type Location } from './errors.js';

export const LOCATIONS_PER_REASON = 5;

export interface TallyEntry {
  count: number;
  /** The first LOCATIONS_PER_REASON locations, with detail. */
  examples: { location: string; detail: string }[];
}

export class Tally {
  private readonly _entries = new Map<string, TallyEntry>();

  add(reason: string, location: Location | undefined, detail = ''): void {
    let entry = this._entries.get(reason);
    if (entry === undefined) {
      entry = { count: 0, examples: [] };
      this._entries.set(reason, entry);
    }
    entry.count++;
    if (entry.examples.length < LOCATIONS_PER_REASON) {
      entry.examples.push({
        location: location === undefined ? '' : formatLocation(location),
        detail: detail.length > 200 ? detail.slice(0, 200) + '…' : detail,
      });
    }
  }

  get total(): number {
    let n = 0;
    for (const e of this._entries.values()) n += e.count;
    return n;
  }

  /** Reasons sorted by name, for deterministic summaries. */
  entries(): [string, TallyEntry][] {
    return [...this._entries.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  merge(other: Tally): void {
    for (const [reason, e] of other._entries) {
      const mine = this._entries.get(reason);
      if (mine === undefined) {
        this._entries.set(reason, { count: e.count, examples: [...e.examples] });
      } else {
        mine.count += e.count;
        for (const ex of e.examples) if (mine.examples.length < LOCATIONS_PER_REASON) mine.examples.push(ex);
      }
    }
  }
}
