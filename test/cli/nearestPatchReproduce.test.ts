import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { DATASETS, SHARED_BACKBONE } from '../helpers/paths.js';

/**
 * Issue 8's acceptance on mpdd_metal_plate, where the Gaussian (PaDiM) reference fails (52.33 image AUROC):
 * the nearest-patch recipe with README's settings must reach image AUROC >= 99 with a pixel AUROC no worse
 * than the Gaussian reference's 95.30. (magnetic_tile takes minutes: `npm run bench` measures it.)
 */
describe('nearest-patch recipe on mpdd_metal_plate (README settings)', () => {
  it(
    'fit + eval: image AUROC >= 99, pixel AUROC >= the Gaussian reference',
    { timeout: 600_000 },
    async () => {
      const work = tempDir('np-repro');
      const recipe = path.join(work, 'recipe');
      const report = path.join(work, 'report.json');
      const data = path.join(DATASETS, 'mpdd_metal_plate');
      const fit = await runCli([
        'fit',
        '--method',
        'nearest-patch',
        '--backbone',
        SHARED_BACKBONE,
        '--layers',
        's8_32ch,s16_96ch',
        '--size',
        '224',
        '--images',
        path.join(data, 'train', 'good'),
        '--out',
        recipe,
      ]);
      expect(fit.code, fit.stderr.slice(-3000)).toBe(0);
      const ev = await runCli(['eval', '--recipe', recipe, '--dataset', data, '--json', report]);
      expect(ev.code, ev.stderr.slice(-3000)).toBe(0);
      const r = JSON.parse(readFileSync(report, 'utf8')) as { image_auroc: number; pixel_auroc: number };
      expect(r.image_auroc * 100).toBeGreaterThanOrEqual(99);
      expect(r.pixel_auroc * 100).toBeGreaterThanOrEqual(95.3);
      const manifest = JSON.parse(readFileSync(path.join(recipe, 'manifest.json'), 'utf8')) as {
        method: string;
        params: { bankSize: number; candidates: number; score: string };
      };
      // All 41 x 28 x 28 patches are candidates; the default bank keeps 8000 of them.
      expect(manifest.params).toMatchObject({ bankSize: 8000, candidates: 41 * 28 * 28, score: 'max' });
    },
  );
});
