import { Type, type TSchema } from '@sinclair/typebox';
import { invalidInput } from '../../core/errors.js';

/**
 * The management API's one pagination convention: query `limit` (1..1000, default 100) and
 * `cursor` (the opaque `nextCursor` of the previous page); answers `{items, nextCursor?}`, with
 * nextCursor omitted on the last page. Query strings arrive as strings (coerceTypes is off), so
 * `limit` is a digits-only string here and pageLimit() turns it into the number.
 */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

export const Limit = Type.String({
  pattern: '^(1000|[1-9][0-9]{0,2})$',
  description: `Page size, 1..${MAX_LIMIT} (default ${DEFAULT_LIMIT})`,
  examples: ['100'],
});
export const Cursor = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'The nextCursor of the previous page, passed back unchanged',
  examples: ['WyJpcmlzIiwiYjQ2ZiJd'],
});

/** `limit` and `cursor`, to spread into a route's querystring object. */
export const PageQueryFields = { limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) };
export const PageQuery = Type.Object(PageQueryFields, { additionalProperties: false });

/** The page-size number a validated `limit` string stands for (undefined: the default). */
export function pageLimit(limit: string | undefined): number | undefined {
  return limit === undefined ? undefined : Number(limit);
}

/** `{items: [item], nextCursor?}` for a list route's 200 response. */
export function PageOf<T extends TSchema>(item: T, examples?: unknown[]) {
  return Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Type.Optional(Type.String({ description: 'Present when more items follow: send it back as `cursor`' })),
    },
    examples ? { examples } : {},
  );
}

/** A page as the wire has it: nextCursor only when there is one. */
export function toWirePage<R, T>(page: { items: R[]; nextCursor?: string }, map: (row: R) => T): { items: T[]; nextCursor?: string } {
  const items = page.items.map(map);
  return page.nextCursor ? { items, nextCursor: page.nextCursor } : { items };
}

/**
 * Pages a short list held in memory (a space's members, a model's aliases) the same way the
 * repositories page theirs: `items` sorted by `key`, the cursor holding the last key returned,
 * so an item added or removed between pages causes no repeat and no skip of the others.
 */
export function pageInMemory<T>(items: readonly T[], key: (item: T) => string, query: { limit?: string; cursor?: string }): { items: T[]; nextCursor?: string } {
  const limit = pageLimit(query.limit) ?? DEFAULT_LIMIT;
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const after = query.cursor === undefined ? undefined : decodeKeyCursor(query.cursor);
  const rest = after === undefined ? sorted : sorted.filter((item) => key(item) > after);
  const kept = rest.slice(0, limit);
  return rest.length > limit ? { items: kept, nextCursor: encodeKeyCursor(key(kept[kept.length - 1]!)) } : { items: kept };
}

function encodeKeyCursor(key: string): string {
  return Buffer.from(JSON.stringify([key]), 'utf8').toString('base64url');
}

function decodeKeyCursor(cursor: string): string {
  const refuse = () => invalidInput('cursor is not valid: pass back the nextCursor of the previous page unchanged');
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(key) || key.length !== 1 || typeof key[0] !== 'string') throw refuse();
  return key[0];
}
