// Keys made of bytes, hashed as they are written, and a table of them: a hot path finds what
// it saw before by the bytes of a read buffer, without making a string of them first. The
// table compares the bytes of every candidate, so a hash collision costs time, never a
// wrong answer (telemetry is untrusted: docs/architecture.md).

/** FNV-1a, 32 bits: one multiply per byte, written as each byte is. */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 16777619;

/** A key under construction: reset, then append bytes. */
export class ByteKey {
  bytes = new Uint8Array(1024);
  length = 0;
  hash = FNV_OFFSET;

  reset(): void {
    this.length = 0;
    this.hash = FNV_OFFSET;
  }

  byte(c: number): void {
    if (this.length === this.bytes.length) this._grow(1);
    this.bytes[this.length++] = c;
    this.hash = Math.imul(this.hash ^ c, FNV_PRIME);
  }

  /** Appends `b[start, end)`. */
  bytesOf(b: Uint8Array, start: number, end: number): void {
    if (this.length + end - start > this.bytes.length) this._grow(end - start);
    const out = this.bytes;
    let n = this.length;
    let h = this.hash;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      out[n++] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    this.length = n;
    this.hash = h;
  }

  /** Appends a non-negative integer below 2^32 as four bytes, low byte first. */
  uint32(n: number): void {
    this.byte(n & 255);
    this.byte((n >>> 8) & 255);
    this.byte((n >>> 16) & 255);
    this.byte((n >>> 24) & 255);
  }

  /** Appends all of `b`. */
  append(b: Uint8Array): void {
    this.bytesOf(b, 0, b.length);
  }

  /** The key's bytes from `start` as a string (latin1: one character per byte). */
  text(start = 0): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length).toString('latin1', start);
  }

  private _grow(more: number): void {
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + more));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/**
 * Values by key bytes. `find` gives a key's entry number, making the entry (with no value)
 * on first sight, and says in `made` whether it did. A table that reaches `limit` keys, or
 * `maxBytes` of key bytes, starts over empty (`generation` counts the restarts, so an entry
 * number is only good within one): callers use it as a cache of what they could work out
 * again, and hostile input cannot make it grow without bound.
 */
export class ByteKeyTable<T> {
  // Open addressing, four numbers a slot: the key's hash, length and start in the arena, and
  // its entry number + 1 (0: empty). A probe reads the slot, then the key's bytes: two
  // cache misses on a table too large for the cache, where entries apart from slots cost three.
  private _slots = new Int32Array(4 * 1024);
  private _arena = new Uint8Array(64 * 1024);
  private _used = 0;
  private _values: (T | undefined)[] = [];
  generation = 0;
  /** Whether the last `find` made its entry. */
  made = false;

  constructor(
    private readonly _limit: number,
    private readonly _maxBytes = 32 * 1024 * 1024,
  ) {}

  get size(): number {
    return this._values.length;
  }

  value(entry: number): T | undefined {
    return this._values[entry];
  }

  set(entry: number, value: T): void {
    this._values[entry] = value;
  }

  find(key: ByteKey): number {
    const slots = this._slots;
    const mask = (slots.length >> 2) - 1;
    const { bytes, length, hash } = key;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const s = slot << 2;
      const entry = slots[s + 3]! - 1;
      if (entry < 0) return this._add(key, s);
      if (slots[s] !== hash || slots[s + 1] !== length) continue;
      const arena = this._arena;
      const at = slots[s + 2]!;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (arena[at + i] !== bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.made = false;
        return entry;
      }
    }
  }

  private _add(key: ByteKey, s: number): number {
    if (this._values.length >= this._limit || (this._used > 0 && this._used + key.length > this._maxBytes)) {
      this._clear();
      return this.find(key);
    }
    if (this._used + key.length > this._arena.length) this._arena = grown(this._arena, this._used + key.length);
    this._arena.set(key.bytes.subarray(0, key.length), this._used);
    const entry = this._values.length;
    const slots = this._slots;
    slots[s] = key.hash;
    slots[s + 1] = key.length;
    slots[s + 2] = this._used;
    slots[s + 3] = entry + 1;
    this._values.push(undefined);
    this._used += key.length;
    this.made = true;
    if (this._values.length * 2 > slots.length >> 2) this._rehash(slots.length * 2);
    return entry;
  }

  private _rehash(size: number): void {
    const old = this._slots;
    const slots = new Int32Array(size);
    const mask = (size >> 2) - 1;
    for (let o = 0; o < old.length; o += 4) {
      if (old[o + 3] === 0) continue;
      let slot = old[o]! & mask;
      while (slots[(slot << 2) + 3] !== 0) slot = (slot + 1) & mask;
      slots.set(old.subarray(o, o + 4), slot << 2);
    }
    this._slots = slots;
  }

  private _clear(): void {
    this._slots = new Int32Array(4 * 1024);
    this._used = 0;
    this._values = [];
    this.generation++;
  }
}

function grown<A extends Uint8Array | Int32Array>(a: A, atLeast: number): A {
  const next = new (a.constructor as new (n: number) => A)(Math.max(a.length * 2, atLeast));
  next.set(a);
  return next;
}
