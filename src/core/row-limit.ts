import { PlinthError } from './errors.js';

/** The most rows one request may hold, who sets it and the setting that changes it (both named in the 413). */
export interface RowLimit {
  rows: number;
  /** 'this server', or the model or deployment in quotes. */
  owner: string;
  setting: string;
}

/** The server-wide ceiling (PLINTH_MAX_ROWS), checked while bodies are decoded. */
export const serverRowLimit = (rows: number): RowLimit => ({ rows, owner: 'this server', setting: 'PLINTH_MAX_ROWS; split the request or score the rows as a batch job' });

export const tooManyRows = (rows: number | string, limit: RowLimit) =>
  new PlinthError('PAYLOAD_TOO_LARGE', `the request holds ${rows} rows, but ${limit.owner} takes at most ${limit.rows} per request (${limit.setting})`);

export function checkRowCount(rows: number, limit: RowLimit | undefined): void {
  if (limit && rows > limit.rows) throw tooManyRows(rows, limit);
}

/** The tightest of the limits that apply: a model or deployment may lower the server's ceiling, never raise it. */
export function tightestRowLimit(...limits: (RowLimit | undefined)[]): RowLimit | undefined {
  let tightest: RowLimit | undefined;
  for (const limit of limits) if (limit && (!tightest || limit.rows < tightest.rows)) tightest = limit;
  return tightest;
}
