import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../core/errors.js';
import type {
  AuditEntry,
  CameraTotals,
  HistoryFilter,
  HourCount,
  Journal,
  JournalEntry,
  MarkChange,
} from '../core/history.js';
import type { Mark, MarkKind } from '../core/review.js';
import type { Infer } from '../core/settings.js';
import type { Verdict } from '../core/verdict.js';
import type { journalSettings } from './settings.js';

export type JournalSettings = Infer<typeof journalSettings>;

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  result_id TEXT NOT NULL UNIQUE,
  camera TEXT NOT NULL,
  recipe TEXT NOT NULL,
  part_id TEXT,
  job_id TEXT,
  ok INTEGER NOT NULL,
  decided_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_camera ON verdicts(camera, seq);
CREATE INDEX IF NOT EXISTS verdicts_decided ON verdicts(decided_at);
CREATE INDEX IF NOT EXISTS verdicts_part ON verdicts(part_id) WHERE part_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS totals (camera TEXT PRIMARY KEY, total INTEGER NOT NULL, ok INTEGER NOT NULL, ng INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS marks (result_id TEXT PRIMARY KEY, mark TEXT NOT NULL, note TEXT NOT NULL, at INTEGER NOT NULL, origin TEXT NOT NULL);
`;

/** Retention passes over marked verdicts: a mark is an operator's finding, and the next fit's data. */
const UNMARKED = 'result_id NOT IN (SELECT result_id FROM marks)';

/** Newest verdicts kept in memory too: consumers keeping up (the MQTT outbox) read them without SQLite. */
const RECENT = 512;

/** Rows deleted per retention step: a step is one short transaction, so frames never wait long for it. */
const RETAIN_BATCH = 2000;

interface Row {
  seq: number;
  body: string;
}

interface MarkRow {
  result_id: string;
  mark: MarkKind;
  note: string;
  at: number;
  origin: string;
}

/** Lookups of this many ids at once: SQLite's parameter limit is far above, a page of results below. */
const MARKS_CHUNK = 500;

/**
 * The verdict journal in SQLite (WAL): one row per verdict, committed before any sink sees it; totals per
 * camera that outlive retention; a cursor per consumer. A process killed at any moment leaves a database that
 * opens with every committed verdict (WAL replay); `synchronous: full` extends that to power cuts.
 */
export class SqliteJournal implements Journal {
  private readonly stmt: ReturnType<SqliteJournal['prepare']>;
  private readonly insert: (v: Verdict) => number;
  appended = 0;
  retained = 0;
  /** The newest entries appended by this process, by sequence number, consecutive, oldest first. */
  private readonly recent = new Map<number, Verdict>();

  private constructor(
    private readonly db: Database.Database,
    private readonly s: JournalSettings,
  ) {
    this.stmt = this.prepare();
    this.insert = this.db.transaction((v: Verdict) => {
      const seq = Number(
        this.stmt.insert.run(
          v.resultId,
          v.cameraId,
          v.recipe,
          v.partId ?? null,
          v.jobId ?? null,
          v.ok ? 1 : 0,
          v.decidedAt,
          JSON.stringify(v),
        ).lastInsertRowid,
      );
      this.stmt.count.run(v.cameraId, v.ok ? 1 : 0, v.ok ? 0 : 1);
      return seq;
    });
  }

  /** Opens (or creates) the journal; a file that is not a usable database is moved aside, named in the log. */
  static open(s: JournalSettings, log: Logger): SqliteJournal {
    return new SqliteJournal(openDatabase(s, log), s);
  }

  /** For tools beside a running daemon (`inspectd results`): reads only, never creates or changes the file. */
  static openReadOnly(s: JournalSettings): SqliteJournal {
    const file = path.resolve(s.path);
    try {
      return new SqliteJournal(new Database(file, { readonly: true, fileMustExist: true }), s);
    } catch (e) {
      throw new InspectdError(`journal ${file} cannot be read: ${messageOf(e)}`, {
        subject: 'journal.path',
        value: s.path,
        fix: 'pass the configuration the daemon runs with (--config FILE), so journal.path names its journal',
      });
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare(
        'INSERT INTO verdicts (result_id, camera, recipe, part_id, job_id, ok, decided_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      count: db.prepare(
        'INSERT INTO totals (camera, total, ok, ng) VALUES (?, 1, ?, ?) ON CONFLICT(camera) DO UPDATE SET total = total + 1, ok = ok + excluded.ok, ng = ng + excluded.ng',
      ),
      byId: db.prepare<[string], Row>('SELECT seq, body FROM verdicts WHERE result_id = ?'),
      after: db.prepare<[number, number], Row>(
        'SELECT seq, body FROM verdicts WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      last: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM verdicts'),
      cursor: db.prepare<[string], { seq: number }>('SELECT seq FROM cursors WHERE consumer = ?'),
      saveCursor: db.prepare(
        'INSERT INTO cursors (consumer, seq) VALUES (?, ?) ON CONFLICT(consumer) DO UPDATE SET seq = excluded.seq',
      ),
      totals: db.prepare<[string], CameraTotals>('SELECT total, ok, ng FROM totals WHERE camera = ?'),
      hourly: db.prepare<[string, number], HourCount>(
        'SELECT CAST(decided_at / 3600000 AS INTEGER) * 3600000 AS hour, SUM(ok) AS ok, SUM(1 - ok) AS ng FROM verdicts WHERE camera = ? AND decided_at >= ? GROUP BY hour ORDER BY hour',
      ),
      rows: db.prepare<[], { n: number; first: number | null }>(
        'SELECT COUNT(*) AS n, MIN(seq) AS first FROM verdicts',
      ),
    };
  }

  /** Prepared when first used: a journal older than the marks table, opened read-only, never retains. */
  private retention?: ReturnType<SqliteJournal['prepareRetention']>;
  private prepareRetention() {
    return {
      deleteBefore: this.db.prepare<[number, number]>(
        `DELETE FROM verdicts WHERE seq IN (SELECT seq FROM verdicts WHERE decided_at < ? AND ${UNMARKED} ORDER BY seq LIMIT ?)`,
      ),
      deleteOldest: this.db.prepare<[number]>(
        `DELETE FROM verdicts WHERE seq IN (SELECT seq FROM verdicts WHERE ${UNMARKED} ORDER BY seq LIMIT ?)`,
      ),
    };
  }

  append(v: Verdict): number {
    const seq = this.insert(v);
    this.appended++;
    if (this.recent.size && !this.recent.has(seq - 1)) this.recent.clear();
    this.recent.set(seq, v);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value!);
    return seq;
  }

  get(resultId: string): Verdict | undefined {
    const r = this.stmt.byId.get(resultId);
    return r && (JSON.parse(r.body) as Verdict);
  }

  query(f: HistoryFilter, start = 0, max = 0): { verdicts: Verdict[]; total: number } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (sql: string, v: string | number | undefined): void => {
      if (v === undefined) return;
      where.push(sql);
      args.push(v);
    };
    add('camera = ?', f.camera);
    add('part_id = ?', f.partId);
    add('recipe = ?', f.recipe);
    add('job_id = ?', f.jobId);
    add('ok = ?', f.ok === undefined ? undefined : f.ok ? 1 : 0);
    add('decided_at >= ?', f.from);
    add('decided_at < ?', f.to);
    if (f.mark !== undefined && !this.hasTable('marks')) return { verdicts: [], total: 0 };
    if (f.mark === 'any') where.push('result_id IN (SELECT result_id FROM marks)');
    else add('result_id IN (SELECT result_id FROM marks WHERE mark = ?)', f.mark);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM verdicts ${w}`).get(...args) as { n: number })
      .n;
    const rows = this.db
      .prepare(`SELECT body FROM verdicts ${w} ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .all(...args, max > 0 ? max : -1, start) as { body: string }[];
    return { verdicts: rows.map((r) => JSON.parse(r.body) as Verdict), total };
  }

  hourly(camera: string, from: number): HourCount[] {
    return this.stmt.hourly.all(camera, from);
  }

  totals(camera: string): CameraTotals {
    return this.stmt.totals.get(camera) ?? { total: 0, ok: 0, ng: 0 };
  }

  readAfter(seq: number, limit: number): JournalEntry[] {
    // The in-memory tail answers when it holds seq + 1: everything after it is then in memory as well.
    if (this.recent.has(seq + 1)) {
      const out: JournalEntry[] = [];
      for (let s = seq + 1; out.length < limit && this.recent.has(s); s++)
        out.push({ seq: s, verdict: this.recent.get(s)! });
      return out;
    }
    return this.stmt.after
      .all(seq, limit)
      .map((r) => ({ seq: r.seq, verdict: JSON.parse(r.body) as Verdict }));
  }

  cursor(consumer: string): number {
    return this.stmt.cursor.get(consumer)?.seq ?? 0;
  }

  audit(e: AuditEntry): number {
    const { seq: _, ...body } = e;
    return Number(
      this.db.prepare('INSERT INTO audit (at, body) VALUES (?, ?)').run(e.at, JSON.stringify(body))
        .lastInsertRowid,
    );
  }

  /** False for a table a journal written by an older inspectd, opened read-only, does not have yet. */
  private hasTable(name: string): boolean {
    return !!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
  }

  auditTrail(limit: number): AuditEntry[] {
    // A journal written before the audit trail existed, opened read-only, has no table for it: nothing changed.
    if (!this.hasTable('audit')) return [];
    return this.db
      .prepare<[number], Row>('SELECT seq, body FROM audit ORDER BY seq DESC LIMIT ?')
      .all(limit)
      .map((r) => ({ seq: r.seq, ...(JSON.parse(r.body) as AuditEntry) }));
  }

  marks(resultIds: readonly string[]): Map<string, Mark> {
    const out = new Map<string, Mark>();
    if (!resultIds.length || !this.hasTable('marks')) return out;
    for (let i = 0; i < resultIds.length; i += MARKS_CHUNK) {
      const ids = resultIds.slice(i, i + MARKS_CHUNK);
      const rows = this.db
        .prepare<string[], MarkRow>(
          `SELECT * FROM marks WHERE result_id IN (${ids.map(() => '?').join(',')})`,
        )
        .all(...ids);
      for (const r of rows) out.set(r.result_id, { kind: r.mark, note: r.note, at: r.at, origin: r.origin });
    }
    return out;
  }

  setMark(resultId: string, m: Omit<Mark, 'kind'> & { kind: MarkKind | null }): MarkChange | undefined {
    return this.db.transaction(() => {
      const v = this.get(resultId);
      if (!v) return undefined;
      const before = this.marks([resultId]).get(resultId);
      const entry: MarkChange = {
        at: m.at,
        action: 'mark',
        camera: v.cameraId,
        recipe: v.recipe,
        resultId,
        before: before?.kind ?? null,
        after: m.kind,
        note: m.kind === null ? '' : m.note,
        origin: m.origin,
      };
      if (entry.before === entry.after && (before?.note ?? '') === entry.note) return entry;
      if (m.kind === null) this.db.prepare('DELETE FROM marks WHERE result_id = ?').run(resultId);
      else
        this.db
          .prepare(
            'INSERT INTO marks (result_id, mark, note, at, origin) VALUES (?, ?, ?, ?, ?) ON CONFLICT(result_id) DO UPDATE SET mark = excluded.mark, note = excluded.note, at = excluded.at, origin = excluded.origin',
          )
          .run(resultId, m.kind, m.note, m.at, m.origin);
      entry.seq = this.audit(entry);
      return entry;
    })();
  }

  saveCursor(consumer: string, seq: number): void {
    this.stmt.saveCursor.run(consumer, seq);
  }

  lastSeq(): number {
    return this.stmt.last.get()?.seq ?? 0;
  }

  /** Rows and bytes now. */
  size(): { rows: number; bytes: number } {
    const pages = Number(this.db.pragma('page_count', { simple: true }));
    const free = Number(this.db.pragma('freelist_count', { simple: true }));
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    return { rows: this.stmt.rows.get()!.n, bytes: (pages - free) * pageSize };
  }

  /**
   * One retention step: deletes at most one batch of the oldest verdicts beyond the age, row and byte limits.
   * Returns how many it deleted (0 = within limits); the caller repeats until 0, yielding between steps.
   */
  retainStep(now = Date.now()): number {
    const { s } = this;
    const r = (this.retention ??= this.prepareRetention());
    if (s.retainDays > 0) {
      const n = r.deleteBefore.run(now - s.retainDays * 86_400_000, RETAIN_BATCH).changes;
      if (n > 0) return this.deleted(n);
    }
    const { rows, bytes } = this.size();
    const over = Math.max(rows - s.maxRows, bytes > s.maxBytes ? Math.ceil(rows * 0.01) + 1 : 0);
    if (over <= 0) return 0;
    // Only marked verdicts left over the limits: they stay (0 ends the caller's loop).
    const n = r.deleteOldest.run(Math.min(over, RETAIN_BATCH)).changes;
    return n > 0 ? this.deleted(n) : 0;
  }

  private deleted(n: number): number {
    this.retained += n;
    // What retention removed must read as gone (the outbox counts it as dropped), never from memory.
    this.recent.clear();
    // Give freed pages back to the file system (auto_vacuum = INCREMENTAL).
    this.db.pragma('incremental_vacuum(2000)');
    return n;
  }

  /** The oldest sequence number still kept (0 = empty). */
  firstSeq(): number {
    return this.stmt.rows.get()!.first ?? 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function openDatabase(s: JournalSettings, log: Logger): Database.Database {
  const file = path.resolve(s.path);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new InspectdError(`journal folder ${path.dirname(file)} cannot be created: ${messageOf(e)}`, {
      subject: 'journal.path',
      value: s.path,
      fix: 'set journal.path to a file in a folder inspectd may write',
    });
  }
  try {
    return initialize(new Database(file), s);
  } catch (e) {
    if (!existsSync(file) || !/not a database|malformed|corrupt/i.test(messageOf(e)))
      throw new InspectdError(`journal ${file} cannot be opened: ${messageOf(e)}`, {
        subject: 'journal.path',
        value: s.path,
        fix: 'check the file and its folder permissions, or point journal.path elsewhere',
      });
    // Never lose what might be recovered: the damaged file stays beside the new one for inspection.
    const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '')}`;
    for (const x of ['', '-wal', '-shm']) if (existsSync(file + x)) renameSync(file + x, aside + x);
    log.error(
      { file, aside, err: messageOf(e) },
      `journal ${file} is damaged (${messageOf(e)}); moved to ${aside}, starting a new one`,
    );
    return initialize(new Database(file), s);
  }
}

function initialize(db: Database.Database, s: JournalSettings): Database.Database {
  // Before the first table: only a new database takes auto_vacuum without a full VACUUM.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${s.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  const v = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema'").get();
  if (!v) db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
  else if (Number(v.value) > SCHEMA_VERSION)
    throw new InspectdError(
      `journal ${db.name} has schema ${v.value}; this inspectd reads up to ${SCHEMA_VERSION}`,
      {
        subject: 'journal.path',
        fix: 'run the inspectd version that wrote it, or point journal.path elsewhere',
      },
    );
  // Touch the data: a damaged file fails here, at start, not at the first verdict.
  db.prepare('SELECT COUNT(*) FROM totals').get();
  return db;
}
