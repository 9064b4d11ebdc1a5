import type { GraphBuilder } from '../../onnx/graphBuilder.js';
import { DataType } from '../../onnx/proto.js';
import { int64Tensor } from '../../onnx/tensor.js';

/** The memory bank: `size` normal patch features of `dim` channels, row-major [size, dim]. */
export interface MemoryBank {
  size: number;
  dim: number;
  data: Float32Array;
  /** [size, k] each item's k nearest bank items (itself first), for PatchCore's re-weighting. */
  neighbours?: Int32Array;
  k?: number;
}

export interface BankInits {
  /** Per chunk: -2 m^T [C, Mj] and ||m||^2 [Mj] (float32 in the graph, whatever the storage). */
  chunks: { negTwoT: string; squaredNorms: string; size: number }[];
  /** [M, k] int64, when the bank has its neighbour table. */
  neighbours?: string;
}

/**
 * The bank as graph initializers, split in chunks of at most `chunk` items. Stored as -2 m^T so the head's
 * MatMul gives -2 q.m directly. float16 storage halves the recipe (and a GPU's memory for the bank); a Cast
 * brings it back to float32 for the arithmetic (onnxruntime folds it once at load on the CPU).
 */
export function bankInitializers(
  b: GraphBuilder,
  bank: MemoryBank,
  chunk: number,
  storage: 'float32' | 'float16',
): BankInits {
  const { size: M, dim: C, data } = bank;
  if (!(chunk >= 1)) throw new Error(`chunk size ${chunk} must be >= 1`);
  const chunks: BankInits['chunks'] = [];
  for (let start = 0; start < M; start += chunk) {
    const n = Math.min(chunk, M - start);
    const t = new Float32Array(C * n);
    const norms = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < C; c++) {
        const v = data[(start + j) * C + c];
        t[c * n + j] = -2 * v;
        s += v * v;
      }
      norms[j] = s;
    }
    chunks.push({
      negTwoT: storedTensor(b, 'bank_neg2t', [C, n], t, storage),
      squaredNorms: b.float32('bank_sqnorm', [n], norms),
      size: n,
    });
  }
  let neighbours: string | undefined;
  if (bank.neighbours && bank.k) {
    neighbours = b.name('bank_neighbours');
    b.initializers.push(int64Tensor(neighbours, [M, bank.k], Array.from(bank.neighbours)));
  }
  return { chunks, neighbours };
}

function storedTensor(
  b: GraphBuilder,
  hint: string,
  dims: number[],
  data: Float32Array,
  storage: 'float32' | 'float16',
): string {
  if (storage === 'float32') return b.float32(hint, dims, data);
  const name = b.name(`${hint}_f16`);
  const half = toFloat16Bits(data);
  b.initializers.push({
    name,
    dims,
    dataType: DataType.FLOAT16,
    rawData: new Uint8Array(half.buffer, half.byteOffset, half.byteLength),
  });
  return b.op('Cast', [name], { to: DataType.FLOAT }, hint);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bit patterns, round to nearest even; overflow -> inf, tiny -> subnormal or zero. */
export function toFloat16Bits(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i];
    const bits = u32[0];
    const sign = (bits >>> 16) & 0x8000;
    const exp = (bits >>> 23) & 0xff;
    let mant = bits & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); // inf or NaN
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still correct
      out[i] = sign | h;
    }
  }
  return out;
}
