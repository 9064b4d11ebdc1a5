import client from 'prom-client';
import type { LineStatus } from './line.js';

/** The daemon's Prometheus metrics, on a registry of its own (tests run several daemons in one process). */
export class Metrics {
  readonly registry = new client.Registry();
  readonly frames = new client.Counter({
    name: 'inspectd_frames_total',
    help: 'Frames received from each camera',
    labelNames: ['camera'],
    registers: [this.registry],
  });
  readonly verdicts = new client.Counter({
    name: 'inspectd_verdicts_total',
    help: 'Verdicts by result (OK, NG)',
    labelNames: ['camera', 'result'],
    registers: [this.registry],
  });
  readonly drops = new client.Counter({
    name: 'inspectd_frames_dropped_total',
    help: 'Frames dropped by the camera queue (reason: oldest, newest), by the source because the pipeline did not keep up (reason: source), unreadable (reason: bad_image), failed in inference (reason: inspection_failed), or not asked for while the camera waits for a trigger or is stopped (reason: idle)',
    labelNames: ['camera', 'reason'],
    registers: [this.registry],
  });
  readonly stageSeconds = new client.Histogram({
    name: 'inspectd_stage_seconds',
    help: 'Time per frame in each stage (queue, preprocess, inference, decision, total)',
    labelNames: ['camera', 'stage'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly queueDepth = new client.Gauge({
    name: 'inspectd_queue_depth',
    help: 'Frames waiting in each camera queue',
    labelNames: ['camera'],
    registers: [this.registry],
  });
  readonly modelInfo = new client.Gauge({
    name: 'inspectd_model_info',
    help: 'The recipe each camera runs (value 1)',
    labelNames: ['camera', 'recipe', 'model_version', 'provider'],
    registers: [this.registry],
  });
  readonly sourceUp = new client.Gauge({
    name: 'inspectd_source_up',
    help: '1 while the camera source is streaming',
    labelNames: ['camera', 'state'],
    registers: [this.registry],
  });
  readonly sinkReady = new client.Gauge({
    name: 'inspectd_sink_ready',
    help: '1 while a sink can deliver (mqtt: connected to the broker)',
    labelNames: ['sink'],
    registers: [this.registry],
  });
  /** Read from every sink's stats() at each scrape. */
  private readonly sinkStat = new client.Gauge({
    name: 'inspectd_sink_stat',
    help: "Each sink's counters and levels (e.g. mqtt published, dropped, held; archive written, skipped, failed)",
    labelNames: ['sink', 'stat'],
    registers: [this.registry],
  });
  /** One series per reason kind while degraded (overload, journal, mqtt, archive, opcua ...). */
  private readonly degraded = new client.Gauge({
    name: 'inspectd_degraded',
    help: 'Reasons the line is degraded, by kind (1 each): overload, journal, or the sink that cannot deliver',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly ready = new client.Gauge({
    name: 'inspectd_ready',
    help: '1 when every recipe is loaded and every sink can deliver',
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'inspectd_' });
  }

  /** Gauges that mirror the line's state (readiness, sources, queues, sinks), refreshed from one status. */
  update(s: LineStatus): void {
    this.ready.set(s.readiness.ready ? 1 : 0);
    this.degraded.reset();
    for (const r of s.readiness.reasons) this.degraded.set({ reason: /^[\w-]+/.exec(r)?.[0] ?? 'other' }, 1);
    this.sinkStat.reset();
    for (const sink of s.sinks) {
      this.sinkReady.set({ sink: sink.name }, sink.ready ? 1 : 0);
      for (const [stat, v] of Object.entries(sink.stats)) this.sinkStat.set({ sink: sink.name, stat }, v);
    }
    this.sourceUp.reset();
    for (const c of s.cameras) {
      this.sourceUp.set({ camera: c.id, state: c.source.state }, c.source.state === 'streaming' ? 1 : 0);
      this.queueDepth.set({ camera: c.id }, c.queueDepth);
    }
  }
}
