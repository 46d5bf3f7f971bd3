// Cilium Hubble flows as a source: `hubble observe -o json` / `-o jsonpb` output and the Hubble
// exporter's files, one JSON object a line (decoders/hubble.ts says what each flow becomes).

import { DEFAULT_MAX_LINE_LENGTH } from './framing/lines.js';
import { decodeHubbleRecord, HUBBLE_DECODER, isHubbleRecord } from './decoders/hubble.js';
import { readLineFiles } from './read-lines.js';
import { deliver, oversizeReject, type FlowSinks, type Source } from './source.js';
import { excerpt } from '../text.js';

function parsed(line: string): unknown {
  try {
    return JSON.parse(line.replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
}

/** Records the Hubble exporter writes beside flows (skipped by the decoder, but Hubble's all the same). */
const isHubbleEvent = (o: unknown) => typeof o === 'object' && o !== null && ('lost_events' in o || 'node_status' in o);

export const hubbleSource: Source = {
  name: 'hubble',
  description: 'Cilium Hubble flows (hubble observe -o json / -o jsonpb, the Hubble exporter)',
  decoders: [HUBBLE_DECODER],
  transports: ['files'],
  splittable: true,
  recognises: (lines) => lines.some((l) => isHubbleRecord(parsed(l))) && lines.every((l) => { const o = parsed(l); return isHubbleRecord(o) || isHubbleEvent(o); }),
  readFiles(files, options, sinks: FlowSinks) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    return readLineFiles(files, max, sinks, (file) => ({
      sink: {
        line(text, lineNumber) {
          if (text.trim() === '') return;
          const location = { file: file.path, line: lineNumber };
          let obj: unknown;
          try {
            // A byte order mark, as Windows tools write one before the first line.
            obj = JSON.parse(lineNumber === 1 ? text.replace(/^\uFEFF/, '') : text);
          } catch (err) {
            sinks.rejects.add('malformed-hubble-json', location, `${(err as Error).message}: ${excerpt(text)}`);
            return;
          }
          deliver(decodeHubbleRecord(obj, location), location, sinks);
        },
        oversize: oversizeReject(sinks.rejects, file.path, max),
      },
      end: () => false,
    }));
  },
};
