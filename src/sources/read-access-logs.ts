// Drives the file/stdin transport through line framing into the access-log decoder.

import type { Readable } from 'node:stream';
import { AccessLogDecoder, type AccessLogDecoderOptions, type DecoderSinks } from './access-log-decoder.js';
import { LineSplitter } from './framing/lines.js';
import { layoutOf } from './layout.js';
import { readBytes, type InputFile } from './transports/files.js';

export interface ReadProgress {
  file: string;
  filesDone: number;
  filesTotal: number;
  bytes: number;
  lines: number;
}

export interface ReadResult {
  files: number;
  /** Files of other containers, left unread. */
  filesSkipped: string[];
  lines: number;
  bytes: number;
  /** A range (not the last of its file) ended inside a CRI partial record: read it again joined to the next. */
  endedInPartial: boolean;
}

export async function readAccessLogs<T = unknown>(
  files: readonly InputFile[],
  options: AccessLogDecoderOptions,
  sinks: DecoderSinks<T> & { progress?: (p: ReadProgress) => void; stdin?: Readable },
): Promise<ReadResult> {
  const decoder = new AccessLogDecoder<T>(options, sinks);
  const result: ReadResult = { files: 0, filesSkipped: [], lines: 0, bytes: 0, endedInPartial: false };
  for (const [i, file] of files.entries()) {
    const name = file.path;
    if (!decoder.beginFile(name, name === '-' ? { layout: 'unknown' } : layoutOf(name))) {
      result.filesSkipped.push(name);
      sinks.skips.add('other-container-file', { file: name });
      continue;
    }
    result.files++;
    const splitter = new LineSplitter(decoder, options.maxLineLength);
    let complete = true;
    let nextReport = 0;
    try {
      for await (const chunk of readBytes(file, sinks.stdin, (reason, detail) => sinks.skips.add(reason, { file: name }, detail))) {
        result.bytes += chunk.length;
        splitter.push(chunk);
        if (sinks.progress !== undefined && result.bytes >= nextReport) {
          nextReport = result.bytes + 8 * 1024 * 1024;
          sinks.progress({ file: name, filesDone: i, filesTotal: files.length, bytes: result.bytes, lines: result.lines + splitter.lineNumber });
        }
      }
    } catch (err) {
      complete = false;
      const e = err as NodeJS.ErrnoException;
      const truncated = e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR' || /unexpected end of file/i.test(e.message);
      sinks.rejects.add(
        truncated ? 'truncated-gzip' : 'read-error',
        { file: name, line: splitter.lineNumber + 1 },
        truncated
          ? `compressed data ends or breaks after ${splitter.lineNumber} complete lines (${e.message}); the lines before were used`
          : `${e.code ?? ''} ${e.message}`.trim(),
      );
    }
    const { fragmentLength } = splitter.end(complete);
    if (!complete && fragmentLength > 0) {
      sinks.rejects.add('truncated-line', { file: name, line: splitter.lineNumber + 1 }, `a ${fragmentLength}-character fragment at the point the input broke`);
    }
    if (decoder.endFile(file.range === undefined || file.range.last)) result.endedInPartial = true;
    result.lines += splitter.lineNumber;
  }
  return result;
}
