/**
 * The contract every source kind keeps, each against a real peer: the sim in-process, a folder of PNG files,
 * gst-rtsp-server for rtsp, Aravis's fake camera for gige (under the cross-file lock). Sources are made the way
 * the daemon makes them: `sourceKinds[kind].create()` with settings from the settings pass. Every wait is for
 * an event, with a deadline; nothing asserts on elapsed time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, FrameSource } from '../../src/core/frame.js';
import { validateSettings, type SettingProblem } from '../../src/core/settings.js';
import { sourceKinds } from '../../src/sources/index.js';
import { startAravisFakeCamera } from '../helpers/fakeCamera.js';
import { acquireFakeCameraLock } from '../helpers/fakeCameraLock.js';
import { startRtspServer } from '../helpers/rtspServer.js';
import { until, within } from '../helpers/waiting.js';

/** A running peer and the settings that point a source of the kind at it. */
interface Peer {
  settings: Record<string, unknown>;
  stop(): Promise<void>;
}

interface Case {
  kind: string;
  /** The source's mailbox: live cameras drop the oldest frame, files and the sim wait for the consumer. */
  mailbox: 'drop-oldest' | 'wait';
  start(): Promise<Peer>;
}

const cases: Case[] = [
  {
    kind: 'sim',
    mailbox: 'wait',
    // Paced, so the producer waits on timers as a camera would.
    start: async () => ({ settings: { width: 64, height: 48, fps: 50 }, stop: async () => {} }),
  },
  {
    kind: 'folder',
    mailbox: 'wait',
    start: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'inspectd-contract-'));
      const colors = [
        { r: 200, g: 40, b: 40 },
        { r: 40, g: 200, b: 40 },
        { r: 40, g: 40, b: 200 },
      ];
      for (const [i, background] of colors.entries())
        await sharp({ create: { width: 32, height: 24, channels: 3, background } })
          .png()
          .toFile(path.join(dir, `part-${i}.png`));
      return {
        settings: { dir, mode: 'replay', loop: true },
        stop: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    kind: 'rtsp',
    mailbox: 'drop-oldest',
    start: async () => {
      const server = await startRtspServer({ width: 64, height: 48, fps: 15 });
      return { settings: { url: server.url, width: 64, height: 48 }, stop: () => server.stop() };
    },
  },
  {
    kind: 'gige',
    mailbox: 'drop-oldest',
    start: async () => {
      const release = await acquireFakeCameraLock();
      try {
        const cam = await startAravisFakeCamera({ ip: '127.0.0.1', serial: 'CONTRACT1' });
        return {
          settings: {
            address: cam.ip,
            serial: cam.serial,
            width: 160,
            height: 120,
            pixelFormat: 'Mono8',
            frameRate: 30,
          },
          stop: async () => {
            await cam.stop();
            release();
          },
        };
      } catch (e) {
        release();
        throw e;
      }
    },
  },
];

/** A source made as the daemon makes it, and the drops it reported. */
function create(c: Case, peer: Peer): { src: FrameSource; reported: () => number } {
  const problems: SettingProblem[] = [];
  const options = validateSettings(sourceKinds[c.kind].settings, peer.settings, 'source', problems);
  expect(problems).toEqual([]);
  let reported = 0;
  const src = sourceKinds[c.kind].create({
    id: `cam-${c.kind}`,
    options,
    log: pino({ level: 'warn' }),
    onDrop: () => reported++,
  });
  return { src, reported: () => reported };
}

const hasImage = (f: Frame): boolean =>
  f.pixelFormat === 'encoded' ? f.data.length > 0 : f.width > 0 && f.height > 0 && f.data.length > 0;

describe.each(cases)('the $kind source', (c) => {
  let peer: Peer | undefined;
  const sources: FrameSource[] = [];
  beforeAll(async () => {
    peer = await c.start();
  });
  afterAll(async () => {
    await Promise.all(sources.map((s) => s.close()));
    await peer?.stop();
  });

  it('streams numbered frames of its camera to one consumer, until close() ends the iteration', async () => {
    const { src } = create(c, peer!);
    sources.push(src);
    expect(src.kind).toBe(c.kind);
    expect(src.state).toBe('starting');

    const received: Frame[] = [];
    const states: string[] = [];
    const frames = src.frames();
    expect(() => src.frames()).toThrow(/one consumer/);
    const consumer = (async () => {
      for await (const f of frames) {
        received.push(f);
        states.push(src.state);
      }
    })();
    await until(() => received.length >= 5, 'five frames');
    await within(src.close(), 'close()');
    await within(consumer, 'the iteration to end after close()');

    expect(src.state).toBe('stopped');
    expect(src.stats().frames).toBe(received.length);
    expect(new Set(states)).toEqual(new Set(['streaming']));
    for (const f of received) {
      expect(f.cameraId).toBe(`cam-${c.kind}`);
      expect(hasImage(f), `frame ${f.seq} has an image`).toBe(true);
    }
    const seqs = received.map((f) => f.seq);
    expect(seqs[0]).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
  });

  if (c.mailbox === 'drop-oldest')
    it('drops the oldest frames for a consumer that falls behind, counted and reported', async () => {
      const { src, reported } = create(c, peer!);
      sources.push(src);
      const it = src.frames()[Symbol.asyncIterator]();
      const first = await within(it.next(), 'a first frame');
      // The consumer stops pulling: frames pile up past the mailbox, and the oldest go.
      await until(() => src.stats().dropped > 0, 'a dropped frame');
      const after = await within(it.next(), 'a frame after the drops');
      expect(after.done).toBe(false);
      expect((after.value as Frame).seq).toBeGreaterThan((first.value as Frame).seq + 1);
      await within(src.close(), 'close()');
      expect(src.stats().dropped).toBeGreaterThan(0);
      expect(reported()).toBe(src.stats().dropped);
      expect(src.stats().frames).toBe(2);
    });
  else
    it('loses nothing to a slow consumer: the consumer sets the pace', async () => {
      const { src, reported } = create(c, peer!);
      sources.push(src);
      const it = src.frames()[Symbol.asyncIterator]();
      const seqs: number[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await within(it.next(), `frame ${i + 1}`);
        expect(r.done).toBe(false);
        seqs.push((r.value as Frame).seq);
        // Busy elsewhere (inspecting, say) before it asks again.
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      await within(src.close(), 'close()');
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
      expect(src.stats()).toMatchObject({ frames: 8, dropped: 0 });
      expect(reported()).toBe(0);
    });
});
