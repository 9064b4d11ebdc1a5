import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type * as OnnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, runProcess, trainedFitArgs } from '../helpers/cli.js';
import { goodImagesFolder, smallDataset, tempDir } from '../helpers/fixtures.js';
import { trainScript } from '../helpers/train.js';
import { PYTHON, ROOT, SHARED_MODELS } from '../helpers/paths.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof OnnxProto;

const SLOW = 180_000;
const TRAIN = path.join(ROOT, 'scripts', 'train_fusion.py');
const MNV2_WEIGHTS = path.join(SHARED_MODELS, 'mobilenet_v2_imagenet.pth');

interface Manifest {
  method: string;
  input: { width: number; height: number };
  threshold: { value: number; rule: string };
  calibration: { n: number; max: number };
  params: {
    map: string;
    mapOutput: string;
    offset: number;
    grid: number[];
    training: { iterations: number };
  };
  provenance: { holdoutImages?: string[]; trainImages: { used: number } };
}

/** 10 good images at 64 px, 3 iterations, one thread: seconds, and the same model every run. */
const trainTiny = (images: string, out: string, extra: string[]): Promise<string> =>
  trainScript('train_fusion.py', [
    ...['--images', images, '--out', out, '--backbone-weights', MNV2_WEIGHTS, '--size', '64'],
    ...['--iterations', '3', '--batch-size', '4', '--threads', '1', '--log-every', '1', ...extra],
  ]);

const fit = (model: string, images: string, out: string, extra: string[] = []) =>
  runCli(trainedFitArgs('fusion', model, images, out, extra));

const manifestOf = (dir: string) =>
  JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;

