/**
 * GVSP packet size check with the camera's test packet: writing SCPS with the "fire test packet" bit makes the
 * camera send one datagram of the packet size with "do not fragment" set. If it arrives whole, every link on
 * the way carries that size; if not (an MTU below it, a NIC without jumbo frames), the stream would lose
 * every full packet, so the largest size that passes is searched for.
 */
import type dgram from 'node:dgram';
import { IP_UDP_OVERHEAD } from './gvsp.js';
import type { GvcpClient } from './gvcpClient.js';

export const MIN_PACKET_SIZE = 576;

export interface PacketSizeRegisters {
  /** SCPS of the channel (bootstrap 0x0d04 + channel stride). */
  scps: number;
  /** Flags kept in every SCPS write (do not fragment...). */
  flags: number;
}

const FIRE_TEST_PACKET = 0x80000000;

/** Fires one test packet of `size` and resolves whether it arrived (UDP payload = size - IP/UDP headers). */
export async function fireTestPacket(
  client: GvcpClient,
  socket: dgram.Socket,
  regs: PacketSizeRegisters,
  size: number,
  timeoutMs: number,
): Promise<boolean> {
  const want = size - IP_UDP_OVERHEAD;
  return new Promise<boolean>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(ok);
    };
    function onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
      if (rinfo.address === client.host && msg.length === want) done(true);
    }
    socket.on('message', onMessage);
    client
      .writeRegister(regs.scps, (FIRE_TEST_PACKET | regs.flags | size) >>> 0)
      .then(() => (timer = setTimeout(() => done(false), timeoutMs)))
      .catch((e: unknown) => {
        socket.off('message', onMessage);
        reject(e instanceof Error ? e : new Error(String(e)));
      });
  });
}

export interface PacketSizeResult {
  size: number;
  /** 'confirmed': the size passed; 'reduced': the wanted size did not, this is the largest that did;
   *  'untested': the camera sent no test packet at any size (many do not implement it). */
  outcome: 'confirmed' | 'reduced' | 'untested';
  tests: number;
}

/**
 * The largest size in [MIN_PACKET_SIZE, wanted] whose test packet arrives: the wanted size first (one test on a
 * healthy network), then the minimum (a camera without test packets costs two), then a binary search on
 * 4-byte steps.
 */
export async function negotiatePacketSize(
  fire: (size: number) => Promise<boolean>,
  wanted: number,
): Promise<PacketSizeResult> {
  let tests = 1;
  if (await fire(wanted)) return { size: wanted, outcome: 'confirmed', tests };
  tests++;
  if (wanted <= MIN_PACKET_SIZE || !(await fire(MIN_PACKET_SIZE)))
    return { size: wanted, outcome: 'untested', tests };
  let lo = MIN_PACKET_SIZE; // passes
  let hi = wanted; // fails
  while (hi - lo > 4) {
    const mid = lo + Math.floor((hi - lo) / 8) * 4;
    tests++;
    if (await fire(mid)) lo = mid;
    else hi = mid;
  }
  return { size: lo, outcome: 'reduced', tests };
}
