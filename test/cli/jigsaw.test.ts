import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as OnnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { trainScript } from '../helpers/train.js';
import { SHARED_MODELS } from '../helpers/paths.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof OnnxProto;

const SLOW = 240_000;

describe('S003: scripts/train_jigsaw.py fine-tunes a backbone with MFCSAM fusion; fit --method gaussian scores its fused level', () => {
  let images: string;
  let model: string;
  let log: string;

  beforeAll(async () => {
    images = await goodImagesFolder(10);
    model = path.join(tempDir('jigsaw'), 'jigsaw.onnx');
    log = await trainScript('train_jigsaw.py', [
      ...[
        '--images',
        images,
        '--out',
        model,
        '--backbone-weights',
        path.join(SHARED_MODELS, 'mobilenet_v2_imagenet.pth'),
      ],
      ...['--size', '96', '--iterations', '2', '--batch-size', '4', '--threads', '1', '--log-every', '1'],
      ...['--holdout', '0.2', '--permutations', '8'],
    ]);
  }, SLOW);

  it(
    'exports a feature backbone: the three levels and the fused Y, any input size, the held-out images named',
    async () => {
      expect(log).toContain('2 of 10 images held out');
      expect(log.match(/iteration \d\/2 CE=\S+ acc=\S+/g)).toHaveLength(2);
      const m = onnx.ModelProto.decode(await readFile(model));
      const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
      expect(meta).toMatchObject({
        'inspectd.kind': 'backbone',
        'inspectd.method': 'jigsaw',
        'inspectd.outputs': 's4_24ch,s8_32ch,s16_96ch,mfcsam_152ch',
        'inspectd.train_holdout': '0.2',
      });
      expect(JSON.parse(meta['inspectd.train_holdout_images'])).toHaveLength(2);
      const dims = m.graph!.input![0].type!.tensorType!.shape!.dim!;
      expect(dims.map((d) => d.dimParam || String(d.dimValue))).toEqual(['N', '3', 'H', 'W'].map(String));
    },
    SLOW,
  );

  it(
    'fit --method gaussian on mfcsam_152ch at another size, threshold from the images training left out; a holdout it saw is refused',
    async () => {
      const out = path.join(tempDir('jigsaw-fit'), 'r');
      const args = [
        'fit',
        '--method',
        'gaussian',
        '--backbone',
        model,
        '--layers',
        'mfcsam_152ch',
        '--size',
        '64',
      ];
      const r = await runCli([
        ...args,
        '--images',
        images,
        '--out',
        out,
        '--min-images',
        '4',
        '--holdout',
        '0.2',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const man = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
        threshold: { rule: string };
        calibration: { n: number };
        provenance: { backbone: { layers: string[] } };
      };
      expect(man.threshold.rule).toBe('max-good-holdout');
      expect(man.calibration.n).toBe(2);
      expect(man.provenance.backbone.layers).toEqual(['mfcsam_152ch']);

      const bad = await runCli([
        ...args,
        '--images',
        images,
        '--out',
        `${out}-2`,
        '--min-images',
        '4',
        '--holdout',
        '0.25',
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/--holdout 0\.25 holds out 2 image\(s\) that .*jigsaw\.onnx was trained on/);
      expect(bad.stderr).toContain('train with scripts/train_jigsaw.py --holdout 0.25');
    },
    SLOW,
  );
});
