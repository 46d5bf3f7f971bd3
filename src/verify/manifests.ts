// Policy manifests from files and directories, as `kubectl apply -f PATH -R` reads them:
// `.yaml`, `.yml` and `.json` files (so ztmap's `*.yaml.not-ready` STRICT proposals are
// skipped, as kubectl skips them), multi-document YAML and Lists. Objects of other kinds are
// counted and named, not silently dropped; a file that does not parse is a problem of that
// file, and the others are still read.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { admissionRefusals, refusalMessage } from './admission.js';
import { parseObjects, type KubeObject } from '../inventory/load.js';
import { networkPolicyModel, type NetworkPolicyModel } from './network-policy.js';
import { parseAuthorizationPolicy, type AuthorizationPolicyModel } from './istio.js';
import { parsePeerAuthentication, type PeerAuthenticationModel } from './peer-authentication.js';
import { compare } from '../flow/compare.js';

export interface ManifestProblem {
  file: string;
  /** `Kind ns/name`, when the problem is one object's. */
  object?: string;
  message: string;
}

export interface PolicySet {
  authorization: AuthorizationPolicyModel[];
  peerAuthentication: PeerAuthenticationModel[];
  /** Raw NetworkPolicy objects; the model needs the cluster's namespaces (networkPolicyModel). */
  networkPolicies: KubeObject[];
  /** Objects read but not evaluated, as `Kind ns/name` (Namespaces, Services, …). */
  ignored: string[];
  files: number;
  problems: ManifestProblem[];
  /** The file each applied policy was read from, by `Kind ns/name` (what review's reports name). */
  fileOf: Map<string, string>;
}

const MANIFEST = /\.(ya?ml|json)$/;

async function filesUnder(path: string): Promise<string[]> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw new InputError(`reading policies: cannot read ${path} (${(err as Error).message}). Pass manifest files or directories, e.g. output/policies.`);
  }
  if (!s.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => compare(a.name, b.name))) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else if (MANIFEST.test(entry.name)) out.push(p);
  }
  return out;
}

const objectName = (o: KubeObject) => {
  const ns = typeof o.metadata['namespace'] === 'string' ? o.metadata['namespace'] : 'default';
  return `${o.kind} ${ns}/${String(o.metadata['name'] ?? '(unnamed)')}`;
};

export async function loadPolicies(paths: readonly string[]): Promise<PolicySet> {
  const set: PolicySet = { authorization: [], peerAuthentication: [], networkPolicies: [], ignored: [], files: 0, problems: [], fileOf: new Map() };
  const seen = new Map<string, string>();
  for (const path of paths) {
    for (const file of await filesUnder(path)) {
      set.files++;
      let objects: KubeObject[];
      const text = await readFile(file, 'utf8');
      if (isZtmapReport(text)) {
        // review.json and rules.json sit beside ztmap's manifests: reports, not objects.
        set.ignored.push(`ztmap report (${file})`);
        continue;
      }
      try {
        // A document that is no object is that document's problem; the file's others are read.
        objects = parseObjects(text, file, 'policies', (message) => set.problems.push({ file, message }));
      } catch (err) {
        set.problems.push({ file, message: (err as Error).message });
        continue;
      }
      for (const o of objects) {
        const name = objectName(o);
        const earlier = seen.get(name);
        if (earlier === undefined) {
          // A refused object is never stored: a later definition is then the first one.
          if (addObject(set, o, file)) seen.set(name, file);
          continue;
        }
        // kubectl apply replaces the first with the second, unless the second is refused:
        // then the first stays. Replay does the same.
        const next = policySetOf([o], file);
        networkPolicies(next, {});
        if (next.problems.length > 0) {
          for (const p of next.problems) set.problems.push({ ...p, file });
          set.problems.push({ file, object: name, message: `also defined in ${earlier}, and refused here: the one in ${earlier} stays, as \`kubectl apply\` would leave it` });
          continue;
        }
        set.problems.push({ file, object: name, message: `also defined in ${earlier}; the later one is used, as \`kubectl apply\` would leave it` });
        removeObject(set, o);
        seen.set(name, file);
        // Already parsed into `next`: take it from there rather than parse it again.
        set.authorization.push(...next.authorization);
        set.peerAuthentication.push(...next.peerAuthentication);
        set.networkPolicies.push(...next.networkPolicies);
        set.ignored.push(...next.ignored);
        for (const [k, f] of next.fileOf) set.fileOf.set(k, f);
      }
    }
  }
  return set;
}

