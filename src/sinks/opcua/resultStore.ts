import type { History } from '../../core/history.js';
import type { Verdict } from '../../core/verdict.js';

/** One result as OPC 40100 sees it: the verdict plus the job it belongs to. */
export interface StoredResult {
  verdict: Verdict;
  jobId: string;
}

export interface ResultFilter {
  partId?: string;
  recipe?: string;
  jobId?: string;
}

/**
 * One camera's results for GetResultById and GetResultListFiltered: the verdicts come from the line's
 * history; only the job each belongs to (an OPC UA notion) is kept here, for as long as the history keeps
 * the verdict.
 */
export class CameraResults {
  private readonly jobs = new Map<string, string>();

  constructor(
    private readonly history: History,
    private readonly camera: string,
  ) {}

  /** Records the job of a verdict the history already holds; forgets jobs of verdicts it no longer holds. */
  add(resultId: string, jobId: string): void {
    this.jobs.set(resultId, jobId);
    // The history drops oldest first, as this Map is ordered: stop at the first one still there.
    for (const old of this.jobs.keys()) {
      if (this.history.get(old)) break;
      this.jobs.delete(old);
    }
  }

  get(resultId: string): StoredResult | undefined {
    const v = this.history.get(resultId);
    return v && v.cameraId === this.camera ? { verdict: v, jobId: this.jobs.get(resultId) ?? '' } : undefined;
  }

  /** Matching results newest first, from `start`, at most `max` (0 = all); `total` counts every match. */
  list(filter: ResultFilter, start: number, max: number): { results: StoredResult[]; total: number } {
    const { partId, recipe, jobId } = filter;
    const end = max > 0 ? start + max : undefined;
    if (!jobId) {
      const { verdicts, total } = this.history.query({ camera: this.camera, partId, recipe }, start, max);
      return { results: verdicts.map((v) => this.stored(v)), total };
    }
    const all = this.history
      .query({ camera: this.camera, partId, recipe })
      .verdicts.filter((v) => this.jobs.get(v.resultId) === jobId);
    return { results: all.slice(start, end).map((v) => this.stored(v)), total: all.length };
  }

  private stored(v: Verdict): StoredResult {
    return { verdict: v, jobId: this.jobs.get(v.resultId) ?? '' };
  }
}
