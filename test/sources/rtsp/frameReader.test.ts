import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../../src/sources/rtsp/frameReader.js';
import { mulberry32 } from '../../../src/core/random.js';

async function readAll(r: FrameReader): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let f = await r.next(); f; f = await r.next()) out.push(f);
  return out;
}

describe('reading exactly one frame at a time', () => {
  it('returns whole frames however the stream is chunked, and reports a truncated tail', async () => {
    const frameBytes = 1000;
    const data = Buffer.alloc(frameBytes * 7 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
    const rand = mulberry32(5);
    const s = new PassThrough();
    const r = new FrameReader(s, frameBytes);
    const frames = readAll(r);
    for (let at = 0; at < data.length;) {
      const n = 1 + Math.floor(rand() * 2500);
      s.write(data.subarray(at, at + n));
      at += n;
      await new Promise((res) => setImmediate(res));
    }
    s.end();
    const got = await frames;
    expect(got.length).toBe(7);
    for (const [i, f] of got.entries())
      expect(f.equals(data.subarray(i * frameBytes, (i + 1) * frameBytes))).toBe(true);
    expect(r.truncatedBytes).toBe(123);
  });

  it("reads a real ffmpeg child's rawvideo: as many frames as it wrote, byte for byte", async () => {
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=96x64:rate=25'];
    const out = ['-frames:v', '12', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
    const whole = await new Promise<Buffer>((resolve, reject) => {
      const p = spawn('ffmpeg', [...args, ...out], { stdio: ['ignore', 'pipe', 'inherit'] });
      const parts: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => parts.push(d));
      p.once('error', reject);
      p.once('close', () => resolve(Buffer.concat(parts)));
    });
    const p = spawn('ffmpeg', [...args, ...out], { stdio: ['ignore', 'pipe', 'inherit'] });
    const frames = await readAll(new FrameReader(p.stdout, 96 * 64 * 3));
    expect(frames.length).toBe(12);
    expect(Buffer.concat(frames).equals(whole)).toBe(true);
  });

  it('rejects a frame size that is not a positive integer', () => {
    expect(() => new FrameReader(new PassThrough(), 0)).toThrow(RangeError);
  });
});
