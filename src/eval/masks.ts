import sharp from 'sharp';
import { InspectdError, messageOf } from '../core/errors.js';

/** A ground-truth mask at the map's size: 1 where the defect is (nearest-neighbour resize keeps it binary). */
export async function loadMask(file: string, width: number, height: number): Promise<Uint8Array> {
  try {
    const { data } = await sharp(file, { failOn: 'truncated' })
      .greyscale()
      .resize(width, height, { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const out = new Uint8Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = data[i] > 127 ? 1 : 0;
    return out;
  } catch (e) {
    throw new InspectdError(`ground-truth mask ${file} cannot be read: ${messageOf(e)}`, {
      subject: file,
      fix: 'replace the mask with a binary 0/255 PNG the size of its image',
    });
  }
}
