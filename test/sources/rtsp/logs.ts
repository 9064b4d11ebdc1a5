import pino, { type Logger } from 'pino';
import type { SourceContext } from '../../../src/core/frame.js';
import { rtspSettings, type RtspOptions } from '../../../src/sources/rtsp/settings.js';
import { validSettings } from '../settings.js';

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

/** RTSP source options as the configuration would fill them: setting defaults, then `o`. */
export function rtspOptions(o: Partial<RtspOptions> & { url: string }): RtspOptions {
  return validSettings(rtspSettings, o);
}

/** An RTSP source's context with those options. */
export function rtspContext(
  id: string,
  o: Partial<RtspOptions> & { url: string },
  log: Logger,
): SourceContext<RtspOptions> {
  return { id, options: rtspOptions(o), log };
}
