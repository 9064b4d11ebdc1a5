import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { InspectdError, messageOf } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { CameraPipeline, type InspectionMode } from '../pipeline/cameraPipeline.js';
import { MANIFEST_FILE } from '../recipe/manifest.js';
import { ArchiveSink } from '../sinks/archive/archiveSink.js';
import { EmbeddedBroker } from '../sinks/mqtt/embeddedBroker.js';
import { MqttSink } from '../sinks/mqtt/mqttSink.js';
import type { OpcuaControls, OpcuaSink } from '../sinks/opcua/opcuaSink.js';
import type { Sink } from '../sinks/types.js';
import { sourceKinds } from '../sources/index.js';
import { HttpServer } from './httpServer.js';
import { Metrics } from './metrics.js';
import { RecipeCache } from './recipes.js';
import { SdNotifier } from './sdNotify.js';
import type { CameraStatus } from './statusPage.js';

interface Component {
  name: string;
  stop(): Promise<void>;
}

/**
 * The composition root: configuration in, running pipelines out. The only module that knows every stage.
 * Start order: recipes (loaded and warmed) -> broker -> sinks -> HTTP -> pipelines -> READY. Stop runs the
 * started components in reverse, each bounded by the shutdown deadline.
 */
export class Daemon {
  readonly metrics = new Metrics();
  readonly pipelines: CameraPipeline[] = [];
  private readonly sinks: Sink[] = [];
  private readonly started: Component[] = [];
  private recipes!: RecipeCache;
  private http?: HttpServer;
  private broker?: EmbeddedBroker;
  private notifier!: SdNotifier;
  private recipesReady = false;
  mqttUrl = '';
  opcua?: OpcuaSink;
  /** Modes asked for before the camera's pipeline exists (the OPC UA state machine starts first). */
  private readonly modes = new Map<string, InspectionMode>();

  private constructor(
    readonly config: Config,
    private readonly log: Logger,
  ) {}

