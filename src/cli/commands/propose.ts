// `ztmap propose`: a saved graph + inventory → access rules → manifests per target, with
// review.md / review.json (blockers, mTLS readiness, excluded traffic, coverage and risk)
// and rules.json, under OUT/policies/. Same input, same bytes.

import { join, resolve } from 'node:path';
import { ConfigError, InternalError } from '../../errors.js';
import { readGraphFile } from '../../graph/json.js';
import { inferRules, type InferOptions } from '../../infer/infer.js';
import { loadInventory, type IpConflict } from '../../inventory/inventory.js';
import { emitInParts, manifestPath, TARGETS, type PolicyOptions, type Target } from '../../policy/index.js';
import { manifestYaml, prefetchTokens } from '../../policy/yaml.js';
import { reviewMarkdown, reviewOf, type Review } from '../../report/review.js';
import type { Finding } from '../../rules/finding.js';
import { checkNamedFile } from '../../sources/transports/files.js';
import { makeOutDir } from '../out-dir.js';
import { replaceOutputs } from '../output.js';

export interface ProposeOptions extends InferOptions, PolicyOptions {
  graph: string;
  inventory: string[];
  out: string;
  targets: Target[];
}

export interface ProposeResult {
  review: Review;
  /** Addresses more than one live pod of the inventory claims (warned on stderr). */
  ipConflicts: IpConflict[];
  dir: string;
  files: string[];
}

export function parseTargets(s: string): Target[] {
  const names = s.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const bad = names.filter((t) => !(TARGETS as readonly string[]).includes(t));
  if (bad.length > 0 || names.length === 0) throw new ConfigError(`--target: unknown target ${JSON.stringify(bad.join(','))}. Choose from ${TARGETS.join(', ')}, comma-separated.`);
  return TARGETS.filter((t) => names.includes(t));
}

export async function propose(o: ProposeOptions): Promise<ProposeResult> {
  if (o.inventory.length === 0) throw new ConfigError('propose: --inventory is required: selectors and principals are checked against the cluster\'s pods.');
  await makeOutDir(o.out, 'propose');
  await checkNamedFile(o.graph, 'graph', 'Pass a graph.json written by `ztmap observe` (for example output/graph.json).');
  const graph = await readGraphFile(o.graph);
  const inventory = await loadInventory(o.inventory);
  const rules = inferRules(graph, inventory, o);

  // The policies directory is ztmap's own and is replaced as a whole (cli/output.ts): a
  // reader never finds a namespace's deny-all without its allows, nor a stale manifest.
  const out = resolve(o.out);
  const files: string[] = [];
  const review = await replaceOutputs({
    out: o.out,
    unit: 'propose',
    owned: ['policies'],
    write: async (staging) => {
      const put = async (rel: string, content: string) => {
        await staging.write(join('policies', rel), content);
        files.push(join(out, 'policies', rel));
      };
      const findings: Finding[] = [...rules.findings];
      let manifests = 0;
      const written = new Set<string>();
      for (const target of o.targets) {
        // A namespace's manifests at a time: written (their new YAML tokens fetched together)
        // before the next are made, they die young instead of being copied by the collector.
        for (const part of emitInParts(target, rules, o, findings)) {
          prefetchTokens(part.map((e) => e.manifest));
          for (const e of part) {
            const path = manifestPath(target, e);
            // Two objects with one name would overwrite each other, in the directory and in the cluster.
            if (written.has(path)) throw new InternalError(`propose: two manifests would be written to ${path}; please report this with your inventory's workload names.`);
            written.add(path);
            await put(path, manifestYaml(e.manifest, e.header, e.comments));
            manifests++;
          }
        }
      }
      const review = reviewOf(rules, o.targets, findings, manifests);
      await put('review.md', reviewMarkdown(review));
      await put('review.json', JSON.stringify(review, null, 1) + '\n');
      const { cluster: _cluster, findings: _findings, ...ruleDoc } = rules;
      await put('rules.json', JSON.stringify({ format: 'ztmap-rules', version: 1, ...ruleDoc }, null, 1) + '\n');
      return review;
    },
  });
  return { review, ipConflicts: inventory.ipConflicts, dir: join(o.out, 'policies'), files };
}
