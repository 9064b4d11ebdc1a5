import type { AuditEntry, MarkChange } from './history.js';
import type { MarkKind } from './review.js';
import type { SourceState, SourceStats } from './frame.js';
import type { Verdict } from './verdict.js';

/**
 * What the inspect loop does with frames: `continuous` inspects every frame (the default); `triggered`
 * inspects only the frame a `requestSingle` asked for and skips the rest; `stopped` skips every frame and
 * refuses requests. Skipped frames are counted (drop reason `idle`).
 */
export type InspectionMode = 'continuous' | 'triggered' | 'stopped';

/** A verdict's pictures in the archive, or why it has none. */
export type ArchivedFrame = { frame: string; overlay: string } | { missing: string };

/** One camera's counters since start. */
export interface CameraCounts {
  frames: number;
  ok: number;
  ng: number;
  badImages: number;
  dropped: number;
  failed: number;
  skipped: number;
}

export interface CameraStatus {
  id: string;
  recipe: string;
  /** The onnxruntime execution provider the recipe runs on. */
  provider: string;
  mode: InspectionMode;
  source: { kind: string; state: SourceState; stats: SourceStats };
  counts: CameraCounts;
  queueDepth: number;
}

export interface SinkStatus {
  name: string;
  ready: boolean;
  /** Why not ready. */
  reason?: string;
  stats: Record<string, number>;
}

export interface Readiness {
  /** True when nothing is wrong (state 'ready'). */
  ready: boolean;
  /** 'degraded': verdicts keep flowing, but something needs attention (the reasons say what). */
  state: 'starting' | 'ready' | 'degraded';
  reasons: string[];
}

export interface LineStatus {
  line: string;
  readiness: Readiness;
  cameras: CameraStatus[];
  sinks: SinkStatus[];
}

/**
 * Everything a sink may ask of the running line (MQTT commands, OPC UA methods and the trigger handshake, the
 * HTTP API): declared once here, implemented once in app/. Sinks never import app/ or pipeline/.
 */
export interface LineControl {
  readonly line: string;
  /** Camera ids in configuration order. */
  readonly cameras: readonly string[];
  /** From the next frame on; `jobId` tags the verdicts of this mode (until the next call). */
  setMode(camera: string, mode: InspectionMode, jobId?: string): void;
  /** Inspects the next frame of `camera` for `partId` (triggering the camera when it can), tagged `jobId`. */
  requestSingle(camera: string, partId?: string, jobId?: string): Promise<Verdict>;
  /** Rejects a pending single request; false when none was pending. */
  abortSingle(camera: string, reason: string): boolean;
  /** Loads and warms `recipe`, then swaps it in between two frames; resolves with the active recipe. */
  setRecipe(camera: string, recipe: string): Promise<string>;
  activeRecipe(camera: string): string;
  /**
   * Sets the threshold of the recipe `camera` inspects with, for every camera on that recipe from its next frame:
   * written into the recipe folder and entered in the journal's audit trail. Resolves with the audit entry.
   */
  setThreshold(camera: string, threshold: number, origin: string): Promise<AuditEntry>;
  /** The newest operator changes, newest first. */
  auditTrail(limit: number): AuditEntry[];
  /**
   * Marks a journalled verdict as a false reject or an escape (null clears the mark), with a note: kept with the
   * verdict in the journal and entered in the audit trail. Throws `NotFoundError` for a verdict the journal does
   * not have, and an `InspectdError` for a mark that does not fit the verdict (an escape of an NG).
   */
  mark(resultId: string, kind: MarkKind | null, note: string, origin: string): MarkChange;
  /** The verdict's archived frame and overlay (absolute paths inside the archive folder), or why there are none. */
  archived(v: Verdict): Promise<ArchivedFrame>;
  /** Recipe folder names a camera could switch to. */
  recipes(): Promise<string[]>;
  camera(camera: string): CameraStatus | undefined;
  status(): LineStatus;
}
