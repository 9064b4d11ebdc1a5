import { closeSync, openSync, readFileSync, renameSync, writeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InspectdError, messageOf } from '../core/errors.js';
import { onnx, type ModelProto, type TensorProto } from './proto.js';
import { tensorByteLength } from './tensor.js';

/**
 * Reads an ONNX model. Tensors kept in side files stay there unless `inlineExternal` (a model that is composed
 * further in memory and handed to onnxruntime as bytes must carry its weights).
 */
export function readModel(file: string, opts: { inlineExternal?: boolean } = {}): ModelProto {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InspectdError(`cannot read ONNX model ${file}: ${messageOf(e)}`, {
      subject: file,
      fix: 'check the path; backbones are made by scripts/export_backbone.py',
    });
  }
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(buf);
  } catch (e) {
    throw new InspectdError(`${file} is not an ONNX model (${messageOf(e)})`, {
      subject: file,
      fix: 'pass a .onnx file exported with scripts/export_backbone.py or torch.onnx.export',
    });
  }
  if (opts.inlineExternal) inlineExternalData(model, file);
  return model;
}

/** Loads every external tensor of `model` (read from `file`) into the model itself. */
function inlineExternalData(model: ModelProto, file: string): void {
  const files = new Map<string, Buffer>();
  for (const t of (model.graph?.initializer ?? []) as TensorProto[]) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    const location = path.resolve(path.dirname(file), String(kv.location ?? ''));
    if (path.dirname(location) !== path.dirname(path.resolve(file))) {
      throw new InspectdError(
        `${file}: tensor ${t.name} points outside the model's folder (${kv.location})`,
        {
          subject: file,
          value: kv.location,
          fix: 'keep the .data file beside the model, as writeModel and torch.onnx.export do',
        },
      );
    }
    let data = files.get(location);
    if (!data) {
      try {
        data = readFileSync(location);
      } catch (e) {
        throw new InspectdError(`${file}: its weights file ${location} cannot be read: ${messageOf(e)}`, {
          subject: location,
          fix: 'copy the .onnx.data file that belongs to the model beside it',
        });
      }
      files.set(location, data);
    }
    const offset = Number(kv.offset ?? 0);
    const length = kv.length === undefined ? data.length - offset : Number(kv.length);
    if (offset + length > data.length) {
      throw new InspectdError(`${file}: tensor ${t.name} lies beyond the end of ${location}`, {
        subject: location,
        fix: 'the weights file is truncated or belongs to another model; copy the recipe again',
      });
    }
    t.rawData = data.subarray(offset, offset + length);
    t.externalData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
}

/** The model as bytes for onnxruntime; protobuf cannot hold one message of 2 GiB or more. */
export function encodeModel(model: ModelProto, label: string): Uint8Array {
  const inits = (model.graph?.initializer ?? []) as TensorProto[];
  const bytes = inits.reduce((a, t) => a + tensorByteLength(t), 0);
  if (bytes >= 2 ** 31 - 2 ** 24) {
    throw new InspectdError(
      `${label}: ${(bytes / 2 ** 30).toFixed(1)} GiB of weights do not fit one ONNX message`,
      {
        subject: label,
        fix: 'use a smaller backbone or fewer feature levels for the recipe',
      },
    );
  }
  return onnx.ModelProto.encode(model).finish();
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
