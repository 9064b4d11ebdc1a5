import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { messageOf } from '../../core/errors.js';
import { overlayHeatmap } from '../../core/heatmap.js';
import { boundPort, listen } from '../../core/listen.js';
import { parseResultsQuery, resultsCsv, withMarks } from '../../core/resultsQuery.js';
import type { Infer } from '../../core/settings.js';
import type { Verdict, VerdictArtifacts } from '../../core/verdict.js';
import type { Sink, SinkContext, SinkHealth } from '../types.js';
import type { httpSettings } from './settings.js';
import { loadUsers } from '../../core/users.js';
import { Access, isLoopback } from './access.js';
import { markVerdict, setThreshold, switchRecipe, type ActionAnswer } from './actions.js';
import { EventHub } from './events.js';
import { reviewAnswer } from './review.js';

export type HttpSettings = Infer<typeof httpSettings>;

interface Shown {
  verdict: Verdict;
  artifacts: VerdictArtifacts;
}

/** Operator changes in /api/audit, newest first. */
const AUDIT_SHOWN = 200;

/** Recent verdicts per camera in /api/status. */
const RECENT = 10;
/** The live views get the line's status this often, and a keep-alive comment every PING_EVERY of them. */
const STATUS_EVERY_MS = 2000;
const PING_EVERY = 8;

/**
 * The web UI's files, read once: the page, its script and style (beside this module, copied into dist by the
 * build) and uPlot from its package. Served from memory under fixed names; nothing else of the disk is reachable.
 */
