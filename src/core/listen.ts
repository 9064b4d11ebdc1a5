import type { Server } from 'node:net';
import { InspectdError, messageOf } from './errors.js';

/**
 * Starts `server` listening; a port in use or an address not on this machine becomes an error that names the
 * setting and the fix, not a bare EADDRINUSE.
 */
export function listen(
  server: Server,
  host: string,
  port: number,
  what: { name: string; setting: string; fix: string },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (e: Error): void =>
      reject(
        new InspectdError(`${what.name} cannot listen on ${host}:${port}: ${messageOf(e)}`, {
          subject: what.setting,
          value: port,
          fix: what.fix,
        }),
      );
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** The port a listening server got (port 0 = any free one). */
export const boundPort = (server: Server | undefined, fallback: number): number => {
  const a = server?.address();
  return a && typeof a === 'object' ? a.port : fallback;
};
