import path from 'node:path';
import { oneOf } from '../core/settings.js';
import { COMMON_FLAGS, commonProblems, fitMethods, RECOMMENDED, type FitRun } from '../fit/methods.js';
import { stageDir } from '../recipe/outputDir.js';
import { commandContext, parseCommandArgs, usageError } from './common.js';
import {
  flagList,
  flagName,
  flags,
  parseOptions,
  readFlags,
  withDefaults,
  type Flags,
} from '../core/flags.js';
import { flagHelp, usageLine } from './flags.js';

const METHOD = flags({
  method: {
    doc: 'the fit method; without it, the recommended recipe (below)',
    format: oneOf(Object.keys(fitMethods)),
    value: 'METHOD',
  },
});

/** The recommended recipe as command-line flags, e.g. `--method gaussian --layers a,b --size 224 --refit`. */
const recommendedLine = (): string =>
  [
    `--method ${RECOMMENDED.method}`,
    ...Object.entries(RECOMMENDED.flags).map(([k, v]) => (v === true ? `--${k}` : `--${k} ${v}`)),
  ].join(' ');

/**
 * Without --method: the recommended method, and its flags wherever the command line gives none. A --holdout 0
 * given drops the recommended --refit, which needs held-out images.
 */
function applyRecommended(raw: Record<string, string | boolean | undefined>): void {
  raw.method = RECOMMENDED.method;
  for (const [k, v] of Object.entries(RECOMMENDED.flags)) {
    if (k === 'refit' && raw.holdout !== undefined && Number(raw.holdout) === 0) continue;
    raw[flagName(k)] ??= v;
  }
}

/** Generated from the table: the flags of every method, then a section per method (or only `method`'s). */
export function fitUsage(method?: string): string {
  const chosen = Object.entries(fitMethods).filter(([name]) => method === undefined || name === method);
  const methods = chosen.map(([name, m]) =>
    [
      `--method ${name}: ${m.summary}`,
      '',
      usageLine(`fit --method ${name}`, { ...m.flags, images: COMMON_FLAGS.images, out: COMMON_FLAGS.out }),
      '',
      flagHelp(m.flags),
    ].join('\n'),
  );
  return [
    usageLine('fit', { ...METHOD, ...COMMON_FLAGS }),
    '         [the flags of METHOD]',
    '',
    '  Fits a recipe from a folder of good images and writes DIR/model.onnx + DIR/manifest.json.',
    `  METHOD is one of ${Object.keys(fitMethods).join(', ')}; each takes these flags and those of its section.`,
    `  Without --method: the recommended recipe, ${recommendedLine()}`,
    '  (chosen on held-out good images with synthetic defects; docs/recipes.md). Give --backbone, --images, --out;',
    '  any flag given wins over the recommended one.',
    '',
    flagHelp(COMMON_FLAGS),
    ...methods.map((m) => `\n${m}`),
  ].join('\n');
}

export async function fitCommand(argv: string[]): Promise<number> {
  const usage = fitUsage();
  const every: Flags = Object.assign(
    { ...METHOD, ...COMMON_FLAGS },
    ...Object.values(fitMethods).map((m) => m.flags),
  );
  const raw = parseCommandArgs(argv, parseOptions(every), usage);
  const recommended = raw.method === undefined;
  if (recommended) applyRecommended(raw);
  const chosen = readFlags(METHOD, raw);
  if (chosen.problems.length) throw usageError(chosen.problems, usage);
  const name = chosen.given.method!;
  const m = fitMethods[name];
  const own = { ...m.flags, ...COMMON_FLAGS };
  const foreign = Object.keys(every)
    .filter((k) => !(k in own) && k !== 'method' && raw[flagName(k)] !== undefined)
    .map(
      (k) =>
        `--${flagName(k)} does not apply to --method ${name}${recommended ? ' (the recommended method, as no --method was given)' : ''}; it takes ${flagList(Object.keys(m.flags))} and the flags of every method`,
    );
  const { given, problems } = readFlags(own, raw);
  if (foreign.length || problems.length) throw usageError([...foreign, ...problems], fitUsage(name));

  const { config, log, session } = commandContext(given.config);
  if (recommended)
    log.info(
      { method: name, flags: RECOMMENDED.flags },
      `no --method: fitting the recommended recipe (${recommendedLine()}; flags given win)`,
    );
  const v = withDefaults(own, given, config);
  const o: FitRun<Flags> = {
    ...v,
    method: name,
    name: v.name ?? path.basename(path.resolve(v.out)),
    blurSigma: config.fit.blurSigma,
    session,
    fit: config.fit,
  };
  const refused = [...commonProblems(o), ...(m.check?.(o, given) ?? [])];
  if (refused.length) throw usageError(refused, fitUsage(name));
  const staged = await stageDir(v.out, 'output folder');
  try {
    await m.run({ ...o, out: staged.dir }, log);
  } catch (e) {
    await staged.abandon();
    throw e;
  }
  const final = await staged.commit();
  log.info({ recipe: o.name, dir: final }, `recipe ${o.name} is in ${final}`);
  return 0;
}
