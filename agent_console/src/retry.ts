// Retrying after a failure without a thundering herd: exponential backoff with full jitter.

const BASE_MS = 500;
const MAX_MS = 8000;

/** How long to wait before retry number `attempt` (0, 1, 2, …): random, growing, capped. */
export function backoffDelay(attempt: number): number {
  const ceiling = Math.min(MAX_MS, BASE_MS * 2 ** Math.min(attempt, 10));
  // At least a quarter of the ceiling, so that a retry never fires at once after a restart.
  return ceiling * (0.25 + 0.75 * Math.random());
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
