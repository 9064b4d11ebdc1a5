/**
 * Synthetic frames of one machined part: a brushed aluminium plate with a milled pocket, a centre bore and
 * four mounting holes, lying on a dark conveyor under a fixed light from the top left. Pure functions, no
 * I/O: the same inputs give byte-identical pixels.
 *
 * The part's design (its shape, its brushed texture) is fixed; each frame varies like a real line camera
 * would (position jitter of a few pixels, a fraction of a degree of rotation, brightness/contrast and light
 * gradient drift, sensor noise), all drawn from the frame's `seed`. A defect, when asked for, is drawn on
 * the part's surface (it moves with the part) and marked in the mask.
 */

import { mulberry32 } from '../../core/random.js';

export { mulberry32 };

export type DefectKind = 'scratch' | 'dent' | 'stain' | 'missing-hole';

/** Every defect kind the sim camera injects, in a fixed order (the order decides kinds from seeds). */
export const DEFECT_KINDS: readonly DefectKind[] = ['scratch', 'dent', 'stain', 'missing-hole'];

export const isDefectKind = (k: string): k is DefectKind => (DEFECT_KINDS as readonly string[]).includes(k);

export interface RenderOptions {
  /** Per-frame variation (jitter, lighting, noise, where the defect lies). */
  seed: number;
  width: number;
  height: number;
  defect?: DefectKind;
}

