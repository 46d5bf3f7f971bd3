// `observe --prometheus URL`: Istio's standard metrics over a window, read from a live
// Prometheus (sources/istio-metrics-window.ts), resolved and counted like any other source's
// flows, into a graph of their own that observe merges (and fuses) with the files' graph.

import { GraphBuilder } from '../../graph/build.js';
import type { ServiceGraph } from '../../graph/graph.js';
import type { Inventory } from '../../inventory/inventory.js';
import { Resolver } from '../../inventory/resolve.js';
import { readPrometheusMetrics, type MetricWindow, type PrometheusRead } from '../../sources/istio-metrics-window.js';
import { istioMetricsSource } from '../../sources/istio-metrics-source.js';
import type { PrometheusClientOptions } from '../../sources/transports/prometheus-api.js';
import type { Tally } from '../../tally.js';

export interface PrometheusInput {
  client: PrometheusClientOptions;
  window: MetricWindow;
}

export async function observePrometheus(
  inventory: Inventory,
  input: PrometheusInput,
  tallies: { rejects: Tally; skips: Tally; unresolved: Tally },
  maxExternalEndpoints: number,
): Promise<{ read: PrometheusRead; flows: number; graph: ServiceGraph }> {
  const resolver = new Resolver(inventory, tallies.unresolved);
  const builder = new GraphBuilder({ source: istioMetricsSource.name, maxExternalEndpoints });
  let flows = 0;
  const read = await readPrometheusMetrics(input.client, input.window, {
    flow(flow) {
      flows++;
      for (const rf of resolver.resolve(flow)) builder.add(rf);
    },
    rejects: tallies.rejects,
    skips: tallies.skips,
  });
  return { read, flows, graph: builder.toGraph() };
}
