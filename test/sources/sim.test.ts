import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { within } from '../helpers/waiting.js';
import type { Frame } from '../../src/core/frame.js';
import { ConfigError } from '../../src/core/errors.js';
import { formatProblem, validateSettings, type SettingProblem } from '../../src/core/settings.js';
import { writeSimDataset } from '../../src/sources/sim/dataset.js';
import { DEFECT_KINDS, planFrame, renderPart, type DefectKind } from '../../src/sources/sim/render.js';
import { simSettings } from '../../src/sources/sim/settings.js';
import { SimSource, type SimOptions } from '../../src/sources/sim/simSource.js';

const quiet = pino({ level: 'silent' });

const sim = (o: Partial<SimOptions> = {}): SimSource =>
  new SimSource({
    id: 'sim0',
    log: quiet,
    options: { width: 64, height: 48, fps: 0, defectRate: 0.3, seed: 42, ...o },
  });

/** As a configuration starts it: the settings pass first (its problems thrown, as the daemon does), then `sim`. */
const configured = (o: Partial<SimOptions>): SimSource => {
  const { count, defectKinds, ...given } = o;
  const problems: SettingProblem[] = [];
  const settings = validateSettings(simSettings, given, 'source', problems);
  if (problems.length > 0) throw new ConfigError(problems.map(formatProblem).join('\n'));
  return sim({ ...settings, count, defectKinds });
};

const sum = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0);

describe('renderPart', () => {
  const W = 160;
  const H = 120;

  it('is deterministic: the same inputs give identical bytes, another seed differs', () => {
    for (const defect of [undefined, ...DEFECT_KINDS]) {
      const a = renderPart({ seed: 7, width: W, height: H, defect });
      const b = renderPart({ seed: 7, width: W, height: H, defect });
      expect(a.rgb.equals(b.rgb)).toBe(true);
      expect(Buffer.from(a.mask).equals(Buffer.from(b.mask))).toBe(true);
      const c = renderPart({ seed: 8, width: W, height: H, defect });
      expect(a.rgb.equals(c.rgb)).toBe(false);
    }
  });

  it('returns interleaved RGB8 and a mask of the frame size', () => {
    for (const [w, h] of [
      [128, 128],
      [640, 480],
      [97, 61],
    ]) {
      const { rgb, mask } = renderPart({ seed: 1, width: w, height: h, defect: 'stain' });
      expect(rgb.length).toBe(w * h * 3);
      expect(mask.length).toBe(w * h);
    }
  });

  it('leaves the mask of a good part all zero', () => {
    for (let seed = 0; seed < 10; seed++) expect(sum(renderPart({ seed, width: W, height: H }).mask)).toBe(0);
  });

  it('marks each defect with a mask of plausible size (0.1%..8% of the frame) where the pixels changed', () => {
    for (const defect of DEFECT_KINDS) {
      for (let seed = 0; seed < 20; seed++) {
        for (const [w, h] of [
          [128, 128],
          [W, H],
        ]) {
          const bad = renderPart({ seed, width: w, height: h, defect });
          const area = sum(bad.mask) / (w * h);
          expect(area, `${defect} seed ${seed} ${w}x${h}`).toBeGreaterThan(0.001);
          expect(area, `${defect} seed ${seed} ${w}x${h}`).toBeLessThan(0.08);
          // The defect is visible: inside the mask the image differs clearly from the same frame without it.
          const good = renderPart({ seed, width: w, height: h });
          let diff = 0;
          let n = 0;
          for (let i = 0; i < bad.mask.length; i++) {
            if (!bad.mask[i]) continue;
            n++;
            for (let c = 0; c < 3; c++) diff += Math.abs(bad.rgb[i * 3 + c] - good.rgb[i * 3 + c]);
          }
          expect(diff / (n * 3), `${defect} seed ${seed}`).toBeGreaterThan(15);
        }
      }
    }
  });

  it('varies good parts only a little: jitter, lighting and noise, not a different part', () => {
    const a = renderPart({ seed: 1, width: W, height: H }).rgb;
    const b = renderPart({ seed: 2, width: W, height: H }).rgb;
    let mad = 0;
    for (let i = 0; i < a.length; i++) mad += Math.abs(a[i] - b[i]);
    mad /= a.length;
    expect(mad).toBeGreaterThan(1);
    expect(mad).toBeLessThan(40);
  });

  it('rejects a bad size or an unknown defect kind', () => {
    expect(() => renderPart({ seed: 1, width: 0, height: 10 })).toThrow(RangeError);
    expect(() => renderPart({ seed: 1, width: 32, height: 32, defect: 'crack' as DefectKind })).toThrow(
      /crack/,
    );
  });
});