  static async start(config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Daemon> {
    const d = new Daemon(config, log);
    try {
      await d.startAll(env);
    } catch (e) {
      await d.stop().catch(() => {});
      throw e;
    }
    return d;
  }

  get httpUrl(): string {
    return this.http?.url ?? '';
  }

  private async startAll(env: NodeJS.ProcessEnv): Promise<void> {
    const c = this.config;
    this.notifier = SdNotifier.fromEnv(env, this.log.child({ stage: 'systemd' }));
    if (!c.cameras.length) {
      throw new InspectdError('no cameras configured', {
        subject: 'cameras',
        fix: 'add at least one camera to "cameras" (see config/demo.json)',
      });
    }
    this.log.info(
      { version: VERSION, cameras: c.cameras.map((x) => x.id), line: c.line },
      `inspectd ${VERSION} starting: ${c.cameras.length} camera(s) on line ${c.line}`,
    );

    // 1. Recipes: all loaded and warmed before anything reports ready.
    this.recipes = new RecipeCache(
      c.recipesDir,
      { providers: c.inference.providers, threads: c.inference.threads },
      this.log.child({ stage: 'inference' }),
    );
    this.started.push({ name: 'recipes', stop: () => this.recipes.closeAll() });
    const models = await Promise.all(c.cameras.map((cam) => this.recipes.acquire(cam.recipe)));
    this.recipesReady = true;

    // 2. MQTT: an embedded broker when none is configured.
    this.mqttUrl = c.mqtt.url;
    if (!this.mqttUrl) {
      this.broker = new EmbeddedBroker(
        c.mqtt.embedded.host,
        c.mqtt.embedded.port,
        this.log.child({ stage: 'broker' }),
      );
      await this.broker.start();
      this.started.push({ name: 'embedded broker', stop: () => this.broker!.stop() });
      this.mqttUrl = this.broker.url;
    }
    const mqttSink = new MqttSink(
      { ...c.mqtt, url: this.mqttUrl, line: c.line },
      c.cameras.map((x) => x.id),
      {
        setRecipe: (camera, recipe) => this.setRecipe(camera, recipe),
        activeRecipe: (camera) => this.findPipeline(camera)?.activeRecipe,
        stats: () => this.stats(),
      },
      this.log.child({ stage: 'mqtt' }),
    );
    this.sinks.push(mqttSink);
    if (c.archive.dir) {
      this.sinks.push(
        new ArchiveSink(
          {
            ...c.archive,
            dir: path.resolve(c.archive.dir),
            calibrationMin: (cam) => this.findPipeline(cam)?.calibrationMin ?? 0,
          },
          this.log.child({ stage: 'archive' }),
        ),
      );
    }
    if (c.opcua.enabled) {
      // Loaded only when enabled: node-opcua takes a second or two to import.
      const { OpcuaSink } = await import('../sinks/opcua/opcuaSink.js');
      this.opcua = new OpcuaSink(
        c.opcua,
        c.line,
        c.cameras.map((x) => x.id),
        this.opcuaControls(),
        this.log.child({ stage: 'opcua' }),
      );
      this.sinks.push(this.opcua);
    }
    for (const sink of this.sinks) {
      await sink.start();
      this.started.push({ name: `sink ${sink.name}`, stop: () => sink.stop() });
    }

    // 3. HTTP: health, metrics, status page.
    this.http = new HttpServer(
      c.http.host,
      c.http.port,
      {
        metrics: this.metrics,
        pipelines: () => this.pipelines,
        readiness: () => this.readiness(),
        cameraStatus: () => this.cameraStatus(),
      },
      this.log.child({ stage: 'http' }),
    );
    await this.http.start();
    this.started.push({ name: 'http', stop: () => this.http!.stop() });

    // 4. Cameras.
    c.cameras.forEach((cam, i) => {
      const log = this.log.child({ camera: cam.id });
      const source = sourceKinds[cam.source.type].create(
        cam.id,
        cam.source.options as never,
        log.child({ stage: 'source' }),
      );
      const p = new CameraPipeline(
        {
          cameraId: cam.id,
          queueSize: cam.queue.size,
          dropPolicy: cam.queue.policy,
          minRegionArea: cam.decision.minRegionArea,
          maxRegions: cam.decision.maxRegions,
        },
        source,
        models[i],
        cam.recipe,
        this.sinks,
        this.metrics,
        log,
      );
      this.pipelines.push(p);
      const mode = this.modes.get(cam.id);
      if (mode) p.setMode(mode);
      p.start();
    });
    this.started.push({ name: 'cameras', stop: () => this.stopPipelines() });

    const r = this.readiness();
    this.log.info(
      { status: this.httpUrl, mqtt: this.mqttUrl },
      r.ready ? 'inspectd running' : `inspectd running, not ready yet: ${r.reasons.join('; ')}`,
    );
    this.updateGauges();
    const gauges = setInterval(() => this.updateGauges(), 250);
    gauges.unref();
    this.started.push({ name: 'gauges', stop: async () => clearInterval(gauges) });
    this.notifier.ready(`${c.cameras.length} camera(s) running`);
    this.notifier.startWatchdog(() => this.healthy());
  }

  /** Ready = every recipe loaded and every sink able to deliver. */
  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (!this.recipesReady) reasons.push('recipes loading');
    for (const s of this.sinks) if (!s.ready()) reasons.push(`${s.name} not connected`);
    return { ready: reasons.length === 0, reasons };
  }

  /** For the systemd watchdog: the process is doing its job (no pipeline's inspect loop has died). */
  private healthy(): boolean {
    return this.pipelines.every((p) => p.source.state !== 'failed');
  }

  private wasReady?: boolean;

