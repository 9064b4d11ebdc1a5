/**
 * The arithmetic of supervising an ffmpeg child, kept pure so it is tested without timers: the stall
 * deadline, counts over the last hour, rates, and skipping to an inspection rate (restart delays: ../backoff.ts).
 */

/**
 * Whether a run has stalled: before its first frame it has `connectMs` (connect, describe, first key frame),
 * after it `stallMs` since the last frame. Returns the reason, or undefined.
 */
export function stallReason(
  now: number,
  run: { startedAt: number; lastFrameAt: number | undefined },
  connectMs: number,
  stallMs: number,
): string | undefined {
  if (run.lastFrameAt === undefined) {
    return now - run.startedAt >= connectMs
      ? `no frame within ${fmtSec(connectMs)} of starting ffmpeg`
      : undefined;
  }
  return now - run.lastFrameAt >= stallMs ? `no frame for ${fmtSec(stallMs)}` : undefined;
}

const fmtSec = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/** Events per second over the last complete seconds of a sliding window (fps in and out). */
export class RateMeter {
  /** One bucket per second: `windowSec` complete seconds plus the current one. */
  private readonly buckets: number[];
  private first = -1;
  private second = -1;

  constructor(private readonly windowSec = 10) {
    this.buckets = new Array<number>(windowSec + 1).fill(0);
  }

  add(now: number): void {
    this.advance(now);
    this.buckets[this.second % this.buckets.length]++;
  }

  rate(now: number): number {
    this.advance(now);
    const complete = Math.min(this.windowSec, this.second - this.first);
    if (complete <= 0) return 0;
    let sum = 0;
    for (let t = this.second - complete; t < this.second; t++) sum += this.buckets[t % this.buckets.length];
    return sum / complete;
  }

  private advance(now: number): void {
    const s = Math.floor(now / 1000);
    if (this.first < 0) this.first = this.second = s;
    // Seconds that passed without events start empty (all buckets after a long gap).
    for (let t = Math.max(this.second + 1, s - this.windowSec); t <= s; t++)
      this.buckets[t % this.buckets.length] = 0;
    if (s > this.second) this.second = s;
  }
}

/**
 * Passes frames on at `fps` out of a faster stream: the first frame at or after each due time; due times
 * step by exactly 1/fps, so the average rate is exact whatever the camera's rate; a consumer or camera that
 * fell behind by more than a step starts a fresh schedule (no burst to catch up). fps 0 passes everything.
 */
export class RateGate {
  private due = -Infinity;
  private readonly stepMs: number;

  constructor(fps: number) {
    this.stepMs = fps > 0 ? 1000 / fps : 0;
  }

  accept(now: number): boolean {
    if (this.stepMs === 0) return true;
    if (now < this.due) return false;
    this.due = now - this.due > this.stepMs ? now + this.stepMs : this.due + this.stepMs;
    return true;
  }
}
