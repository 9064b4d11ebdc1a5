import type { Logger } from 'pino';

/** Pixel layouts a source may deliver; preprocess converts each to the model's input. */
export type PixelFormat = 'rgb8' | 'mono8' | 'encoded';

/**
 * One image from a camera. `data` is raw pixels (rgb8: interleaved RGB, mono8: one byte per pixel, rows
 * packed) or, for `encoded`, the bytes of an image file (PNG, JPEG...) with width/height 0 until decoded.
 */
export interface Frame {
  cameraId: string;
  /** Per-source counter from 1, never reused while the source lives. */
  seq: number;
  /** When the frame was captured (or the file appeared), epoch milliseconds. */
  timestamp: number;
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  data: Buffer;
  /** Part identifier from the line (PLC, barcode, file name), when known. */
  partId?: string;
  /** Where it came from, for logs: a file path, a URL, "sim". */
  origin?: string;
  /** Ground truth, when the source knows it (the sim camera labels its injected defects). */
  label?: { defective: boolean; kind?: string };
}

export type SourceState = 'starting' | 'streaming' | 'idle' | 'reconnecting' | 'stopped' | 'failed';

/**
 * A camera or anything that yields frames. `frames()` is consumed by exactly one pipeline; `close()` ends the
 * iteration (the iterator then returns) and releases the device. Sources report trouble through `state` and
 * the logger, never by throwing out of `frames()` for a recoverable problem.
 */
export interface FrameSource {
  readonly id: string;
  readonly kind: string;
  readonly state: SourceState;
  frames(): AsyncIterable<Frame>;
  close(): Promise<void>;
  /** Counters for metrics and the web UI: every source counts what it delivered and what it dropped. */
  stats(): SourceStats;
  /**
   * Present on sources that can acquire one frame on request (a GigE camera in software-trigger mode). The
   * next frame from `frames()` is the triggered one. Rejects with an InspectdError when the camera cannot.
   */
  trigger?(): Promise<void>;
}

/** Every source's counters, plus its own (restarts, packets lost, files unreadable ...). */
export interface SourceStats {
  /** Frames delivered to the pipeline. */
  frames: number;
  /** Frames the source itself dropped (its mailbox full: the pipeline did not keep up). */
  dropped: number;
  [counter: string]: number;
}

/** What a source kind's factory gets: one object, never positional arguments. */
export interface SourceContext<O> {
  /** The camera id. */
  id: string;
  /** The kind's settings, validated and with defaults filled in. */
  options: O;
  log: Logger;
  /** Called for each frame the source drops (so it reaches inspectd_frames_dropped_total). */
  onDrop?: (reason: 'source') => void;
}