describe('planFrame', () => {
  it('honours the defect rate and spreads the kinds', () => {
    const n = 4000;
    for (const rate of [0, 0.1, 0.5, 1]) {
      const kinds = new Map<string, number>();
      let defects = 0;
      for (let seq = 1; seq <= n; seq++) {
        const p = planFrame(3, seq, rate);
        if (p.defect) {
          defects++;
          kinds.set(p.defect, (kinds.get(p.defect) ?? 0) + 1);
        }
      }
      expect(Math.abs(defects / n - rate), `rate ${rate}`).toBeLessThan(0.03);
      if (rate >= 0.5) for (const k of DEFECT_KINDS) expect(kinds.get(k) ?? 0).toBeGreaterThan(defects / 8);
    }
  });

  it('depends only on (seed, seq)', () => {
    expect(planFrame(5, 17, 0.5)).toEqual(planFrame(5, 17, 0.5));
    expect(planFrame(5, 17, 0.5).seed).not.toBe(planFrame(5, 18, 0.5).seed);
    expect(planFrame(5, 17, 0.5).seed).not.toBe(planFrame(6, 17, 0.5).seed);
  });

  it('only injects the kinds asked for', () => {
    for (let seq = 1; seq <= 200; seq++)
      expect([undefined, 'dent']).toContain(planFrame(1, seq, 0.5, ['dent']).defect);
  });
});

describe('SimSource', () => {
  it('yields `count` labelled rgb8 frames with increasing seq, then ends and stops', async () => {
    const src = sim({ count: 40 });
    expect(src.kind).toBe('sim');
    expect(src.state).toBe('starting');
    const frames: Frame[] = [];
    await within(
      (async () => {
        for await (const f of src.frames()) {
          frames.push(f);
          expect(src.state).toBe('streaming');
        }
      })(),
      'the sim source to end',
    );
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(src.state).toBe('stopped');
    let defects = 0;
    for (const f of frames) {
      expect(f).toMatchObject({
        cameraId: 'sim0',
        width: 64,
        height: 48,
        pixelFormat: 'rgb8',
        origin: 'sim',
      });
      expect(f.partId).toBe(`SIM-${String(f.seq).padStart(6, '0')}`);
      expect(f.data.length).toBe(64 * 48 * 3);
      expect(typeof f.timestamp).toBe('number');
      const plan = planFrame(42, f.seq, 0.3);
      expect(f.label).toEqual(plan.defect ? { defective: true, kind: plan.defect } : { defective: false });
      expect(
        f.data.equals(renderPart({ seed: plan.seed, width: 64, height: 48, defect: plan.defect }).rgb),
      ).toBe(true);
      if (f.label?.defective) defects++;
    }
    expect(defects).toBeGreaterThan(0);
    expect(src.stats()).toEqual({ frames: 40, dropped: 0, defects });
  });

  it('replays the same frames and labels from the same seed', async () => {
    const collect = async (seed: number): Promise<Frame[]> => {
      const out: Frame[] = [];
      for await (const f of sim({ seed, count: 10 }).frames()) out.push(f);
      return out;
    };
    const [a, b, c] = await Promise.all([collect(9), collect(9), collect(10)]);
    expect(a.map((f) => f.label)).toEqual(b.map((f) => f.label));
    expect(a.every((f, i) => f.data.equals(b[i].data))).toBe(true);
    expect(a.every((f, i) => f.data.equals(c[i].data))).toBe(false);
  });

  it('close() ends an endless unpaced source promptly', async () => {
    const src = sim();
    let n = 0;
    await within(
      (async () => {
        for await (const f of src.frames()) {
          expect(f.seq).toBe(++n);
          if (n === 25) await src.close();
          if (n > 25) throw new Error('a frame after close()');
        }
      })(),
      'the iterator to end after close()',
    );
    expect(n).toBe(25);
    expect(src.state).toBe('stopped');
  });

  it('close() ends a paced source without waiting out the frame interval', async () => {
    // One frame every 1000 s: the iterator would hang for the test's lifetime if close() waited.
    const src = sim({ fps: 0.001 });
    const it = src.frames()[Symbol.asyncIterator]();
    const first = await within(it.next(), 'the first frame');
    expect(first.done).toBe(false);
    const pending = it.next();
    await src.close();
    const after = await within(pending, 'the iterator to end after close()', 5_000);
    expect(after.done).toBe(true);
    expect(src.state).toBe('stopped');
    expect(src.stats().frames).toBe(1);
  });

  it('paces at fps (order only, no timing assertion)', async () => {
    const src = sim({ fps: 200, count: 5 });
    const stamps: number[] = [];
    await within(
      (async () => {
        for await (const f of src.frames()) stamps.push(f.timestamp);
      })(),
      'five paced frames',
    );
    expect(stamps).toHaveLength(5);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1]);
  });

  it('rejects bad options naming the key', () => {
    expect(() => configured({ defectRate: 1.5 })).toThrow(ConfigError);
    expect(() => configured({ defectRate: 1.5 })).toThrow(/defectRate/);
    expect(() => configured({ width: 3 })).toThrow(/width/);
    expect(() => configured({ count: -1 })).toThrow(/count/);
    expect(() => configured({ defectKinds: ['crack' as DefectKind] })).toThrow(/defectKinds/);
  });

  it('gives frames() to one consumer only', () => {
    const src = sim({ count: 1 });
    src.frames();
    expect(() => src.frames()).toThrow(/one consumer/);
  });
});

