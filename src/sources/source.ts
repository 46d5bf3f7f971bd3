// The seam every telemetry source plugs into. A source is one module that says which decoders
// it has, which transports bring its records, how to recognise its files, and how to read them
// into Flows; sources/registry.ts lists them, and `observe` reads any mix of them in one run
// (docs/sources.md). Decoders stay apart from transports so that each runs over every transport.

import type { Location } from '../errors.js';
import { endpointKeyOf } from '../flow/endpoint-key.js';
import type { Flow, RepeatedRequest } from '../flow/flow.js';
import type { Tally } from '../tally.js';
import type { Decoded } from './decoders/result.js';
import type { AccessLogDecoderOptions } from './access-log-decoder.js';
import type { InputFile } from './transports/files.js';

/** How a source's records arrive: files (with directories, globs, .gz and pipes), or a Prometheus server's HTTP API. */
type TransportName = 'files' | 'prometheus-api';

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

export const emptyReadResult = (): ReadResult => ({ files: 0, filesSkipped: [], lines: 0, bytes: 0, endedInPartial: false });

/** Adds `b` into `a`. */
export function addReadResult(a: ReadResult, b: ReadResult): void {
  a.files += b.files;
  a.filesSkipped.push(...b.filesSkipped);
  a.lines += b.lines;
  a.bytes += b.bytes;
  a.endedInPartial ||= b.endedInPartial;
}

/**
 * Where a source's flows go. `attach` and `repeat` are the access-log fast path (route shapes,
 * sources/access-log-decoder.ts); other sources call `flow` alone.
 */
export interface FlowSinks<T = unknown> {
  /** A decoded flow; `attach`, when given, attaches a value to the record's route shape. */
  flow(flow: Flow, attach?: (value: T) => void): void;
  /** A record whose shape has a value attached: true when counted; false decodes it into `flow`. */
  repeat?(value: T, request: RepeatedRequest): boolean;
  rejects: Tally;
  skips: Tally;
  progress?(p: ReadProgress): void;
}

/** What reading files needs to know: the access-log options serve every file source (container, --pod, line bound). */
export type FileReadOptions = AccessLogDecoderOptions;

export interface Source {
  /** Its name, for `--source` and the summary: `access-log`, `istio-metrics`, `hubble`. */
  readonly name: string;
  readonly description: string;
  /** The names its flows carry in `evidence.decoder`. */
  readonly decoders: readonly string[];
  readonly transports: readonly TransportName[];
  /** Large plain files may be cut at line starts and read in parts by workers (`--jobs`). */
  readonly splittable: boolean;
  /** Its files are read by one reader, never spread over workers: it joins records across files (a trace's spans). */
  readonly readTogether?: boolean;
  /** Whether a file's first bytes (decompressed) are this source's binary records; asked before `recognises`. */
  recognisesHead?(head: Buffer): boolean;
  /** Whether the first non-empty lines of a file (up to 8) are this source's records. */
  recognises(lines: readonly string[]): boolean;
  readFiles<T>(files: readonly InputFile[], options: FileReadOptions, sinks: FlowSinks<T>): Promise<ReadResult>;
}

/**
 * A decoded record into the sinks: a flow (with the resolution key every source but the access
 * logs, which key by bytes, gets from its fields), or a counted skip or reject at `location`.
 */
export function deliver(d: Decoded<Flow>, location: Location, sinks: Pick<FlowSinks, 'flow' | 'skips' | 'rejects'>): void {
  if (d.kind === 'ok') {
    d.value.endpointKey = endpointKeyOf(d.value);
    sinks.flow(d.value);
  } else if (d.kind === 'skip') sinks.skips.add(d.reason, location);
  else sinks.rejects.add(d.reason, location, d.detail);
}

/** `LineSink.oversize` for a source reading `file`: a counted reject naming the line and the bound. */
export function oversizeReject(rejects: Tally, file: string, max: number): (lineNumber: number, length: number) => void {
  return (lineNumber, length) => rejects.add('line-too-long', { file, line: lineNumber }, `${length} characters; the limit is ${max} (--max-line-length)`);
}
