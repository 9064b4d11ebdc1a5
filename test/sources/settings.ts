import {
  formatProblem,
  validateSettings,
  type Group,
  type Infer,
  type SettingProblem,
} from '../../src/core/settings.js';

/** Settings as the configuration pass gives them: defaults filled in, `given` checked (a problem fails the test). */
export function validSettings<G extends Group>(group: G, given: Partial<Infer<G>> = {}): Infer<G> {
  const problems: SettingProblem[] = [];
  const value = validateSettings(group, given, 'source', problems);
  if (problems.length > 0) throw new Error(problems.map(formatProblem).join('\n'));
  return value;
}
