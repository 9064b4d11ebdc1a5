import { closeSync, openSync, readFileSync, renameSync, writeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InspectdError, messageOf } from '../core/errors.js';
import { onnx, type ModelProto, type TensorProto } from './proto.js';
import { tensorByteLength } from './tensor.js';

/** Reads an ONNX model with its initializers embedded (external data is not loaded here). */
export function readModel(file: string): ModelProto {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InspectdError(`cannot read ONNX model ${file}: ${messageOf(e)}`, {
      subject: file,
      fix: 'check the path; backbones are made by scripts/export_backbone.py',
    });
  }
  try {
    return onnx.ModelProto.decode(buf);
  } catch (e) {
    throw new InspectdError(`${file} is not an ONNX model (${messageOf(e)})`, {
      subject: file,
      fix: 'pass a .onnx file exported with scripts/export_backbone.py or torch.onnx.export',
    });
  }
}

export interface WriteOptions {
  /** Above this many bytes of weights in total, large tensors go to a side file `<model>.data`. */
  externalAboveBytes?: number;
  /** Tensors at least this large are the ones moved out. */
  externalTensorMinBytes?: number;
}

/**
 * Writes a model; when it is large, its big initializers go to `<file>.data` (protobuf caps a message at
 * 2 GiB, and a lean .onnx loads faster). Both files are written under temporary names and renamed, so a
 * crash never leaves a half-written recipe.
 * Returns the files written (basenames).
 */
export function writeModel(model: ModelProto, file: string, opts: WriteOptions = {}): string[] {
  const externalAbove = opts.externalAboveBytes ?? 64 * 2 ** 20;
  const minBytes = opts.externalTensorMinBytes ?? 2 ** 20;
  const inits = (model.graph?.initializer ?? []) as TensorProto[];
  const total = inits.reduce((a, t) => a + tensorByteLength(t), 0);
  const written = [path.basename(file)];
  if (total > externalAbove) {
    const dataName = `${path.basename(file)}.data`;
    const tmpData = `${file}.data.tmp`;
    const fd = openSync(tmpData, 'w');
    try {
      let offset = 0;
      for (const t of inits) {
        const raw = t.rawData;
        if (!raw || raw.byteLength < minBytes) continue;
        // 4 KiB alignment lets onnxruntime memory-map the tensors.
        const pad = (4096 - (offset % 4096)) % 4096;
        if (pad) writeSync(fd, Buffer.alloc(pad));
        offset += pad;
        writeSync(fd, raw);
        t.externalData = [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.byteLength) },
        ];
        t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
        t.rawData = new Uint8Array(0);
        offset += raw.byteLength;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmpData, `${file}.data`);
    written.push(dataName);
  }
  writeFileSync(`${file}.tmp`, onnx.ModelProto.encode(model).finish());
  renameSync(`${file}.tmp`, file);
  return written;
}
