import { parentPort, workerData } from 'node:worker_threads';
import { estimatePositions, type GaussianEstimate, type MomentSums } from './moments.js';

// One range of positions; all buffers are SharedArrayBuffer views, so results land in place.
const d = workerData as { sums: MomentSums; out: GaussianEstimate; eps: number; from: number; to: number };
parentPort!.postMessage(estimatePositions(d.sums, d.eps, d.from, d.to, d.out));
