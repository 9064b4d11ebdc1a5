import { bool, nonEmpty, text } from '../core/settings.js';
import { flags, withDefaults } from '../core/flags.js';
import { MAX_LIMIT, parseResultsQuery, resultsCsv, withMarks } from '../core/resultsQuery.js';
import { loadConfig } from '../config/load.js';
import { SqliteJournal } from '../journal/journal.js';
import { commandUsage, readCommandFlags, usageError } from './common.js';

/** The journal query's time, camera and recipe, as `results` and `export-marks` take them. */
export const QUERY_FLAGS = flags({
  from: {
    doc: 'decided at or after this time (ISO 8601 or epoch ms)',
    format: nonEmpty('a time'),
    value: 'T',
  },
  to: { doc: 'decided before this time', format: nonEmpty('a time'), value: 'T' },
  camera: { doc: 'only this camera', format: nonEmpty('a camera id'), value: 'ID' },
  recipe: { doc: 'only this recipe', format: nonEmpty('a recipe name'), value: 'NAME' },
});

const RESULTS_FLAGS = flags({
  config: { doc: 'the configuration the daemon runs with (its journal.path)', format: text(), value: 'FILE' },
  ...QUERY_FLAGS,
  partId: { doc: 'only this part', format: nonEmpty('a part id'), value: 'P' },
  verdict: { doc: 'only OK or only NG', format: nonEmpty('OK or NG'), value: 'OK|NG' },
  mark: {
    doc: "only verdicts marked in the web UI's review: any, false-reject or escape",
    format: nonEmpty('any, false-reject or escape'),
    value: 'MARK',
  },
  limit: {
    doc: `at most this many (newest first; up to ${MAX_LIMIT})`,
    format: nonEmpty('a number'),
    value: 'N',
  },
  offset: { doc: 'skip this many newest first', format: nonEmpty('a number'), value: 'N' },
  csv: { doc: 'CSV (one header line) instead of one JSON verdict per line', format: bool(), default: false },
});

export const RESULTS_USAGE = commandUsage(
  'results',
  `  Prints verdicts from the journal (traceability), newest first: which parts were inspected when, by which
  camera and recipe, with which result. Safe beside a running daemon. The HTTP API answers the same query at
  /api/results?from=...&to=...&partId=...&verdict=NG&camera=... (add format=csv for CSV).`,
  RESULTS_FLAGS,
);

export function resultsCommand(argv: string[]): number {
  const v = withDefaults(RESULTS_FLAGS, readCommandFlags(argv, RESULTS_FLAGS, RESULTS_USAGE));
  const { csv, config: file, ...params } = v;
  const q = parseResultsQuery(params);
  if ('problems' in q) throw usageError(q.problems, RESULTS_USAGE);
  const journal = SqliteJournal.openReadOnly(loadConfig(file).journal);
  try {
    const { verdicts, total } = journal.query(q.filter, q.offset, q.limit);
    const listed = withMarks(verdicts, journal.marks(verdicts.map((x) => x.resultId)));
    process.stdout.write(csv ? resultsCsv(listed) : listed.map((x) => `${JSON.stringify(x)}\n`).join(''));
    process.stderr.write(`results: ${verdicts.length} of ${total} matching\n`);
  } finally {
    journal.close();
  }
  return 0;
}
