/**
 * The GigE Vision FrameSource against Aravis's fake camera on 127.0.0.1 (under the cross-file lock): set up by
 * feature name, continuous and software-triggered acquisition, a killed and restarted camera, bad settings.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../../src/core/frame.js';
import type { SourceContext } from '../../../src/core/frame.js';
import { GigeSource } from '../../../src/sources/gige/gigeSource.js';
import { gigeSettings, type GigeOptions, type GigeSettings } from '../../../src/sources/gige/settings.js';
import { startAravisFakeCamera, until, sleep } from '../../helpers/fakeCamera.js';
import { fakeCameraForFile } from '../../helpers/fakeCameraLock.js';
import { validSettings } from '../settings.js';
import { within } from '../../helpers/waiting.js';

const IP = '127.0.0.1';
const SERIAL = 'GIGESRC1';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function testLogger(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

/** The context a configuration gives: the documented defaults, then `over`. */
function context(over: Partial<GigeSettings>, log: pino.Logger): SourceContext<GigeOptions> {
  return { id: 'cam1', options: validSettings(gigeSettings, { address: IP, ...over }), log };
}

/** Collects frames from a source in the background. */
function collect(src: GigeSource): { frames: Frame[]; done: Promise<void> } {
  const frames: Frame[] = [];
  const done = (async () => {
    for await (const f of src.frames()) frames.push(f);
  })();
  return { frames, done };
}

const camera = fakeCameraForFile(() => startAravisFakeCamera({ ip: IP, serial: SERIAL }), {
  beforeAll,
  afterAll,
});

