import type { Logger } from 'pino';
import { mulberry32 } from '../core/random.js';
import { ort } from '../inference/session.js';
import { modelFromFragment, type GraphOutput } from '../onnx/compose.js';
import { GraphBuilder } from '../onnx/graphBuilder.js';
import { onnx } from '../onnx/proto.js';
import type { SkippedImage } from '../preprocess/batches.js';
import type { Manifest } from '../recipe/manifest.js';
import { mapToOutputs } from '../scoring/mapHead.js';
import { bankInitializers, type MemoryBank } from '../scoring/nearestPatch/bank.js';
import { greedyCoreset, projectionMatrix } from '../scoring/nearestPatch/coreset.js';
import { locallyAwareFeatures, patchRows } from '../scoring/nearestPatch/features.js';
import {
  nearestBankItems,
  nearestPatchHead,
  partialSquaredDistances,
  replaceImageScore,
} from '../scoring/nearestPatch/head.js';
import {
  finishRecipe,
  FitTimings,
  startFit,
  streamBatches,
  tooFewImages,
  type FewImagesAdvice,
  type FitBaseOptions,
  type FitStart,
} from './fitCommon.js';

export type ImageScoreRule = 'reweighted' | 'max';

export interface NearestPatchFitOptions extends FitBaseOptions {
  /** Memory bank size in patches; when undefined, `coreset` x the training patches. */
  bank?: number;
  /** Fraction of all training patches the bank keeps (PatchCore's coreset ratio), when `bank` is not set. */
  coreset: number;
  /** Candidate patches for the coreset, sampled evenly over the images (bounds memory and fit time). */
  pool: number;
  /** Random projection size for the coreset's distances (PatchCore: 128). */
  projection: number;
  /** Bank neighbours for the re-weighting (PatchCore / anomalib: 9). */
  neighbours: number;
  score: ImageScoreRule;
  /** Bank items per distance MatMul in the head: the largest intermediate is [N, positions, chunk]. */
  chunk: number;
  storage: 'float32' | 'float16';
  seed: number;
}

export type NearestPatchSettings = Omit<NearestPatchFitOptions, keyof FitBaseOptions>;

/** Defaults of `inspectd fit --method nearest-patch` (docs/recipes.md "Nearest-patch recipes" has the measurements). */
export const NEAREST_PATCH_DEFAULTS: NearestPatchSettings = {
  bank: 8000,
  coreset: 0.01,
  // All patches of up to 1020 images at 14x14 (s16 levels), which beat a sample on magnetic_tile (docs/recipes.md).
  pool: 200_000,
  projection: 128,
  neighbours: 9,
  // Measured: the max of the blurred map beat PatchCore's re-weighting on magnetic_tile (95.81 vs 94.30),
  // tied on mpdd_metal_plate, and it is the map the defect regions come from.
  score: 'max',
  chunk: 1024,
  storage: 'float32',
  seed: 7,
};

const ROWS = 'patch_rows';
const PROJECTED = 'patch_projected';

const advice = (o: NearestPatchFitOptions): FewImagesAdvice => ({
  need: `a nearest-patch fit wants at least ${o.minImages}`,
  fix: 'add good images (every normal variation the line shows), or lower --min-images (at your own risk)',
});

