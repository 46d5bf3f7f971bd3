// Traces as a source: OpenTelemetry (OTLP JSON, as the Collector's file exporter writes it, one
// request a line; OTLP protobuf, its `format: proto`, each message after a 4-byte length),
// Jaeger (the query API's answer, the UI's download) and Zipkin v2 JSON files.
// Each document's spans go to a SpanJoiner (span-edges.ts), one per format, which pairs a
// client's span with its server's and gives one flow per call. A file is either JSON lines or
// one JSON document (pretty-printed, up to MAX_DOCUMENT_BYTES): which, its first line tells.

import type { Location } from '../errors.js';
import { compare } from '../flow/compare.js';
import { endpointKeyOf } from '../flow/endpoint-key.js';
import type { Flow } from '../flow/flow.js';
import { decodeJaegerJson, isJaegerJson } from './decoders/jaeger-json.js';
import { decodeOtlpJson, isOtlpJson } from './decoders/otlp-json.js';
import { decodeOtlpProto } from './decoders/otlp-proto.js';
import { LengthPrefixedSplitter, looksLengthPrefixedOtlp } from './framing/length-prefixed.js';
import { readBytes, readHead, type InputFile } from './transports/files.js';
import { Readable } from 'node:stream';
import type { Decoded } from './decoders/result.js';
import type { TraceBatch } from './decoders/trace-fields.js';
import { decodeZipkinJson, isZipkinJson } from './decoders/zipkin-json.js';
import { DEFAULT_MAX_LINE_LENGTH } from './framing/lines.js';
import { readLineFiles } from './read-lines.js';
import { emptyReadResult, addReadResult, oversizeReject, type FlowSinks, type ReadResult, type Source } from './source.js';
import { SpanJoiner } from './span-edges.js';
import { excerpt } from '../text.js';

/** A pretty-printed document is held whole to be parsed: beyond this it is rejected, named. */
const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;
/** The longest line of a trace file: a Collector batch or a whole Jaeger answer on one line. */
const MAX_TRACE_LINE = 64 * 1024 * 1024;
/**
 * Spans waiting for their partner, and for how long (span time): children often export before
 * parents, and a capture's files (one per node, rotated) hold the halves of a call hours apart.
 * Files end, so the count bounds the memory; a day bounds how far apart two halves may be.
 */
const MAX_PENDING_SPANS = 200_000;
const MAX_WAIT_MS = 24 * 3_600_000;

