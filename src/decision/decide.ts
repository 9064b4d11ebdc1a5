import { regionsAbove } from '../core/components.js';
import type { Region } from '../core/verdict.js';

export interface DecisionParams {
  threshold: number;
  /** Map values above this form defect regions; default: the image threshold. */
  pixelThreshold?: number;
  /** Regions smaller than this many pixels are noise. */
  minRegionArea: number;
  /** At most this many regions are reported, highest peak first. */
  maxRegions: number;
}

export interface Decision {
  ok: boolean;
  normalizedScore: number;
  regions: Region[];
}

/**
 * OK/NG from the image score (NG when score > threshold, the recipe rule), the score relative to the
 * threshold (1.0 = on the edge), and the defect regions: 8-connected components of the map above the pixel
 * threshold, with box, area and peak. Regions are reported for OK frames too when any pixel crosses (a
 * near miss is worth seeing), but only NG decides. An NG verdict always says where: when no region is as large
 * as minRegionArea, the one with the highest peak is reported however small; when the map never crosses the
 * pixel threshold (a recipe whose image score is not the map's maximum), the area around the map's maximum
 * (values within 10 % of its range from it) is.
 */
export function decide(
  score: number,
  map: Float32Array,
  width: number,
  height: number,
  p: DecisionParams,
): Decision {
  const pixelThreshold = p.pixelThreshold ?? p.threshold;
  const ok = !(score > p.threshold);
  const byPeak = (a: Region, b: Region) => b.peak - a.peak;
  const above = regionsAbove(map, width, height, pixelThreshold).sort(byPeak);
  const regions: Region[] = above.filter((r) => r.area >= p.minRegionArea);
  if (!ok && regions.length === 0 && p.maxRegions > 0) {
    const where = above[0] ?? aroundMaximum(map, width, height);
    if (where) regions.push(where);
  }
  regions.length = Math.min(regions.length, p.maxRegions);
  return {
    ok,
    normalizedScore: p.threshold > 0 ? score / p.threshold : Number.POSITIVE_INFINITY,
    regions,
  };
}

/** The component around the map's maximum: the values within 10 % of the map's range from the top. */
function aroundMaximum(map: Float32Array, width: number, height: number): Region | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(hi)) return undefined;
  // Just below the top, so the maximum itself is always inside (a flat map gives the whole map).
  const level = hi - 0.1 * (hi - lo) - Number.EPSILON * Math.max(1, Math.abs(hi));
  return regionsAbove(map, width, height, level).sort((a, b) => b.peak - a.peak)[0];
}
