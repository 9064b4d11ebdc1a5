import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isInspectdError, messageOf } from '../core/errors.js';
import { sha256File } from '../core/hash.js';
import type { SettingProblem } from '../core/settings.js';
import { MANIFEST_FILE, readManifest } from './manifest.js';

const RECIPE = 'a recipe folder as `inspectd fit` wrote it: a valid manifest.json and its model, unchanged';

/**
 * Opens every recipe the cameras name, as the daemon would, and checks what can be checked without loading
 * a model: the folder, the manifest, every model file readable, the model's checksum as fitted. Returns every
 * problem (for `check-config`, so a service never starts into a failure it could have been told about).
 */
export async function verifyRecipes(
  recipesDir: string,
  uses: { path: string; recipe: string }[],
): Promise<SettingProblem[]> {
  if (!uses.length) return [];
  const dir = path.resolve(recipesDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    return [
      {
        path: 'recipesDir',
        given: JSON.stringify(recipesDir),
        allowed: 'an existing folder holding one folder per recipe',
        fix: `create ${dir} and fit recipes into it (inspectd fit --out ${dir}/NAME), or set recipesDir to where they are`,
      },
    ];
  const there = (await readdir(dir)).filter((n) => existsSync(path.join(dir, n, MANIFEST_FILE))).sort();
  const checked = new Map<string, string | undefined>();
  const problems: SettingProblem[] = [];
  for (const use of uses) {
    if (!checked.has(use.recipe)) checked.set(use.recipe, await problemOf(path.join(dir, use.recipe)));
    const why = checked.get(use.recipe);
    if (why)
      problems.push({
        path: use.path,
        given: JSON.stringify(use.recipe),
        allowed: `${RECIPE} (in ${dir}: ${there.join(', ') || 'none'})`,
        fix: why,
      });
  }
  return problems;
}

/** What is wrong with one recipe folder, with the fix; undefined when nothing is. */
async function problemOf(recipeDir: string): Promise<string | undefined> {
  if (!existsSync(recipeDir)) return `there is no ${recipeDir}: fit it there, or name a recipe that exists`;
  let manifest;
  try {
    manifest = await readManifest(recipeDir);
  } catch (e) {
    return isInspectdError(e) ? `${e.message}; ${e.details.fix ?? ''}` : messageOf(e);
  }
  for (const f of new Set([manifest.model.file, ...(manifest.model.files ?? [])])) {
    const file = path.join(recipeDir, f);
    if (!existsSync(file)) return `${file} is missing: copy the whole recipe folder, or refit it`;
  }
  const model = path.join(recipeDir, manifest.model.file);
  let sum: string;
  try {
    sum = await sha256File(model);
  } catch (e) {
    return `${model} cannot be read (${messageOf(e)}): check its permissions`;
  }
  if (sum !== manifest.model.sha256)
    return `${model} is not the model this recipe was fitted with (sha256 ${sum.slice(0, 12)}..., the manifest says ${manifest.model.sha256.slice(0, 12)}...; a truncated copy?): copy the recipe again, or refit it`;
  return undefined;
}
