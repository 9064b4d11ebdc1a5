import type { Verdict } from '../../core/verdict.js';

/** One stored result: the verdict plus what OPC 40100 adds to it (the job it belongs to). */
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
 * The latest results of one camera for GetResultById and GetResultListFiltered, bounded: beyond `max` the
 * oldest go first (a Map keeps insertion order, so eviction is O(1)).
 */
export class ResultStore {
  private readonly byId = new Map<string, StoredResult>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.byId.size;
  }

  add(r: StoredResult): void {
    this.byId.set(r.verdict.resultId, r);
    while (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value as string);
  }

  get(resultId: string): StoredResult | undefined {
    return this.byId.get(resultId);
  }

  /** Matching results newest first, from `start`, at most `max` (0 = all); `total` counts every match. */
  list(filter: ResultFilter, start: number, max: number): { results: StoredResult[]; total: number } {
    const all = [...this.byId.values()]
      .reverse()
      .filter(
        (r) =>
          (!filter.partId || r.verdict.partId === filter.partId) &&
          (!filter.recipe || r.verdict.recipe === filter.recipe) &&
          (!filter.jobId || r.jobId === filter.jobId),
      );
    const results = all.slice(start, max > 0 ? start + max : undefined);
    return { results, total: all.length };
  }
}
