import type http from 'node:http';

/** A live view that does not read (a stalled tab, a frozen client) is dropped before its backlog grows past this. */
const MAX_BACKLOG_BYTES = 1 << 20;

/**
 * Server-Sent Events to the live views: every verdict and the line's status as they happen, so pages update
 * without polling or reloads. At most `maxClients` streams at once; a client that stops reading is dropped,
 * so no browser can hold the daemon's memory.
 */
export class EventHub {
  private readonly clients = new Set<http.ServerResponse>();
  private dropped = 0;
  private refused = 0;

  constructor(private readonly maxClients: number) {}

  /** Opens a stream on `res` and sends `hello` first; answers 503 when `maxClients` are open. */
  open(req: http.IncomingMessage, res: http.ServerResponse, hello: [string, unknown][]): void {
    if (this.clients.size >= this.maxClients) {
      this.refused++;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' });
      res.end(
        `${this.maxClients} live views are open, the most http.maxLiveViews allows: close one, or raise it\n`,
      );
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    // The browser reconnects by itself after a daemon restart; 2 s keeps that quick without hammering.
    res.write('retry: 2000\n\n');
    for (const [event, data] of hello) res.write(frame(event, data));
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
  }

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const msg = frame(event, data);
    for (const c of this.clients) {
      if (c.writableLength > MAX_BACKLOG_BYTES) {
        this.dropped++;
        this.clients.delete(c);
        c.destroy();
        continue;
      }
      c.write(msg);
    }
  }

  /** Streams open now. */
  get size(): number {
    return this.clients.size;
  }

  /** A comment line: keeps idle streams open through proxies, and finds closed ones. */
  ping(): void {
    for (const c of this.clients) c.write(': ping\n\n');
  }

  close(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  stats(): { liveViews: number; liveViewsDropped: number; liveViewsRefused: number } {
    return { liveViews: this.clients.size, liveViewsDropped: this.dropped, liveViewsRefused: this.refused };
  }
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
