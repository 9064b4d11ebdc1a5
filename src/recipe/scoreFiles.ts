import type { Logger } from 'pino';
import { imagesPerCall } from '../core/tiling.js';
import type { RecipeModel } from './recipeModel.js';
import { asPixels, imageBatches, type SkippedImage } from '../preprocess/batches.js';
import type { Progress } from '../log/progress.js';

export interface ScoredImage {
  file: string;
  score: number;
  /** [mapHeight * mapWidth], present when asked for. */
  map?: Float32Array;
}

/**
 * Scores image files through a recipe in batches; unreadable files are skipped and reported. `batchSize` counts
 * model inputs: a tiled recipe's image is its tiles, so a batch holds batchSize / tiles images (at least one).
 */
export async function scoreFiles(
  model: RecipeModel,
  files: readonly string[],
  opts: { batchSize: number; keepMaps: boolean; log: Logger; progress?: Progress },
): Promise<{ scored: ScoredImage[]; skipped: SkippedImage[]; modelSeconds: number }> {
  const skipped: SkippedImage[] = [];
  const scored: ScoredImage[] = [];
  const { mapWidth, mapHeight } = model.manifest.outputs;
  const plane = mapWidth * mapHeight;
  let modelSeconds = 0;
  for await (const batch of imageBatches(
    files,
    model.manifest.input,
    imagesPerCall(opts.batchSize, model.tilesPerFrame),
    opts.log,
    skipped,
    asPixels,
  )) {
    const t0 = performance.now();
    const { scores, maps } = await model.score(batch.data);
    modelSeconds += (performance.now() - t0) / 1000;
    batch.files.forEach((file, i) => {
      scored.push({
        file,
        score: scores[i],
        map: opts.keepMaps ? maps.slice(i * plane, (i + 1) * plane) : undefined,
      });
    });
    opts.progress?.tick(batch.n);
  }
  opts.progress?.tick(skipped.length);
  return { scored, skipped, modelSeconds };
}
