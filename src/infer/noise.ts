// Traffic that is real but must not become an ordinary allow rule (issue 3; docs/policies.md):
// the kubelet's probes, metrics scrapes, Istio's own ports, and flows too rare to trust.
// Each is excluded explicitly, listed in the review with what enforcement will do to it.

import type { NodeAttributes, EdgeAttributes } from '../graph/attributes.js';
import type { ExclusionReason, RuleEvidence } from '../rules/access-rule.js';

/** Ports the Istio proxy serves itself: pilot-agent (15020), health (15021), Envoy stats (15090). */
const ISTIO_PROXY_PORTS = new Set([15020, 15021, 15090]);

const METRICS_PATHS = new Set(['/metrics', '/stats/prometheus']);

function isPrometheus(n: NodeAttributes): boolean {
  const name = n.labels['app.kubernetes.io/name'] ?? n.labels['app'] ?? '';
  return name === 'prometheus' || name === 'prometheus-server';
}

export interface NoiseThresholds {
  minRequests: number;
  minDays: number;
  includeScrapes: boolean;
}

export interface Noise {
  reason: ExclusionReason;
  consequence: string;
}

/**
 * `hostIPs`: the nodes the destination's pods ran on. Only a pod's own node is its kubelet;
 * other node addresses (API server webhooks, NodePort traffic, hostNetwork pods) are real
 * traffic that NetworkPolicy does not exempt, so they become rules.
 */
export function noiseOf(edge: EdgeAttributes, from: NodeAttributes, hostIPs: ReadonlySet<string>, evidence: RuleEvidence, t: NoiseThresholds): Noise | undefined {
  if (from.kind === 'node' && from.ips.length > 0 && from.ips.every((ip) => hostIPs.has(ip))) {
    const viaSidecar = edge.server.requests > 0;
    return {
      reason: 'kubelet-probe',
      consequence: viaSidecar
        ? 'these requests from the node pass through the destination\'s sidecar in plaintext: an Istio ALLOW policy denies them and STRICT mTLS breaks them. ' +
          'Let Istio rewrite the probes (remove the sidecar.istio.io/rewriteAppHTTPProbers: "false" annotation). NetworkPolicy always admits the pod\'s own node.'
        : 'NetworkPolicy always admits traffic from the pod\'s own node; no rule is needed.',
    };
  }
  if (ISTIO_PROXY_PORTS.has(edge.port)) {
    return {
      reason: 'istio-port',
      consequence: `port ${edge.port} is served by the Istio proxy itself and is not subject to AuthorizationPolicy; a NetworkPolicy default-deny blocks it unless allowed by hand.`,
    };
  }
  const scrapeOnly = edge.methods.length > 0 && edge.methods.every((m) => m === 'GET') && edge.paths.length > 0 && edge.paths.every((p) => METRICS_PATHS.has(p));
  if (!t.includeScrapes && (scrapeOnly || isPrometheus(from))) {
    return {
      reason: 'metrics-scrape',
      consequence: 'metrics scrapes are denied once policies are enforced; rerun with --include-scrapes to allow them as observed.',
    };
  }
  // An edge whose records carried no time has no known days: it is kept (a missing allow is
  // an outage), and its confidence note says so.
  // Seen but never counted (Hubble's packets of connections opened before the capture began):
  // traffic that exists, whose count is unknown, so it meets a threshold of one request.
  const requests = evidence.requests === 0 ? 1 : evidence.requests;
  if (requests < t.minRequests || (evidence.daysSeen > 0 && evidence.daysSeen < t.minDays)) {
    return {
      reason: 'below-threshold',
      consequence: `seen ${evidence.requests} time(s) on ${evidence.daysSeen} distinct UTC day(s), below --min-requests ${t.minRequests} / --min-days ${t.minDays}: denied once policies are enforced.`,
    };
  }
  return undefined;
}
