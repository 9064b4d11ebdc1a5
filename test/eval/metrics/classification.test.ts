import { describe, expect, it } from 'vitest';
import { confusionAt } from '../../../src/eval/metrics/index.js';
import { InspectdError } from '../../../src/core/errors.js';

describe('confusionAt', () => {
  it('predicts NG only above the threshold, never at it', () => {
    const c = confusionAt([0.2, 0.5, 0.6, 0.9, 0.4, 0.5], [0, 0, 1, 1, 1, 1], 0.5);
    expect(c).toEqual({
      tp: 2,
      fp: 0,
      tn: 2,
      fn: 2,
      precision: 1,
      recall: 0.5,
      f1: 4 / 6,
      accuracy: 4 / 6,
    });
  });

  it('computes precision, recall and f1 from the counts', () => {
    // scores > 1: indices 1 (good), 2 (bad), 3 (bad) -> tp 2, fp 1; bad at index 4 missed -> fn 1; tn 1.
    const c = confusionAt([0, 2, 3, 4, 1], [0, 0, 1, 1, 1], 1);
    expect([c.tp, c.fp, c.tn, c.fn]).toEqual([2, 1, 1, 1]);
    expect(c.precision).toBeCloseTo(2 / 3, 12);
    expect(c.recall).toBeCloseTo(2 / 3, 12);
    expect(c.f1).toBeCloseTo(2 / 3, 12);
    expect(c.accuracy).toBeCloseTo(3 / 5, 12);
  });

  it('gives 0, not NaN, when a denominator is 0', () => {
    const none = confusionAt([0.1, 0.2], [0, 0], 1);
    expect(none).toEqual({ tp: 0, fp: 0, tn: 2, fn: 0, precision: 0, recall: 0, f1: 0, accuracy: 1 });
    const empty = confusionAt([], [], 0);
    expect(empty).toEqual({ tp: 0, fp: 0, tn: 0, fn: 0, precision: 0, recall: 0, f1: 0, accuracy: 0 });
    const missedAll = confusionAt([0.1], [1], 0.5);
    expect([missedAll.precision, missedAll.recall, missedAll.f1]).toEqual([0, 0, 0]);
  });

  it('counts a NaN score as OK and nonzero labels as NG', () => {
    const c = confusionAt([NaN, 0.9], [255, 0], 0.5);
    expect([c.tp, c.fp, c.tn, c.fn]).toEqual([0, 1, 0, 1]);
  });

  it('rejects mismatched lengths', () => {
    expect(() => confusionAt([1, 2], [1], 0)).toThrow(InspectdError);
  });
});
