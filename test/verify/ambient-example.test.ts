// @e2e: the runnable example of docs/ambient.md, through the real binary, on
// fixtures/ambient: a sidecar client (front/frontend) calls an ambient server (shop/api).
// ztmap's proposal replays with every request allowed; the sidecar-style L7 policy it would
// have written before ambient was detected is denied by ztunnel, and verify says so.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Verification } from '../../src/verify/verification.js';
import { tempDir, ztmap } from '../support/cli.js';
import { FIXTURES } from '../support/paths.js';

const EXAMPLE = join(FIXTURES, 'ambient');
const INVENTORY = join(EXAMPLE, 'inventory.yaml');

describe('the ambient example of docs/ambient.md @e2e', () => {
  const out = tempDir();
  const graph = join(out, 'graph.json');
  const policies = join(out, 'policies');

  before(() => {
    const observed = ztmap(['observe', '-q', '-i', INVENTORY, '-o', out, join(EXAMPLE, 'logs')]);
    assert.equal(observed.status, 0, observed.stderr);
    const proposed = ztmap(['propose', '-q', '-g', graph, '-i', INVENTORY, '-o', out]);
    assert.equal(proposed.status, 0, proposed.stderr);
  });

  it('proposes an L4-only ALLOW for the ambient server, HBONE and probe allows, and says what was left out', () => {
    const allow = readFileSync(join(policies, 'istio', 'shop', 'authorizationpolicy-ztmap-allow-api.yaml'), 'utf8');
    assert.match(allow, /ztmap.io\/dataplane: ambient/);
    assert.doesNotMatch(allow.replace(/^\s*#.*$/gm, ''), /methods|paths/);
    assert.match(readFileSync(join(policies, 'networkpolicy', 'shop', 'networkpolicy-ztmap-workload-api.yaml'), 'utf8'), /port: 15008/);
    assert.match(readFileSync(join(policies, 'networkpolicy', 'shop', 'networkpolicy-ztmap-allow-ambient-probes.yaml'), 'utf8'), /cidr: 169\.254\.7\.127\/32/);
    const review = JSON.parse(readFileSync(join(policies, 'review.json'), 'utf8')) as { findings: { severity: string; target: string; subject: string; message: string }[] };
    const left = review.findings.find((f) => f.target === 'istio' && f.subject === 'shop/Deployment/api' && f.severity === 'warning');
    assert.match(left?.message ?? '', /Left out: from front\/Deployment\/frontend on port 8080: methods GET, POST; paths \/api\/cart, \/api\/items\/\*/);
  });

  it('verify: the proposal allows every observed request; the sidecar-style policy is denied by ztunnel (exit 7)', () => {
    const json = join(out, 'verification.json');
    const ok = ztmap(['verify', '-p', policies, '-g', graph, '-i', INVENTORY, '--rules', join(policies, 'rules.json'), '--json', json]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const v = JSON.parse(readFileSync(json, 'utf8')) as Verification;
    assert.equal(v.summary.allowed.requests, 12);

    const old = ztmap(['verify', '-p', join(EXAMPLE, 'sidecar-style'), '-g', graph, '-i', INVENTORY, '--no-over-permission']);
    assert.equal(old.status, 7, old.stdout + old.stderr);
    assert.match(old.stdout, /DENIED +12 .*frontend->shop\/Deployment\/api/);
    assert.match(old.stdout, /istio: deny \(ztunnel, L4\) no ALLOW rule matches; policies shop\/allow-api/);
    assert.match(old.stdout, /ztunnel omits ALLOW rule shop\/allow-api#0 .*methods, paths/);
  });
});
