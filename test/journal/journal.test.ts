import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteJournal, type JournalSettings } from '../../src/journal/journal.js';
import { tempDir } from '../helpers/fixtures.js';
import { quietLog, testVerdict } from '../helpers/line.js';

const settings = (o: Partial<JournalSettings> = {}): JournalSettings => ({
  path: path.join(tempDir('journal'), 'j.sqlite'),
  synchronous: 'normal',
  retainDays: 0,
  maxRows: 1_000_000,
  maxBytes: 1 << 30,
  ...o,
});

describe('verdict journal (SQLite)', () => {
  it('keeps every verdict in order, finds by id, filters and pages newest first', () => {
    const j = SqliteJournal.open(settings(), quietLog);
    const a = [1, 2, 3, 4].map((i) => testVerdict(i % 2 === 0, { cameraId: 'a', decidedAt: i * 10 }));
    const b = [1, 2].map((i) =>
      testVerdict(false, { cameraId: 'b', decidedAt: i * 10 + 5, partId: 'P', jobId: 'J' }),
    );
    const seqs = [a[0], b[0], a[1], b[1], a[2], a[3]].map((v) => j.append(v));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(j.get(b[0].resultId)).toEqual(b[0]);
    expect(j.get('nope')).toBeUndefined();
    expect(j.query({ camera: 'a' }).verdicts).toEqual([a[3], a[2], a[1], a[0]]);
    expect(j.query({}).verdicts.map((v) => v.resultId)).toEqual(
      [a[3], a[2], b[1], a[1], b[0], a[0]].map((v) => v.resultId),
    );
    expect(j.query({ ok: false }).total).toBe(4);
    expect(j.query({ partId: 'P' }).verdicts).toEqual([b[1], b[0]]);
    expect(j.query({ jobId: 'J', camera: 'b' }).total).toBe(2);
    expect(j.query({ from: 20, to: 40 }).verdicts.map((v) => v.decidedAt)).toEqual([30, 25, 20]);
    expect(j.query({}, 1, 2)).toEqual({ verdicts: [a[2], b[1]], total: 6 });
    expect(j.totals('a')).toEqual({ total: 4, ok: 2, ng: 2 });
    expect(j.totals('none')).toEqual({ total: 0, ok: 0, ng: 0 });
    expect(j.readAfter(4, 10).map((e) => e.seq)).toEqual([5, 6]);
    j.close();
  });

  it('counts OK and NG per hour of one camera since a time (the web UI yield chart)', () => {
    const j = SqliteJournal.open(settings(), quietLog);
    const H = 3_600_000;
    const at = (hour: number, min: number) => 1000 * H + hour * H + min * 60_000;
    for (const [ok, t, cam] of [
      [true, at(0, 5), 'a'],
      [false, at(0, 59), 'a'],
      [true, at(1, 0), 'a'],
      [true, at(1, 30), 'b'],
      [false, at(3, 10), 'a'],
    ] as const)
      j.append(testVerdict(ok, { cameraId: cam, decidedAt: t }));
    expect(j.hourly('a', 0)).toEqual([
      { hour: at(0, 0), ok: 1, ng: 1 },
      { hour: at(1, 0), ok: 1, ng: 0 },
      { hour: at(3, 0), ok: 0, ng: 1 },
    ]);
    expect(j.hourly('a', at(1, 0))).toEqual([
      { hour: at(1, 0), ok: 1, ng: 0 },
      { hour: at(3, 0), ok: 0, ng: 1 },
    ]);
    expect(j.hourly('none', 0)).toEqual([]);
    j.close();
  });

  it('continues after a restart: verdicts, totals, cursors and sequence numbers', () => {
    const s = settings();
    const j = SqliteJournal.open(s, quietLog);
    const v = testVerdict(false);
    j.append(v);
    j.saveCursor('mqtt', 1);
    j.close();
    const again = SqliteJournal.open(s, quietLog);
    expect(again.get(v.resultId)).toEqual(v);
    expect(again.totals('cam1')).toEqual({ total: 1, ok: 0, ng: 1 });
    expect(again.cursor('mqtt')).toBe(1);
    expect(again.append(testVerdict(true))).toBe(2);
    expect(() => again.append(v)).toThrow(/UNIQUE/); // a verdict is stored once
    again.close();
  });

  it('retention keeps the newest within rows and age, in steps; totals outlive it; sequence numbers are never reused', () => {
    const j = SqliteJournal.open(settings({ maxRows: 1000, retainDays: 1 }), quietLog);
    const now = Date.now();
    for (let i = 0; i < 3500; i++)
      j.append(testVerdict(true, { decidedAt: now - (i < 10 ? 3 * 86_400_000 : 0) }));
    let steps = 0;
    let deleted = 0;
    for (let n = j.retainStep(now); n > 0; n = j.retainStep(now)) {
      steps++;
      deleted += n;
      expect(n).toBeLessThanOrEqual(2000);
    }
    expect(steps).toBeGreaterThan(1);
    expect(deleted).toBe(2500);
    expect(j.size().rows).toBe(1000);
    expect(j.firstSeq()).toBe(2501);
    expect(j.totals('cam1').total).toBe(3500);
    j.query({}, 0, 1);
    expect(j.append(testVerdict(true))).toBe(3501);
    j.close();
  });

  it('retention by bytes gives the space back to the file system', () => {
    const s = settings({ maxBytes: 1 << 20 });
    const j = SqliteJournal.open(s, quietLog);
    for (let i = 0; i < 6000; i++) j.append(testVerdict(false, { origin: 'x'.repeat(400) }));
    expect(j.size().bytes).toBeGreaterThan(1 << 20);
    while (j.retainStep() > 0);
    expect(j.size().bytes).toBeLessThanOrEqual(1 << 20);
    expect(j.size().rows).toBeGreaterThan(0);
    j.close();
  });

  it('a damaged file is moved aside (kept for inspection) and a new journal starts', () => {
    const s = settings();
    writeFileSync(s.path, 'this is not a database, it is a text file of quite some length'.repeat(100));
    const j = SqliteJournal.open(s, quietLog);
    expect(j.append(testVerdict(true))).toBe(1);
    j.close();
    expect(readdirSync(path.dirname(s.path)).some((f) => f.startsWith('j.sqlite.damaged-'))).toBe(true);
  });

  it('an unwritable place is a clear error naming journal.path', () => {
    const file = path.join(tempDir('journal-bad'), 'a-file');
    writeFileSync(file, '');
    expect(() => SqliteJournal.open(settings({ path: path.join(file, 'j.sqlite') }), quietLog)).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ subject: 'journal.path' }) }),
    );
    expect(existsSync(path.join(file, 'j.sqlite'))).toBe(false);
  });
});