describe('fusion recipe (S002): scripts/train_fusion.py, then fit --method fusion and eval (tiny runs)', () => {
  let images: string;
  let held: string;
  let all: string;
  let trainLog: string;

  beforeAll(async () => {
    images = await goodImagesFolder(10);
    const dir = tempDir('fusion-models');
    held = path.join(dir, 'held.onnx');
    all = path.join(dir, 'all.onnx');
    trainLog = await trainTiny(images, held, ['--holdout', '0.2']);
    await trainTiny(images, all, ['--kinds', 'scratch,dent']);
  }, SLOW);

  it(
    'trains on the images it keeps, records the held-out ones, and exports both maps on the stride-8 grid',
    async () => {
      expect(trainLog).toContain('2 of 10 images held out');
      expect(trainLog.match(/iteration \d\/3 Lf=\S+ Ls=\S+ Lfs=\S+/g)).toHaveLength(3);
      const meta = Object.fromEntries(
        onnx.ModelProto.decode(await readFile(held)).metadataProps.map((p) => [p.key ?? '', p.value ?? '']),
      );
      expect(meta).toMatchObject({
        'inspectd.kind': 'trained',
        'inspectd.method': 'fusion',
        'inspectd.size': '64',
        'inspectd.outputs': 'score_map,feature_map',
        'inspectd.train_holdout': '0.2',
      });
      const heldOut = JSON.parse(meta['inspectd.train_holdout_images']) as string[];
      expect(heldOut).toHaveLength(2);
      expect(meta['inspectd.train_images']).toMatch(/\(8 used, 0 skipped\)$/);
      const session = await ort.InferenceSession.create(held);
      try {
        const x = new ort.Tensor('float32', new Float32Array(2 * 3 * 64 * 64).fill(0.1), [2, 3, 64, 64]);
        const y = await session.run({ input: x });
        expect(y.score_map.dims).toEqual([2, 1, 8, 8]);
        expect(y.feature_map.dims).toEqual([2, 1, 8, 8]);
        expect((y.feature_map.data as Float32Array).every((v) => v >= 0)).toBe(true);
      } finally {
        await session.release();
      }
    },
    SLOW,
  );

  it(
    'fit --holdout takes its threshold from the images training left out; the map is centred on the good surface',
    async () => {
      const out = path.join(tempDir('fusion-fit'), 'r');
      const r = await fit(held, images, out, ['--holdout', '0.2']);
      expect(r.code, r.stderr).toBe(0);
      const m = manifestOf(out);
      expect(m.method).toBe('fusion');
      expect([m.input.width, m.input.height]).toEqual([64, 64]);
      expect(m.threshold).toMatchObject({ rule: 'max-good-holdout', value: m.calibration.max });
      expect(m.calibration.n).toBe(2);
      expect(m.provenance.trainImages.used).toBe(8);
      expect(m.params).toMatchObject({ map: 'score', mapOutput: 'score_map', grid: [8, 8] });
      expect(Number.isFinite(m.params.offset)).toBe(true);
      expect(m.params.training.iterations).toBe(3);

      // The feature distance A is >= 0 everywhere, so its mean (the offset) is > 0.
      const outF = path.join(tempDir('fusion-fit'), 'f');
      const rf = await fit(held, images, outF, ['--holdout', '0.2', '--map', 'feature']);
      expect(rf.code, rf.stderr).toBe(0);
      expect(manifestOf(outF).params).toMatchObject({ map: 'feature', mapOutput: 'feature_map' });
      expect(manifestOf(outF).params.offset).toBeGreaterThan(0);

      // Tiled: the trained size is the tile, --size the canvas; the offset is taken over every tile.
      const outT = path.join(tempDir('fusion-fit'), 't');
      const rt = await fit(held, images, outT, [
        '--holdout',
        '0.2',
        '--size',
        '128x64',
        '--tile',
        '64',
        '--overlap',
        '0',
      ]);
      expect(rt.code, rt.stderr).toBe(0);
      const mt = manifestOf(outT) as Manifest & { input: { tiling?: { cols: number; rows: number } } };
      expect([mt.input.width, mt.input.height]).toEqual([128, 64]);
      expect(mt.input.tiling).toMatchObject({ cols: 2, rows: 1 });
      expect(mt.provenance.trainImages.used).toBe(8);

      const dataset = await smallDataset(4);
      const json = path.join(tempDir('fusion-eval'), 'report.json');
      const ev = await runCli(['eval', '--recipe', out, '--dataset', dataset, '--json', json]);
      expect(ev.code, ev.stderr).toBe(0);
      const rep = JSON.parse(readFileSync(json, 'utf8')) as {
        threshold: number;
        images: { score: number; verdict: string }[];
      };
      expect(rep.images).toHaveLength(8);
      expect(rep.threshold).toBe(m.threshold.value);
      for (const i of rep.images) expect(i.verdict).toBe(i.score > rep.threshold ? 'NG' : 'OK');
    },
    SLOW,
  );

  it(
    'refuses a holdout training saw, --refit, and bad training options; warns when training held nothing out',
    async () => {
      const out = path.join(tempDir('fusion-bad'), 'r');
      // 0.25 holds out the 4th and 8th image, which training (0.2: the 5th and 10th) learnt from.
      let r = await fit(held, images, out, ['--holdout', '0.25']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--holdout 0\.25 holds out 2 image\(s\) that .*held\.onnx was trained on/);
      expect(r.stderr).toContain('train with scripts/train_fusion.py --holdout 0.25');

      r = await fit(held, images, out, ['--holdout', '0.2', '--refit']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--refit: fit learns nothing from the images here');

      const ok = await fit(all, images, out, ['--holdout', '0.2']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).toMatch(
        /was trained on every image of its folder, so the held-out images are not new to it/,
      );

      const bad = await runProcess(PYTHON, [
        TRAIN,
        '--images',
        images,
        '--out',
        path.join(out, 'x.onnx'),
        '--backbone-weights',
        MNV2_WEIGHTS,
        '--kinds',
        'rust',
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(
        '--kinds rust: unknown rust; pick from texture,cutpaste,confetti,scratch,dent',
      );
      expect(bad.stderr).not.toContain('Traceback');
    },
    SLOW,
  );
});
