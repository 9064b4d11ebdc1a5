import type { GraphBuilder } from '../onnx/graphBuilder.js';

/**
 * Feature fusion (S003, PaDiM): every level bilinearly resized to the finest level's grid, concatenated on
 * channels, then optionally a fixed subset of channels kept. Output: [N, C, H, W].
 * The first level must be the finest; fit checks the order.
 */
export function fuseLevels(
  b: GraphBuilder,
  levels: readonly string[],
  channelSubset?: readonly number[],
): string {
  const finest = levels[0];
  const resized = levels.map((l, i) => (i === 0 ? l : b.resizeBilinearLike(l, finest)));
  const fused = resized.length === 1 ? resized[0] : b.op('Concat', resized, { axis: 1 }, 'fused');
  if (!channelSubset) return fused;
  return b.op('Gather', [fused, b.int64('channels', channelSubset)], { axis: 1 }, 'subset');
}

/** Seeded channel subset as PaDiM's random dimensionality reduction: `count` of `total`, sorted. */
export function randomChannelSubset(total: number, count: number, seed: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  const idx = Array.from({ length: total }, (_, i) => i);
  let s = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: tiny, deterministic across platforms and Node versions.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, count).sort((a, c) => a - c);
}
