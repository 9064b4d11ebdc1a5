import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { GaussianEstimate, MomentAccumulator } from './moments.js';

/**
 * The per-position inversions split over worker threads (3136 Cholesky inverses of 152x152 take ~6 s on
 * one core). Each worker gets a contiguous range of positions and writes into shared output buffers.
 */
export async function estimateInParallel(
  acc: MomentAccumulator,
  eps: number,
  threads = os.availableParallelism(),
): Promise<GaussianEstimate & { failedPositions: number[] }> {
  const sums = acc.sums();
  const { positions: P, channels: C } = sums;
  if (threads <= 1) return acc.finalize(eps);
  const out: GaussianEstimate = {
    mean: new Float32Array(new SharedArrayBuffer(P * C * 4)),
    precision: new Float32Array(new SharedArrayBuffer(P * C * C * 4)),
  };
  const per = Math.ceil(P / threads);
  const ranges = Array.from({ length: threads }, (_, i) => [i * per, Math.min(P, (i + 1) * per)]).filter(
    ([a, b]) => a < b,
  );
  const failed = await Promise.all(
    ranges.map(
      ([from, to]) =>
        new Promise<number[]>((resolve, reject) => {
          const w = new Worker(new URL('./estimateWorker.js', import.meta.url), {
            workerData: { sums, out, eps, from, to },
          });
          w.once('message', resolve);
          w.once('error', reject);
          w.once(
            'exit',
            (code) => code !== 0 && reject(new Error(`covariance worker exited with code ${code}`)),
          );
        }),
    ),
  );
  return { ...out, failedPositions: failed.flat() };
}
