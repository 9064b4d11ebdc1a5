/** One CSV cell, quoted when it must be (RFC 4180). */
export const csvCell = (v: string | number): string => {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** A header line, then one line per row, CRLF-terminated (RFC 4180). */
export const csvTable = (
  columns: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string => [columns, ...rows].map((r) => `${r.map(csvCell).join(',')}\r\n`).join('');
