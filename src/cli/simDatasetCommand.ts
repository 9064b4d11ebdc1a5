import { writeSimDataset } from '../sources/sim/dataset.js';
import { intOption, parseCommandArgs, requireOptions } from './common.js';

export const SIM_DATASET_USAGE = `usage: inspectd sim-dataset --out DIR [--size N] [--train N] [--test-good N] [--defects-per-kind N] [--seed S]

  Writes the sim camera's synthetic part in MVTec layout (train/good, test/good, test/<defect>, ground_truth):
  the project's own data, from which the demo recipe is fitted and on which it is measured.`;

export async function simDatasetCommand(argv: string[]): Promise<number> {
  const v = parseCommandArgs(
    argv,
    {
      out: { type: 'string' },
      size: { type: 'string' },
      train: { type: 'string' },
      'test-good': { type: 'string' },
      'defects-per-kind': { type: 'string' },
      seed: { type: 'string' },
    },
    SIM_DATASET_USAGE,
  );
  requireOptions(v, ['out'], SIM_DATASET_USAGE);
  const size = intOption(v, 'size', 256, 32, 4096);
  const { files } = await writeSimDataset(String(v.out), {
    width: size,
    height: size,
    trainGood: intOption(v, 'train', 200, 1, 100_000),
    testGood: intOption(v, 'test-good', 50, 1, 100_000),
    testDefectsPerKind: intOption(v, 'defects-per-kind', 20, 1, 100_000),
    seed: intOption(v, 'seed', 1, 0, 2 ** 31 - 1),
  });
  process.stdout.write(`sim-dataset: ${files} files written to ${String(v.out)}\n`);
  return 0;
}
