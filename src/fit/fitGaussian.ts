import { rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { InspectdError } from '../core/errors.js';
import { sha256File } from '../core/hash.js';
import type { InputSpec } from '../core/inputSpec.js';
import { VERSION } from '../core/version.js';
import { inspectBackbone, type BackboneInfo } from '../inference/backbone.js';
import { RecipeModel } from '../inference/recipeModel.js';
import { loadSession, ort, type SessionOptions } from '../inference/session.js';
import { Progress } from '../log/progress.js';
import { appendHead } from '../onnx/compose.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import { writeModel } from '../onnx/modelFile.js';
import { imageBatches, type SkippedImage } from '../preprocess/batches.js';
import { listImages } from '../preprocess/imageFiles.js';
import { MANIFEST_SCHEMA, MODEL_FILE, writeManifest, type Manifest } from '../recipe/manifest.js';
import { ensureWritableDir } from '../recipe/outputDir.js';
import { scoreFiles } from '../recipe/scoreFiles.js';
import { calibrate } from '../scoring/calibration.js';
import { fuseLevels, randomChannelSubset } from '../scoring/fusion.js';
import { mahalanobisMap, momentNodes } from '../scoring/gaussian/head.js';
import { estimateInParallel } from '../scoring/gaussian/estimateParallel.js';
import { MomentAccumulator, type GaussianGrid } from '../scoring/gaussian/moments.js';
import { MAP_OUTPUT, SCORE_OUTPUT, mapToOutputs } from '../scoring/mapHead.js';

export interface GaussianFitOptions {
  backbone: string;
  layers: string[];
  size: number;
  images: string;
  out: string;
  name: string;
  eps: number;
  /** Keep this many fused channels (PaDiM's random subset); undefined = all. */
  channels?: number;
  channelSeed: number;
  batchSize: number;
  minImages: number;
  blurSigma: number;
  /** Threads for the covariance inversion (the CPU count by default). */
  threads?: number;
  session: SessionOptions;
}

const MOMENT_SUM = 'moment_sum';
const MOMENT_OUTER = 'moment_outer';
const SHIFT_INPUT = 'moment_shift';

/** fit --method gaussian: good images -> recipe folder (model.onnx with the Mahalanobis head + manifest). */
export async function fitGaussian(o: GaussianFitOptions, log: Logger): Promise<Manifest> {
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  const lap = (k: string, since: number): void => {
    timings[k] = Math.round((performance.now() - since) / 10) / 100;
  };

  await ensureWritableDir(o.out, 'output folder');
  const files = await listImages(o.images, 'training image folder');
  if (files.length < o.minImages) {
    throw tooFewImages(o, files.length);
  }
  const bb = await inspectBackbone(o.backbone, o.layers, { width: o.size, height: o.size }, o.session, log);
  const totalChannels = bb.levels.reduce((a, l) => a + l.channels, 0);
  if (o.channels !== undefined && !(o.channels >= 1 && o.channels <= totalChannels)) {
    throw new InspectdError(
      `--channels ${o.channels} is out of range: the layers give ${totalChannels} channels`,
      {
        subject: '--channels',
        value: o.channels,
        fix: `pass 1..${totalChannels}, or leave it out to keep all`,
      },
    );
  }
  const subset =
    o.channels !== undefined && o.channels < totalChannels
      ? randomChannelSubset(totalChannels, o.channels, o.channelSeed)
      : undefined;
  const grid: GaussianGrid = {
    channels: subset?.length ?? totalChannels,
    height: bb.levels[0].height,
    width: bb.levels[0].width,
  };
  const input: InputSpec = {
    name: bb.inputName,
    width: o.size,
    height: o.size,
    channels: 3,
    mean: bb.mean,
    std: bb.std,
    resize: 'stretch-bilinear',
  };
  log.info(
    { levels: bb.levels, grid, images: files.length },
    `fitting gaussian on ${files.length} images: ${grid.channels} channels on a ${grid.height}x${grid.width} grid`,
  );
  if (files.length <= grid.channels) {
    log.warn(
      { images: files.length, channels: grid.channels },
      `${files.length} images for ${grid.channels} channels: the covariance is rank-deficient and eps*I (${o.eps}) carries it; more good images make a steadier recipe`,
    );
  }

  // 1. Moments, streamed.
  let t = performance.now();
  const skipped: SkippedImage[] = [];
  const acc = await accumulateMoments(bb, grid, subset, input, files, o, log, skipped);
  lap('features_and_moments', t);
  if (acc.count < o.minImages) throw tooFewImages(o, acc.count, skipped.length);

  // 2. Mean and precision per position.
  t = performance.now();
  const { mean, precision, failedPositions } = await estimateInParallel(acc, o.eps, o.threads);
  lap('inverse', t);
  if (failedPositions.length) {
    throw new InspectdError(
      `covariance is not positive definite at ${failedPositions.length} grid positions even with eps ${o.eps}`,
      {
        subject: '--eps',
        value: o.eps,
        fix: 'raise --eps (e.g. 0.1) or add more varied good images',
      },
    );
  }

  // 3. The recipe model: backbone + fusion + Mahalanobis + upsample/blur/max, one graph.
  t = performance.now();
  const b = new GraphBuilder(bb.opset);
  const fused = fuseLevels(
    b,
    bb.levels.map((l) => l.name),
    subset,
  );
  mapToOutputs(b, mahalanobisMap(b, fused, { ...grid, mean, precision }), bb.inputName, o.blurSigma);
  const model = appendHead(
    bb.model,
    b,
    [
      { name: SCORE_OUTPUT, dims: ['N'] },
      { name: MAP_OUTPUT, dims: ['N', 1, o.size, o.size] },
    ],
    {
      'inspectd.kind': 'recipe',
      'inspectd.method': 'gaussian',
      'inspectd.version': VERSION,
      'inspectd.recipe': o.name,
    },
  );
  const modelPath = path.join(o.out, MODEL_FILE);
  const written = writeModel(model, modelPath);
  lap('write_model', t);

  // 4. Threshold from the good images' own scores (S003: tau = max over good training images).
  t = performance.now();
  const partial: Manifest = {
    schema: MANIFEST_SCHEMA,
    name: o.name,
    method: 'gaussian',
    input,
    outputs: { score: SCORE_OUTPUT, map: MAP_OUTPUT, mapWidth: o.size, mapHeight: o.size },
    model: {
      file: MODEL_FILE,
      files: written,
      sha256: await sha256File(modelPath),
      bytes: await filesBytes(o.out, written),
      opset: bb.opset,
    },
    threshold: { value: Number.POSITIVE_INFINITY, rule: 'max-good-train', margin: 0 },
    calibration: { n: 0, mean: 0, std: 0, min: 0, max: 0, quantiles: { p50: 0, p90: 0, p95: 0, p99: 0 } },
    params: {
      eps: o.eps,
      layers: bb.levels.map((l) => l.name),
      channels: grid.channels,
      totalChannels,
      channelSeed: subset ? o.channelSeed : null,
      channelSubset: subset ?? null,
      grid: [grid.height, grid.width],
      blurSigma: o.blurSigma,
    },
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
      trainImages: { dir: path.resolve(o.images), used: acc.count, skipped },
      timingsSeconds: timings,
    },
  };
  const recipe = await RecipeModel.open(o.out, partial, o.session, log);
  const usable = files.filter((f) => !skipped.some((s) => s.file === f));
  const { scored } = await scoreFiles(recipe, usable, {
    batchSize: o.batchSize,
    keepMaps: false,
    log,
    progress: new Progress('scoring good images', usable.length, log),
  }).finally(() => recipe.close());
  const calibration = calibrate(scored.map((s) => s.score));
  lap('threshold', t);
  lap('total', t0);
  const manifest: Manifest = {
    ...partial,
    threshold: { value: calibration.max, rule: 'max-good-train', margin: 0 },
    calibration,
  };
  await writeManifest(o.out, manifest);
  log.info(
    { threshold: calibration.max, calibration, timings },
    `recipe ${o.name} written to ${o.out}: threshold ${calibration.max.toFixed(4)}`,
  );
  return manifest;
}

