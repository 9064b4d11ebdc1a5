import { DataType, type TensorProto } from './proto.js';

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A float32 initializer stored as raw little-endian bytes (the layout ONNX expects). */
export function float32Tensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  checkSize(name, dims, data.length);
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: bytesOf(data) };
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): TensorProto {
  checkSize(name, dims, data.length);
  return {
    name,
    dims: [...dims],
    dataType: DataType.INT64,
    rawData: bytesOf(BigInt64Array.from(data, BigInt)),
  };
}

function checkSize(name: string, dims: readonly number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length)
    throw new Error(`tensor ${name}: dims ${dims.join('x')} need ${expected} values, got ${length}`);
}

export const tensorByteLength = (t: TensorProto): number => t.rawData?.byteLength ?? 0;
