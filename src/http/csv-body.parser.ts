import type { FastifyInstance } from 'fastify';
import { parse } from 'csv-parse/sync';
import { PlinthError } from '../core/errors.js';
import { serverRowLimit, tooManyRows } from '../core/row-limit.js';

// Cells stay text (the model's features decide what is a number); empty cells are missing values.
const castCell = (value: string, context: { header: boolean; quoting: boolean }): unknown =>
  !context.header && !context.quoting && value === '' ? null : value;

/**
 * Where a text/csv body's records travel on the parsed body. A symbol, so no JSON body can set it
 * and the JSON schema validators (which see string keys only) leave it alone.
 */
export const CSV_RECORDS = Symbol('csv records');

/** The records a text/csv body carried, if it was one. */
export function csvRecords(body: unknown): Record<string, unknown>[] | undefined {
  return body !== null && typeof body === 'object' ? (body as { [CSV_RECORDS]?: Record<string, unknown>[] })[CSV_RECORDS] : undefined;
}

/**
 * text/csv bodies (MLflow scoring): a header row, then one record per row of text cells, empty
 * cells as missing (so manifest defaults apply). The body limit bounds the size, so parsing in one
 * go is safe; the parser stops one record past maxRows, so no more than that are ever built.
 */
export function registerCsvParser(app: FastifyInstance, maxRows: number): void {
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => {
    let records: Record<string, unknown>[];
    try {
      records = parse(body as string, { columns: true, bom: true, skip_empty_lines: true, trim: true, cast: castCell, to: maxRows + 1 }) as Record<string, unknown>[];
    } catch (err) {
      done(new PlinthError('MALFORMED_BODY', `the CSV body could not be parsed: ${(err as Error).message.split('\n')[0]}`), undefined);
      return;
    }
    if (records.length > maxRows) done(tooManyRows(`more than ${maxRows}`, serverRowLimit(maxRows)), undefined);
    else done(null, { [CSV_RECORDS]: records });
  });
}
