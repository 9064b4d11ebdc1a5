import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type * as OnnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcess, type CliResult } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { PYTHON, ROOT, SHARED_MODELS } from '../helpers/paths.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof OnnxProto;

const HYBRID = path.join(ROOT, 'scripts', 'train_hybrid.py');
const MULTILEVEL = path.join(ROOT, 'scripts', 'train_multilevel.py');
const MNV2_WEIGHTS = path.join(SHARED_MODELS, 'mobilenet_v2_imagenet.pth');
const SLOW = 180_000;

const train = (script: string, args: string[]): Promise<CliResult> =>
  runProcess(PYTHON, [script, ...args], { cwd: ROOT });

/** Tiny CPU runs: 10 images at 64x64, batch 4, one thread (deterministic). */
function tinyArgs(images: string, out: string, iterations: number, extra: string[] = []): string[] {
  return [
    '--images',
    images,
    '--out',
    out,
    '--size',
    '64',
    '--iterations',
    String(iterations),
    '--batch-size',
    '4',
    '--threads',
    '1',
    '--device',
    'cpu',
    '--log-every',
    '1',
    ...extra,
  ];
}

async function trainOk(script: string, args: string[]): Promise<CliResult> {
  const r = await train(script, args);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toContain('Traceback');
  return r;
}

function metadata(buf: Buffer): Record<string, string> {
  return Object.fromEntries(
    onnx.ModelProto.decode(buf).metadataProps.map((p) => [p.key ?? '', p.value ?? '']),
  );
}

/** A fixed pseudo-random input in the normalized range. */
function input(n: number, size: number): ort.Tensor {
  const data = new Float32Array(n * 3 * size * size);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s / 2 ** 32) * 4 - 2;
  }
  return new ort.Tensor('float32', data, [n, 3, size, size]);
}

