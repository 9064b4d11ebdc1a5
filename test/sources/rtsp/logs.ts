import pino, { type Logger } from 'pino';
import { rtspOptionSpecs, type RtspOptions } from '../../../src/sources/rtsp/options.js';
import type { RtspSourceOptions } from '../../../src/sources/rtsp/rtspSource.js';

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A real pino logger at debug level writing into memory: the raw text (what a user would see) and parsed lines. */
export function memoryLog(): { log: Logger; text: () => string; lines: () => LogLine[] } {
  const chunks: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void chunks.push(s) });
  return {
    log,
    text: () => chunks.join(''),
    lines: () => chunks.map((c) => JSON.parse(c) as LogLine),
  };
}

/** RTSP source options as the configuration would fill them: spec defaults, then `o`. */
export function rtspOptions(id: string, o: Partial<RtspOptions> & { url: string }): RtspSourceOptions {
  const defaults = Object.fromEntries(
    Object.entries(rtspOptionSpecs).map(([k, s]) => [k, (s as { default: unknown }).default]),
  ) as unknown as RtspOptions;
  return { ...defaults, ...o, id };
}
