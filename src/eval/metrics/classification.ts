import { InspectdError } from '../../core/errors.js';

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
}

/**
 * Confusion counts and rates at a threshold. Predicted positive (NG) when score > threshold, strictly:
 * the threshold is the highest good training score, and that image itself must pass. A NaN score
 * compares false, so it counts as predicted OK. Labels: nonzero = positive.
 *
 * Rates never come out NaN: each is 0 when its denominator is 0 (precision with nothing predicted
 * positive, recall with no positives, accuracy with no samples), and f1 = 2tp / (2tp + fp + fn) is
 * 0 whenever tp = 0.
 */
export function confusionAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): Confusion {
  if (labels.length !== scores.length) {
    throw new InspectdError(`confusionAt: ${scores.length} scores but ${labels.length} labels`, {
      subject: 'confusionAt',
      value: { scores: scores.length, labels: labels.length },
      fix: 'pass one label per score',
    });
  }
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] > threshold;
    if (labels[i] !== 0) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  return {
    tp,
    fp,
    tn,
    fn,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
  };
}
