// Drives files (the file/stdin transport) through line framing into a per-file line sink: the
// loop every line-based source shares (access logs, Prometheus exposition, Hubble JSON), with
// the same accounting of bytes, lines, unreadable and truncated inputs.

import type { Readable } from 'node:stream';
import type { Tally } from '../tally.js';
import { LineSplitter, type LineSink } from './framing/lines.js';
import { emptyReadResult, type ReadProgress, type ReadResult } from './source.js';
import { readBytes, type InputFile } from './transports/files.js';

/** What reads one file's lines. */
export interface FileLines {
  sink: LineSink;
  /** The file's end (`complete` false when it broke off): true when a range ended inside a record that continues in the next. */
  end(complete: boolean): boolean;
}

interface LineFileSinks {
  rejects: Tally;
  skips: Tally;
  progress?(p: ReadProgress): void;
  stdin?: Readable;
}

/** Reads each file through `open(file)`'s sink; a file `open` declines (undefined) is counted as skipped. */
export async function readLineFiles(
  files: readonly InputFile[],
  maxLineLength: number | undefined,
  sinks: LineFileSinks,
  open: (file: InputFile) => FileLines | undefined,
): Promise<ReadResult> {
  const result = emptyReadResult();
  for (const [i, file] of files.entries()) {
    const name = file.path;
    const reader = open(file);
    if (reader === undefined) {
      result.filesSkipped.push(name);
      continue;
    }
    result.files++;
    const splitter = new LineSplitter(reader.sink, maxLineLength);
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
    if (reader.end(complete)) result.endedInPartial = true;
    result.lines += splitter.lineNumber;
  }
  return result;
}
