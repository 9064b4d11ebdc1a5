import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImageFile } from '../preprocess/image.js';
import type { EvalResult, EvaluatedImage } from './evaluate.js';

/** Jet-like colour ramp, 0 = blue, 1 = red. */
function heatColour(t: number): [number, number, number] {
  const c = (x: number): number => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

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
  const lo = calibrationMin / 2;
  const hi = Math.max(r.threshold * 1.5, lo + 1e-6);
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
      resize: 'stretch-bilinear',
    });
    const map = r.maps.get(img.file)!;
    const mask = r.masks.get(img.file);
    const px = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      const [hr, hg, hb] = heatColour((map[i] - lo) / (hi - lo));
      px[i * 3] = Math.round(0.55 * decoded.data[i * 3] + 0.45 * hr);
      px[i * 3 + 1] = Math.round(0.55 * decoded.data[i * 3 + 1] + 0.45 * hg);
      px[i * 3 + 2] = Math.round(0.55 * decoded.data[i * 3 + 2] + 0.45 * hb);
    }
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
