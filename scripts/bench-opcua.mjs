#!/usr/bin/env node
// Verdict-to-subscriber latency over OPC UA against MQTT, same daemon, same verdicts, same process.
//   The daemon runs in this process as `inspectd run` wires it (sim camera, demo recipe, embedded MQTT broker,
//   OPC UA server on loopback, None + anonymous). A marker sink first in the sink list stamps each verdict as it
//   leaves the decision; subscribers stamp its arrival:
//     mqtt       mqtt.js subscribed to the verdict topic (QoS 1): the baseline
//     opcua tag  node-opcua client, data change of the camera's ResultId tag (sampling interval 0)
//     opcua evt  node-opcua client, ResultReady event of the camera's VisionSystem
//   Prints p50/p99 of each and the ratios to MQTT, for each publishing interval (opcua.minPublishingIntervalSec,
//   requested by the client too): 50 ms (the default) and 10 ms, each with a fresh daemon.
// Usage: node scripts/bench-opcua.mjs [results] [publishing interval ms ...]
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import {
  AttributeIds,
  ClientMonitoredItem,
  ClientSubscription,
  constructEventFilter,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
} from 'node-opcua';
import pino from 'pino';
import { dist as d, pct, root } from './lib/bench.mjs';

const { Daemon } = await d('app/daemon.js');
const { loadConfig } = await d('config/load.js');

const n = Number(process.argv[2] ?? 300);
const intervals = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [50, 10];
const log = pino({ level: 'warn' });
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** One run: a daemon whose OPC UA server grants `interval` ms, its subscribers, n verdicts. */
async function run(interval) {
  const dir = path.join(os.tmpdir(), `inspectd-bench-opcua-${process.pid}-${interval}`);
  const [opcuaPort, mqttPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const file = path.join(os.tmpdir(), `inspectd-bench-opcua-${process.pid}-${interval}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      line: 'bench',
      recipesDir: path.join(root, 'models'),
      inference: { providers: ['cpu'], threads: 1 },
      cameras: [
        {
          id: 'sim1',
          recipe: 'demo',
          // Paced well below capacity: latency, not queueing, is measured.
          source: { type: 'sim', width: 256, height: 256, fps: 20, defectRate: 0.25, seed: 5 },
          queue: { size: 4, policy: 'drop-oldest' },
        },
      ],
      mqtt: { embedded: { host: '127.0.0.1', port: mqttPort }, statsIntervalSec: 0 },
      http: { port: httpPort },
      archive: { dir: '' },
      opcua: {
        enabled: true,
        port: opcuaPort,
        minPublishingIntervalSec: interval / 1000,
        securityModes: ['None'],
        allowAnonymous: true,
        pkiDir: path.join(dir, 'pki'),
      },
    }),
  );
  const daemon = await Daemon.start(loadConfig(file, {}), log, {});

  // Verdict time: a marker sink ahead of MQTT and OPC UA (sinks publish in list order, synchronously).
  const decided = new Map();
  daemon.line['sinks'].unshift({
    name: 'marker',
    start: async () => {},
    stop: async () => {},
    health: () => ({ ready: true }),
    stats: () => ({}),
    publish: (v) => decided.set(v.resultId, performance.now()),
  });
  const arrived = { mqtt: new Map(), 'opcua tag': new Map(), 'opcua evt': new Map() };

  const sub = await mqtt.connectAsync(daemon.sink('mqtt').brokerUrl);
  sub.on('message', (_t, payload) =>
    arrived.mqtt.set(JSON.parse(payload.toString()).resultId, performance.now()),
  );
  await sub.subscribeAsync('inspectd/bench/sim1/verdict', { qos: 1 });

  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
  });
  await client.connect(daemon.sink('opcua').endpointUrl);
  const session = await client.createSession();
  const mv = (await session.readNamespaceArray()).indexOf('http://opcfoundation.org/UA/MachineVision');
  const subscription = ClientSubscription.create(session, {
    requestedPublishingInterval: interval,
    requestedMaxKeepAliveCount: 100,
    requestedLifetimeCount: 1000,
    maxNotificationsPerPublish: 0,
    publishingEnabled: true,
  });
  await new Promise((r) => subscription.on('started', r));
  const tag = ClientMonitoredItem.create(
    subscription,
    { nodeId: 'ns=1;s=sim1.ResultId', attributeId: AttributeIds.Value },
    { samplingInterval: 0, queueSize: 100, discardOldest: true },
    TimestampsToReturn.Neither,
  );
  tag.on('changed', (dv) => arrived['opcua tag'].set(dv.value.value, performance.now()));
  const evt = ClientMonitoredItem.create(
    subscription,
    { nodeId: 'ns=1;s=sim1', attributeId: AttributeIds.EventNotifier },
    { samplingInterval: 0, queueSize: 100, filter: constructEventFilter([`${mv}:ResultId`]) },
  );
  evt.on('changed', (fields) => arrived['opcua evt'].set(fields[0].value?.id, performance.now()));

  // Warm-up (excluded): 2 s of notifications flowing to every subscriber. The first half second after a
  // subscription starts carries one-off costs (node-opcua's start-up key checks, first publish cycles).
  while (arrived['opcua tag'].size < 10) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 2000));
  const from = performance.now();
  const counted = () => [...decided].filter(([, t]) => t > from).map(([id]) => id);
  while (counted().length < n) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000)); // the last notifications
  const ids = counted().slice(0, n);

  const latency = {};
  for (const [k, m] of Object.entries(arrived))
    latency[k] = ids.filter((id) => m.has(id)).map((id) => m.get(id) - decided.get(id));

  await subscription.terminate();
  await session.close();
  await client.disconnect();
  await sub.endAsync();
  await daemon.stop();

  const base = pct(latency.mqtt, 0.5);
  const base99 = pct(latency.mqtt, 0.99);
  console.log(
    `${n} verdicts (sim camera 256x256 at 20/s, demo recipe); OPC UA publishing interval requested ${interval} ms, granted ${subscription.publishingInterval} ms`,
  );
  for (const [k, xs] of Object.entries(latency)) {
    const p50 = pct(xs, 0.5);
    const p99 = pct(xs, 0.99);
    const ratio =
      k === 'mqtt'
        ? '(baseline)'
        : `ratio to MQTT p50 ${(p50 / base).toFixed(1)}  p99 ${(p99 / base99).toFixed(1)}`;
    console.log(
      `${k.padEnd(10)} received ${String(xs.length).padStart(4)}/${n}  p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  ${ratio}`,
    );
  }
}

for (const interval of intervals) await run(interval);
process.exit(0);