describe('writeSimDataset', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('writes an MVTec-layout dataset with masks the size of their images', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'inspectd-simds-'));
    dirs.push(dir);
    const opts = { width: 96, height: 72, trainGood: 5, testGood: 3, testDefectsPerKind: 2, seed: 11 };
    const { files } = await writeSimDataset(dir, opts);
    expect(files).toBe(5 + 3 + DEFECT_KINDS.length * 2 * 2);

    const ls = async (...p: string[]): Promise<string[]> => (await readdir(path.join(dir, ...p))).sort();
    expect(await ls()).toEqual(['ground_truth', 'test', 'train']);
    expect(await ls('train', 'good')).toEqual(['000.png', '001.png', '002.png', '003.png', '004.png']);
    expect(await ls('test')).toEqual(['good', ...DEFECT_KINDS].sort());
    expect(await ls('test', 'good')).toEqual(['000.png', '001.png', '002.png']);
    expect(await ls('ground_truth')).toEqual([...DEFECT_KINDS].sort());
    for (const kind of DEFECT_KINDS) {
      expect(await ls('test', kind)).toEqual(['000.png', '001.png']);
      expect(await ls('ground_truth', kind)).toEqual(['000_mask.png', '001_mask.png']);
      for (const stem of ['000', '001']) {
        const img = await sharp(path.join(dir, 'test', kind, `${stem}.png`)).metadata();
        const maskFile = path.join(dir, 'ground_truth', kind, `${stem}_mask.png`);
        const meta = await sharp(maskFile).metadata();
        expect([img.width, img.height, img.channels]).toEqual([96, 72, 3]);
        expect([meta.width, meta.height, meta.channels]).toEqual([96, 72, 1]);
        const mask = await sharp(maskFile).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
        const values = new Set(mask.data);
        expect([...values].every((v) => v === 0 || v === 255)).toBe(true);
        expect(values.has(255)).toBe(true);
      }
    }

    // Test frames are unseen: none repeats a training frame.
    const raw = async (...p: string[]): Promise<Buffer> =>
      sharp(path.join(dir, ...p))
        .raw()
        .toBuffer();
    const train = await Promise.all((await ls('train', 'good')).map((f) => raw('train', 'good', f)));
    for (const f of await ls('test', 'good')) {
      const t = await raw('test', 'good', f);
      expect(train.some((b) => b.equals(t))).toBe(false);
    }

    // Deterministic: a second write gives the same pixels.
    const again = await mkdtemp(path.join(os.tmpdir(), 'inspectd-simds-'));
    dirs.push(again);
    await writeSimDataset(again, opts);
    for (const p of [
      ['train', 'good', '003.png'],
      ['test', 'scratch', '001.png'],
      ['ground_truth', 'dent', '000_mask.png'],
    ]) {
      const a = await raw(...p);
      const b = await sharp(path.join(again, ...p))
        .raw()
        .toBuffer();
      expect(a.equals(b)).toBe(true);
    }
  });

  it('rejects counts that are not counts', async () => {
    await expect(
      writeSimDataset(path.join(os.tmpdir(), 'never-written'), {
        width: 32,
        height: 32,
        trainGood: -1,
        testGood: 1,
        testDefectsPerKind: 1,
        seed: 1,
      }),
    ).rejects.toThrow(/trainGood/);
  });
});
