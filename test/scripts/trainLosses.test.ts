import path from 'node:path';
import { expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';
import { PYTHON, ROOT } from '../helpers/paths.js';

// The losses are torch code: their unit tests are Python (unittest), run here so `vitest` covers them.
it('autoencoder losses pass their Python unit tests (spectral norm, Jacobian penalty, SSIM, adversarial)', async () => {
  const r = await runProcess(PYTHON, [path.join(ROOT, 'test', 'scripts', 'train_losses_unittest.py'), '-v'], {
    cwd: ROOT,
  });
  expect(r.code, r.stderr).toBe(0);
  // unittest reports on stderr; all of them ran (a skipped or missing test would show here).
  expect(r.stderr).toMatch(/Ran 13 tests in [\d.]+s\n\nOK\n/);
  expect(r.stderr).toMatch(/test_every_layer_of_psi_ends_near_unit_largest_singular_value .*\.\.\. ok/);
  expect(r.stderr).toMatch(/test_decreases_when_trained_alone .*\.\.\. ok/);
}, 120_000);

it('the trained feature recipes pass their Python unit tests (pseudo-anomalies, holdout split, S002 losses, jigsaw, MFCSAM)', async () => {
  const r = await runProcess(
    PYTHON,
    [path.join(ROOT, 'test', 'scripts', 'train_features_unittest.py'), '-v'],
    {
      cwd: ROOT,
    },
  );
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/Ran 12 tests in [\d.]+s\n\nOK\n/);
  expect(r.stderr).toMatch(/test_every_kind_changes_the_image_only_under_its_non_empty_mask .*\.\.\. ok/);
  expect(r.stderr).toMatch(/test_the_same_split_as_inspectd_fit .*\.\.\. ok/);
}, 120_000);
