// The fields of an Envoy access-log entry that ztmap uses, independent of encoding.
// `-` and null in the log become undefined here.

export interface AccessLogEntry {
  startTime?: string;
  method?: string;
  path?: string;
  protocol?: string;
  responseCode: number;
  responseFlags?: string;
  responseCodeDetails?: string;
  userAgent?: string;
  requestId?: string;
  authority?: string;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  downstreamLocalAddress?: string;
  downstreamRemoteAddress?: string;
  requestedServerName?: string;
  /** ROUTE_NAME (TEXT's last field since 1.4, JSON `route_name`): `block_all` marks REGISTRY_ONLY's refusal. */
  routeName?: string;
  /** X-Forwarded-For as logged (`"10.48.0.1"`), when the format has it. */
  xForwardedFor?: string;
}

export function dash(v: string | undefined): string | undefined {
  return v === undefined || v === '-' || v === '' ? undefined : v;
}
