import { spawn, type ChildProcess } from 'node:child_process';
import { ConfigError } from '../../core/errors.js';
import type { SourceContext } from '../../core/frame.js';
import { Throttle } from '../../log/logger.js';
import { Backoff } from '../backoff.js';
import { SourceBase } from '../sourceBase.js';
import { CHANNELS, ffmpegArgs } from './ffmpegArgs.js';
import { FfmpegStderr, type Problem, type VideoStream } from './ffmpegStderr.js';
import { FrameReader } from './frameReader.js';
import { redactUrl, redactorFor } from './redact.js';
import { checkRtspUrl, type RtspOptions } from './settings.js';
import { EventWindow } from '../../core/eventWindow.js';
import { RateGate, RateMeter, stallReason } from './watchdog.js';

/** Frames read but not yet pulled; beyond this the oldest is dropped (counted): a live camera waits for no one. */
const MAILBOX = 2;
/** A run that streamed this long was healthy: the next failure restarts after the shortest delay again. */
const HEALTHY_RUN_MS = 30_000;
/** ffmpeg gets this long to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;
const HOUR_MS = 3_600_000;

/** Why one ffmpeg run ended. */
interface Outcome {
  kind: Problem['kind'] | 'ffmpeg-missing' | 'stall' | 'ended' | 'exited';
  summary: string;
  fix?: string;
  /** Nothing will change by retrying (the program is missing): the source is 'failed' while it lasts. */
  fatal: boolean;
  level: 'error' | 'warn';
  details: Record<string, unknown>;
}

interface Run {
  startedAt: number;
  firstFrameAt: number | undefined;
  lastFrameAt: number | undefined;
  frames: number;
  stalled: string | undefined;
}

/**
 * An RTSP camera through one ffmpeg child: RTSP over TCP (or UDP) in, raw frames already scaled to the
 * wanted size and pixel format out on stdout, read exactly one frame at a time. A watchdog restarts ffmpeg
 * when it exits or no frame comes for `stallTimeoutSec` (`connectTimeoutSec` for the first), with growing
 * delays; ffmpeg's stderr becomes one clear log line per failure (auth, 404, refused, codec...), never with
 * the URL's credentials. Frames are skipped down to `fps` when set. `frames()` never throws for a camera
 * problem: it waits through them, and the state says what is going on.
 */
export class RtspSource extends SourceBase<RtspOptions> {
  readonly kind = 'rtsp';
  private readonly throttle: Throttle;
  private readonly redact: (s: string) => string;
  /** The URL as logs show it. */
  readonly safeUrl: string;
  private readonly args: string[];
  private readonly channels: number;

  private child: ChildProcess | undefined;
  private readonly gate: RateGate;

  private seq = 0;
  private size: { width: number; height: number } | undefined;
  private counts = { framesIn: 0, skipped: 0, restarts: 0, stalls: 0, decodeWarnings: 0 };
  private runStderr: FfmpegStderr | undefined;
  private readonly restartsHour = new EventWindow(HOUR_MS);
  private readonly stallsHour = new EventWindow(HOUR_MS);
  private readonly fpsIn = new RateMeter(10);
  private readonly fpsOut = new RateMeter(10);

  constructor(ctx: SourceContext<RtspOptions>) {
    const urlProblem = checkRtspUrl(ctx.options.url);
    if (urlProblem)
      throw new ConfigError(`rtsp camera ${ctx.id}: url ${urlProblem}`, {
        subject: `${ctx.id}.url`,
        fix: 'set url to the rtsp:// address of the camera stream',
      });
    super(ctx, { name: `rtsp camera ${ctx.id}`, capacity: MAILBOX, policy: 'drop-oldest' });
    this.throttle = new Throttle(this.log, 60_000);
    this.redact = redactorFor(ctx.options.url);
    this.safeUrl = redactUrl(ctx.options.url);
    this.args = ffmpegArgs(ctx.options);
    this.channels = CHANNELS[ctx.options.pixelFormat];
    this.gate = new RateGate(ctx.options.fps);
  }

  protected override release(): void {
    if (this.child) this.kill(this.child);
  }

  protected override onDelivered(): void {
    this.fpsOut.add(Date.now());
  }

  protected override ownStats(): Record<string, number> {
    const now = Date.now();
    const round = (x: number): number => Math.round(x * 100) / 100;
    return {
      ...this.counts,
      framesOut: this.delivered,
      decodeWarnings: this.counts.decodeWarnings + (this.runStderr?.decodeWarnings ?? 0),
      fpsIn: round(this.fpsIn.rate(now)),
      fpsOut: round(this.fpsOut.rate(now)),
      restartsLastHour: this.restartsHour.count(now),
      stallsLastHour: this.stallsHour.count(now),
      width: this.size?.width ?? 0,
      height: this.size?.height ?? 0,
    };
  }

