// One sample of a Prometheus metric, as an exposition file (a sidecar's /stats/prometheus,
// ztunnel's /metrics, a federation dump) or a query answer gives it: what the metric decoders
// share, whichever transport brought the sample.

import type { Location } from '../../errors.js';

export interface MetricSample {
  /** The metric name (`istio_requests_total`), `__name__` of a query answer when it kept one. */
  name: string;
  /** Label values, unescaped; `__name__` is not among them. */
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Epoch milliseconds, when the exposition or the answer gives one. */
  timestamp?: number;
  location: Location;
}
