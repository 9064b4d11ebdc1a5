import type { EvalResult, Metrics } from './evaluate.js';

const pct = (v: number | null): string => (v === null ? '-' : (v * 100).toFixed(2));

/** The human-readable table printed by `inspectd eval`. */
export function formatTable(r: EvalResult): string {
  const header = ['type', 'images', 'img AUROC', 'pix AUROC', 'AU-PRO', 'F1', 'TP', 'FP', 'TN', 'FN'];
  const row = (name: string, m: Metrics): string[] => [
    name,
    String(m.images),
    pct(m.image_auroc),
    pct(m.pixel_auroc),
    pct(m.au_pro),
    pct(m.f1),
    String(m.confusion.tp),
    String(m.confusion.fp),
    String(m.confusion.tn),
    String(m.confusion.fn),
  ];
  const rows = [header, ...Object.entries(r.perType).map(([t, m]) => row(t, m)), row('overall', r.overall)];
  const widths = header.map((_, c) => Math.max(...rows.map((x) => x[c].length)));
  const line = (x: string[]): string =>
    x.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    `recipe ${r.recipe} on ${r.dataset} (threshold ${r.threshold.toPrecision(6)}, ${r.provider})`,
    line(rows[0]),
    rule,
    ...rows.slice(1, -1).map(line),
    rule,
    line(rows[rows.length - 1]),
    `per-type rows: good test images + that type; AUROC and F1 in %. ${r.images.length} images scored, ${r.skipped.length} skipped; ` +
      `${r.timings.modelMsPerImage.toFixed(1)} ms/image in the model, ${r.timings.totalMsPerImage.toFixed(1)} ms/image in all.`,
  ].join('\n');
}

/** The JSON report: metrics as fractions in [0,1] (null where undefined), plus every image's score. */
export function toJsonReport(r: EvalResult): object {
  return {
    recipe: r.recipe,
    dataset: r.dataset,
    threshold: r.threshold,
    provider: r.provider,
    image_auroc: r.overall.image_auroc,
    pixel_auroc: r.overall.pixel_auroc,
    au_pro: r.overall.au_pro,
    f1: r.overall.f1,
    confusion: r.overall.confusion,
    overall: r.overall,
    per_type: r.perType,
    images: r.images.map(({ file, type, label, score, verdict }) => ({ file, type, label, score, verdict })),
    skipped: r.skipped,
    defects_without_mask: r.defectsWithoutMask,
    timings: r.timings,
    notes:
      'pixel_auroc over every pixel of the maps; au_pro integrated to FPR 0.3 and normalized; F1 and confusion at the recipe threshold (NG when score > threshold)',
  };
}
