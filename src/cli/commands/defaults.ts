// The long-running commands' defaults, apart from the commands: cli/main.ts shows them in
// --help and loads a command's module only when that command runs (each pulls in its
// transports and decoders: loading them all cost every run, propose's too, 0.2–0.3 s).

export const COLLECT_DEFAULTS = {
  http: '127.0.0.1:4318',
  grpc: '127.0.0.1:4317',
  intervalSeconds: 60,
  joinWaitSeconds: 30,
  maxPending: 100_000,
  // opentelemetry-proto's specification.md recommends 20 MiB as the default request limit.
  maxBodyBytes: 20 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  retryAfterSeconds: 5,
} as const;

export const CONSUME_DEFAULTS = {
  group: 'ztmap-collectors',
  aggregateTopic: 'ztmap-aggregates',
  deadLetterTopic: 'ztmap-dead-letters',
  chunkRecords: 20_000,
  // The OpenTelemetry Collector's Kafka exporter sends at most 1,000,000 bytes a message by default.
  maxRecordBytes: 1024 * 1024,
} as const;

export const MATERIALIZE_DEFAULTS = { group: 'ztmap-materializer', intervalSeconds: 60, maxPending: 100_000 } as const;
