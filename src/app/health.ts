import type { Logger } from 'pino';
import { Tally } from '../core/eventWindow.js';
import type { CameraStatus, Readiness, SinkStatus } from '../core/line.js';
import type { Config } from '../config/schema.js';

export type HealthSettings = Config['health'];

/** Frames in and frames dropped by one camera, as counted at one moment. */
interface Sample {
  at: number;
  cams: Map<string, { in: number; dropped: number }>;
}

/** How often a degraded state is said again in the log, with its counts. */
const REPEAT_MS = 60_000;

/**
 * Whether the line does its job, and why not: `ready`, or `degraded` with reasons. Degraded: a sink that cannot
 * deliver (its own health), the journal failing to store verdicts, or overload (a camera dropping more than
 * `maxDropRatio` of its frames over the window). Verdicts keep flowing while degraded; /readyz, the status
 * page, inspectd_ready and inspectd_degraded say so, and the log says it at once and then once a minute.
 */
export class HealthMonitor {
  private readonly samples: Sample[] = [];
  private readonly journalFailures: Tally;
  private lastJournalError = '';
  private said?: { state: string; at: number; reasons: string };

  constructor(
    private readonly s: HealthSettings,
    private readonly log: Logger,
  ) {
    this.journalFailures = new Tally(s.windowSec);
  }

  journalFailed(err: string, now = Date.now()): void {
    this.journalFailures.add(now);
    this.lastJournalError = err;
  }

  /** Counts of every camera now (called a few times a second); keeps the window's worth. */
  sample(cameras: CameraStatus[], now = Date.now()): void {
    const cams = new Map<string, { in: number; dropped: number }>();
    for (const c of cameras) {
      const sourceDropped = c.source.stats.dropped ?? 0;
      cams.set(c.id, { in: c.counts.frames + sourceDropped, dropped: c.counts.dropped + sourceDropped });
    }
    this.samples.push({ at: now, cams });
    while (this.samples.length > 2 && now - this.samples[1].at >= this.s.windowSec * 1000)
      this.samples.shift();
  }

  readiness(sinks: SinkStatus[], now = Date.now()): Readiness {
    const reasons = [
      ...sinks.filter((x) => !x.ready).map((x) => x.reason ?? `${x.name} not ready`),
      ...this.overload(),
    ];
    const failures = this.journalFailures.sum(now);
    if (failures > 0)
      reasons.push(
        `journal: ${failures} verdicts not stored in the last ${this.s.windowSec} s (${this.lastJournalError}); they were still published`,
      );
    return { ready: reasons.length === 0, state: reasons.length ? 'degraded' : 'ready', reasons };
  }

  /** Cameras that dropped more than the allowed share of their frames over the window. */
  private overload(): string[] {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || first === last) return [];
    const out: string[] = [];
    for (const [id, now] of last.cams) {
      const then = first.cams.get(id);
      if (!then) continue;
      const frames = now.in - then.in;
      const dropped = now.dropped - then.dropped;
      // A handful of frames says nothing about the rate: wait for ten before calling it overload.
      if (frames >= 10 && dropped / frames > this.s.maxDropRatio)
        out.push(
          `overload: camera ${id} dropped ${Math.round((100 * dropped) / frames)} % of its frames in the last ${Math.round((last.at - first.at) / 1000)} s (${dropped} of ${frames}); inspection is slower than the camera: lower its frame rate, or use a faster provider or recipe`,
        );
    }
    return out;
  }

  /** Logs every change of state at once, and a degraded state again once a minute with its counts. */
  report(r: Readiness, now = Date.now()): void {
    const reasons = r.reasons.join('; ');
    const changed = !this.said || this.said.state !== r.state;
    if (!changed && (r.ready || now - this.said!.at < REPEAT_MS)) return;
    if (r.ready) this.log.info('inspectd ready');
    else this.log.warn({ state: r.state, reasons: r.reasons }, `inspectd ${r.state}: ${reasons}`);
    this.said = { state: r.state, at: now, reasons };
  }
}
