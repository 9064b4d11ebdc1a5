import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianFitArgs, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { DATASETS, SHARED_BACKBONE } from '../helpers/paths.js';

/**
 * The acceptance numbers: PaDiM on ImageNet MobileNetV2 as measured by ../shared/tools/padim_reference.py
 * (../shared/datasets/README.md). fit + eval must land within 1.0 AUROC point of each.
 */
const REFERENCE = {
  mpdd_metal_plate: { image: 52.33, pixel: 95.3 },
  magnetic_tile: { image: 95.99, pixel: 74.95 },
};

describe.each(Object.entries(REFERENCE))('reference PaDiM on %s', (name, ref) => {
  it(
    'fit + eval reproduce the reference image and pixel AUROC within 1 point',
    { timeout: 600_000 },
    async () => {
      const work = tempDir(`repro-${name}`);
      const recipe = path.join(work, 'recipe');
      const report = path.join(work, 'report.json');
      const fit = await runCli(
        gaussianFitArgs({
          backbone: SHARED_BACKBONE,
          layers: 's4_24ch,s8_32ch,s16_96ch',
          size: 224,
          images: path.join(DATASETS, name, 'train', 'good'),
          out: recipe,
          extra: ['--eps', '0.01'],
        }),
      );
      expect(fit.stderr).not.toMatch(/internal error/);
      expect(fit.code, fit.stderr.slice(-3000)).toBe(0);
      const ev = await runCli([
        'eval',
        '--recipe',
        recipe,
        '--dataset',
        path.join(DATASETS, name),
        '--json',
        report,
      ]);
      expect(ev.code, ev.stderr.slice(-3000)).toBe(0);
      const r = JSON.parse(readFileSync(report, 'utf8')) as {
        image_auroc: number;
        pixel_auroc: number;
        au_pro: number;
        threshold: number;
      };
      expect(Math.abs(r.image_auroc * 100 - ref.image)).toBeLessThanOrEqual(1.0);
      expect(Math.abs(r.pixel_auroc * 100 - ref.pixel)).toBeLessThanOrEqual(1.0);
      expect(r.au_pro).toBeGreaterThan(0);
      expect(r.au_pro).toBeLessThanOrEqual(1);
      // The table names every defect type and the overall row.
      expect(ev.stdout).toMatch(/^overall\s+\d+/m);
      const manifest = JSON.parse(readFileSync(path.join(recipe, 'manifest.json'), 'utf8')) as {
        threshold: { value: number };
        calibration: { max: number; n: number };
      };
      expect(manifest.threshold.value).toBe(manifest.calibration.max);
      expect(r.threshold).toBe(manifest.threshold.value);
    },
  );
});
