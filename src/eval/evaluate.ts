import type { Logger } from 'pino';
import { RecipeModel } from '../recipe/recipeModel.js';
import type { SessionOptions } from '../inference/session.js';
import { Progress } from '../log/progress.js';
import type { SkippedImage } from '../preprocess/batches.js';
import { scoreFiles } from '../recipe/scoreFiles.js';
import { GOOD, readMvtecDataset, type LabelledImage } from './dataset.js';
import { loadMask } from './masks.js';
import { auPro, auroc, confusionAt, type Confusion } from './metrics/index.js';

export interface Metrics {
  images: number;
  defective: number;
  image_auroc: number | null;
  pixel_auroc: number | null;
  au_pro: number | null;
  /** At the recipe's threshold; null without defective images (F1 is undefined then). */
  f1: number | null;
  confusion: Confusion;
}

export interface EvaluatedImage extends LabelledImage {
  score: number;
  verdict: 'OK' | 'NG';
}

export interface EvalResult {
  recipe: string;
  dataset: string;
  threshold: number;
  provider: string;
  overall: Metrics;
  perType: Record<string, Metrics>;
  images: EvaluatedImage[];
  /** Maps and masks stay in memory for overlays; the JSON report leaves them out. */
  maps: Map<string, Float32Array>;
  masks: Map<string, Uint8Array>;
  skipped: SkippedImage[];
  defectsWithoutMask: number;
  timings: { modelMsPerImage: number; totalMsPerImage: number; seconds: number };
}

const nullIfNaN = (v: number): number | null => (Number.isNaN(v) ? null : v);

/** Scores every test image of an MVTec-layout dataset and measures image and pixel metrics. */
export async function evaluateRecipe(
  recipeDir: string,
  datasetDir: string,
  opts: { batchSize: number; session: SessionOptions; log: Logger },
): Promise<EvalResult> {
  const { log } = opts;
  const dataset = readMvtecDataset(datasetDir);
  const t0 = performance.now();
  const model = await RecipeModel.load(recipeDir, opts.session, log);
  const { mapWidth: W, mapHeight: H } = model.manifest.outputs;
  const threshold = model.manifest.threshold.value;
  const byFile = new Map(dataset.map((d) => [d.file, d]));
  const progress = new Progress('scoring test images', dataset.length, log);
  const { scored, skipped, modelSeconds } = await scoreFiles(
    model,
    dataset.map((d) => d.file),
    { batchSize: opts.batchSize, keepMaps: true, log, progress },
  ).finally(() => model.close());

  const images: EvaluatedImage[] = scored.map((s) => ({
    ...byFile.get(s.file)!,
    score: s.score,
    verdict: s.score > threshold ? 'NG' : 'OK',
  }));
  const maps = new Map(scored.map((s) => [s.file, s.map!]));
  const masks = new Map<string, Uint8Array>();
  const empty = new Uint8Array(W * H);
  let defectsWithoutMask = 0;
  for (const img of images) {
    if (img.label === 0) masks.set(img.file, empty);
    else if (img.maskFile) masks.set(img.file, await loadMask(img.maskFile, W, H));
    else defectsWithoutMask++;
  }
  if (defectsWithoutMask)
    log.warn(
      { defectsWithoutMask },
      `${defectsWithoutMask} defective images have no ground-truth mask: they count for image metrics only`,
    );

  const measure = (subset: EvaluatedImage[]): Metrics => {
    const withMask = subset.filter((i) => masks.has(i.file));
    const pixelMaps = withMask.map((i) => maps.get(i.file)!);
    const pixelMasks = withMask.map((i) => masks.get(i.file)!);
    const hasDefectPixels = pixelMasks.some((m) => m !== empty && m.some((v) => v !== 0));
    const confusion = confusionAt(
      subset.map((i) => i.score),
      subset.map((i) => i.label),
      threshold,
    );
    return {
      images: subset.length,
      defective: subset.filter((i) => i.label === 1).length,
      image_auroc: nullIfNaN(
        auroc(
          subset.map((i) => i.score),
          subset.map((i) => i.label),
        ),
      ),
      pixel_auroc: hasDefectPixels ? nullIfNaN(pixelAuroc(pixelMaps, pixelMasks)) : null,
      au_pro: hasDefectPixels ? nullIfNaN(auPro(pixelMaps, pixelMasks, W, H, 0.3)) : null,
      f1: subset.some((i) => i.label === 1) ? confusion.f1 : null,
      confusion,
    };
  };

  const types = [...new Set(images.map((i) => i.type))].filter((t) => t !== GOOD).sort();
  const good = images.filter((i) => i.type === GOOD);
  const perType: Record<string, Metrics> = { [GOOD]: measure(good) };
  for (const t of types) perType[t] = measure([...good, ...images.filter((i) => i.type === t)]);
  const overall = measure(images);
  const seconds = (performance.now() - t0) / 1000;
  return {
    recipe: recipeDir,
    dataset: datasetDir,
    threshold,
    provider: model.provider,
    overall,
    perType,
    images,
    maps,
    masks,
    skipped,
    defectsWithoutMask,
    timings: {
      modelMsPerImage: (modelSeconds * 1000) / Math.max(1, scored.length),
      totalMsPerImage: (seconds * 1000) / Math.max(1, scored.length),
      seconds,
    },
  };
}

/** Pixel AUROC over every pixel of every map (the reference subsamples every 4th; we do not). */
function pixelAuroc(maps: Float32Array[], masks: Uint8Array[]): number {
  const n = maps.reduce((a, m) => a + m.length, 0);
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  let o = 0;
  maps.forEach((m, i) => {
    scores.set(m, o);
    labels.set(masks[i], o);
    o += m.length;
  });
  return auroc(scores, labels);
}
