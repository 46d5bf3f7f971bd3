// Kubernetes objects as plain typed data, and the name and label rules they must obey.
// Builders validate here so that an invalid manifest cannot be built (docs/architecture.md, "Valid by construction"):
// a name taken from telemetry or the inventory that is not a valid Kubernetes name is
// rejected with InvalidNameError, never emitted.

import { createHash } from 'node:crypto';
import { ZtmapError } from '../errors.js';
import type { Finding } from '../rules/finding.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** A name or label that Kubernetes would refuse: the manifest that needed it is not emitted. */
export class InvalidNameError extends ZtmapError {
  constructor(
    readonly what: string,
    readonly value: string,
    rule: string,
  ) {
    super(`${what} ${JSON.stringify(value)} is not valid: ${rule}. Check the inventory object it came from; ztmap does not emit manifests with invalid names.`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

export function isLabelKey(k: string): boolean {
  const slash = k.lastIndexOf('/');
  const name = slash < 0 ? k : k.slice(slash + 1);
  const prefix = slash < 0 ? undefined : k.slice(0, slash);
  return name.length <= 63 && LABEL_NAME.test(name) && (prefix === undefined || isDnsSubdomain(prefix));
}

export function isLabelValue(v: string): boolean {
  return v.length <= 63 && LABEL_VALUE.test(v);
}

const NAMESPACE_RULE = 'a namespace is a DNS-1123 label (lowercase letters, digits and -, at most 63)';

export function checkNamespace(ns: string): string {
  if (!isDnsLabel(ns)) throw new InvalidNameError('namespace', ns, NAMESPACE_RULE);
  return ns;
}

/** The error an emitter reports for a namespace it cannot write policies into, or undefined when the name is valid. */
export function invalidNamespace(target: string, ns: string): Finding | undefined {
  if (isDnsLabel(ns)) return undefined;
  return { severity: 'error', target, subject: ns, message: `no policies for namespace ${ns}: ${new InvalidNameError('namespace', ns, NAMESPACE_RULE).message}` };
}

export function checkSubdomain(what: string, s: string): string {
  if (!isDnsSubdomain(s)) throw new InvalidNameError(what, s, 'expected a DNS-1123 subdomain (lowercase letters, digits, - and ., at most 253)');
  return s;
}

export function checkLabels(labels: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(labels)) {
    if (!isLabelKey(k)) throw new InvalidNameError('label key', k, 'expected [prefix/]name with a name of at most 63 characters');
    if (!isLabelValue(v)) throw new InvalidNameError(`value of label ${k}`, v, 'expected at most 63 letters, digits, -, _ or ., starting and ending alphanumeric');
  }
  return labels;
}

/** A Kubernetes name as a segment of a DNS-1123 label: subdomain dots become dashes. */
export function nameSegment(name: string): string {
  return name.replace(/\./g, '-');
}

/**
 * An object name `ztmap-<parts>`: a DNS-1123 label of at most 63 characters. Parts come
 * from validated Kubernetes names; when too long the name is cut and ends in a short hash
 * of the whole, so it stays stable and distinct.
 */
export function objectName(...parts: string[]): string {
  const full = nameSegment(['ztmap', ...parts].join('-'));
  if (!DNS_LABEL.test(full)) throw new InvalidNameError('object name', full, 'built from names that are not DNS-1123');
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}
