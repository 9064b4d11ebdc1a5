import type { Mark, MarkKind } from './review.js';
import type { Verdict } from './verdict.js';

export interface HistoryFilter {
  camera?: string;
  partId?: string;
  recipe?: string;
  jobId?: string;
  /** Only OK (true) or only NG (false) verdicts. */
  ok?: boolean;
  /** Decided at or after this time (epoch ms). */
  from?: number;
  /** Decided before this time (epoch ms). */
  to?: number;
  /** Only verdicts an operator marked: with this mark, or with any. */
  mark?: MarkKind | 'any';
}

export interface CameraTotals {
  total: number;
  ok: number;
  ng: number;
}

/** The line's verdicts as readers see them (OPC UA result lookups, the HTTP API, the web UI). */
export interface History {
  get(resultId: string): Verdict | undefined;
  /** Matching verdicts newest first, from `start`, at most `max` (0 = all); `total` counts every match. */
  query(filter: HistoryFilter, start?: number, max?: number): { verdicts: Verdict[]; total: number };
  /** Every verdict of the camera ever decided (they outlive retention and restarts). */
  totals(camera: string): CameraTotals;
  /** OK and NG per hour (UTC, hour start in epoch ms) of the camera's verdicts since `from`, oldest first. */
  hourly(camera: string, from: number): HourCount[];
}

export interface HourCount {
  hour: number;
  ok: number;
  ng: number;
}

interface AuditBase {
  /** Its place in the audit trail (set by the journal). */
  seq?: number;
  /** When it took effect (epoch ms). */
  at: number;
  camera: string;
  recipe: string;
  /** Where it came from, e.g. "web UI, 127.0.0.1". */
  origin: string;
}

/** A recipe's threshold set by an operator. */
export interface ThresholdChange extends AuditBase {
  action: 'threshold';
  before: number;
  after: number;
}

/** A verdict marked (a false reject, an escape) or its mark cleared (null). */
export interface MarkChange extends AuditBase {
  action: 'mark';
  resultId: string;
  before: MarkKind | null;
  after: MarkKind | null;
  note: string;
}

/**
 * An operator's change to how the line judges (a recipe's threshold) or to what its verdicts say (a mark), kept
 * for as long as the journal lives: who, from where, what it was and what it became.
 */
export type AuditEntry = ThresholdChange | MarkChange;

/** A verdict at its place in the journal. */
export interface JournalEntry {
  seq: number;
  verdict: Verdict;
}

/**
 * Where the line commits every verdict before any sink sees it, and where a sink that must deliver every one
 * (MQTT) reads them back in order from its own cursor.
 */
export interface Journal extends History {
  /** Commits the verdict; returns its sequence number. Throws when it cannot be stored. */
  append(v: Verdict): number;
  /** Entries after `seq`, oldest first, at most `limit`. */
  readAfter(seq: number, limit: number): JournalEntry[];
  /** The last sequence number `consumer` has delivered (0 = none). */
  cursor(consumer: string): number;
  saveCursor(consumer: string, seq: number): void;
  /** The sequence number of the newest entry (0 = empty). */
  lastSeq(): number;
  /** Commits an operator's change; returns its place in the audit trail. Throws when it cannot be stored. */
  audit(e: AuditEntry): number;
  /** The newest `limit` changes, newest first. */
  auditTrail(limit: number): AuditEntry[];
  /** The marks of these verdicts (those that have one). */
  marks(resultIds: readonly string[]): Map<string, Mark>;
  /**
   * Sets (a kind) or clears (null) the mark of a journalled verdict and enters the change in the audit trail, in
   * one transaction; undefined when the journal has no such verdict. An unchanged mark is not entered again.
   */
  setMark(resultId: string, mark: Omit<Mark, 'kind'> & { kind: MarkKind | null }): MarkChange | undefined;
}