  // ---------------------------------------------------------------- supervision

  protected async produce(): Promise<void> {
    const o = this.options;
    const backoff = new Backoff(o.reconnectMinSec * 1000, o.reconnectMaxSec * 1000);
    const { width, height, pixelFormat, fps, transport } = o;
    this.log.info(
      { url: this.safeUrl, transport, width, height, pixelFormat, fps, hwaccel: o.hwaccel },
      `rtsp camera ${this.id}: connecting to ${this.safeUrl} over ${transport}`,
    );
    this.log.debug({ ffmpeg: o.ffmpegPath, args: this.args.map(this.redact) }, 'ffmpeg command');
    let previous: Outcome['kind'] | undefined;
    let sameInARow = 0;
    while (!this.closed) {
      const run: Run = {
        startedAt: Date.now(),
        firstFrameAt: undefined,
        lastFrameAt: undefined,
        frames: 0,
        stalled: undefined,
      };
      const outcome = await this.runOnce(run, previous !== undefined);
      if (this.closed) break;
      const now = Date.now();
      if (run.firstFrameAt !== undefined && now - run.firstFrameAt >= HEALTHY_RUN_MS) backoff.reset();
      const delay = backoff.next();
      this.counts.restarts++;
      this.restartsHour.add(now);
      this.state = outcome.fatal ? 'failed' : 'reconnecting';
      sameInARow = outcome.kind === previous && run.frames === 0 ? sameInARow + 1 : 1;
      previous = outcome.kind;
      this.report(outcome, delay, sameInARow);
      await this.sleep(delay);
    }
  }

  private report(o: Outcome, delayMs: number, inARow: number): void {
    const msg =
      `rtsp camera ${this.id}: ${o.summary} (${this.safeUrl}); ` +
      `restarting ffmpeg in ${(delayMs / 1000).toFixed(1)} s` +
      (o.fix ? `; fix: ${o.fix}` : '');
    const obj = {
      url: this.safeUrl,
      reason: o.kind,
      fix: o.fix,
      attempt: inARow,
      retryInSec: delayMs / 1000,
      ...o.details,
    };
    if (inARow === 1) this.log[o.level](obj, msg);
    // The same failure again and again: one line a minute, with how many were not logged.
    else this.throttle.warn(`failure:${o.kind}`, obj, `${msg} (${inARow} times in a row)`);
  }

