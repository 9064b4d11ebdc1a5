import { readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AttributeIds, MessageSecurityMode, OPCUAClient, SecurityPolicy } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { isInspectdError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/verdict.js';
import { sinkKinds, type SinkName } from '../../src/sinks/index.js';
import type { Sink } from '../../src/sinks/types.js';
import { tempDir } from '../helpers/fixtures.js';
import { testArtifacts, testLine, testVerdict } from '../helpers/line.js';
import { freePort, startMosquitto, subscriber, waitFor } from '../helpers/peers.js';

/**
 * One contract every sink kind passes, each against its real peer (mosquitto, the file system, a node-opcua
 * client, fetch): made by its table row from configuration settings; start; ready; a verdict is delivered
 * and counted in stats(); stop (twice is fine); and a failure is reported, either by start() naming the
 * setting and the fix, or by health()/stats() while the daemon goes on.
 */
interface Fixture {
  /** The kind's configuration section (defaults filled in by the real loader). */
  settings(): Promise<Record<string, unknown>>;
  /** Called before the verdict is published; resolves once it arrived where the sink delivers it. */
  watch(sink: Sink): Promise<(v: Verdict) => Promise<void>>;
  /** The stat that counts deliveries. */
  counter: string;
  /** Settings that break the sink; `start` says whether start() itself refuses. */
  broken(): Promise<{
    settings: Record<string, unknown>;
    start: 'rejects' | 'reports';
    cleanup?: () => void;
  }>;
  teardown?(): Promise<void>;
}

const section = (name: SinkName, s: Record<string, unknown>): Record<string, unknown> => {
  const file = path.join(tempDir('sink-config'), 'c.json');
  writeFileSync(file, JSON.stringify({ [name]: s }));
  return loadConfig(file, {})[name] as unknown as Record<string, unknown>;
};

/** A port something else listens on. */
async function takenPort(): Promise<{ port: number; close: () => void }> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as net.AddressInfo).port, close: () => s.close() };
}

let broker: Awaited<ReturnType<typeof startMosquitto>>;
let brokerUrl = '';
let archiveDir = '';

const fixtures: Record<SinkName, Fixture> = {
  mqtt: {
    settings: async () => section('mqtt', { url: brokerUrl, prefix: 'contract', statsIntervalSec: 0 }),
    watch: async () => {
      const sub = await subscriber(brokerUrl, ['contract/L1/cam1/verdict']);
      const ids = () => sub.messages.map((m) => (JSON.parse(m.payload) as { resultId: string }).resultId);
      return async (v) => {
        try {
          await waitFor(() => ids().includes(v.resultId), 'the verdict on MQTT');
        } finally {
          await sub.client.endAsync();
        }
      };
    },
    counter: 'published',
    broken: async () => ({
      settings: section('mqtt', { url: `mqtt://127.0.0.1:${await freePort()}`, statsIntervalSec: 0 }),
      start: 'reports',
    }),
  },
  archive: {
    settings: async () => section('archive', { dir: (archiveDir = path.join(tempDir('archive'), 'a')) }),
    // Written off the pipeline: stop() flushes, so the files are there once it resolves.
    watch: async (sink) => async (v) => {
      await sink.stop();
      const files = readdirSync(archiveDir, { recursive: true }) as string[];
      expect(files.filter((f) => f.includes(v.resultId)).length).toBe(3);
    },
    counter: 'written',
    broken: async () => {
      const file = path.join(tempDir('archive-broken'), 'not-a-folder');
      writeFileSync(file, 'a file where the archive folder should be');
      return { settings: section('archive', { dir: path.join(file, 'archive') }), start: 'rejects' };
    },
  },
  opcua: {
    settings: async () =>
      section('opcua', {
        enabled: true,
        port: await freePort(),
        securityModes: ['None'],
        securityPolicies: ['None'],
        allowAnonymous: true,
        pkiDir: path.join(tempDir('pki'), 'pki'),
      }),
    watch: async (sink) => async (v) => {
      const client = OPCUAClient.create({
        endpointMustExist: false,
        securityMode: MessageSecurityMode.None,
        securityPolicy: SecurityPolicy.None,
        connectionStrategy: { maxRetry: 1, initialDelay: 100, maxDelay: 200 },
      });
      await client.connect((sink as unknown as { endpointUrl: string }).endpointUrl);
      try {
        const session = await client.createSession();
        const read = await session.read({ nodeId: 'ns=1;s=cam1.ResultId', attributeId: AttributeIds.Value });
        expect(read.value.value).toBe(v.resultId);
        await session.close();
      } finally {
        await client.disconnect();
      }
    },
    counter: 'published',
    broken: async () => {
      const taken = await takenPort();
      return {
        settings: section('opcua', {
          enabled: true,
          port: taken.port,
          allowAnonymous: true,
          pkiDir: path.join(tempDir('pki'), 'pki'),
        }),
        start: 'rejects',
        cleanup: taken.close,
      };
    },
  },
  http: {
    settings: async () => section('http', { port: 0 }),
    watch: async (sink) => async (v) => {
      const url = (sink as unknown as { url: string }).url;
      const status = (await (await fetch(`${url}/api/status`)).json()) as {
        cameras: { recent: { resultId: string }[] }[];
      };
      expect(status.cameras[0].recent.map((x) => x.resultId)).toContain(v.resultId);
      const png = await fetch(`${url}/cameras/cam1/latest-heatmap.png`);
      expect(png.headers.get('content-type')).toBe('image/png');
    },
    counter: 'published',
    broken: async () => {
      const taken = await takenPort();
      return { settings: section('http', { port: taken.port }), start: 'rejects', cleanup: taken.close };
    },
  },
};

