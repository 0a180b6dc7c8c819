import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { invalidInput } from '../../core/errors.js';
import type { Page } from '../ports.js';

export const MAX_PAGE_LIMIT = 1000;

/**
 * Opaque cursors: base64url of a JSON array holding the sort key of the last item returned
 * (e.g. [name, id]). Keyset pagination, so a page costs the same however deep it is and rows
 * added or removed between pages never cause repeats or skips of the others.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key inside a cursor, checked against the expected element types ('s' string, 'n' integer). */
export function decodeCursor<T extends (string | number)[]>(cursor: string, shape: readonly ('s' | 'n')[]): T {
  const refuse = () => invalidInput('cursor is not valid: pass back the nextCursor of the previous page unchanged');
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw refuse();
  shape.forEach((kind, i) => {
    const v = key[i];
    if (kind === 's' ? typeof v !== 'string' : !Number.isSafeInteger(v)) throw refuse();
  });
  return key as T;
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw invalidInput(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${String(limit)}`);
  }
  return limit;
}

/**
 * Queries fetch limit + 1 rows: the extra one only says whether another page exists, so the
 * last page never ends with an empty follow-up request.
 */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, keyOf: (row: R) => (string | number)[]): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const page: Page<T> = { items: kept.map(map) };
  if (more) page.nextCursor = encodeCursor(keyOf(kept[kept.length - 1]!));
  return page;
}

/**
 * `name` starts with `prefix`: compared with substr(), which has no wildcards to escape and is
 * case-sensitive in both dialects (LIKE is neither in SQLite).
 */
export function namePrefixFilter(prefix: string): RawBuilder<SqlBool> {
  // SQL length counts code points; JS length counts UTF-16 units.
  return sql<SqlBool>`substr(name, 1, ${[...prefix].length}) = ${prefix}`;
}

/** Rows after the (name, id) key a cursor holds, for lists ordered by name then id. */
export function afterNameCursor(cursor: string): RawBuilder<SqlBool> {
  const [name, id] = decodeCursor<[string, string]>(cursor, ['s', 's']);
  return sql<SqlBool>`(name > ${name} or (name = ${name} and id > ${id}))`;
}
