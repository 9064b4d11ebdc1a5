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

/** Waits until `cond()` holds (polled every 20 ms), or fails naming `what` after the deadline. */
export async function until(cond: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
