import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseSize } from '../../src/core/inputSpec.js';
import { readManifest } from '../../src/recipe/manifest.js';
import { RecipeModel } from '../../src/recipe/recipeModel.js';
import { gaussianFitArgs, runCli } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

describe('fit --size: square or WxH', () => {
  it('reads N as N x N and WxH as width x height, within 32..4096', () => {
    expect(parseSize('224')).toEqual({ width: 224, height: 224 });
    expect(parseSize('448x224')).toEqual({ width: 448, height: 224 });
    expect(parseSize(96)).toEqual({ width: 96, height: 96 });
    for (const bad of ['', 'x', '224x', '31', '64x5000', '64X64', '2.5', '-64', 'abc'])
      expect(parseSize(bad), bad).toBeUndefined();
  });

  it("a WxH recipe keeps the parts' aspect: its input and map are W x H, and it scores frames of any size", async () => {
    const good = await goodImagesFolder(20, 96);
    const out = path.join(tempDir('rect'), 'rect');
    const fit = await runCli(
      gaussianFitArgs({
        backbone: SHARED_BACKBONE,
        layers: 's4_24ch,s8_32ch',
        size: '96x64',
        images: good,
        out,
      }),
    );
    expect(fit.code, fit.stderr).toBe(0);
    const m = await readManifest(out);
    expect(m.input).toMatchObject({ width: 96, height: 64 });
    expect(m.outputs).toMatchObject({ mapWidth: 96, mapHeight: 64 });
    const model = await RecipeModel.load(out, { providers: ['cpu'], threads: 1 }, pino({ level: 'silent' }));
    try {
      const frame = {
        data: new Uint8Array(200 * 100 * 3).fill(120),
        n: 1,
        height: 100,
        width: 200,
        channels: 3 as const,
      };
      const r = await model.score(frame);
      expect(r.maps).toHaveLength(96 * 64);
      expect(r.views).toHaveLength(96 * 64 * 3);
      expect(Number.isFinite(r.scores[0])).toBe(true);
    } finally {
      await model.close();
    }
  });
});
