import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../../src/core/frame.js';
import { RtspSource } from '../../../src/sources/rtsp/rtspSource.js';
import { freePort, waitFor } from '../../helpers/peers.js';
import { startRtspServer, type RtspServer } from '../../helpers/rtspServer.js';
import { within } from '../../helpers/waiting.js';
import { memoryLog, rtspContext } from './logs.js';

const PASSWORD = 'S3cr3t@pw!';
const USER = 'inspector';

/** The next `n` frames from an iterator (it stays open for more). */
async function take(it: AsyncIterator<Frame>, n: number): Promise<Frame[]> {
  const out: Frame[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) throw new Error(`the source ended after ${out.length} frame(s)`);
    out.push(r.value);
  }
  return out;
}

describe('RtspSource against gst-rtsp-server on loopback', () => {
  let server: RtspServer;
  const sources: RtspSource[] = [];
  const open = (s: RtspSource): RtspSource => (sources.push(s), s);

  beforeAll(async () => {
    server = await startRtspServer({ width: 320, height: 240, fps: 15, user: USER, password: PASSWORD });
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('delivers rgb8 frames at the configured size, scaled by ffmpeg, numbered from 1', async () => {
    const logs = memoryLog();
    const src = open(
      new RtspSource(rtspContext('cam1', { url: server.url, width: 64, height: 48 }, logs.log)),
    );
    const it = src.frames()[Symbol.asyncIterator]();
    const frames = await within(take(it, 5), 'five frames');
    for (const f of frames) {
      expect(f).toMatchObject({ cameraId: 'cam1', width: 64, height: 48, pixelFormat: 'rgb8' });
      expect(f.data.length).toBe(64 * 48 * 3);
    }
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(frames[4].timestamp).toBeGreaterThanOrEqual(frames[0].timestamp);
    // The SMPTE bars: the top-left is light grey-white, not a black or empty frame.
    const f = frames[4].data;
    expect(f[0] + f[1] + f[2]).toBeGreaterThan(3 * 150);
    expect(src.state).toBe('streaming');
    expect(src.stats()).toMatchObject({ width: 64, height: 48, restarts: 0 });
    expect(logs.text()).toContain('h264 320x240 -> 64x48 rgb8');
  });

  it("uses the camera's own size when width and height are 0, and mono8 as one byte per pixel", async () => {
    const src = open(
      new RtspSource(rtspContext('cam2', { url: server.url, pixelFormat: 'mono8' }, memoryLog().log)),
    );
    const [f] = await within(take(src.frames()[Symbol.asyncIterator](), 1), 'a frame');
    expect(f).toMatchObject({ width: 320, height: 240, pixelFormat: 'mono8' });
    expect(f.data.length).toBe(320 * 240);
  });

  it('keeps the aspect ratio when only the width is set', async () => {
    const src = open(new RtspSource(rtspContext('cam3', { url: server.url, width: 160 }, memoryLog().log)));
    const [f] = await within(take(src.frames()[Symbol.asyncIterator](), 1), 'a frame');
    expect([f.width, f.height, f.data.length]).toEqual([160, 120, 160 * 120 * 3]);
  });

  it('streams over UDP when asked', async () => {
    const src = open(
      new RtspSource(
        rtspContext('camU', { url: server.url, transport: 'udp', width: 32, height: 24 }, memoryLog().log),
      ),
    );
    const frames = await within(take(src.frames()[Symbol.asyncIterator](), 3), 'three frames over UDP');
    expect(frames.map((f) => f.data.length)).toEqual([32 * 24 * 3, 32 * 24 * 3, 32 * 24 * 3]);
  });

  it('skips frames down to the inspection rate: frames passed on are spaced by the rate', async () => {
    const src = open(
      new RtspSource(
        rtspContext('cam4', { url: server.url, width: 32, height: 32, fps: 4 }, memoryLog().log),
      ),
    );
    const frames = await within(take(src.frames()[Symbol.asyncIterator](), 6), 'six frames', 30_000);
    // The gate steps its due time by exactly 1/fps and is never more than one step late, so n frames span
    // more than (n - 2) steps whatever the timing; the camera sends 15/s, so most frames were skipped.
    expect(frames[5].timestamp - frames[0].timestamp).toBeGreaterThan(4 * 250 - 1);
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(src.stats().skipped).toBeGreaterThan(0);
  });

  it('reports refused credentials clearly, keeps retrying, and never logs the password', async () => {
    const logs = memoryLog();
    const bad = server.url.replace(encodeURIComponent(PASSWORD), 'wr0ng-pass');
    const src = open(
      new RtspSource(rtspContext('cam5', { url: bad, reconnectMinSec: 0.2, reconnectMaxSec: 0.4 }, logs.log)),
    );
    const it = src.frames()[Symbol.asyncIterator]();
    void it.next();
    await waitFor(() => src.stats().restarts >= 3, 'three restarts', 20_000);
    expect(src.state).toBe('reconnecting');
    const first = logs.lines().find((l) => l.reason === 'auth');
    expect(first?.level).toBe(50);
    expect(first?.msg).toContain('refused the credentials (401 Unauthorized)');
    expect(first?.msg).toContain(`rtsp://***:***@127.0.0.1:${server.port}/cam`);
    expect(first?.fix).toMatch(/user name and password/);
    expect(logs.text()).not.toContain('wr0ng-pass');
    expect(logs.text()).not.toContain(USER);
  });

  it('reports a wrong path as 404 with the path to check', async () => {
    const logs = memoryLog();
    const src = open(
      new RtspSource(
        rtspContext(
          'cam6',
          { url: server.url.replace('/cam', '/nope'), reconnectMinSec: 0.2, reconnectMaxSec: 0.4 },
          logs.log,
        ),
      ),
    );
    void src.frames()[Symbol.asyncIterator]().next();
    await waitFor(() => src.stats().restarts >= 2, 'two restarts', 20_000);
    const line = logs.lines().find((l) => l.reason === 'not-found');
    expect(line?.msg).toContain('no stream at this path (404 Not Found)');
    expect(logs.text()).not.toContain(encodeURIComponent(PASSWORD));
    expect(logs.text()).not.toContain(PASSWORD);
  });

  it('reports a port where nothing listens as refused, and closes promptly while retrying', async () => {
    const logs = memoryLog();
    const port = await freePort();
    const src = open(
      new RtspSource(
        rtspContext(
          'cam7',
          {
            url: `rtsp://u:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/x`,
            reconnectMinSec: 0.2,
          },
          logs.log,
        ),
      ),
    );
    const it = src.frames()[Symbol.asyncIterator]();
    const ended = it.next();
    await waitFor(() => logs.lines().some((l) => l.reason === 'refused'), 'a refused line', 20_000);
    expect(logs.lines().find((l) => l.reason === 'refused')?.msg).toContain('connection refused');
    await within(src.close(), 'close');
    expect(src.state).toBe('stopped');
    await expect(within(ended, 'the iteration to end')).resolves.toMatchObject({ done: true });
    expect(logs.text()).not.toContain(PASSWORD);
  });

  it('hardware presets: frames where the machine can, a clear hardware-decoding error where it cannot', async () => {
    // The same test on a GPU box streams through NVDEC; here (no libcuda, no h264_nvmpi) it checks the errors.
    const hasCuda = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes('libcuda.so.1');
    const hasNvmpi = execFileSync('ffmpeg', ['-hide_banner', '-decoders'], { encoding: 'utf8' }).includes(
      'h264_nvmpi',
    );
    for (const [hwaccel, can, reason] of [
      ['nvidia', hasCuda, 'hwaccel'],
      ['jetson-h264', hasNvmpi, 'decoder-missing'],
    ] as const) {
      const logs = memoryLog();
      const src = open(
        new RtspSource(
          rtspContext(`hw-${hwaccel}`, { url: server.url, width: 32, height: 32, hwaccel }, logs.log),
        ),
      );
      const it = src.frames()[Symbol.asyncIterator]();
      if (can) {
        await within(take(it, 2), `frames through ${hwaccel}`);
        continue;
      }
      void it.next();
      await waitFor(
        () => logs.lines().some((l) => l.reason === reason),
        `${hwaccel}: a ${reason} line`,
        20_000,
      );
      const line = logs.lines().find((l) => l.reason === reason);
      expect(line?.level, hwaccel).toBe(50);
      expect(line?.fix, hwaccel).toMatch(/hwaccel/);
      expect(src.state, hwaccel).toBe('reconnecting');
    }
  });

  it('fails clearly when ffmpeg is missing', async () => {
    const logs = memoryLog();
    const src = open(
      new RtspSource(
        rtspContext(
          'cam8',
          { url: server.url, ffmpegPath: '/nonexistent/ffmpeg', reconnectMinSec: 0.2 },
          logs.log,
        ),
      ),
    );
    void src.frames()[Symbol.asyncIterator]().next();
    await waitFor(() => src.state === 'failed', 'state failed', 10_000);
    const line = logs.lines().find((l) => l.reason === 'ffmpeg-missing');
    expect(line?.msg).toContain('cannot run ffmpeg "/nonexistent/ffmpeg" (ENOENT)');
    expect(line?.fix).toContain('apt-get install ffmpeg');
  });
});

describe('RtspSource watchdog with a server that dies, stalls and comes back', () => {
  it('resumes after the server is killed and restarted, never waiting longer than the configured retry time', async () => {
    const logs = memoryLog();
    let server = await startRtspServer({ width: 64, height: 48, fps: 15 });
    const ctx = rtspContext(
      'camR',
      {
        url: server.url,
        width: 64,
        height: 48,
        reconnectMinSec: 0.25,
        reconnectMaxSec: 1,
        connectTimeoutSec: 5,
        stallTimeoutSec: 3,
      },
      logs.log,
    );
    const opts = ctx.options;
    const src = new RtspSource(ctx);
    try {
      const it = src.frames()[Symbol.asyncIterator]();
      await within(take(it, 3), 'first frames');
      server.proc.kill('SIGKILL');
      await waitFor(() => src.state === 'reconnecting', 'reconnecting', 60_000);
      const restartsDown = src.stats().restarts;
      await waitFor(() => src.stats().restarts >= restartsDown + 2, 'retries while down', 60_000);
      const seqBefore = src.stats().framesOut;

      server = await startRtspServer({ port: server.port, width: 64, height: 48, fps: 15 });
      const back = Date.now();
      // Pending frames from before the outage may still be in the mailbox: skip to a fresh one.
      let f: Frame;
      do [f] = await within(take(it, 1), 'frames after the restart', 60_000);
      while (f.timestamp < back);
      // The retry time is what the source waited between tries, as it logs each; how long ffmpeg then takes
      // to connect is the machine's business, not the contract.
      const waits = logs
        .lines()
        .map((l) => l.retryInSec as number | undefined)
        .filter((x) => x !== undefined);
      expect(waits.length).toBeGreaterThanOrEqual(1);
      expect(Math.max(...waits)).toBeLessThanOrEqual(opts.reconnectMaxSec * 1.1);
      expect(f.seq).toBeGreaterThan(seqBefore);
      expect(src.state).toBe('streaming');
      expect(logs.lines().some((l) => /streaming again/.test(l.msg))).toBe(true);
      expect(src.stats().restartsLastHour).toBe(src.stats().restarts);
    } finally {
      await src.close();
      await server.stop();
    }
  });

  it('restarts ffmpeg when frames stop without ffmpeg exiting (stall), and counts the stall', async () => {
    const logs = memoryLog();
    const server = await startRtspServer({ width: 64, height: 48, fps: 15 });
    const src = new RtspSource(
      rtspContext(
        'camS',
        {
          url: server.url,
          width: 64,
          height: 48,
          stallTimeoutSec: 1.5,
          // Long: a restarted ffmpeg waiting on the stopped server carries on once it runs again; a short one
          // would make "frames again" depend on how fast this machine starts ffmpeg.
          connectTimeoutSec: 60,
          reconnectMinSec: 0.25,
          reconnectMaxSec: 0.5,
        },
        logs.log,
      ),
    );
    try {
      const it = src.frames()[Symbol.asyncIterator]();
      await within(take(it, 2), 'first frames');
      // A frozen camera: the TCP connection stays open, nothing comes.
      server.proc.kill('SIGSTOP');
      await waitFor(() => src.stats().stalls >= 1, 'a stall', 60_000);
      expect(logs.lines().find((l) => l.reason === 'stall')?.msg).toContain('no frame for 1.5 s');
      server.proc.kill('SIGCONT');
      const n = src.stats().framesIn;
      await waitFor(() => src.stats().framesIn > n + 3 && src.state === 'streaming', 'frames again', 60_000);
      expect(src.stats().stallsLastHour).toBeGreaterThanOrEqual(1);
    } finally {
      server.proc.kill('SIGCONT');
      await src.close();
      await server.stop();
    }
  });
});
