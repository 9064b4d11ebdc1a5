import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { RecipeModel } from '../../src/recipe/recipeModel.js';
import { scoreFiles } from '../../src/recipe/scoreFiles.js';
import { gaussianFitArgs, logLines, runCli } from '../helpers/cli.js';
import { goodImagesFolder, smallDataset, tempDir } from '../helpers/fixtures.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

const LAYERS = 's4_24ch,s8_32ch,s16_96ch';

const fitArgs = (images: string, out: string, extra: string[] = []): string[] => [
  'fit',
  '--method',
  'nearest-patch',
  '--backbone',
  SHARED_BACKBONE,
  '--layers',
  LAYERS,
  '--size',
  '96',
  '--images',
  images,
  '--out',
  out,
  ...extra,
];

interface Manifest {
  method: string;
  params: Record<string, unknown>;
  threshold: { value: number; rule: string };
  provenance: {
    trainImages: { used: number };
    holdoutImages?: string[];
    timingsSeconds: Record<string, number>;
  };
  calibration: { max: number; n: number };
  model: { files: string[] };
}

interface Report {
  image_auroc: number;
  pixel_auroc: number;
  threshold: number;
  images: { file: string; score: number }[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Image scores of `files` through the recipe in `dir`, in process. */
async function scoreImages(dir: string, files: string[]): Promise<number[]> {
  const log = pino({ level: 'silent' });
  const model = await RecipeModel.load(dir, { providers: ['cpu'], threads: 1 }, log);
  try {
    const { scored } = await scoreFiles(model, files, { batchSize: 8, keepMaps: false, log });
    return scored.map((s) => s.score);
  } finally {
    await model.close();
  }
}

/** No user-facing failure may end in a stack trace. */
function expectUsageError(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .*\(.*:\d+:\d+\)/);
}

describe('fit --method nearest-patch + eval on real MPDD images', () => {
  let good: string;
  let dataset: string;
  let recipe: string;
  beforeAll(async () => {
    good = await goodImagesFolder(20, 128);
    dataset = await smallDataset(6);
    recipe = path.join(tempDir('np'), 'recipe');
    // 20 images x 24x24 positions = 11520 patches; 3000 candidates; a bank of 400 in chunks of 150.
    const fit = await runCli(
      fitArgs(good, recipe, ['--bank', '400', '--pool', '3000', '--chunk', '150', '--score', 'reweighted']),
    );
    expect(fit.code, fit.stderr.slice(-3000)).toBe(0);
  }, 180_000);

  it('writes a recipe whose manifest describes the bank, with the threshold from the good images', () => {
    const m = readJson<Manifest>(path.join(recipe, 'manifest.json'));
    expect(m.method).toBe('nearest-patch');
    expect(m.params).toMatchObject({
      bankSize: 400,
      candidates: 3000,
      candidatesPerImage: 150,
      trainingPatches: 20 * 24 * 24,
      channels: 152,
      score: 'reweighted',
      neighbours: 9,
      chunk: 150,
      storage: 'float32',
    });
    expect(m.calibration.n).toBe(20);
    expect(m.threshold.value).toBe(m.calibration.max);
    expect(m.model.files).toEqual(['model.onnx']);
  });

  it('eval scores defects above good parts and reports the recipe threshold', async () => {
    const json = path.join(tempDir('np-eval'), 'report.json');
    const r = await runCli(['eval', '--recipe', recipe, '--dataset', dataset, '--json', json]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const rep = readJson<Report>(json);
    expect(rep.image_auroc).toBeGreaterThanOrEqual(0.8);
    expect(rep.pixel_auroc).toBeGreaterThanOrEqual(0.8);
    expect(rep.threshold).toBe(readJson<Manifest>(path.join(recipe, 'manifest.json')).threshold.value);
  });

  it('a float16 bank gives the same image scores to within half-precision rounding', async () => {
    const half = path.join(tempDir('np16'), 'recipe');
    const fit = await runCli(
      fitArgs(good, half, [
        ...['--bank', '400', '--pool', '3000', '--chunk', '150', '--score', 'reweighted'],
        ...['--bank-dtype', 'float16'],
      ]),
    );
    expect(fit.code, fit.stderr.slice(-3000)).toBe(0);
    const m16 = readJson<Manifest>(path.join(half, 'manifest.json'));
    const m32 = readJson<Manifest>(path.join(recipe, 'manifest.json'));
    expect(m16.params.storage).toBe('float16');
    // Same seed, same bank: only the storage differs.
    expect(Math.abs(m16.threshold.value - m32.threshold.value) / m32.threshold.value).toBeLessThan(5e-3);
    const bytes = (dir: string): number => readFileSync(path.join(dir, 'model.onnx')).byteLength;
    // The backbone's weights are shared; the bank (400 x 152 floats = 243 KB) shrinks by half.
    expect(bytes(recipe) - bytes(half)).toBeGreaterThan(100_000);
  }, 180_000);

  it('a coreset fraction larger than the candidates: the bank takes them all and says so', async () => {
    const out = path.join(tempDir('np-all'), 'recipe');
    // Half of the 11520 training patches wanted, 2000 candidates collected (100 per image); default score.
    const r = await runCli(fitArgs(good, out, ['--coreset', '0.5', '--pool', '2000']));
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const warn = logLines(r.stderr).filter((l) => l.level === 40);
    expect(warn.some((l) => /a bank of 5760 needs more candidates than the 2000 collected/.test(l.msg))).toBe(
      true,
    );
    const m = readJson<Manifest>(path.join(out, 'manifest.json'));
    expect(m.params).toMatchObject({ bankSize: 2000, candidates: 2000, score: 'max', neighbours: null });
  }, 180_000);

  it('--holdout: the threshold comes from good images the bank never saw, so it is not biased low', async () => {
    const out = path.join(tempDir('np-holdout'), 'recipe');
    const r = await runCli(
      fitArgs(good, out, ['--bank', '400', '--pool', '3000', '--chunk', '150', '--holdout', '0.2']),
    );
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const m = readJson<Manifest>(path.join(out, 'manifest.json'));
    // Every 5th of the 20 images in name order is held out; the bank learns from the other 16.
    expect(m.provenance.holdoutImages).toHaveLength(4);
    expect(m.provenance.trainImages.used).toBe(16);
    expect(m.params.trainingPatches).toBe(16 * 24 * 24);
    expect(m.calibration.n).toBe(4);
    expect(m.threshold).toMatchObject({ rule: 'max-good-holdout', value: m.calibration.max });
    // The held-out images are scored through the recipe: eval of exactly them gives the same highest score.
    const heldOut = m.provenance.holdoutImages!.map((f) => path.join(good, f));
    const scores = await scoreImages(out, heldOut);
    expect(Math.max(...scores)).toBeCloseTo(m.threshold.value, 4);
    // Images in the bank score lower than unseen good images: the training-image threshold is too low.
    const trainOnly = path.join(tempDir('np-holdout-train'), 'recipe');
    const t = await runCli(fitArgs(good, trainOnly, ['--bank', '400', '--pool', '3000', '--chunk', '150']));
    expect(t.code, t.stderr.slice(-3000)).toBe(0);
    const mt = readJson<Manifest>(path.join(trainOnly, 'manifest.json'));
    expect(mt.threshold.rule).toBe('max-good-train');
    expect(m.calibration.max).toBeGreaterThan(mt.calibration.max);

    // --refit: the same held-out fit sets the threshold, then the bank learns from all 20 images.
    const refit = path.join(tempDir('np-refit'), 'recipe');
    const rr = await runCli(
      fitArgs(good, refit, [
        '--bank',
        '400',
        '--pool',
        '3000',
        '--chunk',
        '150',
        '--holdout',
        '0.2',
        '--refit',
      ]),
    );
    expect(rr.code, rr.stderr.slice(-3000)).toBe(0);
    const mr = readJson<Manifest>(path.join(refit, 'manifest.json'));
    expect(mr.provenance.trainImages.used).toBe(20);
    expect(mr.params.trainingPatches).toBe(20 * 24 * 24);
    expect(mr.provenance.holdoutImages).toEqual(m.provenance.holdoutImages);
    expect(mr.threshold.rule).toBe('max-good-holdout-refit');
    expect(mr.threshold.value).toBeCloseTo(m.threshold.value, 5);
    expect(mr.calibration.n).toBe(4);
    expect(mr.provenance.timingsSeconds.threshold_fit).toBeGreaterThan(0);
    expect(existsSync(path.join(refit, '.threshold-fit'))).toBe(false);
    // The refitted bank has seen the held-out images: they score lower there than the threshold they set.
    expect(Math.max(...(await scoreImages(refit, heldOut)))).toBeLessThan(mr.threshold.value);

    // Too small a fraction of these 20 images holds out none: refused, with the smallest that works.
    const none = await runCli(fitArgs(good, path.join(tempDir('np-ho0'), 'r'), ['--holdout', '0.04']));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--holdout 0.04 of the 20 good images .* holds out none/);
    expect(none.stderr).toMatch(/raise --holdout to at least 0.050/);
  }, 240_000);

  it('usage errors name the option and what is allowed', async () => {
    const out = path.join(tempDir('np-bad'), 'r');
    expectUsageError(
      await runCli(fitArgs(good, out, ['--eps', '0.1'])),
      /--eps does not apply to --method nearest-patch/,
    );
    expectUsageError(
      await runCli(fitArgs(good, out, ['--bank', '10', '--coreset', '0.1'])),
      /--bank and --coreset both size the bank/,
    );
    expectUsageError(
      await runCli(fitArgs(good, out, ['--score', 'mean'])),
      /--score: got "mean"; allowed: one of reweighted, max/,
    );
    expectUsageError(
      await runCli(fitArgs(good, out, ['--refit'])),
      /--refit needs --holdout F \(a fraction > 0\)/,
    );
    expectUsageError(
      await runCli(fitArgs(good, out, ['--holdout', '0.7'])),
      /--holdout: got "0.7"; allowed: a number from 0 to 0.5/,
    );
    expectUsageError(
      await runCli(fitArgs(good, out, ['--bank', '5000', '--pool', '100'])),
      /--bank: got "5000"; allowed: an integer from 1 to --pool \(100\)/,
    );
    expectUsageError(
      await runCli(
        gaussianFitArgs({
          backbone: SHARED_BACKBONE,
          layers: LAYERS,
          size: 96,
          images: good,
          out,
          extra: ['--pool', '5'],
        }),
      ),
      /--pool does not apply to --method gaussian/,
    );
  });
});
