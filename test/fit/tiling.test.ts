import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ort } from '../../src/inference/session.js';
import type { PixelBatch } from '../../src/preprocess/frame.js';
import { readManifest, type Manifest } from '../../src/recipe/manifest.js';
import { RecipeModel } from '../../src/recipe/recipeModel.js';
import { evalWithOutputs, gaussianFitArgs, runCli } from '../helpers/cli.js';
import { goodImagesFolder, smallDataset, tempDir } from '../helpers/fixtures.js';
import { DATASETS, SHARED_BACKBONE } from '../helpers/paths.js';

const log = pino({ level: 'silent' });
const CPU = { providers: ['cpu' as const], threads: 1 };
const [W, H, T] = [448, 224, 224];
const TEST = path.join(DATASETS, 'mpdd_metal_plate', 'test');

/** `inspectd fit --method nearest-patch` on 448x224 canvases in 224 tiles, with a small bank. */
const fitArgs = (images: string, out: string, extra: string[] = [], tile = String(T)): string[] => [
  'fit',
  '--method',
  'nearest-patch',
  '--backbone',
  SHARED_BACKBONE,
  '--layers',
  's8_32ch,s16_96ch',
  '--size',
  `${W}x${H}`,
  '--tile',
  tile,
  '--bank',
  '300',
  '--min-images',
  '8',
  '--images',
  images,
  '--out',
  out,
  ...extra,
];

/** Image files decoded at their own size, as one batch of frames (all the same size). */
async function frames(files: string[]): Promise<PixelBatch> {
  const decoded = await Promise.all(
    files.map((f) => sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true })),
  );
  const { width, height } = decoded[0].info;
  return { data: Buffer.concat(decoded.map((d) => d.data)), n: files.length, width, height, channels: 3 };
}

/** The canvas-sized 8-bit view of frame `f` cut into the recipe's tiles: a batch of tile-sized frames. */
function cutTiles(views: Uint8Array, f: number, m: Manifest): Buffer[] {
  const t = m.input.tiling!;
  const out: Buffer[] = [];
  for (const y0 of t.ys)
    for (const x0 of t.xs) {
      const tile = Buffer.alloc(t.width * t.height * 3);
      for (let y = 0; y < t.height; y++) {
        const from = ((f * m.input.height + y0 + y) * m.input.width + x0) * 3;
        views.subarray(from, from + t.width * 3).forEach((v, i) => (tile[y * t.width * 3 + i] = v));
      }
      out.push(tile);
    }
  return out;
}

/** A good test image at the canvas size with a 24 px checkerboard patch centred at (cx, cy). */
async function withDefect(cx: number, cy: number): Promise<PixelBatch> {
  const good = readdirSync(path.join(TEST, 'good')).sort()[0];
  const data = await sharp(path.join(TEST, 'good', good))
    .removeAlpha()
    .resize(W, H, { fit: 'fill' })
    .raw()
    .toBuffer();
  for (let y = cy - 12; y < cy + 12; y++)
    for (let x = cx - 12; x < cx + 12; x++)
      data.fill((Math.floor(x / 4) + Math.floor(y / 4)) % 2 ? 255 : 0, (y * W + x) * 3, (y * W + x + 1) * 3);
  return { data, n: 1, width: W, height: H, channels: 3 };
}

const argmax = (a: Float32Array): number => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

