// The pre-pass that learns which pod held which address, and when, from the pods' own lines
// (src/cli/observe/bindings.ts): from the head and tail of large files, gzip files included,
// and from the whole of a collector's file that mixes pods.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { learnBindings, LEARN_WINDOW } from '../../src/cli/observe/bindings.js';
import { expandInputs } from '../../src/sources/transports/files.js';
import { tempDir } from '../support/cli.js';

const T = Date.parse('2026-11-24T10:00:00Z');
const SEC = 1000;

/** An outbound line of the pod at `own`, calling 10.1.0.9:8080 through Service svc. */
function outbound(t: number, own: string, path = '/x'): string {
  return `[${new Date(t).toISOString()}] "GET ${path} HTTP/1.1" 200 - via_upstream - "-" 0 10 1 1 "-" "ua" "id-${t}" "svc:80" "10.1.0.9:8080" outbound|80||svc.shop.svc.cluster.local ${own}:40000 10.96.0.1:80 ${own}:40001 - default`;
}
/** An inbound line of the pod at `own`, called by 10.1.0.9. */
function inbound(t: number, own: string): string {
  return `[${new Date(t).toISOString()}] "GET /y HTTP/1.1" 200 - via_upstream - "-" 0 10 1 1 "-" "ua" "id-${t}" "me:80" "${own}:8080" inbound|8080|| 127.0.0.6:40000 ${own}:8080 10.1.0.9:40001 outbound_.80_._.me.shop.svc.cluster.local default`;
}
const cri = (t: number, line: string) => `${new Date(t).toISOString()} stdout F ${line}\n`;

describe('observe: learning bindings from the pods own lines', () => {
  it('learns address and time range from the head and tail of large and gzip files, and skips other containers', async () => {
    const dir = tempDir();
    const pod = join(dir, 'pods', 'shop_web-5b4d9c7b8f-x7k2p_0a1b2c3d-0000-4000-8000-000000000001');
    mkdirSync(join(pod, 'istio-proxy'), { recursive: true });
    mkdirSync(join(pod, 'app'), { recursive: true });
    // Rotated, compressed: 09:00..09:59, larger than two windows once inflated.
    let rotated = '';
    for (let t = T - 3600 * SEC; t < T; t += 500) rotated += cri(t, outbound(t, '10.1.0.5', `/old/${t}`));
    assert.ok(rotated.length > 2 * LEARN_WINDOW);
    writeFileSync(join(pod, 'istio-proxy', '0.log.20261124-100000.gz'), gzipSync(rotated));
    // Current, plain: 10:00..10:59, inbound lines only (its address is downstream_local_address).
    let current = '';
    for (let t = T; t < T + 3600 * SEC; t += 500) current += cri(t, inbound(t, '10.1.0.5'));
    assert.ok(current.length > 2 * LEARN_WINDOW);
    writeFileSync(join(pod, 'istio-proxy', '0.log'), current);
    writeFileSync(join(pod, 'app', '0.log'), cri(T, outbound(T + 7200 * SEC, '10.1.0.99')));
    const learned = await learnBindings(await expandInputs([dir]), { format: 'auto', container: 'istio-proxy' });
    assert.deepEqual(learned, [
      { namespace: 'shop', name: 'web-5b4d9c7b8f-x7k2p', uid: '0a1b2c3d-0000-4000-8000-000000000001', ips: ['10.1.0.5'], first: T - 3600 * SEC, last: T + 3600 * SEC - 500 },
    ]);
  });

  it("reads a collector's file whole, so a pod that logged only in its middle is learned over its whole range", async () => {
    const dir = tempDir();
    const record = (t: number, pod: string, own: string) =>
      JSON.stringify({ log: outbound(t, own) + '\n', stream: 'stdout', time: new Date(t).toISOString(), kubernetes: { pod_name: pod, namespace_name: 'shop', container_name: 'istio-proxy' } }) + '\n';
    let text = '';
    for (let i = 0; i < 6000; i++) {
      const t = T + i * SEC;
      text += record(t, 'busy-1', '10.1.0.5');
      if (i >= 2000 && i < 2100) text += record(t, 'quiet-1', '10.1.0.6');
    }
    assert.ok(text.length > 2 * LEARN_WINDOW);
    writeFileSync(join(dir, 'fluent-bit.jsonl'), text);
    const learned = await learnBindings(await expandInputs([dir]), { format: 'auto', container: 'istio-proxy' });
    assert.deepEqual(
      learned.map((p) => [p.name, p.ips, p.first - T, p.last - T, p.uid]),
      [
        ['busy-1', ['10.1.0.5'], 0, 5999 * SEC, undefined],
        ['quiet-1', ['10.1.0.6'], 2000 * SEC, 2099 * SEC, undefined],
      ],
    );
  });

  it('learns nothing from a file whose name is only a hint, nor from stdin', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'web-1.log'), outbound(T, '10.1.0.5') + '\n');
    assert.deepEqual(await learnBindings([...(await expandInputs([dir])), { path: '-' }], { format: 'auto', container: 'istio-proxy' }), []);
    // With --pod, the same file names its pod.
    const learned = await learnBindings(await expandInputs([dir]), { format: 'auto', container: 'istio-proxy', pod: { namespace: 'shop', name: 'web-1' } });
    assert.deepEqual(learned.map((p) => [p.namespace, p.name, p.ips]), [['shop', 'web-1', ['10.1.0.5']]]);
  });
});
