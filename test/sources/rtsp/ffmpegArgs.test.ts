import { describe, expect, it } from 'vitest';
import { ffmpegArgs, scaleFilter } from '../../../src/sources/rtsp/ffmpegArgs.js';
import { rtspOptions } from './logs.js';

const after = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('ffmpeg command line', () => {
  it('reads RTSP over TCP by default, UDP when asked, and writes raw frames to stdout', () => {
    const a = ffmpegArgs(rtspOptions({ url: 'rtsp://h/x', width: 224, height: 224 }));
    expect(after(a, '-rtsp_transport')).toBe('tcp');
    expect(after(a, '-i')).toBe('rtsp://h/x');
    expect(after(a, '-vf')).toBe('scale=224:224:flags=area');
    expect(after(a, '-pix_fmt')).toBe('rgb24');
    expect(a.slice(-3)).toEqual(['-f', 'rawvideo', 'pipe:1']);
    expect(a.indexOf('-rtsp_transport')).toBeLessThan(a.indexOf('-i'));
    const u = ffmpegArgs(rtspOptions({ url: 'rtsp://h/x', transport: 'udp', pixelFormat: 'mono8' }));
    expect(after(u, '-rtsp_transport')).toBe('udp');
    expect(after(u, '-pix_fmt')).toBe('gray');
    expect(u).not.toContain('-vf');
  });

  it('scales to the requested size, keeping the aspect ratio for a side left at 0', () => {
    expect(scaleFilter(0, 0)).toBeUndefined();
    expect(scaleFilter(640, 0)).toBe('scale=640:-2:flags=area');
    expect(scaleFilter(0, 480)).toBe('scale=-2:480:flags=area');
  });

  it('puts hardware presets and extra input arguments before -i, extra output arguments after', () => {
    const a = ffmpegArgs(
      rtspOptions({
        url: 'rtsp://h/x',
        hwaccel: 'nvidia',
        inputArgs: ['-probesize', '1M'],
        outputArgs: ['-threads', '2'],
      }),
    );
    const i = a.indexOf('-i');
    expect(after(a, '-hwaccel')).toBe('cuda');
    expect(a.indexOf('-hwaccel')).toBeLessThan(i);
    expect(a.indexOf('-probesize')).toBeLessThan(i);
    expect(a.indexOf('-threads')).toBeGreaterThan(i);
    expect(a.indexOf('-threads')).toBeLessThan(a.indexOf('rawvideo'));
    expect(after(ffmpegArgs(rtspOptions({ url: 'rtsp://h/x', hwaccel: 'jetson-hevc' })), '-c:v')).toBe(
      'hevc_nvmpi',
    );
  });
});
