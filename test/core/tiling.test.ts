import { describe, expect, it } from 'vitest';
import { isInspectdError } from '../../src/core/errors.js';
import {
  defaultOverlap,
  imagesPerCall,
  maxOverTiles,
  stitchMaps,
  tileLayout,
  tilePositions,
  type Tiling,
} from '../../src/core/tiling.js';

const sq = (n: number) => ({ width: n, height: n });

/** The error a call throws, for its message and details. */
function thrown(f: () => unknown): { message: string; subject?: string; fix?: string } {
  try {
    f();
  } catch (e) {
    if (!isInspectdError(e)) throw e;
    return { message: e.message, subject: e.details.subject, fix: e.details.fix };
  }
  throw new Error('expected an error');
}

describe('tile layout', () => {
  it('places the first tile flush with the start, the last flush with the end, evenly between', () => {
    // cols = ceil((448 - 28) / (224 - 28)) = 3, x_k = round(k * 224 / 2)
    expect(tilePositions(448, 224, 28)).toEqual([0, 112, 224]);
    // 2448 at 224 with 28: ceil(2420 / 196) = 13 columns, step 2224 / 12 = 185.33
    const xs = tilePositions(2448, 224, 28);
    expect(xs).toHaveLength(13);
    expect(xs[0]).toBe(0);
    expect(xs[12]).toBe(2448 - 224);
    expect(xs.slice(0, 4)).toEqual([0, 185, 371, 556]);
    // An exact fit keeps the exact step: 0, 196, 392 for 616 = 224 + 2 * 196.
    expect(tilePositions(616, 224, 28)).toEqual([0, 196, 392]);
    // No overlap asked for, canvas a multiple of the tile: tiles side by side.
    expect(tilePositions(672, 224, 0)).toEqual([0, 224, 448]);
  });

  it('keeps neighbours overlapping by at least the overlap asked for, over many sizes', () => {
    for (let canvas = 64; canvas <= 700; canvas += 7) {
      for (const [tile, overlap] of [
        [64, 0],
        [64, 8],
        [64, 63],
        [96, 12],
        [50, 25],
      ]) {
        if (tile > canvas) continue;
        const xs = tilePositions(canvas, tile, overlap);
        expect(xs[0]).toBe(0);
        expect(xs[xs.length - 1]).toBe(canvas - tile);
        for (let k = 1; k < xs.length; k++) {
          expect(xs[k] - xs[k - 1], `${canvas}/${tile}/${overlap}`).toBeLessThanOrEqual(tile - overlap);
          expect(xs[k]).toBeGreaterThan(xs[k - 1]);
        }
        // As few tiles as the overlap allows: one fewer could not cover the canvas with that overlap.
        expect(xs.length).toBe(Math.ceil((canvas - overlap) / (tile - overlap)));
      }
    }
  });

  it('a canvas the size of the tile is one tile', () => {
    expect(tileLayout(sq(224), sq(224), 28)).toEqual({
      width: 224,
      height: 224,
      overlap: 28,
      cols: 1,
      rows: 1,
      xs: [0],
      ys: [0],
    });
  });

  it('non-square canvas and tile: each axis on its own', () => {
    expect(tileLayout({ width: 448, height: 224 }, sq(224), 28)).toEqual({
      width: 224,
      height: 224,
      overlap: 28,
      cols: 3,
      rows: 1,
      xs: [0, 112, 224],
      ys: [0],
    });
    const t = tileLayout({ width: 2448, height: 2048 }, { width: 256, height: 128 }, 16);
    expect([t.cols, t.rows]).toEqual([11, 19]); // ceil(2432 / 240), ceil(2032 / 112)
    expect(t.xs[10]).toBe(2448 - 256);
    expect(t.ys[18]).toBe(2048 - 128);
  });

  it('the default overlap is 1/8 of the tile side (the shorter one)', () => {
    expect(defaultOverlap(sq(224))).toBe(28);
    expect(defaultOverlap({ width: 256, height: 96 })).toBe(12);
  });

  it('a tile larger than the canvas is refused, naming --tile, --size and the fix', () => {
    const e = thrown(() => tileLayout({ width: 448, height: 224 }, sq(256), 32));
    expect(e.message).toBe('--tile 256 is taller than the canvas --size 448x224 it is cut from');
    expect(e.subject).toBe('--tile');
    expect(e.fix).toContain('--tile 256x224');
    expect(e.fix).toContain('a larger --size');
    expect(thrown(() => tileLayout(sq(200), { width: 300, height: 100 }, 0)).message).toBe(
      '--tile 300x100 is wider than the canvas --size 200 it is cut from',
    );
  });

  it('an overlap of the tile side or more is refused, with the range and the default', () => {
    const e = thrown(() => tileLayout(sq(448), sq(224), 224));
    expect(e.message).toBe('--overlap 224 leaves no step between tiles of 224 pixels');
    expect(e.subject).toBe('--overlap');
    expect(e.fix).toBe('pass an --overlap from 0 to 223 pixels, or leave it out (1/8 of the tile side: 28)');
  });

  it('a batch counts model inputs: images per call = batch / tiles, at least one', () => {
    expect(imagesPerCall(64, 1)).toBe(64);
    expect(imagesPerCall(64, 3)).toBe(21);
    expect(imagesPerCall(16, 110)).toBe(1);
  });
});

describe('stitching tiles back onto the canvas', () => {
  // A 5x3 canvas, tiles of 3x3 at x 0 and 2 (overlap 1 column: x = 2).
  const t: Tiling = { width: 3, height: 3, overlap: 1, cols: 2, rows: 1, xs: [0, 2], ys: [0] };
  const canvas = { width: 5, height: 3 };

  it('places each tile at its position and takes the max where they overlap', () => {
    // prettier-ignore
    const tiles = Float32Array.from([
      // frame 0, tile 0
      1, 2, 3,
      4, 5, 6,
      7, 8, 9,
      // frame 0, tile 1
      10, 0, 0,
      0, 0, 0,
      2, 0, -1,
    ]);
    // prettier-ignore
    expect([...stitchMaps(tiles, t, canvas, 1)]).toEqual([
      1, 2, 10, 0, 0,
      4, 5, 6, 0, 0,
      7, 8, 9, 0, -1,
    ]);
  });

  it('stitches frames one after the other (frame-major, tiles row by row)', () => {
    const grid: Tiling = { width: 2, height: 2, overlap: 0, cols: 2, rows: 2, xs: [0, 2], ys: [0, 2] };
    // Two frames of four 2x2 tiles; every value of tile k of frame f is 10 f + k.
    const tiles = Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => {
      const tile = Math.floor(i / 4);
      return 10 * Math.floor(tile / 4) + (tile % 4);
    });
    // prettier-ignore
    expect([...stitchMaps(tiles, grid, sq(4), 2)]).toEqual([
      0, 0, 1, 1,
      0, 0, 1, 1,
      2, 2, 3, 3,
      2, 2, 3, 3,
      10, 10, 11, 11,
      10, 10, 11, 11,
      12, 12, 13, 13,
      12, 12, 13, 13,
    ]);
  });

  it('refuses maps that are not frames x tiles of the tile size', () => {
    expect(() => stitchMaps(new Float32Array(17), t, canvas, 1)).toThrow(
      '17 map values are not 1 frames x 2 tiles of 3x3',
    );
  });

  it("a frame's score is the max of its tiles' scores", () => {
    expect([...maxOverTiles(Float32Array.from([1, 5, 2, -3, -1, -2]), 3)]).toEqual([5, -1]);
    expect([...maxOverTiles(Float32Array.from([4, 7]), 1)]).toEqual([4, 7]);
  });
});
