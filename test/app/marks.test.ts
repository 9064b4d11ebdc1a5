import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/errors.js';
import { archiveBase } from '../../src/core/review.js';
import { tempDir } from '../helpers/fixtures.js';
import { testLine, testVerdict } from '../helpers/line.js';

describe('LineControl.mark and archived: the NG review through the line', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function line(archive: Record<string, unknown> = {}) {
    const dir = tempDir('review-archive');
    const t = await testLine({ archive: { dir, okSampleRate: 0, ...archive } });
    close = t.close;
    const [ng, ok] = [testVerdict(false), testVerdict(true)];
    t.journal.append(ng);
    t.journal.append(ok);
    return { ...t, dir, ng, ok };
  }

  it('marks a false reject and an escape, clears one; refuses what does not fit, changing nothing', async () => {
    const t = await line();
    expect(t.line.mark(t.ng.resultId, 'false-reject', 'dust', 'test')).toMatchObject({
      seq: 1,
      after: 'false-reject',
    });
    expect(t.line.mark(t.ok.resultId, 'escape', '', 'test')).toMatchObject({ seq: 2, after: 'escape' });
    expect(t.line.mark(t.ok.resultId, null, '', 'test')).toMatchObject({ before: 'escape', after: null });
    expect(() => t.line.mark('r-nope', 'escape', '', 'test')).toThrow(NotFoundError);
    expect(() => t.line.mark('r-nope', 'escape', '', 'test')).toThrow(/the journal has no verdict r-nope/);
    expect(() => t.line.mark(t.ok.resultId, 'false-reject', '', 'test')).toThrow(
      /is OK: a false reject is an NG verdict on a good part; mark it escape/,
    );
    expect(() => t.line.mark(t.ng.resultId, 'escape', '', 'test')).toThrow(
      /is NG: an escape is an OK verdict/,
    );
    expect(() => t.line.mark(t.ng.resultId, 'false-reject', 'x'.repeat(301), 'test')).toThrow(
      /a note of 301 characters is too long/,
    );
    expect(t.line.auditTrail(10)).toHaveLength(3);
    expect(t.journal.marks([t.ng.resultId, t.ok.resultId])).toEqual(
      new Map([[t.ng.resultId, expect.objectContaining({ kind: 'false-reject', note: 'dust' })]]),
    );
  });

  it('finds the archived frame and overlay of a verdict, or says why there are none', async () => {
    const t = await line();
    expect(await t.line.archived(t.ok)).toEqual({
      missing: 'OK frames are not archived (archive.okSampleRate 0): raise it to keep a sample of them',
    });
    expect(await t.line.archived(t.ng)).toEqual({
      missing: expect.stringMatching(
        /^the archive no longer holds this frame: it keeps the newest 5000 frames/,
      ),
    });
    const base = archiveBase(t.dir, t.ng);
    mkdirSync(path.dirname(base), { recursive: true });
    for (const x of ['.png', '.heatmap.png', '.json']) writeFileSync(`${base}${x}`, 'x');
    expect(await t.line.archived(t.ng)).toEqual({ frame: `${base}.png`, overlay: `${base}.heatmap.png` });
  });

  it('an archive that is off says so', async () => {
    const t = await line({ dir: '' });
    expect(await t.line.archived(t.ng)).toEqual({
      missing: 'the archive is off (archive.dir is empty): set archive.dir to keep NG frames',
    });
  });
});
