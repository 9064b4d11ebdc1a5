import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DATASETS } from './paths.js';

export const tempDir = (prefix: string): string => mkdtempSync(path.join(os.tmpdir(), `inspectd-${prefix}-`));

/**
 * A folder of `count` real good images (MPDD metal plate, from ../shared), shrunk to `size` px so fits in
 * tests take seconds. Lives in a temp folder only: derivatives of shared data never enter the repository.
 */
export async function goodImagesFolder(count: number, size = 96): Promise<string> {
  const src = path.join(DATASETS, 'mpdd_metal_plate', 'train', 'good');
  const dir = path.join(tempDir('good'), 'good');
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(src).sort().slice(0, count);
  await Promise.all(
    names.map((n) => sharp(path.join(src, n)).resize(size, size).png().toFile(path.join(dir, n))),
  );
  return dir;
}

/** A small MVTec-layout dataset in a temp folder: `perType` good and defective MPDD test images with masks. */
export async function smallDataset(perType: number): Promise<string> {
  const { copyFileSync } = await import('node:fs');
  const src = path.join(DATASETS, 'mpdd_metal_plate');
  const dir = path.join(tempDir('dataset'), 'mpdd_small');
  for (const type of ['good', 'defect']) {
    mkdirSync(path.join(dir, 'test', type), { recursive: true });
    for (const n of readdirSync(path.join(src, 'test', type))
      .sort()
      .slice(0, perType)) {
      copyFileSync(path.join(src, 'test', type, n), path.join(dir, 'test', type, n));
      if (type === 'defect') {
        mkdirSync(path.join(dir, 'ground_truth', type), { recursive: true });
        const mask = `${path.parse(n).name}_mask.png`;
        copyFileSync(path.join(src, 'ground_truth', type, mask), path.join(dir, 'ground_truth', type, mask));
      }
    }
  }
  return dir;
}
