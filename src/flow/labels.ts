/** Whether `labels` carry every key/value of an equality selector (`matchLabels`, a Service selector). */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}
