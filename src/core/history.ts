import type { Verdict } from './verdict.js';

export interface HistoryFilter {
  camera?: string;
  partId?: string;
  recipe?: string;
  /** Only OK (true) or only NG (false) verdicts. */
  ok?: boolean;
}

/**
 * The verdicts of the line, kept once for every reader (OPC UA result lookups, the HTTP API, the status page):
 * the line appends each verdict before any sink sees it.
 */
export interface History {
  append(v: Verdict): void;
  get(resultId: string): Verdict | undefined;
  /** Matching verdicts newest first, from `start`, at most `max` (0 = all); `total` counts every match. */
  query(filter: HistoryFilter, start?: number, max?: number): { verdicts: Verdict[]; total: number };
}

/**
 * History in memory, bounded per camera: beyond `perCamera` a camera's oldest verdict goes first (a Map keeps
 * insertion order, so eviction is O(1) and a listing is newest-last without sorting).
 */
export class MemoryHistory implements History {
  private readonly byCamera = new Map<string, Map<string, Verdict>>();

  constructor(readonly perCamera: number) {}

  append(v: Verdict): void {
    let m = this.byCamera.get(v.cameraId);
    if (!m) this.byCamera.set(v.cameraId, (m = new Map()));
    m.set(v.resultId, v);
    if (m.size > this.perCamera) m.delete(m.keys().next().value as string);
  }

  get(resultId: string): Verdict | undefined {
    for (const m of this.byCamera.values()) {
      const v = m.get(resultId);
      if (v) return v;
    }
    return undefined;
  }

  query(f: HistoryFilter, start = 0, max = 0): { verdicts: Verdict[]; total: number } {
    const cams =
      f.camera === undefined ? [...this.byCamera.values()] : [this.byCamera.get(f.camera) ?? new Map()];
    const all: Verdict[] = [];
    for (const m of cams)
      for (const v of m.values())
        if (
          (f.partId === undefined || v.partId === f.partId) &&
          (f.recipe === undefined || v.recipe === f.recipe) &&
          (f.ok === undefined || v.ok === f.ok)
        )
          all.push(v);
    // Appended in decision order per camera; across cameras, order by decision time.
    if (cams.length > 1) all.sort((a, b) => a.decidedAt - b.decidedAt);
    all.reverse();
    return { verdicts: all.slice(start, max > 0 ? start + max : undefined), total: all.length };
  }
}
