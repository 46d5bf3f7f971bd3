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
