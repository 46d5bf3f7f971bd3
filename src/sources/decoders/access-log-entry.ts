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
}

export function dash(v: string | undefined): string | undefined {
  return v === undefined || v === '-' || v === '' ? undefined : v;
}
