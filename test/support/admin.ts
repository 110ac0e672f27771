// Reading a sidecar's admin listener the way a probe or a Prometheus scrape does.

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

export async function readiness(adminUrl: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${adminUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness };
}

export async function metricsText(adminUrl: string): Promise<string> {
  return (await fetch(`${adminUrl}/metrics`)).text();
}

/** The value of one series, written as in the text format (`name{label="v"}`); undefined when absent. */
export async function metricValue(adminUrl: string, series: string): Promise<number | undefined> {
  const line = (await metricsText(adminUrl)).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
