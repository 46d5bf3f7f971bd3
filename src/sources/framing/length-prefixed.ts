// Messages each preceded by its length as 4 bytes, big-endian: the OpenTelemetry Collector's file
// exporter with `format: proto` (exporter/fileexporter, exportMessageAsBuffer). Bytes in, one
// whole message out at a time, with its offset; a message longer than the bound is passed over
// (its bytes are never held) and reported with its offset.

export interface FrameSink {
  message(body: Buffer, offset: number): void;
  /** A length prefix over `max`: the message's bytes are skipped. */
  oversize(length: number, offset: number): void;
}

/**
 * Whether a file's first bytes are a length prefix and the start of an OTLP message: field 1
 * (resource_spans), length-delimited, whose own length fits in the message. Text never passes:
 * its first byte (`{`, `[`, a letter, whitespace ≥ 0x09) makes the prefix at least 144 MiB, over
 * the bound recognition uses, and blank lines (0x0a…) fail the inner length.
 */
export function looksLengthPrefixedOtlp(head: Buffer, max: number): boolean {
  if (head.length < 6) return false;
  const length = head.readUInt32BE(0);
  if (length < 2 || length > Math.min(max, 0x08ffffff) || head[4] !== 0x0a) return false;
  // The varint length of the first ResourceSpans.
  let inner = 0;
  let at = 5;
  for (let shift = 0; at < head.length && shift <= 28; shift += 7, at++) {
    const b = head[at]!;
    inner += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return inner + (at - 3) <= length;
  }
  return false;
}

export class LengthPrefixedSplitter {
  private _held: Buffer[] = [];
  private _heldBytes = 0;
  // Bytes of the current message still to pass over (an oversize one).
  private _skip = 0;
  private _offset = 0;
  private _messages = 0;

  constructor(
    private readonly _sink: FrameSink,
    private readonly _max: number,
  ) {}

  get messages(): number {
    return this._messages;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this._skip > 0) {
        const n = Math.min(this._skip, chunk.length - at);
        this._skip -= n;
        this._offset += n;
        at += n;
        continue;
      }
      this._held.push(chunk.subarray(at));
      this._heldBytes += chunk.length - at;
      at = chunk.length;
      this._drain();
    }
  }

  /** The input ended: the bytes of a message it cut short, or 0 (an oversize message cut short was reported already). */
  end(): { fragmentBytes: number; offset: number } {
    return { fragmentBytes: this._heldBytes, offset: this._offset };
  }

  private _drain(): void {
    for (;;) {
      if (this._heldBytes < 4) return;
      // The prefix is read from the first held piece when it holds it; a message's bytes are
      // joined once, when they are all there (joining on every chunk would be quadratic).
      const first = this._held[0]!.length >= 4 ? this._held[0]! : Buffer.concat(this._held);
      const length = first.readUInt32BE(0);
      if (length <= this._max && this._heldBytes < 4 + length) return;
      const all = this._held.length === 1 ? this._held[0]! : Buffer.concat(this._held);
      const start = this._offset;
      if (length > this._max) {
        this._sink.oversize(length, start);
        const available = all.length - 4;
        this._offset += 4;
        if (available >= length) {
          this._offset += length;
          this._setHeld(all.subarray(4 + length));
          continue;
        }
        this._offset += available;
        this._skip = length - available;
        this._setHeld(Buffer.alloc(0));
        return;
      }
      this._messages++;
      this._offset += 4 + length;
      this._setHeld(all.subarray(4 + length));
      this._sink.message(all.subarray(4, 4 + length), start);
    }
  }

  private _setHeld(rest: Buffer): void {
    this._held = rest.length === 0 ? [] : [rest];
    this._heldBytes = rest.length;
  }
}
