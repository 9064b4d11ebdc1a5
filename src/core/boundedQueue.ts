export type DropPolicy = 'drop-oldest' | 'drop-newest' | 'wait';

/**
 * A bounded FIFO between a camera and its inspector. When full: `drop-oldest` evicts the oldest item (live
 * cameras: the newest frame matters most), `drop-newest` refuses the new one, `wait` makes the producer wait
 * (folders and replays: nothing may be lost). Every drop is counted and handed to `onDrop`.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: ((v: T | undefined) => void)[] = [];
  private readonly spaceWaiters: (() => void)[] = [];
  private closed = false;
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly policy: DropPolicy,
    private readonly onDrop: (item: T, reason: 'oldest' | 'newest') => void = () => {},
  ) {
    if (!(capacity >= 1)) throw new Error(`queue capacity must be >= 1, got ${capacity}`);
  }

  get depth(): number {
    return this.items.length;
  }

  /** Adds an item; resolves when it is queued (or dropped). With `wait`, resolves when there is room. */
  async push(item: T): Promise<void> {
    if (this.closed) return;
    const taker = this.takers.shift();
    if (taker) return taker(item);
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    if (this.policy === 'drop-newest') {
      this.dropped++;
      this.onDrop(item, 'newest');
      return;
    }
    if (this.policy === 'drop-oldest') {
      const old = this.items.shift()!;
      this.dropped++;
      this.onDrop(old, 'oldest');
      this.items.push(item);
      return;
    }
    while (this.items.length >= this.capacity && !this.closed) {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    if (!this.closed) this.push(item);
  }

  /** The next item, waiting for one; undefined once the queue is closed and empty. */
  async take(): Promise<T | undefined> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.spaceWaiters.shift()?.();
      return item;
    }
    if (this.closed) return undefined;
    return new Promise((r) => this.takers.push(r));
  }

  /** No more pushes; takers drain what is left, then get undefined. Producers waiting for room are released. */
  close(): void {
    this.closed = true;
    for (const t of this.takers.splice(0)) t(undefined);
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  /** Removes and returns everything queued (shutdown past its deadline). */
  drain(): T[] {
    return this.items.splice(0);
  }
}
