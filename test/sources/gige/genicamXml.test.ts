import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectdError } from '../../../src/core/errors.js';
import { parseGenicamUrl } from '../../../src/sources/gige/genicamXml.js';
import { ZipError, crc32, listZip, unzipSingle } from '../../../src/sources/gige/zip.js';
import { makeZip } from '../../helpers/fakeCamera.js';
import { rng } from '../../helpers/random.js';

describe('GenICam URL', () => {
  it('parses Local: URLs (case-insensitive scheme, ///, 0x, SchemaVersion)', () => {
    expect(parseGenicamUrl('Local:arv-fake-camera.xml;10000;3e67')).toEqual({
      scheme: 'local',
      url: 'Local:arv-fake-camera.xml;10000;3e67',
      fileName: 'arv-fake-camera.xml',
      address: 0x10000,
      length: 0x3e67,
    });
    expect(parseGenicamUrl('local:///Cam_v1.ZIP;0x8000000;0x1A2B?SchemaVersion=1.1.0')).toMatchObject({
      scheme: 'local',
      fileName: 'Cam_v1.ZIP',
      address: 0x8000000,
      length: 0x1a2b,
      schemaVersion: '1.1.0',
    });
    expect(parseGenicamUrl('LOCAL:a.xml;FFFFFFFC;4')).toMatchObject({ address: 0xfffffffc, length: 4 });
  });

  it('classifies other schemes and malformed Local: URLs', () => {
    expect(parseGenicamUrl('File:///C:/cams/x.xml').scheme).toBe('file');
    expect(parseGenicamUrl('http://www.acme.com/x.zip').scheme).toBe('http');
    expect(parseGenicamUrl('Local:x.xml;zz;10').scheme).toBe('other');
    expect(parseGenicamUrl('Local:x.xml;123456789;10').scheme).toBe('other'); // more than 32 bits
    expect(parseGenicamUrl('').scheme).toBe('other');
  });
});

describe('ZIP reader', () => {
  const xml = Buffer.from(
    '<?xml version="1.0"?><RegisterDescription>' + 'x'.repeat(5000) + '</RegisterDescription>',
  );
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads stored and deflated entries, preferring the .xml one', () => {
    for (const method of [0, 8] as const) {
      const zip = makeZip([
        { name: 'readme.txt', data: Buffer.from('hi'), method },
        { name: 'Camera.XML', data: xml, method },
      ]);
      expect(listZip(zip).map((e) => e.name)).toEqual(['readme.txt', 'Camera.XML']);
      expect(unzipSingle(zip)).toEqual({ name: 'Camera.XML', data: xml });
    }
  });

  it('reads an archive written by another ZIP writer (Python zipfile, with a comment)', async () => {
    const py = spawnSync('python3', ['--version']);
    if (py.error || py.status !== 0) return; // no python here: the hand-built archives above cover the format
    dir = await mkdtemp(path.join(os.tmpdir(), 'inspectd-zip-'));
    await writeFile(path.join(dir, 'cam.xml'), xml);
    const script =
      'import zipfile,sys;z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED);z.comment=b"vendor";' +
      'z.write(sys.argv[1],"cam.xml");z.close()';
    const r = spawnSync('python3', ['-c', script, path.join(dir, 'cam.xml'), path.join(dir, 'cam.zip')]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(unzipSingle(await readFile(path.join(dir, 'cam.zip')))).toEqual({ name: 'cam.xml', data: xml });
  });

  it('bounds the uncompressed size, whatever the archive declares', () => {
    const bomb = Buffer.alloc(4 * 1024 * 1024); // deflates to a few KB
    const zip = makeZip([{ name: 'bomb.xml', data: bomb }]);
    expect(zip.length).toBeLessThan(10_000);
    expect(() => unzipSingle(zip, { maxBytes: 1024 * 1024 })).toThrow(/more than the 1048576-byte limit/);
    // Lie in the central directory (claims 100 bytes): inflate stops at the bound, and the size check fails.
    const lying = Buffer.from(zip);
    const cd = lying.length - 22 - 46 - 'bomb.xml'.length;
    lying.writeUInt32LE(100, cd + 24);
    expect(() => unzipSingle(lying, { maxBytes: 1024 * 1024 })).toThrow(ZipError);
  });

  it('rejects damaged archives with a ZipError that names the file and a fix', () => {
    const zip = makeZip([{ name: 'a.xml', data: xml }]);
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('<?xml not a zip'),
      zip.subarray(0, zip.length - 10), // no EOCD
      zip.subarray(0, 100), // truncated data
    ];
    const badCrc = Buffer.from(zip);
    badCrc[40] ^= 0xff; // inside the deflate stream
    cases.push(badCrc);
    const badMethod = Buffer.from(zip);
    badMethod.writeUInt16LE(12, zip.length - 22 - 46 - 5 + 10); // bzip2
    cases.push(badMethod);
    for (const c of cases) {
      let err: unknown;
      try {
        unzipSingle(c, { what: 'camera 10.0.0.2 a.zip' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ZipError);
      expect(err).toBeInstanceOf(InspectdError);
      expect((err as ZipError).message).toMatch(/^camera 10\.0\.0\.2 a\.zip/);
      expect((err as ZipError).details.fix).toBeTruthy();
    }
  });

  it('fuzz: mutated archives only ever throw ZipError', () => {
    const next = rng(42);
    const base = makeZip([{ name: 'a.xml', data: xml }]);
    for (let i = 0; i < 2000; i++) {
      const m = Buffer.from(base);
      const flips = 1 + Math.floor(next() * 6);
      for (let k = 0; k < flips; k++) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
      try {
        const out = unzipSingle(m.subarray(0, next() < 0.2 ? Math.floor(next() * m.length) : m.length), {
          maxBytes: 1 << 20,
        });
        expect(out.data.length).toBeLessThanOrEqual(1 << 20);
      } catch (e) {
        if (!(e instanceof ZipError)) throw e;
      }
    }
  });

  it('computes CRC-32 like zlib', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });
});
