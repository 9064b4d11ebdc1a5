import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { evalWithOutputs, gaussianFitArgs, runCli } from '../helpers/cli.js';
import { goodImagesFolder, smallDataset, tempDir } from '../helpers/fixtures.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

interface Report {
  image_auroc: number;
  pixel_auroc: number;
  au_pro: number;
  threshold: number;
  per_type: Record<string, { images: number; confusion: { tp: number; fp: number; tn: number; fn: number } }>;
  images: { file: string; score: number; verdict: string; label: number }[];
  skipped: { file: string; reason: string }[];
}

describe('eval', () => {
  let recipe: string;
  let dataset: string;
  beforeAll(async () => {
    const good = await goodImagesFolder(20, 128);
    recipe = path.join(tempDir('recipe'), 'small');
    const fit = await runCli(
      gaussianFitArgs({
        backbone: SHARED_BACKBONE,
        layers: 's4_24ch,s8_32ch',
        size: 64,
        images: good,
        out: recipe,
        extra: ['--channels', '20'],
      }),
    );
    expect(fit.code, fit.stderr).toBe(0);
    dataset = await smallDataset(6);
  });

  it('prints a table per defect type, writes a JSON report with fractions and every image, and overlays', async () => {
    const { r, json, overlays } = await evalWithOutputs(recipe, dataset);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^good\s+6\s/m);
    expect(r.stdout).toMatch(/^defect\s+12\s/m);
    expect(r.stdout).toMatch(/^overall\s+12\s/m);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
    for (const k of ['image_auroc', 'pixel_auroc', 'au_pro'] as const) {
      expect(rep[k]).toBeGreaterThanOrEqual(0);
      expect(rep[k]).toBeLessThanOrEqual(1);
    }
    expect(rep.images).toHaveLength(12);
    // Verdicts follow the recipe threshold: NG exactly when score > threshold; confusion counts agree.
    for (const i of rep.images) expect(i.verdict).toBe(i.score > rep.threshold ? 'NG' : 'OK');
    const c = rep.per_type.defect.confusion;
    expect(c.tp + c.fn).toBe(6);
    expect(c.tn + c.fp).toBe(6);
    expect(c.tp).toBe(rep.images.filter((i) => i.label === 1 && i.verdict === 'NG').length);
    // One overlay per miss and per false alarm (up to the configured 8 each), each image | heatmap side by side.
    const misses = rep.images.filter((i) => i.label === 1 && i.verdict === 'OK').length;
    const alarms = rep.images.filter((i) => i.label === 0 && i.verdict === 'NG').length;
    const files = existsSync(overlays) ? readdirSync(overlays) : [];
    expect(files.filter((f) => f.startsWith('miss-'))).toHaveLength(Math.min(8, misses));
    expect(files.filter((f) => f.startsWith('false-alarm-'))).toHaveLength(Math.min(8, alarms));
    // The train-image threshold flags good MPDD test images (see README): there is always something to draw.
    expect(files.length).toBeGreaterThan(0);
    const meta = await sharp(path.join(overlays, files[0])).metadata();
    expect([meta.width, meta.height]).toEqual([128, 64]);
  });

  it('skips an unreadable test image, names it, and reports it in the JSON', async () => {
    const broken = await smallDataset(4);
    writeFileSync(path.join(broken, 'test', 'good', 'zz-broken.png'), Buffer.from('garbage'));
    const json = path.join(tempDir('eval'), 'r.json');
    const r = await runCli(['eval', '--recipe', recipe, '--dataset', broken, '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipping .*zz-broken\.png: image .*zz-broken\.png cannot be decoded/);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(rep.skipped.map((s) => path.basename(s.file))).toEqual(['zz-broken.png']);
    expect(rep.images).toHaveLength(8);
  });

  it('a dataset folder not in MVTec layout: says what is missing and what it holds', async () => {
    const flat = tempDir('flat');
    writeFileSync(path.join(flat, 'a.png'), '');
    const r = await runCli(['eval', '--recipe', recipe, '--dataset', flat]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not in MVTec layout: it has no test\/ folder \(it has: a\.png\)/);
    expect(r.stderr).toMatch(/fix: arrange it as <dataset>\/test\/good/);
    mkdirSync(path.join(flat, 'test', 'defect'), { recursive: true });
    const noGood = await runCli(['eval', '--recipe', recipe, '--dataset', flat]);
    expect(noGood.stderr).toMatch(
      /test\/ needs a good\/ folder and at least one defect folder \(it has: defect\)/,
    );
  });

  it('a folder that is not a recipe: clear error', async () => {
    const r = await runCli(['eval', '--recipe', tempDir('empty'), '--dataset', dataset]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no readable manifest\.json/);
    expect(r.stderr).toMatch(/fix: pass a folder written by `inspectd fit`/);
  });
});