  private kill(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, KILL_GRACE_MS);
    t.unref();
    child.once('exit', () => clearTimeout(t));
  }

  // ---------------------------------------------------------------- one ffmpeg run

  /** Starts ffmpeg, passes its frames on until it exits or stalls, and says why it ended. */
  private async runOnce(run: Run, retrying: boolean): Promise<Outcome> {
    let sizeKnown: (v: VideoStream) => void = () => {};
    const sizeFromStderr = new Promise<VideoStream>((resolve) => (sizeKnown = resolve));
    const stderr = new FfmpegStderr(this.redact, (v) => sizeKnown(v));
    this.runStderr = stderr;

    let spawnError: NodeJS.ErrnoException | undefined;
    let child: ChildProcess;
    try {
      child = spawn(this.options.ffmpegPath, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      spawnError = e as NodeJS.ErrnoException;
      return this.outcome(run, stderr, spawnError, null, null);
    }
    this.child = child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (e: NodeJS.ErrnoException) => {
        spawnError = e;
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    });
    const stderrDone = new Promise<void>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => stderr.push(d));
      child.stderr!.once('close', () => resolve());
    });
    if (this.closed) this.kill(child);

    const every = Math.max(
      100,
      Math.min(1000, this.options.stallTimeoutSec * 250, this.options.connectTimeoutSec * 250),
    );
    const watchdog = setInterval(() => {
      const why = stallReason(
        Date.now(),
        run,
        this.options.connectTimeoutSec * 1000,
        this.options.stallTimeoutSec * 1000,
      );
      if (why && !run.stalled) {
        run.stalled = why;
        this.kill(child);
      }
    }, every);

    try {
      const size = await this.frameSize(sizeFromStderr, exited);
      if (size) {
        this.size = size;
        const reader = new FrameReader(child.stdout!, size.width * size.height * this.channels);
        for (;;) {
          const data = await reader.next();
          if (!data) break;
          this.frame(run, data, size, stderr, retrying);
        }
        if (reader.truncatedBytes > 0)
          this.log.debug({ bytes: reader.truncatedBytes }, `rtsp camera ${this.id}: ffmpeg ended mid-frame`);
      } else {
        child.stdout!.resume();
      }
      const { code, signal } = await exited;
      await stderrDone;
      stderr.end();
      return this.outcome(run, stderr, spawnError, code, signal);
    } finally {
      clearInterval(watchdog);
      this.kill(child);
      this.counts.decodeWarnings += stderr.decodeWarnings;
      this.runStderr = undefined;
      this.child = undefined;
    }
  }

  /** The frame size: configured, or what ffmpeg reports for its output; undefined when ffmpeg ends first. */
  private async frameSize(
    fromStderr: Promise<VideoStream>,
    exited: Promise<unknown>,
  ): Promise<{ width: number; height: number } | undefined> {
    const { width, height } = this.options;
    if (width > 0 && height > 0) return { width, height };
    return Promise.race([fromStderr, exited.then(() => undefined)]);
  }

  private frame(
    run: Run,
    data: Buffer,
    size: { width: number; height: number },
    stderr: FfmpegStderr,
    retrying: boolean,
  ): void {
    const now = Date.now();
    run.lastFrameAt = now;
    run.frames++;
    this.counts.framesIn++;
    this.fpsIn.add(now);
    if (run.firstFrameAt === undefined) {
      run.firstFrameAt = now;
      this.state = 'streaming';
      const input = stderr.input;
      this.log.info(
        {
          url: this.safeUrl,
          input,
          width: size.width,
          height: size.height,
          pixelFormat: this.options.pixelFormat,
        },
        `rtsp camera ${this.id}: ${retrying ? 'streaming again' : 'streaming'}` +
          (input ? `: ${input.codec} ${input.width}x${input.height}` : '') +
          ` -> ${size.width}x${size.height} ${this.options.pixelFormat}` +
          (retrying ? ` after ${this.counts.restarts} restart(s)` : ''),
      );
    }
    if (!this.gate.accept(now)) {
      this.counts.skipped++;
      return;
    }
    void this.offer({
      cameraId: this.id,
      seq: ++this.seq,
      timestamp: now,
      width: size.width,
      height: size.height,
      pixelFormat: this.options.pixelFormat,
      data,
      origin: this.safeUrl,
    });
  }

  private outcome(
    run: Run,
    stderr: FfmpegStderr,
    spawnError: NodeJS.ErrnoException | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): Outcome {
    const details: Record<string, unknown> = { exitCode: code, signal, frames: run.frames };
    if (spawnError && (spawnError.code === 'ENOENT' || spawnError.code === 'EACCES')) {
      return {
        kind: 'ffmpeg-missing',
        summary: `cannot run ffmpeg "${this.options.ffmpegPath}" (${spawnError.code})`,
        fix: 'install ffmpeg (apt-get install ffmpeg) or set ffmpegPath to the program',
        fatal: true,
        level: 'error',
        details,
      };
    }
    if (run.stalled) {
      this.counts.stalls++;
      this.stallsHour.add(Date.now());
      // A stall after a problem line (e.g. an unreachable camera) is best explained by that line.
      const p = stderr.problem;
      return {
        kind: 'stall',
        summary: p ? `${run.stalled}: ${p.summary}` : run.stalled,
        fix: p?.fix ?? 'check the camera and the network; the stream stopped without ffmpeg noticing',
        fatal: false,
        level: 'warn',
        details: { ...details, ffmpeg: stderr.problemLine },
      };
    }
    if (stderr.problem) {
      const p = stderr.problem;
      return {
        kind: p.kind,
        summary: p.summary,
        fix: p.fix,
        fatal: false,
        level: 'error',
        details: { ...details, ffmpeg: stderr.problemLine },
      };
    }
    if (run.frames > 0 && code === 0) {
      return {
        kind: 'ended',
        summary: `the stream ended after ${run.frames} frame(s) (the camera closed the connection)`,
        fatal: false,
        level: 'warn',
        details,
      };
    }
    // Nothing recognised: the last lines of ffmpeg's output say what it said (credentials masked).
    return {
      kind: 'exited',
      summary:
        `ffmpeg exited (${signal ?? `code ${code}`}) after ${run.frames} frame(s)` +
        (spawnError ? `: ${this.redact(spawnError.message)}` : ''),
      fatal: false,
      level: run.frames > 0 ? 'warn' : 'error',
      details: { ...details, stderr: stderr.tail() },
    };
  }
}