describe('fit --size 448x224 --tile 224 (nearest-patch on real MPDD images)', () => {
  let recipe: string;
  let m: Manifest;
  let tiled: RecipeModel;
  /** The same fit's model scoring whole 224x224 images: the manifest without the tiling. */
  let untiled: RecipeModel;

  beforeAll(async () => {
    const good = await goodImagesFolder(12, 256);
    recipe = path.join(tempDir('tiles'), 'tiles');
    const fit = await runCli(fitArgs(good, recipe));
    expect(fit.code, fit.stderr).toBe(0);
    m = await readManifest(recipe);
    tiled = await RecipeModel.load(recipe, CPU, log);
    const { tiling: _, ...whole } = m.input;
    untiled = await RecipeModel.open(
      recipe,
      {
        ...m,
        input: { ...whole, width: T, height: T },
        outputs: { ...m.outputs, mapWidth: T, mapHeight: T },
      },
      CPU,
      log,
    );
  });

  afterAll(async () => {
    await tiled?.close();
    await untiled?.close();
  });

  it('records the tiling in the input spec; every tile of every image is a training sample', () => {
    expect(m.input).toMatchObject({ width: W, height: H });
    expect(m.input.tiling).toEqual({
      width: T,
      height: T,
      overlap: 28,
      cols: 3,
      rows: 1,
      xs: [0, 112, 224],
      ys: [0],
    });
    expect(m.outputs).toMatchObject({ mapWidth: W, mapHeight: H });
    expect(m.provenance.trainImages.used).toBe(12);
    // 12 images x 3 tiles x a 28x28 grid (stride 8 at 224).
    expect(m.params.trainingPatches).toBe(12 * 3 * 28 * 28);
    expect(m.calibration.n).toBe(12);
  });

  it('a manifest whose tiling does not fit its canvas is refused at load', async () => {
    const dir = tempDir('tiles-bad-manifest');
    const bad = { ...m, input: { ...m.input, tiling: { ...m.input.tiling!, xs: [0, 112, 300] } } };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(bad));
    await expect(readManifest(dir)).rejects.toThrow('input.tiling does not fit its tiles on the input size');
  });

  it("scores a batch of frames' tiles in one model run: max over tiles, maps stitched with max", async () => {
    const batch = await frames([
      path.join(TEST, 'good', readdirSync(path.join(TEST, 'good')).sort()[0]),
      path.join(TEST, 'defect', readdirSync(path.join(TEST, 'defect')).sort()[0]),
    ]);
    // onnxruntime-node's InferenceSession is a class at run time (its typings declare a factory).
    const session = ort.InferenceSession as unknown as { prototype: ort.InferenceSession };
    const runs = vi.spyOn(session.prototype, 'run');
    const r = await tiled.score(batch);
    expect(runs).toHaveBeenCalledTimes(1);
    runs.mockRestore();
    expect(r.scores).toHaveLength(2);
    expect(r.maps).toHaveLength(2 * W * H);
    expect(r.views).toHaveLength(2 * W * H * 3);

    // The same tiles cut from the canvas the front made, scored as six whole images by the same model.
    const tiles = [...cutTiles(r.views, 0, m), ...cutTiles(r.views, 1, m)];
    const each = await untiled.score({ data: Buffer.concat(tiles), n: 6, width: T, height: T, channels: 3 });
    const t = m.input.tiling!;
    for (let f = 0; f < 2; f++) {
      const want = Math.max(...each.scores.subarray(f * 3, f * 3 + 3));
      expect(Math.abs(r.scores[f] - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want));
      let worst = 0;
      let scale = 0;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          let v = -Infinity;
          t.xs.forEach((x0, k) => {
            if (x >= x0 && x < x0 + T) v = Math.max(v, each.maps[((f * 3 + k) * T + y) * T + x - x0]);
          });
          worst = Math.max(worst, Math.abs(r.maps[(f * H + y) * W + x] - v));
          scale = Math.max(scale, Math.abs(v));
        }
      expect(worst).toBeLessThanOrEqual(1e-5 * scale);
    }
  });

  it('a defect in the right half lands in the right half of the stitched map, one in the left half in the left', async () => {
    for (const [cx, cy] of [
      [W - 70, 110],
      [70, 110],
    ]) {
      const r = await tiled.score(await withDefect(cx, cy));
      const peak = argmax(r.maps);
      const [px, py] = [peak % W, Math.floor(peak / W)];
      expect(px >= W / 2, `peak at (${px},${py}) for a defect at (${cx},${cy})`).toBe(cx >= W / 2);
      expect(Math.hypot(px - cx, py - cy)).toBeLessThan(40);
      expect(r.scores[0]).toBeGreaterThan(m.threshold.value);
    }
  });

  it('the daemon path: frames of two cameras batched into one run of 2 x 3 tiles give the same results', async () => {
    const model = await RecipeModel.load(recipe, CPU, log, { maxBatch: 2, maxWaitMs: 60_000 });
    try {
      model.addCaller(1);
      model.addCaller(1);
      const a = await withDefect(W - 70, 110);
      const b = await withDefect(70, 110);
      const [ra, rb] = await Promise.all([model.inspect(a), model.inspect(b)]);
      expect(model.meanBatch).toBe(2);
      for (const [frame, got] of [
        [a, ra],
        [b, rb],
      ] as const) {
        const alone = await tiled.score(frame);
        expect(got.score).toBeCloseTo(alone.scores[0], 4);
        expect(got.map).toHaveLength(W * H);
        expect(got.view).toHaveLength(W * H * 3);
        expect(got.map[argmax(alone.maps)]).toBeCloseTo(alone.maps[argmax(alone.maps)], 4);
      }
    } finally {
      await model.close();
    }
  });

  it('eval needs no new flag: canvas-sized maps and overlays', async () => {
    const dataset = await smallDataset(3);
    const { r, json, overlays } = await evalWithOutputs(recipe, dataset);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as { images: unknown[]; pixel_auroc: number };
    expect(rep.images).toHaveLength(6);
    expect(rep.pixel_auroc).toBeGreaterThan(0.5);
    const files = existsSync(overlays) ? readdirSync(overlays) : [];
    expect(files.length).toBeGreaterThan(0);
    const meta = await sharp(path.join(overlays, files[0])).metadata();
    expect([meta.width, meta.height]).toEqual([2 * W, H]); // image | heatmap, at the canvas size
  });
});

