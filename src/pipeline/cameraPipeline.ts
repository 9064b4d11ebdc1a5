import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { InspectdError, isInspectdError, messageOf } from '../core/errors.js';
import { BoundedQueue, type DropPolicy } from '../core/boundedQueue.js';
import type { Frame, FrameSource } from '../core/frame.js';
import { heatScale } from '../core/heatmap.js';
import type { CameraCounts, CameraStatus, InspectionMode } from '../core/line.js';
import type { Metrics } from '../core/metrics.js';
import type { Verdict, VerdictArtifacts } from '../core/verdict.js';
import { decide } from '../decision/decide.js';
import type { RecipeModel } from '../recipe/recipeModel.js';
import { framePixels } from '../preprocess/frame.js';
import { Throttle } from '../log/logger.js';

export interface PipelineSettings {
  cameraId: string;
  queueSize: number;
  dropPolicy: DropPolicy;
  minRegionArea: number;
  maxRegions: number;
}

/** Everything a camera pipeline works with: one object, built by the composition root. */
export interface PipelineContext {
  settings: PipelineSettings;
  source: FrameSource;
  recipe: { name: string; model: RecipeModel };
  metrics: Metrics;
  log: Logger;
  /** Each verdict with its artifacts, in decision order (the line records it, then the sinks get it). */
  publish(verdict: Verdict, artifacts: VerdictArtifacts): void;
}

interface Queued {
  frame: Frame;
  enqueuedAt: number;
}

/** A pending single inspection: the first frame queued after `after` answers it. */
interface Armed {
  partId?: string;
  jobId?: string;
  after: number;
  resolve(v: Verdict): void;
  reject(e: Error): void;
}

/**
 * One camera: source -> bounded queue -> preprocess -> model -> decision -> sinks. The capture loop only
 * moves frames into the queue (so a slow model never stalls the camera driver); the inspect loop takes them
 * one at a time. A frame that cannot be decoded is counted and logged with its origin, and the loop goes on.
 */
export class CameraPipeline {
  readonly settings: PipelineSettings;
  readonly source: FrameSource;
  private readonly queue: BoundedQueue<Queued>;
  private captureDone?: Promise<void>;
  private inspectDone?: Promise<void>;
  private stopping = false;
  readonly counts: CameraCounts = {
    frames: 0,
    ok: 0,
    ng: 0,
    badImages: 0,
    dropped: 0,
    failed: 0,
    skipped: 0,
  };
  private readonly throttle: Throttle;
  private modeNow: InspectionMode = 'continuous';
  /** The job verdicts of the current mode belong to (an OPC UA StartContinuous), if any. */
  private job?: string;
  private armed?: Armed;
  /** The inspection in progress (settled when it ends, whatever its outcome). */
  private current?: Promise<void>;
  private recipe: RecipeModel;
  private recipeName: string;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly publish: PipelineContext['publish'];

  constructor(ctx: PipelineContext) {
    const { settings, metrics, log } = ctx;
    this.settings = settings;
    this.source = ctx.source;
    this.recipe = ctx.recipe.model;
    this.recipeName = ctx.recipe.name;
    this.metrics = metrics;
    this.log = log;
    this.publish = ctx.publish;
    this.queue = new BoundedQueue<Queued>(settings.queueSize, settings.dropPolicy, (q, reason) => {
      this.counts.dropped++;
      metrics.drops.inc({ camera: settings.cameraId, reason });
      log.debug({ seq: q.frame.seq, reason }, `frame ${q.frame.seq} dropped (queue full, ${reason})`);
    });
    this.publishModelInfo();
    this.throttle = new Throttle(log);
  }

  get activeRecipe(): string {
    return this.recipeName;
  }

  status(): CameraStatus {
    return {
      id: this.settings.cameraId,
      recipe: this.recipeName,
      provider: this.recipe.provider,
      mode: this.modeNow,
      source: { kind: this.source.kind, state: this.source.state, stats: this.source.stats() },
      counts: { ...this.counts },
      queueDepth: this.queue.depth,
    };
  }

  start(): void {
    this.captureDone = this.capture();
    this.inspectDone = this.inspect();
  }

  get mode(): InspectionMode {
    return this.modeNow;
  }

  /** True while a requested single inspection waits for its frame or its verdict. */
  get busy(): boolean {
    return this.armed !== undefined;
  }

  /** Changes what the inspect loop does from the next frame on; `stopped` also aborts a pending request. */
  setMode(mode: InspectionMode, jobId?: string): void {
    this.job = jobId;
    if (mode === this.modeNow) return;
    this.log.info({ from: this.modeNow, to: mode }, `camera ${this.settings.cameraId}: mode ${mode}`);
    this.modeNow = mode;
    if (mode === 'stopped') this.abortSingle('inspection stopped');
  }

