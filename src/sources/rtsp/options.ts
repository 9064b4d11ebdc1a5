import { checks, type OptionSpecs } from '../../config/options.js';
import { redactUrl } from './redact.js';

/** Hardware decoding presets: extra ffmpeg input arguments, chosen in the configuration (see ffmpegArgs.ts). */
export const HWACCELS = ['none', 'nvidia', 'jetson-h264', 'jetson-hevc', 'vaapi'] as const;
export type Hwaccel = (typeof HWACCELS)[number];

/** An RTSP camera's settings as they appear in a configuration (everything but the camera id). */
export interface RtspOptions {
  /** rtsp:// or rtsps:// URL, credentials included when the camera needs them. */
  url: string;
  transport: 'tcp' | 'udp';
  /** Output size; 0 = the camera's (one of them 0: that side follows the aspect ratio). */
  width: number;
  height: number;
  pixelFormat: 'rgb8' | 'mono8';
  /** Frames per second passed on; 0 = every decoded frame. */
  fps: number;
  hwaccel: Hwaccel;
  ffmpegPath: string;
  inputArgs: string[];
  outputArgs: string[];
  /** No frame for this long while streaming: ffmpeg is restarted. */
  stallTimeoutSec: number;
  /** No first frame this long after ffmpeg starts (connect, describe, first key frame): restarted. */
  connectTimeoutSec: number;
  /** Restart delays: from retryMinSec, doubling per failure, up to retryMaxSec. */
  retryMinSec: number;
  retryMaxSec: number;
}

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

const stringList = () => (v: unknown) =>
  Array.isArray(v) && v.every((s) => typeof s === 'string')
    ? undefined
    : 'must be a list of strings, one ffmpeg argument each (e.g. ["-c:v", "h264_cuvid"])';

export const rtspOptionSpecs: OptionSpecs<RtspOptions> = {
  url: {
    doc:
      'Camera stream URL, rtsp:// or rtsps://, e.g. rtsp://user:password@192.168.1.20:554/stream1 ' +
      '(percent-encode @ : / in the password). Credentials are never logged.',
    default: '',
    check: checkRtspUrl,
    sensitive: true,
  },
  transport: {
    doc: 'RTSP transport: tcp (interleaved, survives lossy networks and NAT) or udp.',
    default: 'tcp',
    check: checks.oneOf(['tcp', 'udp']),
  },
  width: {
    doc:
      "Frame width ffmpeg scales to, usually the recipe's input size; 0 = the camera's " +
      '(with height set: keeps the aspect ratio).',
    default: 0,
    check: checks.int(0, 8192),
  },
  height: {
    doc: "Frame height ffmpeg scales to; 0 = the camera's (with width set: keeps the aspect ratio).",
    default: 0,
    check: checks.int(0, 8192),
  },
  pixelFormat: {
    doc: 'Pixels delivered: rgb8 (ffmpeg rgb24) or mono8 (ffmpeg gray).',
    default: 'rgb8',
    check: checks.oneOf(['rgb8', 'mono8']),
  },
  fps: {
    doc: 'Inspection rate: frames per second passed on, the rest decoded and skipped; 0 = every frame.',
    default: 0,
    check: checks.number(0, 1000),
  },
  hwaccel: {
    doc:
      'Hardware decoding preset: none; nvidia (-hwaccel cuda, NVDEC); jetson-h264 / jetson-hevc ' +
      '(-c:v h264_nvmpi / hevc_nvmpi, an ffmpeg built with jetson-ffmpeg); vaapi (Intel/AMD, /dev/dri/renderD128).',
    default: 'none',
    check: checks.oneOf(HWACCELS),
  },
  ffmpegPath: {
    doc: 'The ffmpeg program (a path, or a name looked up on PATH).',
    default: 'ffmpeg',
    check: checks.nonEmptyString(),
  },
  inputArgs: {
    doc: 'Extra ffmpeg arguments before -i (after the preset), e.g. ["-c:v", "h264_cuvid"].',
    default: [],
    check: stringList(),
  },
  outputArgs: {
    doc: 'Extra ffmpeg output arguments, before the rawvideo output, e.g. ["-threads", "2"].',
    default: [],
    check: stringList(),
  },
  stallTimeoutSec: {
    doc: 'Restart ffmpeg when no frame arrived for this long while streaming.',
    default: 10,
    check: checks.number(0.5, 3600),
  },
  connectTimeoutSec: {
    doc: 'Restart ffmpeg when its first frame has not arrived this long after it started (connect, first key frame).',
    default: 20,
    check: checks.number(1, 3600),
  },
  retryMinSec: {
    doc: 'First restart delay after a failure; doubles on each failure in a row.',
    default: 1,
    check: checks.number(0.1, 3600),
  },
  retryMaxSec: {
    doc: 'Longest restart delay.',
    default: 30,
    check: checks.number(0.1, 3600),
  },
};
