import { csvTable } from './csv.js';
import type { HistoryFilter } from './history.js';
import { MARK_KINDS, type Mark, type MarkKind } from './review.js';
import type { Verdict } from './verdict.js';

/** A traceability query as the HTTP API and `inspectd results` take it: every parameter optional. */
export interface ResultsQuery {
  filter: HistoryFilter;
  limit: number;
  offset: number;
}

export const MAX_LIMIT = 10_000;
const DEFAULT_LIMIT = 100;

/** A time as ISO 8601 (2026-11-30T06:00:00Z, or a date) or epoch milliseconds; NaN when it is neither. */
const time = (s: string): number => (/^\d+$/.test(s) ? Number(s) : Date.parse(s));

/**
 * Reads `from`, `to`, `camera`, `partId`, `recipe`, `verdict` (OK|NG), `mark` (any, false-reject, escape),
 * `limit`, `offset`; returns the query or one line per bad parameter (name, value, what is allowed).
 */
export function parseResultsQuery(
  p: Record<string, string | undefined>,
): ResultsQuery | { problems: string[] } {
  const problems: string[] = [];
  const bad = (name: string, allowed: string): void =>
    void problems.push(`${name}: got ${JSON.stringify(String(p[name]).slice(0, 80))}; allowed: ${allowed}`);
  const filter: HistoryFilter = {};
  for (const k of ['from', 'to'] as const) {
    if (p[k] === undefined) continue;
    const t = time(p[k]);
    if (Number.isFinite(t)) filter[k] = t;
    else bad(k, 'an ISO 8601 time like 2026-11-30T06:00:00Z, or epoch milliseconds');
  }
  for (const k of ['camera', 'partId', 'recipe'] as const) if (p[k] !== undefined) filter[k] = p[k];
  if (p.verdict !== undefined) {
    if (p.verdict === 'OK' || p.verdict === 'NG') filter.ok = p.verdict === 'OK';
    else bad('verdict', 'OK or NG');
  }
  if (p.mark !== undefined) {
    if (p.mark === 'any' || MARK_KINDS.includes(p.mark as MarkKind)) filter.mark = p.mark as MarkKind | 'any';
    else bad('mark', `any (every marked verdict), ${MARK_KINDS.join(' or ')}`);
  }
  const int = (k: 'limit' | 'offset', fallback: number, max: number): number => {
    if (p[k] === undefined) return fallback;
    const n = Number(p[k]);
    if (Number.isInteger(n) && n >= 0 && n <= max) return n;
    bad(k, `an integer from 0 to ${max}`);
    return fallback;
  };
  const limit = int('limit', DEFAULT_LIMIT, MAX_LIMIT);
  const offset = int('offset', 0, Number.MAX_SAFE_INTEGER);
  return problems.length ? { problems } : { filter, limit, offset };
}

const CSV_COLUMNS = [
  'resultId',
  'decidedAt',
  'capturedAt',
  'camera',
  'recipe',
  'modelVersion',
  'partId',
  'jobId',
  'seq',
  'verdict',
  'score',
  'threshold',
  'normalizedScore',
  'regions',
  'mark',
  'markNote',
] as const;

/** A verdict as the traceability query lists it: with its operator's mark, where it has one. */
export type ListedVerdict = Verdict & { mark?: Mark };

/** `verdicts` with their marks (`marks` by result id, as the journal answers them). */
export function withMarks(verdicts: readonly Verdict[], marks: ReadonlyMap<string, Mark>): ListedVerdict[] {
  return verdicts.map((v) => (marks.has(v.resultId) ? { ...v, mark: marks.get(v.resultId) } : v));
}

/** One header line, then one line per verdict (RFC 4180 quoting; times in ISO 8601). */
export function resultsCsv(verdicts: readonly ListedVerdict[]): string {
  const rows = verdicts.map((v) => [
    v.resultId,
    new Date(v.decidedAt).toISOString(),
    new Date(v.capturedAt).toISOString(),
    v.cameraId,
    v.recipe,
    v.modelVersion,
    v.partId ?? '',
    v.jobId ?? '',
    v.seq,
    v.ok ? 'OK' : 'NG',
    v.score,
    v.threshold,
    v.normalizedScore,
    v.regions.length,
    v.mark?.kind ?? '',
    v.mark?.note ?? '',
  ]);
  return csvTable(CSV_COLUMNS, rows);
}
