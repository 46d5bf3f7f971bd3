// The OTLP trace messages, from the OpenTelemetry protocol's own definitions (proto/README.md:
// opentelemetry-proto 1.6.0, unmodified) loaded by protobufjs: wire parsing is protobufjs's,
// the schema is the project's, none of it is ztmap's.

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';

// From dist/src/sources/decoders/ (or src/sources/decoders/) to the repository's proto/.
const DEFINITIONS = fileURLToPath(new URL('../../../../proto/opentelemetry-proto/', import.meta.url));

const root = new protobuf.Root();
// Imports (`opentelemetry/proto/common/v1/common.proto`) are relative to the definitions' root.
root.resolvePath = (_origin, target) => join(DEFINITIONS, target);
root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });

export const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
