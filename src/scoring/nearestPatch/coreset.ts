import { mulberry32 } from '../../core/random.js';

/**
 * A Gaussian random projection matrix [dim, outDim] (Johnson-Lindenstrauss): pairwise distances survive to
 * within a small factor, so the coreset's many distance computations run on `outDim` numbers, not `dim`.
 */
export function projectionMatrix(dim: number, outDim: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const r = new Float32Array(dim * outDim);
  const scale = 1 / Math.sqrt(outDim);
  for (let i = 0; i < r.length; i += 2) {
    // Box-Muller: two normals per draw.
    const radius = Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * scale;
    const angle = 2 * Math.PI * next();
    r[i] = radius * Math.cos(angle);
    if (i + 1 < r.length) r[i + 1] = radius * Math.sin(angle);
  }
  return r;
}

/** Squared distances from item `centre` to every item, written into `out` (length n). */
export type SquaredDistancesFrom = (centre: number, out: Float32Array) => void | Promise<void>;

/**
 * Greedy k-center selection (PatchCore's coreset): start from one item, then repeatedly take the item
 * farthest from everything selected so far, so the selection covers the set with the smallest radius a
 * greedy pass can give. O(count * n) distances, which the caller computes (onnxruntime in fit: one
 * matrix-vector product per pick). Returns the selected indices in selection order and the covering radius
 * (the farthest remaining squared distance) after each pick, which says when more items stop helping.
 */
export async function greedyCoreset(
  n: number,
  count: number,
  start: number,
  distancesFrom: SquaredDistancesFrom,
): Promise<{ indices: Int32Array; radius: Float32Array }> {
  const k = Math.min(count, n);
  const indices = new Int32Array(k);
  const radius = new Float32Array(k);
  const minDist = new Float32Array(n).fill(Infinity);
  const d = new Float32Array(n);
  let current = start;
  for (let step = 0; step < k; step++) {
    indices[step] = current;
    await distancesFrom(current, d);
    minDist[current] = -1; // selected: never picked again, even among exact duplicates
    let far = -1;
    let farDist = -Infinity;
    for (let i = 0; i < n; i++) {
      let m = minDist[i];
      if (d[i] < m) m = minDist[i] = d[i];
      if (m > farDist) {
        farDist = m;
        far = i;
      }
    }
    radius[step] = Math.max(0, farDist);
    current = far;
  }
  return { indices, radius };
}
