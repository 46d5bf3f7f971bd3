// Bytes → lines, with a bound on line length so one hostile 10 MB line cannot hold the
// run's memory hostage: an over-long line is reported by number and length, then skipped.

import { StringDecoder } from 'node:string_decoder';

export const DEFAULT_MAX_LINE_LENGTH = 256 * 1024;

export interface LineSink {
  line(text: string, lineNumber: number): void;
  oversize(lineNumber: number, length: number): void;
}

export class LineSplitter {
  private readonly _decoder = new StringDecoder('utf8');
  private _carry = '';
  private _oversize = -1; // length so far of the over-long line being skipped, or -1
  private _line = 0;

  constructor(
    private readonly _sink: LineSink,
    private readonly _maxLength = DEFAULT_MAX_LINE_LENGTH,
  ) {}

  /** Lines completed so far. */
  get lineNumber(): number {
    return this._line;
  }

  push(chunk: Buffer): void {
    this._consume(this._decoder.write(chunk));
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
