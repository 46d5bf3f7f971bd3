// Istio standard metrics over a window, from a live Prometheus: the aggregation is
// Prometheus' (`sum by (...) (increase(...[window]))` at the window's end), never raw series
// pulled here, and counter resets are its business. increase() needs two samples in the window,
// so a series born inside it (a rare edge: a counter created by its first request, scraped once)
// would read nothing; the second query finds such births (series in the window that did not
// exist at its start) and counts their lowest value, so a rare edge is never dropped. Per
// series, the count is the larger of the two: each is a lower bound of the window's requests.

import { COUNTED_METRICS, FLOW_LABELS, metricFlow } from './decoders/istio-metrics.js';
import type { MetricSample } from './decoders/metric-sample.js';
import { deliver, type FlowSinks } from './source.js';
import { queryInstant, type PrometheusClientOptions } from './transports/prometheus-api.js';

export interface MetricWindow {
  /** Epoch ms. */
  from: number;
  to: number;
}

export interface PrometheusRead {
  url: string;
  queries: number;
  /** Series answered (before they were turned into flows). */
  series: number;
  /** Prometheus' warnings: the answers may be partial. */
  warnings: string[];
}

/** The two queries for one counter over a window of `seconds`. */
function windowQueries(metric: string, seconds: number): { increase: string; births: string; atStart: string } {
  const by = FLOW_LABELS.join(', ');
  const range = `[${seconds}s]`;
  return {
    increase: `sum by (${by}) (increase(${metric}${range}))`,
    births: `sum by (${by}) (min_over_time(${metric}${range}) unless ${metric} offset ${seconds}s)`,
    atStart: `count(${metric} offset ${seconds}s)`,
  };
}

/** A label set as one key (labels in FLOW_LABELS order). */
const seriesKey = (labels: Readonly<Record<string, string>>) => JSON.stringify(FLOW_LABELS.map((l) => labels[l] ?? ''));

/** Reads Istio's traffic counters over `window` into flows, one per series answered. */
export async function readPrometheusMetrics(client: PrometheusClientOptions, window: MetricWindow, sinks: FlowSinks): Promise<PrometheusRead> {
  const seconds = Math.max(1, Math.round((window.to - window.from) / 1000));
  const read: PrometheusRead = { url: client.url.replace(/\/\/[^/?#]*@/, '//'), queries: 0, series: 0, warnings: [] };
  for (const metric of Object.keys(COUNTED_METRICS)) {
    const q = windowQueries(metric, seconds);
    const increase = await queryInstant(client, q.increase, window.to);
    const births = await queryInstant(client, q.births, window.to);
    read.queries += 2;
    read.warnings.push(...increase.warnings, ...births.warnings);
    if (births.samples.length > 0) {
      // A window that starts before Prometheus' oldest data has no series at its start, so every
      // series would read as born inside it, with its lifetime total: say so.
      const atStart = await queryInstant(client, q.atStart, window.to);
      read.queries += 1;
      if (atStart.samples.length === 0 || atStart.samples.every((x) => x.value === 0)) {
        read.warnings.push(
          `no ${metric} series existed at the window's start (${new Date(window.from).toISOString()}): if that is before Prometheus' oldest data, the ${births.samples.length} series counted as new inside the window may be older, with counts since their proxy started. Give a window inside Prometheus' retention.`,
        );
      }
    }
    const bySeries = new Map<string, MetricSample>();
    for (const s of [...increase.samples, ...births.samples]) {
      const k = seriesKey(s.labels);
      const prev = bySeries.get(k);
      // NaN stays as it came: metricFlow rejects it with its location.
      if (prev === undefined || s.value > prev.value) bySeries.set(k, { ...s, name: metric });
    }
    read.series += bySeries.size;
    for (const s of [...bySeries.values()]) {
      deliver(metricFlow(s, window), s.location, sinks);
    }
  }
  return read;
}

