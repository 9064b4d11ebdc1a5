import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InspectdError } from '../core/errors.js';
import { isImageFile } from '../preprocess/imageFiles.js';

export interface LabelledImage {
  file: string;
  /** 'good' or the defect type (the folder name). */
  type: string;
  /** 1 = defective. */
  label: 0 | 1;
  /** Ground-truth mask, when the dataset has one for this image. */
  maskFile?: string;
}

export const GOOD = 'good';

const LAYOUT =
  '<dataset>/test/good/*.png|jpg, <dataset>/test/<defect type>/*, optional <dataset>/ground_truth/<defect type>/<stem>_mask.png';

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/**
 * Reads a dataset in MVTec AD layout. Fails naming what is missing, the layout expected, and what the
 * folder holds instead, so a wrong path is obvious at once.
 */
export function readMvtecDataset(dir: string): LabelledImage[] {
  if (!isDir(dir)) {
    throw new InspectdError(`dataset folder ${dir} does not exist`, {
      subject: dir,
      fix: `pass a folder in MVTec layout: ${LAYOUT}`,
    });
  }
  const testDir = path.join(dir, 'test');
  if (!isDir(testDir)) {
    const has = readdirSync(dir).slice(0, 10).join(', ') || '(empty)';
    throw new InspectdError(
      `dataset ${dir} is not in MVTec layout: it has no test/ folder (it has: ${has})`,
      {
        subject: dir,
        fix: `arrange it as ${LAYOUT}`,
      },
    );
  }
  const types = readdirSync(testDir)
    .filter((t) => isDir(path.join(testDir, t)))
    .sort();
  if (!types.includes(GOOD) || types.length < 2) {
    throw new InspectdError(
      `dataset ${dir} is not in MVTec layout: test/ needs a good/ folder and at least one defect folder (it has: ${types.join(', ') || 'no folders'})`,
      {
        subject: testDir,
        fix: `arrange it as ${LAYOUT}`,
      },
    );
  }
  const gtDir = path.join(dir, 'ground_truth');
  const images: LabelledImage[] = [];
  for (const type of types) {
    const files = readdirSync(path.join(testDir, type)).filter(isImageFile).sort();
    for (const name of files) {
      const file = path.join(testDir, type, name);
      if (type === GOOD) {
        images.push({ file, type, label: 0 });
        continue;
      }
      const mask = path.join(gtDir, type, `${path.parse(name).name}_mask.png`);
      images.push({ file, type, label: 1, maskFile: existsSync(mask) ? mask : undefined });
    }
  }
  if (!images.some((i) => i.label === 0) || !images.some((i) => i.label === 1)) {
    throw new InspectdError(
      `dataset ${dir} needs good and defective test images; found ${images.filter((i) => i.label === 0).length} good, ${images.filter((i) => i.label === 1).length} defective`,
      {
        subject: testDir,
        fix: `put images in ${LAYOUT}`,
      },
    );
  }
  return images;
}