describe.sequential('GigeSource on the Aravis fake camera', () => {
  let src: GigeSource | undefined;
  afterEach(async () => {
    await src?.close();
    src = undefined;
  });

  it('streams a few hundred complete frames of the size set by feature name, with none incomplete', async () => {
    const { log } = testLogger();
    src = new GigeSource(context({ width: 320, height: 240, pixelFormat: 'Mono8', frameRate: 100 }, log));
    const { frames } = collect(src);
    await until(() => frames.length >= 300, '300 frames', 30_000);
    expect(src.state).toBe('streaming');
    expect(frames[0]).toMatchObject({ cameraId: 'cam1', width: 320, height: 240, pixelFormat: 'mono8' });
    expect(frames[0].data.length).toBe(320 * 240);
    // Sequence numbers count up by one; the fake camera's pattern moves, so frames differ.
    expect(frames.slice(0, 300).map((f) => f.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(frames[0].data.equals(frames[10].data)).toBe(false);
    const s = src.stats();
    expect(s.framesIncomplete).toBe(0);
    expect(s.framesLost).toBe(0);
    expect(s.frames).toBeGreaterThanOrEqual(300);
  });

  it('a different Width/Height in the settings shows in the frames', async () => {
    const { log } = testLogger();
    src = new GigeSource(context({ width: 160, height: 120, frameRate: 50 }, log));
    const { frames } = collect(src);
    await until(() => frames.length >= 5, '5 frames', 20_000);
    expect(frames.every((f) => f.width === 160 && f.height === 120 && f.data.length === 160 * 120)).toBe(
      true,
    );
  });

  it('in software-trigger mode, delivers exactly one frame per trigger and nothing in between', async () => {
    const { log } = testLogger();
    src = new GigeSource(context({ width: 320, height: 240, trigger: 'software' }, log));
    const { frames } = collect(src);
    await until(() => src!.state === 'streaming', 'streaming', 20_000);
    await sleep(500);
    expect(frames).toHaveLength(0);
    for (let i = 1; i <= 3; i++) {
      await src.trigger();
      await until(() => frames.length >= i, `frame ${i}`, 10_000);
      await sleep(300);
      expect(frames).toHaveLength(i);
    }
    expect(src.stats().triggers).toBe(3);
  });

  it('refuses a trigger in free run, naming the setting to change', async () => {
    const { log } = testLogger();
    src = new GigeSource(context({ width: 160, height: 120 }, log));
    collect(src);
    await expect(src.trigger()).rejects.toThrow(/free run.*cannot be triggered/);
    await expect(src.trigger()).rejects.toMatchObject({
      details: { fix: expect.stringMatching(/trigger.*software/) },
    });
  });

  it('keeps trying a camera whose settings it refuses, and logs every refused setting with the allowed values', async () => {
    const { log, lines } = testLogger();
    src = new GigeSource(
      context(
        {
          pixelFormat: 'Mono99',
          features: { NoSuchFeature: 1 },
          reconnectMinSec: 0.1,
          reconnectMaxSec: 0.2,
        },
        log,
      ),
    );
    const { frames } = collect(src);
    await until(() => src!.stats().connectFailures >= 2, 'two failed connects', 20_000);
    expect(frames).toHaveLength(0);
    expect(src.state).toBe('starting');
    const warn = lines.find((l) => /cannot start/.test(l.msg));
    expect(warn?.msg).toMatch(/PixelFormat = "Mono99".*allowed: .*Mono8/);
    expect(warn?.msg).toMatch(/NoSuchFeature = 1: no such feature/);
    // Repeats of the same failure are throttled: one line, not one per try.
    expect(lines.filter((l) => /cannot start/.test(l.msg))).toHaveLength(1);
  });

  it('finds the camera by serial number with a broadcast, and refuses a swapped camera', async () => {
    const { log } = testLogger();
    src = new GigeSource(
      context({ address: '', serial: SERIAL, interfaceAddress: IP, width: 160, height: 120 }, log),
    );
    const { frames } = collect(src);
    await until(() => frames.length >= 3, '3 frames', 20_000);
    await src.close();

    const other = testLogger();
    src = new GigeSource(context({ serial: 'SOMEONE-ELSE', reconnectMinSec: 0.1 }, other.log));
    collect(src);
    await until(() => src!.stats().connectFailures >= 1, 'a failed connect', 20_000);
    expect(other.lines.find((l) => /cannot start/.test(l.msg))?.msg).toMatch(
      new RegExp(`has serial ${SERIAL}, not SOMEONE-ELSE`),
    );
  });

  it('reports reconnecting when the camera dies, and resumes streaming when it is back, without a restart', async () => {
    const { log, lines } = testLogger();
    src = new GigeSource(
      context({ width: 160, height: 120, frameRate: 50, reconnectMinSec: 0.2, reconnectMaxSec: 1 }, log),
    );
    const { frames } = collect(src);
    await until(() => frames.length >= 5, 'first frames', 20_000);
    await camera.stop();
    await until(() => src!.state === 'reconnecting', 'reconnecting', 20_000);
    const before = frames.length;
    await camera.restart();
    await until(
      () => src!.state === 'streaming' && frames.length >= before + 5,
      'frames after restart',
      30_000,
    );
    expect(src.stats().reconnects).toBe(1);
    // Sequence numbers go on across the reconnect: the pipeline sees one camera.
    expect(frames.at(-1)!.seq).toBe(frames.length);
    expect(lines.some((l) => /camera lost/.test(l.msg) && l.level === 40)).toBe(true);
  });

  it('close() ends the frame iteration and releases the camera for another host', async () => {
    const { log } = testLogger();
    src = new GigeSource(context({ width: 160, height: 120 }, log));
    const { frames, done } = collect(src);
    await until(() => frames.length >= 2, 'frames', 20_000);
    await src.close();
    await within(done, 'the iteration to end');
    expect(src.state).toBe('stopped');
    // Control was released: a second source takes the camera at once (no heartbeat timeout to wait out).
    src = new GigeSource(context({ width: 160, height: 120 }, testLogger().log));
    const second = collect(src);
    await until(() => second.frames.length >= 2, 'frames on a second source', 10_000);
  });
});
