import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { InspectdError } from '../../core/errors.js';
import { DEFECT_KINDS, hashSeed, renderPart, type DefectKind } from './render.js';

export interface SimDatasetOptions {
  width: number;
  height: number;
  /** Good training images (train/good). */
  trainGood: number;
  /** Good test images (test/good). */
  testGood: number;
  /** Defective test images per defect kind (test/<kind>, with ground_truth/<kind>/<stem>_mask.png). */
  testDefectsPerKind: number;
  seed: number;
  /** Defect kinds to write (default: all of DEFECT_KINDS). */
  kinds?: readonly DefectKind[];
}

/** Salts that keep the train, test-good and each defect kind's frames on distinct seeds. */
const TRAIN = 0x7472;
const TEST_GOOD = 0x7465;
const TEST_DEFECT = 0x7464;

interface Job {
  file: string;
  maskFile?: string;
  seed: number;
  defect?: DefectKind;
}

const stem = (i: number, n: number): string => String(i).padStart(Math.max(3, String(n - 1).length), '0');

/**
 * Writes a synthetic dataset of the sim camera's part in MVTec AD layout:
 * `train/good/000.png`, `test/good/*.png`, `test/<kind>/*.png`, `ground_truth/<kind>/<stem>_mask.png`
 * (0/255, the image's size). Deterministic from `seed`; test frames never reuse a training frame's seed.
 */
export async function writeSimDataset(dir: string, opts: SimDatasetOptions): Promise<{ files: number }> {
  for (const key of ['trainGood', 'testGood', 'testDefectsPerKind'] as const) {
    const n = opts[key];
    if (!Number.isInteger(n) || n < 0)
      throw new InspectdError(`sim dataset: ${key} = ${n} is not a count`, {
        subject: key,
        value: n,
        fix: `pass ${key} as an integer >= 0`,
      });
  }
  for (const key of ['width', 'height'] as const) {
    const n = opts[key];
    if (!Number.isInteger(n) || n < 16 || n > 8192)
      throw new InspectdError(`sim dataset: ${key} = ${n} is not an image size`, {
        subject: key,
        value: n,
        fix: `pass ${key} as an integer from 16 to 8192`,
      });
  }
  const kinds = opts.kinds ?? DEFECT_KINDS;
  const jobs: Job[] = [];
  for (let i = 0; i < opts.trainGood; i++)
    jobs.push({
      file: path.join(dir, 'train', 'good', `${stem(i, opts.trainGood)}.png`),
      seed: hashSeed(opts.seed, TRAIN, i),
    });
  for (let i = 0; i < opts.testGood; i++)
    jobs.push({
      file: path.join(dir, 'test', 'good', `${stem(i, opts.testGood)}.png`),
      seed: hashSeed(opts.seed, TEST_GOOD, i),
    });
  for (const kind of kinds) {
    const k = DEFECT_KINDS.indexOf(kind);
    for (let i = 0; i < opts.testDefectsPerKind; i++) {
      const s = stem(i, opts.testDefectsPerKind);
      jobs.push({
        file: path.join(dir, 'test', kind, `${s}.png`),
        maskFile: path.join(dir, 'ground_truth', kind, `${s}_mask.png`),
        seed: hashSeed(opts.seed, TEST_DEFECT, k, i),
        defect: kind,
      });
    }
  }
  const dirs = new Set(
    jobs.flatMap((j) => [path.dirname(j.file), ...(j.maskFile ? [path.dirname(j.maskFile)] : [])]),
  );
  for (const d of dirs) await mkdir(d, { recursive: true });

  const { width, height } = opts;
  let files = 0;
  const write = async (job: Job): Promise<void> => {
    const { rgb, mask } = renderPart({ seed: job.seed, width, height, defect: job.defect });
    await sharp(rgb, { raw: { width, height, channels: 3 } })
      .png()
      .toFile(job.file);
    files++;
    if (job.maskFile) {
      const m = Buffer.alloc(width * height);
      for (let i = 0; i < m.length; i++) m[i] = mask[i] ? 255 : 0;
      await sharp(m, { raw: { width, height, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(job.maskFile);
      files++;
    }
  };
  // A few encodes in flight keep libvips' threads busy without holding every frame in memory.
  const parallel = 4;
  for (let i = 0; i < jobs.length; i += parallel) await Promise.all(jobs.slice(i, i + parallel).map(write));
  return { files };
}
