import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import zlib from 'node:zlib';
import { GVCP_PORT, decodeCommand, encodeAck, type GvcpCommandPacket } from '../../src/sources/gige/gvcp.js';
import { discover } from '../../src/sources/gige/discovery.js';
import { crc32 } from '../../src/sources/gige/zip.js';

export const ARAVIS_FAKE_CAMERA = process.env.ARV_FAKE_GV_CAMERA ?? 'arv-fake-gv-camera-0.8';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether Aravis's fake GigE camera can be run here (apt: aravis-tools). */
export function aravisFakeCameraAvailable(): boolean {
  const r = spawnSync(ARAVIS_FAKE_CAMERA, ['--help'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

export async function until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export interface RunningFakeCamera {
  proc: ChildProcess;
  ip: string;
  serial: string;
  output(): string;
  /** SIGTERM, then SIGKILL if it lingers; resolves when the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts `arv-fake-gv-camera-0.8 -i <ip>` and waits (by unicast discovery, with a deadline) until it answers.
 * It binds UDP 3956 on that address: one at a time per address.
 */
export async function startAravisFakeCamera(
  opts: { ip?: string; serial?: string; genicam?: string; deadlineMs?: number } = {},
): Promise<RunningFakeCamera> {
  const ip = opts.ip ?? '127.0.0.1';
  const serial = opts.serial ?? `INSPECTD${process.pid % 10000}`;
  const args = ['-i', ip, '-s', serial, ...(opts.genicam ? ['-g', opts.genicam] : [])];
  const proc = spawn(ARAVIS_FAKE_CAMERA, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  // Never leave a camera bound to UDP 3956 behind, even when the test process dies without afterAll.
  const killOnExit = (): void => void proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exited) return;
    proc.kill('SIGTERM');
    const killTimer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exit;
    clearTimeout(killTimer);
  };
  const end = Date.now() + (opts.deadlineMs ?? 15_000);
  for (;;) {
    if (exited)
      throw new Error(
        `${ARAVIS_FAKE_CAMERA} ${args.join(' ')} exited at start (is another fake camera holding UDP ${ip}:3956?): ${out}`,
      );
    const found = await discover({ address: ip, timeoutMs: 300 });
    if (found.some((d) => d.serial === serial)) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`${ARAVIS_FAKE_CAMERA} on ${ip} did not answer discovery: ${out}`);
    }
  }
  return { proc, ip, serial, output: () => out, stop };
}

/**
 * A scripted GVCP device on a random loopback port: each command goes to `handler`, which returns the
 * datagrams to send back (none = a lost packet). For retry, PENDING_ACK and hostile-ack tests.
 */
export class ScriptedDevice {
  readonly received: GvcpCommandPacket[] = [];
  closed = false;
  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {}

  static async start(
    handler: (
      cmd: GvcpCommandPacket,
      n: number,
      send: (reply: Buffer) => void,
    ) => Buffer[] | Promise<Buffer[]>,
  ): Promise<ScriptedDevice> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const dev = new ScriptedDevice(socket, socket.address().port);
    socket.on('message', (msg, rinfo) => {
      let cmd: GvcpCommandPacket;
      try {
        cmd = decodeCommand(msg);
      } catch {
        return;
      }
      dev.received.push(cmd);
      const send = (reply: Buffer): void => {
        if (!dev.closed) socket.send(reply, rinfo.port, rinfo.address);
      };
      void Promise.resolve(handler(cmd, dev.received.length, send)).then(async (replies) => {
        for (const r of replies) {
          send(r);
          await sleep(1);
        }
      });
    });
    return dev;
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** A success ack for `cmd` with `payload`. */
export const ackFor = (cmd: GvcpCommandPacket, payload: Buffer, status = 0): Buffer =>
  encodeAck({ status, answer: cmd.command + 1, ackId: cmd.reqId, payload });

export { GVCP_PORT };

/** A ZIP archive (stored or deflated entries), the layout `zip` writes, for the unzip tests. */
export function makeZip(entries: { name: string; data: Buffer; method?: 0 | 8 }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const comp = method === 8 ? zlib.deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(comp.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(comp.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, comp);
    centrals.push(central, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
