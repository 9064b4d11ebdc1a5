import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, runProcess, trainedFitArgs } from '../helpers/cli.js';
import { goodImagesFolder, smallDataset, tempDir } from '../helpers/fixtures.js';
import { PYTHON, ROOT, SHARED_BACKBONE, SHARED_MODELS } from '../helpers/paths.js';

const SLOW = 180_000;

interface Manifest {
  method: string;
  input: { width: number; height: number; mean: number[] };
  threshold: { value: number; rule: string };
  calibration: { n: number; mean: number; max: number };
  params: Record<string, unknown> & { training: { iterations: number; settings: Record<string, unknown> } };
  provenance: { backbone: { file: string }; trainImages: { used: number } };
}

interface Report {
  image_auroc: number;
  pixel_auroc: number;
  threshold: number;
  images: { score: number; verdict: string; label: number }[];
}

async function trainTiny(script: string, images: string, out: string, extra: string[] = []): Promise<void> {
  const r = await runProcess(PYTHON, [
    path.join(ROOT, 'scripts', script),
    ...['--images', images, '--out', out, '--size', '64', '--iterations', '3', '--batch-size', '4'],
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

describe('fit --method hybrid|multilevel, then eval (tiny models, 10 good images)', () => {
  let images: string;
  let dataset: string;
  const models: Record<string, string> = {};

  beforeAll(async () => {
    images = await goodImagesFolder(10);
    dataset = await smallDataset(4);
    const dir = tempDir('ae-models');
    models.hybrid = path.join(dir, 'hybrid.onnx');
    models.multilevel = path.join(dir, 'multilevel.onnx');
    await trainTiny('train_hybrid.py', images, models.hybrid, ['--target', 'pixels']);
    await trainTiny('train_multilevel.py', images, models.multilevel);
    const weights = ['--backbone-weights', path.join(SHARED_MODELS, 'mobilenet_v2_imagenet.pth')];
    models.hybridFeatures = path.join(dir, 'hybrid-features.onnx');
    await trainTiny('train_hybrid.py', images, models.hybridFeatures, weights);
    // 128 px: the smallest size whose F grid (16) the multi-level decoder reaches from 4x4.
    models.multilevelFeatures = path.join(dir, 'multilevel-features.onnx');
    await trainTiny('train_multilevel.py', images, models.multilevelFeatures, [
      ...weights,
      ...['--target', 'features', '--size', '128'],
    ]);
  }, SLOW);

  for (const method of ['hybrid', 'multilevel'] as const) {
    it(
      `${method} on a feature-target model: the error of the reconstructed levels on their grid, normalized like the image one`,
      async () => {
        const out = path.join(tempDir('ae-features'), `${method}-features`);
        const fit = await runCli(trainedFitArgs(method, models[`${method}Features`], images, out));
        expect(fit.code, fit.stderr).toBe(0);
        const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest & {
          outputs: { mapWidth: number; mapHeight: number };
        };
        const size = method === 'hybrid' ? 64 : 128;
        expect(m.params).toMatchObject({
          target: 'features',
          reconstructionError: expect.stringMatching(/^mean over the 128 channels of F/),
          ...(method === 'hybrid'
            ? { latent: [16, 8, 8] }
            : { levels: ['e1', 'e2', 'e3'].map((name) => expect.objectContaining({ name })) }),
        });
        // The map is upsampled from F's grid (size / 8) to the input, as every feature recipe's.
        expect([m.outputs.mapWidth, m.outputs.mapHeight]).toEqual([size, size]);
        expect(m.calibration.mean).toBeGreaterThan(1 - 1e-3);
        expect(m.calibration.mean).toBeLessThan(2 + 1e-3);
        const json = path.join(tempDir('ae-features-eval'), 'report.json');
        const ev = await runCli(['eval', '--recipe', out, '--dataset', dataset, '--json', json]);
        expect(ev.code, ev.stderr).toBe(0);
        const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
        expect(rep.images).toHaveLength(8);
        for (const i of rep.images) expect(i.verdict).toBe(i.score > rep.threshold ? 'NG' : 'OK');
      },
      SLOW,
    );
  }

  for (const method of ['hybrid', 'multilevel'] as const) {
    it(
      `${method}: writes a recipe whose two terms each count about 1 on good images; eval scores it`,
      async () => {
        const out = path.join(tempDir(`ae-${method}`), method);
        const fit = await runCli(trainedFitArgs(method, models[method], images, out));
        expect(fit.code, fit.stderr).toBe(0);
        const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
        expect(m.method).toBe(method);
        expect([m.input.width, m.input.height]).toEqual([64, 64]); // the size the model was trained at
        expect(m.input.mean).toEqual([0.485, 0.456, 0.406]);
        const [w1, w2] = method === 'hybrid' ? ['lambda1', 'lambda2'] : ['alpha', 'beta'];
        for (const w of [w1, w2]) {
          expect(m.params[w]).toBeGreaterThan(0);
          expect(Number.isFinite(m.params[w])).toBe(true);
        }
        expect(m.provenance.backbone.file).toBe(path.resolve(models[method]));
        expect(m.provenance.trainImages.used).toBe(10);
        expect(m.params.training.iterations).toBe(3);
        expect(m.params.training.settings).toMatchObject({ size: 64, batch_size: 4 });
        // Threshold: the highest good training score (S003), from the recipe's own scores.
        expect(m.calibration.n).toBe(10);
        expect(m.threshold).toMatchObject({ value: m.calibration.max, rule: 'max-good-train' });
        // Each term is normalized to mean 1 over the good images, so the max of their sum lies in [1, 2].
        expect(m.calibration.mean).toBeGreaterThan(1 - 1e-3);
        expect(m.calibration.mean).toBeLessThan(2 + 1e-3);

        const json = path.join(tempDir('ae-eval'), 'report.json');
        const ev = await runCli(['eval', '--recipe', out, '--dataset', dataset, '--json', json]);
        expect(ev.code, ev.stderr).toBe(0);
        expect(ev.stdout).toMatch(/^overall\s+8\s/m);
        const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
        expect(rep.images).toHaveLength(8);
        expect(rep.threshold).toBe(m.threshold.value);
        for (const k of ['image_auroc', 'pixel_auroc'] as const) {
          expect(rep[k]).toBeGreaterThanOrEqual(0);
          expect(rep[k]).toBeLessThanOrEqual(1);
        }
        for (const i of rep.images) expect(i.verdict).toBe(i.score > rep.threshold ? 'NG' : 'OK');
      },
      SLOW,
    );
  }

  for (const method of ['hybrid', 'multilevel'] as const) {
    it(
      `${method} with --tile: the trained size is the tile, --size the canvas; every tile is a sample`,
      async () => {
        const out = path.join(tempDir('ae-tiles'), `${method}-tiles`);
        const extra = ['--size', '128x64', '--tile', '64'];
        const fit = await runCli(trainedFitArgs(method, models[method], images, out, extra));
        expect(fit.code, fit.stderr).toBe(0);
        const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest & {
          input: { tiling: unknown };
          outputs: { mapWidth: number; mapHeight: number };
        };
        // overlap 8 (1/8 of 64): ceil((128 - 8) / 56) = 3 columns.
        expect(m.input).toMatchObject({ width: 128, height: 64 });
        expect(m.input.tiling).toEqual({
          width: 64,
          height: 64,
          overlap: 8,
          cols: 3,
          rows: 1,
          xs: [0, 32, 64],
          ys: [0],
        });
        expect([m.outputs.mapWidth, m.outputs.mapHeight]).toEqual([128, 64]);
        expect(m.provenance.trainImages.used).toBe(10);
        // The threshold is a whole-image score (max over tiles), one per image.
        expect(m.calibration.n).toBe(10);
        expect(m.threshold.value).toBe(m.calibration.max);
      },
      SLOW,
    );
  }

  it(
    'rejects a model of the other method, a feature backbone, a size it was not trained at, and Gaussian options',
    async () => {
      const out = path.join(tempDir('ae-bad'), 'r');
      let r = await runCli(trainedFitArgs('multilevel', models.hybrid, images, out));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`--model ${models.hybrid} was trained for --method hybrid, not multilevel`);
      expect(r.stderr).toContain('scripts/train_multilevel.py');

      // The shared feature backbone carries no inspectd metadata at all.
      r = await runCli(trainedFitArgs('hybrid', SHARED_BACKBONE, images, out));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /is not a model written by an inspectd training script \(inspectd\.kind: none\)/,
      );

      r = await runCli(trainedFitArgs('hybrid', models.hybrid, images, out, ['--size', '128']));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--size 128 differs from the size the model was trained at (64)');
      expect(r.stderr).toContain('or pass --tile 64 to cut a 128 canvas into tiles the model knows');

      r = await runCli(
        trainedFitArgs('hybrid', models.hybrid, images, out, ['--size', '128', '--tile', '32']),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--tile 32 differs from the size the model was trained at (64)');

      r = await runCli(trainedFitArgs('hybrid', models.hybrid, images, out, ['--tile', '64']));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--tile 64 needs --size, the canvas the tiles are cut from');

      r = await runCli(trainedFitArgs('hybrid', models.hybrid, images, out, ['--layers', 's4_24ch']));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--layers does not apply to --method hybrid');

      r = await runCli(['fit', '--method', 'hybrid', '--images', images, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('missing --model');

      // Without --min-images 4: the configured minimum (16) is more than the 10 images.
      r = await runCli([
        'fit',
        '--method',
        'hybrid',
        '--model',
        models.hybrid,
        '--images',
        images,
        '--out',
        out,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/has 10 usable good images; .* at least 16/);
    },
    SLOW,
  );
});
