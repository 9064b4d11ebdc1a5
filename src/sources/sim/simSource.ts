import type { Logger } from 'pino';
import { ConfigError } from '../../core/errors.js';
import type { Frame, FrameSource, SourceState } from '../../core/frame.js';
import { DEFECT_KINDS, isDefectKind, planFrame, renderPart, type DefectKind } from './render.js';

/** The sim camera's settings as they appear in a configuration (everything but the camera id). */
export interface SimCameraConfig {
  /** Frame size in pixels. */
  width: number;
  height: number;
  /** Frames per second; 0 or less = as fast as the pipeline pulls. */
  fps: number;
  /** Fraction of parts with an injected defect, 0..1. */
  defectRate: number;
  /** Decides every frame: the same seed replays the same parts, defects and labels. */
  seed: number;
  /** Stop after this many frames; absent = run until closed. */
  count?: number;
  /** Defect kinds to inject (default: all of DEFECT_KINDS). */
  defectKinds?: readonly DefectKind[];
}

export interface SimSourceOptions extends SimCameraConfig {
  id: string;
}

export const SIM_DEFAULTS: SimCameraConfig = {
  width: 640,
  height: 480,
  fps: 5,
  defectRate: 0.1,
  seed: 1,
};

function validate(o: SimSourceOptions): void {
  const bad = (key: string, value: unknown, want: string): never => {
    throw new ConfigError(`sim camera ${o.id}: ${key} = ${JSON.stringify(value)} is not ${want}`, {
      subject: `${o.id}.${key}`,
      value,
      fix: `set ${key} to ${want}`,
    });
  };
  for (const key of ['width', 'height'] as const) {
    const v = o[key];
    if (!Number.isInteger(v) || v < 16 || v > 8192) bad(key, v, 'an integer from 16 to 8192');
  }
  if (!Number.isFinite(o.fps)) bad('fps', o.fps, 'a number (0 or less = as fast as consumed)');
  if (!(o.defectRate >= 0 && o.defectRate <= 1)) bad('defectRate', o.defectRate, 'a number from 0 to 1');
  if (!Number.isFinite(o.seed)) bad('seed', o.seed, 'a finite number');
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count >= 0))
    bad('count', o.count, 'an integer >= 0, or absent to run forever');
  if (o.defectKinds !== undefined) {
    const unknown = o.defectKinds.filter((k) => !isDefectKind(k));
    if (unknown.length || o.defectKinds.length === 0)
      bad('defectKinds', o.defectKinds, `a non-empty list of ${DEFECT_KINDS.join(', ')}`);
  }
}

/**
 * The synthetic camera: frames of a machined plate with defects injected at `defectRate`, each frame
 * labelled with the truth. Which frames are defective, and how, depends only on (seed, seq), so a run can
 * be replayed exactly. Paced at `fps` with timers; `close()` ends the iteration at once.
 */
export class SimSource implements FrameSource {
  readonly id: string;
  readonly kind = 'sim';
  private _state: SourceState = 'starting';
  private readonly opts: SimSourceOptions;
  private readonly kinds: readonly DefectKind[];
  private readonly log: Logger;
  private closed = false;
  private started = false;
  private frameCount = 0;
  private defectCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(opts: SimSourceOptions, log: Logger) {
    validate(opts);
    this.id = opts.id;
    this.opts = { ...opts };
    this.kinds = opts.defectKinds ?? DEFECT_KINDS;
    this.log = log.child({ camera: opts.id });
  }

  get state(): SourceState {
    return this._state;
  }

  frames(): AsyncIterable<Frame> {
    if (this.started)
      throw new Error(`sim camera ${this.id}: frames() was already called; a source has one consumer`);
    this.started = true;
    return this.generate();
  }

  private async *generate(): AsyncGenerator<Frame> {
    const { width, height, fps, defectRate, seed, count } = this.opts;
    const interval = fps > 0 ? 1000 / fps : 0;
    this.log.info({ width, height, fps, defectRate, seed, count, kinds: this.kinds }, 'sim camera started');
    const t0 = Date.now();
    try {
      for (let seq = 1; !this.closed && (count === undefined || seq <= count); seq++) {
        if (interval > 0) {
          const due = t0 + (seq - 1) * interval;
          const wait = due - Date.now();
          if (wait > 0) await this.sleep(wait);
          if (this.closed) break;
        }
        const plan = planFrame(seed, seq, defectRate, this.kinds);
        const { rgb } = renderPart({ seed: plan.seed, width, height, defect: plan.defect });
        const frame: Frame = {
          cameraId: this.id,
          seq,
          timestamp: Date.now(),
          width,
          height,
          pixelFormat: 'rgb8',
          data: rgb,
          partId: `SIM-${String(seq).padStart(6, '0')}`,
          origin: 'sim',
          label: plan.defect ? { defective: true, kind: plan.defect } : { defective: false },
        };
        this.frameCount++;
        if (plan.defect) this.defectCount++;
        if (this._state === 'starting') this._state = 'streaming';
        yield frame;
      }
    } finally {
      this.stop();
    }
  }

  /** Resolves after `ms`, or at once when the source is closed. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        resolve();
      };
      this.timer = setTimeout(this.wake, ms);
    });
  }

  private stop(): void {
    this.closed = true;
    this.wake?.();
    if (this._state !== 'stopped') {
      this._state = 'stopped';
      this.log.info({ frames: this.frameCount, defects: this.defectCount }, 'sim camera stopped');
    }
  }

  async close(): Promise<void> {
    this.stop();
  }

  stats(): Record<string, number> {
    return { frames: this.frameCount, defects: this.defectCount };
  }
}
