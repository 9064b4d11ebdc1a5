import { invertSpd } from './linalg.js';

export interface GaussianGrid {
  channels: number;
  height: number;
  width: number;
}

/** The accumulated sums, in buffers that can be shared with worker threads. */
export interface MomentSums {
  channels: number;
  positions: number;
  count: number;
  shift: Float32Array;
  sum: Float64Array;
  outer: Float64Array;
}

export interface GaussianEstimate {
  mean: Float32Array;
  precision: Float32Array;
}

/**
 * Mean and precision (Sigma + eps I)^-1 for positions [from, to), written into `out`.
 * Sigma = (S2 - S1 S1^T / N) / (N - 1): the unbiased sample covariance, as PaDiM.
 * Pure over its buffers, so worker threads can each take a range. Returns positions that failed.
 */
export function estimatePositions(
  m: MomentSums,
  eps: number,
  from: number,
  to: number,
  out: GaussianEstimate,
): number[] {
  const C = m.channels;
  const N = m.count;
  const cov = new Float64Array(C * C);
  const work = new Float64Array(C * C);
  const failed: number[] = [];
  for (let p = from; p < to; p++) {
    const s1 = p * C;
    const s2 = p * C * C;
    for (let i = 0; i < C; i++) {
      out.mean[s1 + i] = m.shift[s1 + i] + m.sum[s1 + i] / N;
      for (let j = 0; j <= i; j++) {
        const v = (m.outer[s2 + i * C + j] - (m.sum[s1 + i] * m.sum[s1 + j]) / N) / (N - 1);
        cov[i * C + j] = v;
        cov[j * C + i] = v;
      }
      cov[i * C + i] += eps;
    }
    if (!invertSpd(cov, C, work, out.precision, s2)) failed.push(p);
  }
  return failed;
}

const shared = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(bytes);

/**
 * Streaming per-position mean and covariance: batches of moments (from the ONNX moments graph) are added
 * in float64, so no training features are ever held at once. Sums are taken about a fixed shift (the first
 * batch's mean), which keeps var = E[d^2] - E[d]^2 from cancelling catastrophically. Buffers are shared
 * memory so the inversion can be split across worker threads without copying 580 MB.
 */
export class MomentAccumulator {
  readonly positions: number;
  readonly shift: Float32Array;
  private readonly sum: Float64Array;
  private readonly outer: Float64Array;
  private n = 0;

  constructor(readonly grid: GaussianGrid) {
    this.positions = grid.height * grid.width;
    const pc = this.positions * grid.channels;
    // Not shared: onnxruntime takes it as an input tensor, and rejects SharedArrayBuffer views.
    this.shift = new Float32Array(pc);
    this.sum = new Float64Array(shared(pc * 8));
    this.outer = new Float64Array(shared(pc * grid.channels * 8));
  }

  get count(): number {
    return this.n;
  }

  /** Adds one batch: `sum` [P,C] and `outer` [P,C,C] of (y - shift) over `n` images. */
  add(sum: Float32Array, outer: Float32Array, n: number): void {
    for (let i = 0; i < sum.length; i++) this.sum[i] += sum[i];
    for (let i = 0; i < outer.length; i++) this.outer[i] += outer[i];
    this.n += n;
  }

  sums(): MomentSums {
    if (this.n < 2) throw new Error(`covariance needs at least 2 images, got ${this.n}`);
    const shift = new Float32Array(shared(this.shift.byteLength));
    shift.set(this.shift);
    return {
      channels: this.grid.channels,
      positions: this.positions,
      count: this.n,
      shift,
      sum: this.sum,
      outer: this.outer,
    };
  }

  /** Mean [P,C] and precision [P,C,C] in float32, on this thread. */
  finalize(eps: number): GaussianEstimate & { failedPositions: number[] } {
    const m = this.sums();
    const out = {
      mean: new Float32Array(m.positions * m.channels),
      precision: new Float32Array(m.positions * m.channels * m.channels),
    };
    return { ...out, failedPositions: estimatePositions(m, eps, 0, m.positions, out) };
  }
}
