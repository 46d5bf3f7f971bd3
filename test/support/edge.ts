// For tests that build graph edges by hand: the attributes of an edge the mesh refused nothing on.
import type { EdgeAttributes } from '../../src/graph/attributes.js';

/** No refused requests, so `allowedView` reads the union of both proxies' accounts. */
export const NO_REFUSALS: Pick<EdgeAttributes, 'serverMethods' | 'serverPaths' | 'serverPathsTruncated' | 'denied' | 'deniedTruncated'> = Object.freeze({
  serverMethods: [],
  serverPaths: [],
  serverPathsTruncated: false,
  denied: [],
  deniedTruncated: false,
});

/**
 * An edge seen in one hour of 2026-11-24 through envoy-text lines, as the property tests that
 * generate meshes build them: its ends, counts, operations and client service account are theirs.
 */
export function hourEdge(
  e: Pick<EdgeAttributes, 'source' | 'target' | 'port' | 'protocol' | 'client' | 'server' | 'methods' | 'paths'> & { serviceAccount: string },
  refusals: Pick<EdgeAttributes, 'serverMethods' | 'serverPaths' | 'serverPathsTruncated' | 'denied' | 'deniedTruncated'> = NO_REFUSALS,
): EdgeAttributes {
  const { serviceAccount, ...ends } = e;
  return {
    ...ends,
    sources: { 'access-log': { client: e.client, server: e.server } },
    firstSeen: Date.UTC(2026, 10, 24, 10),
    lastSeen: Date.UTC(2026, 10, 24, 11),
    days: ['2026-11-24'],
    pathsTruncated: false,
    services: [],
    sourceServiceAccounts: [serviceAccount],
    decoders: ['envoy-text'],
    ...refusals,
  };
}
