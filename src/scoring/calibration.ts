/** The scores of the good images the threshold was set from, summarized. */
export interface Calibration {
  /** How many scores. */
  n: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  quantiles: Record<'p50' | 'p90' | 'p95' | 'p99', number>;
}

/** Linear-interpolated quantile of sorted values (the "type 7" definition numpy uses by default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Summary of the good images' scores; the daemon compares live score drift against it. */
export function calibrate(scores: ArrayLike<number>): Calibration {
  const sorted = Float64Array.from(scores).sort();
  const n = sorted.length;
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return {
    n,
    mean,
    std: Math.sqrt(variance),
    min: sorted[0],
    max: sorted[n - 1],
    quantiles: {
      p50: quantileSorted(sorted, 0.5),
      p90: quantileSorted(sorted, 0.9),
      p95: quantileSorted(sorted, 0.95),
      p99: quantileSorted(sorted, 0.99),
    },
  };
}
