import { existsSync } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { InspectdError, messageOf, NotFoundError } from '../core/errors.js';
import type { AuditEntry, Journal, MarkChange } from '../core/history.js';
import type {
  ArchivedFrame,
  CameraStatus,
  InspectionMode,
  LineControl,
  LineStatus,
  Readiness,
  SinkStatus,
} from '../core/line.js';
import type { Metrics } from '../core/metrics.js';
import {
  ARCHIVE_SUFFIX,
  archiveBase,
  inside,
  MAX_NOTE_CHARS,
  markProblem,
  missingFrameReason,
  type MarkKind,
} from '../core/review.js';
import type { Verdict, VerdictArtifacts } from '../core/verdict.js';
import type { RecipeModel } from '../recipe/recipeModel.js';
import { Throttle } from '../log/logger.js';
import { CameraPipeline } from '../pipeline/cameraPipeline.js';
import { MANIFEST_FILE, readManifest, writeManifest, type Manifest } from '../recipe/manifest.js';
import type { Sink } from '../sinks/types.js';
import { sourceKinds } from '../sources/index.js';
import type { HealthMonitor } from './health.js';
import type { RecipeCache } from './recipes.js';

export interface LineDeps {
  config: Config;
  recipes: RecipeCache;
  /** Each camera's first recipe, loaded and warmed, in camera order. */
  models: RecipeModel[];
  journal: Journal;
  health: HealthMonitor;
  metrics: Metrics;
  log: Logger;
}

/**
 * The running line: one pipeline per camera, the sinks verdicts go to, and the one implementation of
 * LineControl (what MQTT, OPC UA and HTTP may ask). Pipelines are made at once (so sinks can set modes while
 * they start) and started last.
 */
export class Line implements LineControl {
  readonly line: string;
  readonly cameras: readonly string[];
  readonly pipelines: CameraPipeline[];
  private readonly sinks: Sink[] = [];
  /** Per camera: the recipe switch in progress, and the recipe last asked for. */
  private readonly switching = new Map<string, Promise<void>>();
  private readonly wanted = new Map<string, string>();
  private readonly throttle: Throttle;
  /** Resolved once, as the archive sink does: a later chdir must not move it. */
  private readonly archiveDir: string;

  constructor(private readonly d: LineDeps) {
    const c = d.config;
    this.line = c.line;
    this.archiveDir = c.archive.dir === '' ? '' : path.resolve(c.archive.dir);
    this.cameras = c.cameras.map((x) => x.id);
    this.throttle = new Throttle(d.log);
    this.pipelines = c.cameras.map((cam, i) => {
      const log = d.log.child({ camera: cam.id });
      return new CameraPipeline({
        settings: {
          cameraId: cam.id,
          queueSize: cam.queue.size,
          dropPolicy: cam.queue.policy,
          minRegionArea: cam.decision.minRegionArea,
          maxRegions: cam.decision.maxRegions,
        },
        source: sourceKinds[cam.source.type].create({
          id: cam.id,
          options: cam.source.options as never,
          log: log.child({ stage: 'source' }),
          onDrop: (reason) => d.metrics.drops.inc({ camera: cam.id, reason }),
        }),
        recipe: { name: cam.recipe, model: d.models[i] },
        metrics: d.metrics,
        log,
        publish: (v, a) => this.publish(v, a),
      });
    });
  }

  /** Sinks get every verdict from now on, in the order added. */
  addSink(sink: Sink): void {
    this.sinks.push(sink);
  }

  start(): void {
    for (const p of this.pipelines) p.start();
  }

  /** Stops the cameras: sources closed, queued frames finished until the deadline (epoch ms). */
  async stop(deadline: number): Promise<void> {
    await Promise.all(this.pipelines.map((p) => p.stop(deadline)));
  }

