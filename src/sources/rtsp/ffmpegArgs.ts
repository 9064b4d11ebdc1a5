import type { Hwaccel, RtspOptions } from './settings.js';

/**
 * Hardware decoding as configuration: each preset is a few ffmpeg input arguments. Decoded frames come back
 * to system memory (no -hwaccel_output_format), so the scale and pixel conversion below work with all of them.
 */
export const HWACCEL_ARGS: Record<Hwaccel, readonly string[]> = {
  none: [],
  // NVDEC through ffmpeg's CUDA hwaccel: any codec the GPU decodes.
  nvidia: ['-hwaccel', 'cuda'],
  // Jetson (Nano/Xavier/Orin) decoders of jetson-ffmpeg; the codec must be named.
  'jetson-h264': ['-c:v', 'h264_nvmpi'],
  'jetson-hevc': ['-c:v', 'hevc_nvmpi'],
  vaapi: ['-hwaccel', 'vaapi', '-hwaccel_device', '/dev/dri/renderD128', '-hwaccel_output_format', 'yuv420p'],
};

export const FFMPEG_PIX_FMT = { rgb8: 'rgb24', mono8: 'gray' } as const;

/** Bytes per pixel of each delivered format. */
export const CHANNELS = { rgb8: 3, mono8: 1 } as const;

/** The scale filter for a requested size, or undefined for the camera's own size. */
export function scaleFilter(width: number, height: number): string | undefined {
  if (width === 0 && height === 0) return undefined;
  // -2: the other side follows the aspect ratio, rounded to an even number (what most encoders produced).
  const w = width === 0 ? -2 : width;
  const h = height === 0 ? -2 : height;
  // area: averaging for large reductions (1080p -> 224), no aliasing, and cheap.
  return `scale=${w}:${h}:flags=area`;
}

type ArgsOptions = Pick<
  RtspOptions,
  'url' | 'transport' | 'width' | 'height' | 'pixelFormat' | 'hwaccel' | 'inputArgs' | 'outputArgs'
>;

/** The ffmpeg command line (without the program) that writes raw frames of the requested size to stdout. */
export function ffmpegArgs(o: ArgsOptions): string[] {
  const vf = scaleFilter(o.width, o.height);
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    // info: the stream lines (sizes, codec) the source reads; errors are printed at any level.
    '-loglevel',
    'info',
    ...HWACCEL_ARGS[o.hwaccel],
    ...o.inputArgs,
    '-rtsp_transport',
    o.transport,
    // Live: no input buffering, drop corrupt packets rather than pass on broken frames.
    '-fflags',
    '+genpts+discardcorrupt+nobuffer',
    '-flags',
    'low_delay',
    '-i',
    o.url,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    // Each decoded frame once: rawvideo would otherwise get a constant rate (duplicates after a hiccup).
    '-vsync',
    'passthrough',
    ...(vf ? ['-vf', vf] : []),
    '-pix_fmt',
    FFMPEG_PIX_FMT[o.pixelFormat],
    ...o.outputArgs,
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}