async function runModel(file: string): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(file);
  try {
    return await session.run({ input: input(2, 64) });
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('autoencoder training scripts (tiny CPU runs)', () => {
  let images: string;
  let tmp: string;

  beforeAll(async () => {
    images = await goodImagesFolder(10);
    tmp = tempDir('train');
  });

  it(
    'train_hybrid.py: ImageNet-initialized phi, spectral norm; a loadable ONNX with z, recon, e1..e3',
    async () => {
      const out = path.join(tmp, 'hybrid.onnx');
      const r = await trainOk(
        HYBRID,
        tinyArgs(images, out, 3, [
          ...['--target', 'pixels', '--backbone-weights', MNV2_WEIGHTS, '--regularizer', 'spectral'],
        ]),
      );
      expect(r.stdout).toMatch(
        /^train_hybrid: 10 images, 3 iterations \([\d.]+s training, [\d.]+s total\) -> .* outputs=z,recon,e1,e2,e3\n$/,
      );
      // Progress: one line per iteration (--log-every 1) with both losses.
      expect(r.stderr.match(/iteration \d\/3 L1=\S+ L2=\S+ [\d.]+ it\/s eta \d+s/g)).toHaveLength(3);

      const meta = metadata(await readFile(out));
      expect(meta).toMatchObject({
        'inspectd.kind': 'autoencoder',
        'inspectd.method': 'hybrid',
        'inspectd.size': '64',
        'inspectd.outputs': 'z,recon,e1,e2,e3',
        'inspectd.train_iterations': '3',
        'inspectd.train_device': 'cpu',
      });
      const settings = JSON.parse(meta['inspectd.train_settings']) as Record<string, unknown>;
      expect(settings).toMatchObject({ regularizer: 'spectral', distance: 'l2', iterations: 3, size: 64 });
      expect(settings.backbone_weights_sha256).toBe(meta['inspectd.weights_sha256']);
      expect(meta['inspectd.weights_sha256']).toMatch(/^[0-9a-f]{64}$/);

      const y = await runModel(out);
      expect(Object.keys(y).sort()).toEqual(['e1', 'e2', 'e3', 'recon', 'z']);
      expect(y.z.dims).toEqual([2, 32, 4, 4]);
      expect(y.recon.dims).toEqual([2, 3, 64, 64]);
      expect(y.e1.dims).toEqual([2, 24, 16, 16]);
      expect(y.e2.dims).toEqual([2, 32, 8, 8]);
      expect(y.e3.dims).toEqual([2, 96, 4, 4]);
      expect((y.recon.data as Float32Array).every(Number.isFinite)).toBe(true);
    },
    SLOW,
  );

  it(
    'train_hybrid.py --target features (the default): psi reconstructs the frozen ImageNet levels; ONNX with z, recon, target',
    async () => {
      const refused = await train(HYBRID, tinyArgs(images, path.join(tmp, 'nope.onnx'), 1));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /--target features reconstructs ImageNet features: pass --backbone-weights/,
      );

      const models = await Promise.all(
        ['1', '2'].map(async (seed) => {
          const out = path.join(tmp, `features-${seed}.onnx`);
          const r = await trainOk(
            HYBRID,
            tinyArgs(images, out, 3, ['--backbone-weights', MNV2_WEIGHTS, '--seed', seed]),
          );
          expect(r.stdout).toMatch(/-> .* outputs=z,recon,target\n$/);
          expect(r.stderr).toMatch(/target features \(F 128x8x8\), latent 16, regularizer spectral/);
          return out;
        }),
      );
      const meta = metadata(await readFile(models[0]));
      expect(meta).toMatchObject({
        'inspectd.method': 'hybrid',
        'inspectd.target': 'features',
        'inspectd.outputs': 'z,recon,target',
      });
      const [a, b] = await Promise.all(models.map((m) => runModel(m)));
      expect(a.z.dims).toEqual([2, 16, 8, 8]);
      expect(a.recon.dims).toEqual([2, 128, 8, 8]);
      expect(a.target.dims).toEqual([2, 128, 8, 8]);
      // F is the frozen backbone's, standardized by the images' statistics: the same whatever the seed; what
      // trains (the 1x1 convs) differs.
      expect(maxAbsDiff(a.target, b.target)).toBeLessThan(1e-5);
      expect(maxAbsDiff(a.recon, b.recon)).toBeGreaterThan(1e-3);
    },
    SLOW,
  );

  it(
    'train_hybrid.py resumes from its checkpoint to the same model as one uninterrupted run',
    async () => {
      const extra = ['--target', 'pixels', '--regularizer', 'jacobian', '--distance', 'ssim', '--seed', '3'];
      const straight = path.join(tmp, 'straight.onnx');
      await trainOk(HYBRID, tinyArgs(images, straight, 4, extra));

      const split = path.join(tmp, 'split.onnx');
      await trainOk(HYBRID, tinyArgs(images, split, 2, [...extra, '--checkpoint-every', '1']));
      expect(existsSync(path.join(`${split}.work`, 'state.pt'))).toBe(true);

      // A second run into the same work folder must not silently discard the checkpoint...
      const refused = await train(HYBRID, tinyArgs(images, split, 4, extra));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/holds a checkpoint of an earlier run; pass --resume/);
      expect(refused.stderr).not.toContain('Traceback');
      // ...nor resume with other settings...
      const other = await train(
        HYBRID,
        tinyArgs(images, split, 4, [...extra.slice(0, 6), '--seed', '4', '--resume']),
      );
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/written with other settings \(seed\)/);

      const resumed = await trainOk(HYBRID, tinyArgs(images, split, 4, [...extra, '--resume']));
      expect(resumed.stderr).toMatch(/resumed from .*state\.pt at iteration 2/);
      expect(resumed.stderr).toMatch(/iteration 3\/4 L1=\S+ L2=\S+ jac=/);
      expect(resumed.stderr).not.toMatch(/iteration 1\/4/);
      expect(metadata(await readFile(split))['inspectd.train_iterations']).toBe('4');

      const a = await runModel(straight);
      const b = await runModel(split);
      for (const name of ['z', 'recon']) expect(maxAbsDiff(a[name], b[name]), name).toBeLessThan(1e-5);
      // And the runs did train: the model differs from the 2-iteration one it resumed from.
      const early = path.join(tmp, 'early.onnx');
      await trainOk(HYBRID, tinyArgs(images, early, 2, extra));
      expect(maxAbsDiff(a.recon, (await runModel(early)).recon)).toBeGreaterThan(1e-4);
    },
    SLOW,
  );

  it(
    'train_multilevel.py: a loadable ONNX with z (low ++ high), recon and the four encoder levels',
    async () => {
      const out = path.join(tmp, 'multilevel.onnx');
      const r = await trainOk(MULTILEVEL, tinyArgs(images, out, 3));
      expect(r.stdout).toMatch(
        /^train_multilevel: 10 images, 3 iterations .* outputs=z,recon,e1,e2,e3,e4\n$/,
      );
      expect(r.stderr.match(/iteration \d\/3 rec=\S+ adv=\S+ disc=\S+/g)).toHaveLength(3);
      const meta = metadata(await readFile(out));
      expect(meta).toMatchObject({
        'inspectd.kind': 'autoencoder',
        'inspectd.method': 'multilevel',
        'inspectd.size': '64',
        'inspectd.outputs': 'z,recon,e1,e2,e3,e4',
      });
      const y = await runModel(out);
      expect(y.z.dims).toEqual([2, 384]);
      expect(y.recon.dims).toEqual([2, 3, 64, 64]);
      expect([y.e1.dims, y.e2.dims, y.e3.dims, y.e4.dims]).toEqual([
        [2, 64, 32, 32],
        [2, 128, 16, 16],
        [2, 256, 8, 8],
        [2, 512, 4, 4],
      ]);
    },
    SLOW,
  );

  it(
    'train_multilevel.py --target features: encodes and reconstructs the frozen ImageNet levels; ONNX with z, recon, target, e1..e3',
    async () => {
      const out = path.join(tmp, 'multilevel-features.onnx');
      const features = ['--target', 'features', '--backbone-weights', MNV2_WEIGHTS];
      const small = await train(MULTILEVEL, tinyArgs(images, out, 1, features));
      expect(small.code).toBe(2);
      expect(small.stderr).toMatch(/--size 64: the multi-level autoencoder needs 128, 256 or 512 pixels/);
      const bare = await train(
        MULTILEVEL,
        tinyArgs(images, out, 1, ['--target', 'features', '--size', '128']),
      );
      expect(bare.code).toBe(2);
      expect(bare.stderr).toMatch(/--target features encodes ImageNet features: pass --backbone-weights/);

      const r = await trainOk(MULTILEVEL, tinyArgs(images, out, 2, [...features, '--size', '128']));
      expect(r.stdout).toMatch(/-> .* outputs=z,recon,target,e1,e2,e3\n$/);
      expect(r.stderr).toMatch(/backbone features of 10 images/);
      expect(metadata(await readFile(out))).toMatchObject({
        'inspectd.method': 'multilevel',
        'inspectd.target': 'features',
        'inspectd.size': '128',
        'inspectd.outputs': 'z,recon,target,e1,e2,e3',
      });
      const session = await ort.InferenceSession.create(out);
      try {
        const y = await session.run({ input: input(2, 128) });
        expect(y.z.dims).toEqual([2, 384]);
        expect(y.recon.dims).toEqual([2, 128, 16, 16]);
        expect(y.target.dims).toEqual([2, 128, 16, 16]);
        expect([y.e1.dims, y.e2.dims, y.e3.dims]).toEqual([
          [2, 64, 8, 8],
          [2, 128, 4, 4],
          [2, 256, 2, 2],
        ]);
        expect((y.recon.data as Float32Array).every(Number.isFinite)).toBe(true);
      } finally {
        await session.release();
      }
    },
    SLOW,
  );

  it(
    'fails clearly (exit 2, one line, no traceback) on bad options and folders',
    async () => {
      const out = path.join(tmp, 'bad.onnx');
      let r = await train(MULTILEVEL, tinyArgs(images, out, 1, ['--size', '96']));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--size 96: the multi-level autoencoder needs 4 \* 2\^k pixels/);
      r = await train(HYBRID, tinyArgs(images, out, 1, ['--size', '72']));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--size 72: phi has stride 16/);
      const missing = path.join(tmp, 'no-such-folder');
      r = await train(HYBRID, tinyArgs(missing, out, 1, ['--target', 'pixels']));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--images ${missing} is not a folder`);
      r = await train(HYBRID, tinyArgs(images, out, 1, ['--backbone-weights', path.join(tmp, 'none.pth')]));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--backbone-weights .*none\.pth is not a file/);
      r = await train(HYBRID, tinyArgs(images, out, 0, ['--target', 'pixels']));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--iterations 0 must be >= 1');
      expect(existsSync(out)).toBe(false);
    },
    SLOW,
  );
});
