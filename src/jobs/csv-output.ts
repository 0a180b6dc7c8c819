/**
 * CSV output cells: quoted when they hold the delimiter, a quote or a line break, and protected
 * against formula injection (OWASP): a text cell starting with '=', '+', '-', '@', a tab or a
 * carriage return gets a leading apostrophe, so a spreadsheet shows it as text instead of running
 * it. Plain numbers ('-1.5', '+3') are left alone: they are data, not formulas.
 */

const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NEEDS_QUOTES = /[",\r\n]/;

export function isFormulaLike(value: string): boolean {
  if (value.length === 0) return false;
  const c = value.charCodeAt(0);
  // = + - @ \t \r
  if (c !== 61 && c !== 43 && c !== 45 && c !== 64 && c !== 9 && c !== 13) return false;
  return !PLAIN_NUMBER.test(value);
}

/** One text cell, escaped and quoted as needed. */
export function csvCell(value: string): string {
  const safe = isFormulaLike(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A cell for any JSON-ish value: numbers as written by JavaScript, null and undefined empty. */
export function csvValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return csvCell(value);
  return csvCell(JSON.stringify(value));
}

export const csvLine = (cells: readonly unknown[]): string => cells.map(csvValue).join(',');
