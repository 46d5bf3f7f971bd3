// Istio standard metrics as a source: exposition files (a sidecar's :15090/stats/prometheus,
// ztunnel's :15020/metrics, a Prometheus federation dump) here, and a live Prometheus' HTTP API
// over a window (istio-metrics-window.ts). A scrape holds counters since each proxy started:
// its counts are totals up to the scrape, at the samples' own time when the file gives one
// (federation), otherwise at no known time. Give one scrape per proxy; for a window, ask Prometheus.

import { endpointKeyOf } from '../flow/endpoint-key.js';
import { metricFlow, ISTIO_METRICS_DECODER } from './decoders/istio-metrics.js';
import { createExpositionState, decodeExpositionLine, endOfExposition } from './decoders/prometheus-text.js';
import { DEFAULT_MAX_LINE_LENGTH } from './framing/lines.js';
import { readLineFiles } from './read-lines.js';
import type { FlowSinks, Source } from './source.js';

/** A line of an exposition: `# HELP`/`# TYPE`/`# UNIT`/`# EOF`, or `name{labels} value [time]`. */
const EXPOSITION_LINE = /^(?:# (?:HELP|TYPE|UNIT|EOF)\b|[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?[ \t]+\S+(?:[ \t]+\S+)?[ \t]*$)/;

export const istioMetricsSource: Source = {
  name: 'istio-metrics',
  description: "Istio standard metrics: exposition files (a sidecar's :15090/stats/prometheus, ztunnel's :15020/metrics, /federate), or --prometheus",
  decoders: [ISTIO_METRICS_DECODER],
  transports: ['files', 'prometheus-api'],
  splittable: false,
  recognises: (lines) => lines.length > 0 && lines.every((l) => EXPOSITION_LINE.test(l.replace(/^\uFEFF/, ''))),
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
            const d = metricFlow(sample.value);
            if (d.kind === 'ok') {
              d.value.endpointKey = endpointKeyOf(d.value);
              sinks.flow(d.value);
            }
            // Every other metric of a scrape (Envoy's own, durations, bytes) is counted once by name.
            else if (d.kind === 'skip') sinks.skips.add(d.reason, location);
            else sinks.rejects.add(d.reason, location, d.detail);
          },
          oversize(lineNumber, length) {
            sinks.rejects.add('line-too-long', { file: file.path, line: lineNumber }, `${length} characters; the limit is ${max} (--max-line-length)`);
          },
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
