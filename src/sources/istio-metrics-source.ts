// Istio standard metrics as a source: exposition files (a sidecar's :15090/stats/prometheus,
// ztunnel's :15020/metrics, a Prometheus federation dump) here, and a live Prometheus' HTTP API
// over a window (istio-metrics-window.ts). A scrape holds counters since each proxy started:
// its counts are totals up to the scrape, at the samples' own time when the file gives one
// (federation), otherwise at no known time. Give one scrape per proxy; for a window, ask Prometheus.

import { metricFlow, ISTIO_METRICS_DECODER } from './decoders/istio-metrics.js';
import { createExpositionState, decodeExpositionLine, endOfExposition } from './decoders/prometheus-text.js';
import { DEFAULT_MAX_LINE_LENGTH } from './framing/lines.js';
import { readLineFiles } from './read-lines.js';
import { deliver, oversizeReject, type FlowSinks, type Source } from './source.js';

/** A sample line: `name{labels} value [time]`, the value a number as the formats write one. */
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?[ \t]+[-+]?(?:\d|\.\d|inf|nan)[^ \t]*(?:[ \t]+[-+]?\d[^ \t]*)?[ \t]*$/i;
const METADATA_LINE = /^# (?:HELP|TYPE|UNIT|EOF)\b/;

/**
 * Every line a comment (`#`: the text format allows any) or a sample, and at least one a sample
 * or a `# TYPE`/`# HELP`: what no access log or Hubble record looks like.
 */
function isExposition(lines: readonly string[]): boolean {
  const plain = lines.map((l) => l.replace(/^\uFEFF/, ''));
  return plain.some((l) => SAMPLE_LINE.test(l) || METADATA_LINE.test(l)) && plain.every((l) => l.startsWith('#') || SAMPLE_LINE.test(l));
}

export const istioMetricsSource: Source = {
  name: 'istio-metrics',
  description: "Istio standard metrics: exposition files (a sidecar's :15090/stats/prometheus, ztunnel's :15020/metrics, /federate), or --prometheus",
  decoders: [ISTIO_METRICS_DECODER],
  transports: ['files', 'prometheus-api'],
  splittable: false,
  recognises: isExposition,
  readFiles(files, options, sinks: FlowSinks) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    return readLineFiles(files, max, sinks, (file) => {
      const state = createExpositionState();
      return {
        sink: {
          line(text, lineNumber) {
            const location = { file: file.path, line: lineNumber };
            const sample = decodeExpositionLine(text, file.path, lineNumber, state);
            if (sample === undefined) return;
            if (sample.kind !== 'ok') {
              if (sample.kind === 'skip') sinks.skips.add(sample.reason, location);
              else sinks.rejects.add(sample.reason, location, sample.detail);
              return;
            }
            // Every other metric of a scrape (Envoy's own, durations, bytes) is a skip counted by name.
            deliver(metricFlow(sample.value), location, sinks);
          },
          oversize: oversizeReject(sinks.rejects, file.path, max),
        },
        end(complete) {
          const missing = complete ? endOfExposition(state) : undefined;
          if (missing !== undefined && missing.kind === 'reject') sinks.rejects.add(missing.reason, { file: file.path, line: state.lastLine }, missing.detail);
          return false;
        },
      };
    });
  },
};
