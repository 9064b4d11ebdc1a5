import { componentBoxes, labelComponents } from '../core/components.js';
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
  const mask = new Uint8Array(width * height);
  let any = false;
  for (let i = 0; i < mask.length; i++) {
    if (map[i] > pixelThreshold) {
      mask[i] = 1;
      any = true;
    }
  }
  const regions: Region[] = [];
  if (any) {
    const { labels, count } = labelComponents(mask, width, height, 8);
    const boxes = componentBoxes(labels, width, height, count);
    const peaks = new Float32Array(count + 1).fill(-Infinity);
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (l && map[i] > peaks[l]) peaks[l] = map[i];
    }
    boxes.forEach((b, k) => {
      if (b.area >= p.minRegionArea) regions.push({ ...b, peak: peaks[k + 1] });
    });
    regions.sort((a, b) => b.peak - a.peak);
    regions.length = Math.min(regions.length, p.maxRegions);
  }
  return {
    ok: !(score > p.threshold),
    normalizedScore: p.threshold > 0 ? score / p.threshold : Number.POSITIVE_INFINITY,
    regions,
  };
}
