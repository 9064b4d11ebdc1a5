import { invertSpd } from './linalg.js';

export interface GaussianGrid {
  channels: number;
  height: number;
  width: number;
}

/**
 * Streaming per-position mean and covariance: batches of moments (from the ONNX moments graph) are added
 * in float64, so no training features are ever held at once. Sums are taken about a fixed shift (the first
 * batch's mean), which keeps var = E[d^2] - E[d]^2 from cancelling catastrophically.
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
    this.shift = new Float32Array(pc);
    this.sum = new Float64Array(pc);
    this.outer = new Float64Array(pc * grid.channels);
  }

  get count(): number {
    return this.n;
  }

  /** Sets the shift from a batch of features [N,C,H,W] (call once, before the first add). */
  setShiftFromBatch(features: Float32Array, n: number): void {
    const { channels: C } = this.grid;
    const P = this.positions;
    this.shift.fill(0);
    for (let b = 0; b < n; b++) {
      for (let c = 0; c < C; c++) {
        const base = (b * C + c) * P;
        for (let p = 0; p < P; p++) this.shift[p * C + c] += features[base + p] / n;
      }
    }
  }

  /** Adds one batch: `sum` [P,C] and `outer` [P,C,C] of (y - shift) over `n` images. */
  add(sum: Float32Array, outer: Float32Array, n: number): void {
    for (let i = 0; i < sum.length; i++) this.sum[i] += sum[i];
    for (let i = 0; i < outer.length; i++) this.outer[i] += outer[i];
    this.n += n;
  }

  /**
   * Mean [P,C] and precision (Sigma + eps I)^-1 [P,C,C] in float32.
   * Sigma = (S2 - S1 S1^T / N) / (N - 1): the unbiased sample covariance, as PaDiM.
   */
  finalize(eps: number): { mean: Float32Array; precision: Float32Array; failedPositions: number[] } {
    const C = this.grid.channels;
    const P = this.positions;
    const N = this.n;
    if (N < 2) throw new Error(`covariance needs at least 2 images, got ${N}`);
    const mean = new Float32Array(P * C);
    const precision = new Float32Array(P * C * C);
    const cov = new Float64Array(C * C);
    const work = new Float64Array(C * C);
    const failedPositions: number[] = [];
    for (let p = 0; p < P; p++) {
      const s1 = p * C;
      const s2 = p * C * C;
      for (let i = 0; i < C; i++) {
        mean[s1 + i] = this.shift[s1 + i] + this.sum[s1 + i] / N;
        for (let j = 0; j <= i; j++) {
          const v = (this.outer[s2 + i * C + j] - (this.sum[s1 + i] * this.sum[s1 + j]) / N) / (N - 1);
          cov[i * C + j] = v;
          cov[j * C + i] = v;
        }
        cov[i * C + i] += eps;
      }
      if (!invertSpd(cov, C, work, precision, s2)) failedPositions.push(p);
    }
    return { mean, precision, failedPositions };
  }
}
