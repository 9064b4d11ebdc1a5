import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { heatScale, overlayHeatmap } from '../core/heatmap.js';
import { InspectdError, messageOf } from '../core/errors.js';
import type { CameraPipeline } from '../pipeline/cameraPipeline.js';
import type { Metrics } from './metrics.js';
import { renderStatusPage, type CameraStatus } from './statusPage.js';

export interface HttpDeps {
  metrics: Metrics;
  pipelines: () => CameraPipeline[];
  /** Readiness and the reasons when not ready. */
  readiness: () => { ready: boolean; reasons: string[] };
  cameraStatus: () => CameraStatus[];
}

/** /healthz, /readyz, /metrics, the status page and the latest frame and heatmap of each camera. */
export class HttpServer {
  private server?: http.Server;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly deps: HttpDeps,
    private readonly log: Logger,
  ) {}

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    return `http://${this.host}:${a?.port ?? this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.route(req, res).catch((e: unknown) => {
        this.log.warn({ url: req.url, err: messageOf(e) }, `HTTP ${req.url}: ${messageOf(e)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new InspectdError(`HTTP server cannot listen on ${this.host}:${this.port}: ${messageOf(e)}`, {
            subject: 'http.port',
            value: this.port,
            fix: 'choose a free http.port (0 = any)',
          }),
        ),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.log.info(
      { url: this.url },
      `status page on ${this.url}/ (health /healthz, readiness /readyz, metrics /metrics)`,
    );
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, type: string, body: string | Buffer): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (url.pathname === '/readyz') {
      const r = this.deps.readiness();
      return send(
        r.ready ? 200 : 503,
        'text/plain',
        r.ready ? 'ready\n' : `not ready: ${r.reasons.join('; ')}\n`,
      );
    }
    if (url.pathname === '/metrics')
      return send(200, this.deps.metrics.registry.contentType, await this.deps.metrics.registry.metrics());
    if (url.pathname === '/api/status')
      return send(
        200,
        'application/json',
        JSON.stringify({ readiness: this.deps.readiness(), cameras: this.deps.cameraStatus() }),
      );
    if (url.pathname === '/')
      return send(
        200,
        'text/html; charset=utf-8',
        renderStatusPage(this.deps.cameraStatus(), this.deps.readiness()),
      );
    const m = /^\/cameras\/([^/]+)\/(latest|latest-ng)(-heatmap)?\.png$/.exec(url.pathname);
    if (m) {
      const p = this.deps.pipelines().find((x) => x.settings.cameraId === decodeURIComponent(m[1]));
      const last = m[2] === 'latest' ? p?.last : p?.lastNg;
      if (!p || !last) return send(404, 'text/plain', 'no frame yet\n');
      const { width, height } = last.image;
      let pixels: Buffer = last.image.data;
      if (m[3]) {
        const { lo, hi } = heatScale(last.verdict.threshold, p.calibrationMin);
        pixels = overlayHeatmap(last.image.data, last.map, lo, hi);
      }
      return send(
        200,
        'image/png',
        await sharp(pixels, { raw: { width, height, channels: 3 } })
          .png()
          .toBuffer(),
      );
    }
    send(404, 'text/plain', 'not found\n');
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
