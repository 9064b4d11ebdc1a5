import { InspectdError } from '../../core/errors.js';
import { orderedFloat32Key } from './auroc.js';
import { checkSize, labelComponents } from '../../core/components.js';

/** Defect keys pack (score key, area bucket) as key * 2^21 + bucket: 32 + 21 bits fit a double exactly. */
const BUCKETS = 2 ** 21;

/**
 * MVTec AD AU-PRO: the area under the per-region-overlap curve for FPR in [0, maxFpr], divided by
 * maxFpr so that a perfect map scores 1.
 *
 * Regions are the 8-connected components of every mask (nonzero = defect), each weighing the same
 * however large. At threshold t, PRO(t) is the mean over regions of the fraction of the region's pixels
 * scoring >= t, and FPR(t) the fraction of all defect-free pixels scoring >= t. The curve starts at
 * (0, 0) and is integrated exactly (trapezoid) over every distinct score, all pixels of equal score as
 * one step, interpolating at maxFpr. Returns NaN without regions or without defect-free pixels.
 *
 * Speed: a pixel's PRO step is 1 / (regions * area of its region), so defect pixels only need their
 * region's area, packed with the score into one double and sorted natively. The sweep stops at
 * maxFpr, so only the defect-free pixels above that point are sorted: a radix select on the uint32
 * score keys (two 16-bit histograms) finds the cut-off first.
 */
export function auPro(
  maps: Float32Array[],
  masks: Uint8Array[],
  width: number,
  height: number,
  maxFpr = 0.3,
): number {
  if (maps.length !== masks.length) {
    throw new InspectdError(`auPro: ${maps.length} maps but ${masks.length} masks`, {
      subject: 'auPro',
      value: { maps: maps.length, masks: masks.length },
      fix: 'pass one ground-truth mask per anomaly map (all zero for good images)',
    });
  }
  if (!(maxFpr > 0 && maxFpr <= 1)) {
    throw new InspectdError(`auPro: maxFpr ${maxFpr} is outside (0, 1]`, {
      subject: 'maxFpr',
      value: maxFpr,
      fix: 'use the standard 0.3',
    });
  }
  const n = width * height;
  let nDefect = 0;
  for (let m = 0; m < masks.length; m++) {
    checkSize('auPro map', maps[m].length, width, height);
    checkSize('auPro mask', masks[m].length, width, height);
    const mask = masks[m];
    for (let i = 0; i < n; i++) if (mask[i] !== 0) nDefect++;
  }
  const nBg = maps.length * n - nDefect;

  // Pass 1: label regions, pack defect keys, histogram the high 16 bits of background keys.
  const defKeys = new Float64Array(nDefect);
  const bucketOfArea = new Map<number, number>();
  const invArea: number[] = []; // per bucket; at most sqrt(2 * nDefect) distinct areas exist
  const hiHist = new Float64Array(65536);
  let regions = 0;
  let d = 0;
  for (let m = 0; m < maps.length; m++) {
    const bits = new Uint32Array(maps[m].buffer, maps[m].byteOffset, n);
    const mask = masks[m];
    // Good images (empty masks) skip labelling.
    const { labels, count, areas } = isEmpty(mask)
      ? { labels: null, count: 0, areas: [] }
      : labelComponents(mask, width, height, 8);
    regions += count;
    const bucketOfLabel = new Int32Array(count + 1);
    for (let k = 0; k < count; k++) {
      let b = bucketOfArea.get(areas[k]);
      if (b === undefined) {
        b = invArea.length;
        bucketOfArea.set(areas[k], b);
        invArea.push(1 / areas[k]);
      }
      bucketOfLabel[k + 1] = b;
    }
    for (let i = 0; i < n; i++) {
      const key = orderedFloat32Key(bits[i]);
      if (labels !== null && labels[i] !== 0) defKeys[d++] = key * BUCKETS + bucketOfLabel[labels[i]];
      else hiHist[key >>> 16]++;
    }
  }
  if (regions === 0 || nBg === 0) return NaN;

  // The sweep ends at the first step whose FPR exceeds maxFpr; one spare pixel guards against rounding.
  const need = Math.min(nBg, Math.floor(maxFpr * nBg) + 2);
  const { cutoff, kept } = selectCutoff(maps, masks, n, hiHist, need);

  // Pass 3 (pass 2 is in selectCutoff): keep only what the sweep can reach, then sort natively (ascending; swept from the top).
  const bg = new Uint32Array(kept);
  for (let m = 0, j = 0; m < maps.length; m++) {
    const bits = new Uint32Array(maps[m].buffer, maps[m].byteOffset, n);
    const mask = masks[m];
    for (let i = 0; i < n; i++) {
      if (mask[i] !== 0) continue;
      const key = orderedFloat32Key(bits[i]);
      if (key >= cutoff) bg[j++] = key;
    }
  }
  bg.sort();
  const defCutoff = cutoff * BUCKETS;
  let keptDef = 0;
  for (let i = 0; i < nDefect; i++) if (defKeys[i] >= defCutoff) defKeys[keptDef++] = defKeys[i];
  const def = defKeys.subarray(0, keptDef).sort();

  let i = bg.length - 1;
  let j = def.length - 1;
  let bgAbove = 0;
  let invSum = 0; // sum over pixels above t of 1 / (area of their region)
  let fpr = 0;
  let pro = 0;
  let area = 0;
  while (fpr < maxFpr && (i >= 0 || j >= 0)) {
    const bk = i >= 0 ? bg[i] : -1;
    const dk = j >= 0 ? Math.floor(def[j] / BUCKETS) : -1;
    const t = bk > dk ? bk : dk;
    while (i >= 0 && bg[i] === t) {
      bgAbove++;
      i--;
    }
    while (j >= 0) {
      const k = def[j];
      const key = Math.floor(k / BUCKETS);
      if (key !== t) break;
      invSum += invArea[k - key * BUCKETS];
      j--;
    }
    const nextFpr = bgAbove / nBg;
    const nextPro = invSum / regions;
    if (nextFpr > maxFpr) {
      const atMax = pro + ((nextPro - pro) * (maxFpr - fpr)) / (nextFpr - fpr);
      area += ((maxFpr - fpr) * (pro + atMax)) / 2;
      fpr = maxFpr;
    } else {
      area += ((nextFpr - fpr) * (pro + nextPro)) / 2;
      fpr = nextFpr;
    }
    pro = nextPro;
  }
  return area / maxFpr;
}

function isEmpty(mask: Uint8Array): boolean {
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) return false;
  return true;
}

/**
 * The key of the need-th largest background pixel and how many background keys are >= it, by radix
 * select: the high 16 bits from the histogram already taken, then one pass for the low 16 bits.
 */
function selectCutoff(
  maps: Float32Array[],
  masks: Uint8Array[],
  n: number,
  hiHist: Float64Array,
  need: number,
): { cutoff: number; kept: number } {
  let hi = 65535;
  let above = 0;
  while (above + hiHist[hi] < need) above += hiHist[hi--];
  const loHist = new Float64Array(65536);
  for (let m = 0; m < maps.length; m++) {
    const bits = new Uint32Array(maps[m].buffer, maps[m].byteOffset, n);
    const mask = masks[m];
    for (let i = 0; i < n; i++) {
      if (mask[i] !== 0) continue;
      const key = orderedFloat32Key(bits[i]);
      if (key >>> 16 === hi) loHist[key & 0xffff]++;
    }
  }
  let lo = 65535;
  while (above + loHist[lo] < need) above += loHist[lo--];
  return { cutoff: ((hi << 16) | lo) >>> 0, kept: above + loHist[lo] };
}
