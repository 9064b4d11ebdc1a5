import { InspectdError } from '../../core/errors.js';

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative,
 * ties counted as half (the Mann-Whitney U statistic divided by nPos * nNeg).
 * Labels: nonzero = positive. Returns NaN when either class is empty.
 *
 * Positives and negatives are copied into two typed arrays, sorted natively and swept once, so
 * ~30M pixel scores need no index array and no per-pixel objects. Float32 scores are sorted as
 * order-preserving uint32 keys, which V8 sorts about twice as fast as floats and half the memory of f64.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) {
    throw new InspectdError(`auroc: ${n} scores but ${labels.length} labels`, {
      subject: 'auroc',
      value: { scores: n, labels: labels.length },
      fix: 'pass one label per score',
    });
  }
  let nPos = 0;
  for (let i = 0; i < n; i++) if (labels[i] !== 0) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;

  if (scores instanceof Float32Array) {
    const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
    const pos = new Uint32Array(nPos);
    const neg = new Uint32Array(nNeg);
    for (let i = 0, p = 0, q = 0; i < n; i++) {
      const k = orderedFloat32Key(bits[i]);
      if (labels[i] !== 0) pos[p++] = k;
      else neg[q++] = k;
    }
    return sweep(pos.sort(), neg.sort());
  }
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    const s = scores[i];
    if (s !== s) throw nanScore(i);
    if (labels[i] !== 0) pos[p++] = s;
    else neg[q++] = s;
  }
  return sweep(pos.sort(), neg.sort());
}

/**
 * Maps the bits of a float32 to a uint32 whose unsigned order is the float's numeric order
 * (-0 folded onto +0 so equal scores stay one tie). Throws on NaN, which has no order.
 */
export function orderedFloat32Key(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) throw nanScore();
  if (bits === 0x80000000) return 0x80000000;
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

function nanScore(index?: number): InspectdError {
  return new InspectdError(`metric input has a NaN score${index === undefined ? '' : ` at index ${index}`}`, {
    subject: 'scores',
    value: index,
    fix: 'NaN scores cannot be ranked: check the model output for NaN (e.g. a degenerate covariance)',
  });
}

/** Both arrays sorted ascending. U = sum over positives of (#neg below + half #neg equal). */
function sweep(pos: Uint32Array | Float64Array, neg: Uint32Array | Float64Array): number {
  const nPos = pos.length;
  const nNeg = neg.length;
  let u = 0; // a count of halves up to 2 * nPos * nNeg: exact in a double below 2^53
  let below = 0;
  for (let i = 0; i < nPos;) {
    const v = pos[i];
    let k = i + 1;
    while (k < nPos && pos[k] === v) k++;
    while (below < nNeg && neg[below] < v) below++;
    let upTo = below;
    while (upTo < nNeg && neg[upTo] === v) upTo++;
    u += (k - i) * (below + (upTo - below) / 2);
    i = k;
  }
  return u / nPos / nNeg;
}
