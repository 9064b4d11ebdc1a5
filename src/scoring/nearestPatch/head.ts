import type { GraphBuilder } from '../../onnx/graphBuilder.js';
import { AttributeType } from '../../onnx/proto.js';
import { bankInitializers, type BankInits, type MemoryBank } from './bank.js';
import { SCORE_OUTPUT } from '../mapHead.js';
import { patchRows } from './features.js';

export interface NearestPatchGrid {
  /** Channels per patch (the bank's dimension). */
  channels: number;
  height: number;
  width: number;
}

export interface NearestPatchHead {
  /** [N,1,h,w] distance of each patch to its nearest bank item. */
  map: string;
  /** [N] PatchCore's re-weighted image score; present when the bank carries its neighbour table. */
  reweighted?: string;
}

/** ReduceMin's axes moved from attribute to input at opset 18, as ReduceMax's did. */
export function reduceMin(b: GraphBuilder, x: string, axes: readonly number[], keepdims: boolean): string {
  if (b.opset >= 18) return b.op('ReduceMin', [x, b.int64('axes', axes)], { keepdims: keepdims ? 1 : 0 });
  return b.op('ReduceMin', [x], { axes: { ints: axes }, keepdims: keepdims ? 1 : 0 });
}

/** -2 q.m + ||m||^2 for every bank item of one chunk: [..., R, C] -> [..., R, Mj]. ||q||^2 is added later. */
export const partialSquaredDistances = (
  b: GraphBuilder,
  q: string,
  chunk: BankInits['chunks'][number],
): string => b.op('Add', [b.op('MatMul', [q, chunk.negTwoT]), chunk.squaredNorms]);

/**
 * Nearest-patch scoring (S001 Patch SVDD, as PatchCore): features [N,C,H,W] -> per position the Euclidean
 * distance to the nearest memory-bank item, as a map [N,1,H,W].
 *
 * Squared distances come from one MatMul per chunk of the bank (||q||^2 - 2 q.m + ||m||^2, with -2 m^T and
 * ||m||^2 stored), each chunk reduced to its minimum at once, so the largest intermediate is
 * [N, P, chunk] whatever the bank size. ||q||^2 is the same for every bank item, so it is added after the
 * minimum.
 *
 * With the bank's neighbour table, also PatchCore's image score: the patch with the largest distance s*,
 * its nearest bank item m*, and s* weighted by 1 - softmax(distances from that patch to m*'s k nearest bank
 * items)[m*] — a patch whose nearest normal neighbour sits in a sparse region of the bank counts less.
 */
export function nearestPatchHead(
  b: GraphBuilder,
  features: string,
  grid: NearestPatchGrid,
  bank: MemoryBank,
  opts: { chunk: number; storage: 'float32' | 'float16' },
): NearestPatchHead {
  const { channels: C, height: H, width: W } = grid;
  if (bank.dim !== C) throw new Error(`bank dimension ${bank.dim} does not match ${C} feature channels`);
  const inits = bankInitializers(b, bank, opts.chunk, opts.storage);
  const q = patchRows(b, features, C); // [N,P,C]
  const q2 = b.reduceSum(b.op('Mul', [q, q]), [2], true); // [N,P,1]
  const mins = inits.chunks.map((ch) => reduceMin(b, partialSquaredDistances(b, q, ch), [2], true));
  const nearest = mins.length === 1 ? mins[0] : b.op('Min', mins); // [N,P,1]
  // Rounding can take a tiny squared distance below zero; sqrt of a negative would be NaN.
  const dist = b.op('Sqrt', [b.op('Relu', [b.op('Add', [nearest, q2])])]); // [N,P,1]
  const map = b.op('Reshape', [dist, b.int64('shape', [0, 1, H, W])]);
  if (!inits.neighbours) return { map };
  return { map, reweighted: reweightedScore(b, q, dist, inits, C) };
}

function reweightedScore(b: GraphBuilder, q: string, dist: string, inits: BankInits, C: number): string {
  const patches = b.op('Reshape', [dist, b.int64('shape', [0, -1])]); // [N,P]
  const worst = b.op('ArgMax', [patches], { axis: 1, keepdims: 1 }); // [N,1]
  const sStar = b.reduceMax(patches, [1], false); // [N]
  // The worst patch's features [N,1,C] and its partial distances to the whole bank [N,1,M] (N rows only: cheap).
  const idx = b.op('Expand', [b.op('Unsqueeze', [worst, b.int64('axes', [2])]), b.int64('shape', [1, 1, C])]);
  const qStar = b.op('GatherElements', [q, idx], { axis: 1 });
  const qStar2 = b.reduceSum(b.op('Mul', [qStar, qStar]), [2], true); // [N,1,1]
  const parts = inits.chunks.map((ch) => partialSquaredDistances(b, qStar, ch));
  const all = parts.length === 1 ? parts[0] : b.op('Concat', parts, { axis: 2 }); // [N,1,M]
  const mStar = b.op('ArgMin', [all], { axis: 2, keepdims: 0 }); // [N,1]
  const support = b.op('Gather', [inits.neighbours!, mStar], { axis: 0 }); // [N,1,k], m* itself first
  const d2 = b.op('Add', [b.op('GatherElements', [all, support], { axis: 2 }), qStar2]);
  const d = b.op('Sqrt', [b.op('Relu', [d2])]); // [N,1,k]
  const soft = b.op('Softmax', [d], { axis: 2 });
  const first = b.op('Slice', [soft, b.int64('start', [0]), b.int64('end', [1]), b.int64('axes', [2])]);
  const weight = b.op('Reshape', [first, b.int64('shape', [0])]); // [N]
  const one = b.float32('one', [], new Float32Array([1]));
  return b.op('Mul', [b.op('Sub', [one, weight]), sStar]);
}

/**
 * Fit-time: the k nearest bank items of each row of `rows` [R, C] (indices [R, k], nearest first) — run on
 * the bank itself it gives the neighbour table the re-weighting needs.
 */
export function nearestBankItems(b: GraphBuilder, rows: string, inits: BankInits, k: number): string {
  const parts = inits.chunks.map((ch) => partialSquaredDistances(b, rows, ch));
  const all = parts.length === 1 ? parts[0] : b.op('Concat', parts, { axis: 1 }); // [R, M]
  // TopK has two outputs, which GraphBuilder.op does not make: the node is written out here.
  const values = b.name('topk_values');
  const indices = b.name('topk_indices');
  b.nodes.push({
    opType: 'TopK',
    name: indices,
    input: [all, b.int64('k', [k])],
    output: [values, indices],
    attribute: [
      { name: 'axis', type: AttributeType.INT, i: 1 },
      { name: 'largest', type: AttributeType.INT, i: 0 },
      { name: 'sorted', type: AttributeType.INT, i: 1 },
    ],
  });
  return indices;
}

/**
 * `mapToOutputs` writes score = max of the blurred map; this points the `score` output at another image score
 * instead (the unused max is pruned when the head is appended to the backbone).
 */
export function replaceImageScore(b: GraphBuilder, score: string): void {
  const node = b.nodes.find((n) => n.output?.[0] === SCORE_OUTPUT);
  if (!node) throw new Error('replaceImageScore: no score output yet (call mapToOutputs first)');
  node.input = [score];
}
