import { mulberry32 } from '../core/random.js';

/** An 8-bit RGB image, rows packed. */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The kinds of synthetic defect, each a different failure a line sees. */
export const SYNTHETIC_KINDS = ['texture', 'cutpaste', 'scratch', 'dent'] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

export interface SyntheticDefect {
  image: Rgb;
  /** 1 where the defect is (the pixels it changed), 0 elsewhere; [height * width]. */
  mask: Uint8Array;
  kind: SyntheticKind;
}

type Rng = () => number;
const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/**
 * 2-D gradient (Perlin) noise in [-1, 1] roughly, `cells` lattice cells across the shorter side; the same
 * rng, the same field.
 */
export function perlinNoise(width: number, height: number, cells: number, rng: Rng): Float32Array {
  const step = Math.min(width, height) / cells;
  const gw = Math.ceil(width / step) + 2;
  const gh = Math.ceil(height / step) + 2;
  const gx = new Float32Array(gw * gh);
  const gy = new Float32Array(gw * gh);
  for (let i = 0; i < gw * gh; i++) {
    const a = rng() * 2 * Math.PI;
    gx[i] = Math.cos(a);
    gy[i] = Math.sin(a);
  }
  const fade = (t: number) => t * t * t * (t * (t * 6 - 15) + 10);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = y / step;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    const v = fade(ty);
    for (let x = 0; x < width; x++) {
      const fx = x / step;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const dot = (cx: number, cy: number) => {
        const g = cy * gw + cx;
        return gx[g] * (fx - cx) + gy[g] * (fy - cy);
      };
      const u = fade(tx);
      const top = dot(x0, y0) + u * (dot(x0 + 1, y0) - dot(x0, y0));
      const bottom = dot(x0, y0 + 1) + u * (dot(x0 + 1, y0 + 1) - dot(x0, y0 + 1));
      out[y * width + x] = (top + v * (bottom - top)) * Math.SQRT2;
    }
  }
  return out;
}

/** A window of the image (x, y, w, h) of `frac` of each side, placed at random inside it. */
function window(img: Rgb, rng: Rng, minFrac: number, maxFrac: number) {
  const w = Math.max(4, Math.round(img.width * uniform(rng, minFrac, maxFrac)));
  const h = Math.max(4, Math.round(img.height * uniform(rng, minFrac, maxFrac)));
  return {
    x: Math.floor(rng() * Math.max(1, img.width - w)),
    y: Math.floor(rng() * Math.max(1, img.height - h)),
    w: Math.min(w, img.width),
    h: Math.min(h, img.height),
  };
}

/**
 * DRAEM-style: inside a window, a Perlin-noise blob replaced by foreign texture (a region of `other`, turned
 * and brightness-changed), blended at opacity beta.
 */
function texture(img: Rgb, other: Rgb, rng: Rng, out: Uint8Array, mask: Uint8Array): void {
  const win = window(img, rng, 0.15, 0.35);
  const noise = perlinNoise(win.w, win.h, 2 + Math.floor(rng() * 3), rng);
  const threshold = uniform(rng, 0.1, 0.4);
  const beta = uniform(rng, 0.5, 1);
  const gain = rng() < 0.5 ? uniform(rng, 0.4, 0.8) : uniform(rng, 1.2, 1.8);
  const ox = Math.floor(rng() * Math.max(1, other.width - win.h));
  const oy = Math.floor(rng() * Math.max(1, other.height - win.w));
  for (let y = 0; y < win.h; y++)
    for (let x = 0; x < win.w; x++) {
      if (noise[y * win.w + x] <= threshold) continue;
      const p = (win.y + y) * img.width + win.x + x;
      // Transposed source: the texture runs across the part's own structure.
      const sx = Math.min(other.width - 1, ox + y);
      const sy = Math.min(other.height - 1, oy + x);
      const s = (sy * other.width + sx) * 3;
      for (let c = 0; c < 3; c++)
        out[p * 3 + c] = clamp8((1 - beta) * img.data[p * 3 + c] + beta * gain * other.data[s + c]);
      mask[p] = 1;
    }
}

/** A rectangle of the image itself pasted elsewhere, possibly mirrored (CutPaste). */
function cutpaste(img: Rgb, rng: Rng, out: Uint8Array, mask: Uint8Array): void {
  const src = window(img, rng, 0.08, 0.25);
  const dx = Math.floor(rng() * Math.max(1, img.width - src.w));
  const dy = Math.floor(rng() * Math.max(1, img.height - src.h));
  const mirror = rng() < 0.5;
  const gain = uniform(rng, 0.85, 1.15);
  for (let y = 0; y < src.h; y++)
    for (let x = 0; x < src.w; x++) {
      const sx = src.x + (mirror ? src.w - 1 - x : x);
      const s = ((src.y + y) * img.width + sx) * 3;
      const p = (dy + y) * img.width + dx + x;
      for (let c = 0; c < 3; c++) out[p * 3 + c] = clamp8(img.data[s + c] * gain);
      mask[p] = 1;
    }
}

