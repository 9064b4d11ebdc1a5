import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { formatProblem, validateSettings, type SettingProblem } from '../../../src/core/settings.js';
import { redactUrl, redactorFor, secretsOf } from '../../../src/sources/rtsp/redact.js';
import { RtspSource } from '../../../src/sources/rtsp/rtspSource.js';
import { rtspSettings } from '../../../src/sources/rtsp/settings.js';

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
    const problems: SettingProblem[] = [];
    const url = 'http://admin:hunter22@10.0.0.5/x';
    const options = validateSettings(rtspSettings, { url }, 'cameras[0].source', problems);
    const p = problems.find((x) => x.path === 'cameras[0].source.url');
    expect(p && formatProblem(p)).toContain('starts with rtsp:// or rtsps://');
    expect(p && formatProblem(p)).toContain('got "http://***:***@10.0.0.5/x"');
    // The source, given it anyway, says what is wrong with it, masked.
    let message = '';
    try {
      new RtspSource({ id: 'cam', options, log: pino({ level: 'silent' }) });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('must start with rtsp:// or rtsps://');
    expect(message).toContain('http://***:***@10.0.0.5/x');
    for (const text of [message, JSON.stringify(problems)]) {
      expect(text).not.toContain('hunter22');
      expect(text).not.toContain('admin');
    }
  });

  it('accepts rtsp and rtsps URLs and fills every default', () => {
    const problems: SettingProblem[] = [];
    const o = validateSettings(rtspSettings, { url: 'rtsp://10.0.0.5/x', width: 224 }, 's', problems);
    expect(problems).toEqual([]);
    expect(o).toMatchObject({
      url: 'rtsp://10.0.0.5/x',
      transport: 'tcp',
      width: 224,
      height: 0,
      hwaccel: 'none',
    });
    validateSettings(rtspSettings, { url: 'rtsps://h/x', transport: 'quic', inputArgs: '-x' }, 's', problems);
    expect(problems.map((p) => p.path)).toEqual(['s.transport', 's.inputArgs']);
  });
});
