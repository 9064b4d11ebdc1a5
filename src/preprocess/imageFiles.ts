import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InspectdError, messageOf } from '../core/errors.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp'];

export const isImageFile = (name: string): boolean =>
  IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());

/** Image files directly in `dir`, sorted by name so runs are reproducible. */
export async function listImages(dir: string, what = 'image folder'): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new InspectdError(`${what} ${dir} cannot be read: ${messageOf(e)}`, {
      subject: dir,
      fix: 'pass an existing folder of images',
    });
  }
  return names
    .filter(isImageFile)
    .sort()
    .map((n) => path.join(dir, n));
}
