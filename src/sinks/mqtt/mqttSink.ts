import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { InspectdError, messageOf } from '../../core/errors.js';
import type { Infer } from '../../core/settings.js';
import type { Verdict } from '../../core/verdict.js';
import type { Sink, SinkContext, SinkHealth } from '../types.js';
import { Throttle } from '../../log/logger.js';
import { EmbeddedBroker } from './embeddedBroker.js';
import { Outbox } from './outbox.js';
import type { mqttSettings } from './settings.js';
import { parseRecipeSet, topics, verdictPayload, type RecipeStatePayload } from './topics.js';

export type MqttSettings = Infer<typeof mqttSettings>;

const readSecret = (file: string, what: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new InspectdError(`mqtt ${what} file ${file} cannot be read: ${messageOf(e)}`, {
      subject: file,
      fix: `check mqtt.${what} in the configuration (with systemd: LoadCredential)`,
    });
  }
};

/**
 * Verdicts to MQTT (QoS 1), availability with a last will, periodic stats, and the recipe/set command with a
 * retained state echo. mqtt.js reconnects by itself and holds QoS 1 publishes while the broker is away; this
 * sink bounds how many it lets pile up. With no `mqtt.url` it runs an embedded broker and publishes there.
 */
export class MqttSink implements Sink {
  readonly name = 'mqtt';
  private client?: MqttClient;
  private broker?: EmbeddedBroker;
  private url = '';
  private statsTimer?: NodeJS.Timeout;
  private readonly t: ReturnType<typeof topics>;
  private readonly s: MqttSettings;
  private outbox?: Outbox;
  /** Verdicts the journal could not store, published straight away (once; they have no cursor). */
  private unjournaled = 0;
  private readonly throttle: Throttle;

  constructor(private readonly ctx: SinkContext<MqttSettings>) {
    this.s = ctx.settings;
    this.t = topics(this.s.prefix, ctx.line);
    this.throttle = new Throttle(ctx.log);
  }

  /** The broker verdicts go to (the embedded one's address when no url is configured). */
  get brokerUrl(): string {
    return this.url;
  }

