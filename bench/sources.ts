// `npm run bench:sources`: the Istio metrics and Hubble sources against the bare loop on the
// same files, as `npm run bench` does for access logs.
//   BENCH_SERIES=200000 (exposition samples)  BENCH_FLOWS=1000000 (Hubble flows)  BENCH_RUNS=1
// Generates bench-data/metrics-N.prom and bench-data/hubble-N.jsonl on first use, from the
// workloads of bench-data/inventory.json (`npm run bench` makes it), so that every name resolves.

import { execFileSync } from 'node:child_process';
import { BENCH_DATA, runOne, type Result } from './child.js';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from './rng.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = BENCH_DATA;
const seriesCount = Number(process.env['BENCH_SERIES'] ?? 200_000);
const flowCount = Number(process.env['BENCH_FLOWS'] ?? 1_000_000);
const runs = Number(process.env['BENCH_RUNS'] ?? 1);

interface Pod {
  ns: string;
  name: string;
  workload: string;
  sa: string;
  ip: string;
}

function podsOf(inventoryFile: string): Pod[] {
  const items = (JSON.parse(readFileSync(inventoryFile, 'utf8')) as { items: Record<string, any>[] }).items;
  return items
    .filter((o) => o['kind'] === 'Pod' && o['status']?.['podIP'] !== undefined)
    .map((o) => ({ ns: o['metadata']['namespace'], name: o['metadata']['name'], workload: o['metadata']['labels']['app'], sa: o['spec']?.['serviceAccountName'] ?? 'default', ip: o['status']['podIP'] }));
}


async function write(file: string, lines: (push: (l: string) => void) => void): Promise<void> {
  const out = createWriteStream(file);
  let buf: string[] = [];
  lines((l) => {
    buf.push(l);
    if (buf.length >= 10_000) {
      out.write(buf.join('\n') + '\n');
      buf = [];
    }
  });
  if (buf.length > 0) out.write(buf.join('\n') + '\n');
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
}

/** A federation dump's worth of istio_requests_total: pairs of workloads, both reporters, a few response codes. */
async function generateMetrics(file: string, pods: Pod[]): Promise<void> {
  const r = rng(7);
  const at = Date.UTC(2026, 10, 24, 11);
  await write(file, (push) => {
    push('# TYPE istio_requests_total untyped');
    // A mesh has far fewer edges than series (codes, reporters, pods that reported): 4 series
    // per (pair, reporter) on average, over PAIRS pairs.
    const pairs = Array.from({ length: Math.max(1, Math.floor(seriesCount / 8)) }, () => [pods[Math.floor(r() * pods.length)]!, pods[Math.floor(r() * pods.length)]!] as const);
    for (let i = 0; i < seriesCount; i++) {
      const [s, d] = pairs[Math.floor(i / 2) % pairs.length]!;
      const reporter = i % 2 === 0 ? 'source' : 'destination';
      const code = ['200', '200', '200', '201', '404', '503'][Math.floor(r() * 6)]!;
      const p = (pod: Pod) => `spiffe://cluster.local/ns/${pod.ns}/sa/${pod.sa}`;
      push(
        `istio_requests_total{reporter="${reporter}",source_workload="${s.workload}",source_canonical_service="${s.workload}",source_canonical_revision="latest",source_workload_namespace="${s.ns}",` +
          `source_principal="${p(s)}",source_app="${s.workload}",source_version="",source_cluster="Kubernetes",destination_workload="${d.workload}",destination_workload_namespace="${d.ns}",` +
          `destination_principal="${p(d)}",destination_app="${d.workload}",destination_version="",destination_service="${d.workload}.${d.ns}.svc.cluster.local",destination_canonical_service="${d.workload}",` +
          `destination_canonical_revision="latest",destination_service_name="${d.workload}",destination_service_namespace="${d.ns}",destination_cluster="Kubernetes",request_protocol="http",` +
          `response_code="${code}",grpc_response_status="",response_flags="-",connection_security_policy="${reporter === 'source' ? 'unknown' : 'mutual_tls'}",` +
          `instance="${reporter === 'source' ? s.ip : d.ip}:15090",job="envoy-stats",namespace="${reporter === 'source' ? s.ns : d.ns}",pod="${reporter === 'source' ? s.name : d.name}"} ${1 + Math.floor(r() * 5000)} ${at}`,
      );
    }
  });
}

