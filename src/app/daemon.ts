import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { InspectdError, messageOf } from '../core/errors.js';
import { MemoryHistory } from '../core/history.js';
import type { Readiness } from '../core/line.js';
import { Metrics } from '../core/metrics.js';
import { VERSION } from '../core/version.js';
import { sinkKinds, type SinkName } from '../sinks/index.js';
import type { Sink, SinkKind } from '../sinks/types.js';
import { Line } from './line.js';
import { RecipeCache } from './recipes.js';
import { SdNotifier } from './sdNotify.js';

interface Component {
  name: string;
  stop(): Promise<void>;
}

/**
 * The composition root: configuration in, running line out. The only module that knows every stage.
 * Start order: recipes (loaded and warmed) -> line (pipelines made) -> sinks (table order) -> cameras ->
 * READY. Stop runs the started components in reverse, each bounded by the shutdown deadline.
 */
export class Daemon {
  readonly metrics = new Metrics();
  readonly history: MemoryHistory;
  line!: Line;
  private readonly sinks = new Map<string, Sink>();
  private readonly started: Component[] = [];
  private notifier!: SdNotifier;

  private constructor(
    readonly config: Config,
    private readonly log: Logger,
  ) {
    this.history = new MemoryHistory(config.history.perCamera);
  }

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

  get pipelines(): Line['pipelines'] {
    return this.line?.pipelines ?? [];
  }

  /** A started sink by kind name (tests and tools reach e.g. the HTTP or OPC UA endpoint through it). */
  sink<T extends Sink = Sink>(name: SinkName): T | undefined {
    return this.sinks.get(name) as T | undefined;
  }

  private async startAll(env: NodeJS.ProcessEnv): Promise<void> {
    const c = this.config;
    this.notifier = SdNotifier.fromEnv(env, this.log.child({ stage: 'systemd' }));
    if (!c.cameras.length)
      throw new InspectdError('no cameras configured', {
        subject: 'cameras',
        fix: 'add at least one camera to "cameras" (see config/demo.json)',
      });
    this.log.info(
      { version: VERSION, cameras: c.cameras.map((x) => x.id), line: c.line },
      `inspectd ${VERSION} starting: ${c.cameras.length} camera(s) on line ${c.line}`,
    );

    // Recipes: all loaded and warmed before anything reports ready.
    const recipes = new RecipeCache(
      c.recipesDir,
      { providers: c.inference.providers, threads: c.inference.threads },
      this.log.child({ stage: 'inference' }),
    );
    this.started.push({ name: 'recipes', stop: () => recipes.closeAll() });
    const models = await Promise.all(c.cameras.map((cam) => recipes.acquire(cam.recipe)));

    const line = new Line({
      config: c,
      recipes,
      models,
      history: this.history,
      metrics: this.metrics,
      log: this.log,
    });
    this.line = line;

    for (const name of Object.keys(sinkKinds) as SinkName[]) {
      // Each kind takes its own section; the table's rows differ in type, the loop treats them alike.
      const kind = sinkKinds[name] as unknown as SinkKind;
      const settings = c[name] as never;
      if (!kind.enabled(settings)) continue;
      const sink = await kind.create({
        settings,
        line: c.line,
        cameras: line.cameras,
        control: line,
        history: this.history,
        metrics: this.metrics,
        log: this.log.child({ stage: name }),
      });
      await sink.start();
      this.started.push({ name: `sink ${name}`, stop: () => sink.stop() });
      this.sinks.set(name, sink);
      line.addSink(sink);
    }

    line.start();
    this.started.push({
      name: 'cameras',
      stop: () => line.stop(Date.now() + c.shutdownTimeoutSec * 1000),
    });

    const r = this.readiness();
    this.log.info(r.ready ? 'inspectd running' : `inspectd running, not ready yet: ${r.reasons.join('; ')}`);
    this.watchReadiness();
    this.notifier.ready(`${c.cameras.length} camera(s) running`);
    this.notifier.startWatchdog(() => this.healthy());
  }

  /** Ready = every recipe loaded and every sink able to deliver. */
  readiness(): Readiness {
    return this.line ? this.line.readiness() : { ready: false, reasons: ['recipes loading'] };
  }

  /** For the systemd watchdog: the process is doing its job (no camera's source has given up). */
  private healthy(): boolean {
    return this.pipelines.every((p) => p.source.state !== 'failed');
  }

  /** Metrics mirror the line's state; every change of readiness is logged (operators grep for it). */
  private watchReadiness(): void {
    let wasReady: boolean | undefined;
    const update = (): void => {
      const s = this.line.status();
      this.metrics.update(s);
      const r = s.readiness;
      if (r.ready !== wasReady) {
        if (r.ready) this.log.info('inspectd ready');
        else if (wasReady !== undefined)
          this.log.warn({ reasons: r.reasons }, `inspectd not ready: ${r.reasons.join('; ')}`);
        wasReady = r.ready;
      }
    };
    update();
    const timer = setInterval(update, 250);
    timer.unref();
    this.started.push({ name: 'readiness', stop: async () => clearInterval(timer) });
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
