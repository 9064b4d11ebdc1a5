/**
 * A cross-process lock for the Aravis fake camera: it only listens on 127.0.0.1:3956, so test files (in
 * different vitest workers) that start one take this lock first. The file holds the owner's pid; a lock
 * whose owner is gone is taken over.
 */
import fs from 'node:fs';

export const FAKE_CAMERA_LOCK = '/tmp/inspectd-fake-gige.lock';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ownerAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path, 'utf8').trim());
  } catch {
    return true; // being written or just removed: try again
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits (until `deadlineMs`) for the lock; resolves with its release function (idempotent). */
export async function acquireFakeCameraLock(
  opts: { path?: string; deadlineMs?: number } = {},
): Promise<() => void> {
  const path = opts.path ?? FAKE_CAMERA_LOCK;
  const end = Date.now() + (opts.deadlineMs ?? 240_000);
  for (;;) {
    try {
      const fd = fs.openSync(path, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        process.off('exit', release);
        try {
          if (fs.readFileSync(path, 'utf8').trim() === String(process.pid)) fs.unlinkSync(path);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (!ownerAlive(path)) {
      try {
        fs.unlinkSync(path);
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${path} (another test runs the fake camera)`);
    await sleep(100);
  }
}

/**
 * For a test file that runs one fake camera throughout: takes the lock and starts the camera before all tests,
 * stops it and releases the lock after them. `restart()` power-cycles it (a test of reconnects).
 */
export function fakeCameraForFile(
  start: () => Promise<{ stop(): Promise<void> }>,
  hooks: { beforeAll(fn: () => Promise<void>): void; afterAll(fn: () => Promise<void>): void },
): { stop(): Promise<void>; restart(): Promise<void> } {
  let release: (() => void) | undefined;
  let cam: { stop(): Promise<void> } | undefined;
  hooks.beforeAll(async () => {
    release = await acquireFakeCameraLock();
    cam = await start();
  });
  hooks.afterAll(async () => {
    await cam?.stop();
    release?.();
  });
  return {
    stop: async () => {
      await cam?.stop();
      cam = undefined;
    },
    restart: async () => {
      await cam?.stop();
      cam = await start();
    },
  };
}
