import { loadConfig } from '../config/load.js';
import { UsageError } from './common.js';

export const CHECK_CONFIG_USAGE =
  'usage: inspectd check-config FILE\n\n  Validates FILE (with environment overrides) and prints every problem at once.';

export function checkConfigCommand(argv: string[]): number {
  if (argv.length !== 1 || argv[0].startsWith('-')) throw new UsageError(CHECK_CONFIG_USAGE);
  loadConfig(argv[0]);
  process.stdout.write(`${argv[0]}: OK\n`);
  return 0;
}
