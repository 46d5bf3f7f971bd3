// Counts what was rejected or skipped, by reason, with the first few locations of each,
// so the summary and the exit code can say exactly what was not used (docs/architecture.md, "Untrusted input").

import { formatLocation, type Location } from './errors.js';
import { compare } from './flow/compare.js';

export const LOCATIONS_PER_REASON = 5;

export interface TallyEntry {
  count: number;
  /** The first LOCATIONS_PER_REASON locations, with detail. */
  examples: { location: string; detail: string }[];
}

interface Example {
  location: Location | undefined;
  detail: string;
}

/** A Tally as plain data, to cross a worker boundary. */
export type TallyData = [reason: string, count: number, examples: Example[]][];

export class Tally {
  // Locations stay structured until printed: a worker reading a range of a file numbers
  // its lines from the range's start, and merge() shifts them once earlier ranges are counted.
  private readonly _entries = new Map<string, { count: number; examples: Example[] }>();

  add(reason: string, location: Location | undefined, detail = ''): void {
    let entry = this._entries.get(reason);
    if (entry === undefined) {
      entry = { count: 0, examples: [] };
      this._entries.set(reason, entry);
    }
    entry.count++;
    if (entry.examples.length < LOCATIONS_PER_REASON) {
      entry.examples.push({ location, detail: detail.length > 200 ? detail.slice(0, 200) + '…' : detail });
    }
  }

  get total(): number {
    let n = 0;
    for (const e of this._entries.values()) n += e.count;
    return n;
  }

  /** Reasons sorted by name, for deterministic summaries. */
  entries(): [string, TallyEntry][] {
    return [...this._entries.entries()]
      .sort((a, b) => compare(a[0], b[0]))
      .map(([reason, e]) => [reason, { count: e.count, examples: e.examples.map((x) => ({ location: x.location === undefined ? '' : formatLocation(x.location), detail: x.detail })) }]);
  }

  /**
   * Adds `other`'s counts, and its examples while there is room: merging in input order keeps
   * the first locations. `lineOffset` is added to the line numbers of `other`'s locations.
   */
  merge(other: Tally, lineOffset = 0): void {
    for (const [reason, e] of other._entries) {
      let mine = this._entries.get(reason);
      if (mine === undefined) {
        mine = { count: 0, examples: [] };
        this._entries.set(reason, mine);
      }
      mine.count += e.count;
      for (const ex of e.examples) {
        if (mine.examples.length >= LOCATIONS_PER_REASON) break;
        const loc = ex.location;
        mine.examples.push({ location: loc === undefined || !('file' in loc) || loc.line === undefined ? loc : { file: loc.file, line: loc.line + lineOffset }, detail: ex.detail });
      }
    }
  }

  /** Count per reason, sorted by reason: what summaries and status files show. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this._entries].sort((a, b) => compare(a[0], b[0])).map(([reason, e]) => [reason, e.count]));
  }

  toData(): TallyData {
    return [...this._entries].map(([reason, e]) => [reason, e.count, e.examples]);
  }

  static fromData(data: TallyData): Tally {
    const t = new Tally();
    for (const [reason, count, examples] of data) t._entries.set(reason, { count, examples: [...examples] });
    return t;
  }
}
