#!/usr/bin/env node
import { isInspectdError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { configReference } from '../config/load.js';
import { CHECK_CONFIG_USAGE, checkConfigCommand } from './checkConfigCommand.js';
import { UsageError } from './common.js';
import { EVAL_USAGE, evalCommand } from './evalCommand.js';
import { EXPORT_MARKS_USAGE, exportMarksCommand } from './exportMarksCommand.js';
import { fitCommand, fitUsage } from './fitCommand.js';
import { HASH_PASSWORD_USAGE, hashPasswordCommand } from './hashPasswordCommand.js';
import { RESULTS_USAGE, resultsCommand } from './resultsCommand.js';
import { RUN_USAGE, runCommand } from './runCommand.js';
import { SIM_DATASET_USAGE, simDatasetCommand } from './simDatasetCommand.js';

interface Command {
  /** One line for the list of commands. */
  summary: string;
  /** The command's help: `inspectd <command> --help`, and printed with a usage error. */
  usage: () => string;
  run(argv: string[]): Promise<number> | number;
}

const commands: Record<string, Command> = {
  run: { summary: 'run the inspection daemon', usage: () => RUN_USAGE, run: runCommand },
  fit: { summary: 'fit a recipe from good images', usage: fitUsage, run: fitCommand },
  eval: { summary: 'measure a recipe on a labelled dataset', usage: () => EVAL_USAGE, run: evalCommand },
  results: {
    summary: 'print verdicts from the journal (traceability; JSON or CSV)',
    usage: () => RESULTS_USAGE,
    run: resultsCommand,
  },
  'export-marks': {
    summary: "write the review's marked verdicts' frames as an image set for the next fit",
    usage: () => EXPORT_MARKS_USAGE,
    run: exportMarksCommand,
  },
  'sim-dataset': {
    summary: "write the sim camera's synthetic dataset (MVTec layout)",
    usage: () => SIM_DATASET_USAGE,
    run: simDatasetCommand,
  },
  'check-config': {
    summary: 'validate a configuration file',
    usage: () => CHECK_CONFIG_USAGE,
    run: checkConfigCommand,
  },
  'hash-password': {
    summary: 'print a users-file line for a login (web UI, OPC UA)',
    usage: () => HASH_PASSWORD_USAGE,
    run: hashPasswordCommand,
  },
  'config-doc': {
    summary: 'print the configuration reference (Markdown)',
    usage: () =>
      'usage: inspectd config-doc\n\n  Prints the reference of every configuration setting (Markdown).',
    run: () => (process.stdout.write(configReference()), 0),
  },
  version: {
    summary: 'print the version',
    usage: () => 'usage: inspectd version',
    run: () => (process.stdout.write(`${VERSION}\n`), 0),
  },
};

const USAGE = `inspectd ${VERSION}: edge visual inspection

usage: inspectd <command> [options]    (inspectd <command> --help: the command's options)

${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`)
  .join('\n')}`;

const isHelp = (a: string): boolean => a === '--help' || a === '-h';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || isHelp(name) || (name === 'help' && !rest.length)) {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const helpFor = name === 'help' ? rest[0] : name;
  const command = Object.hasOwn(commands, helpFor) ? commands[helpFor] : undefined;
  if (!command) throw new UsageError(`unknown command "${helpFor}"\n\n${USAGE}`);
  // --help anywhere before a `--` is the command's help, whatever else is given.
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (name === 'help' || options.some(isHelp)) {
    process.stdout.write(`${command.usage()}\n`);
    return 0;
  }
  return command.run(rest);
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
