import { describe, expect, it } from 'vitest';
import { applySpecs, type Problem } from '../../../src/config/options.js';
import { redactUrl, redactorFor, secretsOf } from '../../../src/sources/rtsp/redact.js';
import { rtspOptionSpecs } from '../../../src/sources/rtsp/options.js';

describe('credentials in camera URLs', () => {
  it('masks user and password in URLs, wherever they are in a line', () => {
    expect(redactUrl('rtsp://admin:hunter22@10.0.0.5:554/Streaming/Channels/101')).toBe(
      'rtsp://***:***@10.0.0.5:554/Streaming/Channels/101',
    );
    expect(redactUrl("Input #0, rtsp, from 'rtsps://u:p@cam.local/live':")).toBe(
      "Input #0, rtsp, from 'rtsps://***:***@cam.local/live':",
    );
    // ffmpeg splits at the last "@" before the path: an unencoded "@" in the password is still masked.
    expect(redactUrl('rtsp://admin:p@ss@10.0.0.5/x')).toBe('rtsp://***:***@10.0.0.5/x');
    expect(redactUrl('rtsp://admin@10.0.0.5/x')).toBe('rtsp://***:***@10.0.0.5/x');
    expect(redactUrl('rtsp://10.0.0.5/x?user=a')).toBe('rtsp://10.0.0.5/x?user=a');
  });

  it("masks the camera's own user and password also outside URLs, encoded or not", () => {
    const r = redactorFor('rtsp://operator:p%40ss%3Aword@10.0.0.5/x');
    expect(secretsOf('rtsp://operator:p%40ss%3Aword@10.0.0.5/x')).toEqual(
      expect.arrayContaining(['p%40ss%3Aword', 'p@ss:word', 'operator']),
    );
    const line = r('[rtsp @ 0x1] user operator with p@ss:word and p%40ss%3Aword at rtsp://operator:x@h/y');
    expect(line).not.toMatch(/operator|p@ss:word|p%40ss/);
    expect(line).toContain('rtsp://***:***@h/y');
  });

  it('leaves short user names alone outside URLs (they would mask ordinary words)', () => {
    expect(redactorFor('rtsp://a:b@h/x')('a bad frame')).toBe('a bad frame');
  });

  it('never echoes a bad URL with its credentials in configuration errors', () => {
    const problems: Problem[] = [];
    applySpecs(rtspOptionSpecs, { url: 'http://admin:hunter22@10.0.0.5/x' }, 'cameras[0].source', problems);
    const p = problems.find((x) => x.key === 'cameras[0].source.url');
    expect(p?.message).toContain('must start with rtsp:// or rtsps://');
    expect(p?.message).toContain('http://***:***@10.0.0.5/x');
    expect(p?.message).not.toContain('hunter22');
    expect(p?.message).not.toContain('admin');
  });

  it('accepts rtsp and rtsps URLs and fills every default', () => {
    const problems: Problem[] = [];
    const o = applySpecs(rtspOptionSpecs, { url: 'rtsp://10.0.0.5/x', width: 224 }, 's', problems);
    expect(problems).toEqual([]);
    expect(o).toMatchObject({
      url: 'rtsp://10.0.0.5/x',
      transport: 'tcp',
      width: 224,
      height: 0,
      hwaccel: 'none',
    });
    applySpecs(rtspOptionSpecs, { url: 'rtsps://h/x', transport: 'quic', inputArgs: '-x' }, 's', problems);
    expect(problems.map((p) => p.key)).toEqual(['s.transport', 's.inputArgs']);
  });
});
