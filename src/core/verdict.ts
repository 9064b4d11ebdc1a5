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
}
