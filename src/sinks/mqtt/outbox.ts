import type { Logger } from 'pino';
import type { Journal, JournalEntry } from '../../core/history.js';

/** How often the cursor is written while publishing: a crash re-sends at most this much (at least once). */
const SAVE_EVERY_MS = 200;

/**
 * Publishes the journal in order, at least once, from a cursor kept in the journal itself. Up to `window`
 * publishes are in flight; the cursor moves over acknowledged ones in journal order, so after a crash, a
 * SIGKILL or a power cut the unsent ones go out first, and what was in flight goes again (consumers drop
 * duplicates by resultId). What retention deleted before it went out is counted as dropped.
 */
export class Outbox {
  /** Everything up to here is acknowledged (or was deleted before it could be sent). */
  private cursor: number;
  /** The last sequence number read from the journal. */
  private next: number;
  /** Sequence numbers sent and not yet past the cursor, in journal order, each with its acknowledgement. */
  private readonly flight: { seq: number; acked: boolean }[] = [];
  private pending = 0;
  /** A publish failed (connection lost mid-flight): once nothing is pending, start again at the cursor. */
  private rewind = false;
  private savedAt = 0;
  private saveTimer?: NodeJS.Timeout;
  published = 0;
  failed = 0;
  dropped = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly journal: Journal,
    private readonly consumer: string,
    private readonly window: number,
    /** Sends one entry; calls `done` with an error when it was not acknowledged. */
    private readonly send: (e: JournalEntry, done: (err?: Error) => void) => void,
    private readonly canSend: () => boolean,
    private readonly log: Logger,
  ) {
    this.cursor = journal.cursor(consumer);
    this.next = this.cursor;
  }

  /** Verdicts in the journal not yet acknowledged by the broker. */
  get held(): number {
    return Math.max(0, this.journal.lastSeq() - this.cursor);
  }

  /** Sends what the window allows; call on a new entry, on (re)connection and after each acknowledgement. */
  pump(): void {
    if (this.rewind && this.pending === 0) {
      this.rewind = false;
      this.flight.length = 0;
      this.next = this.cursor;
    }
    while (!this.rewind && this.pending < this.window && this.canSend()) {
      const batch = this.journal.readAfter(this.next, this.window - this.pending);
      if (!batch.length) break;
      for (const e of batch) {
        if (e.seq > this.next + 1) this.deleted(e.seq - this.next - 1);
        this.next = e.seq;
        const entry = { seq: e.seq, acked: false };
        this.flight.push(entry);
        this.pending++;
        this.send(e, (err) => this.done(entry, err));
      }
    }
    this.advance();
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private done(entry: { seq: number; acked: boolean }, err?: Error): void {
    this.pending--;
    if (err) {
      this.failed++;
      this.rewind = true;
    } else {
      this.published++;
      entry.acked = true;
    }
    this.pump();
  }

  /** The cursor moves over acknowledged entries in order; with nothing in flight, up to what was read. */
  private advance(): void {
    const before = this.cursor;
    while (this.flight.length && this.flight[0].acked) this.cursor = this.flight.shift()!.seq;
    if (!this.flight.length && !this.rewind) this.cursor = Math.max(this.cursor, this.next);
    if (this.cursor !== before) this.scheduleSave();
  }

  /** Entries retention deleted before they went out. */
  private deleted(gone: number): void {
    this.dropped += gone;
    this.log.warn(
      { dropped: gone, total: this.dropped },
      `MQTT: ${gone} verdicts were deleted by journal retention before the broker took them (journal.maxRows, maxBytes, retainDays)`,
    );
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    const wait = Math.max(0, this.savedAt + SAVE_EVERY_MS - Date.now());
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, wait);
    this.saveTimer.unref();
  }

  /** Writes the cursor now (also at stop). */
  save(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.savedAt = Date.now();
    try {
      this.journal.saveCursor(this.consumer, this.cursor);
    } catch (e) {
      // Not fatal: at worst what was delivered since the last save goes again after a restart.
      this.log.warn({ err: (e as Error).message }, `MQTT: cursor not saved: ${(e as Error).message}`);
    }
  }

  /** Resolves when nothing is in flight and nothing is held, or at `deadline` (epoch ms), whichever first. */
  async drain(deadline: number): Promise<void> {
    while (this.held > 0 && this.canSend() && Date.now() < deadline) {
      this.pump();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, Math.min(200, deadline - Date.now())));
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
