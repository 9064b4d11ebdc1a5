import type { Verdict } from '../core/verdict.js';
import type { DecodedImage } from '../preprocess/image.js';

/** What a sink may use besides the verdict: the frame as the model saw it and its anomaly map. */
export interface VerdictArtifacts {
  image: DecodedImage;
  map: Float32Array;
  mapWidth: number;
  mapHeight: number;
}

/**
 * Where verdicts go (MQTT, OPC UA, the archive). `publish` never blocks the pipeline: a sink buffers or
 * drops by its own rules and counts it. `stop` flushes what it holds.
 */
export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  publish(verdict: Verdict, artifacts: VerdictArtifacts): void;
  stop(): Promise<void>;
  /** False while the sink cannot deliver (broker down); reported by /readyz and metrics. */
  ready(): boolean;
}
