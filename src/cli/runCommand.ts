import { Daemon } from '../app/daemon.js';
import { readConfig } from '../config/load.js';
import { messageOf } from '../core/errors.js';
import { createLogger } from '../log/logger.js';
import { parseCommandArgs } from './common.js';

export const RUN_USAGE = `usage: inspectd run [--config FILE]

  Runs the inspection daemon: every configured camera -> recipe -> verdict -> MQTT, archive, web UI.
  Without --config, the built-in defaults (see docs/CONFIG.md) plus INSPECTD_* environment variables.
  Stops cleanly on SIGTERM or SIGINT (a second signal exits at once).`;

export async function runCommand(argv: string[]): Promise<number> {
  const v = parseCommandArgs(argv, { config: { type: 'string' } }, RUN_USAGE);
  const { config, warnings } = readConfig(v.config as string | undefined);
  const pretty = config.log.pretty === 'auto' ? undefined : config.log.pretty === 'always';
  // The daemon logs to stdout: journald and container runtimes collect it there.
  const log = createLogger({ level: config.log.level, fd: 1, pretty });
  const started: { daemon?: Daemon } = {};
  process.on('uncaughtException', (e) => {
    // A sink's library failing on what a network peer sent costs that sink a restart, not the process.
    if (started.daemon?.contain(e)) return;
    log.fatal({ err: e }, `uncaught exception, exiting: ${messageOf(e)}`);
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e }, `unhandled rejection, exiting: ${messageOf(e)}`);
    process.exit(1);
  });
  for (const w of warnings) log.warn({ setting: w.split(' ')[0] }, `configuration: ${w}`);
  const running = await Daemon.start(config, log);
  started.daemon = running;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal: sig }, `${sig} again: exiting without finishing`);
        process.exit(1);
      }
      stopping = true;
      log.info({ signal: sig }, `${sig}: stopping`);
      // Bounded: whatever hangs, the process exits shortly after the configured timeout.
      const hard = setTimeout(
        () => {
          log.error('shutdown took too long, exiting');
          process.exit(1);
        },
        (config.shutdownTimeoutSec + 5) * 1000,
      );
      hard.unref();
      running.stop().then(
        () => resolve(0),
        (e: unknown) => {
          log.error({ err: messageOf(e) }, `shutdown failed: ${messageOf(e)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
