import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussianFitArgs, runCli } from '../helpers/cli.js';
import { goodImagesFolder, tempDir } from '../helpers/fixtures.js';
import { DATASETS, SHARED_BACKBONE } from '../helpers/paths.js';
import { freePort, startDaemon, startMosquitto, subscriber, waitFor } from '../helpers/peers.js';

interface VerdictMsg {
  schema: string;
  resultId: string;
  camera: string;
  line: string;
  recipe: string;
  partId: string;
  seq: number;
  verdict: 'OK' | 'NG';
  score: number;
  threshold: number;
  normalizedScore: number;
  regions: { x: number; y: number; width: number; height: number; area: number; peak: number }[];
  timings: Record<string, number>;
  modelVersion: string;
  capturedAt: string;
  decidedAt: string;
}

let recipesDir: string;

/** A daemon config: one folder camera watching `dir`, the test recipe, MQTT at `url`. */
function writeConfig(o: { dir: string; mqttUrl: string; httpPort: number; archive?: string }): string {
  const file = path.join(tempDir('config'), 'config.json');
  const config = {
    line: 'L1',
    recipesDir,
    cameras: [
      {
        id: 'cam1',
        recipe: 'small',
        source: {
          type: 'folder',
          dir: o.dir,
          mode: 'watch',
          processExisting: true,
          settleSec: 0.2,
          pollSec: 0.2,
        },
        queue: { size: 8, policy: 'wait' },
      },
    ],
    mqtt: { url: o.mqttUrl, prefix: 'insp', statsIntervalSec: 1 },
    http: { port: o.httpPort },
    archive: { dir: o.archive ?? '' },
    shutdownTimeoutSec: 5,
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const shared = (n: number): string[] => {
  const src = path.join(DATASETS, 'mpdd_metal_plate', 'test', 'defect');
  return readdirSync(src)
    .sort()
    .slice(0, n)
    .map((f) => path.join(src, f));
};

describe('inspectd run with a real mosquitto', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let mqttPort: number;

  beforeAll(async () => {
    recipesDir = tempDir('recipes');
    const fit = await runCli(
      gaussianFitArgs({
        backbone: SHARED_BACKBONE,
        layers: 's4_24ch,s8_32ch',
        size: 64,
        images: await goodImagesFolder(20, 128),
        out: path.join(recipesDir, 'small'),
      }),
    );
    expect(fit.code, fit.stderr).toBe(0);
    mqttPort = await freePort();
    broker = await startMosquitto(mqttPort);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('one verdict per image with the documented fields; SIGKILL -> availability offline (last will)', async () => {
    const dir = tempDir('watch');
    const images = shared(6);
    for (const f of images.slice(0, 3)) copyFileSync(f, path.join(dir, path.basename(f)));
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const sub = await subscriber(url, ['insp/L1/cam1/verdict', 'insp/availability', 'insp/stats']);
    const httpPort = await freePort();
    const archive = tempDir('archive');
    const d = startDaemon(writeConfig({ dir, mqttUrl: url, httpPort, archive }));
    try {
      await waitFor(
        () => sub.messages.some((m) => m.topic === 'insp/availability' && m.payload === 'online'),
        'availability online',
      );
      // Files arriving while it runs, as an FTP upload would leave them.
      for (const f of images.slice(3)) copyFileSync(f, path.join(dir, path.basename(f)));
      const verdicts = () =>
        sub.messages
          .filter((m) => m.topic === 'insp/L1/cam1/verdict')
          .map((m) => JSON.parse(m.payload) as VerdictMsg);
      await waitFor(() => verdicts().length >= 6, '6 verdicts');
      await waitFor(() => sub.messages.some((m) => m.topic === 'insp/stats'), 'stats');
      await new Promise((r) => setTimeout(r, 1000)); // nothing more may come
      const vs = verdicts();
      expect(vs).toHaveLength(6);
      expect(vs.map((v) => v.partId).sort()).toEqual(images.map((f) => path.parse(f).name).sort());
      expect(new Set(vs.map((v) => v.resultId)).size).toBe(6);
      for (const v of vs) {
        expect(v.schema).toBe('inspectd/verdict/1');
        expect(v).toMatchObject({ camera: 'cam1', line: 'L1', recipe: 'small' });
        expect(v.resultId).toMatch(/^[0-9a-f-]{36}$/);
        expect(v.verdict).toBe(v.score > v.threshold ? 'NG' : 'OK');
        expect(v.normalizedScore).toBeCloseTo(v.score / v.threshold, 6);
        expect(v.modelVersion).toMatch(/^[0-9a-f]{12}$/);
        for (const k of ['queueMs', 'preprocessMs', 'inferenceMs', 'decisionMs', 'totalMs'])
          expect(v.timings[k]).toBeGreaterThanOrEqual(0);
        expect(Date.parse(v.decidedAt)).toBeGreaterThanOrEqual(Date.parse(v.capturedAt));
        if (v.verdict === 'NG') expect(v.regions.length).toBeGreaterThan(0);
        for (const r of v.regions) expect(r.peak).toBeGreaterThan(v.threshold);
      }
      // The NG frames are archived with image, heatmap and verdict.
      const ng = vs.filter((v) => v.verdict === 'NG');
      const archived = await waitFor(() => {
        const files = readdirSync(path.join(archive, 'cam1'), { recursive: true }) as string[];
        return files.filter((f) => f.endsWith('.json')).length === ng.length ? files : undefined;
      }, 'archived NG frames');
      expect(archived.filter((f) => f.endsWith('.heatmap.png'))).toHaveLength(ng.length);
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toMatch(/inspectd_verdicts_total\{camera="cam1",result="NG"\} /);
      expect(metrics).toContain('inspectd_ready 1');
      expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
      const page = await (await fetch(`http://127.0.0.1:${httpPort}/`)).text();
      expect(page).toContain('<script src="/ui/app.js">');
      const status = (await (await fetch(`http://127.0.0.1:${httpPort}/api/status`)).json()) as {
        cameras: { id: string }[];
      };
      expect(status.cameras.map((c) => c.id)).toEqual(['cam1']);
      const png = await fetch(`http://127.0.0.1:${httpPort}/cameras/cam1/latest-heatmap.png`);
      expect(png.headers.get('content-type')).toBe('image/png');
      expect((await sharp(Buffer.from(await png.arrayBuffer())).metadata()).width).toBe(64);

      d.proc.kill('SIGKILL');
      await d.exited;
      await waitFor(
        () => sub.messages.filter((m) => m.topic === 'insp/availability').at(-1)?.payload === 'offline',
        'availability offline after SIGKILL',
        15_000,
      );
    } finally {
      d.proc.kill('SIGKILL');
      await sub.client.endAsync();
    }
  });

  it('recipe/set switches the recipe at runtime with a retained state echo; a bad name is refused', async () => {
    const fit = await runCli(
      gaussianFitArgs({
        backbone: SHARED_BACKBONE,
        layers: 's4_24ch',
        size: 64,
        images: await goodImagesFolder(18, 96),
        out: path.join(recipesDir, 'other'),
      }),
    );
    expect(fit.code, fit.stderr).toBe(0);
    const dir = tempDir('watch-recipe');
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const sub = await subscriber(url, ['insp/L1/cam1/recipe/state', 'insp/L1/cam1/verdict']);
    const started = Date.now();
    const d = startDaemon(writeConfig({ dir, mqttUrl: url, httpPort: await freePort() }));
    const states = () =>
      sub.messages
        .filter((m) => m.topic === 'insp/L1/cam1/recipe/state')
        .map(
          (m) =>
            JSON.parse(m.payload) as {
              recipe: string;
              status: string;
              error?: string;
              transaction?: string;
              at: string;
            },
        );
    try {
      // A state published by THIS daemon (the broker also holds the retained one of an earlier test): once it
      // is there, the daemon has subscribed to recipe/set.
      await waitFor(
        () => states().some((x) => x.recipe === 'small' && x.status === 'ok' && Date.parse(x.at) >= started),
        'the initial recipe state',
      );
      await sub.client.publishAsync(
        'insp/L1/cam1/recipe/set',
        JSON.stringify({ recipe: 'other', transaction: 't-1' }),
        { qos: 1 },
      );
      await waitFor(
        () => states().some((x) => x.recipe === 'other' && x.status === 'ok' && x.transaction === 't-1'),
        'the switch to "other"',
      );
      copyFileSync(shared(1)[0], path.join(dir, 'after-switch.png'));
      const v = await waitFor(
        () => sub.messages.find((m) => m.topic === 'insp/L1/cam1/verdict'),
        'a verdict',
      );
      expect((JSON.parse(v.payload) as VerdictMsg).recipe).toBe('other');
      await sub.client.publishAsync('insp/L1/cam1/recipe/set', 'no-such-recipe', { qos: 1 });
      const err = await waitFor(() => states().find((x) => x.status === 'error'), 'the refusal');
      expect(err.recipe).toBe('other'); // still running the last good one
      expect(err.error).toMatch(/no-such-recipe.*manifest\.json/);
      // The state is retained: a client connecting later learns the active recipe at once.
      const late = await subscriber(url, ['insp/L1/cam1/recipe/state']);
      const retained = await waitFor(() => late.messages.find((m) => m.retain), 'the retained state');
      expect((JSON.parse(retained.payload) as { recipe: string }).recipe).toBe('other');
      await late.client.endAsync();
    } finally {
      d.proc.kill('SIGKILL');
      await sub.client.endAsync();
    }
  });

  it('bad images are counted and logged by name; the pipeline goes on; SIGTERM stops cleanly', async () => {
    const dir = tempDir('watch-bad');
    const good = shared(2);
    const sample = readFileSync(good[0]);
    writeFileSync(path.join(dir, 'a-zero.png'), '');
    writeFileSync(path.join(dir, 'b-corrupt.png'), 'definitely not a png');
    writeFileSync(path.join(dir, 'c-truncated.png'), sample.subarray(0, sample.length >> 1));
    await sharp(good[0]).resize(300, 90).toFile(path.join(dir, 'd-wrong-size.png'));
    copyFileSync(good[1], path.join(dir, 'e-good.png'));
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const sub = await subscriber(url, ['insp/L1/cam1/verdict']);
    const httpPort = await freePort();
    const d = startDaemon(writeConfig({ dir, mqttUrl: url, httpPort }));
    try {
      await waitFor(() => sub.messages.length >= 2, 'verdicts for the two decodable images');
      const parts = sub.messages.map((m) => (JSON.parse(m.payload) as VerdictMsg).partId).sort();
      expect(parts).toEqual(['d-wrong-size', 'e-good']);
      // The zero-byte file is held longer (it could be an upload just starting), then reported like the others.
      const warnings = await waitFor(() => {
        const w = d.logs().filter((l) => l.level === 40 && /skipped/.test(l.msg));
        const all = ['a-zero.png', 'b-corrupt.png', 'c-truncated.png'].every((bad) =>
          w.some((x) => x.msg.includes(bad)),
        );
        return all ? w : undefined;
      }, 'a warning naming each bad file');
      expect(warnings.find((w) => w.msg.includes('a-zero.png'))!.msg).toMatch(
        /empty|0 bytes|cannot be decoded/,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toContain('inspectd_frames_dropped_total{camera="cam1",reason="bad_image"} 3');
      // Still alive and taking frames after the bad ones.
      copyFileSync(good[0], path.join(dir, 'f-later.png'));
      await waitFor(() => sub.messages.length >= 3, 'a verdict after the bad images');
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      expect(d.logs().some((l) => l.msg === 'inspectd stopped')).toBe(true);
    } finally {
      d.proc.kill('SIGKILL');
      await sub.client.endAsync();
    }
  });

  it('broker unreachable at start: runs, not ready (readyz, metrics), publishes once the broker appears', async () => {
    const dir = tempDir('watch-late');
    copyFileSync(shared(1)[0], path.join(dir, 'early.png'));
    const port = await freePort();
    const httpPort = await freePort();
    const d = startDaemon(writeConfig({ dir, mqttUrl: `mqtt://127.0.0.1:${port}`, httpPort }));
    let late: Awaited<ReturnType<typeof startMosquitto>> | undefined;
    try {
      const readyz = await waitFor(async () => {
        const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
        return r && { status: r.status, text: await r.text() };
      }, 'the HTTP server');
      expect(readyz.status).toBe(503);
      expect(readyz.text).toMatch(/mqtt not connected/);
      await waitFor(
        async () =>
          /inspectd_frames_total\{camera="cam1"\} 1/.test(
            await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text(),
          ),
        'the frame inspected',
      );
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toContain('inspectd_ready 0');
      expect(metrics).toContain('inspectd_sink_ready{sink="mqtt"} 0');
      late = await startMosquitto(port);
      const sub = await subscriber(`mqtt://127.0.0.1:${port}`, ['insp/L1/cam1/verdict']);
      // The verdict decided while the broker was away arrives once it is back.
      await waitFor(() => sub.messages.length >= 1, 'the held verdict', 30_000);
      expect((JSON.parse(sub.messages[0].payload) as VerdictMsg).partId).toBe('early');
      await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200, 'ready');
      await sub.client.endAsync();
    } finally {
      d.proc.kill('SIGKILL');
      await late?.stop();
    }
  });
});
