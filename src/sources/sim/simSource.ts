import { ConfigError } from '../../core/errors.js';
import type { Frame, SourceContext } from '../../core/frame.js';
import { SourceBase } from '../sourceBase.js';
import { DEFECT_KINDS, isDefectKind, planFrame, renderPart, type DefectKind } from './render.js';
import type { SimSettings } from './settings.js';

/** The settings, plus what only programs give (tests, the sim-dataset command). */
export interface SimOptions extends SimSettings {
  /** Stop after this many frames; absent = run until closed. */
  count?: number;
  /** Defect kinds to inject (default: all of DEFECT_KINDS). */
  defectKinds?: readonly DefectKind[];
}

/** The programmatic extras; the settings are checked by the settings pass. */
function checkExtras(id: string, o: SimOptions): void {
  const bad = (key: string, value: unknown, want: string): never => {
    throw new ConfigError(`sim camera ${id}: ${key} = ${JSON.stringify(value)} is not ${want}`, {
      subject: `${id}.${key}`,
      value,
      fix: `set ${key} to ${want}`,
    });
  };
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count >= 0))
    bad('count', o.count, 'an integer >= 0, or absent to run forever');
  if (o.defectKinds !== undefined && (o.defectKinds.length === 0 || !o.defectKinds.every(isDefectKind)))
    bad('defectKinds', o.defectKinds, `a non-empty list of ${DEFECT_KINDS.join(', ')}`);
}

/**
 * The synthetic camera: frames of a machined plate with defects injected at `defectRate`, each frame
 * labelled with the truth. Which frames are defective, and how, depends only on (seed, seq), so a run can
 * be replayed exactly. A frame is rendered when the consumer asks for it, paced at `fps`.
 */
export class SimSource extends SourceBase<SimOptions> {
  readonly kind = 'sim';
  private readonly kinds: readonly DefectKind[];
  private defects = 0;

  constructor(ctx: SourceContext<SimOptions>) {
    checkExtras(ctx.id, ctx.options);
    super(ctx, { name: `sim camera ${ctx.id}`, capacity: 1, policy: 'wait' });
    this.kinds = ctx.options.defectKinds ?? DEFECT_KINDS;
  }

  protected async produce(): Promise<void> {
    const { width, height, fps, defectRate, seed, count } = this.options;
    const interval = fps > 0 ? 1000 / fps : 0;
    this.log.info({ width, height, fps, defectRate, seed, count, kinds: this.kinds }, 'sim camera started');
    let t0: number | undefined;
    for (let seq = 1; !this.closed && (count === undefined || seq <= count); seq++) {
      await this.pulled();
      t0 ??= Date.now();
      const wait = t0 + (seq - 1) * interval - Date.now();
      if (wait > 0) await this.sleep(wait);
      if (this.closed) break;
      const plan = planFrame(seed, seq, defectRate, this.kinds);
      const { rgb } = renderPart({ seed: plan.seed, width, height, defect: plan.defect });
      const frame: Frame = {
        cameraId: this.id,
        seq,
        timestamp: Date.now(),
        width,
        height,
        pixelFormat: 'rgb8',
        data: rgb,
        partId: `SIM-${String(seq).padStart(6, '0')}`,
        origin: 'sim',
        label: plan.defect ? { defective: true, kind: plan.defect } : { defective: false },
      };
      if (plan.defect) this.defects++;
      this.state = 'streaming';
      await this.offer(frame);
    }
  }

  protected override ownStats(): Record<string, number> {
    return { defects: this.defects };
  }
}
