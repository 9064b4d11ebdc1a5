import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { InspectdError, messageOf } from '../../core/errors.js';
import type { Config } from '../../config/schema.js';
import type { Verdict } from '../../core/verdict.js';
import type { Sink } from '../types.js';
import { Throttle } from '../../log/logger.js';
import { parseRecipeSet, topics, verdictPayload, type RecipeStatePayload } from './topics.js';

/** The `mqtt` settings of the configuration (docs/CONFIG.md) with the broker URL resolved, plus the line name. */
export type MqttSettings = Omit<Config['mqtt'], 'embedded'> & { line: string };

export interface MqttCommands {
  /** Switches a camera's recipe; resolves with the active recipe name, rejects with a user-facing error. */
  setRecipe(camera: string, recipe: string): Promise<string>;
  activeRecipe(camera: string): string | undefined;
  stats(): object;
}

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
 * sink bounds how many it lets pile up.
 */
export class MqttSink implements Sink {
  readonly name = 'mqtt';
  private client?: MqttClient;
  private statsTimer?: NodeJS.Timeout;
  private readonly t: ReturnType<typeof topics>;
  private inFlight = 0;
  published = 0;
  dropped = 0;
  private readonly throttle: Throttle;

  constructor(
    private readonly s: MqttSettings,
    private readonly cameras: string[],
    private readonly commands: MqttCommands,
    private readonly log: Logger,
  ) {
    this.t = topics(s.prefix, s.line);
    this.throttle = new Throttle(log);
  }

  private options(): IClientOptions {
    const { s } = this;
    const password = s.passwordFile
      ? readSecret(s.passwordFile, 'passwordFile').toString('utf8').trim()
      : s.password;
    return {
      clientId: s.clientId || `inspectd-${s.line}-${process.pid}`,
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
    const safeUrl = this.s.url.replace(/\/\/[^@/]*@/, '//***@');
    const client = mqtt.connect(this.s.url, this.options());
    this.client = client;
    client.on('connect', () => {
      this.log.info({ url: safeUrl }, `connected to MQTT broker ${safeUrl}`);
      client.publish(this.t.availability, 'online', { qos: 1, retain: true });
      client.subscribe(this.t.recipeSetWildcard, { qos: 1 });
      for (const cam of this.cameras) this.publishRecipeState(cam, { status: 'ok' });
    });
    client.on('reconnect', () => this.log.debug({ url: safeUrl }, 'reconnecting to MQTT broker'));
    client.on('offline', () =>
      this.log.warn(
        { url: safeUrl },
        `MQTT broker ${safeUrl} unreachable; verdicts are held and sent when it is back`,
      ),
    );
    client.on('error', (e) => this.log.warn({ url: safeUrl, err: messageOf(e) }, `MQTT: ${messageOf(e)}`));
    client.on('message', (topic, payload) => void this.onMessage(topic, payload.toString('utf8')));
    if (this.s.statsIntervalSec > 0) {
      this.statsTimer = setInterval(() => {
        if (client.connected)
          client.publish(
            this.t.stats,
            JSON.stringify({ at: new Date().toISOString(), ...this.commands.stats() }),
            { qos: 0 },
          );
      }, this.s.statsIntervalSec * 1000);
      this.statsTimer.unref();
    }
  }

  ready(): boolean {
    return Boolean(this.client?.connected);
  }

  publish(v: Verdict): void {
    const client = this.client;
    if (!client) return;
    if (this.inFlight >= this.s.maxQueued) {
      this.dropped++;
      this.throttle.warn(
        'dropped',
        { dropped: this.dropped, held: this.inFlight },
        `MQTT: verdict ${v.resultId} dropped, ${this.inFlight} already held for the broker (mqtt.maxQueued); ${this.dropped} dropped so far`,
      );
      return;
    }
    this.inFlight++;
    client.publish(
      this.t.verdict(v.cameraId),
      JSON.stringify(verdictPayload(v, this.s.line)),
      { qos: 1 },
      (err) => {
        this.inFlight--;
        if (err)
          this.log.warn(
            { resultId: v.resultId, err: messageOf(err) },
            `MQTT publish of ${v.resultId} failed: ${messageOf(err)}`,
          );
        else this.published++;
      },
    );
  }

  private async onMessage(topic: string, payload: string): Promise<void> {
    const m = new RegExp(`^${escape(this.s.prefix)}/${escape(this.s.line)}/([^/]+)/recipe/set$`).exec(topic);
    if (!m) return;
    const camera = m[1];
    if (!this.cameras.includes(camera)) {
      this.log.warn(
        { topic, camera },
        `recipe/set for unknown camera "${camera}"; cameras: ${this.cameras.join(', ')}`,
      );
      return;
    }
    const req = parseRecipeSet(payload);
    if ('error' in req) {
      this.publishRecipeState(camera, { status: 'error', error: req.error });
      return;
    }
    try {
      await this.commands.setRecipe(camera, req.recipe);
      this.publishRecipeState(camera, { status: 'ok', transaction: req.transaction });
    } catch (e) {
      this.publishRecipeState(camera, { status: 'error', error: messageOf(e), transaction: req.transaction });
    }
  }

  private publishRecipeState(camera: string, p: Omit<RecipeStatePayload, 'recipe' | 'at'>): void {
    const state: RecipeStatePayload = {
      recipe: this.commands.activeRecipe(camera) ?? '',
      ...p,
      at: new Date().toISOString(),
    };
    this.client?.publish(this.t.recipeState(camera), JSON.stringify(state), { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    clearInterval(this.statsTimer);
    const client = this.client;
    if (!client) return;
    // Flush held verdicts for a moment if connected, then say offline ourselves (a clean stop is no crash).
    const deadline = Date.now() + 3000;
    while (this.inFlight > 0 && client.connected && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    if (client.connected)
      await client.publishAsync(this.t.availability, 'offline', { qos: 1, retain: true }).catch(() => {});
    await client.endAsync(!client.connected);
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
