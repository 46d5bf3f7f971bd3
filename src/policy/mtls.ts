// STRICT mTLS readiness and proposal: a PeerAuthentication per managed namespace
// (security.istio.io/v1), and the list that must be empty before it is applied — every
// sidecar workload of the namespace that still receives plaintext, from whom, how much.
// Excluded traffic counts too: a kubelet probe through the sidecar breaks under STRICT.
// ztunnel enforces PeerAuthentication for ambient workloads too (istio.io, ambient/usage/
// l4-policy, "Peer authentication"); no server proxy logs what reaches them, so their
// plaintext clients are the observed sources outside the mesh: workloads with neither a
// sidecar nor ambient mode, node and external addresses. Kubelet probes to ambient pods are
// rewritten to 169.254.7.127 and exempt from Istio's enforcement, so they do not count.

import type { RuleSet } from '../rules/access-rule.js';
import { ambientPlaintextInbound, plaintextInbound } from '../rules/mtls-readiness.js';
import type { Finding } from '../rules/finding.js';
import { windowLine, type EmitResult, type Emitted } from './emitted.js';
import { invalidNamespace, objectName } from './manifest.js';
import { workloadsIn } from './selector.js';

export interface MtlsOptions {
  rootNamespace: string;
}

export function mtlsPolicies(rs: RuleSet, o: MtlsOptions): EmitResult {
  const manifests: Emitted[] = [];
  const findings: Finding[] = [];
  for (const ns of rs.managedNamespaces) {
    const nsWorkloads = workloadsIn(rs.cluster.workloads, ns);
    if (!nsWorkloads.some((w) => w.dataplane !== 'none')) continue;
    const ambient = nsWorkloads.some((w) => w.dataplane === 'ambient');
    if (ns === o.rootNamespace) {
      findings.push({ severity: 'warning', target: 'mtls', subject: ns, message: `${ns} is Istio's root namespace, where a PeerAuthentication applies to the whole mesh: none proposed.` });
      continue;
    }
    const invalid = invalidNamespace('mtls', ns);
    if (invalid !== undefined) {
      findings.push(invalid);
      continue;
    }
    // Plaintext a sidecar received, and plaintext that reached ztunnel for an ambient pod: both are refused under STRICT.
    const all = [
      ...plaintextInbound(rs, ns).map((p) => ({ ...p, message: `${p.workload} received ${p.requests} plaintext request(s) from ${p.from} on port ${p.port}: STRICT mTLS in ${ns} would refuse them.` })),
      ...ambientPlaintextInbound(rs, ns).map((p) => ({
        ...p,
        message: `${p.workload} (ambient mode) received ${p.requests} request(s) from ${p.from} on port ${p.port}, which reach ztunnel in plaintext (${p.why}): STRICT mTLS in ${ns} would refuse them.`,
      })),
    ];
    for (const p of all) findings.push({ severity: 'blocker', target: 'mtls', subject: p.workload, message: p.message, requests: p.requests });
    const ready = all.length === 0;
    manifests.push({
      ...(ready ? {} : { notReady: true }),
      manifest: {
        apiVersion: 'security.istio.io/v1',
        kind: 'PeerAuthentication',
        metadata: { name: objectName('strict'), namespace: ns, annotations: { 'ztmap.io/generated-by': 'ztmap propose', 'ztmap.io/mtls-ready': String(ready) } },
        spec: { mtls: { mode: 'STRICT' } },
      },
      header: [
        ...(ready
          ? [
              ambient
                ? `STRICT mTLS for namespace ${ns}: every request its sidecars received was mTLS, and no source outside the mesh was observed reaching its ambient pods, ${windowLine(rs)}.`
                : `STRICT mTLS for namespace ${ns}: every request its sidecars received was mTLS, ${windowLine(rs)}.`,
            ]
          : [
              `NOT READY: STRICT mTLS for namespace ${ns} would refuse plaintext that was observed (${windowLine(rs)}):`,
              ...all.map((p) => `  ${p.workload}:${p.port} <- ${p.from}: ${p.requests} plaintext request(s)`),
              'Written as .yaml.not-ready so that kubectl apply -R skips it: apply only once this list is empty (see review.md, "mTLS readiness").',
            ]),
        ...(ambient
          ? ['ztunnel enforces it for the ambient workloads here: their in-mesh clients always use mTLS (HBONE), so it refuses only clients outside the mesh; ambient mode ignores DISABLE.']
          : []),
      ],
      comments: [],
    });
  }
  return { target: 'mtls', manifests, findings };
}
