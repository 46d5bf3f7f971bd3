// The one list of sources (source.ts). A new source is a module and a line here.

import { accessLogSource } from './access-log-source.js';
import { hubbleSource } from './hubble-source.js';
import { istioMetricsSource } from './istio-metrics-source.js';
import { tracesSource } from './traces-source.js';
import type { Source } from './source.js';
import { readHead, type InputFile } from './transports/files.js';

/** In the order files are offered to them; the last, access logs, takes whatever the others do not recognise. */
export const SOURCES: readonly Source[] = [istioMetricsSource, hubbleSource, tracesSource, accessLogSource];

export const DEFAULT_SOURCE = accessLogSource;

export function sourceNamed(name: string): Source | undefined {
  return SOURCES.find((s) => s.name === name);
}

/** Bytes of a file's head read to recognise it: enough for eight lines of any source. */
const HEAD_BYTES = 64 * 1024;

/**
 * The source whose records a file holds, from its first non-empty lines (decompressed when it
 * is gzip). A pipe cannot be read twice: it is the default source's unless `--source` says otherwise.
 */
export async function recogniseFile(file: InputFile): Promise<Source> {
  if (file.stream === true || SOURCES.length === 1) return DEFAULT_SOURCE;
  const bin = await readHead(file, HEAD_BYTES);
  // Unreadable: the default source reads it and reports why, as it would have.
  if (bin === undefined) return DEFAULT_SOURCE;
  const binary = SOURCES.find((s) => s.recognisesHead?.(bin) === true);
  if (binary !== undefined) return binary;
  const head = bin.toString('utf8');
  // Whole lines only: the last piece of the head may be cut.
  const pieces = head.split('\n');
  if (head.length >= HEAD_BYTES) pieces.pop();
  const lines = pieces.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '').slice(0, 8);
  return SOURCES.find((s) => s.recognises(lines)) ?? DEFAULT_SOURCE;
}
