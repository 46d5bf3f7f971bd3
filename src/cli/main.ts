#!/usr/bin/env node
// The composition root: parses flags, dispatches to commands, renders progress and the
// summary, and maps outcomes and error classes to exit codes in one place.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, InputError, OutputError, RemoteError, ZtmapError } from '../errors.js';
import { DEFAULT_MAX_LINE_LENGTH } from '../sources/framing/lines.js';
import { SOURCE_NAMES } from '../sources/source-names.js';
import { windowOf } from './observe/window.js';
import { readNamedText } from '../sources/transports/files.js';
import { DEFAULT_INFER_OPTIONS } from '../infer/infer.js';
import type { ObserveOptions } from './commands/observe.js';
import { COLLECT_DEFAULTS, CONSUME_DEFAULTS, MATERIALIZE_DEFAULTS } from './commands/defaults.js';
import { churnSummary } from './observe/churn-summary.js';
import type { KafkaFlags } from '../sources/transports/kafka-settings.js';
import type { PrOptions, PrResult } from './commands/pr.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { EXIT } from './exit-codes.js';
import { ipConflictLines, observeSummary, proposeSummary } from './summary.js';
import { terminalFor } from './terminal.js';
import { setOutputStepHook, writeFileAtomic } from './output.js';
import { DEFAULT_MAX_EXTERNAL_ENDPOINTS } from '../graph/fold.js';
import { printable, printableLines } from '../text.js';

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number.');
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];
const nonNegativeInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more.');
  return n;
};
const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

interface ProposeFlags {
  graph: string;
  inventory: string[];
  out: string;
  target: string;
  trustDomain: string;
  rootNamespace: string;
  systemNamespaces: string[];
  minRequests: number;
  minDays: number;
  siblingLimit: number;
  includeScrapes?: boolean;
  dryRun?: boolean;
  firstApply?: boolean;
  failOn: 'errors' | 'blockers' | 'never';
  quiet?: boolean;
}

interface VerifyFlags {
  policies: string[];
  graph?: string;
  inventory: string[];
  rules?: string;
  trustDomain: string;
  rootNamespace: string;
  overPermission: boolean;
  json?: string;
  all?: boolean;
  format: 'auto' | 'envoy-text' | 'envoy-json';
  container: string;
  pod?: string;
  maxLineLength: number;
  failOn: 'denied' | 'unknown' | 'never';
  quiet?: boolean;
}

/** One worker per core, up to 8: parts are merged on the main thread, which is idle meanwhile. */
interface PrometheusFlags {
  prometheus?: string;
  prometheusHttpConfig?: string;
  prometheusTimeout: number;
  last?: string;
  from?: string;
  to?: string;
}

const defaultJobs = () => Math.min(8, availableParallelism());

const TARGETS_HELP = 'istio (AuthorizationPolicy), mtls (STRICT PeerAuthentication), networkpolicy';

// A command's module (and what it pulls in: transports, decoders, Kafka, gRPC) is loaded when
// that command runs, not at every start: loading them all cost 0.2–0.3 s of CPU a run.

