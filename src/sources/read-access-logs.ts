// Access logs through the shared file loop (read-lines.ts) into the access-log decoder.

import type { Readable } from 'node:stream';
import { AccessLogDecoder, type AccessLogDecoderOptions } from './access-log-decoder.js';
import { layoutOf } from './layout.js';
import { readLineFiles } from './read-lines.js';
import type { FlowSinks, ReadResult } from './source.js';
import type { InputFile } from './transports/files.js';

export async function readAccessLogs<T = unknown>(files: readonly InputFile[], options: AccessLogDecoderOptions, sinks: FlowSinks<T> & { stdin?: Readable }): Promise<ReadResult> {
  const decoder = new AccessLogDecoder<T>(options, sinks);
  return readLineFiles(files, options.maxLineLength, sinks, (file) => {
    const name = file.path;
    if (!decoder.beginFile(name, name === '-' ? { layout: 'unknown' } : layoutOf(name))) {
      sinks.skips.add('other-container-file', { file: name });
      return undefined;
    }
    return { sink: decoder, end: () => decoder.endFile(file.range === undefined || file.range.last) };
  });
}
