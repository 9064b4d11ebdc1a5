import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianFitArgs, logLines, runCli } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

const LAYERS = 's4_24ch,s8_32ch,s16_96ch';
const fitArgs = (images: string, out: string): string[] =>
  gaussianFitArgs({ backbone: SHARED_BACKBONE, layers: LAYERS, size: 64, images, out });

/** No user-facing failure may end in a stack trace. */
function expectCleanFailure(r: { code: number | null; stderr: string }): void {
  expect(r.code).not.toBe(0);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .*\(.*:\d+:\d+\)/);
}

describe('fit with bad input', () => {
  let good: string;
  beforeAll(async () => {
    good = await goodImagesFolder(18);
  });

  it('skips missing, corrupt, truncated and zero-byte images, naming each, and still writes the recipe', async () => {
    const dir = path.dirname(good);
    const images = path.join(dir, 'mixed');
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
      .png()
      .toBuffer(); // warm sharp
    const { readdirSync, mkdirSync } = await import('node:fs');
    mkdirSync(images);
    for (const n of readdirSync(good)) copyFileSync(path.join(good, n), path.join(images, n));
    const sample = readFileSync(path.join(good, readdirSync(good)[0]));
    writeFileSync(path.join(images, 'zz-zero.png'), '');
    writeFileSync(path.join(images, 'zz-corrupt.png'), Buffer.from('this is not an image at all'));
    writeFileSync(path.join(images, 'zz-truncated.png'), sample.subarray(0, Math.floor(sample.length / 2)));
    symlinkSync(path.join(dir, 'does-not-exist.png'), path.join(images, 'zz-missing.png'));
    const out = path.join(tempDir('fit-out'), 'recipe');
    const r = await runCli(fitArgs(images, out));
    expect(r.code).toBe(0);
    const warnings = logLines(r.stderr).filter((l) => l.level === 40 && String(l.msg).startsWith('skipping'));
    for (const bad of ['zz-zero.png', 'zz-corrupt.png', 'zz-truncated.png', 'zz-missing.png']) {
      expect(warnings.some((w) => String(w.file).endsWith(bad))).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      provenance: { trainImages: { used: number; skipped: { file: string; reason: string }[] } };
    };
    expect(manifest.provenance.trainImages.used).toBe(18);
    expect(manifest.provenance.trainImages.skipped.map((s) => path.basename(s.file)).sort()).toEqual([
      'zz-corrupt.png',
      'zz-missing.png',
      'zz-truncated.png',
      'zz-zero.png',
    ]);
    expect(
      manifest.provenance.trainImages.skipped.find((s) => s.file.endsWith('zz-zero.png'))?.reason,
    ).toMatch(/empty \(0 bytes\)/);
  });

  it('converts images of another size or channel count, and says so once per kind', async () => {
    const images = path.join(tempDir('mixed-formats'), 'good');
    const { mkdirSync, readdirSync } = await import('node:fs');
    mkdirSync(images);
    const names = readdirSync(good);
    await Promise.all(
      names.map((n, i) => {
        const src = sharp(path.join(good, n));
        // Gray, RGBA and odd sizes mixed in with plain RGB.
        if (i % 3 === 0)
          return src
            .greyscale()
            .toColourspace('b-w')
            .toFile(path.join(images, `${i}-gray.png`));
        if (i % 3 === 1)
          return src
            .ensureAlpha()
            .resize(80, 50)
            .toFile(path.join(images, `${i}-rgba.png`));
        return src.toFile(path.join(images, `${i}-rgb.png`));
      }),
    );
    const r = await runCli(fitArgs(images, path.join(tempDir('fit-out'), 'recipe')));
    expect(r.code).toBe(0);
    const msgs = logLines(r.stderr).map((l) => String(l.msg));
    expect(msgs.filter((m) => m.includes('converted to RGB') && m.includes('1 channel')).length).toBe(1);
    expect(msgs.filter((m) => m.includes('converted to RGB') && m.includes('4 channel')).length).toBe(1);
    expect(msgs.filter((m) => m.startsWith('images are resized')).length).toBe(1);
  });

  it('a missing image folder: clear error naming it', async () => {
    const r = await runCli(fitArgs('/nonexistent/good-images', path.join(tempDir('fit-out'), 'r')));
    expectCleanFailure(r);
    expect(r.stderr).toMatch(/training image folder \/nonexistent\/good-images cannot be read/);
  });

  it('a backbone without the named output: the error lists the outputs it has', async () => {
    const r = await runCli(
      fitArgs(good, path.join(tempDir('fit-out'), 'r')).map((a) => (a === LAYERS ? 's4_24ch,layer3' : a)),
    );
    expectCleanFailure(r);
    expect(r.stderr).toMatch(/has no output "layer3"; it has: s4_24ch, s8_32ch, s16_96ch, s32_320ch/);
  });

  it('a file that is not an ONNX model as backbone: clear error', async () => {
    const fake = path.join(tempDir('bb'), 'backbone.onnx');
    writeFileSync(fake, 'not a model');
    const r = await runCli(
      fitArgs(good, path.join(tempDir('fit-out'), 'r')).map((a) => (a === SHARED_BACKBONE ? fake : a)),
    );
    expectCleanFailure(r);
    expect(r.stderr).toContain(`${fake} is not an ONNX model`);
  });

  it('fewer good images than a stable covariance needs: error with the count and the minimum', async () => {
    const few = path.join(tempDir('few'), 'good');
    const { mkdirSync, readdirSync } = await import('node:fs');
    mkdirSync(few);
    for (const n of readdirSync(good).slice(0, 5)) copyFileSync(path.join(good, n), path.join(few, n));
    const r = await runCli(fitArgs(few, path.join(tempDir('fit-out'), 'r')));
    expectCleanFailure(r);
    expect(r.stderr).toMatch(/has 5 usable good images; a stable per-position covariance needs at least 16/);
  });

  it('a failed fit leaves nothing behind, and an older recipe in the folder stays whole', async () => {
    const { existsSync, mkdirSync, readdirSync } = await import('node:fs');
    const parent = tempDir('fit-fail');
    const fresh = path.join(parent, 'new-recipe');
    const r = await runCli(fitArgs(good, fresh).map((a) => (a === LAYERS ? 'no_such_level' : a)));
    expectCleanFailure(r);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);

    const old = path.join(parent, 'old-recipe');
    const ok = await runCli(fitArgs(good, old));
    expect(ok.code, ok.stderr).toBe(0);
    const before = readFileSync(path.join(old, 'manifest.json'), 'utf8');
    const few = path.join(parent, 'few');
    mkdirSync(few);
    for (const n of readdirSync(good).slice(0, 3)) copyFileSync(path.join(good, n), path.join(few, n));
    expectCleanFailure(await runCli(fitArgs(few, old)));
    expect(readFileSync(path.join(old, 'manifest.json'), 'utf8')).toBe(before);
    expect(readdirSync(parent).sort()).toEqual(['few', 'old-recipe']);
  });

  it('an unwritable output folder: error before any work is done', async () => {
    const file = path.join(tempDir('blocked'), 'a-file');
    writeFileSync(file, '');
    const r = await runCli(fitArgs(good, path.join(file, 'recipe')));
    expectCleanFailure(r);
    expect(r.stderr).toMatch(/output folder .*a-file\/recipe is not writable/);
    expect(logLines(r.stderr).some((l) => String(l.msg).startsWith('fitting'))).toBe(false);
  });

  it('usage errors: unknown method, missing options, bad numbers', async () => {
    const unknown = await runCli(fitArgs(good, '/tmp/x').map((a) => (a === 'gaussian' ? 'magic' : a)));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--method: got "magic"; allowed: one of gaussian, /);
    const missing = await runCli(['fit', '--method', 'gaussian']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing --backbone, --layers, --size, --images, --out/);
    const size = await runCli(fitArgs(good, '/tmp/x').map((a) => (a === '64' ? 'big' : a)));
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(
      /--size: got "big"; allowed: N \(square\) or WxH, each side from 32 to 4096 pixels/,
    );
  });
});
