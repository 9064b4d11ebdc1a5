import type { Logger } from 'pino';
import { isInspectdError, messageOf } from '../core/errors.js';
import type { InputSpec } from '../core/inputSpec.js';
import { onceFor } from '../log/logger.js';
import { decodeImageFile, toNormalizedChw, type DecodedImage } from './image.js';
import type { PixelBatch } from './frame.js';

export interface ImageBatch<T> {
  /** Files in the batch, in tensor order. */
  files: string[];
  /** The batch as the model takes it (see `asFloat`, `asPixels`). */
  data: T;
  n: number;
}

/** How decoded images (all at the recipe's size) are packed into one batch. */
export type Pack<T> = (images: readonly DecodedImage[], spec: InputSpec) => T;

/** [n,C,H,W] normalized float: what a bare backbone takes (fit). */
export const asFloat: Pack<Float32Array> = (images, spec) => {
  const plane = spec.width * spec.height * spec.channels;
  const out = new Float32Array(images.length * plane);
  images.forEach((d, i) => toNormalizedChw(d, spec, out, i * plane));
  return out;
};

/** [n,H,W,C] 8-bit: what a recipe with its pixel front takes. */
export const asPixels: Pack<PixelBatch> = (images, spec) => ({
  data: Buffer.concat(images.map((d) => d.data)),
  n: images.length,
  height: spec.height,
  width: spec.width,
  channels: spec.channels,
});

export interface SkippedImage {
  file: string;
  reason: string;
}

/**
 * Decodes files into model-ready batches. An image that cannot be read is skipped with a warning that names
 * it (and recorded in `skipped`), never fatal: one bad file must not sink a fit or an evaluation.
 * The next batch is decoded while the caller runs the model on the current one.
 */
export async function* imageBatches<T>(
  files: readonly string[],
  spec: InputSpec,
  batchSize: number,
  log: Logger,
  skipped: SkippedImage[],
  pack: Pack<T>,
): AsyncGenerator<ImageBatch<T>> {
  const once = onceFor(log);
  const decode = async (start: number): Promise<ImageBatch<T>> => {
    const chunk = files.slice(start, start + batchSize);
    const decoded = await Promise.all(
      chunk.map((f) =>
        decodeImageFile(f, spec).catch((e: unknown) => {
          const reason = isInspectdError(e) ? e.message : messageOf(e);
          log.warn({ file: f, err: reason }, `skipping ${f}: ${reason}`);
          skipped.push({ file: f, reason });
          return undefined;
        }),
      ),
    );
    const ok = decoded.flatMap((d, i) => (d ? [{ d, f: chunk[i] }] : []));
    for (const { d, f } of ok) {
      const o = d.original;
      if (o.width !== spec.width || o.height !== spec.height) {
        once.info(
          'resize',
          { file: f, from: `${o.width}x${o.height}`, to: `${spec.width}x${spec.height}` },
          `images are resized to the recipe's ${spec.width}x${spec.height} (first: ${f}, ${o.width}x${o.height})`,
        );
      }
      if (o.channels !== spec.channels) {
        once.info(
          `channels-${o.channels}`,
          { file: f, channels: o.channels },
          `images with ${o.channels} channel(s) are converted to ${spec.channels === 3 ? 'RGB' : 'gray'} (first: ${f})`,
        );
      }
    }
    return {
      files: ok.map((x) => x.f),
      data: pack(
        ok.map((x) => x.d),
        spec,
      ),
      n: ok.length,
    };
  };
  let next = files.length ? decode(0) : undefined;
  for (let start = 0; next; start += batchSize) {
    const current = await next;
    next = start + batchSize < files.length ? decode(start + batchSize) : undefined;
    if (current.n) yield current;
  }
}
