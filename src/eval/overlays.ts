import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { heatScale, overlayHeatmap } from '../core/heatmap.js';
import { decodeImageFile } from '../preprocess/image.js';
import type { EvalResult, EvaluatedImage } from './evaluate.js';

/**
 * PNGs of the images a user should look at first: the defective images scored lowest below the threshold
 * (worst misses) and the good images scored highest above it (worst false alarms). Each shows the image,
 * the anomaly map blended over it, and the ground-truth outline in green.
 * Colour scale: blue at half the lowest good training score, red at 1.5x the threshold, the same for every
 * overlay so they compare at a glance.
 */
export async function writeOverlays(
  r: EvalResult,
  dir: string,
  count: number,
  calibrationMin: number,
  spec: { width: number; height: number },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const misses = r.images
    .filter((i) => i.label === 1 && i.verdict === 'OK')
    .sort((a, b) => a.score - b.score)
    .slice(0, count);
  const alarms = r.images
    .filter((i) => i.label === 0 && i.verdict === 'NG')
    .sort((a, b) => b.score - a.score)
    .slice(0, count);
  const { lo, hi } = heatScale(r.threshold, calibrationMin);
  const written: string[] = [];
  const draw = async (img: EvaluatedImage, kind: string, rank: number): Promise<void> => {
    const { width: W, height: H } = spec;
    const decoded = await decodeImageFile(img.file, {
      name: 'input',
      width: W,
      height: H,
      channels: 3,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch-linear-front',
    });
    const map = r.maps.get(img.file)!;
    const mask = r.masks.get(img.file);
    const px = overlayHeatmap({ data: decoded.data, width: W, height: H, channels: 3 }, map, lo, hi);
    if (mask) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const i = y * W + x;
          if (!mask[i]) continue;
          const edge =
            x === 0 ||
            y === 0 ||
            x === W - 1 ||
            y === H - 1 ||
            !mask[i - 1] ||
            !mask[i + 1] ||
            !mask[i - W] ||
            !mask[i + W];
          if (edge) px.set([0, 255, 0], i * 3);
        }
      }
    }
    const side = Buffer.alloc(W * H * 3);
    decoded.data.copy(side);
    const name = `${kind}-${String(rank + 1).padStart(2, '0')}-${img.type}-${path.parse(img.file).name}-score${img.score.toFixed(3)}.png`;
    const file = path.join(dir, name);
    // Left: the image as the model saw it; right: heatmap + outline.
    await sharp({ create: { width: 2 * W, height: H, channels: 3, background: '#000' } })
      .composite([
        { input: side, raw: { width: W, height: H, channels: 3 }, left: 0, top: 0 },
        { input: px, raw: { width: W, height: H, channels: 3 }, left: W, top: 0 },
      ])
      .png()
      .toFile(file);
    written.push(file);
  };
  for (const [i, img] of misses.entries()) await draw(img, 'miss', i);
  for (const [i, img] of alarms.entries()) await draw(img, 'false-alarm', i);
  return written;
}
