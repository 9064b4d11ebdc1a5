#!/usr/bin/env node
// npm run bench: inspectd's fit and eval beside the reference PaDiM (../shared/tools/padim_reference.py) on the
// same data in the same command, reported as ratios (this machine's speed cancels out); the nearest-patch
// recipe (docs/recipes.md settings) beside the Gaussian one in the same run. Peak memory of each
// process from getrusage(RUSAGE_CHILDREN) via a tiny Python wrapper.
// Usage: node scripts/bench.mjs [dataset ...]   (default: magnetic_tile mpdd_metal_plate)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.INSPECTD_SHARED ?? path.resolve(root, '..', 'shared');
const python = process.env.INSPECTD_PYTHON ?? '/usr/bin/python3';
const cli = path.join(root, 'dist', 'cli', 'main.js');
const out = path.join(root, 'var', 'bench');
// The recommended recipe's levels (`fit` without --method; docs/recipes.md "How the defaults were chosen").
const NP_LAYERS = 's8_32ch,s16_96ch';
const sharedBackbone = path.join(shared, 'models', 'mobilenet_v2_features.onnx');
mkdirSync(out, { recursive: true });

/** Runs a command; returns wall seconds, peak RSS (MiB), stdout and stderr. */
function measure(cmd, args, env = {}) {
  const wrapper =
    'import resource,subprocess,sys,time,json;t=time.time();p=subprocess.run(sys.argv[1:]);' +
    'print(json.dumps({"rc":p.returncode,"wall":time.time()-t,"maxrss_kib":resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}),file=sys.stderr)';
  const r = spawnSync(python, ['-c', wrapper, cmd, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const last = r.stderr.trim().split('\n').pop();
  const m = JSON.parse(last);
  if (m.rc !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${m.rc}):\n${r.stderr.slice(-3000)}`);
  return { wall: m.wall, rssMiB: m.maxrss_kib / 1024, stdout: r.stdout, stderr: r.stderr };
}

const datasets = process.argv.slice(2).length ? process.argv.slice(2) : ['magnetic_tile', 'mpdd_metal_plate'];
const rows = [];
for (const name of datasets) {
  const data = path.join(shared, 'datasets', name);
  // The reference: one process that fits, then scores the test set in batches of 16.
  const ref = measure(python, [
    path.join(shared, 'tools', 'padim_reference.py'),
    path.join(shared, 'datasets'),
    name,
  ]);
  const refFit = Number(/fit_s ([\d.]+)/.exec(ref.stdout)[1]);
  const refScore = Number(/score_ms\/img ([\d.]+)/.exec(ref.stdout)[1]);
  const refAuroc = /\{([^}]*)\}/.exec(ref.stdout)[1];

  const gaussian = fitAndEval(name, data, 'gaussian', sharedBackbone, 's4_24ch,s8_32ch,s16_96ch', [
    '--eps',
    '0.01',
  ]);
  const timings = gaussian.timings;
  const rep = gaussian.report;
  // Like for like with the reference's fit_s: features + moments + inverse (without writing the model and
  // without scoring the good images for the threshold, which the reference does not do).
  const ourFit = timings.features_and_moments + timings.inverse;
  // The recommended recipe's method and levels, without its held-out threshold (same bank), in the same run.
  const np = fitAndEval(name, data, 'nearest-patch', sharedBackbone, NP_LAYERS, []);
  rows.push({
    dataset: name,
    reference: {
      fit_s: refFit,
      score_ms_per_image: refScore,
      wall_s: ref.wall,
      peak_rss_mib: ref.rssMiB,
      auroc: refAuroc,
    },
    inspectd: {
      fit_s: ourFit,
      fit_total_s: timings.total,
      ...gaussian.summary,
    },
    nearest_patch: {
      // features + coreset + neighbour table: the bank, without writing the model or the threshold pass.
      fit_s: np.timings.features + np.timings.coreset + (np.timings.neighbours ?? 0),
      fit_total_s: np.timings.total,
      fit_timings_s: np.timings,
      bank: np.params.bankSize,
      ...np.summary,
    },
    ratios: { fit: ourFit / refFit, score_per_image: rep.timings.modelMsPerImage / refScore },
  });
}
writeFileSync(path.join(out, 'bench.json'), JSON.stringify(rows, null, 2));

/** inspectd fit + eval of one method on one dataset (reference configuration); timings, memory, AUROCs. */
function fitAndEval(name, data, method, backbone, layers, extra) {
  const recipe = path.join(out, method === 'gaussian' ? `recipe-${name}` : `recipe-${name}-${method}`);
  const fit = measure(
    process.execPath,
    [
      cli,
      'fit',
      '--method',
      method,
      '--backbone',
      backbone,
      '--layers',
      layers,
      '--size',
      '224',
      ...extra,
      '--images',
      path.join(data, 'train', 'good'),
      '--out',
      recipe,
    ],
    { INSPECTD_LOG_PRETTY: 'never' },
  );
  const manifest = JSON.parse(readFileSync(path.join(recipe, 'manifest.json'), 'utf8'));
  const report = path.join(
    out,
    method === 'gaussian' ? `report-${name}.json` : `report-${name}-${method}.json`,
  );
  const ev = measure(
    process.execPath,
    [cli, 'eval', '--recipe', recipe, '--dataset', data, '--json', report],
    { INSPECTD_LOG_PRETTY: 'never' },
  );
  const rep = JSON.parse(readFileSync(report, 'utf8'));
  return {
    timings: manifest.provenance.timingsSeconds,
    params: manifest.params,
    report: rep,
    summary: {
      fit_wall_s: fit.wall,
      fit_peak_rss_mib: fit.rssMiB,
      model_ms_per_image: rep.timings.modelMsPerImage,
      eval_total_ms_per_image: rep.timings.totalMsPerImage,
      eval_wall_s: ev.wall,
      eval_peak_rss_mib: ev.rssMiB,
      image_auroc: rep.image_auroc * 100,
      pixel_auroc: rep.pixel_auroc * 100,
      au_pro: rep.au_pro * 100,
    },
  };
}
const f = (v, d = 1) => v.toFixed(d);
console.log(
  'dataset            | fit s ours / ref (ratio) | score ms/img ours / ref (ratio) | peak RSS MiB fit / eval / ref | AUROC img/pix ours | ref',
);
for (const r of rows) {
  const o = r.inspectd;
  const x = r.reference;
  console.log(
    `${r.dataset.padEnd(18)} | ${f(o.fit_s)} / ${f(x.fit_s)} (${f(r.ratios.fit, 2)}) | ${f(o.model_ms_per_image)} / ${f(x.score_ms_per_image)} (${f(r.ratios.score_per_image, 2)}) | ${f(o.fit_peak_rss_mib, 0)} / ${f(o.eval_peak_rss_mib, 0)} / ${f(x.peak_rss_mib, 0)} | ${f(o.image_auroc, 2)} / ${f(o.pixel_auroc, 2)} | ${x.auroc}`,
  );
}
console.log(
  'nearest-patch (same run): fit s (bank) / total | score ms/img (ratio to gaussian) | peak RSS MiB fit / eval | AUROC img/pix',
);
for (const r of rows) {
  const o = r.nearest_patch;
  const g = r.inspectd;
  console.log(
    `${r.dataset.padEnd(18)} | ${f(o.fit_s)} / ${f(o.fit_total_s)} (gaussian ${f(g.fit_s)} / ${f(g.fit_total_s)}) | ${f(o.model_ms_per_image)} (${f(o.model_ms_per_image / g.model_ms_per_image, 2)}) | ${f(o.fit_peak_rss_mib, 0)} / ${f(o.eval_peak_rss_mib, 0)} | ${f(o.image_auroc, 2)} / ${f(o.pixel_auroc, 2)} (bank ${o.bank})`,
  );
}
console.log(
  `(fit s: features + moments + inverse, like the reference's fit_s; full fit incl. threshold pass: ${rows.map((r) => `${r.dataset} ${f(r.inspectd.fit_total_s)} s`).join(', ')}). JSON: var/bench/bench.json`,
);