  private updateGauges(): void {
    const r = this.readiness();
    this.metrics.ready.set(r.ready ? 1 : 0);
    if (r.ready !== this.wasReady) {
      // Every change of readiness is worth a line: operators grep for it.
      if (r.ready) this.log.info({ status: this.httpUrl, mqtt: this.mqttUrl }, 'inspectd ready');
      else if (this.wasReady !== undefined)
        this.log.warn({ reasons: r.reasons }, `inspectd not ready: ${r.reasons.join('; ')}`);
      this.wasReady = r.ready;
    }
    for (const s of this.sinks) this.metrics.sinkReady.set({ sink: s.name }, s.ready() ? 1 : 0);
    this.metrics.sourceUp.reset();
    for (const p of this.pipelines) {
      this.metrics.sourceUp.set(
        { camera: p.settings.cameraId, state: p.source.state },
        p.source.state === 'streaming' ? 1 : 0,
      );
      this.metrics.queueDepth.set({ camera: p.settings.cameraId }, p.queueDepth);
    }
  }

  cameraStatus(): CameraStatus[] {
    return this.pipelines.map((p) => ({
      id: p.settings.cameraId,
      recipe: p.activeRecipe,
      provider: p.provider,
      source: { kind: p.source.kind, state: p.source.state, stats: p.source.stats() },
      counts: { ...p.counts },
      queueDepth: p.queueDepth,
      recent: p.recent.slice(0, 10),
      lastNg: p.lastNg?.verdict.resultId,
    }));
  }

  private stats(): object {
    return { cameras: this.cameraStatus().map(({ recent: _recent, lastNg: _lastNg, ...rest }) => rest) };
  }

  private findPipeline(camera: string): CameraPipeline | undefined {
    return this.pipelines.find((x) => x.settings.cameraId === camera);
  }

  private pipeline(camera: string): CameraPipeline {
    const p = this.findPipeline(camera);
    if (!p) throw new InspectdError(`no camera "${camera}" running`, { subject: camera });
    return p;
  }

  /** What OPC UA methods and the trigger handshake may do to the pipelines. */
  private opcuaControls(): OpcuaControls {
    return {
      setMode: (camera, mode) => {
        this.modes.set(camera, mode);
        this.findPipeline(camera)?.setMode(mode);
      },
      requestSingle: async (camera, partId) => this.pipeline(camera).requestSingle(partId),
      abortSingle: (camera, reason) => this.findPipeline(camera)?.abortSingle(reason) ?? false,
      setRecipe: (camera, recipe) => this.setRecipe(camera, recipe),
      activeRecipe: (camera) =>
        this.findPipeline(camera)?.activeRecipe ?? this.config.cameras.find((x) => x.id === camera)?.recipe,
      recipes: async () => {
        const dir = this.config.recipesDir;
        const names = await readdir(dir).catch(() => [] as string[]);
        return names.filter((n) => existsSync(path.join(dir, n, MANIFEST_FILE))).sort();
      },
      failed: (camera) => this.findPipeline(camera)?.source.state === 'failed',
    };
  }

  /** Switches a camera's recipe at runtime: the new one is loaded and warmed before the swap. */
  async setRecipe(camera: string, recipe: string): Promise<string> {
    const p = this.findPipeline(camera);
    if (!p) throw new InspectdError(`no camera "${camera}"`, { subject: camera });
    if (p.activeRecipe === recipe) return recipe;
    const model = await this.recipes.acquire(recipe);
    const old = p.activeRecipe;
    p.swapRecipe(recipe, model);
    await this.recipes.release(old);
    this.log.info({ camera, from: old, to: recipe }, `camera ${camera}: recipe ${old} -> ${recipe}`);
    return recipe;
  }

  private async stopPipelines(): Promise<void> {
    const deadline = Date.now() + this.config.shutdownTimeoutSec * 1000;
    await Promise.all(this.pipelines.map((p) => p.stop(deadline)));
  }

  /** Stops everything in reverse start order; a component that fails to stop is logged, not fatal. */
  async stop(): Promise<void> {
    this.notifier?.stopping();
    this.notifier?.stop();
    for (const comp of this.started.splice(0).reverse()) {
      try {
        await comp.stop();
      } catch (e) {
        this.log.warn(
          { component: comp.name, err: messageOf(e) },
          `stopping ${comp.name} failed: ${messageOf(e)}`,
        );
      }
    }
    this.log.info('inspectd stopped');
  }
}
