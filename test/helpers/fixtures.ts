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
