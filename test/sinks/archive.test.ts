import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
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
    const a = archive({ dir, okSampleRate: 0, maxFiles: 100, maxBytes: 1e9 });
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
    const opts = { dir, okSampleRate: 1, maxFiles: 3, maxBytes: 1e9 };
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

  it('retention by bytes', async () => {
    const dir = tempDir('archive');
    const a = archive({ dir, okSampleRate: 0, maxFiles: 100, maxBytes: 1 });
    await a.start();
    a.publish(verdict(false), artifacts);
    a.publish(verdict(false), artifacts);
    await a.stop();
    // Each frame alone is over 1 byte: nothing may stay.
    expect(jsonFiles(dir)).toHaveLength(0);
  });
});
