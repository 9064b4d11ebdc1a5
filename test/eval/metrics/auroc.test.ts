import { describe, expect, it } from 'vitest';
import { auroc } from '../../../src/eval/metrics/index.js';
import { InspectdError } from '../../../src/core/errors.js';
import { rng } from '../../helpers/random.js';

/** Every positive/negative pair: 1 if the positive is higher, 0.5 on a tie. */
function bruteAuroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] === 0) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) sum += 1;
      else if (scores[i] === scores[j]) sum += 0.5;
    }
  }
  return sum / pairs;
}

describe('auroc', () => {
  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(auroc(new Float32Array([0.1, 0.2, 0.8, 0.9]), new Uint8Array([0, 0, 1, 1]))).toBe(1);
    expect(auroc(new Float32Array([0.9, 0.8, 0.2, 0.1]), new Uint8Array([0, 0, 1, 1]))).toBe(0);
  });

  it('counts ties as half', () => {
    expect(auroc([3, 3, 3, 3, 3], [0, 1, 0, 1, 1])).toBe(0.5);
    expect(auroc(new Float32Array(6).fill(-2), [1, 0, 0, 0, 0, 1])).toBe(0.5);
    // pos {1, 2}, neg {1, 0}: pairs (1>0)=1, (1=1)=0.5, (2>1)=1, (2>0)=1 -> 3.5 / 4
    expect(auroc([1, 2, 1, 0], [1, 1, 0, 0])).toBe(0.875);
  });

  it('treats any nonzero label as positive', () => {
    expect(auroc([0.1, 0.9, 0.8], [0, 255, 2])).toBe(1);
  });

  it('matches brute force over all pairs on random data with many ties', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + Math.floor(rand() * 400);
      const scores = new Float64Array(n);
      const labels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = rand() < 0.3 ? 1 : 0;
        // Rounded to 1 decimal and shifted negative so ties and signs are common; positives skew higher.
        scores[i] = Math.round((rand() * 2 - 1 + labels[i] * 0.4) * 10) / 10;
      }
      const expected = bruteAuroc(scores, labels);
      expect(auroc(scores, labels)).toBeCloseTo(expected, 12);
      expect(auroc(Array.from(scores), labels)).toBeCloseTo(expected, 12);
      const f32 = Float32Array.from(scores);
      expect(auroc(f32, labels)).toBeCloseTo(bruteAuroc(f32, labels), 12);
    }
  });

  it('ranks -0 and +0 as a tie, and negatives below zero, in float32 input', () => {
    const scores = new Float32Array([-0, 0, -1.5, -0.25, 2, -Infinity, Infinity]);
    const labels = [1, 0, 0, 1, 0, 1, 0];
    expect(auroc(scores, labels)).toBe(bruteAuroc(scores, labels));
    expect(auroc(Array.from(scores), labels)).toBe(bruteAuroc(scores, labels));
  });

  it('is NaN when a class is empty', () => {
    expect(auroc([0.1, 0.2], [0, 0])).toBeNaN();
    expect(auroc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(auroc([], [])).toBeNaN();
  });

  it('rejects NaN scores and mismatched lengths', () => {
    expect(() => auroc([0.1, NaN], [0, 1])).toThrow(InspectdError);
    expect(() => auroc(new Float32Array([0.1, NaN]), [0, 1])).toThrow(InspectdError);
    expect(() => auroc([0.1, 0.2], [0, 1, 1])).toThrow(InspectdError);
  });

  it('runs over 30 million float32 pixel scores', () => {
    const n = 30_000_000;
    const scores = new Float32Array(n);
    const labels = new Uint8Array(n);
    const rand = rng(1);
    for (let i = 0; i < n; i++) {
      const positive = rand() < 0.05;
      labels[i] = positive ? 1 : 0;
      scores[i] = rand() + (positive ? 0.5 : 0);
    }
    // Uniform [0,1) vs uniform [0.5,1.5): P(pos > neg) = 1 - 0.5 * 0.5 * 0.5 = 0.875.
    expect(auroc(scores, labels)).toBeCloseTo(0.875, 2);
  });
});
