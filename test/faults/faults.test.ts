import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { SimSource } from '../../src/sources/sim/simSource.js';
import { ROOT } from '../helpers/paths.js';
import { freePort, subscriber, waitFor } from '../helpers/peers.js';
import {
  countingSubscriber,
  faultConfig,
  journalFile,
  journalIds,
  plantBroker,
  runningDaemon,
} from './helpers.js';

/**
 * Fault injection against the real daemon (a child process), a real mosquitto with persistence and a
 * persistent-session subscriber counting resultIds, as a plant would check it. Every wait is for an event
 * with a generous deadline; nothing here depends on how fast this machine is.
 */

const readyz = async (port: number): Promise<{ status: number; text: string }> => {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: r.status, text: await r.text() };
};

const metric = async (port: number, name: string): Promise<string> =>
  (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');

describe('fault injection: no verdict lost', () => {
  let broker: Awaited<ReturnType<typeof plantBroker>>;
  beforeAll(async () => {
    broker = await plantBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('broker down -> SIGKILL -> restart -> broker back: every journaled verdict arrives, by resultId', async () => {
    const sub = await countingSubscriber(broker.url, 'insp/L1/cam1/verdict');
    const journal = journalFile();
    const http = await freePort();
    const config = faultConfig({ mqttUrl: broker.url, journal, httpPort: http });
    let d = await runningDaemon(config, journal, http);
    let down = false;
    try {
      await waitFor(() => sub.ids.size >= 10, '10 verdicts delivered');
      await broker.stop();
      down = true;
      const before = journalIds(journal).length;
      await waitFor(
        () => journalIds(journal).length >= before + 30,
        '30 verdicts decided while the broker is down',
      );
      // Degraded, and why.
      const r = await waitFor(async () => {
        const x = await readyz(http);
        return x.status === 503 && /mqtt not connected/.test(x.text) ? x : undefined;
      }, 'readyz degraded');
      expect(r.text).toMatch(/^degraded: /);
      expect(await metric(http, 'inspectd_sink_stat{sink="mqtt",stat="held"}')).toMatch(/ [1-9]\d*$/);
      d.proc.kill('SIGKILL');
      await d.exited;
      const killed = journalIds(journal);
      expect(killed.filter((id) => !sub.ids.has(id)).length).toBeGreaterThanOrEqual(30);

      d = await runningDaemon(config, journal, http);
      await broker.restart();
      down = false;
      await waitFor(
        () => killed.every((id) => sub.ids.has(id)),
        'every verdict of the killed daemon delivered',
        120_000,
      );
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      const all = journalIds(journal);
      await waitFor(() => all.every((id) => sub.ids.has(id)), 'every verdict delivered', 60_000);
      expect(all.filter((id) => !sub.ids.has(id))).toEqual([]);
    } finally {
      d.proc.kill('SIGKILL');
      if (down) await broker.restart();
      await sub.close();
    }
  });

  it('SIGTERM while the broker is away keeps what it could not publish, says how many; the next start sends it', async () => {
    const sub = await countingSubscriber(broker.url, 'insp/L1/cam1/verdict');
    const journal = journalFile();
    const http = await freePort();
    const config = faultConfig({
      mqttUrl: broker.url,
      journal,
      httpPort: http,
      extra: { shutdownTimeoutSec: 2 },
    });
    let d = await runningDaemon(config, journal, http);
    let down = false;
    try {
      await waitFor(() => sub.ids.size >= 5, '5 verdicts delivered');
      await broker.stop();
      down = true;
      const before = journalIds(journal).length;
      await waitFor(() => journalIds(journal).length >= before + 20, '20 verdicts while the broker is down');
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      const said = d.logs().find((l) => /not yet published stay in the journal/.test(l.msg));
      expect(said?.msg).toMatch(/^MQTT: \d+ verdicts not yet published stay in the journal/);
      const held = journalIds(journal).filter((id) => !sub.ids.has(id));
      expect(Number(/(\d+) verdicts/.exec(said!.msg)![1])).toBe(held.length);

      await broker.restart();
      down = false;
      d = await runningDaemon(config, journal, http);
      await waitFor(() => held.every((id) => sub.ids.has(id)), 'the held verdicts delivered', 120_000);
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      d.proc.kill('SIGKILL');
      if (down) await broker.restart();
      await sub.close();
    }
  });

  it('20 SIGKILLs at random moments: the journal always opens, no verdict lost or damaged', async () => {
    const sub = await countingSubscriber(broker.url, 'insp/L1/cam1/verdict');
    const journal = journalFile();
    const http = await freePort();
    const config = faultConfig({ mqttUrl: broker.url, journal, httpPort: http, fps: 30 });
    try {
      for (let i = 0; i < 20; i++) {
        const d = await runningDaemon(config, journal, http);
        // The random moment: anywhere from start-up to steady streaming.
        await new Promise((r) => setTimeout(r, Math.random() * 1500));
        d.proc.kill('SIGKILL');
        await d.exited;
      }
      const db = new Database(journal, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = db.prepare('SELECT seq, result_id, body FROM verdicts ORDER BY seq').all() as {
        seq: number;
        result_id: string;
        body: string;
      }[];
      for (const r of rows) expect((JSON.parse(r.body) as { resultId: string }).resultId).toBe(r.result_id);
      const total = (db.prepare("SELECT total FROM totals WHERE camera = 'cam1'").get() as { total: number })
        .total;
      expect(total).toBe(rows.length);
      db.close();
      expect(rows.length).toBeGreaterThan(20);
      // Everything any of them delivered is in the journal (committed before it was published) ...
      const kept = new Set(rows.map((r) => r.result_id));
      expect([...sub.ids].filter((id) => !kept.has(id))).toEqual([]);
      // ... and the next start delivers the rest.
      const d = await runningDaemon(config, journal, http);
      await waitFor(
        () => rows.every((r) => sub.ids.has(r.result_id)),
        'every journaled verdict delivered',
        120_000,
      );
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      await sub.close();
    }
  });

  it('a storm of recipe switches loses no frame; the last one asked for wins', async () => {
    const recipes = path.join(tempDir('recipes'), 'models');
    mkdirSync(recipes);
    for (const name of ['demo', 'demo-b'])
      cpSync(path.join(ROOT, 'models', 'demo'), path.join(recipes, name), { recursive: true });
    const journal = journalFile();
    const http = await freePort();
    const config = faultConfig({
      mqttUrl: broker.url,
      journal,
      httpPort: http,
      fps: 40,
      extra: { recipesDir: recipes },
    });
    const d = await runningDaemon(config, journal, http);
    const states = await subscriber(broker.url, ['insp/L1/cam1/recipe/state']);
    const client = await mqtt.connectAsync(broker.url);
    try {
      await waitFor(
        async () => /inspectd_verdicts_total/.test(await metric(http, 'inspectd_verdicts_total')),
        'verdicts',
      );
      const asked = Array.from({ length: 20 }, (_, i) => ({
        recipe: i % 2 ? 'demo' : 'demo-b',
        transaction: `t${i}`,
      }));
      for (const a of asked)
        await client.publishAsync('insp/L1/cam1/recipe/set', JSON.stringify(a), { qos: 1 });
      const last = asked.at(-1)!;
      const answered = await waitFor(
        () => {
          const all = states.messages.map(
            (m) => JSON.parse(m.payload) as { transaction?: string; status: string; recipe: string },
          );
          return asked.every((a) => all.some((s) => s.transaction === a.transaction)) ? all : undefined;
        },
        'an answer to every switch',
        120_000,
      );
      const final = answered.find((s) => s.transaction === last.transaction)!;
      expect(final).toMatchObject({ status: 'ok', recipe: last.recipe });
      // Frames went on through all of it, none failed.
      const inspected = await metric(http, 'inspectd_verdicts_total');
      await waitFor(
        async () => (await metric(http, 'inspectd_verdicts_total')) !== inspected,
        'verdicts after the storm',
      );
      expect(
        await metric(http, 'inspectd_frames_dropped_total{camera="cam1",reason="inspection_failed"}'),
      ).toBe('');
      expect(d.logs().filter((l) => /not inspected/.test(l.msg))).toEqual([]);
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      d.proc.kill('SIGKILL');
      await client.endAsync();
      await states.client.endAsync();
    }
  });
});

describe('fault injection: load', () => {
  let broker: Awaited<ReturnType<typeof plantBroker>>;
  beforeAll(async () => {
    broker = await plantBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('sources at full speed (sim and folder replay at fps 0) never starve HTTP or signals', async () => {
    const images = tempDir('replay');
    execFileSync(process.execPath, [
      path.join(ROOT, 'dist/cli/main.js'),
      'sim-dataset',
      ...['--out', path.join(images, 'ds'), '--train', '4', '--test-good', '1'],
      ...['--defects-per-kind', '1', '--size', '64'],
    ]);
    const journal = journalFile();
    const http = await freePort();
    const config = faultConfig({
      mqttUrl: broker.url,
      journal,
      httpPort: http,
      fps: 0,
      extra: {
        cameras: [
          { id: 'cam1', recipe: 'demo', source: { type: 'sim', width: 64, height: 64, fps: 0 } },
          {
            id: 'cam2',
            recipe: 'demo',
            source: {
              type: 'folder',
              dir: path.join(images, 'ds', 'train', 'good'),
              mode: 'replay',
              loop: true,
              fps: 0,
            },
            queue: { policy: 'drop-oldest' },
          },
        ],
      },
    });
    const d = await runningDaemon(config, journal, http);
    try {
      // Many answers in a row while both cameras run flat out.
      for (let i = 0; i < 20; i++) expect((await fetch(`http://127.0.0.1:${http}/healthz`)).status).toBe(200);
      await waitFor(
        async () => /camera="cam2"/.test(await metric(http, 'inspectd_verdicts_total')),
        'the replay inspected',
      );
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      d.proc.kill('SIGKILL');
    }
  });

  it('3x overload for a minute: memory stays flat, the line says it is degraded (overload)', async () => {
    const journal = journalFile();
    const http = await freePort();
    // A camera that is never the bottleneck: a looping replay of large PNG frames (reading a file costs little;
    // decoding, resizing and inference are the pipeline's work). The sim renders on the daemon's own thread,
    // which costs more than inspecting its frames, so it cannot overload the pipeline.
    const frames = tempDir('overload-frames');
    const sim = new SimSource({
      id: 'x',
      options: { width: 1024, height: 1024, fps: 0, defectRate: 0.3, seed: 5, count: 12 },
      log: pino({ level: 'silent' }),
    });
    for await (const f of sim.frames())
      await sharp(f.data, { raw: { width: 1024, height: 1024, channels: 3 } })
        .png()
        .toFile(path.join(frames, `f${String(f.seq).padStart(3, '0')}.png`));
    // The probe waits for the pipeline (its pace is what inspection can do); under overload, frames delivered
    // while the pipeline is busy are dropped, as from a live camera.
    const replay = (fps: number) => ({
      source: { type: 'folder', dir: frames, mode: 'replay', fps, loop: true },
      queue: { size: 4, policy: fps === 0 ? 'wait' : 'drop-oldest' },
    });
    // How fast this machine inspects: a run as fast as it can, counted.
    const probe = await runningDaemon(
      faultConfig({ mqttUrl: broker.url, journal, httpPort: http, camera: replay(0) }),
      journal,
      http,
    );
    const count = async (): Promise<number> =>
      (await metric(http, 'inspectd_verdicts_total'))
        .split('\n')
        .reduce((s, l) => s + Number(l.split(' ').at(-1) || 0), 0);
    await waitFor(async () => (await count()) > 20, 'a warm pipeline');
    const c0 = await count();
    const t0 = Date.now();
    await waitFor(async () => (await count()) >= c0 + 100, '100 verdicts');
    const rate = (100 * 1000) / (Date.now() - t0);
    probe.proc.kill('SIGTERM');
    await probe.exited;

    const fps = Math.ceil(3 * rate);
    const d = await runningDaemon(
      faultConfig({ mqttUrl: broker.url, journal, httpPort: http, camera: replay(fps) }),
      journal,
      http,
    );
    try {
      const rss = async (): Promise<number> =>
        Number((await metric(http, 'inspectd_process_resident_memory_bytes')).split(' ').at(-1));
      const degraded = await waitFor(
        async () => {
          const r = await readyz(http);
          return /overload: camera cam1 dropped \d+ %/.test(r.text) ? r : undefined;
        },
        'overload reported',
        120_000,
      );
      expect(degraded.status).toBe(503);
      expect(await metric(http, 'inspectd_degraded{reason="overload"}')).toMatch(/ 1$/);
      await waitFor(
        () => d.logs().some((l) => l.level === 40 && /inspectd degraded: overload/.test(l.msg)),
        'the warning in the log',
      );
      // A minute of it, sampled every 2 s: memory must not grow with the frames it cannot keep up with. The
      // first third settles the heap and the allocator (how far depends on the box's load), so "flat" is the
      // last third's peak against the first third's: a leak of dropped frames (MBs each, several a second)
      // shows there at once, a settling heap does not.
      const samples: number[] = [];
      for (const until = Date.now() + 60_000; Date.now() < until;) {
        samples.push(await rss());
        await new Promise((r) => setTimeout(r, 2000));
      }
      const third = Math.floor(samples.length / 3);
      const first = Math.max(...samples.slice(0, third));
      const last = Math.max(...samples.slice(-third));
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      expect(last - first, `RSS ${samples.map(mib).join(', ')}`).toBeLessThan(32 * 2 ** 20);
      expect(Math.max(...samples) - samples[0], `RSS ${samples.map(mib).join(', ')}`).toBeLessThan(
        128 * 2 ** 20,
      );
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      d.proc.kill('SIGKILL');
    }
  });
});

/** Mounting a small tmpfs needs root (CI and the README's test command run as root). */
const canMount = ((): boolean => {
  const dir = tempDir('mount-probe');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('fault injection: a full disk', () => {
  it.skipIf(!canMount)(
    'a full filesystem under the archive and the journal (a 6 MiB tmpfs): verdicts keep flowing, degraded says why, no partial files, the newest frames kept',
    async () => {
      const broker = await plantBroker();
      const disk = tempDir('full-disk');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', disk]);
      const sub = await countingSubscriber(broker.url, 'insp/L1/cam1/verdict');
      const journal = path.join(disk, 'journal.sqlite');
      const archive = path.join(disk, 'archive');
      const http = await freePort();
      const config = faultConfig({
        mqttUrl: broker.url,
        journal,
        httpPort: http,
        fps: 40,
        archive,
        extra: { archive: { dir: archive, okSampleRate: 1, maxFiles: 1_000_000, maxBytes: 2 ** 40 } },
      });
      const d = await runningDaemon(config, journal, http);
      try {
        const full = await waitFor(
          async () => {
            const r = await readyz(http);
            return /journal: \d+ verdicts not stored/.test(r.text) ? r : undefined;
          },
          'the journal reporting the full disk',
          180_000,
        );
        expect(full.status).toBe(503);
        // Verdicts keep flowing with the disk full.
        const n = sub.ids.size;
        await waitFor(() => sub.ids.size >= n + 50, '50 more verdicts on a full disk', 120_000);
        const decidedFull = Date.now();
        await waitFor(() => sub.ids.size >= n + 100, '100 more', 120_000);
        d.proc.kill('SIGTERM');
        expect(await d.exited).toBe(0);
        // Whole frames only: every picture has its verdict beside it.
        const files = (readdirSync(archive, { recursive: true }) as string[]).filter((f) =>
          /\.(png|json)$/.test(f),
        );
        const frames = new Set(files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)));
        expect(files.filter((f) => !frames.has(f.replace(/(\.heatmap)?\.png$|\.json$/, '')))).toEqual([]);
        // The newest frames are kept (the oldest made room), not the oldest with new ones refused.
        const newest = [...frames].sort().at(-1)!;
        const v = JSON.parse(
          (await import('node:fs')).readFileSync(path.join(archive, `${newest}.json`), 'utf8'),
        ) as { decidedAt: number };
        expect(v.decidedAt).toBeGreaterThan(decidedFull - 60_000);
      } finally {
        d.proc.kill('SIGKILL');
        await d.exited;
        await sub.close();
        await broker.stop();
        execFileSync('umount', ['-l', disk]);
      }
    },
  );
});
