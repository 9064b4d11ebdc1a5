import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { InspectdError, messageOf } from '../core/errors.js';
import type { Readiness } from '../core/line.js';
import { Metrics } from '../core/metrics.js';
import { VERSION } from '../core/version.js';
import { SqliteJournal } from '../journal/journal.js';
import { sinkKinds, type SinkName } from '../sinks/index.js';
import type { Sink, SinkKind } from '../sinks/types.js';
import { HealthMonitor } from './health.js';
import { checkSinkFiles } from './preflight.js';
import { Line } from './line.js';
import { RecipeCache } from './recipes.js';
import { SdNotifier } from './sdNotify.js';
import { SupervisedSink } from './supervisedSink.js';

interface Component {
  name: string;
  /** Done by `deadline` (epoch ms): the shutdown's one budget, shared in stop order. */
  stop(deadline: number): Promise<void>;
}

/**
 * The composition root: configuration in, running line out. The only module that knows every stage.
 * Start order: recipes (loaded and warmed) -> line (pipelines made) -> sinks (table order) -> cameras ->
 * READY. Stop runs the started components in reverse, each bounded by the shutdown deadline.
 */
export class Daemon {
  readonly metrics = new Metrics();
  journal!: SqliteJournal;
  private readonly health: HealthMonitor;
  line!: Line;
  private readonly sinks = new Map<string, SupervisedSink>();
  private readonly started: Component[] = [];
  private notifier!: SdNotifier;

  private constructor(
    readonly config: Config,
    private readonly log: Logger,
  ) {
    this.health = new HealthMonitor(config.health, log.child({ stage: 'health' }));
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

  /** A running sink by kind name (tests and tools reach e.g. the HTTP or OPC UA endpoint through it). */
  sink<T extends Sink = Sink>(name: SinkName): T | undefined {
    return this.sinks.get(name)?.current as T | undefined;
  }

  /**
   * An exception nobody caught: when its stack shows a sink's code (a network peer reached a library defect),
   * that sink restarts and the daemon goes on; returns false when it is no sink's, and the process must end.
   */
  contain(e: unknown): boolean {
    const stack = e instanceof Error ? (e.stack ?? '') : '';
    for (const [name, sink] of this.sinks)
      if ((sinkKinds[name as SinkName] as unknown as SinkKind).owns.test(stack)) {
        sink.fail(e);
        return true;
      }
    return false;
  }

  private async startAll(env: NodeJS.ProcessEnv): Promise<void> {
    const c = this.config;
    this.notifier = SdNotifier.fromEnv(env, this.log.child({ stage: 'systemd' }));
    if (!c.cameras.length)
      throw new InspectdError('no cameras configured', {
        subject: 'cameras',
        fix: 'add at least one camera to "cameras" (see config/demo.json)',
      });
    // Files the sinks need (users files), all checked before minutes go into loading recipes.
    checkSinkFiles(c);
    this.log.info(
      { version: VERSION, cameras: c.cameras.map((x) => x.id), line: c.line },
      `inspectd ${VERSION} starting: ${c.cameras.length} camera(s) on line ${c.line}`,
    );

    // The journal first: every verdict is committed to it before any sink sees it.
    const journal = SqliteJournal.open(c.journal, this.log.child({ stage: 'journal' }));
    this.journal = journal;
    this.started.push({ name: 'journal', stop: async () => journal.close() });
    this.keepRetention();

    // Recipes: all loaded and warmed before anything reports ready.
    const recipes = new RecipeCache(
      c.recipesDir,
      { providers: c.inference.providers, threads: c.inference.threads },
      this.log.child({ stage: 'inference' }),
      { maxBatch: c.inference.batch.maxSize, maxWaitMs: c.inference.batch.maxWaitSec * 1000 },
    );
    this.started.push({ name: 'recipes', stop: () => recipes.closeAll() });
    const models = await Promise.all(c.cameras.map((cam) => recipes.acquire(cam.recipe)));

    const line = new Line({
      config: c,
      recipes,
      models,
      journal,
      health: this.health,
      metrics: this.metrics,
      log: this.log,
    });
    this.line = line;

    for (const name of Object.keys(sinkKinds) as SinkName[]) {
      // Each kind takes its own section; the table's rows differ in type, the loop treats them alike.
      const kind = sinkKinds[name] as unknown as SinkKind;
      const settings = c[name] as never;
      if (!kind.enabled(settings)) continue;
      const log = this.log.child({ stage: name });
      const context = {
        settings,
        line: c.line,
        cameras: line.cameras,
        control: line,
        journal,
        metrics: this.metrics,
        log,
      };
      const sink = new SupervisedSink(name, kind, context, log);
      await sink.start();
      this.started.push({ name: `sink ${name}`, stop: (deadline) => sink.stop(deadline) });
      this.sinks.set(name, sink);
      line.addSink(sink);
    }

    line.start();
    this.started.push({ name: 'cameras', stop: (deadline) => line.stop(deadline) });

    const r = this.readiness();
    this.log.info(r.ready ? 'inspectd running' : `inspectd running, not ready yet: ${r.reasons.join('; ')}`);
    this.watchReadiness();
    this.notifier.ready(`${c.cameras.length} camera(s) running`);
    this.notifier.startWatchdog(() => this.healthy());
  }

  /** Ready, or degraded with the reasons (app/health.ts); 'starting' until the recipes are loaded. */
  readiness(): Readiness {
    return this.line
      ? this.line.readiness()
      : { ready: false, state: 'starting', reasons: ['recipes loading'] };
  }

  /** For the systemd watchdog: the process is doing its job (no camera's source has given up). */
  private healthy(): boolean {
    return this.pipelines.every((p) => p.source.state !== 'failed');
  }

  /** A few times a second: the health window sampled, metrics mirror the line, the state logged when it changes. */
  private watchReadiness(): void {
    const update = (): void => {
      const s = this.line.status();
      this.health.sample(s.cameras);
      this.metrics.update(s);
      this.health.report(s.readiness);
    };
    update();
    const timer = setInterval(update, 250);
    timer.unref();
    this.started.push({ name: 'readiness', stop: async () => clearInterval(timer) });
  }

  /**
   * Retention in small steps (one short transaction each, the event loop free in between): at start, then every
   * minute. What it deletes that MQTT had not delivered yet is said in the log by the MQTT sink.
   */
  private keepRetention(): void {
    let running = false;
    let stopped = false;
    const run = (): void => {
      if (running || stopped) return;
      running = true;
      let deleted = 0;
      const step = (): void => {
        if (stopped) return;
        try {
          const n = this.journal.retainStep();
          deleted += n;
          if (n > 0) return void setImmediate(step);
          if (deleted > 0) this.log.info({ deleted }, `journal: ${deleted} verdicts past retention deleted`);
        } catch (e) {
          this.log.warn({ err: messageOf(e) }, `journal retention failed: ${messageOf(e)}`);
        }
        running = false;
      };
      step();
    };
    run();
    const timer = setInterval(run, 60_000);
    timer.unref();
    this.started.push({
      name: 'journal retention',
      stop: async () => {
        stopped = true;
        clearInterval(timer);
      },
    });
  }

  /** Stops everything in reverse start order; a component that fails to stop is logged, not fatal. */
  async stop(): Promise<void> {
    this.notifier?.stopping();
    this.notifier?.stop();
    const deadline = Date.now() + this.config.shutdownTimeoutSec * 1000;
    for (const comp of this.started.splice(0).reverse()) {
      try {
        await comp.stop(deadline);
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
