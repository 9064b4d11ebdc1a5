import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from './peers.js';
import { ROOT } from './paths.js';

export interface RtspServerOptions {
  /** Default: a free loopback port. Give the old one to restart a server in place. */
  port?: number;
  /** Mount path, default /cam. */
  path?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** x264 bit rate in kbit/s; default x264's. */
  bitrate?: number;
  /** Basic auth: the server then refuses clients without these. */
  user?: string;
  password?: string;
}

export interface RtspServer {
  port: number;
  path: string;
  /** rtsp://127.0.0.1:port/path, credentials included when the server has them. */
  url: string;
  proc: ChildProcess;
  /** SIGTERM, resolved when the process is gone. */
  stop(): Promise<void>;
}

const SCRIPT = path.join(ROOT, 'test', 'helpers', 'rtsp_server.py');

/**
 * A real RTSP camera on loopback: gst-rtsp-server (through python3-gi, Debian's packages) serving an H.264
 * test pattern, each client its own encoder. Resolves once the server listens.
 */
export async function startRtspServer(o: RtspServerOptions = {}): Promise<RtspServer> {
  const port = o.port ?? (await freePort());
  const mount = o.path ?? '/cam';
  const args = [SCRIPT, '--port', String(port), '--path', mount];
  for (const [k, v] of [
    ['width', o.width],
    ['height', o.height],
    ['fps', o.fps],
    ['bitrate', o.bitrate],
    ['user', o.user],
    ['password', o.password],
  ] as const)
    if (v !== undefined) args.push(`--${k}`, String(v));
  // /usr/bin/python3: Debian's python, the one python3-gi is installed for.
  const proc = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`RTSP test server did not start in 20 s: ${err}`));
    }, 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY ')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`RTSP test server exited (${code}) before it was ready: ${err}`));
    });
  });
  const auth =
    o.user !== undefined ? `${encodeURIComponent(o.user)}:${encodeURIComponent(o.password ?? '')}@` : '';
  return {
    port,
    path: mount,
    url: `rtsp://${auth}127.0.0.1:${port}${mount}`,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
