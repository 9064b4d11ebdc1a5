/**
 * GigE Vision device discovery: DISCOVERY unicast to one address or broadcast on an interface, answers
 * collected for a while and deduplicated.
 */
import dgram from 'node:dgram';
import {
  DISCOVERY_ACK_SIZE,
  GVCP_PORT,
  GvcpCommand,
  decodeAck,
  decodeDiscoveryAck,
  encodeDiscoveryCmd,
  type DiscoveryInfo,
} from './gvcp.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface DiscoverOptions {
  /** How long to collect answers, ms. */
  timeoutMs: number;
  /** Unicast discovery of one device (the reliable way on loopback and across routers). */
  address?: string;
  /** Broadcast address when `address` is not given; 255.255.255.255 by default. */
  broadcast?: string;
  /** Local address to bind (the interface to discover on). */
  interfaceAddress?: string;
  /** Device port (3956). */
  port?: number;
}

export interface DiscoveredDevice extends DiscoveryInfo {
  /** Where the answer came from (may differ from `ip` for a device on another subnet). */
  address: string;
  port: number;
}

/**
 * Sends DISCOVERY (unicast to `address` or broadcast) and collects the acks for `timeoutMs`. The command is
 * sent twice (at 0 and at half the timeout) against a lost datagram; devices are deduplicated by MAC and IP.
 */
export async function discover(opts: DiscoverOptions): Promise<DiscoveredDevice[]> {
  const port = opts.port ?? GVCP_PORT;
  const target = opts.address ?? opts.broadcast ?? '255.255.255.255';
  const socket = dgram.createSocket('udp4');
  const found = new Map<string, DiscoveredDevice>();
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: 0, address: opts.interfaceAddress }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.setBroadcast(true);
    const reqId = 1 + Math.floor(Math.random() * 0xfffe);
    socket.on('message', (msg, rinfo) => {
      try {
        const ack = decodeAck(msg);
        if (ack.ackId !== reqId || ack.answer !== GvcpCommand.DISCOVERY_ACK) return;
        if (ack.payload.length < DISCOVERY_ACK_SIZE) return;
        const info = decodeDiscoveryAck(ack);
        const key = `${info.mac}/${info.ip}`;
        if (!found.has(key)) found.set(key, { ...info, address: rinfo.address, port: rinfo.port });
      } catch {
        // Not a discovery answer we can read: ignore it, as a host must.
      }
    });
    const packet = encodeDiscoveryCmd(reqId, { allowBroadcastAck: opts.address === undefined });
    const send = (): void => socket.send(packet, port, target, () => undefined);
    send();
    await sleep(opts.timeoutMs / 2);
    send();
    await sleep(opts.timeoutMs / 2);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  return [...found.values()];
}
