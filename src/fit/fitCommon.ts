import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { InspectdError } from '../core/errors.js';
import { sha256File } from '../core/hash.js';
import { modelInputSize, parseSize, type InputSpec } from '../core/inputSpec.js';
import { defaultOverlap, imagesPerCall, tileCount, tileLayout } from '../core/tiling.js';
import { VERSION } from '../core/version.js';
import { inspectBackbone, type BackboneInfo } from '../inference/backbone.js';
import { RecipeModel } from '../recipe/recipeModel.js';
import { loadSession, ort, type SessionOptions } from '../inference/session.js';
import { Progress } from '../log/progress.js';
import { appendHead, type GraphOutput } from '../onnx/compose.js';
import type { GraphBuilder } from '../onnx/graphBuilder.js';
import { encodeModel, writeModel } from '../onnx/modelFile.js';
import type { ValueInfoProto } from '../onnx/proto.js';
import { asFloat, imageBatches, type SkippedImage } from '../preprocess/batches.js';
import { listImages } from '../preprocess/imageFiles.js';
import { CANVAS_INPUT, withTiler } from '../preprocess/tiler.js';
import {
  MANIFEST_SCHEMA,
  MODEL_FILE,
  writeManifest,
  type Calibration,
  type Manifest,
} from '../recipe/manifest.js';
import { ensureWritableDir } from '../recipe/outputDir.js';
import { scoreFiles } from '../recipe/scoreFiles.js';
import { calibrate } from '../scoring/calibration.js';
import { MAP_OUTPUT, SCORE_OUTPUT } from '../scoring/mapHead.js';

/** The options every fit method shares. */
export interface FitBaseOptions {
  /** The method's name in the table of fit methods (methods.ts): the manifest and the model metadata say it. */
  method: string;
  backbone: string;
  layers: string[];
  /** N or WxH (`parseSize`): the model's input, or with `tile` the canvas the tiles are cut from. */
  size: string;
  /** N or WxH: the model scores tiles of this size cut from the canvas (`tileLayout`); undefined: no tiles. */
  tile?: string;
  /** Least overlap of neighbouring tiles in pixels; undefined: `defaultOverlap`. */
  overlap?: number;
  images: string;
  out: string;
  name: string;
  batchSize: number;
  minImages: number;
  blurSigma: number;
  /**
   * Fraction of the good images kept out of the method's statistics and scored only for the threshold. 0: the
   * threshold comes from the training images themselves (S003), which a memory bank scores too low.
   */
  holdout: number;
  /** Set by `fitWithRefit`: the threshold a first fit took from held-out images; no scoring pass here. */
  presetThreshold?: PresetThreshold;
  session: SessionOptions;
}

/** A threshold carried over from a fit that held images out (see refit.ts). */
export interface PresetThreshold {
  calibration: Calibration;
  holdoutImages: string[];
  /** The first fit's whole time, for the provenance. */
  seconds: number;
}

/** Seconds per fit step, rounded to 10 ms, for the manifest's provenance. */
export class FitTimings {
  readonly seconds: Record<string, number> = {};
  readonly started = performance.now();

  lap(key: string, since: number): void {
    this.seconds[key] = Math.round((performance.now() - since) / 10) / 100;
  }
}

export interface FitStart {
  /** The good images the method learns from. */
  files: string[];
  /** The good images held out for the threshold (none when `holdout` is 0). */
  holdout: string[];
  /** Inspected at the model's input size (the tile size of a tiled recipe). */
  bb: BackboneInfo;
  input: InputSpec;
  /** Model inputs per image: its tiles, or 1. Every tile of every image is a sample of the method. */
  tiles: number;
}

