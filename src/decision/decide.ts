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
 * near miss is worth seeing), but only NG decides.
 */
export function decide(
  score: number,
  map: Float32Array,
  width: number,
  height: number,
  p: DecisionParams,
): Decision {
  const pixelThreshold = p.pixelThreshold ?? p.threshold;
  const regions: Region[] = regionsAbove(map, width, height, pixelThreshold).filter(
    (r) => r.area >= p.minRegionArea,
  );
  regions.sort((a, b) => b.peak - a.peak);
  regions.length = Math.min(regions.length, p.maxRegions);
  return {
    ok: !(score > p.threshold),
    normalizedScore: p.threshold > 0 ? score / p.threshold : Number.POSITIVE_INFINITY,
    regions,
  };
}
