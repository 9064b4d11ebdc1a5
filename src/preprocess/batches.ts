import type { Logger } from 'pino';
import { isInspectdError, messageOf } from '../core/errors.js';
import type { InputSpec } from '../core/inputSpec.js';
import { onceFor } from '../log/logger.js';
import { decodeImageFile, toNormalizedChw } from './image.js';

export interface ImageBatch {
  /** Files in the batch, in tensor order. */
  files: string[];
  /** [n,C,H,W] normalized, ready for the model. */
  tensor: Float32Array;
  n: number;
}

export interface SkippedImage {
  file: string;
  reason: string;
}

/**
 * Decodes files into model-ready batches. An image that cannot be read is skipped with a warning that names
 * it (and recorded in `skipped`), never fatal: one bad file must not sink a fit or an evaluation.
 * The next batch is decoded while the caller runs the model on the current one.
 */
export async function* imageBatches(
  files: readonly string[],
  spec: InputSpec,
  batchSize: number,
  log: Logger,
  skipped: SkippedImage[],
): AsyncGenerator<ImageBatch> {
  const once = onceFor(log);
  const plane = spec.width * spec.height * spec.channels;
  const decode = async (start: number): Promise<ImageBatch> => {
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
    const tensor = new Float32Array(ok.length * plane);
    ok.forEach(({ d, f }, i) => {
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
      toNormalizedChw(d, spec, tensor, i * plane);
    });
    return { files: ok.map((x) => x.f), tensor, n: ok.length };
  };
  let next = files.length ? decode(0) : undefined;
  for (let start = 0; next; start += batchSize) {
    const current = await next;
    next = start + batchSize < files.length ? decode(start + batchSize) : undefined;
    if (current.n) yield current;
  }
}
