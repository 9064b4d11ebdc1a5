import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/core/verdict.js';
import { ArchiveSink, type ArchiveSettings } from '../../src/sinks/archive/archiveSink.js';
import { tempDir } from '../helpers/fixtures.js';
import { testArtifacts as artifacts, testLine, testVerdict as verdict } from '../helpers/line.js';

const jsonFiles = (dir: string): string[] =>
  (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();

describe('NG archive', () => {
  let t: Awaited<ReturnType<typeof testLine>>;
  beforeAll(async () => {
    t = await testLine();
  });
  afterAll(async () => {
    await t?.close();
  });
  const archive = (s: ArchiveSettings): ArchiveSink => new ArchiveSink(t.context(s));

  it('keeps every NG frame (image, heatmap, verdict) and no OK frame when the sample rate is 0', async () => {
    const dir = tempDir('archive');
    const a = archive({ dir, image: 'camera', okSampleRate: 0, maxFiles: 100, maxBytes: 1e9 });
    await a.start();
    const ng = verdict(false);
    a.publish(ng, artifacts);
    a.publish(verdict(true), artifacts);
    await a.stop();
    const files = readdirSync(dir, { recursive: true }) as string[];
    expect(
      files
        .filter((f) => f.includes(ng.resultId))
        .map((f) => path.basename(f).replace(/^\d+_/, ''))
        .sort(),
    ).toEqual([`${ng.resultId}.heatmap.png`, `${ng.resultId}.json`, `${ng.resultId}.png`].sort());
    expect(jsonFiles(dir)).toHaveLength(1);
    const saved = JSON.parse(readFileSync(path.join(dir, jsonFiles(dir)[0]), 'utf8')) as Verdict;
    expect(saved.resultId).toBe(ng.resultId);
  });

  it('retention by count drops the oldest, also across restarts; OK frames sampled when asked', async () => {
    const dir = tempDir('archive');
    const opts = { dir, image: 'camera' as const, okSampleRate: 1, maxFiles: 3, maxBytes: 1e9 };
    const a = archive(opts);
    await a.start();
    const vs = [verdict(false), verdict(true), verdict(false), verdict(false), verdict(false)];
    for (const v of vs) a.publish(v, artifacts);
    await a.stop();
    expect(jsonFiles(dir).map((f) => path.basename(f).replace(/^\d+_/, ''))).toEqual(
      vs.slice(2).map((v) => `${v.resultId}.json`),
    );
    // A new run indexes what is there and keeps enforcing the limit.
    const b = archive({ ...opts, maxFiles: 2 });
    await b.start();
    const last = verdict(false);
    b.publish(last, artifacts);
    await b.stop();
    expect(jsonFiles(dir).map((f) => path.basename(f).replace(/^\d+_/, ''))).toEqual([
      `${vs[4].resultId}.json`,
      `${last.resultId}.json`,
    ]);
  });

  it("retention passes over the frames of marked verdicts (the next fit's images); a cleared mark lets them go", async () => {
    const dir = tempDir('archive');
    const opts = { dir, image: 'camera' as const, okSampleRate: 0, maxFiles: 2, maxBytes: 1e9 };
    const names = () => jsonFiles(dir).map((f) => path.basename(f).replace(/^\d+_/, '').replace('.json', ''));
    const vs = [verdict(false), verdict(false), verdict(false), verdict(false)];
    for (const v of vs) t.journal.append(v);
    t.journal.setMark(vs[0].resultId, { kind: 'false-reject', note: '', at: 1, origin: 'test' });
    const a = archive(opts);
    await a.start();
    for (const v of vs) a.publish(v, artifacts);
    await a.stop();
    expect(names()).toEqual([vs[0].resultId, vs[3].resultId]);
    t.journal.setMark(vs[0].resultId, { kind: null, note: '', at: 2, origin: 'test' });
    const b = archive(opts);
    await b.start();
    const last = verdict(false);
    b.publish(last, artifacts);
    await b.stop();
    expect(names()).toEqual([vs[3].resultId, last.resultId]);
  });

  /** A 300x200 Mono8 camera frame inspected by the 16x16 test recipe, archived as `image` says: its files' base. */
  const archiveMono = async (image: 'camera' | 'model', a16 = artifacts): Promise<string> => {
    const dir = tempDir('archive');
    const a = archive({ dir, image, okSampleRate: 0, maxFiles: 100, maxBytes: 1e9 });
    await a.start();
    const camera = {
      data: new Uint8Array(300 * 200).fill(90),
      width: 300,
      height: 200,
      channels: 1 as const,
    };
    a.publish(verdict(false), { ...a16, camera });
    await a.stop();
    expect(a.stats()).toMatchObject({ written: 1, failed: 0 });
    return path.join(dir, jsonFiles(dir)[0].replace(/\.json$/, ''));
  };

  it("keeps the camera's frame at its own size (gray stays gray), its heatmap with region boxes beside it", async () => {
    const base = await archiveMono('camera');
    expect(await sharp(`${base}.png`).metadata()).toMatchObject({ width: 300, height: 200, channels: 1 });
    const heat = await sharp(`${base}.heatmap.png`).raw().toBuffer({ resolveWithObject: true });
    expect(heat.info).toMatchObject({ width: 300, height: 200, channels: 3 });
    const at = (x: number, y: number) => [...heat.data.subarray((y * 300 + x) * 3, (y * 300 + x) * 3 + 3)];
    // The verdict's region (2,2)-(6,6) in map units is outlined at 300/16 x 200/16 per unit.
    expect(at(Math.floor((2 * 300) / 16), Math.floor((2 * 200) / 16))).toEqual([255, 255, 255]);
    expect(at(150, 190)).not.toEqual([255, 255, 255]);
  });

  it('with image: model, keeps the frame as the recipe saw it, also a gray one', async () => {
    const image = { data: Buffer.alloc(16 * 16, 90), width: 16, height: 16, channels: 1 as const };
    const base = await archiveMono('model', { ...artifacts, image });
    expect(await sharp(`${base}.png`).metadata()).toMatchObject({ width: 16, height: 16, channels: 1 });
    expect(await sharp(`${base}.heatmap.png`).metadata()).toMatchObject({
      width: 16,
      height: 16,
      channels: 3,
    });
  });

  it('retention by bytes', async () => {
    const dir = tempDir('archive');
    const a = archive({ dir, image: 'camera', okSampleRate: 0, maxFiles: 100, maxBytes: 1 });
    await a.start();
    a.publish(verdict(false), artifacts);
    a.publish(verdict(false), artifacts);
    await a.stop();
    // Each frame alone is over 1 byte: nothing may stay.
    expect(jsonFiles(dir)).toHaveLength(0);
  });
});
