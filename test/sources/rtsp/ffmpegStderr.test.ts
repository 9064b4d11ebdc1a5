import { describe, expect, it } from 'vitest';
import { FfmpegStderr, classifyLine, parseVideoStream } from '../../../src/sources/rtsp/ffmpegStderr.js';
import { redactorFor } from '../../../src/sources/rtsp/redact.js';

// Lines as Debian's ffmpeg 5.1 prints them (captured against the test server).
const SESSION = `Input #0, rtsp, from 'rtsp://u:p%40ss@127.0.0.1:18554/cam':
  Metadata:
    title           : Session streamed with GStreamer
  Duration: N/A, start: 0.066667, bitrate: N/A
  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(tv, smpte170m, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 15 fps, 15 tbr, 90k tbn
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))
Output #0, rawvideo, to 'pipe:1':
  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/smpte170m/smpte170m, progressive), 224x224 [SAR 4:3 DAR 4:3], q=2-31, 18063 kb/s, 15 fps, 15 tbn
[h264 @ 0x5560] error while decoding MB 12 34, bytestream -5
[h264 @ 0x5560] concealing 1200 DC, 1200 AC, 1200 MV errors in P frame
frame=  401 fps= 15 q=-0.0 Lsize=N/A time=00:00:26.80 bitrate=N/A speed=   1x
`;

describe("ffmpeg's stderr", () => {
  it('classifies the failures users meet, with a fix each', () => {
    const cases: [string, string][] = [
      ['[rtsp @ 0x56] method DESCRIBE failed: 401 Unauthorized', 'auth'],
      ['rtsp://***:***@h/cam: Server returned 401 Unauthorized (authorization failed)', 'auth'],
      ['[rtsp @ 0x55] method DESCRIBE failed: 404 Not Found', 'not-found'],
      ['[rtsp @ 0x55] method DESCRIBE failed: 403 Forbidden', 'forbidden'],
      ['[rtsp @ 0x55] method SETUP failed: 461 Unsupported transport', 'transport'],
      ['[rtsp @ 0x55] method DESCRIBE failed: 503 Service Unavailable', 'server'],
      ['[tcp @ 0x55] Connection to tcp://127.0.0.1:18555?timeout=0 failed: Connection refused', 'refused'],
      ['[tcp @ 0x56] Failed to resolve hostname nonexistent.invalid: Name or service not known', 'dns'],
      ['[tcp @ 0x56] Connection to tcp://10.9.9.9:554 failed: Connection timed out', 'unreachable'],
      ["Unknown decoder 'h264_nvmpi'", 'decoder-missing'],
      ['[AVHWDeviceContext @ 0x5] Cannot load libcuda.so.1', 'hwaccel'],
      ["Stream map '0:v:0' matches no streams.", 'no-video'],
      ["Unrecognized option 'bogus'.", 'ffmpeg-args'],
      ['rtsp://h/x: Invalid data found when processing input', 'bad-stream'],
    ];
    for (const [line, kind] of cases) {
      const p = classifyLine(line);
      expect(p?.kind, line).toBe(kind);
      expect(p?.fix.length, line).toBeGreaterThan(10);
    }
    // Progress and informational lines are not problems (frame=  401 is not a 401).
    expect(classifyLine('frame=  401 fps= 15 q=-0.0 Lsize=N/A time=00:00:26.80')).toBeUndefined();
    expect(classifyLine('  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))')).toBeUndefined();
  });

  it('parses video stream lines, never mistaking a codec tag for a size', () => {
    expect(
      parseVideoStream(
        '  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, progressive), 224x224, q=2-31',
      ),
    ).toEqual({ codec: 'rawvideo', width: 224, height: 224 });
    expect(
      parseVideoStream('  Stream #0:1[0x101]: Video: hevc (Main), yuv420p(tv), 2560x1440, 20 fps'),
    ).toEqual({
      codec: 'hevc',
      width: 2560,
      height: 1440,
    });
    expect(parseVideoStream('  Stream #0:1: Audio: aac, 16000 Hz, mono')).toBeUndefined();
  });

  it('reads a session in arbitrary chunks: input and output streams, decode warnings counted, URL masked', () => {
    const outputs: unknown[] = [];
    const s = new FfmpegStderr(redactorFor('rtsp://u:p%40ss@127.0.0.1:18554/cam'), (v) => outputs.push(v));
    for (let i = 0; i < SESSION.length; i += 7) s.push(Buffer.from(SESSION.slice(i, i + 7)));
    s.end();
    expect(s.input).toEqual({ codec: 'h264', width: 1920, height: 1080 });
    expect(s.output).toEqual({ codec: 'rawvideo', width: 224, height: 224 });
    expect(outputs).toEqual([{ codec: 'rawvideo', width: 224, height: 224 }]);
    expect(s.decodeWarnings).toBe(2);
    expect(s.problem).toBeUndefined();
    expect(s.tail()[0]).toBe("Input #0, rtsp, from 'rtsp://***:***@127.0.0.1:18554/cam':");
    expect(s.tail().join('\n')).not.toMatch(/p%40ss|p@ss|error while decoding/);
  });

  it('keeps the first problem and a bounded tail', () => {
    const s = new FfmpegStderr((x) => x, undefined, 3);
    s.push(
      'a\nb\n[rtsp @ 0x1] method DESCRIBE failed: 404 Not Found\nrtsp://h/x: Server returned 404 Not Found\ne',
    );
    s.end();
    expect(s.problem?.kind).toBe('not-found');
    expect(s.problemLine).toBe('[rtsp @ 0x1] method DESCRIBE failed: 404 Not Found');
    expect(s.tail()).toEqual([
      '[rtsp @ 0x1] method DESCRIBE failed: 404 Not Found',
      'rtsp://h/x: Server returned 404 Not Found',
      'e',
    ]);
  });
});