/** hubble observe -o jsonpb lines: connections between pods, each its SYN at both ends, ACK/PSH packets and the SYN+ACK reply. */
async function generateHubble(file: string, pods: Pod[]): Promise<void> {
  const r = rng(11);
  const t0 = Date.UTC(2026, 10, 24, 10);
  const endpoint = (p: Pod, id: number) => ({
    ID: id,
    identity: 10_000 + id,
    namespace: p.ns,
    labels: [`k8s:app=${p.workload}`, `k8s:io.kubernetes.pod.namespace=${p.ns}`, `k8s:io.cilium.k8s.policy.serviceaccount=${p.sa}`],
    pod_name: p.name,
    workloads: [{ name: p.workload, kind: 'Deployment' }],
  });
  await write(file, (push) => {
    // Connections over a fixed set of pod pairs, as in a mesh: many connections per edge.
    const pairs = Array.from({ length: 5_000 }, () => [Math.floor(r() * pods.length), Math.floor(r() * pods.length)] as const);
    for (let i = 0; i < flowCount; ) {
      const [a, b] = pairs[Math.floor(r() * pairs.length)]!;
      const s = pods[a]!;
      const d = pods[b]!;
      const sport = 32768 + Math.floor(r() * 28000);
      const time = new Date(t0 + Math.floor(r() * 3_600_000)).toISOString();
      const base = (flags: Record<string, boolean>, direction: string, reply: boolean, src: Pod, dst: Pod, ports: [number, number]) =>
        JSON.stringify({
          flow: {
            time,
            verdict: 'FORWARDED',
            IP: { source: src.ip, destination: dst.ip, ipVersion: 'IPv4' },
            l4: { TCP: { source_port: ports[0], destination_port: ports[1], flags } },
            source: endpoint(src, src === s ? a : b),
            destination: endpoint(dst, dst === d ? b : a),
            Type: 'L3_L4',
            node_name: 'bench/node-1',
            traffic_direction: direction,
            is_reply: reply,
            Summary: 'TCP Flags: ' + Object.keys(flags).join(', '),
          },
        });
      for (const line of [
        base({ SYN: true }, 'EGRESS', false, s, d, [sport, 8080]),
        base({ SYN: true }, 'INGRESS', false, s, d, [sport, 8080]),
        base({ SYN: true, ACK: true }, 'INGRESS', true, d, s, [8080, sport]),
        base({ ACK: true, PSH: true }, 'EGRESS', false, s, d, [sport, 8080]),
        base({ ACK: true, PSH: true }, 'INGRESS', true, d, s, [8080, sport]),
      ]) {
        if (i++ >= flowCount) break;
        push(line);
      }
    }
  });
}


const inventory = join(data, 'inventory.json');
if (!existsSync(inventory)) execFileSync(process.execPath, [join(here, 'generate.js'), '--lines', '1000', '--format', 'text', '--out', data], { stdio: 'inherit' });
const pods = podsOf(inventory);
const files = { metrics: join(data, `metrics-${seriesCount}.prom`), hubble: join(data, `hubble-${flowCount}.jsonl`) };
if (!existsSync(files.metrics)) await generateMetrics(files.metrics, pods);
if (!existsSync(files.hubble)) await generateHubble(files.hubble, pods);

process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
process.stdout.write(`${seriesCount} series, ${flowCount} Hubble flows, best of ${runs} run(s), the modes taking turns; one core\n\n`);
process.stdout.write('source   mode   lines/s    peak RSS MiB  seconds  flows    edges  ratio\n');
for (const format of ['metrics', 'hubble'] as const) {
  const best = new Map<string, Result>();
  for (let i = 0; i < runs; i++) {
    for (const mode of ['bare', 'ztmap']) {
      const r = runOne(mode, format, files[format]);
      const prev = best.get(mode);
      if (prev === undefined || r.linesPerSecond > prev.linesPerSecond) best.set(mode, r);
    }
  }
  const bare = best.get('bare')!;
  for (const r of [bare, best.get('ztmap')!]) {
    process.stdout.write(
      `${format.padEnd(8)} ${r.mode.padEnd(6)} ${String(r.linesPerSecond).padStart(8)}  ${r.maxRssMiB.toFixed(0).padStart(12)}  ${r.seconds.toFixed(1).padStart(7)}  ${String(r.flows ?? '').padStart(7)}  ${String(r.edges ?? '').padStart(5)}  ${r.mode === 'bare' ? '' : (r.linesPerSecond / bare.linesPerSecond).toFixed(2) + '×'}\n`,
    );
  }
  if ((best.get('ztmap')!.rejected ?? 0) > 0) process.stdout.write(`  note: ztmap rejected ${best.get('ztmap')!.rejected} lines of the generated ${format} file\n`);
}