  /**
   * The journal first: committed before any sink sees it, so a sink that looks it up finds it and nothing is
   * lost to a crash. A journal that cannot store it (a full disk) does not stop the verdict. A sink that throws
   * is contained.
   */
  private publish(v: Verdict, a: VerdictArtifacts): void {
    let seq: number | undefined;
    try {
      seq = this.d.journal.append(v);
    } catch (e) {
      this.d.health.journalFailed(messageOf(e));
      this.throttle.warn(
        'journal',
        { resultId: v.resultId, err: messageOf(e) },
        `journal: verdict ${v.resultId} not stored (${messageOf(e)}); it is still published`,
      );
    }
    for (const sink of this.sinks) {
      try {
        sink.publish(v, a, seq);
      } catch (e) {
        this.throttle.warn(
          `sink:${sink.name}`,
          { sink: sink.name, resultId: v.resultId, err: messageOf(e) },
          `sink ${sink.name} failed on ${v.resultId}: ${messageOf(e)}`,
        );
      }
    }
  }

  private pipeline(camera: string): CameraPipeline {
    const p = this.pipelines.find((x) => x.settings.cameraId === camera);
    if (!p)
      throw new InspectdError(`no camera "${camera}"`, {
        subject: camera,
        fix: `use one of the configured cameras: ${this.cameras.join(', ')}`,
      });
    return p;
  }

  setMode(camera: string, mode: InspectionMode, jobId?: string): void {
    this.pipeline(camera).setMode(mode, jobId);
  }

  requestSingle(camera: string, partId?: string, jobId?: string): Promise<Verdict> {
    return this.pipeline(camera).requestSingle(partId, jobId);
  }

  abortSingle(camera: string, reason: string): boolean {
    return this.pipeline(camera).abortSingle(reason);
  }

  activeRecipe(camera: string): string {
    return this.pipeline(camera).activeRecipe;
  }

  /**
   * Switches a camera's recipe at runtime without losing a frame: the new one is loaded and warmed beside the
   * old, swapped in between two frames, and the old one released once its last frame is done. Switches of a
   * camera run one after the other; when several wait, the last one wins and the ones it overtook are
   * refused, saying so.
   */
  setRecipe(camera: string, recipe: string): Promise<string> {
    const p = this.pipeline(camera);
    this.wanted.set(camera, recipe);
    const run = (this.switching.get(camera) ?? Promise.resolve()).then(async () => {
      const wanted = this.wanted.get(camera);
      if (wanted !== recipe)
        throw new InspectdError(
          `switch of camera ${camera} to ${recipe} overtaken by a switch to ${wanted}`,
          {
            subject: camera,
            fix: 'send one recipe at a time, or only the last one wanted',
          },
        );
      if (p.activeRecipe === recipe) return recipe;
      const model = await this.d.recipes.acquire(recipe);
      const old = p.activeRecipe;
      await p.swapRecipe(recipe, model);
      await this.d.recipes.release(old);
      this.d.log.info({ camera, from: old, to: recipe }, `camera ${camera}: recipe ${old} -> ${recipe}`);
      return recipe;
    });
    this.switching.set(
      camera,
      run.then(
        () => undefined,
        () => undefined,
      ),
    );
    return run;
  }

  async setThreshold(camera: string, value: number, origin: string): Promise<AuditEntry> {
    const p = this.pipeline(camera);
    if (!Number.isFinite(value))
      throw new InspectdError(`threshold ${String(value)} is not a number`, {
        subject: 'threshold',
        value,
        fix: 'send a finite number, e.g. one the what-if showed',
      });
    // After a recipe switch in progress: the threshold belongs to the recipe the camera will be on.
    await this.switching.get(camera);
    const recipe = p.activeRecipe;
    const model = await this.d.recipes.acquire(recipe);
    try {
      const live = model.manifest;
      const before = live.threshold;
      const next: Manifest['threshold'] = {
        value,
        rule: 'operator',
        margin: 0,
        fitted:
          before.fitted ??
          (before.rule === 'operator' ? undefined : { value: before.value, rule: before.rule }),
      };
      // The folder's manifest as it is on disk, with only the threshold changed; the new one replaces it whole.
      const onDisk = await readManifest(model.dir);
      await writeManifest(model.dir, { ...onDisk, threshold: next }).catch((e: unknown) => {
        throw new InspectdError(`recipe ${recipe}'s threshold cannot be written: ${messageOf(e)}`, {
          subject: model.dir,
          fix: `let the daemon write the recipes folder (${this.d.config.recipesDir}), or refit the recipe with the threshold wanted`,
        });
      });
      const entry: AuditEntry = {
        at: Date.now(),
        action: 'threshold',
        camera,
        recipe,
        before: before.value,
        after: value,
        origin,
      };
      try {
        entry.seq = this.d.journal.audit(entry);
      } catch (e) {
        // No change without its record: put the manifest back.
        await writeManifest(model.dir, onDisk);
        throw new InspectdError(`the threshold change could not be entered in the journal: ${messageOf(e)}`, {
          subject: 'journal',
          fix: 'check the journal (docs/journal.md); the threshold was left as it was',
        });
      }
      live.threshold = next;
      this.d.log.info(
        { camera, recipe, before: before.value, after: value, origin },
        `recipe ${recipe}: threshold ${before.value} -> ${value} (${origin}), for every camera on it from the next frame`,
      );
      return entry;
    } finally {
      await this.d.recipes.release(recipe);
    }
  }

