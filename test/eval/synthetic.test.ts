import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SYNTHETIC_KINDS, synthesizeDefect, type Rgb } from '../../src/eval/synthetic.js';
import { runCli } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/paths.js';

async function rgb(file: string): Promise<Rgb> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('synthetic defects (for validation sets made from good images)', () => {
  it('each kind changes the part only inside its mask, visibly, and the same seed gives the same bytes', async () => {
    const dir = await goodImagesFolder(2, 160);
    const [a, b] = readdirSync(dir).map((n) => path.join(dir, n));
    const img = await rgb(a);
    const other = await rgb(b);
    for (const kind of SYNTHETIC_KINDS) {
      for (const seed of [1, 2, 3]) {
        const d = synthesizeDefect(img, other, kind, seed);
        let area = 0;
        let change = 0;
        let outside = 0;
        for (let p = 0; p < d.mask.length; p++) {
          let diff = 0;
          for (let c = 0; c < 3; c++) diff += Math.abs(d.image.data[p * 3 + c] - img.data[p * 3 + c]);
          if (d.mask[p]) {
            area++;
            change += diff / 3;
          } else if (diff) outside++;
        }
        expect(outside, `${kind} seed ${seed}: pixels changed outside the mask`).toBe(0);
        expect(area, `${kind} seed ${seed}: empty mask`).toBeGreaterThan(10);
        expect(area, `${kind} seed ${seed}: mask covers too much`).toBeLessThan(0.3 * d.mask.length);
        expect(change / area, `${kind} seed ${seed}: too faint`).toBeGreaterThan(5);
        const again = synthesizeDefect(img, other, kind, seed);
        expect(Buffer.from(again.image.data).equals(Buffer.from(d.image.data))).toBe(true);
      }
      const x = synthesizeDefect(img, other, kind, 1);
      const y = synthesizeDefect(img, other, kind, 2);
      expect(Buffer.from(x.mask).equals(Buffer.from(y.mask)), `${kind}: seeds 1 and 2 alike`).toBe(false);
    }
  });

  it('eval --synthetic N measures a recipe on its own good images with synthetic defects, and --keep keeps the set', async () => {
    const good = await goodImagesFolder(16, 128);
    const keep = path.join(tempDir('synthetic-set'), 'set');
    const r = await runCli([
      'eval',
      '--recipe',
      path.join(ROOT, 'models', 'demo'),
      '--synthetic',
      '8',
      '--images',
      good,
      '--keep',
      keep,
      '--seed',
      '4',
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const kind of SYNTHETIC_KINDS) expect(r.stdout).toMatch(new RegExp(`synthetic_${kind}\\s+10\\s`));
    expect(r.stdout).toMatch(/^overall\s+16\s/m);
    expect(readdirSync(path.join(keep, 'test', 'good'))).toHaveLength(8);
    for (const kind of SYNTHETIC_KINDS) {
      const names = readdirSync(path.join(keep, 'test', `synthetic_${kind}`));
      expect(names).toHaveLength(2);
      for (const n of names)
        expect(
          existsSync(path.join(keep, 'ground_truth', `synthetic_${kind}`, n.replace('.png', '_mask.png'))),
        ).toBe(true);
    }
  });

  it('usage: --dataset or --synthetic, exactly one; --keep, --images and --seed go with --synthetic', async () => {
    const recipe = path.join(ROOT, 'models', 'demo');
    const neither = await runCli(['eval', '--recipe', recipe]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/eval needs --dataset DIR or --synthetic N/);
    const both = await runCli(['eval', '--recipe', recipe, '--dataset', ROOT, '--synthetic', '4']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--dataset and --synthetic exclude each other/);
    const keep = await runCli(['eval', '--recipe', recipe, '--dataset', ROOT, '--keep', tempDir('k')]);
    expect(keep.code).toBe(2);
    expect(keep.stderr).toMatch(/--keep goes with --synthetic/);
  });
});