  /**
   * Inspects the next frame queued after this call, its verdict tagged with `partId`, and resolves with it
   * (in any mode but `stopped`; in `continuous` the other frames go on as before). Triggers the source when
   * it can acquire on request (a GigE camera in software-trigger mode). Rejects when another request is
   * pending, the camera is stopped, the request is aborted, or that frame cannot be inspected.
   */
  requestSingle(partId?: string, jobId?: string): Promise<Verdict> {
    const cam = this.settings.cameraId;
    if (this.stopping || this.modeNow === 'stopped')
      return Promise.reject(
        new InspectdError(`camera ${cam} is stopped: no inspection can be requested`, {
          subject: cam,
          fix: 'start the camera first (continuous or triggered mode)',
        }),
      );
    if (this.armed)
      return Promise.reject(
        new InspectdError(`camera ${cam} is busy with a requested inspection`, {
          subject: cam,
          fix: 'wait for its result (or abort it) before requesting the next',
        }),
      );
    return new Promise<Verdict>((resolve, reject) => {
      const armed: Armed = { partId, jobId, after: performance.now(), resolve, reject };
      this.armed = armed;
      // A trigger that fails (a free-running camera refuses one; a disconnected one cannot) leaves the request
      // armed: the next frame the camera delivers still answers it, and abortSingle ends the wait.
      this.source
        .trigger?.()
        .catch((e: unknown) =>
          this.throttle.warn(
            'trigger',
            { err: messageOf(e) },
            `camera ${cam}: trigger failed, waiting for the next frame: ${messageOf(e)}`,
          ),
        );
    });
  }

  /** Rejects a pending single request with `reason`; false when none was pending. */
  abortSingle(reason: string): boolean {
    const armed = this.armed;
    if (!armed) return false;
    this.armed = undefined;
    armed.reject(new InspectdError(`camera ${this.settings.cameraId}: inspection aborted: ${reason}`));
    return true;
  }

  /** Swaps the recipe between two frames; the caller loads (and warms) the new one first. */
  /**
   * Swaps the recipe between two frames: the next frame uses `model`. Resolves with the old model once no frame
   * uses it any more (the one being inspected finishes on it), so the caller may release it then.
   */
  async swapRecipe(name: string, model: RecipeModel): Promise<RecipeModel> {
    const old = this.recipe;
    this.recipe = model;
    this.recipeName = name;
    this.metrics.modelInfo.remove(this.modelInfoLabels);
    this.publishModelInfo();
    await this.current;
    return old;
  }

  private modelInfoLabels: Record<string, string> = {};

  private publishModelInfo(): void {
    const m = this.recipe.manifest;
    this.modelInfoLabels = {
      camera: this.settings.cameraId,
      recipe: this.recipeName,
      model_version: m.model.sha256.slice(0, 12),
      provider: this.recipe.provider,
    };
    this.metrics.modelInfo.set(this.modelInfoLabels, 1);
  }

  private async capture(): Promise<void> {
    const cam = this.settings.cameraId;
    try {
      for await (const frame of this.source.frames()) {
        if (this.stopping) break;
        this.counts.frames++;
        this.metrics.frames.inc({ camera: cam });
        await this.queue.push({ frame, enqueuedAt: performance.now() });
        this.metrics.queueDepth.set({ camera: cam }, this.queue.depth);
        // A source with a frame always ready (the sim or a replay at full speed) would otherwise keep this
        // loop in promise callbacks, and timers, sockets and signals would never run.
        await yieldToEventLoop();
      }
    } catch (e) {
      this.log.error({ err: messageOf(e) }, `camera ${cam}: source stopped with an error: ${messageOf(e)}`);
    } finally {
      this.queue.close();
    }
  }

  private async inspect(): Promise<void> {
    for (;;) {
      const q = await this.queue.take();
      if (!q) return;
      this.metrics.queueDepth.set({ camera: this.settings.cameraId }, this.queue.depth);
      // A request is answered by a frame queued after it, never by a stale one already waiting.
      const armed = this.armed && q.enqueuedAt >= this.armed.after ? this.armed : undefined;
      if (!armed && this.modeNow !== 'continuous') {
        this.counts.skipped++;
        this.metrics.drops.inc({ camera: this.settings.cameraId, reason: 'idle' });
        continue;
      }
      if (armed) this.armed = undefined;
      const run = this.inspectOne(q, armed);
      // What a recipe swap waits for before the old model may be closed (settled either way).
      this.current = run.then(
        () => undefined,
        () => undefined,
      );
      try {
        const verdict = await run;
        if (armed) {
          if (verdict) armed.resolve(verdict);
          else armed.reject(new InspectdError(`frame ${q.frame.seq} could not be decoded`));
        }
      } catch (e) {
        armed?.reject(e instanceof Error ? e : new Error(messageOf(e)));
        // An inference failure (e.g. a GPU error) loses this frame, counted and logged, not the camera.
        this.counts.failed++;
        this.metrics.drops.inc({ camera: this.settings.cameraId, reason: 'inspection_failed' });
        this.throttle.warn(
          'inspect',
          { seq: q.frame.seq, origin: q.frame.origin, err: messageOf(e) },
          `camera ${this.settings.cameraId}: frame ${q.frame.seq} not inspected: ${messageOf(e)}`,
        );
      }
    }
  }

