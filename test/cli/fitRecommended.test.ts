import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitMethods, RECOMMENDED } from '../../src/fit/methods.js';
import { logLines, runCli } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { SHARED_BACKBONE } from '../helpers/paths.js';

interface Manifest {
  method: string;
  input: { width: number; height: number };
  threshold: { rule: string };
  provenance: { backbone: { layers: string[] } };
}
const manifestOf = (dir: string): Manifest =>
  JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;

/** `fit` with no --method: the backbone, the images, the output folder and `extra` flags. */
const fitArgs = (images: string, out: string, extra: string[] = []): string[] => [
  'fit',
  '--backbone',
  SHARED_BACKBONE,
  '--images',
  images,
  '--out',
  out,
  ...extra,
];

describe('fit without --method: the recommended recipe', () => {
  let good: string;
  beforeAll(async () => {
    good = await goodImagesFolder(20);
  });

  it('fits the recommended method with its held-out threshold, says so, and lets given flags win', async () => {
    const out = path.join(tempDir('fit-recommended'), 'recipe');
    const r = await runCli(fitArgs(good, out, ['--size', '64']));
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const m = manifestOf(out);
    expect(m.method).toBe(RECOMMENDED.method);
    expect(m.threshold.rule).toBe(RECOMMENDED.flags.refit ? 'max-good-holdout-refit' : 'max-good-holdout');
    expect(m.input).toMatchObject({ width: 64, height: 64 }); // --size 64 given wins over the recommended
    expect(m.provenance.backbone.layers.join(',')).toBe(RECOMMENDED.flags.layers);
    const said = logLines(r.stderr).find((l) => l.msg.startsWith('no --method'));
    expect(said?.msg).toContain(`--method ${RECOMMENDED.method}`);
  });

  it('--holdout 0 takes the threshold from the training images, without the recommended --refit', async () => {
    const out = path.join(tempDir('fit-recommended'), 'recipe');
    const r = await runCli(fitArgs(good, out, ['--size', '64', '--holdout', '0']));
    expect(r.code).toBe(0);
    expect(manifestOf(out).threshold.rule).toBe('max-good-train');
  });

  it("refuses another method's flag, naming the recommended method", async () => {
    const own = Object.keys(fitMethods[RECOMMENDED.method].flags);
    const other = Object.values(fitMethods)
      .flatMap((m) => Object.keys(m.flags))
      .find((k) => !own.includes(k))!;
    const flag = `--${other.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const r = await runCli(fitArgs(good, path.join(tempDir('fit-recommended'), 'recipe'), [flag, '1']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${flag} does not apply to --method ${RECOMMENDED.method} (the recommended`);
  });

  it('--help states the recommended recipe', async () => {
    const r = await runCli(['fit', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Without --method: the recommended recipe, --method ${RECOMMENDED.method}`);
  });
});