/** The output folder checked, the good images listed (enough of them), the backbone inspected. */
export async function startFit(o: FitBaseOptions, log: Logger, advice: FewImagesAdvice): Promise<FitStart> {
  const size = parseSize(o.size)!;
  const tile = o.tile === undefined ? undefined : parseSize(o.tile)!;
  const tiling = tile && tileLayout(size, tile, o.overlap ?? defaultOverlap(tile));
  await ensureWritableDir(o.out, 'output folder');
  const all = await listImages(o.images, 'training image folder');
  const { files, holdout } = splitHoldout(all, o.holdout);
  if (o.holdout > 0 && holdout.length === 0) {
    throw new InspectdError(
      `--holdout ${o.holdout} of the ${all.length} good images in ${o.images} holds out none for the threshold`,
      {
        subject: o.images,
        value: o.holdout,
        fix: `raise --holdout to at least ${(Math.ceil(1000 / all.length) / 1000).toFixed(3)}, add good images, or pass --holdout 0`,
      },
    );
  }
  if (files.length < o.minImages) throw tooFewImages(o, files.length, 0, advice);
  if (holdout.length) {
    log.info(
      { holdout: holdout.length, fit: files.length },
      `${holdout.length} of ${all.length} good images held out for the threshold (every ${(all.length / holdout.length).toFixed(1)}th in name order); the method learns from the other ${files.length}`,
    );
  }
  if (tiling) {
    log.info(
      { tiling },
      `each image is resized to ${size.width}x${size.height} and cut into ${tiling.cols}x${tiling.rows} tiles of ${tiling.width}x${tiling.height} (overlap at least ${tiling.overlap} px); the method learns from every tile`,
    );
  }
  const bb = await inspectBackbone(o.backbone, o.layers, tile ?? size, o.session, log);
  checkHoldout(o, holdout, bb.metadata, log);
  const input: InputSpec = {
    name: bb.inputName,
    width: size.width,
    height: size.height,
    channels: 3,
    mean: bb.mean,
    std: bb.std,
    resize: 'stretch-linear-front',
    ...(tiling ? { tiling } : {}),
  };
  return { files, holdout, bb, input, tiles: tileCount(tiling) };
}

/**
 * A threshold from held-out images is honest only if no training saw them. A model trained on good images by
 * one of the project's scripts (its metadata names them) must have held out the same images: the scripts'
 * `--holdout F` splits as `splitHoldout` does. ImageNet backbones never saw the images.
 */
function checkHoldout(o: FitBaseOptions, holdout: string[], meta: Record<string, string>, log: Logger): void {
  if (!holdout.length || meta['inspectd.train_images'] === undefined) return;
  const script = meta['inspectd.exporter'] ?? 'its training script';
  const fix = `train with ${script} --holdout ${o.holdout} on the same folder, or pass --holdout 0`;
  const listed = meta['inspectd.train_holdout_images'];
  if (listed === undefined) {
    log.warn(
      { model: o.backbone, holdout: o.holdout },
      `--holdout ${o.holdout}: ${o.backbone} was trained on every image of its folder, so the held-out images are not new to it and the threshold may be too low (more good parts rejected); ${fix}`,
    );
    return;
  }
  const heldInTraining = new Set(JSON.parse(listed) as string[]);
  const seen = holdout.map((f) => path.basename(f)).filter((f) => !heldInTraining.has(f));
  if (seen.length) {
    throw new InspectdError(
      `--holdout ${o.holdout} holds out ${seen.length} image(s) that ${o.backbone} was trained on (${seen.slice(0, 3).join(', ')}${seen.length > 3 ? ', ...' : ''}); its threshold would not be honest`,
      {
        subject: '--holdout',
        value: o.holdout,
        fix: `${fix} (the model held out ${meta['inspectd.train_holdout']})`,
      },
    );
  }
}

/**
 * Every (1/fraction)th image in name order is held out: spread over the folder (names usually follow capture
 * time, so over the shifts too), and the same split every time. floor(n * fraction) images.
 */