const FORMATS = [
  { decoder: 'otlp-json', is: isOtlpJson, decode: decodeOtlpJson },
  { decoder: 'jaeger-json', is: isJaegerJson, decode: decodeJaegerJson },
  { decoder: 'zipkin-json', is: isZipkinJson, decode: decodeZipkinJson },
] as const;

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first lines of a pretty-printed document name its format's keys early. */
const HEAD_KEYS = /"resourceSpans"\s*:|"traceID"\s*:|^\s*\[\s*(\{\s*)?("traceId"|$)/m;

export const tracesSource: Source = {
  name: 'traces',
  description: 'OpenTelemetry (OTLP JSON), Jaeger and Zipkin v2 trace files',
  decoders: [...FORMATS.map((f) => f.decoder), 'otlp-proto'],
  transports: ['files'],
  splittable: false,
  readTogether: true,
  recognisesHead(head) {
    return looksLengthPrefixedOtlp(head, MAX_DOCUMENT_BYTES);
  },
  recognises(lines) {
    if (lines.length === 0) return false;
    const first = parsed(lines[0]!.replace(/^\uFEFF/, ''));
    if (first !== undefined) return FORMATS.some((f) => f.is(first));
    const head = lines.join('\n').replace(/^\uFEFF/, '');
    return /^\s*[[{]/.test(head) && HEAD_KEYS.test(head) && !/"upstream_cluster"|"flow"\s*:/.test(head);
  },
  async readFiles(files, options, sinks: FlowSinks) {
    // One OTLP request a line holds a whole batch, and a Jaeger answer is often one line: lines
    // of trace files are bounded like documents, not like access-log lines.
    const max = Math.max(options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, MAX_TRACE_LINE);
    const joiners = new Map<string, SpanJoiner>();
    const joinerOf = (decoder: string) => {
      let j = joiners.get(decoder);
      // Flows of spans get a resolution key from their fields, as every non-access-log source's do.
      const keyed = { ...sinks, flow: (f: Flow) => sinks.flow({ ...f, endpointKey: endpointKeyOf(f) }) };
      if (j === undefined) joiners.set(decoder, (j = new SpanJoiner({ maxPending: MAX_PENDING_SPANS, maxWaitMs: MAX_WAIT_MS, decoder }, keyed)));
      return j;
    };
    const document = (doc: unknown, text: string, location: Location) => {
      const format = FORMATS.find((f) => f.is(doc));
      if (format === undefined) {
        sinks.rejects.add('not-a-trace-document', location, `not OTLP JSON, a Jaeger answer or Zipkin v2 spans: ${excerpt(text)}`);
        return;
      }
      batch(format.decoder, format.decode(doc, location), location);
    };
    const batch = (format: string, d: Decoded<TraceBatch>, location: Location) => {
      if (d.kind === 'skip') return sinks.skips.add(d.reason, location);
      if (d.kind === 'reject') return sinks.rejects.add(d.reason, location, d.detail);
      for (const r of d.value.rejected) sinks.rejects.add(r.reason, location, `${r.at}: ${r.detail}`);
      // Repairs to spans that were kept: counted, so the summary says what was changed.
      for (const n of d.value.notes) sinks.skips.add(`span-repaired-${n.reason}`, location, `${n.at}: ${n.detail}`);
      const joiner = joinerOf(format);
      for (const span of d.value.spans) joiner.add(span);
    };
    // Binary files (length-prefixed protobuf) are told by their first bytes. Stdin is read once:
    // its first bytes are read ahead, then given again with the rest to the reader they choose.
    const binary: InputFile[] = [];
    const text: InputFile[] = [];
    let stdin: Readable | undefined;
    for (const f of files) {
      if (f.path === '-') {
        // Read through the transport (gzip inflated), so that the head is the records' own.
        const peeked = await peek(readBytes(f, process.stdin, (reason, detail) => sinks.skips.add(reason, { file: '-' }, detail)));
        stdin = peeked.replay;
        (looksLengthPrefixedOtlp(peeked.head, MAX_DOCUMENT_BYTES) ? binary : text).push(f);
      } else ((await isLengthPrefixed(f)) ? binary : text).push(f);
    }
    const result = emptyReadResult();
    for (const file of binary) addReadResult(result, await readProtoFile(file, sinks, (d, location) => batch('otlp-proto', d, location), stdin));
    const lineResult = await readLineFiles(text, max, { ...sinks, ...(stdin === undefined ? {} : { stdin }) }, (file) => {
      // JSON lines until a first line that is no JSON: then the file is one document, held whole.
      let whole: string[] | undefined;
      let held = 0;
      let tooLarge = false;
      return {
        sink: {
          line(text, lineNumber) {
            if (whole !== undefined) {
              held += text.length + 1;
              if (held > MAX_DOCUMENT_BYTES) tooLarge = true;
              else whole.push(text);
              return;
            }
            if (text.trim() === '') return;
            const doc = parsed(lineNumber === 1 ? text.replace(/^\uFEFF/, '') : text);
            if (doc === undefined && lineNumber === 1) {
              whole = [text.replace(/^\uFEFF/, '')];
              held = text.length;
              return;
            }
            const location = { file: file.path, line: lineNumber };
            if (doc === undefined) sinks.rejects.add('malformed-trace-json', location, excerpt(text));
            else document(doc, text, location);
          },
          oversize: oversizeReject(sinks.rejects, file.path, max),
        },
        end(complete) {
          if (whole === undefined) return false;
          const location = { file: file.path, line: 1 };
          if (tooLarge) sinks.rejects.add('trace-document-too-large', location, `a document over ${MAX_DOCUMENT_BYTES} bytes; write JSON lines (one request per line, as the Collector's file exporter does) instead`);
          else if (!complete) sinks.rejects.add('truncated-trace-document', location, 'the input broke before the document ended');
          else {
            const text = whole.join('\n');
            const doc = parsed(text);
            if (doc === undefined) sinks.rejects.add('malformed-trace-json', location, `the file is neither JSON lines nor one JSON document: ${excerpt(text)}`);
            else document(doc, text, location);
          }
          return false;
        },
      };
    });
    addReadResult(result, lineResult);
    for (const j of [...joiners.keys()].sort(compare)) joiners.get(j)!.flush();
    return result;
  },
};

/** Whether a regular file's first bytes (decompressed) are a length-prefixed OTLP message. */
/** The first bytes of a pipe (enough to recognise a file: 16), and a stream that gives them again, then the rest. */
async function peek(input: AsyncIterable<Buffer>): Promise<{ head: Buffer; replay: Readable }> {
  const it = input[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let bytes = 0;
  let done = false;
  while (bytes < 16) {
    const n = await it.next();
    if (n.done === true) {
      done = true;
      break;
    }
    chunks.push(n.value);
    bytes += n.value.length;
  }
  const head = Buffer.concat(chunks);
  const replay = Readable.from(
    (async function* () {
      yield* chunks;
      while (!done) {
        const n = await it.next();
        if (n.done === true) return;
        yield n.value;
      }
    })(),
    { objectMode: false },
  );
  return { head, replay };
}

async function isLengthPrefixed(file: InputFile): Promise<boolean> {
  if (file.stream === true) return false;
  // The prefix, the field tag and the inner length's varint (at most 5 bytes); an unreadable
  // file goes to the JSON reader, which reports why.
  const head = await readHead(file, 16);
  return head !== undefined && looksLengthPrefixedOtlp(head, MAX_DOCUMENT_BYTES);
}

/** One file of the Collector's file exporter in `format: proto`: each message decoded where it starts (its byte offset is its location). */
async function readProtoFile(file: InputFile, sinks: FlowSinks, message: (d: Decoded<TraceBatch>, location: Location) => void, stdin?: Readable): Promise<ReadResult> {
  const result = emptyReadResult();
  result.files = 1;
  const splitter = new LengthPrefixedSplitter(
    {
      message: (body, offset) => message(decodeOtlpProto(body, { file: file.path, offset }), { file: file.path, offset }),
      oversize: (length, offset) => sinks.rejects.add('trace-document-too-large', { file: file.path, offset }, `a message of ${length} bytes; the limit is ${MAX_DOCUMENT_BYTES}`),
    },
    MAX_DOCUMENT_BYTES,
  );
  try {
    for await (const chunk of readBytes(file, stdin, (reason, detail) => sinks.skips.add(reason, { file: file.path }, detail))) {
      result.bytes += chunk.length;
      splitter.push(chunk);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    sinks.rejects.add('read-error', { file: file.path, offset: splitter.end().offset }, `${e.code ?? ''} ${e.message}`.trim());
  }
  const end = splitter.end();
  if (end.fragmentBytes > 0) sinks.rejects.add('truncated-trace-document', { file: file.path, offset: end.offset }, `the input ended ${end.fragmentBytes} bytes into a message`);
  // A message is this format's record: counted where line-based sources count lines.
  result.lines = splitter.messages;
  return result;
}
