import { readConfig } from '../config/load.js';
import { UsageError } from './common.js';

export const CHECK_CONFIG_USAGE =
  'usage: inspectd check-config FILE\n\n  Validates FILE (with environment overrides) and prints every problem at once;\n  settings given under an old name are accepted and named on stderr.';

export function checkConfigCommand(argv: string[]): number {
  if (argv.length !== 1 || argv[0].startsWith('-')) throw new UsageError(CHECK_CONFIG_USAGE);
  const { warnings } = readConfig(argv[0]);
  for (const w of warnings) process.stderr.write(`inspectd: warning: ${w}\n`);
  process.stdout.write(`${argv[0]}: OK\n`);
  return 0;
}