export function splitHoldout(
  files: readonly string[],
  fraction: number,
): { files: string[]; holdout: string[] } {
  const keep: string[] = [];
  const held: string[] = [];
  files.forEach((f, i) => (Math.floor((i + 1) * fraction) > Math.floor(i * fraction) ? held : keep).push(f));
  return { files: keep, holdout: held };
}

/** What a method says when there are too few good images: why it needs more, and the fix. */
export interface FewImagesAdvice {
  need: string;
  fix: string;
}

export function tooFewImages(
  o: FitBaseOptions,
  usable: number,
  skipped: number,
  advice: FewImagesAdvice,
): InspectdError {
  const why = skipped ? ` (${skipped} more could not be read)` : '';
  return new InspectdError(`${o.images} has ${usable} usable good images${why}; ${advice.need}`, {
    subject: o.images,
    value: usable,
    fix: advice.fix,
  });
}

/**
 * Runs the backbone with a fit-time head (`outputs` from `head`) over every good image in batches, calling
 * `onBatch` with each batch's outputs and its number of model inputs (images x tiles: a tiled fit cuts the
 * canvas with the recipe's own tiler, so each tile is one sample). The fit-time model goes to onnxruntime as
 * bytes, never to disk. Unreadable images are skipped and recorded in `skipped`. Returns the images used.
 */
export async function streamBatches(
  start: FitStart,
  head: GraphBuilder,
  outputs: readonly GraphOutput[],
  o: FitBaseOptions,
  log: Logger,
  skipped: SkippedImage[],
  onBatch: (run: BatchRunner, n: number) => Promise<void>,
  extraInputs: ValueInfoProto[] = [],
): Promise<number> {
  const { bb, input, files, tiles } = start;
  const model = appendHead(bb.model, head, outputs, { 'inspectd.kind': 'fit' });
  if (input.tiling) withTiler(model, { ...input, tiling: input.tiling });
  model.graph!.input!.push(...extraInputs);
  const label = `${o.backbone} with the ${o.method} fit head`;
  const { session } = await loadSession(encodeModel(model, label), o.session, log, label);
  const progress = new Progress('features', files.length, log);
  const feed = input.tiling ? CANVAS_INPUT : input.name;
  const perCall = imagesPerCall(o.batchSize, tiles);
  let images = 0;
  try {
    for await (const batch of imageBatches(files, input, perCall, log, skipped, asFloat)) {
      const x = new ort.Tensor('float32', batch.data, [batch.n, 3, input.height, input.width]);
      const run: BatchRunner = async (extra = {}, names) => {
        const feeds = { [feed]: x, ...extra };
        return names ? session.run(feeds, names) : session.run(feeds);
      };
      await onBatch(run, batch.n * tiles);
      images += batch.n;
      progress.tick(batch.n);
    }
  } finally {
    await session.release();
  }
  progress.tick(skipped.length);
  return images;
}

export type BatchRunner = (
  extraFeeds?: Record<string, ort.Tensor>,
  outputNames?: string[],
) => Promise<Record<string, ort.Tensor>>;

export interface FinishRecipe {
  start: FitStart;
  /** The scoring head appended to the backbone; it writes `score` and `anomaly_map`. */
  head: GraphBuilder;
  params: Record<string, unknown>;
  used: number;
  skipped: SkippedImage[];
  timings: FitTimings;
}

/**
 * The steps after the method's own statistics: the composed model written (external data when large), the
 * good images scored through it for the threshold (S003: tau = the highest good score; the held-out images
 * when there are any, else the training images) and the calibration statistics, the manifest written last.
 */
