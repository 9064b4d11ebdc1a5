import { mulberry32 } from '../../src/core/random.js';

/** Deterministic PRNG so failures reproduce. */
export const rng = mulberry32;

/** Standard normal samples (Box-Muller). */
export function gaussianSamples(n: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

/** A random symmetric positive-definite C x C matrix: A A^T / C + I. */
export function randomSpd(c: number, next: () => number): Float64Array {
  const a = gaussianSamples(c * c, next);
  const m = new Float64Array(c * c);
  for (let i = 0; i < c; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += a[i * c + k] * a[j * c + k];
      const v = s / c + (i === j ? 1 : 0);
      m[i * c + j] = v;
      m[j * c + i] = v;
    }
  return m;
}
