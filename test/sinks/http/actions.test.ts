import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { refuseAction } from '../../../src/sinks/http/actions.js';

/** A fake request (no socket): its peer address and headers. */
const request = (remoteAddress: string, headers: Record<string, string>) =>
  ({ socket: { remoteAddress }, headers }) as unknown as http.IncomingMessage;
const ok = { 'content-type': 'application/json', 'x-inspectd-action': '1' };

describe('who may take an operator action over HTTP (fake requests)', () => {
  it('the box itself, with the action header, in JSON', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect(refuseAction(request(a, ok))).toBeUndefined();
  });

  it('no other host: the answer says where recipes can be switched instead', () => {
    const r = refuseAction(request('10.0.0.5', ok));
    expect(r?.status).toBe(403);
    expect(JSON.stringify(r?.body)).toMatch(/10\.0\.0\.5.*MQTT or OPC UA/);
    expect(refuseAction(request('::ffff:192.168.1.9', ok))?.status).toBe(403);
  });

  it('no request without the header (what a page of another site would send), nor one that is not JSON', () => {
    expect(refuseAction(request('127.0.0.1', { 'content-type': 'application/json' }))?.status).toBe(403);
    expect(
      refuseAction(request('127.0.0.1', { 'x-inspectd-action': '1', 'content-type': 'text/plain' }))?.status,
    ).toBe(415);
  });
});
