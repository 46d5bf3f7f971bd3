import graphology from 'graphology';
import type { EdgeAttributes, NodeAttributes } from './attributes.js';

// graphology ships CommonJS-style default exports; take the class off the default.
const { MultiDirectedGraph } = graphology as unknown as { MultiDirectedGraph: typeof import('graphology').MultiDirectedGraph };

export type ServiceGraph = import('graphology').MultiDirectedGraph<NodeAttributes, EdgeAttributes>;

export function createGraph(): ServiceGraph {
  return new MultiDirectedGraph<NodeAttributes, EdgeAttributes>();
}
