import type { Readable } from 'node:stream';

/**
 * Reads a raw video stream one frame at a time: exactly `frameBytes` bytes per `next()`, however the pipe
 * chunks it (64 KiB pieces from a child's stdout). Paused mode: nothing is read ahead beyond the stream's
 * buffer, so a consumer that stops pulling leaves the backlog in the pipe, not in memory.
 */
export class FrameReader {
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  /** Bytes of an incomplete last frame when the stream ended mid-frame. */
  truncatedBytes = 0;

  constructor(
    private readonly stream: Readable,
    readonly frameBytes: number,
  ) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0)
      throw new RangeError(`frame size must be a positive integer, got ${frameBytes}`);
    stream.on('readable', this.wake);
    stream.on('end', () => {
      this.ended = true;
      this.wake();
    });
    stream.on('close', () => {
      this.ended = true;
      this.wake();
    });
    stream.on('error', (e: Error) => {
      this.failure = e;
      this.wake();
    });
  }

  /** The next whole frame, or undefined when the stream ended (or failed: see `error`). */
  async next(): Promise<Buffer | undefined> {
    for (;;) {
      // read(n) hands back exactly n bytes (joining chunks) or null until n are buffered; at the end it
      // hands back what is left, which is a truncated frame.
      const b = this.stream.read(this.frameBytes) as Buffer | null;
      if (b !== null) {
        if (b.length === this.frameBytes) return b;
        this.truncatedBytes = b.length;
        return undefined;
      }
      if (this.ended || this.failure || this.stream.destroyed) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  get error(): Error | undefined {
    return this.failure;
  }

  private readonly wake = (): void => {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  };
}
