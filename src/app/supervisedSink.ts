import type { Logger } from 'pino';
import { messageOf } from '../core/errors.js';
import type { Verdict, VerdictArtifacts } from '../core/verdict.js';
import type { Sink, SinkContext, SinkHealth, SinkKind } from '../sinks/types.js';

/** Restart delays after a failure: 1 s doubling to a minute. */
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;

/**
 * A sink kept running: when it fails at run time (a library throwing where nobody catches it), it is stopped
 * and made anew from its kind, with growing delays, while the rest of the daemon goes on. Meanwhile its health
 * says it is restarting and why, and verdicts offered to it are counted as missed (MQTT's come back from the
 * journal; OPC UA's and the others' are the latest state, which the next verdict restores).
 */
export class SupervisedSink implements Sink {
  private inner?: Sink;
  private failure?: string;
  private restarts = 0;
  private missed = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly kind: SinkKind,
    private readonly ctx: SinkContext<never>,
    private readonly log: Logger,
  ) {}

  /** The running sink (e.g. the HTTP server's address), if it is running. */
  get current(): Sink | undefined {
    return this.inner;
  }

  async start(): Promise<void> {
    const sink = await this.kind.create(this.ctx);
    await sink.start();
    this.inner = sink;
  }

  publish(v: Verdict, a: VerdictArtifacts, seq: number | undefined): void {
    if (this.inner) this.inner.publish(v, a, seq);
    else this.missed++;
  }

  health(): SinkHealth {
    if (this.inner && !this.failure) return this.inner.health();
    return {
      ready: false,
      reason: `${this.name} restarting after a failure (${this.failure}; ${this.restarts} restart(s))`,
    };
  }

  stats(): Record<string, number> {
    return { ...(this.inner?.stats() ?? {}), restarts: this.restarts, missed: this.missed };
  }

  /** The sink failed: stop what is left of it and start it again, retrying with growing delays. */
  fail(e: unknown): void {
    if (this.stopped || this.failure) return;
    this.failure = messageOf(e);
    this.log.error(
      { sink: this.name, err: e },
      `sink ${this.name} failed (${this.failure}); restarting it, the rest of inspectd goes on`,
    );
    const old = this.inner;
    this.inner = undefined;
    void (async () => {
      await old?.stop(Date.now() + 2000).catch(() => undefined);
      this.retry(FIRST_DELAY_MS);
    })();
  }

  private retry(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.restarts++;
      this.start().then(
        () => {
          this.log.info({ sink: this.name, restarts: this.restarts }, `sink ${this.name} running again`);
          this.failure = undefined;
        },
        (e: unknown) => {
          this.failure = messageOf(e);
          this.log.warn(
            { sink: this.name, err: this.failure, retryInMs: delay },
            `sink ${this.name} does not start again (${this.failure}); next try in ${Math.round(delay / 1000)} s`,
          );
          this.retry(Math.min(MAX_DELAY_MS, delay * 2));
        },
      );
    }, delay);
    this.timer.unref();
  }

  async stop(deadline?: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inner?.stop(deadline);
  }
}
