import type { Page } from '../storage/ports.js';

/** Every item of a paged listing, page after page. */
export async function* pages<T>(list: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor);
}

/** The page size of registry listings when the caller names none. */
export const DEFAULT_LIST_LIMIT = 100;
