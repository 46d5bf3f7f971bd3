// The OTLP trace messages as the OpenTelemetry project generated them (opentelemetry-proto →
// protobufjs static code, in @opentelemetry/otlp-transformer 0.57's build/src/generated/root.js).
// The module declares only `$protobuf.Root`; this file gives the few messages ztmap uses a type.

import { createRequire } from 'node:module';

/** A generated message class: what ztmap calls on it. */
interface GeneratedMessage<T = unknown> {
  decode(reader: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
  fromObject(object: Record<string, unknown>): T;
  toObject(message: T, options: Record<string, unknown>): Record<string, unknown>;
}

interface GeneratedRoot {
  opentelemetry: {
    proto: {
      collector: {
        trace: {
          v1: {
            ExportTraceServiceRequest: GeneratedMessage;
            ExportTraceServiceResponse: GeneratedMessage;
          };
        };
      };
    };
  };
}

// A CommonJS module without an `exports` map: required by path.
const require = createRequire(import.meta.url);
export const generated = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as GeneratedRoot;