function uiAssets(): Map<string, { type: string; body: Buffer }> {
  const here = (f: string) => readFileSync(new URL(`./ui/${f}`, import.meta.url));
  const uplot = (f: string) => readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${f}`));
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: here('index.html') }],
    ['/ui/app.js', { type: 'text/javascript; charset=utf-8', body: here('app.js') }],
    ['/ui/review.js', { type: 'text/javascript; charset=utf-8', body: here('review.js') }],
    ['/ui/access.js', { type: 'text/javascript; charset=utf-8', body: here('access.js') }],
    ['/ui/style.css', { type: 'text/css; charset=utf-8', body: here('style.css') }],
    ['/ui/uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', body: uplot('uPlot.iife.min.js') }],
    ['/ui/uPlot.min.css', { type: 'text/css; charset=utf-8', body: uplot('uPlot.min.css') }],
  ]);
}

/**
 * The local HTTP surface as a sink: /healthz, /readyz, /metrics, /api/status, /api/results, /api/yield, the
 * live web UI (/, fed by Server-Sent Events on /api/events), and each camera's latest frame and latest NG with
 * their heatmaps (the only pictures it keeps: two per camera). Reading is open; operator actions and logins
 * are access.ts's.
 */
export class HttpSink implements Sink {
  readonly name = 'http';
  private server?: http.Server;
  private readonly latest = new Map<string, { last?: Shown; lastNg?: Shown }>();
  private published = 0;
  private requests = 0;
  private errors = 0;
  private readonly s: HttpSettings;
  private readonly hub: EventHub;
  private readonly access: Access;
  private readonly assets = uiAssets();
  private timer?: NodeJS.Timeout;

  constructor(private readonly ctx: SinkContext<HttpSettings>) {
    this.s = ctx.settings;
    this.hub = new EventHub(this.s.maxLiveViews);
    // Read once: a user added to the file takes effect at the next start (which also ends every login).
    const users = this.s.usersFile
      ? loadUsers(this.s.usersFile, 'http.usersFile')
      : new Map<string, string>();
    this.access = new Access(
      {
        users,
        logins: users.size > 0,
        localActionsWithoutLogin: this.s.localActionsWithoutLogin,
        idleMs: this.s.sessionIdleSec * 1000,
      },
      ctx.log,
    );
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
    let ticks = 0;
    this.timer = setInterval(() => {
      if (this.hub.size > 0) this.hub.send('status', this.ctx.control.status());
      if (++ticks % PING_EVERY === 0) this.hub.ping();
    }, STATUS_EVERY_MS);
    this.timer.unref();
    this.ctx.log.info(
      { url: this.url },
      `web UI on ${this.url}/ (health /healthz, readiness /readyz, metrics /metrics); ${this.accessSummary()}`,
    );
  }

  publish(verdict: Verdict, { camera: _camera, ...artifacts }: VerdictArtifacts): void {
    // The pictures here are the recipe's view: holding on to the camera's (possibly megapixel) frame would not
    // show anything more.
    const shown = { verdict, artifacts };
    const cam = this.latest.get(verdict.cameraId) ?? {};
    cam.last = shown;
    if (!verdict.ok) cam.lastNg = shown;
    this.latest.set(verdict.cameraId, cam);
    this.published++;
    this.hub.send('verdict', verdict);
  }

  /** Who may act, in one sentence for the start-up log. */
  private accessSummary(): string {
    const s = this.s;
    const remote = !isLoopback(s.host) && s.host !== 'localhost';
    if (s.usersFile)
      return `operator actions from this box ${s.localActionsWithoutLogin ? 'without' : 'with'} a login, from other hosts with a login (users of ${s.usersFile})`;
    if (!s.localActionsWithoutLogin)
      return 'no operator actions in the web UI (http.localActionsWithoutLogin is false and http.usersFile is empty)';
    return `operator actions only from this box (no logins: http.usersFile is empty)${remote ? '; other hosts may only read' : ''}`;
  }

  health(): SinkHealth {
    return this.server?.listening ? { ready: true } : { ready: false, reason: 'http not listening' };
  }

  stats(): Record<string, number> {
    return {
      published: this.published,
      requests: this.requests,
      errors: this.errors,
      ...this.hub.stats(),
      ...this.access.stats(),
    };
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, type: string, body: string | Buffer, headers = {}): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    try {
      decodeURIComponent(url.pathname);
    } catch {
      // A stray '%' would otherwise throw in a route below and answer 500.
      return send(400, 'text/plain', `malformed %-escape in the path ${url.pathname}: escape '%' as %25\n`);
    }
    const answer = (a: ActionAnswer): void =>
      send(a.status, 'application/json', JSON.stringify(a.body), a.headers);
    // The operator actions and the logins; everything else is read-only (Node leaves the body out of HEAD
    // answers itself).
    const action = /^\/api\/cameras\/([^/]+)\/(recipe|threshold)$/.exec(url.pathname);
    const marking = /^\/api\/results\/([^/]+)\/mark$/.exec(url.pathname);
    const posts = action || marking || url.pathname === '/api/login' || url.pathname === '/api/logout';
    if (posts && req.method === 'POST') {
      if (url.pathname === '/api/login') return answer(await this.access.login(req));
      if (url.pathname === '/api/logout') return answer(this.access.logout(req));
      const actor = this.access.permit(req);
      if ('status' in actor) return answer(actor);
      if (marking) return answer(await markVerdict(req, marking[1], this.ctx.control, actor));
      const camera = decodeURIComponent(action![1]);
      return answer(
        action![2] === 'recipe'
          ? await switchRecipe(req, camera, this.ctx.control, this.ctx.log, actor)
          : await setThreshold(req, camera, this.ctx.control, actor),
      );
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', posts ? 'POST' : 'GET, HEAD');
      return send(405, 'text/plain', `${req.method} not allowed: ${posts ? 'POST' : 'GET or HEAD'}\n`);
    }
    if (url.pathname === '/api/session') return answer(this.access.session(req));
    if (url.pathname === '/api/audit')
      return send(200, 'application/json', JSON.stringify(this.ctx.control.auditTrail(AUDIT_SHOWN)));
    if (url.pathname === '/api/recipes')
      return send(200, 'application/json', JSON.stringify(await this.ctx.control.recipes()));
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
    if (url.pathname === '/api/yield') return this.yield(url, send);
    const review = await reviewAnswer(url.pathname, this.ctx.journal, this.ctx.control);
    if (review) return send(review.status, review.type, review.body);
    if (url.pathname === '/api/events')
      return this.hub.open(req, res, [['status', this.ctx.control.status()]]);
    const asset = this.assets.get(url.pathname);
    if (asset) {
      // The UI loads only what the daemon serves: no CDN, and nothing injected can load more.
      res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' data:");
      return send(200, asset.type, asset.body);
    }
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
    // Each verdict with its operator's mark, where it has one (the NG review lists them).
    const listed = withMarks(verdicts, this.ctx.journal.marks(verdicts.map((v) => v.resultId)));
    if (params.format === 'csv') return send(200, 'text/csv; charset=utf-8', resultsCsv(listed));
    send(
      200,
      'application/json',
      JSON.stringify({ total, offset: q.offset, limit: q.limit, verdicts: listed }),
    );
  }

  /** OK and NG per hour of one camera since `from` (epoch ms; default the last 24 h), from the journal. */
  private yield(url: URL, send: (code: number, type: string, body: string) => void): void {
    const camera = url.searchParams.get('camera') ?? '';
    if (!this.ctx.control.cameras.includes(camera))
      return send(
        404,
        'text/plain',
        `camera=${JSON.stringify(camera)} is not a camera of this line; cameras: ${this.ctx.control.cameras.join(', ')}\n`,
      );
    const raw = url.searchParams.get('from');
    const from = raw === null ? Date.now() - 24 * 3600 * 1000 : Number(raw);
    if (!Number.isFinite(from))
      return send(400, 'text/plain', `from=${JSON.stringify(raw)}: give a time in epoch milliseconds\n`);
    send(200, 'application/json', JSON.stringify(this.ctx.journal.hourly(camera, from)));
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
    clearInterval(this.timer);
    this.hub.close();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

async function picture({ verdict, artifacts: a }: Shown, heat: boolean): Promise<Buffer> {
  const { width, height } = a.image;
  const { lo, hi } = verdict.heatScale;
  const pixels = heat ? overlayHeatmap(a.image, a.map, lo, hi) : a.image.data;
  return sharp(pixels, { raw: { width, height, channels: heat ? 3 : a.image.channels } })
    .png()
    .toBuffer();
}
