// The OpenTelemetry set-up of every shop service, loaded before the service's own code with
// `node --import ./telemetry.js ./shop.js ROLE`, as the SDK's docs prescribe for ES modules.
// Everything a deployment would configure comes from the environment the test gives, as a pod
// spec (and the Collector's k8sattributes processor) would give it:
//   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (k8s.namespace.name, k8s.pod.name,
//   k8s.deployment.name), OTEL_TRACES_EXPORTER=otlp, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
//   (http/protobuf or grpc), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_HEADERS,
//   OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
//   OTEL_BSP_SCHEDULE_DELAY, OTEL_LOG_LEVEL (TelemetryEnv).
// The SDK builds the OTLP exporter itself (exporter-trace-otlp-proto or -grpc, both
// dependencies of sdk-node) with a BatchSpanProcessor; SIGTERM shuts it down, which exports what
// the processor still holds, before the process exits.

import { createRequire } from 'node:module';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';

// The HTTP instrumentation's default redaction (AWS and GCS signatures) leaves `token` in
// url.full and url.query, as most deployments do: whatever the spans carry reaches ztmap.
/** The environment a service's SDK is configured by (the OpenTelemetry SDK's own variables). */
export type TelemetryEnv = {
  OTEL_SERVICE_NAME: string;
  /** `k8s.namespace.name=…,k8s.pod.name=…,k8s.deployment.name=…` */
  OTEL_RESOURCE_ATTRIBUTES: string;
  OTEL_TRACES_EXPORTER: 'otlp';
  OTEL_METRICS_EXPORTER: 'none';
  OTEL_LOGS_EXPORTER: 'none';
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' | 'grpc';
  /** OTLP/HTTP: the whole URL (`…/v1/traces`); OTLP/gRPC: `http://HOST:PORT`. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: string;
  /** `authorization=Bearer%20TOKEN`: HTTP headers, gRPC metadata. */
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: string;
  /** gzip: OTLP/HTTP's Content-Encoding, gRPC's message compression. */
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip' | 'none';
  /** The BatchSpanProcessor's delay, ms. */
  OTEL_BSP_SCHEDULE_DELAY: string;
  /** `error`: a failed export is written to stderr (the SDK's diag logger), which the test checks is empty. */
  OTEL_LOG_LEVEL: 'error';
};

const sdk = new NodeSDK({ instrumentations: [new HttpInstrumentation(), new GrpcInstrumentation()] });
sdk.start();

// The instrumentations patch modules as they are `require`d. An ES module's `import` of a
// built-in or of a CommonJS package does not go through `require`, so both are required here,
// once, after start: the patches are made on the shared module objects (http's request and
// Server.prototype.emit, grpc-js's Client and Server prototypes) that shop.js's imports then see.
const require = createRequire(import.meta.url);
require('node:http');
require('@grpc/grpc-js');

process.once('SIGTERM', () => {
  sdk.shutdown().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`telemetry: shutdown failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
});
