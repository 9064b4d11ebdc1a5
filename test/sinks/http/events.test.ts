import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { EventHub } from '../../../src/sinks/http/events.js';

/** A fake response (no socket): what was written, and a backlog the test sets, as a stalled client has. */
class FakeResponse {
  status = 0;
  body = '';
  writableLength = 0;
  destroyed = false;
  ended = false;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(s: string): boolean {
    this.body += s;
    return true;
  }
  end(s = ''): void {
    this.body += s;
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const client = (hub: EventHub) => {
  const req = new EventEmitter();
  const res = new FakeResponse();
  hub.open(req as http.IncomingMessage, res as unknown as http.ServerResponse, [['status', { n: 1 }]]);
  return { req, res };
};

describe('EventHub (fake responses)', () => {
  it('greets with the status, then sends every event to every open stream', () => {
    const hub = new EventHub(4);
    const a = client(hub);
    const b = client(hub);
    hub.send('verdict', { ok: true });
    for (const c of [a, b]) {
      expect(c.res.status).toBe(200);
      expect(c.res.body).toBe(
        'retry: 2000\n\nevent: status\ndata: {"n":1}\n\nevent: verdict\ndata: {"ok":true}\n\n',
      );
    }
  });

  it('drops a stream that stopped reading, and forgets one whose client left', () => {
    const hub = new EventHub(4);
    const stalled = client(hub);
    const gone = client(hub);
    stalled.res.writableLength = 2 << 20;
    gone.req.emit('close');
    hub.send('verdict', {});
    expect(stalled.res.destroyed).toBe(true);
    expect(gone.res.body).not.toContain('verdict');
    expect(hub.stats()).toEqual({ liveViews: 0, liveViewsDropped: 1, liveViewsRefused: 0 });
  });

  it('refuses streams beyond its limit with 503 and the setting to raise', () => {
    const hub = new EventHub(1);
    client(hub);
    const late = client(hub);
    expect(late.res.status).toBe(503);
    expect(late.res.body).toContain('http.maxLiveViews');
    expect(hub.stats().liveViewsRefused).toBe(1);
  });
});