export function program(): Command {
  const cmd = new Command('ztmap')
    .description('Observe Kubernetes service-mesh traffic and propose least-privilege zero-trust policies.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  cmd
    .command('observe')
    .description('Build the service dependency graph from mesh telemetry (any mix of the sources below) and a Kubernetes inventory; write graph.json, nodes.csv and edges.csv.')
    .argument('[inputs...]', 'telemetry files, directories (walked recursively), quoted globs, .gz files, or - for stdin')
    .option('-i, --inventory <file[@time]>', 'kubectl get … -o json|yaml dump; repeatable: snapshots taken at TIME (RFC 3339), by default the newest time inside each', collect, [])
    .option('-o, --out <dir>', 'output directory', 'output')
    .addOption(new Option('-s, --source <source>', 'what every input holds (default: recognised per file from its first lines; a pipe is read as access logs)').choices(SOURCE_NAMES))
    .addOption(new Option('-f, --format <format>', 'access-log encoding').choices(['auto', 'envoy-text', 'envoy-json']).default('auto'))
    .option('--pod <namespace/pod>', 'the pod whose proxy wrote every input (for stdin or a kubectl logs file not named NS_POD.log)')
    .option('--container <name>', 'the container whose logs are access logs', 'istio-proxy')
    .option('--max-line-length <chars>', 'longer lines are rejected and reported', positiveInt, DEFAULT_MAX_LINE_LENGTH)
    .option('--merge <graph.json>', 'merge a graph saved by an earlier observe (repeatable)', collect, [])
    .option('--prometheus <url>', "also read Istio's standard metrics from this Prometheus' HTTP API over the window (--last, or --from/--to)")
    .option('--last <duration>', 'with --prometheus: the window up to --to (or now): 90m, 24h, 7d (default 7d)')
    .option('--from <time>', 'with --prometheus: the window\'s start, RFC 3339')
    .option('--to <time>', 'with --prometheus: the window\'s end, RFC 3339 (default now)')
    .option('--prometheus-http-config <file>', "credentials and TLS for --prometheus, in the file format of promtool's --http.config.file (basic_auth, authorization, tls_config)")
    .option('--prometheus-timeout <seconds>', 'with --prometheus: how long one query may take', positiveInt, 120)
    .option('-j, --jobs <n>', 'worker threads for large inputs (1: read in this process); the output is the same for any number', positiveInt, defaultJobs())
    .option('--max-external-endpoints <n>', 'world/unknown endpoints kept per workload and port; the rest are folded into one "(other)" node (docs/observe.md)', nonNegativeInt, DEFAULT_MAX_EXTERNAL_ENDPOINTS)
    .addOption(
      new Option('--fail-on <level>', 'what makes the exit code non-zero: rejected records (3), also unresolved endpoints (4), or nothing')
        .choices(['rejected', 'unresolved', 'never'])
        .default('unresolved'),
    )
    .option('-q, --quiet', 'no progress and no summary on stderr')
    .addHelpText(
      'after',
      `
Examples:
  ztmap observe -i fixtures/bookinfo/inventory.json fixtures/bookinfo/logs
  kubectl logs productpage-v1-xyz -c istio-proxy | ztmap observe -i inv.json --pod default/productpage-v1-xyz -
  ztmap observe -i inv.json '/var/log/pods/*/istio-proxy/*.log*'
  ztmap observe -i inv.json --prometheus http://prometheus.istio-system:9090 --last 7d
  ztmap observe -i inv.json logs/ hubble-flows.jsonl sidecar-metrics.prom

Exit codes: 0 ok, 2 bad usage or input, 3 records rejected, 4 endpoints unresolved, 1 internal error.`,
    )
    .action(async (inputs: string[], flags: Omit<ObserveOptions, 'inputs' | 'prometheus'> & PrometheusFlags & { quiet?: boolean; failOn: 'rejected' | 'unresolved' | 'never' }) => {
      const [{ observe }, { readPrometheusHttpConfig }] = await Promise.all([import('./commands/observe.js'), import('../sources/transports/prometheus-http-config.js')]);
      if (flags.prometheus === undefined && (flags.last ?? flags.from ?? flags.to ?? flags.prometheusHttpConfig) !== undefined) {
        throw new ConfigError('--last, --from, --to and --prometheus-http-config go with --prometheus URL.');
      }
      const term = terminalFor(process.stderr, process.env, flags.quiet === true);
      const { prometheus, prometheusHttpConfig, prometheusTimeout, last, from, to, ...rest } = flags;
      const result = await observe({
        ...rest,
        ...(prometheus === undefined
          ? {}
          : {
              prometheus: {
                client: { url: prometheus, timeoutMs: prometheusTimeout * 1000, ...(prometheusHttpConfig === undefined ? {} : await readPrometheusHttpConfig(prometheusHttpConfig)) },
                window: windowOf({ ...(last === undefined ? {} : { last }), ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }),
              },
            }),
        inputs,
        onProgress: (p) => term.progress(`reading ${printable(p.file)} (${p.filesDone + 1}/${p.filesTotal}) ${(p.bytes / 1048576).toFixed(0)} MiB, ${p.lines} lines`),
      });
      term.clear();
      if (flags.quiet !== true) process.stderr.write(observeSummary(result, term) + churnSummary(result.churn).map((l) => l + '\n').join(''));
      const { failOn } = flags;
      if (result.empty) {
        process.stderr.write(`ztmap: observe: no usable record in the inputs, and nothing to --merge; ${printable(flags.out)} was left as it was. Check that the inputs are istio-proxy access logs (the summary says what was skipped or rejected), or pass --container, --format or --pod.\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      process.exitCode =
        failOn !== 'never' && result.rejects.total > 0 ? EXIT.rejected
        : failOn === 'unresolved' && result.unresolved.total > 0 ? EXIT.unresolved
        : EXIT.ok;
    });

  cmd
    .command('collect')
    .description('Receive spans over OTLP (HTTP and gRPC) as a long-running process, build the service dependency graph as they arrive, and write graph.json, nodes.csv and edges.csv every --interval and when stopped (SIGTERM, SIGINT).')
    .option('-i, --inventory <file[@time]>', 'kubectl get … -o json|yaml dump; repeatable (as observe)', collect, [])
    .option('-o, --out <dir>', 'output directory, collect\'s own: a restart on the same one goes on from its last checkpoint', 'collected')
    .option('--flush-on-stop', 'on SIGTERM/SIGINT, count the spans still waiting for their partner alone (the end of collection) instead of keeping them for a restart')
    .option('--otlp-http <host:port>', 'OTLP/HTTP listen address (POST /v1/traces), or off', COLLECT_DEFAULTS.http)
    .option('--otlp-grpc <host:port>', 'OTLP/gRPC listen address, or off', COLLECT_DEFAULTS.grpc)
    .option('--interval <seconds>', 'seconds between checkpoints: a crash loses at most this much', positiveInt, COLLECT_DEFAULTS.intervalSeconds)
    .option('--join-wait <seconds>', "how long a span waits for its partner (a client's server span) before it counts alone", positiveInt, COLLECT_DEFAULTS.joinWaitSeconds)
    .option('--max-pending <spans>', 'most spans waiting for their partner at once; past it the oldest counts alone', positiveInt, COLLECT_DEFAULTS.maxPending)
    .option('--max-body-bytes <bytes>', 'largest request body, before and after decompression (413 past it)', positiveInt, COLLECT_DEFAULTS.maxBodyBytes)
    .option('--max-queued-bytes <bytes>', 'bytes of requests waiting to be read, past which senders are told to retry later (429, gRPC UNAVAILABLE)', positiveInt, COLLECT_DEFAULTS.maxQueuedBytes)
    .option('--max-external-endpoints <n>', 'world/unknown endpoints kept per workload and port (as observe)', nonNegativeInt, DEFAULT_MAX_EXTERNAL_ENDPOINTS)
    .option('--token-file <file>', 'require Authorization: Bearer TOKEN of every request, TOKEN being this file\'s content (trimmed); a file, so that the token is not in the process list')
    .option('--tls-cert <file>', 'serve both listeners over TLS with this PEM certificate chain (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('-q, --quiet', 'only the listening line on stderr, no line per checkpoint')
    .addHelpText(
      'after',
      `
Point an OpenTelemetry Collector's otlphttp or otlp exporter, or an SDK's OTLP exporter, at these
addresses (docs/sources.md, "Traces"). Spans claim their own workloads: beyond loopback, set
--token-file (and --tls-cert/--tls-key), so that only your Collector can send.

Examples:
  ztmap collect -i inv.json -o traces-graph
  ztmap collect -i inv.json -o traces-graph --otlp-http 0.0.0.0:4318 --otlp-grpc off --interval 30
  ztmap propose --graph traces-graph/graph.json -i inv.json

Exit codes: 0 stopped by SIGTERM/SIGINT after the last checkpoint, 2 bad usage or cannot listen, 1 internal error.`,
    )
    .action(async (flags: { inventory: string[]; out: string; otlpHttp: string; otlpGrpc: string; interval: number; joinWait: number; maxPending: number; maxBodyBytes: number; maxQueuedBytes: number; maxExternalEndpoints: number; tokenFile?: string; tlsCert?: string; tlsKey?: string; flushOnStop?: boolean; quiet?: boolean }) => {
      const { collect: collectSpans, listenAddress } = await import('./commands/collect.js');
      const http = listenAddress(flags.otlpHttp, '--otlp-http');
      const grpc = listenAddress(flags.otlpGrpc, '--otlp-grpc');
      if (http === undefined && grpc === undefined) throw new ConfigError('collect: --otlp-http and --otlp-grpc are both off; nothing would be received.');
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new ConfigError('collect: --tls-cert and --tls-key go together.');
      // A lone gzip body holds itself and its output: the queue must take that, or it would be refused forever.
      if (flags.maxQueuedBytes < 2 * flags.maxBodyBytes) throw new ConfigError(`collect: --max-queued-bytes (${flags.maxQueuedBytes}) must be at least twice --max-body-bytes (${flags.maxBodyBytes}): a gzip body and its output are held together.`);
      const token = flags.tokenFile === undefined ? undefined : (await readNamedText(flags.tokenFile, '--token-file', 'Pass a file holding the bearer token.')).trim();
      if (token === '') throw new ConfigError(`collect: --token-file ${flags.tokenFile} is empty.`);
      const tls =
        flags.tlsCert === undefined || flags.tlsKey === undefined
          ? undefined
          : { cert: Buffer.from(await readNamedText(flags.tlsCert, '--tls-cert', 'Pass a PEM certificate chain.')), key: Buffer.from(await readNamedText(flags.tlsKey, '--tls-key', 'Pass a PEM private key.')) };
      const last = await collectSpans({
        ...(flags.flushOnStop === true ? { flushOnStop: true } : {}),
        inventory: flags.inventory,
        out: flags.out,
        ...(http === undefined ? {} : { http }),
        ...(grpc === undefined ? {} : { grpc }),
        intervalSeconds: flags.interval,
        joinWaitSeconds: flags.joinWait,
        maxPending: flags.maxPending,
        maxBodyBytes: flags.maxBodyBytes,
        maxQueuedBytes: flags.maxQueuedBytes,
        maxExternalEndpoints: flags.maxExternalEndpoints,
        ...(token === undefined ? {} : { token }),
        ...(tls === undefined ? {} : { tls }),
        onListening: (a) => process.stderr.write(`collect: listening${a.http === undefined ? '' : ` otlp-http=${a.http}`}${a.grpc === undefined ? '' : ` otlp-grpc=${a.grpc}`}\n`),
        onCheckpoint: (s) => {
          if (flags.quiet === true) return;
          const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
          const rejected = sum(s.spans.rejected);
          const refused = sum(s.requests.refused);
          process.stderr.write(
            `collect: checkpoint ${s.checkpoints}: ${s.graph.edges} edges; ${s.spans.received} spans (${s.spans.pairs} joined pairs, ${s.spans.pending} waiting, ${s.spans.expired + s.spans.evicted + s.spans.flushed} gave up waiting), ${rejected} rejected; requests ${s.requests.accepted} ok, ${s.requests.partial} partial, ${sum(s.requests.badData)} bad, ${refused} refused\n`,
          );
        },
      });
      if (flags.quiet !== true) process.stderr.write(`collect: stopped; wrote ${printable(join(flags.out, 'graph.json'))} (${last.graph.edges} edges) and collect-status.json\n`);
      process.exitCode = EXIT.ok;
    });

  const kafkaOptions = (c: Command): Command =>
    c
      .option('--brokers <host:port,…>', 'Kafka bootstrap brokers (or KAFKA_BROKERS, or brokers in --kafka-config)')
      .option('--kafka-config <file>', 'YAML or JSON: brokers, clientId, tls {ca, cert, key, rejectUnauthorized}, sasl {mechanism, username, password | passwordFile}; flags and KAFKA_* variables win over it')
      .option('--client-id <id>', 'Kafka client id (or KAFKA_CLIENT_ID)')
      .option('--tls', 'connect over TLS, verifying the brokers against the system CAs or --tls-ca (or KAFKA_TLS=1)')
      .option('--tls-ca <file>', 'PEM CA bundle for the brokers (or KAFKA_TLS_CA); implies --tls')
      .option('--tls-cert <file>', 'PEM client certificate for mutual TLS (with --tls-key; or KAFKA_TLS_CERT)')
      .option('--tls-key <file>', 'PEM key of --tls-cert (or KAFKA_TLS_KEY)')
      .option('--tls-insecure', 'do not verify the brokers\' certificates (a test cluster only)')
      .option('--sasl-mechanism <mechanism>', 'plain, scram-sha-256 or scram-sha-512 (or KAFKA_SASL_MECHANISM)')
      .option('--sasl-username <name>', 'SASL user (or KAFKA_SASL_USERNAME)')
      .option('--sasl-password-file <file>', 'file holding the SASL password (or KAFKA_SASL_PASSWORD / KAFKA_SASL_PASSWORD_FILE; never a flag: the process list would show it)');
  const kafkaFlags = (f: Omit<KafkaFlags, 'config'> & { kafkaConfig?: string }): KafkaFlags => ({
    ...(f.brokers === undefined ? {} : { brokers: f.brokers }),
    ...(f.kafkaConfig === undefined ? {} : { config: f.kafkaConfig }),
    ...(f.clientId === undefined ? {} : { clientId: f.clientId }),
    ...(f.tls === undefined ? {} : { tls: f.tls }),
    ...(f.tlsCa === undefined ? {} : { tlsCa: f.tlsCa }),
    ...(f.tlsCert === undefined ? {} : { tlsCert: f.tlsCert }),
    ...(f.tlsKey === undefined ? {} : { tlsKey: f.tlsKey }),
    ...(f.tlsInsecure === undefined ? {} : { tlsInsecure: f.tlsInsecure }),
    ...(f.saslMechanism === undefined ? {} : { saslMechanism: f.saslMechanism }),
    ...(f.saslUsername === undefined ? {} : { saslUsername: f.saslUsername }),
    ...(f.saslPasswordFile === undefined ? {} : { saslPasswordFile: f.saslPasswordFile }),
  });
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

  kafkaOptions(
    cmd
      .command('consume')
      .description('Read telemetry from Kafka topics as one member of a consumer group (run several to scale out), and publish partial graph aggregates to the aggregate topic, exactly once, for `ztmap materialize`.')
      .option('-t, --topic <name=format>', `a telemetry topic and its format (${['otlp_proto', 'otlp_json', 'access-log', 'hubble'].join(', ')}); repeatable; a bare otlp_spans is otlp_proto`, collect, [])
      .option('-i, --inventory <file[@time]>', 'kubectl get … -o json|yaml dump; repeatable (as observe)', collect, [])
      .option('-g, --group <id>', 'consumer group of the collectors', CONSUME_DEFAULTS.group)
      .option('--aggregate-topic <name>', 'where partial aggregates are published', CONSUME_DEFAULTS.aggregateTopic)
      .option('--dead-letter-topic <name>', 'where records that cannot be read go, with their origin and the reason in headers', CONSUME_DEFAULTS.deadLetterTopic)
      .option('--chunk-records <n>', 'records of a partition read, published and committed together (one transaction)', positiveInt, CONSUME_DEFAULTS.chunkRecords)
      .option('--max-record-bytes <bytes>', 'larger records are not read: dead letters', positiveInt, CONSUME_DEFAULTS.maxRecordBytes)
      .option('--max-external-endpoints <n>', 'world/unknown endpoints kept per workload and port (as observe)', nonNegativeInt, DEFAULT_MAX_EXTERNAL_ENDPOINTS)
      .addOption(new Option('-f, --format <format>', 'access-log encoding on access-log topics').choices(['auto', 'envoy-text', 'envoy-json']).default('auto'))
      .option('--container <name>', 'the container whose logs are access logs (collector records naming another are skipped)', 'istio-proxy')
      .option('--until-idle <seconds>', 'stop after this many seconds with nothing to read (a batch run); by default run until SIGTERM/SIGINT', positiveInt)
      .option('-q, --quiet', 'no line per chunk, only the summary'),
  )
    .addHelpText(
      'after',
      `
Topics must exist: the telemetry topics, --aggregate-topic and --dead-letter-topic (docs/kafka.md).
Run as many as the telemetry topics have partitions; a member joining or leaving rebalances the
group, and nothing is lost or counted twice (docs/kafka.md, "Delivery").

Examples:
  ztmap consume --brokers kafka:9092 -i inv.json --topic otlp_spans --topic envoy-logs=access-log
  KAFKA_SASL_PASSWORD=… ztmap consume --brokers kafka:9093 --tls --sasl-mechanism scram-sha-512 --sasl-username ztmap -i inv.json --topic hubble=hubble

Exit codes: 0 stopped (SIGTERM/SIGINT, or --until-idle) after its last commit, 2 bad usage, unreachable cluster or missing topics, 1 internal error.`,
    )
    .action(async (flags: Omit<KafkaFlags, 'config'> & { kafkaConfig?: string; topic: string[]; inventory: string[]; group: string; aggregateTopic: string; deadLetterTopic: string; chunkRecords: number; maxRecordBytes: number; maxExternalEndpoints: number; format: 'auto' | 'envoy-text' | 'envoy-json'; container: string; untilIdle?: number; quiet?: boolean }) => {
      const [{ consume, topicSpec }, { kafkaSettings }] = await Promise.all([import('./commands/consume.js'), import('../sources/transports/kafka-settings.js')]);
      if (flags.topic.length === 0) throw new ConfigError('consume: no --topic. Name each telemetry topic with its format, e.g. --topic otlp_spans=otlp_proto --topic envoy-logs=access-log.');
      const topics = flags.topic.map(topicSpec);
      const status = await consume({
        kafka: kafkaSettings(kafkaFlags(flags), process.env, 'ztmap-consume'),
        group: flags.group,
        topics,
        aggregateTopic: flags.aggregateTopic,
        deadLetterTopic: flags.deadLetterTopic,
        inventory: flags.inventory,
        chunkRecords: flags.chunkRecords,
        maxRecordBytes: flags.maxRecordBytes,
        maxExternalEndpoints: flags.maxExternalEndpoints,
        accessLog: { format: flags.format, container: flags.container },
        ...(flags.untilIdle === undefined ? {} : { untilIdleSeconds: flags.untilIdle }),
        log: (line) => process.stderr.write(line),
        onReady: () => process.stderr.write(`consume: joined group ${printable(flags.group)}\n`),
        ...(flags.quiet === true ? {} : { onChunk: (s) => process.stderr.write(`consume: ${s.chunks} chunks committed, ${s.records} records, ${s.flows} flows, ${s.deadLetters} dead letters\n`) }),
      });
      process.stderr.write(
        `consume: stopped; ${status.records} records in ${status.chunks} chunks committed (${status.flows} flows), ${status.deadLetters} dead letters, ${sum(status.rejected)} rejected, ${sum(status.skipped)} skipped, ${status.alreadyCommitted} already committed by another member, ${status.aborted} transactions aborted\n`,
      );
      process.exitCode = EXIT.ok;
    });

  kafkaOptions(
    cmd
      .command('materialize')
      .description('Merge the partial aggregates of `ztmap consume` from the aggregate topic into graph.json, nodes.csv and edges.csv, checkpointed every --interval and when stopped; a restart on the same --out goes on from its checkpoint.')
      .option('-i, --inventory <file[@time]>', 'kubectl get … -o json|yaml dump; repeatable (for spans joined here)', collect, [])
      .option('-o, --out <dir>', "output directory, materialize's own", 'materialized')
      .option('-g, --group <id>', 'consumer group of the materializer (one member: it reads every partition)', MATERIALIZE_DEFAULTS.group)
      .option('--aggregate-topic <name>', 'the topic consume publishes to', CONSUME_DEFAULTS.aggregateTopic)
      .option('--interval <seconds>', 'seconds between checkpoints', positiveInt, MATERIALIZE_DEFAULTS.intervalSeconds)
      .option('--max-pending <spans>', 'most spans waiting for their partner at once; past it the oldest counts alone (they wait with no clock: docs/kafka.md)', positiveInt, MATERIALIZE_DEFAULTS.maxPending)
      .option('--max-external-endpoints <n>', 'world/unknown endpoints kept per workload and port (as observe)', nonNegativeInt, DEFAULT_MAX_EXTERNAL_ENDPOINTS)
      .option('--until-idle <seconds>', 'stop after this many seconds with nothing to read; by default run until SIGTERM/SIGINT', positiveInt)
      .option('--flush-on-stop', 'on stop, count the spans still waiting for their partner alone instead of keeping them for a restart')
      .option('-q, --quiet', 'no line per checkpoint'),
  )
    .addHelpText(
      'after',
      `
Examples:
  ztmap materialize --brokers kafka:9092 -i inv.json -o graph-out
  ztmap propose --graph graph-out/graph.json -i inv.json

Exit codes: 0 stopped after its last checkpoint, 2 bad usage, unreachable cluster, or an --out holding another graph, 1 internal error.`,
    )
    .action(async (flags: Omit<KafkaFlags, 'config'> & { kafkaConfig?: string; inventory: string[]; out: string; group: string; aggregateTopic: string; interval: number; maxPending: number; maxExternalEndpoints: number; untilIdle?: number; flushOnStop?: boolean; quiet?: boolean }) => {
      const [{ materialize }, { kafkaSettings }] = await Promise.all([import('./commands/materialize.js'), import('../sources/transports/kafka-settings.js')]);
      const last = await materialize({
        kafka: kafkaSettings(kafkaFlags(flags), process.env, 'ztmap-materialize'),
        group: flags.group,
        aggregateTopic: flags.aggregateTopic,
        inventory: flags.inventory,
        out: flags.out,
        intervalSeconds: flags.interval,
        maxPending: flags.maxPending,
        maxExternalEndpoints: flags.maxExternalEndpoints,
        ...(flags.untilIdle === undefined ? {} : { untilIdleSeconds: flags.untilIdle }),
        ...(flags.flushOnStop === true ? { flushOnStop: true } : {}),
        log: (line) => process.stderr.write(line),
        // Tests only (as ZTMAP_TEST_KILL_AFTER_WRITES): a pause after each aggregate record.
        ...(process.env['ZTMAP_TEST_MATERIALIZE_PAUSE_MS'] === undefined ? {} : { pauseAfterRecordMs: Number(process.env['ZTMAP_TEST_MATERIALIZE_PAUSE_MS']) }),
        ...(flags.quiet === true ? {} : { onCheckpoint: (s) => process.stderr.write(`materialize: checkpoint ${s.checkpoints}: ${s.partials} partials, ${s.input.records} records, ${s.graph.edges} edges\n`) }),
      });
      process.stderr.write(`materialize: stopped; wrote ${printable(join(flags.out, 'graph.json'))} (${last.graph.edges} edges from ${last.partials} partials, ${last.input.records} records, ${last.input.deadLetters} dead letters)\n`);
      process.exitCode = EXIT.ok;
    });

  cmd
    .command('propose')
    .description('Propose least-privilege policies from a saved graph: Istio AuthorizationPolicy, STRICT PeerAuthentication and Kubernetes NetworkPolicy, with a review of blockers, coverage and risk.')
    .requiredOption('-g, --graph <graph.json>', 'graph written by `ztmap observe`')
    .option('-i, --inventory <file>', 'kubectl get … -o json|yaml dump (repeatable); selectors are checked against its pods', collect, [])
    .option('-o, --out <dir>', 'output directory; manifests go to DIR/policies/TARGET/NAMESPACE/', 'output')
    .option('-t, --target <list>', `comma-separated targets: ${TARGETS_HELP}`, 'istio,mtls,networkpolicy')
    .option('--trust-domain <domain>', 'SPIFFE trust domain of principals', 'cluster.local')
    .option('--root-namespace <ns>', "Istio's root namespace (policies there apply mesh-wide)", 'istio-system')
    .option('--system-namespaces <list>', 'namespaces that are only peers: no policies proposed for them', list, DEFAULT_INFER_OPTIONS.systemNamespaces)
    .option('--min-requests <n>', 'edges with fewer requests are excluded (listed in the review)', nonNegativeInt, DEFAULT_INFER_OPTIONS.minRequests)
    .option('--min-days <n>', 'edges seen on fewer distinct UTC days are excluded', nonNegativeInt, DEFAULT_INFER_OPTIONS.minDays)
    .option('--sibling-limit <n>', 'more distinct paths than this under one parent collapse to a prefix', positiveInt, DEFAULT_INFER_OPTIONS.siblingLimit)
    .option('--include-scrapes', 'allow observed metrics scrapes instead of excluding them')
    .option('--dry-run', 'mark AuthorizationPolicies istio.io/dry-run: evaluated and logged, not enforced')
    .option('--first-apply', 'add a temporary allow-all per workload (Istio and NetworkPolicy), to delete one by one as enforcement is watched')
    .addOption(
      new Option('--fail-on <level>', 'what makes the exit code non-zero: manifests not emitted (6), also observed traffic denied (5), or nothing')
        .choices(['errors', 'blockers', 'never'])
        .default('blockers'),
    )
    .option('-q, --quiet', 'no summary on stderr')
    .addHelpText(
      'after',
      `
Examples:
  ztmap observe -i fixtures/bookinfo/inventory.json -o output fixtures/bookinfo/logs
  ztmap propose -g output/graph.json -i fixtures/bookinfo/inventory.json -o output
  ztmap propose -g output/graph.json -i inv.json --target networkpolicy --first-apply

Writes OUT/policies/{istio,mtls,networkpolicy}/NAMESPACE/*.yaml, review.md, review.json, rules.json.
Exit codes: 0 ok, 2 bad usage or input, 5 observed traffic would be denied (blockers), 6 manifests not emitted (errors), 1 internal error.`,
    )
    .action(async (flags: ProposeFlags) => {
      const { parseTargets, propose } = await import('./commands/propose.js');
      const term = terminalFor(process.stderr, process.env, flags.quiet === true);
      const result = await propose({
        graph: flags.graph,
        inventory: flags.inventory,
        out: flags.out,
        targets: parseTargets(flags.target),
        trustDomain: flags.trustDomain,
        rootNamespace: flags.rootNamespace,
        systemNamespaces: flags.systemNamespaces,
        minRequests: flags.minRequests,
        minDays: flags.minDays,
        siblingLimit: flags.siblingLimit,
        includeScrapes: flags.includeScrapes === true,
        dryRun: flags.dryRun === true,
        firstApply: flags.firstApply === true,
      });
      if (flags.quiet !== true) process.stderr.write(proposeSummary(result, term));
      const { errors, blockers } = result.review.counts;
      process.exitCode =
        flags.failOn !== 'never' && errors > 0 ? EXIT.errors
        : flags.failOn === 'blockers' && blockers > 0 ? EXIT.blockers
        : EXIT.ok;
    });
  cmd
    .command('verify')
    .description('Replay observed traffic against policies (Istio AuthorizationPolicy and PeerAuthentication, Kubernetes NetworkPolicy): what would be allowed or denied, by which policy and rule, and what is allowed that was never observed.')
    .argument('[inputs...]', 'access logs to replay, read as observe reads them (instead of --graph)')
    .option('-p, --policies <path>', 'manifest file or directory, read like kubectl apply -R (repeatable)', collect, [])
    .option('-g, --graph <graph.json>', 'replay a graph written by `ztmap observe`')
    .option('-i, --inventory <file>', 'kubectl get … -o json|yaml dump (repeatable): the pods, labels and namespaces policies select', collect, [])
    .option('--rules <rules.json>', "the proposal's rules.json: denials it reports itself (blockers, exclusions) are marked expected and do not fail the gate")
    .option('--trust-domain <domain>', 'SPIFFE trust domain of principals', 'cluster.local')
    .option('--root-namespace <ns>', "Istio's root namespace (policies there apply mesh-wide)", 'istio-system')
    .option('--no-over-permission', 'skip the search for allowed but unobserved traffic')
    .option('--json <file>', 'also write the whole verification as JSON (- for stdout, then no table)')
    .option('--all', 'list allowed observations in the table too, not only the others')
    .addOption(new Option('-f, --format <format>', 'access-log encoding (with inputs)').choices(['auto', 'envoy-text', 'envoy-json']).default('auto'))
    .option('--pod <namespace/pod>', 'the pod whose proxy wrote every input (with inputs)')
    .option('--container <name>', 'the container whose logs are access logs (with inputs)', 'istio-proxy')
    .option('--max-line-length <chars>', 'longer lines are rejected (with inputs)', positiveInt, DEFAULT_MAX_LINE_LENGTH)
    .addOption(
      new Option('--fail-on <level>', 'what makes the exit code non-zero: observed traffic denied (7), also verdicts that depend on unseen attributes (8), or nothing')
        .choices(['denied', 'unknown', 'never'])
        .default('denied'),
    )
    .option('-q, --quiet', 'no table; the exit code and --json only')
    .addHelpText(
      'after',
      `
Examples:
  ztmap verify -p output/policies -g output/graph.json -i fixtures/bookinfo/inventory.json --rules output/policies/rules.json
  ztmap verify -p k8s/policies/ -i inv.json --json verification.json /var/log/pods/
  ztmap verify -p existing-policies.yaml -g graph.json -i inv.json --fail-on unknown

Exit codes: 0 every observed request allowed, 7 observed traffic would be denied (not expected by --rules),
or DNS or xDS to istiod that every pod and sidecar needs would be denied,
6 some manifests would be rejected by the API server or Istio (not applied in the replay),
8 with --fail-on unknown: a verdict depends on what the telemetry does not show, 2 bad usage or input, 1 internal error.`,
    )
    .action(async (inputs: string[], flags: VerifyFlags) => {
      const [{ verifyCommand }, { verificationTable }] = await Promise.all([import('./commands/verify.js'), import('../verify/table.js')]);
      const v = await verifyCommand({
        policies: flags.policies,
        ...(flags.graph === undefined ? {} : { graph: flags.graph }),
        inputs,
        observe: { format: flags.format, container: flags.container, maxLineLength: flags.maxLineLength, ...(flags.pod === undefined ? {} : { pod: flags.pod }) },
        inventory: flags.inventory,
        ...(flags.rules === undefined ? {} : { rules: flags.rules }),
        trustDomain: flags.trustDomain,
        rootNamespace: flags.rootNamespace,
        overPermission: flags.overPermission,
        ...(flags.quiet === true ? {} : { onIpConflicts: (c) => process.stderr.write(ipConflictLines(c, terminalFor(process.stderr, process.env, false)).map((l) => l + '\n').join('')) }),
      });
      const json = JSON.stringify(v, null, 1) + '\n';
      if (flags.json === '-') process.stdout.write(json);
      else if (flags.json !== undefined) await writeFileAtomic(flags.json, json, 'verify --json');
      if (flags.quiet !== true && flags.json !== '-') process.stdout.write(verificationTable(v, { all: flags.all === true }));
      const s = v.summary;
      process.exitCode =
        flags.failOn !== 'never' && (s.unexpectedDenials.observations > 0 || s.dryRunDenials.observations > 0 || s.platform.denied > 0) ? EXIT.denied
        : flags.failOn !== 'never' && s.problems > 0 ? EXIT.errors
        : flags.failOn === 'unknown' && s.unknown.observations > 0 ? EXIT.unknown
        : EXIT.ok;
    });

  cmd
    .command('diff')
    .description('The semantic difference between two policy sets: per destination, which callers, ports, methods and paths become allowed or denied, decided by replaying the same requests against both (reformatting, reordering or splitting a policy shows no change).')
    .argument('<old>', 'the policies before: a manifest file or directory, read like kubectl apply -R')
    .argument('<new>', 'the policies after')
    .option('-i, --inventory <file>', 'kubectl get … -o json|yaml dump (repeatable): changes are reported per workload; without it, per selector the policies name', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .option('-o, --out <file>', 'write the diff to this file (replaced atomically) instead of stdout')
    .option('--exit-code', `exit ${EXIT.changed} when the policy sets differ (as git diff --exit-code), 0 when they do not`)
    .option('--trust-domain <domain>', 'SPIFFE trust domain of principals', 'cluster.local')
    .option('--root-namespace <ns>', "Istio's root namespace (policies there apply mesh-wide)", 'istio-system')
    .option('-q, --quiet', 'no summary line on stderr')
    .addHelpText(
      'after',
      `
Examples:
  ztmap diff output/policies-approved output/policies -i fixtures/bookinfo/inventory.json
  ztmap diff main/policies/ pr/policies/ -i inv.json --format json --out diff.json --exit-code

Exit codes: 0 ok (with --exit-code: no change), ${EXIT.changed} with --exit-code: the policy sets decide some request differently
or a gateway/waypoint (targetRef) policy differs, which is listed as not compared,
6 a manifest on either side would be refused by the API server or Istio (listed, not applied; 6 wins over ${EXIT.changed}), 2 bad usage or input, 1 internal error.`,
    )
    .action(async (before: string, after: string, flags: { inventory: string[]; format: 'markdown' | 'json'; out?: string; exitCode?: boolean; trustDomain: string; rootNamespace: string; quiet?: boolean }) => {
      const [{ diffCommand }, { diffJson, diffMarkdown }] = await Promise.all([import('./commands/diff.js'), import('../review/diff.js')]);
      const term = terminalFor(process.stderr, process.env, flags.quiet === true);
      const d = await diffCommand({
        onProgress: (done, total) => term.progress(`diff: replaying requests to destination ${done + 1}/${total}`),
        before,
        after,
        inventory: flags.inventory,
        trustDomain: flags.trustDomain,
        rootNamespace: flags.rootNamespace,
        ...(flags.quiet === true ? {} : { onIpConflicts: (c) => process.stderr.write(ipConflictLines(c, terminalFor(process.stderr, process.env, false)).map((l) => l + '\n').join('')) }),
      });
      term.clear();
      const text = flags.format === 'json' ? diffJson(d) : diffMarkdown(d, { before, after });
      if (flags.out === undefined) process.stdout.write(text);
      else await writeFileAtomic(flags.out, text, 'diff --out');
      if (flags.quiet !== true) {
        const s = d.summary;
        process.stderr.write(`diff: ${s.changes} change(s): ${s.newlyAllowed} newly allowed, ${s.newlyDenied} newly denied, ${s.other} other; ${s.notCompared} policies not compared; ${d.before.problems.length + d.after.problems.length} manifest problem(s); ${d.replayed} requests replayed\n`);
      }
      const problems = d.before.problems.length + d.after.problems.length;
      process.exitCode = problems > 0 ? EXIT.errors : flags.exitCode === true && d.summary.changes + d.summary.notCompared > 0 ? EXIT.changed : EXIT.ok;
    });
  cmd
    .command('drift')
    .description('Replay the traffic seen now against approved policies: what they do not allow (new edges, new operations, plaintext sources, with counts and first-seen times), and which of their allow rules no traffic used (candidates for removal).')
    .argument('[inputs...]', 'telemetry to replay, read as observe reads it (instead of --graph)')
    .option('-b, --baseline <path>', 'the approved policies: a manifest file or directory, read like kubectl apply -R (repeatable)', collect, [])
    .option('-g, --graph <graph.json>', 'replay a graph written by `ztmap observe` (or collect)')
    .option('-i, --inventory <file>', 'kubectl get … -o json|yaml dump (repeatable): the pods, labels and namespaces policies select', collect, [])
    .option('--since <time>', 'RFC 3339: traffic last seen before it is outside the window (not drift; it only dates when a rule was last used)')
    .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .option('-o, --out <file>', 'write the report to this file (replaced atomically) instead of stdout')
    .addOption(new Option('-s, --source <source>', 'what every input holds (default: recognised per file, as observe)').choices(SOURCE_NAMES))
    .addOption(new Option('--log-format <format>', 'access-log encoding (with inputs)').choices(['auto', 'envoy-text', 'envoy-json']).default('auto'))
    .option('--pod <namespace/pod>', 'the pod whose proxy wrote every input (with inputs)')
    .option('--container <name>', 'the container whose logs are access logs (with inputs)', 'istio-proxy')
    .option('--trust-domain <domain>', 'SPIFFE trust domain of principals', 'cluster.local')
    .option('--root-namespace <ns>', "Istio's root namespace (policies there apply mesh-wide)", 'istio-system')
    .addOption(
      new Option('--fail-on <level>', `what makes the exit code non-zero: drift (${EXIT.denied}), also undecided verdicts (${EXIT.unknown}), or nothing`)
        .choices(['drift', 'unknown', 'never'])
        .default('drift'),
    )
    .option('-q, --quiet', 'no summary line on stderr')
    .addHelpText(
      'after',
      `
Examples:
  ztmap drift --baseline output/policies -g output/graph.json -i fixtures/bookinfo/inventory.json
  ztmap drift -b approved/ -i inv.json --since 2026-11-17T00:00:00Z --format json -o drift.json /var/log/pods/

Exit codes: 0 the baseline allows all traffic in the window, ${EXIT.denied} drift: traffic the baseline does not allow
(also what the mesh refused today) or refusals the baseline allows (the cluster differs from it),
${EXIT.unknown} with --fail-on unknown: a verdict depends on what the telemetry does not show,
6 a baseline manifest would be refused (not applied), 2 bad usage or input, 1 internal error.`,
    )
    .action(async (inputs: string[], flags: { baseline: string[]; graph?: string; inventory: string[]; since?: string; format: 'markdown' | 'json'; out?: string; source?: string; logFormat: 'auto' | 'envoy-text' | 'envoy-json'; pod?: string; container: string; trustDomain: string; rootNamespace: string; failOn: 'drift' | 'unknown' | 'never'; quiet?: boolean }) => {
      const [{ driftCommand }, { driftJson, driftMarkdown }] = await Promise.all([import('./commands/drift.js'), import('../review/drift.js')]);
      const term = terminalFor(process.stderr, process.env, flags.quiet === true);
      const d = await driftCommand({
        baseline: flags.baseline,
        ...(flags.graph === undefined ? {} : { graph: flags.graph }),
        inputs,
        observe: {
          onProgress: (p) => term.progress(`reading ${printable(p.file)} (${p.filesDone + 1}/${p.filesTotal}) ${(p.bytes / 1048576).toFixed(0)} MiB, ${p.lines} lines`),
          format: flags.logFormat,
          container: flags.container,
          maxLineLength: DEFAULT_MAX_LINE_LENGTH,
          ...(flags.pod === undefined ? {} : { pod: flags.pod }),
          ...(flags.source === undefined ? {} : { source: flags.source }),
        },
        inventory: flags.inventory,
        trustDomain: flags.trustDomain,
        rootNamespace: flags.rootNamespace,
        ...(flags.since === undefined ? {} : { since: flags.since }),
        ...(flags.quiet === true ? {} : { onIpConflicts: (c) => process.stderr.write(ipConflictLines(c, terminalFor(process.stderr, process.env, false)).map((l) => l + '\n').join('')) }),
      });
      term.clear();
      const text = flags.format === 'json' ? driftJson(d) : driftMarkdown(d);
      if (flags.out === undefined) process.stdout.write(text);
      else await writeFileAtomic(flags.out, text, 'drift --out');
      const s = d.summary;
      if (flags.quiet !== true) {
        const unused = d.rules.filter((r) => r.status === 'unused').length;
        process.stderr.write(`drift: ${s.drift} observation(s) not allowed by the baseline (${s.requests} requests: ${s.newEdges} new edge(s), ${s.newOperations} new operation(s), ${s.plaintext} plaintext source(s), ${s.refusedToday} refused today), ${s.clusterDiffers} refused today but allowed by the baseline, ${s.undecided} undecided; ${unused} of ${d.rules.length} allow rules unused\n`);
      }
      process.exitCode =
        flags.failOn !== 'never' && (s.drift > 0 || s.clusterDiffers > 0) ? EXIT.denied
        : flags.failOn !== 'never' && d.baseline.problems.length > 0 ? EXIT.errors
        : flags.failOn === 'unknown' && s.undecided > 0 ? EXIT.unknown
        : EXIT.ok;
    });
  cmd
    .command('pr')
    .description("Put a proposal into a git repository of policies, in the repository's own layout, as a branch with one commit and a pull request body; with --github-repo and a token, open or update the pull request on GitHub.")
    .requiredOption('--repo <dir>', 'a clone of the repository that holds the policies (its work tree must be clean)')
    .option('--proposal <dir>', 'the policies directory `ztmap propose` wrote', 'output/policies')
    .option('--policies-path <path>', 'where the policies are in the repository, relative to its root', 'policies')
    .option('--base <branch>', 'the branch the pull request merges into (default: the branch checked out)')
    .option('--branch <name>', "the proposal's branch, ztmap's own: each run rebuilds it on --base", 'ztmap/policies')
    .option('--push <remote>', 'push the branch to this git remote (needed for --github-repo)')
    .option('--author <identity>', 'commit as "Name <email>" (default: git config user.name and user.email)')
    .option('--github-repo <owner/name>', 'open or update the pull request in this GitHub repository (with --push and a token)')
    .option('--token-env <name>', 'the environment variable holding the GitHub token', 'GITHUB_TOKEN')
    .option('--token-file <file>', 'read the GitHub token from this file instead')
    .option('--api-url <url>', "GitHub's REST API: https://HOST/api/v3 for GitHub Enterprise Server", 'https://api.github.com')
    .option('-i, --inventory <file>', 'kubectl get … -o json|yaml dump (repeatable): the semantic diff in the body per workload (without: per selector)', collect, [])
    .option('--trust-domain <domain>', 'SPIFFE trust domain of principals (semantic diff)', 'cluster.local')
    .option('--root-namespace <ns>', "Istio's root namespace (semantic diff)", 'istio-system')
    .option('--drift <drift.json>', 'a drift report against the base\'s policies (ztmap drift --format json): its unused allows go into the body')
    .option('--dry-run', 'plan and print the body; no branch, no commit, no push, no API call')
    .option('-q, --quiet', 'no summary on stderr')
    .addHelpText(
      'after',
      `
Examples:
  ztmap pr --repo ../gitops --proposal output/policies --policies-path clusters/prod/policies
  ztmap pr --repo . --push origin --github-repo acme/gitops        # token in GITHUB_TOKEN
  ztmap pr --repo . --push origin --github-repo acme/gitops --api-url https://ghe.acme.example/api/v3

Without --github-repo, the body is printed on stdout and the branch is left for you to push.
A proposal that says nothing new against --base makes no commit (exit 0); ztmap's branch left from an
earlier run is then stale: with --github-repo, when the branch still holds only ztmap's commit, within
this run's --policies-path and kinds, and no other open pull request comes from it or goes into it, its
pull request is marked superseded, the branch deleted, and the pull request closed with a comment;
otherwise, or without --github-repo, it is left and the output says why and what to do (docs/review.md, "Running twice").
Exit codes: 0 ok (also when there is nothing new), 2 bad usage or input (not a git work tree, uncommitted
changes, a proposal that cannot be read or names that are not Kubernetes names, a path through a symbolic
link), 10 GitHub or the git remote refused or failed (bad token, no access, rate limited: the message says
until when), or the branch holds commits ztmap did not make or another job's proposal (another
--policies-path, targets or namespaces), or is checked out elsewhere (nothing is moved),
1 internal error. See docs/review.md.`,
    )
    .action(async (flags: PrFlags) => {
      const { parseAuthor, pr, staleSummary } = await import('./commands/pr.js');
      const github = flags.githubRepo === undefined ? undefined : { repository: flags.githubRepo, token: await githubToken(flags), apiUrl: flags.apiUrl };
      if (github !== undefined && flags.push === undefined && flags.dryRun !== true) {
        throw new ConfigError('pr: --github-repo needs --push REMOTE: a pull request names a branch that is on GitHub.');
      }
      const term = terminalFor(process.stderr, process.env, flags.quiet === true);
      const result = await pr({
        onProgress: (done, total) => term.progress(`pr: replaying requests to destination ${done + 1}/${total}`),
        repo: flags.repo,
        proposal: flags.proposal,
        policiesPath: flags.policiesPath,
        ...(flags.base === undefined ? {} : { base: flags.base }),
        branch: flags.branch,
        ...(flags.push === undefined ? {} : { push: flags.push }),
        ...(flags.author === undefined ? {} : { author: parseAuthor(flags.author) }),
        ...(github === undefined || flags.dryRun === true ? {} : { github }),
        dryRun: flags.dryRun === true,
        ...(flags.drift === undefined ? {} : { drift: flags.drift }),
        inventory: flags.inventory,
        trustDomain: flags.trustDomain,
        rootNamespace: flags.rootNamespace,
        env: process.env,
        userAgent: 'ztmap/0.1.0',
      });
      term.clear();
      if (flags.quiet !== true) process.stderr.write(prSummary(result, result.stale === undefined ? [] : staleSummary(result.stale, result.base)));
      if (result.pullRequest !== undefined) process.stdout.write(`${result.pullRequest.url}\n`);
      else if (result.outcome !== 'no-change') process.stdout.write(result.text.body);
      process.exitCode = EXIT.ok;
    });
  return cmd;
}

/** pr's flags: PrOptions' own where they are the same; the author as written, GitHub's parts apart. */
type PrFlags = Pick<PrOptions, 'repo' | 'proposal' | 'policiesPath' | 'base' | 'branch' | 'push' | 'drift' | 'inventory' | 'trustDomain' | 'rootNamespace'> & {
  author?: string;
  githubRepo?: string;
  tokenEnv: string;
  tokenFile?: string;
  apiUrl: string;
  dryRun?: boolean;
  quiet?: boolean;
};

/** The token, from --token-file or the environment; never from argv, never printed. */
async function githubToken(flags: PrFlags): Promise<string> {
  const token = flags.tokenFile !== undefined ? (await readNamedText(flags.tokenFile, '--token-file', 'Pass a file holding the GitHub token.')).trim() : (process.env[flags.tokenEnv] ?? '').trim();
  if (token === '') {
    throw new ConfigError(`pr: --github-repo needs a token: ${flags.tokenFile !== undefined ? `--token-file ${printable(flags.tokenFile)} is empty` : `the environment variable ${printable(flags.tokenEnv)} is empty or unset`}. In GitHub Actions, pass GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }}.`);
  }
  return token;
}

/** `stale`: what was done with an earlier proposal's branch (commands/pr.ts staleSummary). */
function prSummary(r: PrResult, stale: string[]): string {
  const n = (k: string) => r.plan.changes.filter((c) => c.change === k).length;
  const lines = [`pr: layout ${r.plan.layout.template} (${r.plan.layout.matched} of ${r.plan.layout.files} policy files follow it)`];
  if (r.outcome === 'no-change') {
    lines.push(
      r.plan.changes.length === 0
        ? `pr: nothing to propose: ${printable(r.base)} already holds these policies (${r.plan.unchanged} manifests as proposed); no commit, no pull request.`
        : `pr: nothing to propose: ${r.plan.changes.length} manifests differ in text, but ${printable(r.base)}'s policies decide every one of ${r.diff?.replayed ?? 0} requests replayed as the proposal does; no commit, no pull request.`,
    );
    lines.push(...stale);
    return lines.map((l) => l + '\n').join('');
  }
  lines.push(`pr: ${n('added')} manifests added, ${n('changed')} changed, ${n('removed')} removed; ${r.plan.unchanged} already as proposed`);
  if (r.diff !== undefined) lines.push(`pr: for traffic: ${r.diff.summary.newlyAllowed} newly allowed, ${r.diff.summary.newlyDenied} newly denied, ${r.diff.summary.other} other (${r.diff.replayed} requests replayed)`);
  if (r.outcome === 'dry-run') lines.push('pr: --dry-run: no branch, no commit, no push, no API call');
  if (r.outcome === 'unchanged-branch') lines.push(`pr: ${printable(r.branch)} already holds this proposal (${r.commit!.slice(0, 12)}); no new commit`);
  if (r.outcome === 'committed') lines.push(`pr: committed ${r.commit!.slice(0, 12)} on ${printable(r.branch)} (base ${printable(r.base)})`);
  if (r.outcome === 'left-closed') lines.push(`pr: a person closed the pull request on this proposal; ztmap pushes nothing to ${printable(r.branch)} and leaves it closed until the proposal changes`);
  if (r.pushed !== undefined) lines.push(`pr: pushed ${printable(r.branch)} to ${printable(r.pushed)}`);
  if (r.pullRequest !== undefined) lines.push(`pr: pull request #${r.pullRequest.number} ${r.pullRequest.action}: ${printable(r.pullRequest.url)}`);
  else if (r.outcome !== 'dry-run') lines.push(`pr: the body is on stdout; push ${printable(r.branch)} and open the pull request, or pass --push and --github-repo`);
  return lines.map((l) => l + '\n').join('');
}


/**
 * Tests only: kill this process with SIGKILL before the Nth step that changes an output (0:
 * before the first). Deterministic, so a failing kill point replays from the property's seed.
 */
function killAfterOutputSteps(env: NodeJS.ProcessEnv): void {
  const v = env['ZTMAP_TEST_KILL_AFTER_WRITES'];
  if (v === undefined) return;
  let left = Number(v);
  setOutputStepHook(() => {
    if (left-- === 0) process.kill(process.pid, 'SIGKILL');
  });
}

/**
 * A reader that stops early (`ztmap propose --help | head -3`) closes its end of the pipe: what
 * is left to print has no reader, which is no failure of the command. It is dropped quietly and
 * the command finishes with its own exit code; any other write error is still raised.
 */
function dropOutputNobodyReads(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

export async function main(argv: string[]): Promise<void> {
  killAfterOutputSteps(process.env);
  dropOutputNobodyReads(process.stdout);
  dropOutputNobodyReads(process.stderr);
  try {
    await program().parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof RemoteError) {
      process.stderr.write(`ztmap: ${printableLines(err.message)}\n`);
      process.exitCode = EXIT.remote;
    } else if (err instanceof ConfigError || err instanceof InputError || err instanceof OutputError) {
      process.stderr.write(`ztmap: ${printableLines(err.message)}\n`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof ZtmapError) {
      process.stderr.write(`ztmap: ${printableLines(err.message)}\n`);
      process.exitCode = EXIT.internal;
    } else {
      process.stderr.write(`ztmap: internal error: ${printableLines((err as Error).stack ?? String(err))}\nPlease report this with the command you ran.\n`);
      process.exitCode = EXIT.internal;
    }
  }
}

await main(process.argv);
