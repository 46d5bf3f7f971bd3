import type { Flow } from '../../src/flow/flow.js';
import { AccessLogDecoder, type AccessLogDecoderOptions } from '../../src/sources/access-log-decoder.js';
import { LineSplitter } from '../../src/sources/framing/lines.js';
import { layoutOf } from '../../src/sources/layout.js';
import { Tally } from '../../src/tally.js';

/** Runs text (as one file named `file`) through framing and decoding; returns what came out. */
export function decodeText(text: string, file = 'test.log', options: Partial<AccessLogDecoderOptions> = {}) {
  const flows: Flow[] = [];
  const rejects = new Tally();
  const skips = new Tally();
  const decoder = new AccessLogDecoder({ format: 'auto', container: 'istio-proxy', ...options }, { flow: (f) => flows.push(f), rejects, skips });
  const read = decoder.beginFile(file, layoutOf(file));
  const splitter = new LineSplitter(decoder, options.maxLineLength);
  if (read) {
    splitter.push(Buffer.from(text));
    splitter.end();
    decoder.endFile();
  }
  return { flows, rejects, skips, read };
}
