/**
 * The register space a GenICam node map reads and writes: a GigE Vision device over GVCP, or memory.
 */
import { InspectdError } from '../../../core/errors.js';
import type { GvcpClient } from '../gvcpClient.js';

export interface RegisterPort {
  read(address: number, length: number): Promise<Buffer>;
  write(address: number, data: Buffer): Promise<void>;
}

/**
 * A GvcpClient as a RegisterPort: aligned 4-byte accesses go through READREG/WRITEREG (which every device
 * supports), anything else through READMEM/WRITEMEM.
 */
export function gvcpPort(client: GvcpClient): RegisterPort {
  return {
    async read(address, length) {
      if (length === 4 && address % 4 === 0) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE((await client.readRegister(address)) >>> 0, 0);
        return b;
      }
      return client.readMemory(address, length);
    },
    async write(address, data) {
      if (data.length === 4 && address % 4 === 0) return client.writeRegister(address, data.readUInt32BE(0));
      return client.writeMemory(address, data);
    },
  };
}

/** An in-memory register file: a sparse byte map (unwritten bytes read 0), with a log of accesses. */
export class MemoryPort implements RegisterPort {
  private readonly bytes = new Map<number, number>();
  readonly log: { op: 'read' | 'write'; address: number; length: number }[] = [];
  /** Addresses (start, length) that fail with an error, to simulate missing registers. */
  readonly forbidden: { address: number; length: number }[] = [];

  private check(address: number, length: number): void {
    for (const f of this.forbidden)
      if (address < f.address + f.length && f.address < address + length)
        throw new InspectdError(`register 0x${address.toString(16)} does not exist`, { subject: 'register' });
  }

  async read(address: number, length: number): Promise<Buffer> {
    this.log.push({ op: 'read', address, length });
    this.check(address, length);
    const b = Buffer.alloc(length);
    for (let i = 0; i < length; i++) b[i] = this.bytes.get(address + i) ?? 0;
    return b;
  }

  async write(address: number, data: Buffer): Promise<void> {
    this.log.push({ op: 'write', address, length: data.length });
    this.check(address, data.length);
    for (let i = 0; i < data.length; i++) this.bytes.set(address + i, data[i]);
  }

  /** Direct (unlogged) access for test setup and inspection. */
  set(address: number, data: Buffer): void {
    for (let i = 0; i < data.length; i++) this.bytes.set(address + i, data[i]);
  }
  get(address: number, length: number): Buffer {
    const b = Buffer.alloc(length);
    for (let i = 0; i < length; i++) b[i] = this.bytes.get(address + i) ?? 0;
    return b;
  }
  setU32BE(address: number, v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0, 0);
    this.set(address, b);
  }
  getU32BE(address: number): number {
    return this.get(address, 4).readUInt32BE(0);
  }
}