/** A thin curved stroke, darker or lighter than the surface, with soft edges. */
function scratch(img: Rgb, rng: Rng, out: Uint8Array, mask: Uint8Array): void {
  const side = Math.min(img.width, img.height);
  const length = side * uniform(rng, 0.2, 0.6);
  const halfWidth = Math.max(0.7, side * uniform(rng, 0.004, 0.012));
  const delta = (rng() < 0.6 ? -1 : 1) * uniform(rng, 50, 110);
  let x = uniform(rng, 0.15, 0.85) * img.width;
  let y = uniform(rng, 0.15, 0.85) * img.height;
  let angle = rng() * 2 * Math.PI;
  const bend = uniform(rng, -1.5, 1.5) / length;
  const r = Math.ceil(halfWidth + 1);
  for (let t = 0; t < length; t += 0.5) {
    x += 0.5 * Math.cos(angle);
    y += 0.5 * Math.sin(angle);
    angle += 0.5 * bend;
    for (let yy = Math.floor(y) - r; yy <= Math.ceil(y) + r; yy++)
      for (let xx = Math.floor(x) - r; xx <= Math.ceil(x) + r; xx++) {
        if (xx < 0 || yy < 0 || xx >= img.width || yy >= img.height) continue;
        const d = Math.hypot(xx - x, yy - y);
        const weight = Math.max(0, Math.min(1, halfWidth + 0.5 - d));
        if (weight <= 0) continue;
        const p = yy * img.width + xx;
        for (let c = 0; c < 3; c++) {
          const target = clamp8(img.data[p * 3 + c] + delta * weight);
          // Overlapping steps of the stroke keep the strongest change, not a sum of them.
          if (Math.abs(target - img.data[p * 3 + c]) > Math.abs(out[p * 3 + c] - img.data[p * 3 + c]))
            out[p * 3 + c] = target;
        }
        mask[p] = 1;
      }
  }
}

/** A dent: an elliptical bump lit from one side (brighter on one flank, darker on the other). */
function dent(img: Rgb, rng: Rng, out: Uint8Array, mask: Uint8Array): void {
  const side = Math.min(img.width, img.height);
  const rx = side * uniform(rng, 0.04, 0.12);
  const ry = rx * uniform(rng, 0.5, 1.5);
  const cx = uniform(rng, 0.15, 0.85) * img.width;
  const cy = uniform(rng, 0.15, 0.85) * img.height;
  const light = rng() * 2 * Math.PI;
  const amplitude = uniform(rng, 40, 90);
  for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(img.height, Math.ceil(cy + ry)); y++)
    for (let x = Math.max(0, Math.floor(cx - rx)); x < Math.min(img.width, Math.ceil(cx + rx)); x++) {
      const u = (x - cx) / rx;
      const v = (y - cy) / ry;
      const r2 = u * u + v * v;
      if (r2 >= 1) continue;
      // The slope of a smooth bump, seen along the light direction.
      const shade = amplitude * (u * Math.cos(light) + v * Math.sin(light)) * (1 - r2) * 2;
      const p = y * img.width + x;
      for (let c = 0; c < 3; c++) out[p * 3 + c] = clamp8(img.data[p * 3 + c] + shade);
      // The whole dent is the defect, its unlit middle line too.
      mask[p] = 1;
    }
}

/** Mean change per footprint pixel (levels) below which a defect is too faint to count as one. */
const MIN_VISIBLE = 8;

/**
 * One synthetic defect of `kind` on a copy of `img` (`other` lends its texture to the texture kind), with its
 * footprint as the mask. A draw too faint to see (a cut-and-paste of plain surface onto plain surface) is
 * drawn again, up to a few times. Deterministic: the same inputs and seed, the same result.
 */
export function synthesizeDefect(img: Rgb, other: Rgb, kind: SyntheticKind, seed: number): SyntheticDefect {
  let best: SyntheticDefect | undefined;
  let bestChange = -1;
  for (let attempt = 0; attempt < 6; attempt++) {
    const rng = mulberry32(seed * 7919 + attempt);
    const out = Uint8Array.from(img.data);
    const mask = new Uint8Array(img.width * img.height);
    if (kind === 'texture') texture(img, other, rng, out, mask);
    else if (kind === 'cutpaste') cutpaste(img, rng, out, mask);
    else if (kind === 'scratch') scratch(img, rng, out, mask);
    else dent(img, rng, out, mask);
    let area = 0;
    let change = 0;
    for (let p = 0; p < mask.length; p++) {
      if (!mask[p]) continue;
      area++;
      for (let c = 0; c < 3; c++) change += Math.abs(out[p * 3 + c] - img.data[p * 3 + c]) / 3;
    }
    const mean = area ? change / area : 0;
    if (mean > bestChange) {
      bestChange = mean;
      best = { image: { data: out, width: img.width, height: img.height }, mask, kind };
    }
    if (mean >= MIN_VISIBLE) break;
  }
  return best!;
}
