/** Reconnect delays: min, 2·min, 4·min ... up to max, each with up to ±`jitter` of itself (cameras behind one
 * gateway then do not reconnect in lockstep). */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly jitter = 0.1,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt, counting one more failure in a row. */
  next(): number {
    const base = Math.min(Math.max(this.minMs, this.maxMs), this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(base * (1 + this.jitter * (2 * this.random() - 1)));
  }

  /** A run that went well (streamed long enough, connected): the next failure starts from `min` again. */
  reset(): void {
    this.failures = 0;
  }

  get failuresInARow(): number {
    return this.failures;
  }
}
