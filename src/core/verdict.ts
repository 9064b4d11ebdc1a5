import type { Pixels } from './heatmap.js';

/** A defect region on the anomaly map, in input-image pixels of the recipe. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
  area: number;
  /** Highest map value inside the region. */
  peak: number;
}

export interface StageTimings {
  /** Waiting in the camera queue. */
  queueMs: number;
  preprocessMs: number;
  inferenceMs: number;
  decisionMs: number;
  /** From frame timestamp to verdict. */
  totalMs: number;
}

/** The result of inspecting one frame: what every sink publishes. */
export interface Verdict {
  resultId: string;
  cameraId: string;
  recipe: string;
  modelVersion: string;
  partId?: string;
  /** The job it belongs to (OPC 40100: a StartContinuous or StartSingleJob), when one was started. */
  jobId?: string;
  seq: number;
  ok: boolean;
  score: number;
  threshold: number;
  normalizedScore: number;
  regions: Region[];
  timings: StageTimings;
  capturedAt: number;
  decidedAt: number;
  origin?: string;
  label?: { defective: boolean; kind?: string };
  /** Colour scale of the anomaly map for pictures of it (heatmaps compare at a glance on a fixed scale). */
  heatScale: { lo: number; hi: number };
}

/** What a sink may use besides the verdict: the frame as the camera gave it and as the model saw it, and its map. */
export interface VerdictArtifacts {
  /** Interleaved 8-bit pixels (RGB, or gray when channels is 1) at the recipe's input size. */
  image: { data: Buffer; width: number; height: number; channels: 1 | 3 };
  /** The camera's frame at its own size (decoded when it came encoded), as it went into the recipe's graph. */
  camera?: Pixels;
  map: Float32Array;
  mapWidth: number;
  mapHeight: number;
}
