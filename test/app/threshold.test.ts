import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteJournal } from '../../src/journal/journal.js';
import { tempDir } from '../helpers/fixtures.js';
import { testLine } from '../helpers/line.js';
import { ROOT } from '../helpers/paths.js';

interface Threshold {
  value: number;
  rule: string;
  fitted?: { value: number; rule: string };
}

describe('LineControl.setThreshold: an operator sets a recipe threshold, written into the recipe and the audit trail', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function line() {
    const recipes = tempDir('threshold-recipes');
    cpSync(path.join(ROOT, 'models', 'demo'), path.join(recipes, 'demo'), { recursive: true });
    const t = await testLine({ recipesDir: recipes });
    close = t.close;
    const manifestFile = path.join(recipes, 'demo', 'manifest.json');
    const onDisk = () =>
      (JSON.parse(readFileSync(manifestFile, 'utf8')) as { threshold: Threshold }).threshold;
    return { ...t, recipes, onDisk };
  }

  it('changes the live recipe and its folder, keeps what fit set, and records every change in order', async () => {
    const t = await line();
    const fitted = t.onDisk();
    const first = await t.line.setThreshold('cam1', 7.5, 'test, here');
    expect(first).toMatchObject({
      seq: 1,
      action: 'threshold',
      camera: 'cam1',
      recipe: 'demo',
      before: fitted.value,
      after: 7.5,
      origin: 'test, here',
    });
    const second = await t.line.setThreshold('cam1', 8.25, 'test, here');
    expect(second).toMatchObject({ seq: 2, before: 7.5, after: 8.25 });
    expect(t.onDisk()).toEqual({
      value: 8.25,
      rule: 'operator',
      margin: 0,
      fitted: { value: fitted.value, rule: fitted.rule },
    });
    // The model the cameras share judges by it (the recipe cache hands out the one loaded model).
    const model = await t.line['d'].recipes.acquire('demo');
    expect(model.manifest.threshold.value).toBe(8.25);
    await t.line['d'].recipes.release('demo');
    expect(t.line.auditTrail(10).map((e) => e.after)).toEqual([8.25, 7.5]);
    expect(t.line.auditTrail(1)).toHaveLength(1);
    // The trail outlives the process: a reader of the journal file sees it.
    const reader = SqliteJournal.openReadOnly(t.config.journal);
    expect(reader.auditTrail(10).map((e) => e.seq)).toEqual([2, 1]);
    reader.close();
  });

  it('refuses a non-number and a camera not on the line, changing nothing', async () => {
    const t = await line();
    const before = t.onDisk();
    await expect(t.line.setThreshold('cam1', Number.NaN, 'test')).rejects.toThrow(
      /threshold NaN is not a number/,
    );
    await expect(t.line.setThreshold('cam9', 1, 'test')).rejects.toThrow(/cam9/);
    expect(t.onDisk()).toEqual(before);
    expect(t.line.auditTrail(10)).toEqual([]);
  });

  it('a recipe folder it cannot write: refused with the fix, the threshold and the trail unchanged', async () => {
    const t = await line();
    const before = t.onDisk();
    // The manifest is replaced through a temporary file; a folder in its place makes the write fail (even as root).
    mkdirSync(path.join(t.recipes, 'demo', 'manifest.json.tmp'));
    await expect(t.line.setThreshold('cam1', 9, 'test')).rejects.toThrow(
      /recipe demo's threshold cannot be written: .*EISDIR/,
    );
    expect(t.onDisk()).toEqual(before);
    expect(t.line.auditTrail(10)).toEqual([]);
  });

  it('no change without its record: when the journal cannot take the entry, the manifest is put back', async () => {
    const t = await line();
    const before = t.onDisk();
    t.journal.close();
    await expect(t.line.setThreshold('cam1', 9, 'test')).rejects.toThrow(
      /the threshold change could not be entered in the journal/,
    );
    expect(t.onDisk()).toEqual(before);
    const model = await t.line['d'].recipes.acquire('demo');
    expect(model.manifest.threshold.value).toBe(before.value);
    await t.line['d'].recipes.release('demo');
    // The journal is closed already.
    close = async () => {
      await t.line.stop(Date.now() + 2000);
      await t.line['d'].recipes.closeAll();
    };
  });
});
