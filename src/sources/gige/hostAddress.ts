/**
 * Which of our IPv4 addresses a camera can stream to: the interface whose subnet holds the camera.
 */
import os from 'node:os';
import { InspectdError } from '../../core/errors.js';

export const ipv4ToUint = (ip: string): number | undefined => {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = v * 256 + Number(p);
  }
  return v;
};

export interface InterfaceAddress {
  name: string;
  address: string;
  netmask: string;
}

export function ipv4Interfaces(
  ifaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const [name, list] of Object.entries(ifaces))
    for (const a of list ?? [])
      if (a.family === 'IPv4') out.push({ name, address: a.address, netmask: a.netmask });
  return out;
}

/**
 * The local address on the camera's subnet (the camera must be able to send to it without a router, as GVSP
 * normally is). Throws with the interfaces found when none matches: the camera's IP or the host's is wrong.
 */
export function hostAddressFor(cameraIp: string, interfaces: InterfaceAddress[] = ipv4Interfaces()): string {
  const cam = ipv4ToUint(cameraIp);
  if (cam === undefined)
    throw new InspectdError(`"${cameraIp}" is not an IPv4 address`, { subject: 'address', value: cameraIp });
  if (cam >>> 24 === 127) return '127.0.0.1';
  for (const i of interfaces) {
    const a = ipv4ToUint(i.address);
    const m = ipv4ToUint(i.netmask);
    if (a === undefined || m === undefined || m === 0) continue;
    if ((a & m) >>> 0 === (cam & m) >>> 0 && a !== cam) return i.address;
  }
  throw new InspectdError(`no network interface of this host is on the subnet of GigE camera ${cameraIp}`, {
    subject: 'address',
    value: cameraIp,
    fix: `give the camera an address on one of these subnets, or set source.interfaceAddress: ${
      interfaces.map((i) => `${i.name} ${i.address}/${i.netmask}`).join(', ') || '(no IPv4 interface)'
    }`,
  });
}
