/** Jet-like colour ramp, t in [0,1]: 0 = blue, 1 = red. */
export function heatColour(t: number): [number, number, number] {
  const c = (x: number): number => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

/** 8-bit pixels, interleaved: gray (1 channel) or RGB (3). */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** A box to outline, in the map's coordinates. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * An anomaly map blended over an image of the same size, as RGB: blue at `lo`, red at `hi` (a fixed scale, so
 * pictures compare at a glance), 45% heat over 55% image; a gray image counts as RGB.
 */
export function overlayHeatmap(img: Pixels, map: Float32Array, lo: number, hi: number): Buffer {
  const { channels: C, data } = img;
  const out = Buffer.alloc(map.length * 3);
  const span = Math.max(hi - lo, 1e-9);
  for (let i = 0; i < map.length; i++) {
    const [hr, hg, hb] = heatColour((map[i] - lo) / span);
    const p = i * C;
    const [r, g, b] = C === 3 ? [data[p], data[p + 1], data[p + 2]] : [data[p], data[p], data[p]];
    out[i * 3] = Math.round(0.55 * r + 0.45 * hr);
    out[i * 3 + 1] = Math.round(0.55 * g + 0.45 * hg);
    out[i * 3 + 2] = Math.round(0.55 * b + 0.45 * hb);
  }
  return out;
}

/**
 * The map's heat colours as RGBA at the map's own size, with `alpha` (0..1) in every pixel: a layer for an image
 * library to stretch over a frame of any size and blend, so large frames cost the caller no per-pixel work.
 */
export function heatLayer(
  map: { data: Float32Array; width: number; height: number },
  lo: number,
  hi: number,
  alpha = 0.45,
): Buffer {
  const out = Buffer.alloc(map.width * map.height * 4);
  const span = Math.max(hi - lo, 1e-9);
  const a = Math.round(255 * alpha);
  for (let i = 0; i < map.width * map.height; i++) {
    const [r, g, b] = heatColour((map.data[i] - lo) / span);
    out[i * 4] = r;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = b;
    out[i * 4 + 3] = a;
  }
  return out;
}

/**
 * `boxes` (map coordinates) as white outlines in an SVG of the frame's size, scaled by the frame/map ratio,
 * the outline inside each box and pixel-aligned so it is crisp.
 */
export function boxesSvg(boxes: readonly Box[], W: number, H: number, mapW: number, mapH: number): string {
  const t = Math.max(1, Math.round(Math.max(W, H) / 200));
  const rects = boxes.map((b) => {
    const x0 = Math.max(0, Math.floor((b.x * W) / mapW));
    const y0 = Math.max(0, Math.floor((b.y * H) / mapH));
    const x1 = Math.min(W, Math.ceil(((b.x + b.width) * W) / mapW));
    const y1 = Math.min(H, Math.ceil(((b.y + b.height) * H) / mapH));
    const [w, h] = [Math.max(x1 - x0 - t, 0), Math.max(y1 - y0 - t, 0)];
    return `<rect x="${x0 + t / 2}" y="${y0 + t / 2}" width="${w}" height="${h}" fill="none" stroke="#fff" stroke-width="${t}"/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${rects.join('')}</svg>`;
}

/** Colour scale for a recipe's maps: from half the lowest good training score to 1.5x the threshold. */
export const heatScale = (threshold: number, calibrationMin: number): { lo: number; hi: number } => ({
  lo: calibrationMin / 2,
  hi: Math.max(threshold * 1.5, calibrationMin / 2 + 1e-6),
});
