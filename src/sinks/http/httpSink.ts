import http from 'node:http';
import sharp from 'sharp';
import { messageOf } from '../../core/errors.js';
import { overlayHeatmap } from '../../core/heatmap.js';
import { boundPort, listen } from '../../core/listen.js';
import { parseResultsQuery, resultsCsv } from '../../core/resultsQuery.js';
import type { Infer } from '../../core/settings.js';
import type { Verdict, VerdictArtifacts } from '../../core/verdict.js';
import type { Sink, SinkContext, SinkHealth } from '../types.js';
import type { httpSettings } from './settings.js';
import { renderStatusPage } from './statusPage.js';

export type HttpSettings = Infer<typeof httpSettings>;

interface Shown {
  verdict: Verdict;
  artifacts: VerdictArtifacts;
}

/** Recent verdicts per camera on the status page. */
const RECENT = 10;

/**
 * The local HTTP surface as a sink: /healthz, /readyz, /metrics, /api/status, the status page, and each
 * camera's latest frame and latest NG with their heatmaps (the only pictures it keeps: two per camera).
 */
export class HttpSink implements Sink {
  readonly name = 'http';
  private server?: http.Server;
  private readonly latest = new Map<string, { last?: Shown; lastNg?: Shown }>();
  private published = 0;
  private requests = 0;
  private errors = 0;
  private readonly s: HttpSettings;

  constructor(private readonly ctx: SinkContext<HttpSettings>) {
    this.s = ctx.settings;
  }

  get url(): string {
    return `http://${this.s.host}:${boundPort(this.server, this.s.port)}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.requests++;
      this.route(req, res).catch((e: unknown) => {
        this.errors++;
        this.ctx.log.warn({ url: req.url, err: messageOf(e) }, `HTTP ${req.url}: ${messageOf(e)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.server = server;
    await listen(server, this.s.host, this.s.port, {
      name: 'HTTP server',
      setting: 'http.port',
      fix: 'choose a free http.port (0 = any)',
    });
    this.ctx.log.info(
      { url: this.url },
      `status page on ${this.url}/ (health /healthz, readiness /readyz, metrics /metrics)`,
    );
  }

  publish(verdict: Verdict, artifacts: VerdictArtifacts): void {
    const shown = { verdict, artifacts };
    const cam = this.latest.get(verdict.cameraId) ?? {};
    cam.last = shown;
    if (!verdict.ok) cam.lastNg = shown;
    this.latest.set(verdict.cameraId, cam);
    this.published++;
  }

  health(): SinkHealth {
    return this.server?.listening ? { ready: true } : { ready: false, reason: 'http not listening' };
  }

  stats(): Record<string, number> {
    return { published: this.published, requests: this.requests, errors: this.errors };
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, type: string, body: string | Buffer): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    // Everything here is read-only (Node leaves the body out of HEAD answers itself).
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, 'text/plain', `${req.method} not allowed: GET or HEAD\n`);
    }
    if (url.pathname === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (url.pathname === '/readyz') {
      const r = this.ctx.control.status().readiness;
      return send(
        r.ready ? 200 : 503,
        'text/plain',
        r.ready ? 'ready\n' : `${r.state}: ${r.reasons.join('; ')}\n`,
      );
    }
    if (url.pathname === '/metrics') {
      this.ctx.metrics.update(this.ctx.control.status());
      return send(200, this.ctx.metrics.registry.contentType, await this.ctx.metrics.registry.metrics());
    }
    if (url.pathname === '/api/status') return send(200, 'application/json', JSON.stringify(this.status()));
    if (url.pathname === '/api/results') return this.results(url, send);
    if (url.pathname === '/') return send(200, 'text/html; charset=utf-8', renderStatusPage(this.status()));
    const m = /^\/cameras\/([^/]+)\/(latest|latest-ng)(-heatmap)?\.png$/.exec(url.pathname);
    if (m) {
      const cam = this.latest.get(decodeURIComponent(m[1]));
      const shown = m[2] === 'latest' ? cam?.last : cam?.lastNg;
      if (!shown) return send(404, 'text/plain', 'no frame yet\n');
      return send(200, 'image/png', await picture(shown, m[3] !== undefined));
    }
    send(404, 'text/plain', 'not found\n');
  }

  /** The traceability query: verdicts from the journal, newest first, as JSON (or CSV with format=csv). */
  private results(url: URL, send: (code: number, type: string, body: string) => void): void {
    const params = Object.fromEntries(url.searchParams);
    const q = parseResultsQuery(params);
    if ('problems' in q) return send(400, 'text/plain', `${q.problems.join('\n')}\n`);
    const { verdicts, total } = this.ctx.journal.query(q.filter, q.offset, q.limit);
    if (params.format === 'csv') return send(200, 'text/csv; charset=utf-8', resultsCsv(verdicts));
    send(200, 'application/json', JSON.stringify({ total, offset: q.offset, limit: q.limit, verdicts }));
  }

  /** The line's status with each camera's recent verdicts and latest NG. */
  private status() {
    const s = this.ctx.control.status();
    return {
      ...s,
      cameras: s.cameras.map((c) => ({
        ...c,
        recent: this.ctx.journal.query({ camera: c.id }, 0, RECENT).verdicts,
        lastNg: this.latest.get(c.id)?.lastNg?.verdict.resultId,
      })),
    };
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export type StatusView = ReturnType<HttpSink['status']>;

async function picture({ verdict, artifacts: a }: Shown, heat: boolean): Promise<Buffer> {
  const { width, height } = a.image;
  const { lo, hi } = verdict.heatScale;
  const map = { data: a.map, width: a.mapWidth, height: a.mapHeight };
  const pixels = heat ? overlayHeatmap(a.image, map, lo, hi) : a.image.data;
  return sharp(pixels, { raw: { width, height, channels: heat ? 3 : a.image.channels } })
    .png()
    .toBuffer();
}
