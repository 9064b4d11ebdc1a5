/** Waits in tests are on conditions with a deadline, never wall-clock assertions: CI is a loaded 2-core box. */
export const DEADLINE_MS = 20_000;

/** Rejects when `p` takes longer than the deadline, so a hung iterator fails the test with a reason. */
export async function within<T>(p: Promise<T>, what: string, timeoutMs = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