export interface RenderedPart {
  /** Interleaved RGB8, rows packed: width * height * 3 bytes. */
  rgb: Buffer;
  /** One byte per pixel: 1 where the defect is, 0 elsewhere (all 0 for a good part). */
  mask: Uint8Array;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mixes numbers (any finite values; integers up to 2^53 keep all their bits) into one 32-bit seed. */
export function hashSeed(...parts: number[]): number {
  let h = 0x9747b28c;
  for (const p of parts) {
    const x = Number.isFinite(p) ? Math.trunc(p) : 0;
    const lo = x >>> 0;
    const hi = Math.floor(x / 4294967296) >>> 0;
    h = fmix32(Math.imul(h ^ lo, 0x01000193) + 0x5bd1e995);
    h = fmix32(Math.imul(h ^ hi, 0x01000193) + 0x27d4eb2f);
  }
  return h;
}

/** What the sim camera shows at `seq`: decided from (seed, seq) alone, so any frame can be reproduced. */
export function planFrame(
  seed: number,
  seq: number,
  defectRate: number,
  kinds: readonly DefectKind[] = DEFECT_KINDS,
): { seed: number; defect?: DefectKind } {
  const r = mulberry32(hashSeed(seed, seq, 0x51a7));
  const frameSeed = hashSeed(seed, seq, 0xf4a3e);
  const defective = kinds.length > 0 && r() < defectRate;
  if (!defective) return { seed: frameSeed };
  return { seed: frameSeed, defect: kinds[Math.min(kinds.length - 1, Math.floor(r() * kinds.length))] };
}

// ---------------------------------------------------------------------------------------------------------
// The part's design, in part units: the plate is 1.0 wide and 0.75 tall, centred on (0, 0), v pointing down.

const PLATE_HW = 0.5;
const PLATE_HH = 0.375;
const PLATE_R = 0.045;
const BEVEL = 0.012;
const POCKET_U = -0.2;
const POCKET_V = 0.02;
const POCKET_HW = 0.13;
const POCKET_HH = 0.17;
const POCKET_R = 0.035;
const POCKET_WALL = 0.012;
const BORE = { u: 0.14, v: 0, r: 0.085 };
const MOUNT_R = 0.042;
/** Mounting holes; a 'missing-hole' part lacks one of them. */
const MOUNTS: ReadonlyArray<{ u: number; v: number }> = [
  { u: -0.4, v: -0.28 },
  { u: 0.4, v: -0.28 },
  { u: -0.4, v: 0.28 },
  { u: 0.4, v: 0.28 },
];
const CHAMFER = 0.012;
/** Towards the light (top left), in part/image axes. */
const LX = -0.6;
const LY = -0.8;
/** Fraction of min(width/1.0, height/0.75) the plate spans. */
const FILL = 0.86;
/** Width of an edge's transition in pixels. */
const EDGE_PX = 1.6;

const DESIGN_SEED = 0x1a2b3c4d;
const TEX_W = 512;
const TEX_H = 384;
let texture: Float32Array | undefined;

/** The plate's brushed finish: streaks along u plus a faint mottle, zero mean, unit-ish variance. */
function brushedTexture(): Float32Array {
  if (texture) return texture;
  const r = mulberry32(DESIGN_SEED);
  const n = TEX_W * TEX_H;
  const white = new Float32Array(n);
  for (let i = 0; i < n; i++) white[i] = r() - 0.5;
  // Box blur along u (long streaks), twice for a smoother profile, wrapping around.
  let src = white;
  for (let pass = 0; pass < 2; pass++) {
    const dst = new Float32Array(n);
    const k = 24;
    for (let y = 0; y < TEX_H; y++) {
      const row = y * TEX_W;
      let acc = 0;
      for (let j = -k; j <= k; j++) acc += src[row + ((j + TEX_W) % TEX_W)];
      for (let x = 0; x < TEX_W; x++) {
        dst[row + x] = acc / (2 * k + 1);
        acc += src[row + ((x + k + 1) % TEX_W)] - src[row + ((x - k + TEX_W) % TEX_W)];
      }
    }
    src = dst;
  }
  // Coarse mottle: a few low-frequency waves.
  const waves = Array.from({ length: 5 }, () => ({
    fu: 2 + r() * 5,
    fv: 2 + r() * 5,
    ph: r() * Math.PI * 2,
    a: 0.3 + r() * 0.4,
  }));
  const out = new Float32Array(n);
  let sum = 0;
  let sq = 0;
  for (let y = 0; y < TEX_H; y++)
    for (let x = 0; x < TEX_W; x++) {
      const i = y * TEX_W + x;
      let m = 0;
      for (const w of waves) m += w.a * Math.sin((w.fu * x) / TEX_W + (w.fv * y) / TEX_H + w.ph);
      // streaks (std ~0.04 after blurring) + fine grain + mottle
      const v = src[i] * 25 + white[i] * 0.35 + m * 0.25;
      out[i] = v;
      sum += v;
      sq += v * v;
    }
  const mean = sum / n;
  const std = Math.sqrt(sq / n - mean * mean) || 1;
  for (let i = 0; i < n; i++) out[i] = (out[i] - mean) / std;
  texture = out;
  return out;
}

/** Signed distance to a rounded rectangle centred on the origin (negative inside). */
function roundedRect(u: number, v: number, hw: number, hh: number, r: number): number {
  const qx = Math.abs(u) - hw + r;
  const qy = Math.abs(v) - hh + r;
  if (qx > 0 && qy > 0) return Math.sqrt(qx * qx + qy * qy) - r;
  return (qx > qy ? qx : qy) - r;
}

/** How much a rounded rectangle's outward normal at (u, v) faces the light, -1..1. */
function rectFacing(u: number, v: number, hw: number, hh: number, r: number): number {
  const qx = Math.abs(u) - hw + r;
  const qy = Math.abs(v) - hh + r;
  const sx = u < 0 ? -1 : 1;
  const sy = v < 0 ? -1 : 1;
  if (qx > 0 && qy > 0) {
    const l = Math.sqrt(qx * qx + qy * qy);
    return ((qx * sx) / l) * LX + ((qy * sy) / l) * LY;
  }
  return qx > qy ? sx * LX : sy * LY;
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
const smooth = (x: number): number => {
  const t = clamp01(x);
  return t * t * (3 - 2 * t);
};

interface Hole {
  u: number;
  v: number;
  r: number;
}

/** A defect drawn in part coordinates: `shade` modifies the surface at (u, v), `inMask` marks it. */
interface DefectPainter {
  /** Part-space bounding box; pixels outside skip the defect. */
  u0: number;
  u1: number;
  v0: number;
  v1: number;
  /**
   * Returns the defect's opacity at (u, v) in [0, 1] and sets `paint` (luminance delta, luminance factor,
   * colour factors). `pxPerUnit` lets thin features stay at least a pixel wide.
   */
  shade(u: number, v: number, pxPerUnit: number): number;
  inMask(u: number, v: number, pxPerUnit: number): boolean;
}

const paint = { add: 0, mul: 1, r: 1, g: 1, b: 1 };

function resetPaint(): void {
  paint.add = 0;
  paint.mul = 1;
  paint.r = 1;
  paint.g = 1;
  paint.b = 1;
}

/** A spot on the plate surface, away from the edges, the holes and (unless `overWalls`) the pocket walls. */
function placeOnSurface(
  r: () => number,
  radius: number,
  holes: readonly Hole[],
  overWalls = false,
): { u: number; v: number } {
  for (let attempt = 0; attempt < 200; attempt++) {
    const u = (r() * 2 - 1) * (PLATE_HW - radius - 0.06);
    const v = (r() * 2 - 1) * (PLATE_HH - radius - 0.06);
    if (holes.some((h) => Math.hypot(u - h.u, v - h.v) < h.r + radius + 0.03)) continue;
    if (
      !overWalls &&
      Math.abs(roundedRect(u - POCKET_U, v - POCKET_V, POCKET_HW, POCKET_HH, POCKET_R)) < radius + 0.02
    )
      continue;
    return { u, v };
  }
  // Never reached in practice (the rules above leave plenty of room); a plain spot right of the bore.
  return { u: 0.32, v: 0 };
}

function scratchPainter(r: () => number, holes: readonly Hole[]): DefectPainter {
  const len = 0.2 + r() * 0.14;
  // A scratch may run across the pocket or into a hole (its mask stops at the hole's edge).
  const c = placeOnSurface(r, 0.03, holes);
  // Not along the brushing (horizontal), where even a person would struggle to see it.
  const ang = (0.15 + r() * 0.7) * Math.PI;
  const dx = (Math.cos(ang) * len) / 2;
  const dy = (Math.sin(ang) * len) / 2;
  const ax = c.u - dx;
  const ay = c.v - dy;
  const bx = c.u + dx;
  const by = c.v + dy;
  const ex = bx - ax;
  const ey = by - ay;
  const l2 = ex * ex + ey * ey;
  const bend = (r() - 0.5) * 0.02;
  const bright = r() < 0.7;
  const amp = bright ? 90 + r() * 30 : -(95 + r() * 20);
  const halfW = 0.0075;
  const pad = 0.03;
  // t along the segment, d: distance to the (slightly bowed) line, both in part units.
  let t = 0;
  let d = 0;
  const locate = (u: number, v: number): void => {
    t = clamp01(((u - ax) * ex + (v - ay) * ey) / l2);
    const bow = bend * 4 * t * (1 - t);
    const px = ax + t * ex - (ey / Math.sqrt(l2)) * bow;
    const py = ay + t * ey + (ex / Math.sqrt(l2)) * bow;
    d = Math.hypot(u - px, v - py);
  };
  const halfPx = (ppu: number): number => Math.max(0.85, halfW * ppu);
  return {
    u0: Math.min(ax, bx) - pad,
    u1: Math.max(ax, bx) + pad,
    v0: Math.min(ay, by) - pad,
    v1: Math.max(ay, by) + pad,
    shade(u, v, ppu) {
      locate(u, v);
      const hp = halfPx(ppu);
      const dp = d * ppu;
      if (dp > hp + 1.5) return 0;
      const taper = Math.sqrt(Math.sin(Math.PI * t));
      const core = clamp01(1 - dp / (hp + 0.5));
      // A scratch catches the light in its core and throws a thin shadow beside it.
      const halo = clamp01(1 - Math.abs(dp - hp - 0.6) / 0.9) * 0.35;
      paint.add = taper * (amp * core - Math.sign(amp) * 25 * halo);
      return core > 0 || halo > 0 ? 1 : 0;
    },
    inMask(u, v, ppu) {
      locate(u, v);
      return t > 0.02 && t < 0.98 && d * ppu <= halfPx(ppu) + 0.5;
    },
  };
}

function dentPainter(r: () => number, holes: readonly Hole[]): DefectPainter {
  const R = 0.05 + r() * 0.02;
  const c = placeOnSurface(r, R, holes);
  const depth = 1;
  return {
    u0: c.u - R,
    u1: c.u + R,
    v0: c.v - R,
    v1: c.v + R,
    shade(u, v) {
      const du = u - c.u;
      const dv = v - c.v;
      const s = (du * du + dv * dv) / (R * R);
      if (s >= 1) return 0;
      // Depression h = depth (1 - s)^2: the wall facing the light is bright, the other dark.
      const g = -depth * 4 * (1 - s); // dh/d(.) per unit of (du/R)
      const hx = (g * du) / R;
      const hy = (g * dv) / R;
      const facing = hx * LX + hy * LY; // > 0 on the far wall, which faces the light
      paint.add = 38 * facing;
      paint.mul = 1 - 0.38 * (1 - s) * (1 - s);
      paint.r = 0.98;
      paint.b = 1.02;
      return 1;
    },
    inMask(u, v) {
      return Math.hypot(u - c.u, v - c.v) < R * 0.85;
    },
  };
}

function stainPainter(r: () => number, holes: readonly Hole[]): DefectPainter {
  const R = 0.05 + r() * 0.035;
  // A liquid runs over the pocket's walls as readily as over the flat.
  const c = placeOnSurface(r, R * 1.1, holes, true);
  const lobes = [
    { k: 2, a: 0.12 + r() * 0.1, p: r() * 6.28 },
    { k: 3, a: 0.1 + r() * 0.1, p: r() * 6.28 },
    { k: 5, a: 0.05 + r() * 0.05, p: r() * 6.28 },
  ];
  // Rust-brown or dark oily tint.
  const rusty = r() < 0.6;
  const tint = rusty ? { r: 0.86, g: 0.64, b: 0.44, mul: 0.82 } : { r: 0.95, g: 0.86, b: 0.72, mul: 0.6 };
  const radiusAt = (du: number, dv: number): number => {
    const th = Math.atan2(dv, du);
    let f = 1;
    for (const l of lobes) f += l.a * Math.sin(l.k * th + l.p);
    return R * f;
  };
  const ext = R * 1.35;
  return {
    u0: c.u - ext,
    u1: c.u + ext,
    v0: c.v - ext,
    v1: c.v + ext,
    shade(u, v) {
      const du = u - c.u;
      const dv = v - c.v;
      const dist = Math.sqrt(du * du + dv * dv);
      if (dist > ext) return 0;
      const q = dist / radiusAt(du, dv);
      const a = smooth((1.12 - q) / 0.24);
      if (a <= 0) return 0;
      // Darker rim where the liquid dried ("coffee ring").
      const ring = Math.exp(-((q - 0.92) * (q - 0.92)) / 0.006) * 0.15;
      paint.mul = 1 - a * (1 - tint.mul) - ring;
      paint.r = 1 - a * (1 - tint.r);
      paint.g = 1 - a * (1 - tint.g);
      paint.b = 1 - a * (1 - tint.b);
      return a;
    },
    inMask(u, v) {
      const du = u - c.u;
      const dv = v - c.v;
      return Math.sqrt(du * du + dv * dv) / radiusAt(du, dv) < 1;
    },
  };
}

function missingHolePainter(hole: Hole): DefectPainter {
  const R = hole.r + CHAMFER;
  return {
    u0: hole.u - R,
    u1: hole.u + R,
    v0: hole.v - R,
    v1: hole.v + R,
    shade: () => 0,
    inMask(u, v) {
      return Math.hypot(u - hole.u, v - hole.v) < R;
    },
  };
}

/**
 * The pixel rectangle [x0, x1] x [y0, y1] (inclusive) that covers a part-space box under the frame's pose,
 * with a margin of a few pixels for soft edges.
 */
function imageBox(
  u0: number,
  u1: number,
  v0: number,
  v1: number,
  pose: { cosR: number; sinR: number; ppu: number; cx: number; cy: number },
): Int32Array {
  const { cosR, sinR, ppu, cx, cy } = pose;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const u of [u0, u1])
    for (const v of [v0, v1]) {
      const x = ppu * (cosR * u - sinR * v) + cx - 0.5;
      const y = ppu * (sinR * u + cosR * v) + cy - 0.5;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  const m = 2 + 2 * EDGE_PX;
  return Int32Array.of(Math.floor(x0 - m), Math.ceil(x1 + m), Math.floor(y0 - m), Math.ceil(y1 + m));
}

const holesOf = (missing?: number): Hole[] => [
  { u: BORE.u, v: BORE.v, r: BORE.r },
  ...MOUNTS.filter((_, i) => i !== missing).map((m) => ({ u: m.u, v: m.v, r: MOUNT_R })),
];

/** Renders one frame of the part, with `defect` if given. */
export function renderPart(opts: RenderOptions): RenderedPart {
  const { width: W, height: H, defect } = opts;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 8 || H < 8) {
    throw new RangeError(`renderPart: width and height must be integers >= 8 (got ${W}x${H})`);
  }
  const tex = brushedTexture();
  const r = mulberry32(hashSeed(opts.seed, 0x9a27));

  // Per-frame variation.
  // Placement on the fixture: a few pixels (at most 1.5% of the frame) and a fraction of a degree, most often
  // near the middle (triangular distributions, like a part settling against its stops).
  const jitter = 0.015 * Math.min(W, H);
  const dx = (r() + r() - 1) * jitter;
  const dy = (r() + r() - 1) * jitter;
  const rot = ((r() + r() - 1) * 0.4 * Math.PI) / 180;
  const ppu = FILL * Math.min(W / (2 * PLATE_HW), H / (2 * PLATE_HH)) * (1 + (r() * 2 - 1) * 0.006);
  const gain = 1 + (r() * 2 - 1) * 0.06;
  const contrast = 1 + (r() * 2 - 1) * 0.05;
  const offset = (r() * 2 - 1) * 4;
  const gradX = -0.14 + (r() * 2 - 1) * 0.03;
  const gradY = -0.1 + (r() * 2 - 1) * 0.03;
  const wbR = 1 + (r() * 2 - 1) * 0.015;
  const wbB = 1 + (r() * 2 - 1) * 0.015;
  const noiseSigma = 2.2 + r() * 0.8;
  let noiseState = hashSeed(opts.seed, 0x4015e) || 1;

  // The defect, drawn from its own stream so a defect never changes the part's jitter or lighting.
  const dr = mulberry32(hashSeed(opts.seed, 0xdefec7));
  const missing = defect === 'missing-hole' ? Math.floor(dr() * MOUNTS.length) : undefined;
  const holes = holesOf(missing);
  let painter: DefectPainter | undefined;
  if (defect === 'scratch') painter = scratchPainter(dr, holes);
  else if (defect === 'dent') painter = dentPainter(dr, holes);
  else if (defect === 'stain') painter = stainPainter(dr, holes);
  else if (defect === 'missing-hole') painter = missingHolePainter({ ...MOUNTS[missing!], r: MOUNT_R });
  else if (defect !== undefined) throw new RangeError(`renderPart: unknown defect kind ${String(defect)}`);

  const rgb = Buffer.alloc(W * H * 3);
  // Stores through a clamped view round and clamp to 0..255 for free.
  const px = new Uint8ClampedArray(rgb.buffer, rgb.byteOffset, rgb.length);
  const mask = new Uint8Array(W * H);
  const cosR = Math.cos(rot);
  const sinR = Math.sin(rot);
  const cx = W / 2 + dx;
  const cy = H / 2 + dy;
  const inv = 1 / ppu;
  // Edges spread over EDGE_PX pixels: the lens's blur, which also keeps jitter from flipping whole pixels.
  const edge = ppu / EDGE_PX;
  const shadowOff = 0.018;
  const texSu = (TEX_W - 1) / (2 * PLATE_HW);
  const texSv = (TEX_H - 1) / (2 * PLATE_HH);

  // The belt's weave, sin(0.9 x + 0.07 y) sin(1.3 y), from per-column and per-row tables.
  const colSin = new Float64Array(W);
  const colCos = new Float64Array(W);
  for (let x = 0; x < W; x++) {
    colSin[x] = Math.sin(0.9 * x);
    colCos[x] = Math.cos(0.9 * x);
  }
  const rowSin = new Float64Array(H);
  const rowCos = new Float64Array(H);
  const rowWeave = new Float64Array(H);
  for (let y = 0; y < H; y++) {
    rowSin[y] = Math.sin(0.07 * y);
    rowCos[y] = Math.cos(0.07 * y);
    rowWeave[y] = Math.sin(1.3 * y);
  }
  // Pixel boxes of the features, so each pixel only evaluates what can reach it.
  const pose = { cosR, sinR, ppu, cx, cy };
  const nHoles = holes.length;
  const holeU = Float64Array.from(holes, (h) => h.u);
  const holeV = Float64Array.from(holes, (h) => h.v);
  const holeR = Float64Array.from(holes, (h) => h.r);
  const holeReach = Float64Array.from(holes, (h) => h.r + CHAMFER + 2 * EDGE_PX * inv);
  const holeBox = new Int32Array(nHoles * 4);
  for (let h = 0; h < nHoles; h++)
    holeBox.set(
      imageBox(
        holeU[h] - holeReach[h],
        holeU[h] + holeReach[h],
        holeV[h] - holeReach[h],
        holeV[h] + holeReach[h],
        pose,
      ),
      h * 4,
    );
  const rowHoles = new Int32Array(nHoles);
  const pm = POCKET_WALL + 0.03;
  const pocketBox = imageBox(
    POCKET_U - POCKET_HW - pm,
    POCKET_U + POCKET_HW + pm,
    POCKET_V - POCKET_HH - pm,
    POCKET_V + POCKET_HH + pm,
    pose,
  );
  const defectBox = painter
    ? imageBox(painter.u0, painter.u1, painter.v0, painter.v1, pose)
    : Int32Array.of(1, 0, 1, 0);

  let o = 0;
  for (let y = 0; y < H; y++) {
    const yy = y + 0.5 - cy;
    const fy = y / H - 0.5;
    let nRow = 0;
    for (let h = 0; h < nHoles; h++)
      if (y >= holeBox[h * 4 + 2] && y <= holeBox[h * 4 + 3]) rowHoles[nRow++] = h;
    const pocketRow = y >= pocketBox[2] && y <= pocketBox[3];
    const defectRow = y >= defectBox[2] && y <= defectBox[3];
    for (let x = 0; x < W; x++, o++) {
      const xx = x + 0.5 - cx;
      const fx = x / W - 0.5;
      const u = (cosR * xx + sinR * yy) * inv;
      const v = (-sinR * xx + cosR * yy) * inv;

      const plateD = roundedRect(u, v, PLATE_HW, PLATE_HH, PLATE_R);
      const plateCov = clamp01(0.5 - plateD * edge);
      let lum = 0;
      let cr = 0.9;
      let cg = 0.96;
      let cb = 1.1;
      if (plateCov < 1) {
        // Conveyor belt: dark, slightly bluish, fixed to the camera, with the plate's soft shadow.
        lum = 46 + 5 * (colSin[x] * rowCos[y] + colCos[x] * rowSin[y]) * rowWeave[y];
        const shadowD = roundedRect(u + shadowOff, v + shadowOff, PLATE_HW, PLATE_HH, PLATE_R);
        lum *= 1 - 0.45 * smooth(0.5 - shadowD / 0.03);
      }
      let onSurface = 0;
      if (plateCov > 0) {
        // Brushed aluminium.
        let tu = (u + PLATE_HW) * texSu;
        let tv = (v + PLATE_HH) * texSv;
        tu = tu < 0 ? 0 : tu > TEX_W - 1.001 ? TEX_W - 1.001 : tu;
        tv = tv < 0 ? 0 : tv > TEX_H - 1.001 ? TEX_H - 1.001 : tv;
        const iu = tu | 0;
        const iv = tv | 0;
        const au = tu - iu;
        const av = tv - iv;
        const ti = iv * TEX_W + iu;
        const t =
          (tex[ti] * (1 - au) + tex[ti + 1] * au) * (1 - av) +
          (tex[ti + TEX_W] * (1 - au) + tex[ti + TEX_W + 1] * au) * av;
        let m = 158 + 9 * t;
        // Edge bevel: lit on the top/left, dark on the bottom/right.
        const bevel = clamp01(1 + plateD / BEVEL);
        if (bevel > 0) m += bevel * 70 * rectFacing(u, v, PLATE_HW, PLATE_HH, PLATE_R);
        // Milled pocket: smoother, slightly darker floor, shaded walls, a shadow under the lit wall.
        const pu = u - POCKET_U;
        const pv = v - POCKET_V;
        const pocketIn =
          pocketRow && x >= pocketBox[0] && x <= pocketBox[1]
            ? clamp01(0.5 - roundedRect(pu, pv, POCKET_HW, POCKET_HH, POCKET_R) * edge)
            : 0;
        if (pocketIn > 0) {
          const pocketD = roundedRect(pu, pv, POCKET_HW, POCKET_HH, POCKET_R);
          const floorIn = clamp01(0.5 - (pocketD + POCKET_WALL) * edge);
          const wall = 150 + 4 * t - 75 * rectFacing(pu, pv, POCKET_HW, POCKET_HH, POCKET_R);
          const shadeD = roundedRect(pu + LX * 0.02, pv + LY * 0.02, POCKET_HW, POCKET_HH, POCKET_R);
          const floor = (138 + 4 * t) * (1 - 0.2 * clamp01(0.5 + shadeD * edge));
          m = m * (1 - pocketIn) + wall * (pocketIn - floorIn) + floor * floorIn;
        }
        let surf = 1;
        // Through holes with a chamfered rim.
        for (let i = 0; i < nRow; i++) {
          const h = rowHoles[i];
          if (x < holeBox[h * 4] || x > holeBox[h * 4 + 1]) continue;
          const hu = u - holeU[h];
          const hv = v - holeV[h];
          const reach = holeReach[h];
          if (hu > reach || hu < -reach || hv > reach || hv < -reach) continue;
          const hd = Math.sqrt(hu * hu + hv * hv);
          if (hd > reach) continue;
          const hr = holeR[h];
          const inside = clamp01(0.5 - (hd - hr) * edge);
          const rim = clamp01(0.5 - (hd - hr - CHAMFER) * edge) - inside;
          if (rim > 0) {
            // Chamfer faces the hole's centre: the far side catches the light.
            const face = (-(hu * LX + hv * LY) / (hd || 1)) * 0.9;
            m = m * (1 - rim) + (120 + 80 * face) * rim;
          }
          if (inside > 0) {
            m = m * (1 - inside) + 18 * inside;
            surf = 1 - inside;
          }
        }
        let mr = 1.0;
        let mg = 1.0;
        let mb = 1.03;
        if (painter && defectRow && x >= defectBox[0] && x <= defectBox[1]) {
          onSurface = surf * plateCov;
          resetPaint();
          const a = painter.shade(u, v, ppu) * onSurface;
          if (a > 0) {
            m = (m * paint.mul + paint.add) * a + m * (1 - a);
            mr *= paint.r;
            mg *= paint.g;
            mb *= paint.b;
          }
          if (onSurface > 0.5 && painter.inMask(u, v, ppu)) mask[y * W + x] = 1;
        }
        lum = lum * (1 - plateCov) + m * plateCov;
        cr = cr * (1 - plateCov) + mr * plateCov;
        cg = cg * (1 - plateCov) + mg * plateCov;
        cb = cb * (1 - plateCov) + mb * plateCov;
      }

      // Lighting: gradient across the field and a little vignetting, then the camera's gain and offset.
      const light = (1 + gradX * fx + gradY * fy) * (1 - 0.35 * (fx * fx + fy * fy));
      lum = ((lum * light - 110) * contrast + 110) * gain + offset;

      // Sensor noise: triangular, three channels from two draws of xorshift32.
      let s = noiseState;
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const n1 = s >>> 0;
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const n2 = s >>> 0;
      noiseState = s;
      const k = noiseSigma / 104.5;
      const nr = ((n1 & 0xff) + ((n1 >>> 8) & 0xff) - 255) * k;
      const ng = (((n1 >>> 16) & 0xff) + (n1 >>> 24) - 255) * k;
      const nb = ((n2 & 0xff) + ((n2 >>> 8) & 0xff) - 255) * k;

      const R = lum * cr * wbR + nr;
      const G = lum * cg + ng;
      const B = lum * cb * wbB + nb;
      const p = o * 3;
      px[p] = R;
      px[p + 1] = G;
      px[p + 2] = B;
    }
  }
  return { rgb, mask };
}
