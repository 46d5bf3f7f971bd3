// Keys made of bytes, hashed as they are written, and a table of them: a hot path finds what
// it saw before by the bytes of a read buffer, without making a string of them first. The
// table compares the bytes of every candidate, so a hash collision costs time, never a
// wrong answer (telemetry is untrusted: design.md §6).

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

  /** Appends all of `b`. */
  append(b: Uint8Array): void {
    this.bytesOf(b, 0, b.length);
  }

  /** The key's bytes as a string (latin1: one character per byte). */
  text(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length).toString('latin1');
  }

  private _grow(more: number): void {
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + more));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/**
 * Values by (tag, key bytes). `find` gives a key's entry number, making the entry (with no
 * value) on first sight. A table that reaches `limit` keys, or `maxBytes` of key bytes,
 * starts over empty (`generation` counts the restarts, so an entry number is only good
 * within one): callers use it as a cache of what they could work out again, and hostile
 * input cannot make it grow without bound.
 */
export class ByteKeyTable<T> {
  private _slots = new Int32Array(1024); // entry number + 1, 0 when empty
  // Per entry, side by side so that a probe reads one cache line: hash, length, tag, start.
  private _meta = new Int32Array(4 * 512);
  private _arena = new Uint8Array(64 * 1024);
  private _used = 0;
  private _values: (T | undefined)[] = [];
  generation = 0;

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

  find(key: ByteKey, tag = 0): number {
    const mask = this._slots.length - 1;
    const { bytes, length } = key;
    const hash = key.hash ^ Math.imul(tag, 0x9e3779b1);
    const meta = this._meta;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this._slots[slot]! - 1;
      if (entry < 0) return this._add(key, tag, hash, slot);
      const m = entry * 4;
      if (meta[m] !== hash || meta[m + 1] !== length || meta[m + 2] !== tag) continue;
      const arena = this._arena;
      const at = meta[m + 3]!;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (arena[at + i] !== bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) return entry;
    }
  }

  private _add(key: ByteKey, tag: number, hash: number, slot: number): number {
    if (this._values.length >= this._limit || (this._used > 0 && this._used + key.length > this._maxBytes)) {
      this._clear();
      return this.find(key, tag);
    }
    if (this._used + key.length > this._arena.length) this._arena = grown(this._arena, this._used + key.length);
    this._arena.set(key.bytes.subarray(0, key.length), this._used);
    const entry = this._values.length;
    if (4 * entry + 4 > this._meta.length) this._meta = grown(this._meta, 4 * entry + 4);
    const m = 4 * entry;
    this._meta[m] = hash;
    this._meta[m + 1] = key.length;
    this._meta[m + 2] = tag;
    this._meta[m + 3] = this._used;
    this._slots[slot] = entry + 1;
    this._values.push(undefined);
    this._used += key.length;
    if (this._values.length * 2 > this._slots.length) this._rehash(this._slots.length * 2);
    return entry;
  }

  private _rehash(size: number): void {
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let entry = 0; entry < this._values.length; entry++) {
      let slot = this._meta[4 * entry]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    this._slots = slots;
  }

  private _clear(): void {
    this._slots = new Int32Array(1024);
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