/** fit --method nearest-patch: good images -> a memory bank of normal patches (coreset) -> recipe folder. */
export async function fitNearestPatch(o: NearestPatchFitOptions, log: Logger): Promise<Manifest> {
  const timings = new FitTimings();
  const start = await startFit(o, log, advice(o));
  const { bb, files, tiles } = start;
  const grid = {
    channels: bb.levels.reduce((a, l) => a + l.channels, 0),
    height: bb.levels[0].height,
    width: bb.levels[0].width,
  };
  const P = grid.height * grid.width;
  // A sample is one model input: an image, or one tile of an image (every tile's patches are candidates).
  const samples = files.length * tiles;
  const perSample = Math.min(P, Math.ceil(o.pool / samples));
  const what = tiles > 1 ? `${samples} tiles of ${files.length} images` : `${files.length} images`;
  log.info(
    { levels: bb.levels, grid, images: files.length, samples, perImage: perSample },
    `fitting nearest-patch on ${what}: ${grid.channels}-channel patches on a ${grid.height}x${grid.width} grid, ${perSample} candidates per ${tiles > 1 ? 'tile' : 'image'}`,
  );

  // 1. Candidate patches (full features and their projection), a seeded random subset of each image's.
  let t = performance.now();
  const skipped: SkippedImage[] = [];
  const pool = await collectPatches(start, grid.channels, P, perSample, o, log, skipped);
  timings.lap('features', t);
  if (pool.images < o.minImages) throw tooFewImages(o, pool.images, skipped.length, advice(o));

  // 2. Greedy coreset on the projection, then the bank = the selected patches' full features.
  t = performance.now();
  const wanted = o.bank ?? Math.max(1, Math.round(o.coreset * pool.samples * P));
  if (wanted > pool.count) {
    log.warn(
      { wanted, candidates: pool.count },
      `a bank of ${wanted} needs more candidates than the ${pool.count} collected: the bank is all of them (raise --pool for a coreset)`,
    );
  }
  const rng = mulberry32(o.seed);
  // A bank of every candidate needs no selection (the greedy pass would take one step per candidate).
  const { indices, radius } =
    wanted >= pool.count
      ? { indices: Int32Array.from({ length: pool.count }, (_, i) => i), radius: Float32Array.of(0) }
      : await coresetByOnnx(pool, o.projection, wanted, rng, o.session.threads);
  const C = grid.channels;
  const bank: MemoryBank = { size: indices.length, dim: C, data: new Float32Array(indices.length * C) };
  indices.forEach((row, i) => bank.data.set(pool.rows.subarray(row * C, (row + 1) * C), i * C));
  timings.lap('coreset', t);
  const coverage = Math.sqrt(radius[radius.length - 1]);
  log.info(
    { bank: bank.size, candidates: pool.count, projectedRadius: coverage },
    `memory bank: ${bank.size} of ${pool.count} candidate patches (greedy coreset; farthest candidate at ${coverage.toFixed(3)} in the projection)`,
  );

  // 3. Each bank item's nearest bank items, for the re-weighted image score.
  if (o.score === 'reweighted') {
    t = performance.now();
    bank.k = Math.min(o.neighbours, bank.size);
    bank.neighbours = await bankNeighbours(bank, bank.k, o.chunk, o.session.threads);
    timings.lap('neighbours', t);
  }

  // 4. The recipe model: backbone + locally aware features + nearest-patch head + map tail; then the threshold.
  const b = new GraphBuilder(bb.opset);
  const features = locallyAwareFeatures(
    b,
    bb.levels.map((l) => l.name),
  );
  const head = nearestPatchHead(b, features, grid, bank, { chunk: o.chunk, storage: o.storage });
  mapToOutputs(b, head.map, bb.inputName, o.blurSigma);
  if (head.reweighted) replaceImageScore(b, head.reweighted);
  // The threshold pass scores in batches of at most 16, as eval does: the head's largest intermediate is
  // [batch, positions, chunk] floats (822 MB at 64 x 3136 x 1024).
  return finishRecipe(
    { ...o, batchSize: Math.min(o.batchSize, 16) },
    {
      start,
      head: b,
      params: {
        layers: bb.levels.map((l) => l.name),
        channels: C,
        grid: [grid.height, grid.width],
        featureKernel: 3,
        bankSize: bank.size,
        candidates: pool.count,
        candidatesPerImage: perSample, // per model input: per tile with --tile
        trainingPatches: pool.samples * P,
        projection: o.projection,
        projectedRadius: coverage,
        score: o.score,
        neighbours: bank.k ?? null,
        chunk: o.chunk,
        storage: o.storage,
        seed: o.seed,
        blurSigma: o.blurSigma,
      },
      used: pool.images,
      skipped,
      timings,
    },
    log,
  );
}

interface PatchPool {
  /** [count, C] full features. */
  rows: Float32Array;
  /** [count, projection] the same patches projected. */
  projected: Float32Array;
  count: number;
  /** Model inputs the candidates come from: images, or tiles of them. */
  samples: number;
  images: number;
}