  auditTrail(limit: number): AuditEntry[] {
    return this.d.journal.auditTrail(limit);
  }

  mark(resultId: string, kind: MarkKind | null, note: string, origin: string): MarkChange {
    const missing = () =>
      new NotFoundError(
        `the journal has no verdict ${resultId}: mark a verdict /api/results lists (retention deletes unmarked verdicts past journal.retainDays)`,
        { subject: 'resultId', value: resultId },
      );
    const v = this.d.journal.get(resultId);
    if (!v) throw missing();
    const problem = markProblem(v, kind);
    if (problem) throw new InspectdError(problem, { subject: 'mark', value: kind });
    if (note.length > MAX_NOTE_CHARS)
      throw new InspectdError(`a note of ${note.length} characters is too long`, {
        subject: 'note',
        fix: `keep it to ${MAX_NOTE_CHARS} characters`,
      });
    const entry = this.d.journal.setMark(resultId, { kind, note, at: Date.now(), origin });
    if (!entry) throw missing();
    if (entry.seq !== undefined)
      this.d.log.info(
        { resultId, camera: v.cameraId, before: entry.before, after: kind, origin },
        `verdict ${resultId} (camera ${v.cameraId}): mark ${entry.before ?? 'none'} -> ${kind ?? 'none'} (${origin})`,
      );
    return entry;
  }

  async archived(v: Verdict): Promise<ArchivedFrame> {
    const a = this.d.config.archive;
    const dir = this.archiveDir;
    if (dir === '') return { missing: missingFrameReason(v, a) };
    const base = archiveBase(dir, v);
    const frame = `${base}${ARCHIVE_SUFFIX.frame}`;
    const overlay = `${base}${ARCHIVE_SUFFIX.overlay}`;
    if (!inside(dir, frame) || !inside(dir, overlay))
      return { missing: `verdict ${v.resultId} names no file inside the archive` };
    const there = await Promise.all(
      [frame, overlay].map((f) =>
        access(f).then(
          () => true,
          () => false,
        ),
      ),
    );
    return there.every(Boolean) ? { frame, overlay } : { missing: missingFrameReason(v, a) };
  }

  async recipes(): Promise<string[]> {
    const dir = this.d.config.recipesDir;
    const names = await readdir(dir).catch(() => [] as string[]);
    return names.filter((n) => existsSync(path.join(dir, n, MANIFEST_FILE))).sort();
  }

  camera(camera: string): CameraStatus | undefined {
    return this.pipelines.find((x) => x.settings.cameraId === camera)?.status();
  }

  /** Ready, or degraded with the reasons (recipes are loaded and warmed before the line exists). */
  readiness(): Readiness {
    return this.d.health.readiness(this.sinkStatus());
  }

  private sinkStatus(): SinkStatus[] {
    return this.sinks.map((s) => ({ name: s.name, ...s.health(), stats: s.stats() }));
  }

  status(): LineStatus {
    const sinks = this.sinkStatus();
    return {
      line: this.line,
      readiness: this.d.health.readiness(sinks),
      cameras: this.pipelines.map((p) => p.status()),
      sinks,
    };
  }
}
