import type { Logger } from 'pino';
import { BoundedQueue } from '../core/boundedQueue.js';
import { messageOf } from '../core/errors.js';
import type { Frame, FrameSource, SourceContext, SourceState, SourceStats } from '../core/frame.js';

export interface SourceShape {
  /** How logs and errors name the source: "rtsp camera cam1". */
  name: string;
  /** Frames held for the consumer. */
  capacity: number;
  /**
   * drop-oldest: a live camera waits for no one (each drop counted and reported); wait: files and the sim,
   * nothing may be lost and the consumer sets the pace.
   */
  policy: 'drop-oldest' | 'wait';
}

/**
 * What every source shares: its state, one consumer for frames(), a mailbox between the producer (a camera
 * loop, an ffmpeg reader, a folder scan) and the consumer, sleeps that close() cuts short, and close().
 * A subclass writes `produce()`, which offers frames until `closed`; `release()`, when close() must stop
 * something the producer is blocked on; and its own counters.
 */
export abstract class SourceBase<O> implements FrameSource {
  abstract readonly kind: string;
  readonly id: string;
  protected readonly options: O;
  protected readonly log: Logger;
  /** Set by close() or when the consumer leaves: the producer stops at its next check. */
  protected closed = false;
  /** Frames handed to the consumer. */
  protected delivered = 0;

  private readonly name: string;
  private _state: SourceState = 'starting';
  private started = false;
  private readonly mailbox: BoundedQueue<Frame>;
  private producer: Promise<void> | undefined;
  private producerDone = false;
  private failure: unknown;
  private stopping: Promise<void> | undefined;
  private readonly sleepers = new Set<() => void>();
  /** The consumer waits on an empty mailbox (see pulled()). */
  private wanted = false;
  private onWanted: (() => void) | undefined;

  protected constructor(ctx: SourceContext<O>, shape: SourceShape) {
    this.id = ctx.id;
    this.options = ctx.options;
    this.name = shape.name;
    // The daemon's logger carries the camera already (a second `camera` field would repeat it in every line).
    this.log = ctx.log;
    this.mailbox = new BoundedQueue<Frame>(shape.capacity, shape.policy, () => ctx.onDrop?.('source'));
  }

  get state(): SourceState {
    return this._state;
  }

  /** 'stopped' is final: a producer winding down after close() does not change it. */
  protected set state(s: SourceState) {
    if (this._state !== 'stopped') this._state = s;
  }

  /** Makes frames until `closed` (or, for a finite source, until done), handing each to `offer()`. */
  protected abstract produce(): Promise<void>;

  /** Stops what the producer may be blocked on (a child process, a camera session, timers). */
  protected release(): void | Promise<void> {}

  /** The source's own counters, beside frames and dropped. */
  protected ownStats(): Record<string, number> {
    return {};
  }

  /** Called as each frame goes to the consumer (an output rate meter). */
  protected onDelivered(_frame: Frame): void {}

  frames(): AsyncIterable<Frame> {
    if (this.started) throw new Error(`${this.name}: frames() was already called; a source has one consumer`);
    this.started = true;
    // Started now, not at the first pull: a folder watch counts what is there "at start" from here.
    if (!this.closed) this.producer = this.run();
    return this.deliver();
  }

  async close(): Promise<void> {
    await this.stop();
    if (this._state !== 'stopped') {
      this._state = 'stopped';
      this.log.info(this.stats(), `${this.name} stopped`);
    }
  }

  stats(): SourceStats {
    return { ...this.ownStats(), frames: this.delivered, dropped: this.mailbox.dropped };
  }

  /** Hands a frame to the consumer; with `wait`, resolves when there is room. Dropped frames are counted. */
  protected async offer(frame: Frame): Promise<void> {
    if (this.closed) return;
    this.wanted = false;
    await this.mailbox.push(frame);
  }

  /**
   * Resolves when the consumer asks for a frame and none is queued (or on close). A source paced by its
   * consumer makes each frame only then, so nothing is read ahead: a file is read when its frame is pulled.
   */
  protected pulled(): Promise<void> {
    if (this.wanted || this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.onWanted = resolve));
  }

  /** Resolves after `ms` (without `ms`: when woken), or at once on wake() or close(). */
  protected sleep(ms?: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /** Ends every sleep now (new work for the producer). */
  protected wake(): void {
    for (const done of [...this.sleepers]) done();
  }

  private want(): void {
    this.wanted = true;
    this.onWanted?.();
    this.onWanted = undefined;
  }

  private async run(): Promise<void> {
    try {
      await this.produce();
    } catch (e) {
      // A bug, not a camera problem (producers ride those out): the consumer gets it after what is queued.
      if (!this.closed) {
        this.failure = e;
        this.state = 'failed';
        this.log.error({ err: e }, `${this.name} failed: ${messageOf(e)}`);
      }
    } finally {
      this.producerDone = true;
      this.mailbox.close();
    }
  }

  private async *deliver(): AsyncGenerator<Frame> {
    try {
      for (;;) {
        if (this.mailbox.depth === 0) this.want();
        const f = await this.mailbox.take();
        if (f === undefined || this.closed) break;
        this.delivered++;
        this.onDelivered(f);
        yield f;
      }
      if (this.failure !== undefined) throw this.failure;
    } finally {
      // A replay that reached its end stays 'idle' (nothing more to come); any other end is a stop.
      if (this.producerDone && !this.closed && this._state === 'idle') await this.stop();
      else await this.close();
    }
  }

  /** No more frames: sleeps and waits cut short, the device released, the producer awaited. */
  private stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.closed = true;
      this.wake();
      this.want();
      this.mailbox.close();
      this.mailbox.drain();
      await this.release();
      await this.producer;
    })();
    return this.stopping;
  }
}
