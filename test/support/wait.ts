// Waiting in tests, written once: for an event (`eventually`: a condition that becomes true),
// or, where time passing is itself what is tested (a TTL, a cooldown), for that time (`elapse`).
// Never a sleep that hopes something else has happened meanwhile.

/** Resolves once `check` holds (a throw counts as "not yet"); fails after `timeoutMs`, naming `what`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await elapse(intervalMs);
  }
}

/** Lets `ms` pass: only where the passing of time is what the test is about. */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
