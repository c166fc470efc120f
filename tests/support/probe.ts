import type { ProbeView } from '@weft/contracts';

/** Starts a probe through the gateway's HTTP API and waits until every hop answered. */
export async function runProbe(
  gatewayUrl: string,
  adminKey: string,
  timeoutMs = 30_000,
): Promise<ProbeView> {
  const headers = { authorization: `Bearer ${adminKey}` };
  const started = await fetch(`${gatewayUrl}/v1/admin/probes`, { method: 'POST', headers });
  if (started.status !== 202)
    throw new Error(`probe start answered ${started.status}: ${await started.text()}`);
  const { probeId } = (await started.json()) as { probeId: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${gatewayUrl}/v1/admin/probes/${probeId}`, { headers });
    const probe = (await response.json()) as ProbeView;
    if (probe.status === 'completed') return probe;
    if (Date.now() > deadline)
      throw new Error(`probe ${probeId} still ${probe.status}: ${JSON.stringify(probe)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
