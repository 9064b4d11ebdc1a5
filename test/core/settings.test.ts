import { describe, expect, it } from 'vitest';
import { schema } from '../../src/config/schema.js';
import {
  formatProblem,
  int,
  isRenamed,
  isSetting,
  items,
  kinds,
  migrateSettings,
  msToSec,
  name,
  oneOf,
  parseText,
  referenceRows,
  renamed,
  retired,
  seconds,
  validateSettings,
  type Group,
  type SettingProblem,
} from '../../src/core/settings.js';

/** Every setting node of a declaration, with its path (list items and kinds included). */
function* settingsOf(
  group: Group,
  prefix = '',
): Generator<[string, { default: unknown; format: { ok(v: unknown): boolean } }]> {
  for (const [k, node] of Object.entries(group)) {
    if (isRenamed(node)) continue;
    if (!isSetting(node)) {
      yield* settingsOf(node as Group, `${prefix}${k}.`);
      continue;
    }
    yield [`${prefix}${k}`, node];
    if (node.format.items) yield* settingsOf(node.format.items.group, `${prefix}${k}[].`);
    for (const [type, g] of Object.entries(node.format.kinds ?? {}))
      yield* settingsOf(g, `${prefix}${k}(${type}).`);
  }
}

describe('settings declarations', () => {
  it('every default of inspectd (root, cameras, each source and sink kind) is allowed by its own check', () => {
    const bad: string[] = [];
    let n = 0;
    for (const [path, node] of settingsOf(schema)) {
      n++;
      // undefined = required (a camera's id, recipe, source): no default to check.
      if (node.default !== undefined && !node.format.ok(node.default)) bad.push(path);
    }
    expect(bad).toEqual([]);
    expect(n).toBeGreaterThan(100);
  });

  it('every setting is in the reference, with what is allowed', () => {
    const rows = referenceRows(schema).filter((r) => r.allowed !== '');
    const keys = new Set(rows.map((r) => r.key.replace(/\(\w+\)/, '')));
    for (const [path] of settingsOf(schema)) expect(keys).toContain(path.replace(/\(\w+\)/, ''));
  });

  it('text from an environment variable or a flag becomes the type the check wants, or stays text to be reported', () => {
    expect(parseText(int(0), '12')).toBe(12);
    expect(parseText(int(0), 'many')).toBe('many');
    expect(parseText(int(0), ' ')).toBe(' ');
    expect(parseText(seconds(0, 9), '0.25')).toBe(0.25);
    const b = { input: 'boolean' as const, allowed: '', ok: () => true };
    expect(['true', 'YES', '1', 'on'].map((t) => parseText(b, t))).toEqual([true, true, true, true]);
    expect(['false', 'no', '0', 'Off'].map((t) => parseText(b, t))).toEqual([false, false, false, false]);
    expect(parseText(b, 'maybe')).toBe('maybe');
    expect(parseText({ input: 'list', allowed: '', ok: () => true }, 'cuda, cpu,')).toEqual(['cuda', 'cpu']);
  });

  const cam = {
    id: { doc: 'id', format: name(), default: undefined as unknown as string },
    source: {
      doc: 'source',
      format: kinds({
        a: { fps: { doc: 'fps', format: int(0, 10), default: 5 } },
        b: { url: { doc: 'url', format: oneOf(['x', 'y']), default: 'x', sensitive: true } },
      }),
      default: undefined as unknown as { type: string; options: Record<string, unknown> },
    },
    queue: { size: { doc: 'size', format: int(1, 9), default: 4 } },
  };
  const decl = { cameras: { doc: 'cams', format: items(cam, 'camera', 'id'), default: [] } };

  it('fills defaults inside list items and kinds, and names every problem with its full path', () => {
    const problems: SettingProblem[] = [];
    const v = validateSettings(
      decl,
      {
        cameras: [
          { id: 'c1', source: { type: 'a' } },
          { id: 'c1', source: { type: 'b', url: 'secret-z' }, queue: { size: 0 }, colour: 1 },
          { source: { type: 'q' } },
        ],
      },
      '',
      problems,
    );
    expect(v.cameras[0]).toEqual({
      id: 'c1',
      source: { type: 'a', options: { fps: 5 } },
      queue: { size: 4 },
    });
    expect(problems.map(formatProblem)).toEqual([
      'cameras[1].id: got "c1"; allowed: id not used by another camera (cameras[0] has it); fix: give each camera its own id',
      'cameras[1].source.url: got (hidden); allowed: one of x, y; fix: set cameras[1].source.url to one of x, y',
      'cameras[1].queue.size: got 0; allowed: an integer from 1 to 9; fix: set cameras[1].queue.size to an integer from 1 to 9',
      'cameras[1].colour: got (hidden); allowed: no setting of this name; fix: remove it or correct the name; known here: id, source, queue',
      'cameras[2].id: got nothing; allowed: 1-64 letters, digits, _ . - (starting with a letter or digit; no / + # or spaces); fix: set cameras[2].id to 1-64 letters, digits, _ . - (starting with a letter or digit; no / + # or spaces)',
      'cameras[2].source.type: got "q"; allowed: one of a, b; fix: set cameras[2].source.type to one of a, b',
    ]);
  });

  it('renamed settings move to the new name (converted), also inside list items; retired ones are dropped', () => {
    const g = {
      a: {
        waitSec: { doc: 'w', format: seconds(0, 10), default: 1 },
        waitMs: renamed('waitSec', msToSec, 'in seconds'),
        gone: retired('nothing reads it'),
      },
      b: { keep: { doc: 'k', format: int(0), default: 0 } },
      list: {
        doc: 'l',
        format: items({ n: { doc: 'n', format: int(0), default: 0 }, m: renamed('n') }, 'x'),
        default: [],
      },
    };
    const raw = { a: { waitMs: 2500, gone: 7 }, list: [{ m: 3 }] };
    const warnings: string[] = [];
    const problems: SettingProblem[] = [];
    migrateSettings(g, raw, '', warnings, problems);
    expect(raw).toEqual({ a: { waitSec: 2.5 }, list: [{ n: 3 }] });
    expect(warnings).toEqual([
      'a.waitMs is renamed a.waitSec (in seconds); the old name is accepted until the next release',
      'a.gone is no longer used (nothing reads it); remove it before the next release',
      'list[0].m is renamed list[0].n; the old name is accepted until the next release',
    ]);
    expect(problems).toEqual([]);
    migrateSettings(g, { a: { waitMs: 1, waitSec: 1 } }, '', warnings, problems);
    expect(problems.map((p) => p.path)).toEqual(['a.waitMs']);
  });
});
