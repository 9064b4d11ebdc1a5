import { writeSimDataset } from '../sources/sim/dataset.js';
import { numberOption, parseCommandArgs, requireOptions } from './common.js';

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
  const int = (name: string, fallback: number, min: number, max: number): number =>
    numberOption(
      v,
      name,
      fallback,
      (n) => Number.isInteger(n) && n >= min && n <= max,
      `an integer from ${min} to ${max}`,
    );
  const size = int('size', 256, 32, 4096);
  const { files } = await writeSimDataset(String(v.out), {
    width: size,
    height: size,
    trainGood: int('train', 200, 1, 100_000),
    testGood: int('test-good', 50, 1, 100_000),
    testDefectsPerKind: int('defects-per-kind', 20, 1, 100_000),
    seed: int('seed', 1, 0, 2 ** 31 - 1),
  });
  process.stdout.write(`sim-dataset: ${files} files written to ${String(v.out)}\n`);
  return 0;
}