let t: Awaited<ReturnType<typeof testLine>>;

beforeAll(async () => {
  t = await testLine();
  const port = await freePort();
  broker = await startMosquitto(port);
  brokerUrl = `mqtt://127.0.0.1:${port}`;
});
afterAll(async () => {
  await broker?.stop();
  await t?.close();
});

describe.each(Object.keys(sinkKinds) as SinkName[])('sink contract: %s', (name) => {
  const f = fixtures[name];
  const make = (settings: Record<string, unknown>): Promise<Sink> =>
    sinkKinds[name].create(t.context(settings as never));

  it('starts, becomes ready, delivers a verdict, counts it, stops (twice is fine)', async () => {
    const settings = await f.settings();
    expect(sinkKinds[name].enabled(settings as never)).toBe(true);
    const sink = await make(settings);
    expect(sink.name).toBe(name);
    await sink.start();
    try {
      await waitFor(() => sink.health().ready, `${name} ready`);
      const before = sink.stats()[f.counter];
      const delivered = await f.watch(sink);
      const v = testVerdict(false);
      // As the line does it: the journal first, then every sink.
      sink.publish(v, testArtifacts, t.journal.append(v));
      await delivered(v);
      await waitFor(() => sink.stats()[f.counter] === before + 1, `${name} stats().${f.counter} + 1`);
      for (const x of Object.values(sink.stats())) expect(Number.isFinite(x)).toBe(true);
    } finally {
      await sink.stop();
      await sink.stop();
    }
  });

  it('reports a failure: start() names the setting and the fix, or health() says why while it runs', async () => {
    const b = await f.broken();
    const sink = await make(b.settings);
    try {
      if (b.start === 'rejects') {
        const e: unknown = await sink.start().then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isInspectdError(e), String(e)).toBe(true);
        if (isInspectdError(e)) {
          expect(e.details.subject).toMatch(new RegExp(`^${name}\\.`));
          expect(e.details.fix).toBeTruthy();
        }
      } else {
        await sink.start();
        const h = sink.health();
        expect(h.ready).toBe(false);
        expect(h.reason).toMatch(new RegExp(name));
        // Verdicts offered meanwhile are held or counted, never thrown back at the pipeline.
        const v = testVerdict(true);
        expect(() => sink.publish(v, testArtifacts, t.journal.append(v))).not.toThrow();
      }
    } finally {
      await sink.stop();
      b.cleanup?.();
    }
  });
});