  /** Inspects one frame and publishes its verdict; undefined when the frame cannot be decoded. */
  private async inspectOne({ frame, enqueuedAt }: Queued, armed?: Armed): Promise<Verdict | undefined> {
    const cam = this.settings.cameraId;
    const t0 = performance.now();
    const recipe = this.recipe;
    const m = recipe.manifest;
    let pixels;
    try {
      pixels = await framePixels(frame, m.input);
    } catch (e) {
      this.counts.badImages++;
      this.metrics.drops.inc({ camera: cam, reason: 'bad_image' });
      const why = isInspectdError(e) ? e.message : messageOf(e);
      this.log.warn(
        { seq: frame.seq, origin: frame.origin, err: why },
        `camera ${cam}: frame ${frame.seq} skipped: ${why}`,
      );
      return undefined;
    }
    const t1 = performance.now();
    const { score, map, view } = await recipe.inspect(pixels);
    const t2 = performance.now();
    const { mapWidth, mapHeight } = m.outputs;
    const d = decide(score, map, mapWidth, mapHeight, {
      threshold: m.threshold.value,
      minRegionArea: this.settings.minRegionArea,
      maxRegions: this.settings.maxRegions,
    });
    const t3 = performance.now();
    const verdict: Verdict = {
      resultId: randomUUID(),
      cameraId: cam,
      recipe: this.recipeName,
      modelVersion: m.model.sha256.slice(0, 12),
      partId: armed?.partId ?? frame.partId,
      jobId: armed?.jobId ?? this.job,
      seq: frame.seq,
      ok: d.ok,
      score,
      threshold: m.threshold.value,
      normalizedScore: d.normalizedScore,
      regions: d.regions,
      timings: {
        queueMs: t0 - enqueuedAt,
        preprocessMs: t1 - t0,
        inferenceMs: t2 - t1,
        decisionMs: t3 - t2,
        totalMs: Math.max(0, Date.now() - frame.timestamp),
      },
      capturedAt: frame.timestamp,
      decidedAt: Date.now(),
      origin: frame.origin,
      label: frame.label,
      heatScale: heatScale(m.threshold.value, m.calibration.min),
    };
    if (d.ok) this.counts.ok++;
    else this.counts.ng++;
    this.metrics.verdicts.inc({ camera: cam, result: d.ok ? 'OK' : 'NG' });
    for (const [stage, ms] of Object.entries(verdict.timings))
      this.metrics.stageSeconds.observe({ camera: cam, stage: stage.replace(/Ms$/, '') }, ms / 1000);
    this.log.debug(
      { resultId: verdict.resultId, seq: frame.seq, score: verdict.score, ok: d.ok },
      `camera ${cam}: ${d.ok ? 'OK' : 'NG'} ${verdict.score.toFixed(3)}`,
    );
    const image = {
      data: Buffer.from(view.buffer, view.byteOffset, view.byteLength),
      width: m.input.width,
      height: m.input.height,
      channels: pixels.channels,
    };
    const camera = {
      data: pixels.data,
      width: pixels.width,
      height: pixels.height,
      channels: pixels.channels,
    };
    this.publish(verdict, { image, camera, map, mapWidth, mapHeight });
    return verdict;
  }

  /**
   * Stops the source, lets queued frames finish until `deadline` (epoch ms), then drops the rest (counted).
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.abortSingle('camera stopping');
    await this.source
      .close()
      .catch((e: unknown) =>
        this.log.warn(
          { err: messageOf(e) },
          `camera ${this.settings.cameraId}: closing the source failed: ${messageOf(e)}`,
        ),
      );
    this.queue.close();
    const left = Math.max(0, deadline - Date.now());
    const finished = await Promise.race([
      Promise.all([this.captureDone, this.inspectDone]).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), left).unref()),
    ]);
    if (!finished) {
      const lost = this.queue.drain().length;
      this.log.warn(
        { lost },
        `camera ${this.settings.cameraId}: shutdown deadline reached, ${lost} queued frames not inspected`,
      );
    }
  }
}
