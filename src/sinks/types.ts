import type { Logger } from 'pino';
import type { Journal } from '../core/history.js';
import type { LineControl } from '../core/line.js';
import type { Metrics } from '../core/metrics.js';
import type { Group, Infer, SettingProblem } from '../core/settings.js';
import type { Verdict, VerdictArtifacts } from '../core/verdict.js';

export type { VerdictArtifacts };

/** Whether a sink can deliver now, and why not. */
export interface SinkHealth {
  ready: boolean;
  /** Why not ready, for /readyz and the web UI: "broker mqtt://host:1883 unreachable". */
  reason?: string;
}

/**
 * Where verdicts go (MQTT, OPC UA, the archive, HTTP). `publish` never blocks the pipeline: a sink buffers or
 * drops by its own rules and counts it in `stats()`. `stop` flushes what it holds.
 */
export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  /** `seq`: the verdict's place in the journal; undefined when the journal could not store it. */
  publish(verdict: Verdict, artifacts: VerdictArtifacts, seq: number | undefined): void;
  /** Flushes what it holds, until `deadline` (epoch ms) at the latest. */
  stop(deadline?: number): Promise<void>;
  /** Reported by /readyz, the web UI and inspectd_sink_ready. */
  health(): SinkHealth;
  /** Counters and levels, exported as inspectd_sink_stat{sink,stat} and in /api/status. */
  stats(): Record<string, number>;
}

/** What a sink kind's factory gets: one object. */
export interface SinkContext<S> {
  /** The kind's settings (its section of the configuration), validated. */
  settings: S;
  line: string;
  cameras: readonly string[];
  /** The only way back to the pipelines: modes, single inspections, recipe switches, status. */
  control: LineControl;
  /** The line's verdicts, committed before any sink sees them: lookups, listings, cursors. */
  journal: Journal;
  metrics: Metrics;
  log: Logger;
}

export interface SinkKind<G extends Group = Group> {
  /** Its section of the configuration, under the kind's name (docs/CONFIG.md is generated from it). */
  settings: G;
  /** Whether the configuration asks for this sink at all. */
  enabled(settings: Infer<G>): boolean;
  /**
   * Code an uncaught exception may come from that is this sink's (its libraries, by path): such a failure
   * restarts the sink instead of ending the process.
   */
  owns: RegExp;
  /**
   * What is wrong with the files the settings name (a users file), found before anything starts: the daemon
   * and `check-config` list these with every other kind's at once.
   */
  preflight?(settings: Infer<G>): SettingProblem[];
  /** Makes the sink (loading its implementation only now: node-opcua takes seconds to import). */
  create(ctx: SinkContext<Infer<G>>): Promise<Sink>;
}
