import type { FrameSource, SourceContext } from '../core/frame.js';
import type { Group, Infer } from '../core/settings.js';
import { FolderSource } from './folder/folderSource.js';
import { folderSettings } from './folder/settings.js';
import { GigeSource } from './gige/gigeSource.js';
import { gigeSettings } from './gige/settings.js';
import { RtspSource } from './rtsp/rtspSource.js';
import { rtspSettings } from './rtsp/settings.js';
import { simSettings } from './sim/settings.js';
import { SimSource } from './sim/simSource.js';

export interface SourceKind<G extends Group = Group> {
  /** The kind's settings (docs/CONFIG.md is generated from them). */
  settings: G;
  /** Queue policy when a camera's queue.policy is "auto": files must not be lost, live frames may be. */
  defaultDropPolicy: 'drop-oldest' | 'wait';
  create(ctx: SourceContext<Infer<G>>): FrameSource;
}

/**
 * Checks a kind's settings against its factory, then forgets G: in the table, a kind's options are whatever
 * its own settings validated (the configuration pass pairs them by `type`).
 */
const kind = <G extends Group>(k: SourceKind<G>): SourceKind => k as unknown as SourceKind;

const folder = kind({
  settings: folderSettings,
  defaultDropPolicy: 'wait',
  create: (ctx) => new FolderSource(ctx),
});

const sim = kind({
  settings: simSettings,
  defaultDropPolicy: 'drop-oldest',
  create: (ctx) => new SimSource(ctx),
});

const gige = kind({
  settings: gigeSettings,
  defaultDropPolicy: 'drop-oldest',
  create: (ctx) => new GigeSource(ctx),
});

const rtsp = kind({
  settings: rtspSettings,
  defaultDropPolicy: 'drop-oldest',
  create: (ctx) => new RtspSource(ctx),
});

/** Every source type, by the `type` of a camera's `source` (explicit registration, no discovery). */
export const sourceKinds: Record<string, SourceKind> = { folder, sim, gige, rtsp };
