import { int, nonEmpty } from '../core/settings.js';
import { writeSimDataset } from '../sources/sim/dataset.js';
import { commandUsage, readCommandFlags } from './common.js';
import { flags, withDefaults } from '../core/flags.js';

const COUNT = int(1, 100_000);

const SIM_DATASET_FLAGS = flags({
  out: { doc: 'dataset folder to write', format: nonEmpty('a folder'), required: true, value: 'DIR' },
  size: { doc: 'image size in pixels (square)', format: int(32, 4096), default: 256, value: 'N' },
  train: { doc: 'good training images', format: COUNT, default: 200, value: 'N' },
  testGood: { doc: 'good test images', format: COUNT, default: 50, value: 'N' },
  defectsPerKind: { doc: 'test images per defect kind', format: COUNT, default: 20, value: 'N' },
  seed: { doc: 'the same seed gives the same images', format: int(0, 2 ** 31 - 1), default: 1, value: 'S' },
});

export const SIM_DATASET_USAGE = commandUsage(
  'sim-dataset',
  `  Writes the sim camera's synthetic part in MVTec layout (train/good, test/good, test/<defect>, ground_truth):
  the project's own data, from which the demo recipe is fitted and on which it is measured.`,
  SIM_DATASET_FLAGS,
);

export async function simDatasetCommand(argv: string[]): Promise<number> {
  const v = withDefaults(SIM_DATASET_FLAGS, readCommandFlags(argv, SIM_DATASET_FLAGS, SIM_DATASET_USAGE));
  const { files } = await writeSimDataset(v.out, {
    width: v.size,
    height: v.size,
    trainGood: v.train,
    testGood: v.testGood,
    testDefectsPerKind: v.defectsPerKind,
    seed: v.seed,
  });
  process.stdout.write(`sim-dataset: ${files} files written to ${v.out}\n`);
  return 0;
}
