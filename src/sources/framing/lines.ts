// Bytes → lines, with a bound on line length so one hostile 10 MB line cannot hold the
// run's memory hostage: an over-long line is reported by number and length, then skipped.

import { StringDecoder } from 'node:string_decoder';

export const DEFAULT_MAX_LINE_LENGTH = 256 * 1024;

export interface LineSink {
  line(text: string, lineNumber: number): void;
  oversize(lineNumber: number, length: number): void;
  /**
   * A whole line `b[start, end)` (`b[end]` is its newline) as raw bytes, before any string is
   * made of it: true when the sink took it so; false sends it on to `line` as usual.
   */
  bytes?(b: Buffer, start: number, end: number, lineNumber: number): boolean;
}

export class LineSplitter {
  private readonly _decoder = new StringDecoder('utf8');
  private _carry = '';
  private _oversize = -1; // length so far of the over-long line being skipped, or -1
  private _line = 0;
  /** The input so far ends with a newline (or is empty): no carried fragment or pending UTF-8 bytes. */
  private _atLineStart = true;

  constructor(
    private readonly _sink: LineSink,
    private readonly _maxLength = DEFAULT_MAX_LINE_LENGTH,
  ) {}

  /** Lines completed so far. */
  get lineNumber(): number {
    return this._line;
  }

  push(chunk: Buffer): void {
    if (this._sink.bytes === undefined) {
      this._consume(this._decoder.write(chunk));
      return;
    }
    // Whole lines are offered as bytes first. The string path finishes the line carried from
    // the last chunk and takes every line the sink declines, one at a time and in order, so
    // what reaches `line` and `oversize` is what it would be without the offer. After a
    // newline the UTF-8 decoder holds no pending bytes, so decoding line by line is exact.
    let start = 0;
    if (!this._atLineStart) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        this._consume(this._decoder.write(chunk));
        return;
      }
      start = nl + 1;
      this._consume(this._decoder.write(chunk.subarray(0, start)));
    }
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      if (nl - start <= this._maxLength && this._sink.bytes(chunk, start, nl, this._line + 1)) this._line++;
      else this._consume(this._decoder.write(chunk.subarray(start, nl + 1)));
      start = nl + 1;
    }
    this._atLineStart = start === chunk.length;
    if (!this._atLineStart) this._consume(this._decoder.write(chunk.subarray(start)));
  }

  /** End of input; `complete` is false when the input was cut short and the tail is a fragment. */
  end(complete = true): { fragmentLength: number } {
    this._consume(this._decoder.end());
    const fragmentLength = this._oversize >= 0 ? this._oversize : this._carry.length;
    if (complete && fragmentLength > 0) {
      this._line++;
      if (this._oversize >= 0) this._sink.oversize(this._line, this._oversize);
      else this._emit(this._carry);
      return { fragmentLength: 0 };
    }
    return { fragmentLength };
  }

  private _consume(s: string): void {
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl === -1) break;
      this._line++;
      if (this._oversize >= 0) {
        this._sink.oversize(this._line, this._oversize + nl - start);
        this._oversize = -1;
      } else if (this._carry !== '') {
        const text = this._carry + s.slice(start, nl);
        this._carry = '';
        if (text.length > this._maxLength) this._sink.oversize(this._line, text.length);
        else this._emit(text);
      } else if (nl - start > this._maxLength) {
        this._sink.oversize(this._line, nl - start);
      } else {
        this._emit(s.slice(start, nl));
      }
      start = nl + 1;
    }
    if (start < s.length) {
      if (this._oversize >= 0) this._oversize += s.length - start;
      else {
        this._carry = this._carry === '' ? s.slice(start) : this._carry + s.slice(start);
        if (this._carry.length > this._maxLength) {
          this._oversize = this._carry.length;
          this._carry = '';
        }
      }
    }
  }

  private _emit(text: string): void {
    this._sink.line(text.endsWith('\r') ? text.slice(0, -1) : text, this._line);
  }
}
