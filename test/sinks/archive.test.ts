import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/core/verdict.js';
import { ArchiveSink } from '../../src/sinks/archive/archiveSink.js';
import type { VerdictArtifacts } from '../../src/sinks/types.js';
import { tempDir } from '../helpers/fixtures.js';

const W = 16;
const artifacts: VerdictArtifacts = {
  image: {
    data: Buffer.alloc(W * W * 3, 128),
    width: W,
    height: W,
    channels: 3,
    original: { width: W, height: W, channels: 3 },
  },
  map: new Float32Array(W * W).fill(1),
  mapWidth: W,
  mapHeight: W,
};

let n = 0;
const verdict = (ok: boolean): Verdict => ({
  resultId: `r-${String(++n).padStart(4, '0')}`,
  cameraId: 'cam1',
  recipe: 'r',
  modelVersion: 'abc',
  seq: n,
  ok,
  score: ok ? 1 : 9,
  threshold: 5,
  normalizedScore: ok ? 0.2 : 1.8,
  regions: [],
  timings: { queueMs: 0, preprocessMs: 0, inferenceMs: 0, decisionMs: 0, totalMs: 0 },
  capturedAt: Date.now(),
  decidedAt: Date.now() + n, // distinct, increasing file names
});

const jsonFiles = (dir: string): string[] =>
  (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();

describe('NG archive', () => {
  it('keeps every NG frame (image, heatmap, verdict) and no OK frame when the sample rate is 0', async () => {
    const dir = tempDir('archive');
    const a = new ArchiveSink(
      { dir, okSampleRate: 0, maxFiles: 100, maxBytes: 1e9, calibrationMin: () => 0 },
      pino({ level: 'silent' }),
    );
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
    const opts = { dir, okSampleRate: 1, maxFiles: 3, maxBytes: 1e9, calibrationMin: () => 0 };
    const a = new ArchiveSink(opts, pino({ level: 'silent' }));
    await a.start();
    const vs = [verdict(false), verdict(true), verdict(false), verdict(false), verdict(false)];
    for (const v of vs) a.publish(v, artifacts);
    await a.stop();
    expect(jsonFiles(dir).map((f) => path.basename(f).replace(/^\d+_/, ''))).toEqual(
      vs.slice(2).map((v) => `${v.resultId}.json`),
    );
    // A new run indexes what is there and keeps enforcing the limit.
    const b = new ArchiveSink({ ...opts, maxFiles: 2 }, pino({ level: 'silent' }));
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
    const a = new ArchiveSink(
      { dir, okSampleRate: 0, maxFiles: 100, maxBytes: 1, calibrationMin: () => 0 },
      pino({ level: 'silent' }),
    );
    await a.start();
    a.publish(verdict(false), artifacts);
    a.publish(verdict(false), artifacts);
    await a.stop();
    // Each frame alone is over 1 byte: nothing may stay.
    expect(jsonFiles(dir)).toHaveLength(0);
  });
});
