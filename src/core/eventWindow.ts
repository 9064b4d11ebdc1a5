/** Timestamps of events kept for a window (restarts and stalls in the last hour). */
export class EventWindow {
  private readonly at: number[] = [];

  constructor(private readonly windowMs: number) {}

  add(now: number): void {
    this.at.push(now);
    this.prune(now);
  }

  count(now: number): number {
    this.prune(now);
    return this.at.length;
  }

  private prune(now: number): void {
    while (this.at.length > 0 && now - this.at[0] >= this.windowMs) this.at.shift();
  }
}

/**
 * Counts in one-second buckets over a sliding window: constant memory and time whatever the rate (thousands
 * of failures a second on a full disk must not grow a list).
 */
export class Tally {
  private readonly buckets: number[];
  private second = -1;

  constructor(private readonly windowSec: number) {
    this.buckets = new Array<number>(windowSec).fill(0);
  }

  add(now: number, n = 1): void {
    this.advance(now);
    this.buckets[this.second % this.windowSec] += n;
  }

  /** The count over the last `windowSec` seconds (this one included). */
  sum(now: number): number {
    this.advance(now);
    return this.buckets.reduce((a, b) => a + b, 0);
  }

  private advance(now: number): void {
    const s = Math.floor(now / 1000);
    if (this.second < 0) this.second = s;
    for (let t = Math.max(this.second + 1, s - this.windowSec + 1); t <= s; t++)
      this.buckets[t % this.windowSec] = 0;
    if (s > this.second) this.second = s;
  }
}
