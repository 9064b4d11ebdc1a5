/**
 * An error a user can act on: what went wrong, with which thing and value, and how to fix it.
 * The CLI and the daemon print these without a stack trace; anything else is a bug and keeps its stack.
 */
export class InspectdError extends Error {
  /** Process exit code when this ends a CLI command: 1 = bad input, 2 = bad usage or configuration. */
  readonly exitCode: number = 1;

  constructor(
    message: string,
    readonly details: { subject?: string; value?: unknown; fix?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'InspectdError';
  }

  /** One human-readable block: the message, then the fix on its own line. */
  describe(): string {
    const lines = [this.message];
    if (this.details.fix) lines.push(`  fix: ${this.details.fix}`);
    return lines.join('\n');
  }
}

export const isInspectdError = (e: unknown): e is InspectdError => e instanceof InspectdError;

/** The message of anything thrown, for log lines and wrapped errors. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A configuration that cannot start: every problem listed in the message. */
export class ConfigError extends InspectdError {
  override readonly exitCode = 2;
}

/** A command line that cannot be understood. */
export class UsageError extends InspectdError {
  override readonly exitCode = 2;
}

/** A thing asked for by id that is not there (a verdict the journal does not have): HTTP 404. */
export class NotFoundError extends InspectdError {}