export async function finishRecipe(o: FitBaseOptions, r: FinishRecipe, log: Logger): Promise<Manifest> {
  const { bb, input } = r.start;
  const tile = modelInputSize(input);
  const preset = o.presetThreshold;
  const holdout = preset ? preset.holdoutImages : r.start.holdout.map((f) => path.basename(f));
  const rule = preset ? 'max-good-holdout-refit' : holdout.length ? 'max-good-holdout' : 'max-good-train';
  let t = performance.now();
  const model = appendHead(
    bb.model,
    r.head,
    [
      { name: SCORE_OUTPUT, dims: ['N'] },
      { name: MAP_OUTPUT, dims: ['N', 1, tile.height, tile.width] },
    ],
    {
      'inspectd.kind': 'recipe',
      'inspectd.method': o.method,
      'inspectd.version': VERSION,
      'inspectd.recipe': o.name,
    },
  );
  const modelPath = path.join(o.out, MODEL_FILE);
  const written = writeModel(model, modelPath);
  r.timings.lap('write_model', t);

  t = performance.now();
  const partial: Manifest = {
    schema: MANIFEST_SCHEMA,
    name: o.name,
    method: o.method,
    input,
    outputs: { score: SCORE_OUTPUT, map: MAP_OUTPUT, mapWidth: input.width, mapHeight: input.height },
    model: {
      file: MODEL_FILE,
      files: written,
      sha256: await sha256File(modelPath),
      bytes: await filesBytes(o.out, written),
      opset: bb.opset,
    },
    threshold: { value: Number.POSITIVE_INFINITY, rule, margin: 0 },
    calibration: { n: 0, mean: 0, std: 0, min: 0, max: 0, quantiles: { p50: 0, p90: 0, p95: 0, p99: 0 } },
    params: r.params,
    provenance: {
      tool: 'inspectd fit',
      toolVersion: VERSION,
      createdAt: new Date().toISOString(),
      host: os.hostname(),
      backbone: {
        file: path.resolve(o.backbone),
        sha256: await sha256File(o.backbone),
        layers: o.layers,
        metadata: bb.metadata,
      },
      trainImages: { dir: path.resolve(o.images), used: r.used, skipped: r.skipped },
      ...(holdout.length ? { holdoutImages: holdout } : {}),
      timingsSeconds: r.timings.seconds,
    },
  };
  const calibration = preset?.calibration ?? (await scoreForThreshold(o, r, partial, log));
  if (preset) r.timings.seconds.threshold_fit = preset.seconds;
  else r.timings.lap('threshold', t);
  r.timings.lap('total', r.timings.started);
  const manifest: Manifest = {
    ...partial,
    threshold: { value: calibration.max, rule, margin: 0 },
    calibration,
  };
  await writeManifest(o.out, manifest);
  log.info(
    { threshold: calibration.max, calibration, timings: r.timings.seconds },
    `recipe ${o.name} fitted: threshold ${calibration.max.toFixed(4)} (the highest of ${calibration.n} ${holdout.length ? 'held-out' : 'training'} good images${preset ? ', scored by the fit without them' : ''})`,
  );
  return manifest;
}

/** The good images scored through the new recipe: the held-out ones when there are any, else the training ones. */
async function scoreForThreshold(
  o: FitBaseOptions,
  r: FinishRecipe,
  partial: Manifest,
  log: Logger,
): Promise<Calibration> {
  const { files, holdout } = r.start;
  const recipe = await RecipeModel.open(o.out, partial, o.session, log);
  const usable = holdout.length ? holdout : files.filter((f) => !r.skipped.some((s) => s.file === f));
  const { scored } = await scoreFiles(recipe, usable, {
    batchSize: o.batchSize,
    keepMaps: false,
    log,
    progress: new Progress(
      holdout.length ? 'scoring held-out good images' : 'scoring good images',
      usable.length,
      log,
    ),
  }).finally(() => recipe.close());
  if (!scored.length) {
    throw new InspectdError(
      `none of the ${usable.length} held-out good images could be read for the threshold`,
      {
        subject: o.images,
        fix: 'replace the unreadable images (the log names them) or pass --holdout 0',
      },
    );
  }
  return calibrate(scored.map((s) => s.score));
}

async function filesBytes(dir: string, names: string[]): Promise<number> {
  let total = 0;
  for (const n of names) total += (await stat(path.join(dir, n))).size;
  return total;
}
