import { randomUUID } from 'node:crypto';
import type { AddressSpace, Namespace } from 'node-opcua';
import type { Logger } from 'pino';
import { InspectdError } from '../../core/errors.js';
import type { Journal } from '../../core/history.js';
import type { LineControl } from '../../core/line.js';
import type { Verdict } from '../../core/verdict.js';
import { FlatTags } from './flatTags.js';
import { TriggerHandshake } from './handshake.js';
import { VisionSystemNode, type StoredResult } from './machineVision.js';
import {
  canTrigger,
  describeState,
  modeOf,
  transition,
  type VisionCommand,
  type VisionState,
} from './visionStates.js';

/**
 * One camera in the address space: its VisionSystem (state machine, recipes, results, events), its flat tags
 * and trigger handshake, kept consistent with each other and with the pipeline's mode.
 */
export class OpcuaCamera {
  private state: VisionState;
  private readonly vision: VisionSystemNode;
  readonly tags: FlatTags;
  private readonly handshake: TriggerHandshake;
  /** Results of StartContinuous (or of the initial continuous mode) belong to this job. */
  private continuousJob = `job-${randomUUID()}`;
  private readonly counts: { total: number; ok: number; ng: number };

  constructor(
    addressSpace: AddressSpace,
    own: Namespace,
    readonly id: string,
    initialMode: 'continuous' | 'triggered',
    journal: Journal,
    private readonly controls: LineControl,
    private readonly log: Logger,
  ) {
    this.state = {
      main: 'Operational',
      auto: initialMode === 'continuous' ? 'ContinuousExecution' : 'Ready',
    };
    // Counters continue where the last run left them.
    this.counts = journal.totals(id);
    const stored = (v: Verdict): StoredResult => ({ verdict: v, jobId: v.jobId ?? '' });
    this.vision = new VisionSystemNode(
      addressSpace,
      own,
      id,
      {
        command: (cmd, partId) => this.command(cmd, partId),
        prepareRecipe: (r) =>
          controls.setRecipe(id, r).then((active) => (this.tags.set('Recipe', active), active)),
        activeRecipe: () => controls.activeRecipe(id),
        recipes: () => controls.recipes(),
        result: (rid) => {
          const v = journal.get(rid);
          return v?.cameraId === id ? stored(v) : undefined;
        },
        results: (f, start, max) => {
          const { verdicts, total } = journal.query({ camera: id, ...f }, start, max);
          return { results: verdicts.map(stored), total };
        },
      },
      log,
    );
    this.tags = new FlatTags(own, this.vision.object, id);
    this.handshake = new TriggerHandshake({
      refusal: () => (canTrigger(this.state) ? undefined : `camera ${id} is ${describeState(this.state)}`),
      request: (partId) => this.requestSingle(partId),
      abort: (reason) => controls.abortSingle(id, reason),
      output: (o) => {
        if (o.ready !== undefined) this.tags.set('Ready', o.ready);
        if (o.busy !== undefined) this.tags.set('Busy', o.busy);
        if (o.resultValid !== undefined) this.tags.set('ResultValid', o.resultValid);
        if (o.lastError !== undefined) {
          this.tags.set('LastError', o.lastError);
          if (o.lastError) log.warn(`camera ${id} trigger: ${o.lastError}`);
        }
      },
    });
    this.tags.onWrite('Trigger', (v) =>
      this.handshake.onTrigger(v === true, String(this.tags.get('PartId'))),
    );
    this.tags.set('Recipe', controls.activeRecipe(id));
    this.showCounts();
    this.enter(this.state);
  }

  get visionState(): VisionState {
    return this.state;
  }

  /** Applies a state to the address space and the pipeline. */
  private enter(s: VisionState, transitionName?: string): void {
    this.state = s;
    this.controls.setMode(this.id, modeOf(s), this.continuousJob);
    this.vision.showState(s, transitionName);
    this.tags.set('State', describeState(s));
    this.handshake.refresh();
  }

  /** A state-machine command from a method call (or the camera failing); rejects when not allowed. */
  async command(cmd: VisionCommand, partId?: string): Promise<string | undefined> {
    const t = transition(this.state, cmd);
    if (!t.ok) throw new InspectdError(`camera ${this.id}: ${t.reason}`);
    this.log.info(
      { command: cmd, from: describeState(this.state), to: describeState(t.state) },
      `camera ${this.id}: ${cmd}: ${describeState(this.state)} -> ${describeState(t.state)}`,
    );
    if (cmd === 'Abort' || cmd === 'Stop' || cmd === 'Halt' || cmd === 'Reset')
      this.controls.abortSingle(this.id, cmd);
    if (cmd === 'StartContinuous') this.continuousJob = `job-${randomUUID()}`;
    this.enter(t.state, t.transition);
    if (cmd === 'StartContinuous') return this.continuousJob;
    if (cmd === 'StartSingleJob') {
      const job = `job-${randomUUID()}`;
      // The method returns at once with the JobId; the result comes as a ResultReady event.
      this.requestSingle(partId, job).then(
        () => this.afterSingle(),
        (e: unknown) => {
          this.tags.set('LastError', `single job ${job} failed: ${(e as Error).message}`);
          this.afterSingle();
        },
      );
      return job;
    }
    return undefined;
  }

  private afterSingle(): void {
    const t = transition(this.state, 'SingleDone');
    if (t.ok) this.enter(t.state, t.transition);
  }

  /** In triggered mode the request is a job of its own; in continuous mode it belongs to the running one. */
  private requestSingle(partId: string | undefined, job = `job-${randomUUID()}`): Promise<Verdict> {
    const own = modeOf(this.state) === 'triggered' ? job : undefined;
    return this.controls.requestSingle(this.id, partId, own);
  }

  /** Every verdict of the camera (already in the journal): flat tags, then the ResultReady event. */
  onVerdict(v: Verdict): void {
    const r = { verdict: v, jobId: v.jobId ?? '' };
    this.counts.total++;
    if (v.ok) this.counts.ok++;
    else this.counts.ng++;
    const t = this.tags;
    t.set('Verdict', v.ok);
    t.set('Score', v.score);
    t.set('Threshold', v.threshold);
    t.set('NormalizedScore', v.normalizedScore);
    t.set('ResultPartId', v.partId ?? '');
    t.set('Recipe', v.recipe);
    this.showCounts();
    // ResultId last: a client watching it sees the other tags of the same result already in place.
    t.set('ResultId', v.resultId);
    this.vision.resultReady(r);
  }

  private showCounts(): void {
    this.tags.set('TotalCount', this.counts.total);
    this.tags.set('OkCount', this.counts.ok);
    this.tags.set('NgCount', this.counts.ng);
  }

  heartbeat(): void {
    this.tags.set('Heartbeat', ((this.tags.get('Heartbeat') as number) + 1) % 2 ** 32);
    const failed = this.controls.camera(this.id)?.source.state === 'failed';
    if (failed && this.state.main !== 'Error' && this.state.main !== 'Halted')
      void this.command('Fault').catch(() => {});
  }
}
