import { int, num, type Group, type Infer } from '../../core/settings.js';

/** The `sim` camera's settings. */
export const simSettings = {
  width: { doc: 'Frame width in pixels.', default: 256, format: int(32, 8192) },
  height: { doc: 'Frame height in pixels.', default: 256, format: int(32, 8192) },
  fps: { doc: 'Frames per second; 0 = as fast as inspection goes.', default: 5, format: num(0, 1000) },
  defectRate: {
    doc: 'Fraction of frames with an injected defect (labelled).',
    default: 0.2,
    format: num(0, 1),
  },
  seed: { doc: 'Seed: the same seed gives the same frames.', default: 1, format: int(0, 2 ** 31 - 1) },
} satisfies Group;

export type SimSettings = Infer<typeof simSettings>;
