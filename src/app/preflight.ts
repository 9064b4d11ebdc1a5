import type { Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { formatProblem, type SettingProblem } from '../core/settings.js';
import { sinkKinds, type SinkName } from '../sinks/index.js';
import type { SinkKind } from '../sinks/types.js';

/** What the enabled sinks find wrong with the files their settings name (users files), all kinds at once. */
export function sinkProblems(c: Config): SettingProblem[] {
  return (Object.keys(sinkKinds) as SinkName[]).flatMap((name) => {
    // The table's rows differ in type; here they are treated alike, each with its own section.
    const kind = sinkKinds[name] as unknown as SinkKind;
    const settings = c[name] as never;
    return kind.enabled(settings) ? (kind.preflight?.(settings) ?? []) : [];
  });
}

/** Throws one error listing every problem of `sinkProblems`, before anything has started. */
export function checkSinkFiles(c: Config): void {
  const problems = sinkProblems(c);
  if (problems.length)
    throw new ConfigError(
      `the configuration names ${problems.length} unusable file(s):\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`,
      { value: problems, fix: 'correct each file listed; `inspectd check-config FILE` re-checks' },
    );
}
