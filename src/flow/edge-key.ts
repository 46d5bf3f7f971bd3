/** The key of a graph edge: one per (source, destination, target port, protocol). */
export function edgeKey(source: string, target: string, port: number, protocol: string): string {
  return `${source}->${target}:${port}/${protocol}`;
}
