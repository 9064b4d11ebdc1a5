/** Jet-like colour ramp, t in [0,1]: 0 = blue, 1 = red. */
export function heatColour(t: number): [number, number, number] {
  const c = (x: number): number => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

/**
 * An anomaly map blended over an RGB image of the same size: blue at `lo`, red at `hi` (a fixed scale, so
 * pictures compare at a glance), 45% heat over 55% image.
 */
export function overlayHeatmap(rgb: Uint8Array, map: Float32Array, lo: number, hi: number): Buffer {
  const out = Buffer.alloc(map.length * 3);
  const span = Math.max(hi - lo, 1e-9);
  for (let i = 0; i < map.length; i++) {
    const [r, g, b] = heatColour((map[i] - lo) / span);
    out[i * 3] = Math.round(0.55 * rgb[i * 3] + 0.45 * r);
    out[i * 3 + 1] = Math.round(0.55 * rgb[i * 3 + 1] + 0.45 * g);
    out[i * 3 + 2] = Math.round(0.55 * rgb[i * 3 + 2] + 0.45 * b);
  }
  return out;
}

/** Colour scale for a recipe's maps: from half the lowest good training score to 1.5x the threshold. */
export const heatScale = (threshold: number, calibrationMin: number): { lo: number; hi: number } => ({
  lo: calibrationMin / 2,
  hi: Math.max(threshold * 1.5, calibrationMin / 2 + 1e-6),
});