describe('fit --tile with the other methods and bad values', () => {
  it('gaussian: a Gaussian per position over every tile of every image', async () => {
    const good = await goodImagesFolder(8, 128);
    const out = path.join(tempDir('tiles-gauss'), 'g');
    const fit = await runCli(
      gaussianFitArgs({
        backbone: SHARED_BACKBONE,
        layers: 's4_24ch,s8_32ch',
        size: '192x96',
        images: good,
        out,
        extra: ['--tile', '96', '--overlap', '0', '--channels', '16', '--min-images', '8'],
      }),
    );
    expect(fit.code, fit.stderr).toBe(0);
    const g = await readManifest(out);
    expect(g.input.tiling).toEqual({
      width: 96,
      height: 96,
      overlap: 0,
      cols: 2,
      rows: 1,
      xs: [0, 96],
      ys: [0],
    });
    expect(g.params.samples).toBe(16);
    expect(g.provenance.trainImages.used).toBe(8);
    expect(g.outputs).toMatchObject({ mapWidth: 192, mapHeight: 96 });
  });

  it('refuses a tile larger than the canvas, an overlap of a tile side, and --overlap without --tile', async () => {
    const out = path.join(tempDir('tiles-bad'), 'r');
    const images = path.join(TEST, 'good');
    let r = await runCli(fitArgs(images, out, [], '512'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--tile 512 is wider than the canvas --size 448x224 it is cut from');
    expect(r.stderr).toContain('fix: pass a --tile no larger than --size on each side (e.g. --tile 448x224)');

    r = await runCli(fitArgs(images, out, ['--overlap', '224']));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--overlap 224 leaves no step between tiles of 224 pixels');

    r = await runCli(fitArgs(images, out, [], '224x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tile: got "224x"; allowed: N \(square\) or WxH/);

    r = await runCli([
      ...gaussianFitArgs({ backbone: SHARED_BACKBONE, layers: 's4_24ch', size: 96, images, out }),
      '--overlap',
      '8',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--overlap only applies with --tile');
    expect(existsSync(out)).toBe(false);
  });
});
