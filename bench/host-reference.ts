// A fixed amount of work (Map sets of small objects and strings, ~1 s on this VM when the host is
// calm): how fast the host runs right now, timed beside the runs it explains. This VM's speed
// drifts by a third or more within minutes, and every process slows alike.

const entries = new Map<string, { n: number; label: string }>();
let length = 0;
for (let i = 0; i < 3_000_000; i++) {
  const key = 'k' + (i % 50_000);
  const entry = { n: i, label: key + ':' + i };
  entries.set(key, entry);
  length += entry.label.length;
}
if (length === 0 || entries.size !== 50_000) process.exit(1);