const by = { at: 1000, origin: 'test, here' };

describe('marks in the journal: an operator finding kept with its verdict', () => {
  it('sets, changes and clears a mark, each change in the audit trail; kept across a reopen and for readers', () => {
    const s = settings();
    const j = SqliteJournal.open(s, quietLog);
    const [ng, ok, other] = [testVerdict(false), testVerdict(true), testVerdict(false)];
    for (const v of [ng, ok, other]) j.append(v);
    expect(j.setMark('nope', { kind: 'escape', note: '', ...by })).toBeUndefined();
    expect(j.setMark(ng.resultId, { kind: 'false-reject', note: 'dust', ...by })).toEqual({
      seq: 1,
      at: 1000,
      action: 'mark',
      camera: 'cam1',
      recipe: 'demo',
      resultId: ng.resultId,
      before: null,
      after: 'false-reject',
      note: 'dust',
      origin: 'test, here',
    });
    // The same mark again is no change: answered, not entered twice.
    expect(j.setMark(ng.resultId, { kind: 'false-reject', note: 'dust', ...by })?.seq).toBeUndefined();
    j.setMark(ok.resultId, { kind: 'escape', note: 'crack', ...by });
    j.setMark(other.resultId, { kind: 'false-reject', note: '', ...by });
    expect(j.setMark(other.resultId, { kind: null, note: 'ignored', ...by })).toMatchObject({
      seq: 4,
      before: 'false-reject',
      after: null,
      note: '',
    });
    expect(j.auditTrail(10).map((e) => [e.seq, e.action, e.after])).toEqual([
      [4, 'mark', null],
      [3, 'mark', 'false-reject'],
      [2, 'mark', 'escape'],
      [1, 'mark', 'false-reject'],
    ]);
    const expected = new Map([
      [ng.resultId, { kind: 'false-reject', note: 'dust', ...by }],
      [ok.resultId, { kind: 'escape', note: 'crack', ...by }],
    ]);
    expect(j.marks([ng.resultId, ok.resultId, other.resultId, 'nope'])).toEqual(expected);
    expect(j.query({ mark: 'any' }).verdicts).toEqual([ok, ng]);
    expect(j.query({ mark: 'escape' }).verdicts).toEqual([ok]);
    expect(j.query({ mark: 'false-reject', ok: true }).total).toBe(0);
    j.close();
    // The daemon restarted, and a tool reading beside it: the marks are there.
    const again = SqliteJournal.open(s, quietLog);
    expect(again.marks([ng.resultId, ok.resultId])).toEqual(expected);
    const reader = SqliteJournal.openReadOnly(s);
    expect(reader.query({ mark: 'any' }).total).toBe(2);
    reader.close();
    again.close();
  });

  it('retention passes over marked verdicts, by rows and by age; clearing the mark lets them go', () => {
    const j = SqliteJournal.open(settings({ maxRows: 2, retainDays: 1 }), quietLog);
    const now = Date.now();
    const vs = [1, 2, 3, 4, 5].map((i) => testVerdict(false, { decidedAt: now - (6 - i) * 1000 }));
    for (const v of vs) j.append(v);
    j.setMark(vs[0].resultId, { kind: 'false-reject', note: '', ...by });
    while (j.retainStep(now) > 0);
    // 2 rows, the most allowed: the marked oldest, and the newest.
    expect(j.query({}).verdicts.map((v) => v.resultId)).toEqual([vs[4].resultId, vs[0].resultId]);
    // Two days later every verdict is past retainDays: the marked one stays, alone.
    while (j.retainStep(now + 2 * 86_400_000) > 0);
    expect(j.query({}).verdicts.map((v) => v.resultId)).toEqual([vs[0].resultId]);
    expect(j.marks([vs[0].resultId]).size).toBe(1);
    j.setMark(vs[0].resultId, { kind: null, note: '', ...by });
    while (j.retainStep(now + 2 * 86_400_000) > 0);
    expect(j.query({}).total).toBe(0);
    // The trail keeps what was marked.
    expect(j.auditTrail(10).map((e) => e.action)).toEqual(['mark', 'mark']);
    j.close();
  });

  it('a journal from before marks, read by a tool, has none (no error)', () => {
    const s = settings();
    const j = SqliteJournal.open(s, quietLog);
    const v = testVerdict(false);
    j.append(v);
    j.close();
    const db = new Database(s.path);
    db.exec('DROP TABLE marks');
    db.close();
    const reader = SqliteJournal.openReadOnly(s);
    expect(reader.marks([v.resultId]).size).toBe(0);
    expect(reader.query({ mark: 'any' })).toEqual({ verdicts: [], total: 0 });
    expect(reader.query({}).total).toBe(1);
    reader.close();
  });
});
