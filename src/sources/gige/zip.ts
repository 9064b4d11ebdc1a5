/**
 * A minimal ZIP reader for the one-file archives GigE cameras store their GenICam XML in: the central
 * directory is read (data-descriptor archives included), entries are stored (method 0) or deflated
 * (method 8), and every size and offset is checked against the real buffer before use. The uncompressed
 * size is bounded, whatever the archive declares.
 */
import zlib from 'node:zlib';
import { InspectdError } from '../../core/errors.js';

export const DEFAULT_MAX_UNZIPPED = 64 * 1024 * 1024;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export class ZipError extends InspectdError {
  constructor(message: string, what: string) {
    super(`${what}: ${message}`, {
      subject: what,
      fix: 'the archive is damaged or uses a ZIP feature this reader lacks (ZIP64, encryption, a method other than store/deflate); report it with the camera model',
    });
    this.name = 'ZipError';
  }
}

let crcTable: Uint32Array | undefined;
export function crc32(buf: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The entries of the central directory. */
export function listZip(zip: Buffer, what = 'ZIP archive'): ZipEntry[] {
  // The end-of-central-directory record is at the end, followed by a comment of up to 65535 bytes.
  const stop = Math.max(0, zip.length - EOCD_SIZE - 0xffff);
  let eocd = -1;
  for (let i = zip.length - EOCD_SIZE; i >= stop; i--) {
    if (zip.readUInt32LE(i) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end-of-central-directory record (not a ZIP file, or truncated)', what);
  const count = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff)
    throw new ZipError('ZIP64 archives are not supported', what);
  if (cdOffset + cdSize > eocd)
    throw new ZipError(`central directory (${cdSize} bytes at ${cdOffset}) overruns`, what);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > eocd || zip.readUInt32LE(p) !== SIG_CENTRAL)
      throw new ZipError(`central directory entry ${i} is damaged`, what);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > eocd) throw new ZipError(`central directory entry ${i} overruns`, what);
    entries.push({
      flags: zip.readUInt16LE(p + 8),
      method: zip.readUInt16LE(p + 10),
      crc32: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      uncompressedSize: zip.readUInt32LE(p + 24),
      localHeaderOffset: zip.readUInt32LE(p + 42),
      name: zip.toString('utf8', p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen),
    });
    p = end;
  }
  return entries;
}

/** The uncompressed bytes of one entry; never more than `maxBytes`. */
export function extractZipEntry(
  zip: Buffer,
  e: ZipEntry,
  maxBytes = DEFAULT_MAX_UNZIPPED,
  what = 'ZIP archive',
): Buffer {
  const label = `${what} entry ${JSON.stringify(e.name)}`;
  if (e.flags & 0x1) throw new ZipError('encrypted entries are not supported', label);
  if (e.uncompressedSize > maxBytes)
    throw new ZipError(
      `declares ${e.uncompressedSize} bytes uncompressed, more than the ${maxBytes}-byte limit`,
      label,
    );
  const l = e.localHeaderOffset;
  if (l + LOCAL_SIZE > zip.length || zip.readUInt32LE(l) !== SIG_LOCAL)
    throw new ZipError(`local header at ${l} is missing`, label);
  const start = l + LOCAL_SIZE + zip.readUInt16LE(l + 26) + zip.readUInt16LE(l + 28);
  if (start + e.compressedSize > zip.length)
    throw new ZipError(
      `${e.compressedSize} compressed bytes at ${start} overrun the ${zip.length}-byte archive`,
      label,
    );
  const data = zip.subarray(start, start + e.compressedSize);
  let out: Buffer;
  if (e.method === 0) {
    out = data;
  } else if (e.method === 8) {
    try {
      out = zlib.inflateRawSync(data, { maxOutputLength: maxBytes });
    } catch (err) {
      throw new ZipError(`cannot inflate (${(err as Error).message})`, label);
    }
  } else {
    throw new ZipError(`compression method ${e.method} is not supported (only 0 store and 8 deflate)`, label);
  }
  if (out.length !== e.uncompressedSize)
    throw new ZipError(`inflates to ${out.length} bytes, the directory says ${e.uncompressedSize}`, label);
  if (crc32(out) !== e.crc32) throw new ZipError('CRC-32 mismatch', label);
  return out;
}

/**
 * The one file a camera's archive holds: the first entry whose name ends in .xml, else the first file.
 */
export function unzipSingle(
  zip: Buffer,
  opts: { maxBytes?: number; what?: string } = {},
): { name: string; data: Buffer } {
  const what = opts.what ?? 'ZIP archive';
  const files = listZip(zip, what).filter((e) => !e.name.endsWith('/'));
  const entry = files.find((e) => /\.xml$/i.test(e.name)) ?? files[0];
  if (!entry) throw new ZipError('holds no file', what);
  return { name: entry.name, data: extractZipEntry(zip, entry, opts.maxBytes, what) };
}
