import { describe, expect, it } from 'vitest';
import { componentBoxes, labelComponents, regionsAbove } from '../../src/core/components.js';
import { InspectdError } from '../../src/core/errors.js';
import { rng } from '../helpers/random.js';

function maskOf(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const width = rows[0].length;
  const mask = new Uint8Array(
    rows
      .join('')
      .split('')
      .map((c) => (c === '#' ? 1 : 0)),
  );
  return { mask, width, height: rows.length };
}

/**
 * Reference: union-find over earlier neighbours, then labels renumbered by first appearance in
 * raster order (the order labelComponents promises).
 */
function referenceLabels(mask: Uint8Array, width: number, height: number, connectivity: 4 | 8): number[] {
  const parent = Array.from({ length: mask.length }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) a = parent[a];
    return a;
  };
  const union = (a: number, b: number): void => {
    parent[find(a)] = find(b);
  };
  const earlier =
    connectivity === 8
      ? [
          [-1, 0],
          [-1, -1],
          [0, -1],
          [1, -1],
        ]
      : [
          [-1, 0],
          [0, -1],
        ];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      for (const [dx, dy] of earlier) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx >= 0 && nx < width && ny >= 0 && mask[ny * width + nx]) union(y * width + x, ny * width + nx);
      }
    }
  }
  const names = new Map<number, number>();
  return Array.from(mask, (v, i) => {
    if (!v) return 0;
    const root = find(i);
    if (!names.has(root)) names.set(root, names.size + 1);
    return names.get(root)!;
  });
}

describe('labelComponents', () => {
  it('joins diagonal neighbours with 8-connectivity only', () => {
    const { mask, width, height } = maskOf(['#..', '.#.', '..#']);
    const eight = labelComponents(mask, width, height, 8);
    expect(eight.count).toBe(1);
    expect(eight.areas).toEqual([3]);
    const four = labelComponents(mask, width, height, 4);
    expect(four.count).toBe(3);
    expect(four.areas).toEqual([1, 1, 1]);
    expect(Array.from(four.labels)).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3]);
    expect(labelComponents(mask, width, height).count).toBe(1); // 8 by default
  });

  it('labels in raster order with areas and boxes', () => {
    const { mask, width, height } = maskOf([
      '##....#', //
      '##...##',
      '......#',
      '.###...',
      '.#.#..#',
    ]);
    const { labels, count, areas } = labelComponents(mask, width, height);
    expect(count).toBe(4);
    expect(areas).toEqual([4, 4, 5, 1]);
    expect(labels[0]).toBe(1);
    expect(labels[6]).toBe(2);
    expect(labels[3 * width + 1]).toBe(3);
    expect(labels[4 * width + 6]).toBe(4);
    expect(componentBoxes(labels, width, height, count)).toEqual([
      { x: 0, y: 0, width: 2, height: 2, area: 4 },
      { x: 5, y: 0, width: 2, height: 3, area: 4 },
      { x: 1, y: 3, width: 3, height: 2, area: 5 },
      { x: 6, y: 4, width: 1, height: 1, area: 1 },
    ]);
  });

  it('handles empty, full and nonbinary masks', () => {
    const empty = labelComponents(new Uint8Array(12), 4, 3);
    expect(empty.count).toBe(0);
    expect(empty.areas).toEqual([]);
    expect(componentBoxes(empty.labels, 4, 3, 0)).toEqual([]);
    const full = labelComponents(new Uint8Array(12).fill(255), 4, 3, 4);
    expect(full.count).toBe(1);
    expect(componentBoxes(full.labels, 4, 3, 1)).toEqual([{ x: 0, y: 0, width: 4, height: 3, area: 12 }]);
  });

  it('fills an image-sized component without recursion', () => {
    const width = 1000;
    const height = 1000;
    const mask = new Uint8Array(width * height).fill(1);
    // A serpentine wall makes one long winding component.
    for (let y = 1; y < height; y += 2) {
      for (let x = 0; x < width; x++) mask[y * width + x] = 0;
      mask[y * width + (((y - 1) / 2) % 2 === 0 ? width - 1 : 0)] = 1;
    }
    const { count, areas } = labelComponents(mask, width, height, 4);
    expect(count).toBe(1);
    expect(areas[0]).toBe(500 * width + 500);
  });

  it('matches a union-find reference on big random masks', () => {
    const rand = rng(3);
    for (const density of [0.3, 0.45, 0.6]) {
      const width = 173;
      const height = 121;
      const mask = new Uint8Array(width * height);
      for (let i = 0; i < mask.length; i++) mask[i] = rand() < density ? 1 : 0;
      for (const connectivity of [4, 8] as const) {
        const got = labelComponents(mask, width, height, connectivity);
        const want = referenceLabels(mask, width, height, connectivity);
        expect(Array.from(got.labels)).toEqual(want);
        const count = Math.max(0, ...want);
        expect(got.count).toBe(count);
        const areas = new Array<number>(count).fill(0);
        for (const l of want) if (l) areas[l - 1]++;
        expect(got.areas).toEqual(areas);
        const boxes = componentBoxes(got.labels, width, height, got.count);
        expect(boxes.map((b) => b.area)).toEqual(areas);
        for (let i = 0; i < want.length; i++) {
          if (!want[i]) continue;
          const b = boxes[want[i] - 1];
          const x = i % width;
          const y = Math.floor(i / width);
          expect(x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height).toBe(true);
        }
      }
    }
  });

  it('rejects sizes that do not match', () => {
    expect(() => labelComponents(new Uint8Array(10), 3, 3)).toThrow(InspectdError);
    expect(() => labelComponents(new Uint8Array(0), 0, 0)).toThrow(InspectdError);
    expect(() => componentBoxes(new Int32Array([0, 2]), 2, 1, 1)).toThrow(InspectdError);
  });
});

describe('regionsAbove (the decision regions in one pass)', () => {
  it('finds the same components, boxes and areas as labelComponents + componentBoxes, with each peak', () => {
    const next = rng(42);
    for (const [w, h, fill] of [
      [37, 23, 0.3],
      [64, 64, 0.6],
      [5, 90, 0.5],
      [56, 56, 1],
    ] as const) {
      const values = Float32Array.from({ length: w * h }, () => next());
      const threshold = 1 - fill;
      const mask = Uint8Array.from(values, (v) => (v > threshold ? 1 : 0));
      const { labels, count } = labelComponents(mask, w, h, 8);
      const boxes = componentBoxes(labels, w, h, count);
      const peaks = Array.from({ length: count }, () => -Infinity);
      labels.forEach((l, i) => {
        if (l) peaks[l - 1] = Math.max(peaks[l - 1], values[i]);
      });
      expect(regionsAbove(values, w, h, threshold)).toEqual(boxes.map((b, k) => ({ ...b, peak: peaks[k] })));
    }
  });
});
