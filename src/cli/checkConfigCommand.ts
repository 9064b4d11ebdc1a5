import { ConfigError } from '../core/errors.js';
import { formatProblem } from '../core/settings.js';
import { readConfig } from '../config/load.js';
import { sinkProblems } from '../app/preflight.js';
import { verifyRecipes } from '../recipe/verify.js';
import { UsageError } from './common.js';

export const CHECK_CONFIG_USAGE = `usage: inspectd check-config FILE

  Validates FILE (with environment overrides), every recipe its cameras name (folder, manifest, model
  files, checksum) and the users files it names, and prints every problem at once; settings given under an old name are accepted and
  named on stderr. Exit 0: the daemon can start with it; 2: it cannot.`;

export async function checkConfigCommand(argv: string[]): Promise<number> {
  if (argv.length !== 1 || argv[0].startsWith('-')) throw new UsageError(CHECK_CONFIG_USAGE);
  const { config, warnings } = readConfig(argv[0]);
  for (const w of warnings) process.stderr.write(`inspectd: warning: ${w}\n`);
  const problems = [
    ...(await verifyRecipes(
      config.recipesDir,
      config.cameras.map((c, i) => ({ path: `cameras[${i}].recipe`, recipe: c.recipe })),
    )),
    ...sinkProblems(config),
  ];
  if (problems.length)
    throw new ConfigError(
      `configuration ${argv[0]} has ${problems.length} problem(s) with the recipes and files it names:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`,
      {
        subject: argv[0],
        value: problems,
        fix: 'correct each one listed; `inspectd check-config FILE` re-checks',
      },
    );
  process.stdout.write(`${argv[0]}: OK (${config.cameras.length} camera(s), recipes and files checked)\n`);
  return 0;
}