/** A policy set from objects already in memory (`file` names them in problems). */
export function policySetOf(objects: readonly KubeObject[], file = '(memory)'): PolicySet {
  const set: PolicySet = { authorization: [], peerAuthentication: [], networkPolicies: [], ignored: [], files: 0, problems: [], fileOf: new Map() };
  for (const o of objects) addObject(set, o, file);
  return set;
}

function isZtmapReport(text: string): boolean {
  if (!text.trimStart().startsWith('{')) return false;
  try {
    const format = (JSON.parse(text) as { format?: unknown }).format;
    return typeof format === 'string' && format.startsWith('ztmap-');
  } catch {
    return false;
  }
}

function sameObject(a: { namespace: string; name: string }, o: KubeObject): boolean {
  return a.namespace === (typeof o.metadata['namespace'] === 'string' && o.metadata['namespace'] !== '' ? o.metadata['namespace'] : 'default') && a.name === o.metadata['name'];
}

function removeObject(set: PolicySet, o: KubeObject): void {
  if (o.kind === 'AuthorizationPolicy') set.authorization = set.authorization.filter((p) => !sameObject(p, o));
  else if (o.kind === 'PeerAuthentication') set.peerAuthentication = set.peerAuthentication.filter((p) => !sameObject(p, o));
  else if (o.kind === 'NetworkPolicy') set.networkPolicies = set.networkPolicies.filter((p) => objectName(p) !== objectName(o));
}

/** Add one object; false when it is a policy that is refused (reported, not stored). */
function addObject(set: PolicySet, o: KubeObject, file: string): boolean {
  const group = typeof o['apiVersion'] === 'string' ? o['apiVersion'].split('/')[0] : '';
  const policy =
    (group === 'security.istio.io' && (o.kind === 'AuthorizationPolicy' || o.kind === 'PeerAuthentication')) || (group === 'networking.k8s.io' && o.kind === 'NetworkPolicy');
  if (policy) {
    // What the API server or Istio's webhook refuses is never stored, so never applied.
    const refused = admissionRefusals(o);
    if (refused.length > 0) {
      for (const r of refused) set.problems.push({ file, object: objectName(o), message: refusalMessage(r) });
      return false;
    }
  }
  if (o.kind === 'AuthorizationPolicy' && group === 'security.istio.io') {
    const p = parseAuthorizationPolicy(o);
    if ('message' in p) {
      set.problems.push({ file, object: objectName(o), message: `${p.message}: Istio would reject it, so it is not applied` });
      return false;
    }
    set.authorization.push(p);
  } else if (o.kind === 'PeerAuthentication' && group === 'security.istio.io') {
    const p = parsePeerAuthentication(o);
    if ('message' in p) {
      set.problems.push({ file, object: objectName(o), message: `${p.message}: Istio would reject it, so it is not applied` });
      return false;
    }
    set.peerAuthentication.push(p);
  } else if (o.kind === 'NetworkPolicy' && group === 'networking.k8s.io') {
    set.networkPolicies.push(o);
  } else {
    set.ignored.push(`${objectName(o)} (${file})`);
    return true;
  }
  set.fileOf.set(objectName(o), file);
  return true;
}

/** The NetworkPolicy model over the cluster's namespaces; invalid policies become problems. */
export function networkPolicies(set: PolicySet, namespaces: Record<string, Record<string, string>>): NetworkPolicyModel {
  const model = networkPolicyModel(set.networkPolicies, namespaces);
  for (const p of model.problems) {
    set.problems.push({ file: '(NetworkPolicy)', object: `NetworkPolicy ${p.namespace}/${p.name}`, message: `${p.message}: the API server would reject it, so it is not applied` });
  }
  return model;
}
