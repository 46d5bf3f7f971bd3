// Decoders return a value instead of throwing: a malformed record is data about the
// input, not a bug (docs/architecture.md, Principles). Exceptions inside a decoder are bugs.

export type Decoded<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'skip'; reason: string }
  | { kind: 'reject'; reason: string; detail: string };

export const ok = <T>(value: T): Decoded<T> => ({ kind: 'ok', value });
export const skip = <T>(reason: string): Decoded<T> => ({ kind: 'skip', reason });
export const reject = <T>(reason: string, detail: string): Decoded<T> => ({ kind: 'reject', reason, detail });