  private options(): IClientOptions {
    const { s } = this;
    const password = s.passwordFile
      ? readSecret(s.passwordFile, 'passwordFile').toString('utf8').trim()
      : s.password;
    return {
      clientId: s.clientId || `inspectd-${this.ctx.line}-${process.pid}`,
      username: s.username || undefined,
      password: password || undefined,
      clean: true,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      will: { topic: this.t.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
      ca: s.tls.ca ? readSecret(s.tls.ca, 'tls.ca') : undefined,
      cert: s.tls.cert ? readSecret(s.tls.cert, 'tls.cert') : undefined,
      key: s.tls.key ? readSecret(s.tls.key, 'tls.key') : undefined,
      rejectUnauthorized: s.tls.rejectUnauthorized,
    };
  }

  async start(): Promise<void> {
    this.url = this.s.url;
    if (!this.url) {
      this.broker = new EmbeddedBroker(
        this.s.embedded.host,
        this.s.embedded.port,
        this.ctx.log.child({ stage: 'broker' }),
      );
      await this.broker.start();
      this.url = this.broker.url;
    }
    const safeUrl = this.url.replace(/\/\/[^@/]*@/, '//***@');
    const client = mqtt.connect(this.url, this.options());
    this.client = client;
    this.outbox = new Outbox(
      this.ctx.journal,
      'mqtt',
      this.s.maxInflight,
      (e, done) => this.send(e.verdict, done),
      () => client.connected,
      this.ctx.log,
    );
    client.on('connect', () => {
      const held = this.outbox!.held;
      this.ctx.log.info(
        { url: safeUrl, held },
        `connected to MQTT broker ${safeUrl}${held ? `; ${held} held verdicts go out first` : ''}`,
      );
      client.publish(this.t.availability, 'online', { qos: 1, retain: true });
      client.subscribe(this.t.recipeSetWildcard, { qos: 1 });
      for (const cam of this.ctx.control.cameras) this.publishRecipeState(cam, { status: 'ok' });
      this.outbox!.pump();
    });
    client.on('reconnect', () => this.ctx.log.debug({ url: safeUrl }, 'reconnecting to MQTT broker'));
    client.on('offline', () =>
      this.ctx.log.warn(
        { url: safeUrl },
        `MQTT broker ${safeUrl} unreachable; verdicts wait in the journal and go out when it is back`,
      ),
    );
    client.on('error', (e) =>
      this.ctx.log.warn({ url: safeUrl, err: messageOf(e) }, `MQTT: ${messageOf(e)}`),
    );
    client.on('message', (topic, payload) => void this.onMessage(topic, payload));
    if (this.s.statsIntervalSec > 0) {
      this.statsTimer = setInterval(() => {
        if (client.connected)
          client.publish(
            this.t.stats,
            JSON.stringify({ at: new Date().toISOString(), cameras: this.ctx.control.status().cameras }),
            { qos: 0 },
          );
      }, this.s.statsIntervalSec * 1000);
      this.statsTimer.unref();
    }
  }

  health(): SinkHealth {
    return this.client?.connected ? { ready: true } : { ready: false, reason: 'mqtt not connected' };
  }

  stats(): Record<string, number> {
    const o = this.outbox;
    return {
      published: o?.published ?? 0,
      held: o?.held ?? 0,
      failed: o?.failed ?? 0,
      dropped: o?.dropped ?? 0,
      unjournaled: this.unjournaled,
    };
  }

  /** Journaled verdicts go out from the journal, in order; one the journal could not store goes out now. */
  publish(v: Verdict, _a: unknown, seq: number | undefined): void {
    if (seq !== undefined) return this.outbox?.pump();
    this.unjournaled++;
    this.send(v, () => {});
  }

  private send(v: Verdict, done: (err?: Error) => void): void {
    const client = this.client;
    if (!client) return done(new Error('not started'));
    client.publish(
      this.t.verdict(v.cameraId),
      JSON.stringify(verdictPayload(v, this.ctx.line)),
      { qos: 1 },
      (err) => {
        if (err)
          this.throttle.warn(
            'publish',
            { resultId: v.resultId, err: messageOf(err) },
            `MQTT publish of ${v.resultId} not acknowledged (${messageOf(err)}); it goes again`,
          );
        done(err);
      },
    );
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const m = new RegExp(`^${escape(this.s.prefix)}/${escape(this.ctx.line)}/([^/]+)/recipe/set$`).exec(
      topic,
    );
    if (!m) return;
    const camera = m[1];
    const cameras = this.ctx.control.cameras;
    if (!cameras.includes(camera)) {
      const shown = camera.slice(0, 64);
      this.throttle.warn(
        'unknown-camera',
        { camera: shown },
        `recipe/set for unknown camera "${shown}"; cameras: ${cameras.join(', ')}`,
      );
      return;
    }
    const req = parseRecipeSet(payload);
    if ('error' in req) {
      this.publishRecipeState(camera, { status: 'error', error: req.error });
      return;
    }
    try {
      await this.ctx.control.setRecipe(camera, req.recipe);
      this.publishRecipeState(camera, { status: 'ok', transaction: req.transaction });
    } catch (e) {
      this.publishRecipeState(camera, { status: 'error', error: messageOf(e), transaction: req.transaction });
    }
  }

  private publishRecipeState(camera: string, p: Omit<RecipeStatePayload, 'recipe' | 'at'>): void {
    const state: RecipeStatePayload = {
      recipe: this.ctx.control.activeRecipe(camera),
      ...p,
      at: new Date().toISOString(),
    };
    this.client?.publish(this.t.recipeState(camera), JSON.stringify(state), { qos: 1, retain: true });
  }

  /** Publishes what the journal still holds until `deadline`; what is left stays there for the next start. */
  async stop(deadline = Date.now() + 3000): Promise<void> {
    clearInterval(this.statsTimer);
    const client = this.client;
    if (client) await this.disconnect(client, deadline);
    await this.broker?.stop();
  }

  private async disconnect(client: MqttClient, deadline: number): Promise<void> {
    const o = this.outbox!;
    await o.drain(deadline);
    o.save();
    if (o.held > 0)
      this.ctx.log.warn(
        { held: o.held },
        `MQTT: ${o.held} verdicts not yet published stay in the journal; they go out first at the next start`,
      );
    // Say offline ourselves: a clean stop is no crash.
    if (client.connected)
      await client.publishAsync(this.t.availability, 'offline', { qos: 1, retain: true }).catch(() => {});
    await client.endAsync(!client.connected);
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
