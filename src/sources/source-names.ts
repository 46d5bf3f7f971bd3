// The names --source takes, in the order files are offered to the sources (registry.ts's
// SOURCES, which test/sources/registry.test.ts checks against this): cli/main.ts lists them in
// --help without loading every source's decoders (protobufjs among them) on each start.

export const SOURCE_NAMES = ['istio-metrics', 'hubble', 'traces', 'access-log'] as const;
