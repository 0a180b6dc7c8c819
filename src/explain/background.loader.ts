/**
 * Background data for explanations: the manifest's `background` (inline records, or the relative
 * path of a CSV or JSON file in the model's bundle) and a request's `_samples`. Reads no files
 * itself: the caller passes a reader scoped to the model's folder.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { PlinthError, invalidInput, printable } from '../core/errors.js';
import type { DataRecord } from '../core/records.mapper.js';

/** A background set as records, and whether its cells are CSV text (numbers still as strings). */
export interface BackgroundRecords {
  records: DataRecord[];
  textual: boolean;
  source: 'manifest' | 'request';
}

/** Relative, inside the model folder, .csv or .json; the manifest schema checks the same shape. */
export const BACKGROUND_PATH = /^(?![/\\])(?![A-Za-z]:)(?!.*(?:^|[/\\])\.\.(?:[/\\]|$))[^\u0000-\u001f]+\.(?:csv|json)$/;

export function tooMuchBackground(rows: number, max: number, where: string): PlinthError {
  return new PlinthError('PAYLOAD_TOO_LARGE', `${where} has ${rows} background rows; at most ${max} are accepted (summarise it, e.g. a random or k-means sample)`);
}

const castCell = (value: string, context: { header: boolean; quoting: boolean }): unknown =>
  !context.header && !context.quoting && value === '' ? null : value;

/** CSV text with a header row -> records of text cells (empty cells missing). */
export function parseBackgroundCsv(text: string): DataRecord[] {
  try {
    return parseCsv(text, { columns: true, bom: true, skip_empty_lines: true, trim: true, cast: castCell }) as DataRecord[];
  } catch (err) {
    throw invalidInput(`the background CSV could not be parsed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** JSON text: an array of records keyed by feature name. */
export function parseBackgroundJson(text: string): DataRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalidInput(`the background JSON could not be parsed: ${(err as Error).message}`);
  }
  return checkRecordList(doc, 'the background JSON');
}

/** A request's `_samples` (or an inline manifest list): a non-empty array of objects. */
export function checkRecordList(value: unknown, where: string): DataRecord[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidInput(`${where} must be a non-empty array of records keyed by feature name`);
  value.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw invalidInput(`${where}[${i}] must be an object keyed by feature name`);
  });
  return value as DataRecord[];
}

/**
 * The manifest's background as records. `readArtifact(path)` returns the text of a file in the
 * model's bundle (the path is checked here first). Throws a plain Error (a load-failure reason)
 * for a bad or oversized background.
 */
export async function loadManifestBackground(
  value: unknown,
  readArtifact: (relativePath: string) => Promise<string>,
  maxRows: number,
): Promise<BackgroundRecords | undefined> {
  if (value === undefined) return undefined;
  let records: DataRecord[];
  let textual = false;
  try {
    if (typeof value === 'string') {
      if (!BACKGROUND_PATH.test(value)) throw new Error(`model.yaml /background: '${printable(value)}' must be the relative path of a .csv or .json file in the model folder`);
      const text = await readArtifact(value);
      textual = value.toLowerCase().endsWith('.csv');
      records = textual ? parseBackgroundCsv(text) : parseBackgroundJson(text);
    } else {
      records = checkRecordList(value, 'model.yaml /background');
    }
  } catch (err) {
    throw new Error((err as Error).message);
  }
  if (records.length > maxRows) throw new Error(`model.yaml /background has ${records.length} rows; at most ${maxRows} are accepted`);
  return { records, textual, source: 'manifest' };
}