async function collectPatches(
  start: FitStart,
  C: number,
  P: number,
  perSample: number,
  o: NearestPatchFitOptions,
  log: Logger,
  skipped: SkippedImage[],
): Promise<PatchPool> {
  const D = o.projection;
  const b = new GraphBuilder(start.bb.opset);
  const rows = patchRows(
    b,
    locallyAwareFeatures(
      b,
      start.bb.levels.map((l) => l.name),
    ),
    C,
  );
  b.opNamed(ROWS, 'Identity', [rows]);
  // The projection runs inside onnxruntime, for every position of the batch at once.
  b.opNamed(PROJECTED, 'MatMul', [rows, b.float32('projection', [C, D], projectionMatrix(C, D, o.seed))]);
  const capacity = perSample * start.files.length * start.tiles;
  const pool: PatchPool = {
    rows: new Float32Array(capacity * C),
    projected: new Float32Array(capacity * D),
    count: 0,
    samples: 0,
    images: 0,
  };
  const rng = mulberry32(o.seed + 1);
  const order = Int32Array.from({ length: P }, (_, i) => i);
  pool.images = await streamBatches(
    start,
    b,
    [
      { name: ROWS, dims: ['N', P, C] },
      { name: PROJECTED, dims: ['N', P, D] },
    ],
    o,
    log,
    skipped,
    async (run, n) => {
      const out = await run();
      const r = out[ROWS].data as Float32Array;
      const p = out[PROJECTED].data as Float32Array;
      for (let img = 0; img < n; img++) {
        // A partial Fisher-Yates shuffle: the first perSample entries are a uniform random subset.
        for (let i = 0; i < perSample; i++) {
          const j = i + Math.floor(rng() * (P - i));
          [order[i], order[j]] = [order[j], order[i]];
          const pos = img * P + order[i];
          pool.rows.set(r.subarray(pos * C, (pos + 1) * C), pool.count * C);
          pool.projected.set(p.subarray(pos * D, (pos + 1) * D), pool.count * D);
          pool.count++;
        }
      }
      pool.samples += n;
    },
  );
  return pool;
}

/**
 * The greedy coreset with its distances from onnxruntime: one matrix-vector product over the projected
 * candidates per pick (about 10x the speed of a JavaScript loop, and multi-threaded).
 */
async function coresetByOnnx(
  pool: PatchPool,
  D: number,
  count: number,
  rng: () => number,
  threads: number,
): Promise<{ indices: Int32Array; radius: Float32Array }> {
  const n = pool.count;
  const x = pool.projected;
  const b = new GraphBuilder(13);
  const [all] = bankInitializers(b, { size: n, dim: D, data: x }, n, 'float32').chunks;
  b.opNamed('partial', 'Identity', [partialSquaredDistances(b, 'centre', all)]);
  const session = await fragmentSession(
    b,
    [{ name: 'centre', dims: [1, D] }],
    [{ name: 'partial', dims: [1, n] }],
    threads,
  );
  try {
    return await greedyCoreset(n, count, Math.floor(rng() * n), async (c, out) => {
      const centre = x.subarray(c * D, (c + 1) * D);
      let cn = 0;
      for (let j = 0; j < D; j++) cn += centre[j] * centre[j];
      const r = await session.run({ centre: new ort.Tensor('float32', centre, [1, D]) });
      const partial = r.partial.data as Float32Array;
      for (let i = 0; i < n; i++) out[i] = partial[i] + cn;
    });
  } finally {
    await session.release();
  }
}

/** An onnxruntime CPU session on a graph fragment built here (fit-time helpers, never written to disk). */
async function fragmentSession(
  b: GraphBuilder,
  inputs: GraphOutput[],
  outputs: GraphOutput[],
  threads: number,
): Promise<ort.InferenceSession> {
  const model = modelFromFragment(b, inputs, outputs);
  return ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    executionProviders: ['cpu'],
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
  });
}

/** Each bank item's k nearest bank items (itself first), computed by onnxruntime in blocks of rows. */
async function bankNeighbours(
  bank: MemoryBank,
  k: number,
  chunk: number,
  threads: number,
): Promise<Int32Array> {
  const b = new GraphBuilder(13);
  const idx = nearestBankItems(b, 'rows', bankInitializers(b, bank, chunk, 'float32'), k);
  b.opNamed('neighbours', 'Cast', [idx], { to: onnx.TensorProto.DataType.FLOAT });
  const session = await fragmentSession(
    b,
    [{ name: 'rows', dims: ['R', bank.dim] }],
    [{ name: 'neighbours', dims: ['R', k] }],
    threads,
  );
  const out = new Int32Array(bank.size * k);
  try {
    const block = 512;
    for (let from = 0; from < bank.size; from += block) {
      const n = Math.min(block, bank.size - from);
      const rows = bank.data.subarray(from * bank.dim, (from + n) * bank.dim);
      const r = await session.run({ rows: new ort.Tensor('float32', rows, [n, bank.dim]) });
      const v = r.neighbours.data as Float32Array;
      for (let i = 0; i < v.length; i++) out[from * k + i] = Math.round(v[i]);
    }
  } finally {
    await session.release();
  }
  return out;
}
