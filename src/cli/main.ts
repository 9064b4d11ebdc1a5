#!/usr/bin/env node
import { isInspectdError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { configReference } from '../config/load.js';
import { checkConfigCommand } from './checkConfigCommand.js';
import { UsageError } from './common.js';
import { evalCommand } from './evalCommand.js';
import { fitCommand } from './fitCommand.js';
import { runCommand } from './runCommand.js';
import { simDatasetCommand } from './simDatasetCommand.js';

const USAGE = `inspectd ${VERSION}: edge visual inspection

usage: inspectd <command> [options]

  run           run the inspection daemon                (inspectd run --help)
  fit           fit a recipe from good images            (inspectd fit --help)
  eval          measure a recipe on a labelled dataset   (inspectd eval --help)
  sim-dataset   write the sim camera's synthetic dataset (MVTec layout)
  check-config  validate a configuration file
  config-doc    print the configuration reference (Markdown)
  version       print the version`;

const commands: Record<string, (argv: string[]) => Promise<number> | number> = {
  run: runCommand,
  'sim-dataset': simDatasetCommand,
  fit: fitCommand,
  eval: evalCommand,
  'check-config': checkConfigCommand,
  'config-doc': () => (process.stdout.write(configReference()), 0),
  version: () => (process.stdout.write(`${VERSION}\n`), 0),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"\n\n${USAGE}`);
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Errors a user can act on print plainly; anything else is a bug and keeps its stack for the report.
    if (isInspectdError(e)) {
      process.stderr.write(`inspectd: ${e.describe()}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(
        `inspectd: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 70;
    }
  },
);
