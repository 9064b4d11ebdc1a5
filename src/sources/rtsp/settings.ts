import {
  custom,
  int,
  nonEmpty,
  num,
  oneOf,
  renamed,
  required,
  seconds,
  strings,
} from '../../core/settings.js';
import type { Group, Infer } from '../../core/settings.js';
import { redactUrl } from './redact.js';

/** Hardware decoding presets: extra ffmpeg input arguments, chosen in the configuration (see ffmpegArgs.ts). */
export const HWACCELS = ['none', 'nvidia', 'jetson-h264', 'jetson-hevc', 'vaapi'] as const;
export type Hwaccel = (typeof HWACCELS)[number];

/** Why a camera URL is unusable, or undefined. Never echoes credentials. */
export function checkRtspUrl(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0)
    return 'must be the camera URL, e.g. rtsp://user:password@192.168.1.20:554/stream1';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `must be a valid URL like rtsp://user:password@host:554/path (got "${redactUrl(v)}", credentials hidden)`;
  }
  if (u.protocol !== 'rtsp:' && u.protocol !== 'rtsps:')
    return `must start with rtsp:// or rtsps:// (got "${redactUrl(v)}", credentials hidden)`;
  if (!u.hostname) return `must name a host (got "${redactUrl(v)}", credentials hidden)`;
  return undefined;
}

const ffmpegArgList = strings('a list of strings, one ffmpeg argument each (e.g. ["-c:v", "h264_cuvid"])');

/** The `rtsp` camera's settings. */
export const rtspSettings = {
  url: {
    doc:
      'Camera stream URL, rtsp:// or rtsps://, e.g. rtsp://user:password@192.168.1.20:554/stream1 ' +
      '(percent-encode @ : / in the password). Credentials are never logged.',
    default: required<string>(),
    format: custom<string>(
      'a URL that starts with rtsp:// or rtsps:// and names a host, e.g. rtsp://user:password@192.168.1.20:554/stream1',
      'string',
      (v) => checkRtspUrl(v) === undefined,
    ),
    sensitive: true,
    show: (v: unknown) => (typeof v === 'string' ? JSON.stringify(redactUrl(v)) : '(hidden)'),
  },
  transport: {
    doc: 'RTSP transport: tcp (interleaved, survives lossy networks and NAT) or udp.',
    default: 'tcp',
    format: oneOf(['tcp', 'udp']),
  },
  width: {
    doc:
      "Frame width ffmpeg scales to, usually the recipe's input size; 0 = the camera's " +
      '(with height set: keeps the aspect ratio).',
    default: 0,
    format: int(0, 8192),
  },
  height: {
    doc: "Frame height ffmpeg scales to; 0 = the camera's (with width set: keeps the aspect ratio).",
    default: 0,
    format: int(0, 8192),
  },
  pixelFormat: {
    doc: 'Pixels delivered: rgb8 (ffmpeg rgb24) or mono8 (ffmpeg gray).',
    default: 'rgb8',
    format: oneOf(['rgb8', 'mono8']),
  },
  fps: {
    doc: 'Inspection rate: frames per second passed on, the rest decoded and skipped; 0 = every frame.',
    default: 0,
    format: num(0, 1000),
  },
  hwaccel: {
    doc:
      'Hardware decoding preset: none; nvidia (-hwaccel cuda, NVDEC); jetson-h264 / jetson-hevc ' +
      '(-c:v h264_nvmpi / hevc_nvmpi, an ffmpeg built with jetson-ffmpeg); vaapi (Intel/AMD, /dev/dri/renderD128).',
    default: 'none',
    format: oneOf(HWACCELS),
  },
  ffmpegPath: {
    doc: 'The ffmpeg program (a path, or a name looked up on PATH).',
    default: 'ffmpeg',
    format: nonEmpty(),
  },
  inputArgs: {
    doc: 'Extra ffmpeg arguments before -i (after the preset), e.g. ["-c:v", "h264_cuvid"].',
    default: [],
    format: ffmpegArgList,
  },
  outputArgs: {
    doc: 'Extra ffmpeg output arguments, before the rawvideo output, e.g. ["-threads", "2"].',
    default: [],
    format: ffmpegArgList,
  },
  stallTimeoutSec: {
    doc: 'Restart ffmpeg when no frame arrived for this long while streaming.',
    default: 10,
    format: seconds(0.5, 3600),
  },
  connectTimeoutSec: {
    doc: 'Restart ffmpeg when its first frame has not arrived this long after it started (connect, first key frame).',
    default: 20,
    format: seconds(1, 3600),
  },
  reconnectMinSec: {
    doc: 'First restart delay after a failure; doubles on each failure in a row up to reconnectMaxSec.',
    default: 1,
    format: seconds(0.1, 3600),
  },
  reconnectMaxSec: {
    doc: 'Longest restart delay.',
    default: 30,
    format: seconds(0.1, 3600),
  },
  retryMinSec: renamed('reconnectMinSec', undefined, 'the name gige cameras use'),
  retryMaxSec: renamed('reconnectMaxSec', undefined, 'the name gige cameras use'),
} satisfies Group;

export type RtspOptions = Infer<typeof rtspSettings>;