async function accumulateMoments(
  bb: BackboneInfo,
  grid: GaussianGrid,
  subset: number[] | undefined,
  input: InputSpec,
  files: string[],
  o: GaussianFitOptions,
  log: Logger,
  skipped: SkippedImage[],
): Promise<MomentAccumulator> {
  const b = new GraphBuilder(bb.opset);
  const fused = fuseLevels(
    b,
    bb.levels.map((l) => l.name),
    subset,
  );
  const { sum, outer } = momentNodes(b, fused, SHIFT_INPUT, grid);
  b.opNamed(MOMENT_SUM, 'Identity', [sum]);
  b.opNamed(MOMENT_OUTER, 'Identity', [outer]);
  const P = grid.height * grid.width;
  const C = grid.channels;
  const model = appendHead(
    bb.model,
    b,
    [
      { name: MOMENT_SUM, dims: [P, C] },
      { name: MOMENT_OUTER, dims: [P, C, C] },
    ],
    { 'inspectd.kind': 'fit-moments' },
  );
  model.graph!.input!.push({
    name: SHIFT_INPUT,
    type: {
      tensorType: { elemType: 1, shape: { dim: [{ dimValue: P }, { dimValue: 1 }, { dimValue: C }] } },
    },
  });
  const tmp = path.join(o.out, `.moments-${process.pid}.onnx`);
  writeModel(model, tmp, { externalAboveBytes: Number.POSITIVE_INFINITY });
  const { session } = await loadSession(tmp, o.session, log).finally(() => rm(tmp, { force: true }));
  const acc = new MomentAccumulator(grid);
  const progress = new Progress('features', files.length, log);
  const zeroShift = new ort.Tensor('float32', new Float32Array(P * C), [P, 1, C]);
  try {
    for await (const batch of imageBatches(files, input, o.batchSize, log, skipped)) {
      const x = new ort.Tensor('float32', batch.tensor, [batch.n, 3, input.height, input.width]);
      if (acc.count === 0) {
        // Shift = the first batch's mean (its sum about zero / n), then the batch is counted about that shift.
        const first = await session.run({ [input.name]: x, [SHIFT_INPUT]: zeroShift }, [MOMENT_SUM]);
        const s = first[MOMENT_SUM].data as Float32Array;
        for (let i = 0; i < s.length; i++) acc.shift[i] = s[i] / batch.n;
      }
      const out = await session.run({
        [input.name]: x,
        [SHIFT_INPUT]: new ort.Tensor('float32', acc.shift, [P, 1, C]),
      });
      acc.add(out[MOMENT_SUM].data as Float32Array, out[MOMENT_OUTER].data as Float32Array, batch.n);
      progress.tick(batch.n);
    }
  } finally {
    await session.release();
  }
  progress.tick(skipped.length);
  return acc;
}

function tooFewImages(o: GaussianFitOptions, usable: number, skipped = 0): InspectdError {
  const why = skipped ? ` (${skipped} more could not be read)` : '';
  return new InspectdError(
    `${o.images} has ${usable} usable good images${why}; a stable per-position covariance needs at least ${o.minImages}`,
    {
      subject: o.images,
      value: usable,
      fix: `add good images (PaDiM-style fits want dozens to hundreds), or lower --min-images (at your own risk)`,
    },
  );
}

async function filesBytes(dir: string, names: string[]): Promise<number> {
  let total = 0;
  for (const n of names) total += (await stat(path.join(dir, n))).size;
  return total;
}
