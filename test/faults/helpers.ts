import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { SqliteJournal } from '../../src/journal/journal.js';
import { tempDir } from '../helpers/fixtures.js';
import { demoConfig } from '../helpers/line.js';
import { freePort, startDaemon, startMosquitto, waitFor } from '../helpers/peers.js';

/** A plant's broker: mosquitto keeping sessions and queued messages on disk across its restarts. */
export async function plantBroker() {
  const port = await freePort();
  const store = tempDir('mosquitto-store');
  // mosquitto started as root writes as its own user.
  chmodSync(store, 0o777);
  let broker = await startMosquitto(port, store);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: () => broker.stop(),
    restart: async () => {
      broker = await startMosquitto(port, store);
    },
  };
}

/**
 * A subscriber with a persistent session (the broker queues for it while it is away), counting verdicts by
 * resultId as a plant's MES would.
 */
export async function countingSubscriber(url: string, topic: string) {
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: `fault-sub-${process.pid}-${Math.random().toString(16).slice(2)}`,
    clean: false,
    reconnectPeriod: 300,
  });
  const ids = new Set<string>();
  let messages = 0;
  client.on('message', (_t, payload) => {
    messages++;
    ids.add((JSON.parse(payload.toString()) as { resultId: string }).resultId);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return { ids, messages: () => messages, close: () => client.endAsync(true) };
}

/** A daemon configuration: one sim camera on the demo recipe, MQTT at `url`, the given journal. */
export function faultConfig(o: {
  mqttUrl: string;
  journal: string;
  httpPort: number;
  fps?: number;
  archive?: string;
  extra?: Record<string, unknown>;
  /** Camera settings instead of the sim's (source, queue). */
  camera?: Record<string, unknown>;
}): string {
  return demoConfig(
    {
      mqtt: { url: o.mqttUrl, prefix: 'insp', statsIntervalSec: 0 },
      http: { port: o.httpPort },
      archive: { dir: o.archive ?? '' },
      journal: { path: o.journal },
      shutdownTimeoutSec: 10,
      ...o.extra,
    },
    o.camera ?? {
      source: { type: 'sim', width: 128, height: 128, fps: o.fps ?? 20, defectRate: 0.3, seed: 5 },
    },
  );
}

export const journalFile = (): string => {
  const dir = path.join(tempDir('fault-journal'), 'state');
  mkdirSync(dir);
  return path.join(dir, 'journal.sqlite');
};

/** Every resultId the journal holds (read-only, beside a running daemon). */
export function journalIds(file: string): string[] {
  const j = SqliteJournal.openReadOnly({
    path: file,
    synchronous: 'normal',
    retainDays: 0,
    maxRows: 1e9,
    maxBytes: 2 ** 40,
  });
  try {
    return j.query({}).verdicts.map((v) => v.resultId);
  } finally {
    j.close();
  }
}

/** The daemon as a child process, started on `config` with `journal`, and its HTTP port answering. */
export async function runningDaemon(config: string, journal: string, httpPort: number) {
  const d = startDaemon(config, { INSPECTD_JOURNAL: journal });
  await waitFor(async () => {
    if (d.proc.exitCode !== null) throw new Error(`daemon exited: ${JSON.stringify(d.logs().slice(-5))}`);
    return (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.ok;
  }, 'the daemon up');
  return d;
}
