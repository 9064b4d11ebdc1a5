import { describe, expect, it } from 'vitest';
import { splitHoldout } from '../../src/fit/fitCommon.js';

const names = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `img${String(i).padStart(3, '0')}.png`);

describe('splitHoldout (good images kept out of the fit for the threshold)', () => {
  it('holds out floor(n x fraction) images, evenly spread in name order, and keeps every other one', () => {
    const { files, holdout } = splitHoldout(names(20), 0.2);
    expect(holdout).toEqual(['img004.png', 'img009.png', 'img014.png', 'img019.png']);
    expect(files).toHaveLength(16);
    expect([...files, ...holdout].sort()).toEqual(names(20));
    for (const [n, f] of [
      [762, 0.1],
      [41, 0.1],
      [7, 0.5],
      [100, 0.33],
    ] as const) {
      const s = splitHoldout(names(n), f);
      expect(s.holdout, `${n} x ${f}`).toHaveLength(Math.floor(n * f));
      expect(s.files.length + s.holdout.length).toBe(n);
    }
  });

  it('0 holds out nothing; too small a fraction of too few images holds out none (fit refuses that)', () => {
    expect(splitHoldout(names(10), 0)).toEqual({ files: names(10), holdout: [] });
    expect(splitHoldout(names(10), 0.05).holdout).toEqual([]);
  });

  it('is the same split every time', () => {
    expect(splitHoldout(names(57), 0.15)).toEqual(splitHoldout(names(57), 0.15));
  });
});
