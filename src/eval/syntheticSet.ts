import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { InspectdError } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { listImages } from '../preprocess/imageFiles.js';
import type { Manifest } from '../recipe/manifest.js';
import { GOOD } from './dataset.js';
import { SYNTHETIC_KINDS, synthesizeDefect, type Rgb } from './synthetic.js';

export interface SyntheticSetOptions {
  /** Good images of the category (files). */
  images: readonly string[];
  /** How many synthetic defects to make. */
  count: number;
  seed: number;
  /** Folder to write the set into, in MVTec layout. */
  out: string;
  log: Logger;
}

async function readRgb(file: string): Promise<Rgb> {
  const { data, info } = await sharp(file, { failOn: 'truncated' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * A validation set from a category's own good images, in MVTec layout: half of them (shuffled by `seed`) as
 * test/good, the other half as the parts that get synthetic defects (`synthetic.ts`, the kinds in turn), each
 * written as test/synthetic_<kind>/<name>.png with ground_truth/synthetic_<kind>/<name>_mask.png. Model
 * choices are made on such a set, never on a dataset's test images.
 */
export async function writeSyntheticSet(o: SyntheticSetOptions): Promise<{ good: number; defects: number }> {
  if (o.images.length < 2) {
    throw new InspectdError(`a synthetic set needs at least 2 good images, got ${o.images.length}`, {
      subject: 'images',
      value: o.images.length,
      fix: 'pass a folder with more good images (--images DIR)',
    });
  }
  const rng = mulberry32(o.seed);
  const order = [...o.images];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const half = Math.floor(order.length / 2);
  const good = order.slice(0, half);
  const bases = order.slice(half);
  await mkdir(path.join(o.out, 'test', GOOD), { recursive: true });
  for (const f of good) await copyFile(f, path.join(o.out, 'test', GOOD, path.basename(f)));
  for (const kind of SYNTHETIC_KINDS) {
    await mkdir(path.join(o.out, 'test', `synthetic_${kind}`), { recursive: true });
    await mkdir(path.join(o.out, 'ground_truth', `synthetic_${kind}`), { recursive: true });
  }
  for (let i = 0; i < o.count; i++) {
    const base = bases[i % bases.length];
    const kind = SYNTHETIC_KINDS[i % SYNTHETIC_KINDS.length];
    const img = await readRgb(base);
    const other = await readRgb(bases[(i + 1) % bases.length]);
    const d = synthesizeDefect(img, other, kind, o.seed * 100_003 + i);
    const name = `${path.parse(base).name}_${String(i).padStart(4, '0')}`;
    const raw = { width: img.width, height: img.height };
    await sharp(d.image.data, { raw: { ...raw, channels: 3 } })
      .png()
      .toFile(path.join(o.out, 'test', `synthetic_${kind}`, `${name}.png`));
    await sharp(Buffer.from(d.mask.map((m) => (m ? 255 : 0))), { raw: { ...raw, channels: 1 } })
      .png()
      .toFile(path.join(o.out, 'ground_truth', `synthetic_${kind}`, `${name}_mask.png`));
  }
  o.log.info(
    { out: o.out, good: good.length, defects: o.count },
    `synthetic set in ${o.out}: ${good.length} good images, ${o.count} synthetic defects (${SYNTHETIC_KINDS.join(', ')})`,
  );
  return { good: good.length, defects: o.count };
}

/**
 * The good images a synthetic set is made from: the given folder; else the recipe's held-out images (never
 * fitted on); else its training folder, with a warning that its good images then score lower than new parts.
 */
export async function syntheticBases(
  manifest: Manifest,
  dir: string | undefined,
  log: Logger,
): Promise<string[]> {
  if (dir) return listImages(dir, 'good image folder');
  const { trainImages, holdoutImages } = manifest.provenance;
  if (holdoutImages?.length) return holdoutImages.map((n) => path.join(trainImages.dir, n));
  log.warn(
    { dir: trainImages.dir },
    `recipe ${manifest.name} was fitted on every image of ${trainImages.dir}: its good images score lower than new parts would, so the false-alarm side looks better than it is; fit with --holdout F, or pass --images DIR with good images it has not seen`,
  );
  return listImages(trainImages.dir, 'training image folder');
}
