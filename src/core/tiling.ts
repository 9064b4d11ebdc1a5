/**
 * Tiles of a large frame: the frame is resized to a canvas (`fit --size`), the canvas is cut into tiles of the
 * model's input size (`fit --tile`), each tile is scored, and the tiles' maps are stitched back. Pure: the
 * layout, the stitching and the image score, shared by fit, the recipe graph's tiler and RecipeModel.
 */
import { InspectdError } from './errors.js';
import type { Size } from './inputSpec.js';

/** How a tiled recipe cuts its canvas; recorded in the manifest's input spec (`input.tiling`). */
export interface Tiling {
  /** The tile: the model's input size. */
  width: number;
  height: number;
  /** The least overlap of neighbouring tiles asked for, in canvas pixels (`fit --overlap`). */
  overlap: number;
  cols: number;
  rows: number;
  /** Left edges of the columns and top edges of the rows, in canvas pixels. Tile t is row floor(t/cols). */
  xs: number[];
  ys: number[];
}

/**
 * 1/8 of the tile's shorter side (28 px at 224). Every canvas pixel then lies at least overlap/2 (14 px) inside
 * some tile: beyond the map blur's zero padding (2 sigma = 8 px at sigma 4) and about one cell of a stride-16
 * feature grid, where the backbone's own padding changes the features. It costs (8/7)^2, about 1.3x the tiles
 * of no overlap.
 */
export const defaultOverlap = (tile: Size): number => Math.round(Math.min(tile.width, tile.height) / 8);

/**
 * Tile positions along one axis: the first flush with the start, the last flush with the end, spread evenly,
 * neighbours overlapping by at least `overlap` (count = ceil((canvas - overlap) / (tile - overlap)); the step
 * (canvas - tile) / (count - 1) is then at most tile - overlap, and rounding keeps it so).
 */
export function tilePositions(canvas: number, tile: number, overlap: number): number[] {
  const count = Math.ceil((canvas - overlap) / (tile - overlap));
  if (count <= 1) return [0];
  return Array.from({ length: count }, (_, k) => Math.round((k * (canvas - tile)) / (count - 1)));
}

const sizeText = (s: Size): string => (s.width === s.height ? `${s.width}` : `${s.width}x${s.height}`);

/** The layout of `tile`-sized tiles on `canvas`; errors name the flags and the fix. */
export function tileLayout(canvas: Size, tile: Size, overlap: number): Tiling {
  if (tile.width > canvas.width || tile.height > canvas.height) {
    const side = tile.width > canvas.width ? 'wider' : 'taller';
    throw new InspectdError(
      `--tile ${sizeText(tile)} is ${side} than the canvas --size ${sizeText(canvas)} it is cut from`,
      {
        subject: '--tile',
        value: sizeText(tile),
        fix: `pass a --tile no larger than --size on each side (e.g. --tile ${Math.min(tile.width, canvas.width)}x${Math.min(tile.height, canvas.height)}), a larger --size, or leave --tile out to score the whole canvas at once`,
      },
    );
  }
  const side = Math.min(tile.width, tile.height);
  if (!(Number.isInteger(overlap) && overlap >= 0 && overlap < side)) {
    throw new InspectdError(`--overlap ${overlap} leaves no step between tiles of ${sizeText(tile)} pixels`, {
      subject: '--overlap',
      value: overlap,
      fix: `pass an --overlap from 0 to ${side - 1} pixels, or leave it out (1/8 of the tile side: ${defaultOverlap(tile)})`,
    });
  }
  const xs = tilePositions(canvas.width, tile.width, overlap);
  const ys = tilePositions(canvas.height, tile.height, overlap);
  return { width: tile.width, height: tile.height, overlap, cols: xs.length, rows: ys.length, xs, ys };
}

/** Tiles per frame: 1 for a recipe without tiling. */
export const tileCount = (t: Tiling | undefined): number => (t ? t.cols * t.rows : 1);

/**
 * The frames' tile maps [frames * T, tile height, tile width] (frame-major, tiles row by row) stitched onto
 * [frames, canvas height, canvas width], taking the max where tiles overlap: each tile's map is blurred with
 * zero padding at its own edges, which lowers it there, so the max keeps the value of the tile that sees the
 * pixel well inside it (an average would dilute a defect near one tile's edge).
 */
export function stitchMaps(tileMaps: Float32Array, t: Tiling, canvas: Size, frames: number): Float32Array {
  const { width: tw, height: th } = t;
  const W = canvas.width;
  const plane = W * canvas.height;
  const T = t.cols * t.rows;
  if (tileMaps.length !== frames * T * tw * th)
    throw new Error(`${tileMaps.length} map values are not ${frames} frames x ${T} tiles of ${tw}x${th}`);
  const out = new Float32Array(frames * plane).fill(Number.NEGATIVE_INFINITY);
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < T; k++) {
      const x0 = t.xs[k % t.cols];
      const y0 = t.ys[Math.floor(k / t.cols)];
      const src = (f * T + k) * tw * th;
      for (let y = 0; y < th; y++) {
        const s = src + y * tw;
        const d = f * plane + (y0 + y) * W + x0;
        for (let x = 0; x < tw; x++) {
          const v = tileMaps[s + x];
          if (v > out[d + x]) out[d + x] = v;
        }
      }
    }
  }
  return out;
}

/** Each frame's image score: the max of its T tiles' scores ([frames * T], frame-major). */
export function maxOverTiles(tileScores: Float32Array, tiles: number): Float32Array {
  const out = new Float32Array(tileScores.length / tiles).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < tileScores.length; i++) {
    const f = Math.floor(i / tiles);
    if (tileScores[i] > out[f]) out[f] = tileScores[i];
  }
  return out;
}

/** Images per model call when each image is `tiles` model inputs: the batch size counts model inputs. */
export const imagesPerCall = (batchSize: number, tiles: number): number =>
  Math.max(1, Math.floor(batchSize / tiles));
