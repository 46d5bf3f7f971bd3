// Envoy/Istio access logs (sidecars, gateways, waypoints) as a source: the default for any
// file no other source recognises, since its decoder reports exactly what it cannot read.

import { readAccessLogs } from './read-access-logs.js';
import type { Source } from './source.js';

export const accessLogSource: Source = {
  name: 'access-log',
  description: 'Envoy/Istio access logs (text or JSON; CRI, kubectl, Fluent Bit and Vector framing)',
  decoders: ['envoy-text', 'envoy-json'],
  transports: ['files'],
  splittable: true,
  recognises: () => true,
  readFiles: (files, options, sinks) => readAccessLogs(files, options, sinks),
};
