// Every error ztmap raises on purpose is a ZtmapError subclass; the CLI maps the class to
// an exit code in one place (cli/main.ts). Tests assert the class or `name`, never the text.

/** Where a record came from: a file and a line, a query answered by a server, a request received, or a Kafka record. */
export type Location = FileLocation | QueryLocation | ReceivedLocation | TopicLocation;

export interface FileLocation {
  /** File path as given on the command line, or `-` for stdin. */
  file: string;
  /** 1-based line number within the (decompressed) file, when known. */
  line?: number;
  /** Byte offset within the (decompressed) file, for binary records (length-prefixed protobuf). */
  offset?: number;
}

/** A record of a server's answer (a Prometheus query): the URL asked and the query sent. */
export interface QueryLocation {
  url: string;
  query: string;
  /** Which answer of the query, when it has several (a series' labels). */
  item?: string;
}

/** A request a receiver was sent (`ztmap collect`): its protocol, its number since start, and the sender's address. */
export interface ReceivedLocation {
  receiver: string;
  request: number;
  peer?: string;
}

/** A record of a Kafka topic (`ztmap consume`): its topic, partition and offset (a string: offsets are 64-bit). */
export interface TopicLocation {
  topic: string;
  partition: number;
  offset: string;
}

export function formatLocation(loc: Location): string {
  if ('topic' in loc) return `topic ${loc.topic} partition ${loc.partition} offset ${loc.offset}`;
  if ('receiver' in loc) return `${loc.receiver} request ${loc.request}${loc.peer === undefined ? '' : ` from ${loc.peer}`}`;
  if ('url' in loc) return `${loc.url} ${JSON.stringify(loc.query)}${loc.item === undefined ? '' : ` ${loc.item}`}`;
  if (loc.line !== undefined) return `${loc.file}:${loc.line}`;
  return loc.offset === undefined ? loc.file : `${loc.file} at byte ${loc.offset}`;
}

export class ZtmapError extends Error {
  /** True when trying again later may succeed (network, broker, API server). */
  readonly retriable: boolean;
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** An input the user named cannot be read (missing file, unreadable directory, bad inventory). */
export class InputError extends ZtmapError {}

/** Flags or configuration that cannot work together. */
export class ConfigError extends ZtmapError {}

/**
 * A remote service refused or failed: the GitHub API (`status` is its HTTP status) or a git
 * remote. What was done locally stays done; `retryAt` says when to try again, when it said.
 */
export class RemoteError extends ZtmapError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options: { retriable?: boolean; cause?: unknown; retryAt?: Date } = {},
  ) {
    super(message, options);
    this.retryAt = options.retryAt;
  }
  readonly retryAt: Date | undefined;
}

/** A bug in ztmap: report it. */
export class InternalError extends ZtmapError {}

/**
 * An output cannot be written or put in place (no space, no permission, a symbolic link where
 * ztmap writes). The previous output is left as it was; `path` names what failed.
 */
export class OutputError extends ZtmapError {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** A file-system error in words a user can act on, with its code: for messages that name the path themselves. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    ELOOP: 'too many symbolic links (a link cycle)',
    ENAMETOOLONG: 'the name is too long',
    EMFILE: 'too many open files',
    EIO: 'an input/output error',
  };
  const code = e?.code;
  if (code !== undefined && words[code] !== undefined) return `${words[code]}, ${code}`;
  return code ?? (e instanceof Error ? e.message : String(err));
}
